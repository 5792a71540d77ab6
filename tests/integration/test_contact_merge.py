"""Merging two contacts, on SQLite and PostgreSQL.

The must-hold: a merge leaves no reference to the dropped contact anywhere. The fixture makes
the dropped contact referred to from every foreign key to contacts.id the schema has (and
fails when the schema has one it does not fill, so a table added later cannot be forgotten),
merges, and walks every foreign key again. Also: the lists move deduplicated, the kept
contact's empty fields are filled, every re-pointed row is versioned and audited; a conflict a
person must decide refuses the merge naming its field and changes nothing; a dry run changes
nothing; a module switched off takes no part (and refuses a merge its rows would be left out
of); the command line; the demo's planted duplicates are found first.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app
from engine.admin.models import Asset, Task
from engine.cli import app as cli
from engine.contacts import duplicates, merge
from engine.contacts.models import Address, Contact, ContactEmail, ContactPhone
from engine.contacts.services import add_contact
from engine.crm.models import Interaction, Opportunity
from engine.db.audit import AuditEntry
from engine.demo import build_demo
from engine.errors import ValidationFailed
from engine.inventory.models import Item, Location, Lot, StockMovement
from engine.ledger.models import Account, Invoice, JournalEntry, JournalLine, Payment
from engine.mailmerge.models import MailMessage, MailRun
from engine.quality.models import Inspection, InspectionPlan, Nonconformance, SwitchingState
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.staff.models import Department, Employee
from tests.conftest import actor_with

ADMIN = actor_with("admin", login="admin")
DAY = date(2026, 3, 2)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def organisation(session, name: str, **values) -> Contact:
    contact, _ = add_contact(session, SYSTEM, {"kind": "organisation", "name": name, "country": "GB", **values})
    return contact


def person(session, first: str, last: str, **values) -> Contact:
    contact, _ = add_contact(session, SYSTEM, {"kind": "person", "first_name": first, "last_name": last,
                                                "country": "GB", **values})
    return contact


def refer_everywhere(session, drop: int, keep: int) -> set[tuple[str, str]]:
    """A row referring to `drop` in every table that can; returns the (table, column) filled."""
    add_user(session, SYSTEM, "owner", "Owner", ["admin"], None)
    session.add(Contact(kind="person", name="Pat Member", last_name="Member", country="GB", name_key="pat member",
                        organisation_id=drop))
    # The lists: one entry each the kept contact already has (removed), one it has not (moved).
    session.add_all([
        Address(contact_id=keep, kind="billing", line1="1 High Street", city="London", postcode="EC1A 1BB",
                country="GB"),
        Address(contact_id=drop, kind="billing", line1="1 HIGH STREET", city="London", postcode="ec1a1bb",
                country="GB"),
        Address(contact_id=drop, kind="shipping", line1="9 Dock Road", city="Tilbury", postcode="RM18 7EH",
                country="GB"),
        ContactEmail(contact_id=keep, address="orders@acme.example", is_primary=True),
        ContactEmail(contact_id=drop, address="Orders@acme.example", is_primary=True),
        ContactEmail(contact_id=drop, address="accounts@acme.example", kind="other"),
        ContactPhone(contact_id=keep, number="020 7946 0000", digits="02079460000", is_primary=True),
        ContactPhone(contact_id=drop, number="+44 20 7946 0000", digits="442079460000", is_primary=True),
        ContactPhone(contact_id=drop, number="07700 900123", digits="07700900123", kind="mobile"),
    ])
    department = Department(code="OPS", name="Operations")
    location = Location(code="MAIN", name="Main", kind="warehouse")
    item = Item(sku="BOLT", name="Bolt", preferred_supplier_id=drop)
    account = Account(code="1100", name="Debtors", type="asset")
    entry = JournalEntry(number="JE-1", entry_date=DAY)
    run = MailRun(template="letter", selection="contacts", options={"ids": [keep, drop]}, transport="outbox",
                  started_by="owner", skipped=[{"contact_id": drop, "name": "Acme", "reason": "opted out"}])
    session.add_all([department, location, item, account, entry, run])
    session.flush()
    lot = Lot(item_id=item.id, lot_number="L1")
    plan = InspectionPlan(code="IP-1", item_id=item.id, supplier_id=drop, supplier_key=drop, aql=D("2.5"))
    general = InspectionPlan(code="IP-ALL", item_id=item.id, supplier_key=0, aql=D("1.0"))
    session.add_all([lot, plan, general])
    session.flush()
    session.add_all([
        SwitchingState(plan_id=plan.id, supplier_key=drop),
        SwitchingState(plan_id=general.id, supplier_key=drop),
        Employee(employee_number="E1", contact_id=drop, department_id=department.id, start_date=DAY),
        Interaction(contact_id=drop, kind="call", occurred_on=DAY, owner="owner", summary="called"),
        Opportunity(contact_id=drop, title="Bolts", stage="lead", value=D(100), currency="GBP", owner="owner"),
        Invoice(kind="sales", contact_id=drop, issued_on=DAY, due_on=DAY),
        Payment(kind="received", contact_id=drop, paid_on=DAY, amount=D(1), bank_account="1200", entry_id=entry.id),
        JournalLine(entry_id=entry.id, line_number=1, account_id=account.id, debit=D(1), contact_id=drop),
        StockMovement(moved_on=DAY, kind="receipt", reason="received", item_id=item.id, quantity=D(1),
                      to_location_id=location.id, supplier_id=drop, customer_id=drop),
        Inspection(lot_id=lot.id, plan_id=plan.id, supplier_id=drop, inspected_on=DAY, inspector="owner",
                   lot_size=D(1), severity="normal", sample_size=1, accept_number=0, reject_number=1,
                   nonconforming=0, critical=0, accepted=True),
        Nonconformance(title="Bent", opened_on=DAY, owner="owner", supplier_id=drop, customer_id=drop),
        MailMessage(run_id=run.id, contact_id=drop, channel="letter", name="Acme"),
        Task(title="Call back", due_on=DAY, owner="owner", contact_id=drop),
        Asset(tag="A1", description="Van", category="vehicles", purchased_on=DAY, cost=D(1000),
              useful_life_months=60, supplier_id=drop),
    ])
    session.flush()
    return {(ref.table.name, ref.column.name) for ref in merge.references()[0]
            if session.scalar(sa.select(sa.func.count()).select_from(ref.table).where(ref.column == drop))}


def referring(session, contact_id: int) -> dict[str, int]:
    """Every foreign key to contacts.id in the schema, walked: rows still referring to `contact_id`."""
    found = {}
    for table in Contact.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column is Contact.__table__.c.id:
                rows = session.scalar(sa.select(sa.func.count()).select_from(table).where(key.parent == contact_id))
                if rows:
                    found[f"{table.name}.{key.parent.name}"] = rows
    return found


def every_reference_in_the_schema() -> set[tuple[str, str]]:
    return {(t.name, k.parent.name) for t in Contact.metadata.sorted_tables for k in t.foreign_keys
            if k.column is Contact.__table__.c.id}


@pytest.fixture
def acme(db):
    """KEEP 'Acme Ltd' and DROP 'ACME Limited' (opted out, with a website and notes),
    DROP referred to from everywhere. Returns (keep, drop, the (table, column) filled)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        keep = organisation(session, "Acme Ltd", tags="customer", notes="Pays on time.")
        drop = organisation(session, "ACME Limited", tags="supplier, vip", opt_out=True,
                            website="https://acme.example", notes="Old record.")
        filled = refer_everywhere(session, drop.id, keep.id)
    return keep.id, drop.id, filled


def test_a_merge_leaves_no_reference_to_the_dropped_contact_anywhere(db, acme):
    keep, drop, filled = acme
    assert filled == every_reference_in_the_schema(), "a foreign key to contacts the fixture does not fill"
    with db.unit_of_work(ADMIN) as session:
        plan = merge.merge_contacts(session, ADMIN, keep, drop)
    with db.reading() as session:
        assert referring(session, drop) == {}
        assert session.get(Contact, drop) is None
        assert set(referring(session, keep)) == {f"{t}.{c}" for t, c in filled}
        kept = session.get(Contact, keep)
        # its own values kept, the empty ones filled, opted out as one of them was, tags united, notes joined
        assert (kept.name, kept.website, kept.opt_out, kept.tags) == ("Acme Ltd", "https://acme.example", True,
                                                                        "customer, supplier, vip")
        assert kept.notes == f"Pays on time.\n[from #{drop} ACME Limited] Old record."
        emails = session.execute(sa.select(ContactEmail.address, ContactEmail.is_primary)
                                 .where(ContactEmail.contact_id == keep).order_by(ContactEmail.address)).all()
        assert emails == [("accounts@acme.example", False), ("orders@acme.example", True)]
        phones = session.execute(sa.select(ContactPhone.number, ContactPhone.is_primary)
                                 .where(ContactPhone.contact_id == keep).order_by(ContactPhone.number)).all()
        assert phones == [("020 7946 0000", True), ("07700 900123", False)]
        assert sorted(session.scalars(sa.select(Address.postcode).where(Address.contact_id == keep))) == [
            "EC1A 1BB", "RM18 7EH"]
        # what no foreign key shows: quality's supplier keys, the contact ids in a mail run
        assert set(session.scalars(sa.select(InspectionPlan.supplier_key))) == {0, keep}
        assert set(session.scalars(sa.select(SwitchingState.supplier_key))) == {keep}
        run = session.scalars(sa.select(MailRun)).one()
        assert (run.skipped[0]["contact_id"], run.options["ids"], run.version) == (keep, [keep], 2)
        # every re-pointed row versioned and audited, and the merge itself on the kept contact
        interaction = session.scalars(sa.select(Interaction)).one()
        assert (interaction.version, interaction.updated_by) == (2, "admin")
        audited = session.execute(sa.select(AuditEntry.table_name, AuditEntry.record_id, AuditEntry.changes)
                                  .where(AuditEntry.actor == "admin", AuditEntry.action == "update")).all()
        assert {"contact_id": [drop, keep]} in [c for t, _, c in audited if t == "journal_lines"]
        assert {(t, c) for t, c in filled} - {("addresses", "contact_id"), ("contact_emails", "contact_id"),
                                                 ("contact_phones", "contact_id")} <= {
            (t, name) for t, _, c in audited for name in c if c[name] == [drop, keep]}
        record = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "merge")).one()
        assert (record.table_name, record.record_id, record.changes["merged"]) == ("contacts", keep, [drop, keep])
    assert sum(c.rows for c in plan.changes) == record.changes["rows"][1]


def test_a_merge_a_person_must_decide_is_refused_naming_the_fields_and_changes_nothing(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "owner", "Owner", ["admin"], None)
        org = organisation(session, "Acme Ltd")
        other = organisation(session, "Acme GmbH", country="DE")
        ann = person(session, "Ann", "Lee", organisation_id=org.id)
        ann2 = person(session, "Ann", "Lee", organisation_id=organisation(session, "Bolt plc").id)
        bob, bob2 = person(session, "Bob", "Ray"), person(session, "Bob", "Ray")
        department = Department(code="OPS", name="Operations")
        run = MailRun(template="letter", selection="tag", transport="outbox", started_by="owner")
        item = Item(sku="BOLT", name="Bolt")
        session.add_all([department, run, item])
        session.flush()
        session.add_all([Employee(employee_number="E1", contact_id=bob.id, department_id=department.id, start_date=DAY),
                         Employee(employee_number="E2", contact_id=bob2.id, department_id=department.id,
                                  start_date=DAY),
                         MailMessage(run_id=run.id, contact_id=bob.id, channel="letter", name="Bob"),
                         MailMessage(run_id=run.id, contact_id=bob2.id, channel="letter", name="Bob"),
                         InspectionPlan(code="IP-1", item_id=item.id, supplier_id=org.id, supplier_key=org.id,
                                        aql=D(1)),
                         InspectionPlan(code="IP-2", item_id=item.id, supplier_id=other.id, supplier_key=other.id,
                                        aql=D(1))])
    ids = (org.id, other.id, ann.id, ann2.id, bob.id, bob2.id)

    def refused(keep: int, drop: int) -> set[tuple[str, str]]:
        with pytest.raises(ValidationFailed) as caught, db.unit_of_work(ADMIN) as session:
            merge.merge_contacts(session, ADMIN, keep, drop)
        return {(p.field, p.code) for p in caught.value.problems}

    assert refused(org.id, ann.id) == {("kind", "conflict"), ("organisation_id", "own_person")}
    assert refused(org.id, other.id) == {("country", "conflict"), ("inspection_plans.supplier_key", "unique")}
    assert refused(ann.id, ann2.id) == {("organisation_id", "conflict")}
    assert refused(bob.id, bob2.id) == {("employees.contact_id", "unique"), ("mail_messages.contact_id", "unique")}
    assert refused(bob.id, bob.id) == {("drop", "same_contact")}
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Contact).where(Contact.id.in_(ids))) == 6
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.actor == "admin")) == 0
    # A dry run says what would change and changes nothing.
    with db.unit_of_work(ADMIN) as session:
        plan = merge.merge_contacts(session, ADMIN, ann.id, person(session, "Anne", "Lee", phone="0161 496 0000").id,
                                    dry_run=True)
    assert (plan.done, plan.filled) == (False, {"phone": "0161 496 0000"})
    assert plan.not_kept == {"first_name": ["Anne", "Ann"]}      # said before anyone merges
    with db.reading() as session:
        assert session.get(Contact, ann.id).phone is None
        # (the contact the test added, and its phone number's entry)
        assert sorted(session.execute(sa.select(AuditEntry.table_name, AuditEntry.action).where(
            AuditEntry.actor == "admin")).all()) == [("contact_phones", "insert"), ("contacts", "insert")]


@SQLITE_ONLY
def test_a_module_switched_off_takes_no_part_and_refuses_a_merge_its_rows_refer_to(db):
    with app.started(["contacts", "inventory"]):
        on, off = merge.references()
        assert {r.module or "kernel" for r in on} == {"contacts", "inventory"}
        assert {(r.table.name, r.column.name) for r in on} | {(r.table.name, r.column.name) for r in off} == (
            every_reference_in_the_schema())
        assert ("invoices", "contact_id") in {(r.table.name, r.column.name) for r in off}
        with db.unit_of_work(SYSTEM, source="system") as session:
            keep, drop, billed = (organisation(session, n) for n in ("Acme Ltd", "Acme Limited", "Acme plc"))
            session.add(Invoice(kind="sales", contact_id=billed.id, issued_on=DAY, due_on=DAY))
            session.add(Item(sku="BOLT", name="Bolt", preferred_supplier_id=drop.id))
        with pytest.raises(ValidationFailed, match="switch ledger on") as caught, db.unit_of_work(ADMIN) as session:
            merge.merge_contacts(session, ADMIN, keep.id, billed.id)
        assert [(p.field, p.code) for p in caught.value.problems] == [("invoices.contact_id", "module_off")]
        with db.unit_of_work(ADMIN) as session:
            plan = merge.merge_contacts(session, ADMIN, keep.id, drop.id)
        assert [(c.table, c.column, c.rows) for c in plan.changes] == [("items", "preferred_supplier_id", 1)]


@SQLITE_ONLY
def test_duplicates_and_merge_from_the_command_line(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        keep = organisation(session, "Acme Ltd", phone="020 7946 0000")
        drop = organisation(session, "ACME Limited", phone="+44 20 7946 0000")
        organisation(session, "Bolt Supply")
    url = db.engine.url.render_as_string(hide_password=False)

    def run(*args: str, user: str = "sam"):
        done = CliRunner().invoke(cli, ["--database-url", url, "contacts", *args, "--user", user])
        return done.exit_code, done.stdout if done.exit_code == 0 else done.stderr

    code, text = run("duplicates", "--json")
    assert code == 0
    assert [(p["first"]["id"], p["second"]["id"], p["score"], p["reasons"]) for p in json.loads(text)] == [
        (keep.id, drop.id, 90, ["same name", "same phone number (ending 460000)"])]
    code, text = run("duplicates")
    assert code == 0 and "ACME Limited" in text and "1 likely duplicate" in text
    code, text = run("merge", str(keep.id), str(drop.id), "--dry-run", "--json")
    assert (code, json.loads(text)["merged"]) == (0, False)
    assert json.loads(text)["not_kept"] == {"name": ["ACME Limited", "Acme Ltd"]}
    code, text = run("merge", str(keep.id), str(drop.id), "--dry-run")
    assert code == 0 and f"#{drop.id} ACME Limited: name 'ACME Limited' is not kept (#{keep.id} Acme Ltd keeps" in text
    code, text = run("merge", str(keep.id), str(drop.id), "--json", user="wes")
    assert code == 2 and "permission" in text
    code, text = run("merge", str(keep.id), str(keep.id), "--json")
    assert code == 1 and json.loads(text)["problems"][0]["code"] == "same_contact"
    code, text = run("merge", str(keep.id), str(drop.id))
    assert code == 0 and f"merged #{drop.id} ACME Limited into #{keep.id} Acme Ltd" in text
    code, text = run("duplicates", "--json")
    assert (code, json.loads(text)) == (0, [])


@SQLITE_ONLY
def test_the_demos_planted_duplicates_are_found_first(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        created = build_demo(session, only=("users", "contacts", "duplicates")).created
    assert created["planted duplicates"] == 5
    with db.unit_of_work(ADMIN) as session:
        found = duplicates.duplicates(session, ADMIN)
        planted = set(session.scalars(sa.select(Contact.id).order_by(Contact.id.desc()).limit(5)))
    assert {p["second"]["id"] for p in found[:5]} == planted
    assert {r.split(" ")[1] for p in found[:5] for r in p["reasons"]} >= {"name", "e-mail", "phone", "postcode"}
