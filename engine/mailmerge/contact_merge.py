"""Mail merge's part in merging two contacts (`engine.contacts.hooks.merging`).

Messages refer to their contact by foreign key (the merge's walk re-points them; two messages
of one run to the two contacts are refused by the unique (run, contact)). A run also names
contacts in JSON no foreign key sees: those it skipped (`skipped`, each with its contact id)
and those chosen one by one (`options.ids` of the `contacts` selection, read again when the
run is resumed). Those become the kept contact, each once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.merge import MergePlan
from engine.contacts.models import Contact
from engine.mailmerge.models import MailRun
from engine.security.roles import Actor


def merging(session: Session, actor: Actor, keep: Contact, drop: Contact, plan: MergePlan) -> None:
    changed: dict[int, tuple[list[Any], dict[str, Any]]] = {}
    for run_id, skipped, options in session.execute(select(MailRun.id, MailRun.skipped, MailRun.options)):
        new_skipped, new_options = repointed_skipped(skipped, drop.id, keep.id), repointed_ids(options, drop.id, keep.id)
        if new_skipped != skipped or new_options != options:
            changed[run_id] = new_skipped, new_options

    def apply() -> None:
        for run_id, (skipped, options) in changed.items():
            run = session.get(MailRun, run_id)
            run.skipped, run.options, run.updated_by = skipped, options, actor.login
        session.flush()

    plan.change("mail_runs", "skipped, options", len(changed), apply)


def repointed_skipped(skipped: list[Any], drop: int, keep: int) -> list[Any]:
    """A run's skipped contacts with `drop` as `keep` (once: a second entry for `keep` goes)."""
    out, seen = [], set()
    for entry in skipped or []:
        if isinstance(entry, dict) and entry.get("contact_id") in (drop, keep):
            if keep in seen:
                continue
            seen.add(keep)
            entry = {**entry, "contact_id": keep}
        out.append(entry)
    return out


def repointed_ids(options: dict[str, Any], drop: int, keep: int) -> dict[str, Any]:
    """A run's options with `drop` as `keep` among the contacts chosen by id (once)."""
    ids = (options or {}).get("ids")
    if not isinstance(ids, list) or drop not in ids:
        return options
    return {**options, "ids": list(dict.fromkeys(keep if i == drop else i for i in ids))}
