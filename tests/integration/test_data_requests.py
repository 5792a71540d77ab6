"""Data-subject requests on SQLite and PostgreSQL, through the CLI in-process: a person's
export holds every table that refers to them (found from the schema, so a new table must be
given a row here or the test fails); an erasure is refused while something holds the data
(changing nothing), and once done leaves no personal value of the person in any table but
where its answer says it is kept, and why; the books still balance."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app as application
from engine.admin.models import Asset, Task
from engine.cli import app
from engine.contacts import erasure, references
from engine.contacts import services as contacts
from engine.contacts.models import Address, ContactEmail, ContactPhone
from engine.crm.models import Interaction, Opportunity
from engine.db.audit import AuditEntry
from engine.db.base import Base
from engine.inventory.models import Item, Location, Lot, StockMovement
from engine.ledger.chart import install_chart
from engine.ledger.invoices import LineIn, create_invoice, post_invoice, record_payment
from engine.ledger.reports import trial_balance
from engine.ledger.services import open_year
from engine.mailmerge.models import MailMessage, MailRun
from engine.quality.models import Inspection, InspectionPlan, Nonconformance
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.staff import services as staff
from engine.staff.models import Contract, LeaveRequest, LeaveType

TODAY = date.today()
OLD = date(TODAY.year - 12, 3, 1)     # past the books' retention (10 years after the end of its year)


def person(session, first: str, last: str, word: str) -> int:
    """A person carrying `word` in every field that can hold it."""
    p, _ = contacts.add_contact(
        session, SYSTEM, {"kind": "person", "first_name": first, "last_name": last, "country": "GB",
                          "email": f"home@{word}mail.example", "phone": "+44 7700 900123",
                          "job_title": f"Chief {word}wright", "website": f"{word}.example", "tags": f"{word}club",
                          "notes": f"Allergic to {word} pens"},
        [{"kind": "billing", "line1": f"77 {word}wick Lane", "city": f"{word}ton", "postcode": "ZZ9 9QF",
          "country": "GB"},
         {"kind": "shipping", "line1": f"5 {word} Yard", "city": "Leeds", "country": "GB"}])
    # (its e-mail and phone are its lists' primary entries already)
    session.add(ContactEmail(contact_id=p.id, kind="work", address=f"work@{word}mail.example"))
    return p.id


def refer_everywhere(session, pid: int, name: str, word: str, stage: str) -> None:
    """A row in every other table that refers to a contact, about the person."""
    n = pid
    item = Item(sku=f"W{n}", name="Widget", preferred_supplier_id=pid)
    where = Location(code=f"L{n}", name="Main", kind="warehouse")
    session.add_all([item, where])
    session.flush()
    lot = Lot(item_id=item.id, lot_number=f"LOT{n}")
    plan = InspectionPlan(code=f"P{n}", item_id=item.id, supplier_id=pid, supplier_key=pid, sampling="fixed",
                          sample_size=1, accept_number=0)
    session.add_all([lot, plan])
    session.flush()
    run = MailRun(template="letter", selection="tag", transport="outbox", started_by="ada",
                  skipped=[{"contact_id": pid, "name": name, "reason": f"bounced at work@{word}mail.example"}])
    opportunity = Opportunity(contact_id=pid, title=f"Widgets for {name}", stage=stage, value=D("500"),
                              currency="GBP", owner="ada")
    session.add_all([
        StockMovement(moved_on=TODAY, kind="receipt", reason="received", item_id=item.id, quantity=D(2),
                      to_location_id=where.id, lot_id=lot.id, unit_cost=D(1), value=D(2), supplier_id=pid),
        StockMovement(moved_on=TODAY, kind="issue", reason="sold", item_id=item.id, quantity=D(1),
                      from_location_id=where.id, lot_id=lot.id, value=D(-1), customer_id=pid),
        Inspection(lot_id=lot.id, plan_id=plan.id, supplier_id=pid, inspected_on=TODAY, inspector="ada",
                   lot_size=D(2), severity="normal", sample_size=1, accept_number=0, reject_number=1,
                   nonconforming=0, critical=0, accepted=True),
        Nonconformance(title="Scratched widget", opened_on=TODAY, owner="ada", supplier_id=pid, customer_id=pid,
                       status="closed"),
        Asset(tag=f"A{n}", description="Laptop", category="IT", purchased_on=TODAY, cost=D(900), supplier_id=pid,
              useful_life_months=36),
        Interaction(contact_id=pid, kind="call", occurred_on=TODAY, owner="ada",
                    summary=f"{name} asked about widgets; write to home@{word}mail.example"),
        run, opportunity])
    session.flush()
    session.add_all([
        MailMessage(run_id=run.id, contact_id=pid, channel="email", address=f"home@{word}mail.example", name=name,
                    state="failed", error=f"550 no such user home@{word}mail.example"),
        Interaction(contact_id=pid, kind="email", occurred_on=TODAY, owner="ada", summary="Letter sent",
                    mail_run_id=run.id, message_id=f"<m{n}@backoffice>"),
        Task(title=f"Call {name}", due_on=TODAY, owner="ada", contact_id=pid, notes=f"{word} wants a visit"),
        Task(title=f"Quote for {name}", due_on=TODAY, owner="ada", opportunity_id=opportunity.id)])


def paid_invoice(session, pid: int, on: date) -> str:
    invoice = create_invoice(session, SYSTEM, "sales", pid, on, on + timedelta(days=30),
                             [LineIn("Widgets", D(1), D(100), "4100")])
    post_invoice(session, SYSTEM, invoice.id)
    record_payment(session, SYSTEM, "received", pid, on, D(100), [(invoice.id, D(100))])
    return invoice.number


@pytest.fixture
def world(db):
    """Zephyrine Quillfeather (P): a customer with an old paid invoice past retention and a
    recent one within it, referred to from every module, nothing open. Rowan Marrowgate (R):
    an employee (contract, leave), with a draft invoice, an open one, a payment not allocated
    and an open opportunity, also referred to from every module."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "ada", "Ada", ["admin"], None)
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        install_chart(session, SYSTEM)
        for year in (OLD.year, TODAY.year):
            open_year(session, SYSTEM, year)
        p = person(session, "Zephyrine", "Quillfeather", "Quillfeather")
        refer_everywhere(session, p, "Zephyrine Quillfeather", "Quillfeather", "lost")
        paid_invoice(session, p, OLD)
        recent = paid_invoice(session, p, TODAY)
        ops = staff.add_department(session, SYSTEM, "OPS", "Operations")
        employee = staff.hire(session, SYSTEM, staff.Hire("Rowan", "Marrowgate", "GB", "E1", ops.id,
                                                          date(2020, 1, 6), national_id="QQ123456C"))
        r = employee.contact_id
        session.add_all([Address(contact_id=r, line1="1 Marrowgate Row", city="York", country="GB"),
                         ContactEmail(contact_id=r, address="rowan@marrowgate.example"),
                         ContactPhone(contact_id=r, number="0113 496 0000", digits="01134960000")])
        refer_everywhere(session, r, "Rowan Marrowgate", "Marrowgate", "proposal")
        leave = LeaveType(code="SICK", name="Sick")
        session.add_all([leave, Contract(employee_id=employee.id, kind="permanent", weekly_hours=D(40),
                                         salary=D(41000), currency="GBP", starts_on=date(2020, 1, 6))])
        session.flush()
        session.add(LeaveRequest(employee_id=employee.id, leave_type_id=leave.id, starts_on=TODAY, ends_on=TODAY,
                                 days=D(1), medical_reason="Marrowgate fever"))
        create_invoice(session, SYSTEM, "sales", r, TODAY, TODAY, [LineIn("Widgets", D(1), D(5), "4100")])
        open_one = post_invoice(session, SYSTEM, create_invoice(session, SYSTEM, "sales", r, TODAY, TODAY,
                                                                [LineIn("Widgets", D(1), D(7), "4100")]).id)
        record_payment(session, SYSTEM, "received", r, TODAY, D(10), [(open_one.id, D(3))])   # 7 left unallocated
    url = db.engine.url.render_as_string(hide_password=False)

    def run(*args: str, user: str = "ada"):
        result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", user])
        text = result.stdout if result.exit_code == 0 else result.stderr
        return result.exit_code, json.loads(text)

    return db, run, {"p": p, "r": r, "recent": recent}


def snapshot(db) -> dict[str, list]:
    with db.reading() as session:
        return {t.name: session.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
                for t in Base.metadata.sorted_tables}


def test_an_export_holds_every_table_that_refers_to_the_person_and_is_audited(world, tmp_path):
    db, run, ids = world
    r, target = ids["r"], tmp_path / "out" / "rowan.json"
    code, answer = run("contacts", "export", str(r), "--out", str(target))
    assert code == 0, answer
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600
    document = json.loads(target.read_text())
    assert document["contact"]["last_name"] == "Marrowgate"
    assert answer["tables"] == {t: len(rows) for t, rows in document["tables"].items()}
    # Every foreign key to contacts in the tables of the modules switched on (a person has no
    # members, so contacts.organisation_id is the one that cannot refer to them).
    on = application.module_tables()
    referring = [c for c in references.referring_columns(list(Base.metadata.sorted_tables))
                 if c.table.name in on and (c.table.name, c.name) != ("contacts", "organisation_id")]
    assert len(referring) >= 19
    missing = [f"{c.table.name}.{c.name}" for c in referring
               if not any(row[c.name] == r for row in document["tables"].get(c.table.name, []))]
    assert missing == []
    # The rows that are part of their records, sensitive fields included; exact values.
    assert [c["salary"] for c in document["tables"]["contracts"]] == ["41000.0000"]
    assert [x["medical_reason"] for x in document["tables"]["leave_requests"]] == ["Marrowgate fever"]
    assert document["tables"]["employees"][0]["national_id"] == "QQ123456C"
    assert {"invoice_lines", "allocations"} <= set(document["tables"])
    assert [s["name"] for run in document["tables"]["mail_runs"] for s in run["skipped"]] == ["Rowan Marrowgate"]
    assert any(e["table_name"] == "contacts" and e["record_id"] == r for e in document["audit_log"])
    with db.reading() as session:
        [entry] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert (entry.actor, entry.record_id) == ("ada", r) and "Marrowgate" not in json.dumps(entry.changes)
    # Only a role that can answer data requests; never an organisation.
    assert run("contacts", "export", str(r), "--out", str(tmp_path / "x.json"), user="sam")[0] == 2
    with db.unit_of_work(SYSTEM, source="system") as session:
        org, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Acme", "country": "GB"})
    code, refused = run("contacts", "erase", str(org.id))
    assert (code, refused["problems"][0]["code"]) == (1, "not_a_person")


NEEDLES = ("zephyrine", "quillfeather", "900123", "zz9")


def personal_hits(db) -> set[tuple[str, str, int]]:
    """(table, column, row id) of every text or JSON value holding one of P's strings."""
    hits = set()
    with db.reading() as session:
        for table in Base.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not texts or "id" not in table.c:
                continue
            for row in session.execute(sa.select(table.c.id, *texts)).mappings():
                hits |= {(table.name, c.name, row["id"]) for c in texts
                         if any(n in json.dumps(row[c.name]).lower() for n in NEEDLES)}
    return hits


def test_an_erasure_leaves_nothing_of_the_person_but_what_it_says_it_keeps(world):
    db, run, ids = world
    p, r = ids["p"], ids["r"]
    before = snapshot(db)
    # Refused while something holds Rowan's data, with every reason; nothing changes.
    code, refused = run("contacts", "erase", str(r))
    assert code == 1
    assert {x["code"] for x in refused["problems"]} == {"employee", "draft_invoice", "open_invoice",
                                                       "unallocated_payment", "open_opportunity"}
    assert all(x["field"] for x in refused["problems"])
    assert run("contacts", "erase", str(p), user="sam")[0] == 2
    code, dry = run("contacts", "erase", str(p), "--dry-run")
    assert code == 0 and not dry["erased"] and dry["would_remove"]
    assert snapshot(db) == before
    with db.reading() as session:
        tb = trial_balance(session, SYSTEM, TODAY)
        last_audit = session.scalar(sa.select(sa.func.max(AuditEntry.id)))

    code, done = run("contacts", "erase", str(p))
    assert code == 0 and done["erased"]
    name = next(k for k in done["kept"] if k["table"] == "contacts")
    assert name["reason"].startswith(f"named on invoice {ids['recent']}, kept until {TODAY.year + 10}-12-31")
    hits = personal_hits(db)
    # Found only where the answer says it is kept: its table, its records (none listed: all)
    # and its columns (none listed: the whole rows); a row kept because it "refers to the
    # contact by its number only" says it names no one.
    assert [(t, c, i) for t, c, i in hits if not any(
        k["table"] == t and (not k["record_ids"] or i in k["record_ids"]) and (not k["columns"] or c in k["columns"])
        and k["reason"] != erasure.LINK_REASON for k in done["kept"])] == []
    assert {(t, c) for t, c, _ in hits if t != "audit_log"} == {
        ("contacts", "name"), ("contacts", "first_name"), ("contacts", "last_name"), ("contacts", "name_key"),
        ("addresses", "line1"), ("addresses", "city"), ("addresses", "postcode")}
    assert not [h for h in hits if h[0] == "audit_log" and h[2] > last_audit]   # the erasure adds none
    with db.reading() as session:
        after = trial_balance(session, SYSTEM, TODAY)
        assert (after, after.total_debit) == (tb, after.total_credit)
        assert session.scalars(sa.select(Address.kind).where(Address.contact_id == p)).all() == ["billing"]
        [entry] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert (entry.actor, entry.record_id) == ("ada", p)
        # Rowan's records were left as they were.
        assert len(session.scalars(sa.select(Interaction.id).where(Interaction.contact_id == r)).all()) == 2
