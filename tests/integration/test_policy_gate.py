"""One field policy, injected in one place, applied at every door of the shared contacts.

Declare contacts' phone numbers `hr` data: a sales user then gets no phone from the CLI
(`contacts show`), the contact queries (what the API will serve), their Contacts workbook, or a
mail merge's fields, while
an administrator (who sees `hr`) still gets it everywhere. Nothing but `use_policies` changes:
no door holds a policy of its own. (The staff doors have the same test with job titles, in
test_cross_door_staff.py.)
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from engine.cli import app
from engine.contacts import queries, services
from engine.mailmerge.recipients import select
from engine.security.policies import FieldPolicy, Policies, active_policies, use_policies
from engine.security.roles import SYSTEM
from engine.sheets.exporting import new_workbook
from tests.integration.conftest import read_sheet

PHONE = "+44 113 496 0777"


def test_a_policy_injected_once_hides_a_contact_field_at_every_door(people_db, actor_for, tmp_path):
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        added, _ = services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Dial Ltd", "country": "GB",
                                                          "phone": PHONE, "tags": "callers"},
                                        [{"kind": "billing", "line1": "3 Mill Rd", "city": "Leeds", "country": "GB"}])
        dial = added.id
    url = people_db.engine.url.render_as_string(hide_password=False)
    shipped = active_policies()
    private_phones = Policies({**shipped.by_table, "contacts": {"phone": FieldPolicy("hr")}})

    def doors(login: str) -> dict[str, bool]:
        """Where `login` is handed the phone number."""
        who = actor_for(login)
        runner = CliRunner()
        shown = runner.invoke(app, ["--database-url", url, "contacts", "show", str(dial), "--json", "--user", login])
        assert shown.exit_code == 0, shown.output
        path = tmp_path / f"contacts-{login}-{len(list(tmp_path.glob('*.xlsx')))}.xlsx"   # a new file each time
        new_workbook(people_db, who, "contacts", path)
        with people_db.unit_of_work(who) as session:
            [recipient], _ = select(session, who, "tag", tag="callers")
            [found] = queries.contacts(session, who, tag="callers")
        return {
            "contacts show": "phone" in json.loads(shown.stdout),
            "contacts query": found.get("phone") == PHONE,
            "workbook": "Phone" in read_sheet(path, "Organisations")[0] and PHONE in str(read_sheet(path, "Organisations")),
            "mail merge fields": recipient.context["contact"].get("phone") == PHONE,
        }

    everywhere = dict.fromkeys(("contacts show", "contacts query", "workbook", "mail merge fields"), True)
    assert doors("sam") == everywhere            # the shipped policy: phones are not sensitive
    with use_policies(private_phones):
        assert doors("sam") == dict.fromkeys(everywhere, False)
        assert doors("ada") == everywhere        # an administrator sees `hr` data
    assert doors("sam") == everywhere            # the injected policy ends with its block
