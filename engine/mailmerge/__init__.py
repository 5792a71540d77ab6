"""Mail merge: letters and e-mails to selected contacts, built once with the standard `email`
package and handed to a transport (outbox, SMTP, EWS, Microsoft Graph), idempotent and
resumable. Who gets them is a selection: mail brings `tag` and `sheet`; other modules
register theirs (the ledger's `overdue`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("mailmerge", needs=["contacts"], models="engine.mailmerge.models",
                    help="Letters and e-mails to selected contacts.", area="contacts")
    registry.commands("mail", "engine.mailmerge.commands:mail_app",
                      "Letters and e-mails to selected contacts, through the outbox, SMTP, Exchange or Graph.",
                      server_routes={"merge": "POST /mail/runs", "resume": "POST /mail/runs/{id}/resume"})
    registry.api("engine.mailmerge.api:router")
    registry.selection("tag", "engine.mailmerge.recipients:tagged", "contacts whose tags include `tag`",
                       options=("tag",))
    registry.selection("contacts", "engine.mailmerge.recipients:chosen",
                       "the contacts named by id (the rows selected in the Excel add-in)", options=("ids",))
    registry.selection("sheet", "engine.mailmerge.recipients:from_sheet",
                       "the contacts listed in a workbook sheet", options=("path", "sheet", "limits"))
    # A person's data requests: the runs that skipped them exported; their messages' address and name erased.
    registry.bridge("mailmerge_personal_data", needs=["contacts", "mailmerge"],
                    listens=[("engine.contacts.hooks:exporting", "engine.mailmerge.personal_data:add_to_export"),
                             ("engine.contacts.hooks:erasing", "engine.mailmerge.personal_data:plan_erasure")])
    # Merging two contacts: the contact ids in a run's JSON (skipped, chosen by id) follow.
    registry.bridge("mail_contact_merge", needs=["contacts", "mailmerge"],
                    listens=[("engine.contacts.hooks:merging", "engine.mailmerge.contact_merge:merging")])
