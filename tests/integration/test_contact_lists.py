"""A contact's lists of e-mail addresses and phone numbers at every door (services, CLI, API,
the CRM workbook's People, E-mails and Phones sheets), on SQLite and PostgreSQL: after each change the contact's E-mail and
Phone are its primary entries' values, each list has one primary (none when empty); and the
mail merge writes to the primary address once it was switched."""

from __future__ import annotations

import email
import json
from email.policy import default as parsed

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from engine.cli import app
from engine.config import Settings
from engine.contacts import channels, rules, services
from engine.contacts.models import Contact, ContactEmail
from engine.errors import ValidationFailed
from engine.mailmerge.runs import process_run, start_run
from engine.security.roles import SYSTEM
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, find_row, problems_of, read_sheet


def lists_of(db) -> dict[str, tuple]:
    """Every contact's (e-mail, [(address, primary)], phone, [(number, primary)]) by name,
    once the invariant is checked for all of them."""
    found = {}
    with db.reading() as session:
        query = sa.select(Contact).options(selectinload(Contact.emails), selectinload(Contact.phones))
        for contact in session.scalars(query):
            for ch in channels.CHANNELS.values():
                entries = ch.entries(contact)
                primaries = [getattr(e, ch.value) for e in entries if e.is_primary]
                assert len(primaries) == (1 if entries else 0), (contact.name, ch.name, primaries)
                assert getattr(contact, ch.field) == (primaries[0] if primaries else None), (contact.name, ch.name)
            assert all(p.digits == rules.phone_digits(p.number) for p in contact.phones)
            found[contact.name] = (contact.email, [(e.address, e.is_primary) for e in contact.emails],
                                   contact.phone, [(p.number, p.is_primary) for p in contact.phones])
    return found


def test_the_services_keep_the_contact_and_its_lists_in_step(people_db):
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        kim, _ = services.add_contact(session, SYSTEM, {"kind": "person", "first_name": "Kim", "last_name": "Park",
                                                        "country": "GB", "email": "Kim@Park.example",
                                                        "phone": "+44 20 7946 0000"})
        kim_id = kim.id
    assert lists_of(people_db)["Kim Park"] == ("kim@park.example", [("kim@park.example", True)],
                                              "+44 20 7946 0000", [("+44 20 7946 0000", True)])
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        home = channels.add_entry(session, SYSTEM, "email", kim_id, "kim@home.example", "home")
        channels.add_entry(session, SYSTEM, "phone", kim_id, "07700 900123", "mobile", primary=True)
        channels.make_primary(session, SYSTEM, "email", home.id)
    assert lists_of(people_db)["Kim Park"] == (
        "kim@home.example", [("kim@park.example", False), ("kim@home.example", True)],
        "07700 900123", [("+44 20 7946 0000", False), ("07700 900123", True)])
    with people_db.unit_of_work(SYSTEM, source="system") as session, pytest.raises(ValidationFailed) as refused:
        channels.add_entry(session, SYSTEM, "phone", kim_id, "0044 20 7946-0000", "work")   # the same number
    assert [(p.field, p.code) for p in refused.value.problems] == [("number", "duplicate")]
    with people_db.unit_of_work(SYSTEM, source="system") as session:   # the contact's own door
        kim = services.get_contact(session, kim_id)
        services.update_contact(session, SYSTEM, kim_id, kim.version, {"email": "kim@new.example", "phone": None})
    assert lists_of(people_db)["Kim Park"] == (
        "kim@new.example", [("kim@park.example", False), ("kim@new.example", True)],
        "+44 20 7946 0000", [("+44 20 7946 0000", True)])   # the cleared primary went; the other took over
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        primary = channels.find_entry(session, SYSTEM, "email", kim_id, "KIM@new.example")
        channels.remove_entry(session, SYSTEM, "email", primary.id)
    assert lists_of(people_db)["Kim Park"][:2] == ("kim@park.example", [("kim@park.example", True)])


def test_the_command_line_and_the_api_keep_the_lists(api, people_db):
    url = people_db.engine.url.render_as_string(hide_password=False)

    def cli(*args: str) -> dict:
        result = CliRunner().invoke(app, ["--database-url", url, "contacts", *args, "--json", "--user", "sam"])
        assert result.exit_code == (0 if "bad" not in args[-1] else 1), result.output
        return json.loads(result.stdout if result.exit_code == 0 else result.stderr)

    acme = 1    # Acme Ltd, with info@acme.example
    assert cli("email", "add", str(acme), "Sales@Acme.example", "--kind", "work")["primary"] is False
    assert cli("email", "primary", str(acme), "sales@acme.example")["primary"] is True
    assert [(p["field"], p["code"]) for p in cli("phone", "add", str(acme), "bad")["problems"]] == \
        [("number", "invalid")]
    assert lists_of(people_db)["Acme Ltd"][:2] == ("sales@acme.example", [("info@acme.example", False),
                                                                         ("sales@acme.example", True)])
    assert cli("email", "remove", str(acme), "sales@acme.example")["now_primary"] == "info@acme.example"

    headers = api.as_("sam")
    added = api.post(f"/contacts/{acme}/phones", json={"number": "+44 113 496 0000", "kind": "mobile"}, headers=headers)
    assert added.status_code == 201 and added.json()["primary"] is True and added.headers["ETag"] == '"1"'
    entry = added.json()["id"]
    second = api.post(f"/contacts/{acme}/phones", json={"number": "+44 113 496 0001"}, headers=headers).json()
    assert api.post(f"/contacts/{acme}/phones/{second['id']}/primary", headers=headers).status_code == 428
    assert api.post(f"/contacts/{acme}/phones/{second['id']}/primary",
                    headers={**headers, "If-Match": '"1"'}).json()["primary"] is True
    bad = api.patch(f"/contacts/{acme}/phones/{entry}", json={"kind": "pager"}, headers={**headers, "If-Match": '"2"'})
    assert (bad.status_code, [(p["field"], p["code"]) for p in bad.json()["problems"]]) == (422, [("kind", "invalid")])
    assert api.delete(f"/contacts/2/phones/{entry}", headers={**headers, "If-Match": '"2"'}).status_code == 404
    assert api.delete(f"/contacts/{acme}/phones/{second['id']}",
                      headers={**headers, "If-Match": '"2"'}).status_code == 204
    shown = api.get(f"/contacts/{acme}", headers=headers).json()
    assert (shown["phone"], [(p["number"], p["primary"]) for p in shown["phones"]]) == \
        ("+44 113 496 0000", [("+44 113 496 0000", True)])
    changed = api.patch(f"/contacts/{acme}", json={"phone": "+44 113 496 0002"},
                        headers={**headers, "If-Match": f'"{shown["version"]}"'}).json()
    assert [(p["number"], p["primary"]) for p in changed["phones"]] == [("+44 113 496 0002", True)]
    lists_of(people_db)


def test_the_crm_workbook_keeps_the_lists_and_marks_a_bad_entry_at_its_cell(people_db, actor_for, settings,
                                                                                  tmp_path):
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        channels.add_entry(session, SYSTEM, "email", 1, "sales@acme.example", "work")     # Acme: two addresses
    path = tmp_path / "crm.xlsx"
    new_workbook(people_db, actor_for("sam"), "crm", path)
    trip = RoundTrip(people_db, settings, actor_for("sam"))
    people = read_sheet(path, "People")
    new_row = len(people) + 1
    edit_by_label(path, "People", find_row(path, "People", "Last name", "Smith"), {"E-mail": "jo@acme.example"})
    edit_by_label(path, "People", new_row, {"First name": "Ann", "Last name": "Bell", "Country": "GB",
                                            "E-mail": "ann@bell.example", "Phone": "+44 1632 960000"})
    sales = find_row(path, "E-mails", "E-mail", "sales@acme.example")
    edit_by_label(path, "E-mails", sales, {"Primary": True})                    # switched on the sheet
    edit_by_label(path, "E-mails", find_row(path, "E-mails", "E-mail", "info@acme.example"), {"Delete": "yes"})
    result = trip.sync(path)
    assert (result.status, result.problems) == ("applied", [])
    found = lists_of(people_db)
    assert found["Jo Smith"][:2] == ("jo@acme.example", [("jo@acme.example", True)])
    assert found["Ann Bell"] == ("ann@bell.example", [("ann@bell.example", True)],
                                 "+44 1632 960000", [("+44 1632 960000", True)])
    assert found["Acme Ltd"][:2] == ("sales@acme.example", [("sales@acme.example", True)])
    emails = read_sheet(path, "E-mails")                                       # the new entries are shown
    assert {"jo@acme.example", "ann@bell.example"} <= {row[emails[0].index("E-mail")] for row in emails[1:]}
    assert "sales@acme.example" in [row[read_sheet(path, "Organisations")[0].index("E-mail")]
                                    for row in read_sheet(path, "Organisations")[1:]]

    # A bad number typed on the Phones sheet is marked at its cell; a clerk clearing a
    # contact's E-mail removes its primary entry
    phones = read_sheet(path, "Phones")
    edit_by_label(path, "Phones", len(phones) + 1, {"Contact": "Kim Lee", "Kind": "mobile", "Phone": "12"})
    result = trip.sync(path)
    assert result.status == "rejected"
    assert [(code, cell[:1]) for code, cell, _ in problems_of(result)] == [("invalid", "E")]
    edit_by_label(path, "Phones", len(phones) + 1, {"Phone": "+49 170 1234567"})
    edit_by_label(path, "People", find_row(path, "People", "Last name", "Smith"), {"E-mail": None})
    assert trip.sync(path).status == "applied"
    found = lists_of(people_db)
    assert found["Kim Lee"][2:] == ("+49 170 1234567", [("+49 170 1234567", True)])
    assert found["Jo Smith"][:2] == (None, [])


def test_the_mail_merge_writes_to_the_primary_address_once_it_was_switched(people_db, database_url, tmp_path):
    settings = Settings(database_url=database_url, output_dir=tmp_path / "out",
                        mail={"sender": "office@widget.example", "outbox_dir": str(tmp_path / "outbox")})
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        kim = services.get_contact(session, 5)                                  # Kim Lee, no e-mail yet
        services.update_contact(session, SYSTEM, kim.id, kim.version, {"email": "kim@old.example", "tags": "vip"})
        new = channels.add_entry(session, SYSTEM, "email", kim.id, "kim@new.example", "home")
        channels.make_primary(session, SYSTEM, "email", new.id)
    run_id = start_run(people_db, settings, SYSTEM, "announcement", "tag", {"tag": "vip"}, "outbox")
    report = process_run(people_db, settings, SYSTEM, run_id)
    assert report.sent == 1
    [draft] = [email.message_from_bytes(p.read_bytes(), policy=parsed) for p in (tmp_path / "outbox").glob("*.eml")]
    assert [a.addr_spec for a in draft["To"].addresses] == ["kim@new.example"]
    with people_db.reading() as session:
        assert session.scalar(sa.select(ContactEmail.address).where(ContactEmail.is_primary,
                                                                    ContactEmail.contact_id == 5)) == "kim@new.example"


def test_new_people_synced_in_bulk_get_the_primary_entries_and_audit_rows_the_services_give(
        people_db, actor_for, settings, tmp_path):
    """New People rows get their primary entries in bulk (on SQLite the e-mail entries are
    copied from the contacts just stored, the k-th contact with an address getting the k-th
    new id): each entry as `add_contact` stores it, and one audit row each naming that
    entry's id and values, the chain intact, whichever rows in between have no address."""
    from engine.contacts.models import ContactPhone
    from engine.db.audit import AuditEntry
    from engine.db.audit_chain import verify_chain

    with people_db.unit_of_work(SYSTEM, source="system") as session:      # the services' entries, to compare
        model, _ = services.add_contact(session, SYSTEM, {"kind": "person", "first_name": "Mo", "last_name": "Del",
                                                          "country": "GB", "email": "mo@del.example"})
    path = tmp_path / "crm.xlsx"
    new_workbook(people_db, actor_for("sam"), "crm", path)
    first = len(read_sheet(path, "People")) + 1
    typed = [("Ann", "ann@bell.example", "+44 1632 960000"), ("Bob", None, "+44 1632 960001"),
             ("Cy", "Cy@Bell.example", None), ("Di", None, None), ("Ed", "ed@bell.example", "+44 1632 960004")]
    for n, (name, address, number) in enumerate(typed):
        edit_by_label(path, "People", first + n, {"First name": name, "Last name": "Bell", "Country": "GB",
                                                  "E-mail": address, "Phone": number})
    result = RoundTrip(people_db, settings, actor_for("sam")).sync(path)
    assert (result.status, result.problems) == ("applied", [])
    with people_db.reading() as session:
        def entries(model_, contact_id):
            return session.scalars(sa.select(model_).where(model_.contact_id == contact_id)).all()

        [like] = entries(ContactEmail, model.id)
        made = {c.first_name: c for c in session.scalars(sa.select(Contact).where(Contact.last_name == "Bell"))}
        audit = {(row.table_name, row.record_id): row for row in session.scalars(
            sa.select(AuditEntry).where(AuditEntry.table_name.in_(["contact_emails", "contact_phones"]),
                                        AuditEntry.source == "workbook"))}
        for name, address, number in typed:
            contact = made[name]
            emails, phones = entries(ContactEmail, contact.id), entries(ContactPhone, contact.id)
            assert [e.address for e in emails] == ([address.lower()] if address else []), name
            assert [p.number for p in phones] == ([number] if number else []), name
            for entry in emails:
                assert (entry.kind, entry.is_primary, entry.version, entry.updated_by) == \
                    (like.kind, like.is_primary, like.version, "sam")
                assert contact.created_at <= entry.created_at == entry.updated_at
                assert audit.pop(("contact_emails", entry.id)).changes == {
                    "contact_id": [None, contact.id], "kind": [None, "work"], "address": [None, entry.address],
                    "is_primary": [None, True]}
            for entry in phones:
                assert (entry.digits, entry.is_primary, entry.updated_by) == (rules.phone_digits(number), True, "sam")
                assert audit.pop(("contact_phones", entry.id)).changes["number"] == [None, number]
        assert audit == {}                                            # no audit row for an entry not made
    with people_db.engine.connect() as conn:
        assert verify_chain(conn, AuditEntry.__table__)["intact"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_new_peoples_entries_are_checked_against_their_contacts_at_commit_on_postgresql(people_db):
    """Migration 0022: the lists' foreign keys to contacts are deferrable, checked at once
    unless asked; a bulk save of new people's entries asks for the check at commit (the
    server does it while the workbook is written), and it still refuses the transaction."""
    from sqlalchemy.exc import IntegrityError

    from engine.db.base import utcnow

    def bogus_entry(connection):     # an e-mail entry naming no contact
        connection.execute(sa.insert(ContactEmail.__table__), {
            "contact_id": 999_999, "kind": "work", "address": "nobody@x.example", "is_primary": True, "version": 1,
            "created_at": utcnow(), "updated_at": utcnow(), "updated_by": "ada"})

    with people_db.engine.connect() as conn:
        modes = conn.execute(sa.text("SELECT conname, condeferrable, condeferred FROM pg_constraint "
                                     "WHERE conname IN ('fk_contact_emails_contact_id_contacts', "
                                     "'fk_contact_phones_contact_id_contacts') AND connamespace = "
                                     "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
                                     "ORDER BY conname")).all()   # (this test's schema: others run beside it)
    assert [tuple(m) for m in modes] == [("fk_contact_emails_contact_id_contacts", True, False),
                                         ("fk_contact_phones_contact_id_contacts", True, False)]
    with pytest.raises(IntegrityError), people_db.unit_of_work(SYSTEM, source="system") as session:
        bogus_entry(session.connection())                     # checked at once, as ever
    before_commit = []
    with pytest.raises(IntegrityError), people_db.unit_of_work(SYSTEM, source="workbook") as session:
        session.info["audit"].posting_row = ("People", 7)
        channels.add_primaries(session, [{"id": 2, "email": None, "phone": None}])   # asks for the check at commit
        bogus_entry(session.connection())                     # not refused here ...
        session.execute(sa.select(Contact.id)).all()          # ... nor by the statements after it
        before_commit.append("not refused")
    assert before_commit == ["not refused"]
    with people_db.reading() as session:                      # ... but at commit: nothing was saved
        assert session.scalar(sa.select(sa.func.count()).select_from(ContactEmail)
                              .where(ContactEmail.contact_id == 999_999)) == 0
