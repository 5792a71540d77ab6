"""NO_DATABASE, the seeded world (seed: a little of every module) and run_local, shared by test_remote_cli.py, test_remote_reads.py and test_addin_functions.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from typer.testing import CliRunner

from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.conftest import actor_with

NO_DATABASE = "sqlite:////nonexistent-folder/nothing.db"
HANA = actor_with("hr", login="hana")
DAY = date(2026, 2, 10)


def seed(db) -> None:
    """A little of every module: the books of 2026 with an entry, a sales invoice part paid
    and a bill; stock received and issued; two departments, three employees, a contract,
    leave (one approved, with a medical reason) and leave types; a mail run."""
    from engine.inventory.models import Item, Location
    from engine.inventory.services import TypedMovement, post_typed
    from engine.ledger.chart import install_chart
    from engine.ledger.invoices import LineIn, create_invoice, post_invoice, record_payment
    from engine.ledger.services import Line, open_year, post_entry
    from engine.mailmerge.models import MailMessage, MailRun
    from engine.staff.models import LeaveType
    from engine.staff.services import (
        Hire,
        add_contract,
        add_department,
        decide_leave,
        hire,
        request_leave,
    )

    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("hana", "hr"), ("mo", "manager"), ("lee", "staff")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
        install_chart(session, SYSTEM)
        open_year(session, SYSTEM, 2026)
        post_entry(session, SYSTEM, date(2026, 1, 5), [Line("1100", debit=D("1000.50")),
                                                       Line("3100", credit=D("1000.50"))], memo="capital")
        sale = create_invoice(session, SYSTEM, "sales", 1, date(2026, 2, 1), date(2026, 3, 3),
                              [LineIn("Widgets", D(3), D("19.99"), "4100", D("0.2"))])
        post_invoice(session, SYSTEM, sale.id)
        record_payment(session, SYSTEM, "received", 1, date(2026, 2, 20), D("30"), [(sale.id, D("30"))])
        bill = create_invoice(session, SYSTEM, "purchase", 2, date(2026, 1, 10), None,
                              [LineIn("Paper", D(1), D("12.34"), "6200", D(0))])
        post_invoice(session, SYSTEM, bill.id)

        main = Location(code="MAIN", name="Main warehouse", kind="warehouse")
        session.add(main)
        session.flush()
        session.add(Location(code="MAIN-A1", name="Bin A1", kind="bin", warehouse_id=main.id))
        session.add_all([Item(sku="BOLT-8", name="Bolt M8", valuation="average"),
                         Item(sku="CAP-1", name="Astro condenser", valuation="fifo", reorder_point=D(60),
                              reorder_quantity=D(200), preferred_supplier_id=2)])
        session.flush()
        for typed in (TypedMovement("receipt", "BOLT-8", D(10), DAY, to_location="MAIN", unit_cost=D("0.25")),
                      TypedMovement("receipt", "BOLT-8", D("2.5"), DAY, to_location="MAIN-A1", unit_cost=D("0.3")),
                      TypedMovement("receipt", "CAP-1", D(50), DAY, to_location="MAIN", unit_cost=D("1.10")),
                      TypedMovement("issue", "BOLT-8", D(4), date(2026, 2, 12), from_location="MAIN")):
            post_typed(session, SYSTEM, typed)

        quality_seed(session, main.id)
        crm_seed(session)

        run = MailRun(template="overdue_reminder", selection="tag news", options={}, transport="outbox",
                      status="finished", started_by="ada", skipped=[{"contact_id": 2, "name": "Bolt GmbH",
                                                                 "reason": "no e-mail address"}],
                      updated_by="ada")
        session.add(run)
        session.flush()
        session.add(MailMessage(run_id=run.id, contact_id=1, channel="email", address="info@acme.example",
                                name="Acme Ltd", state="sent", updated_by="ada"))
    with db.unit_of_work(HANA) as session:
        sales = add_department(session, HANA, "SAL", "Sales")
        ops = add_department(session, HANA, "OPS", "Operations")
        session.add_all([LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                                   carry_over_days=D("2.5"), updated_by="hana"),
                         LeaveType(code="sick", name="Sick leave", updated_by="hana")])
        session.flush()
        mo = hire(session, HANA, Hire("Mo", "Test", "GB", "E1", sales.id, date(2025, 1, 6), login="mo"))
        lee = hire(session, HANA, Hire("Lee", "Test", "GB", "E2", sales.id, date(2025, 1, 6), manager_id=mo.id,
                                       login="lee", date_of_birth=date(1977, 7, 7), national_id="QQ123456C"))
        hire(session, HANA, Hire("Meg", "Test", "GB", "E4", ops.id, date(2025, 1, 6)))
        add_contract(session, HANA, lee.id, "permanent", D("37.5"), D("36000"), "EUR", date(2025, 1, 6))
        taken = request_leave(session, HANA, lee.id, "annual", date(2026, 3, 2), date(2026, 3, 4),
                              half_day_end=True, reason="trip")
        decide_leave(session, HANA, taken.id, True)
        request_leave(session, HANA, lee.id, "sick", date(2026, 4, 1), date(2026, 4, 1), medical_reason="migraine")


def crm_seed(session) -> None:
    """A call with Acme (a follow-up due), two opportunities: one open, one won."""
    from engine.crm import services as crm

    crm.add_interaction(session, SYSTEM, {"contact_id": 1, "kind": "call", "summary": "asked for a quote",
                                          "occurred_on": DAY, "owner": "ada", "follow_up_on": date(2026, 3, 1)})
    crm.add_opportunity(session, SYSTEM, {"contact_id": 1, "title": "Bolt contract", "stage": "proposal",
                                          "value": D("1200.50"), "owner": "ada"})
    won = crm.add_opportunity(session, SYSTEM, {"contact_id": 2, "title": "Nuts", "value": D(80), "owner": "sam"})
    crm.win_opportunity(session, SYSTEM, won.id, on=DAY)


def quality_seed(session, main: int) -> None:
    """GLUE, tracked by lot, with a fixed plan (4 viscosities): lot G1 inspected and accepted,
    G2 still held; an NCR about it with an action due in May."""
    from engine.inventory.models import Item
    from engine.inventory.services import TypedMovement, post_typed
    from engine.quality import inspections, ncr, services
    from engine.quality.rules import Found

    session.add(Item(sku="GLUE", name="Epoxy glue", lot_tracked=True))
    session.flush()
    glue = services.item_named(session, "GLUE").id
    plan = services.add_plan(session, SYSTEM, {"code": "IP-GLUE", "item_id": glue, "sampling": "fixed",
                                               "sample_size": 4, "accept_number": 0},
                             [{"name": "Viscosity", "unit": "Pa.s", "lower_limit": D("9.5"), "upper_limit": D("10.5")}])
    [viscosity] = services.characteristics_of(session, plan.id)
    for lot in ("G1", "G2"):
        post_typed(session, SYSTEM, TypedMovement("receipt", "GLUE", D(20), DAY, to_location="MAIN", lot=lot,
                                                  unit_cost=D(4), supplier_id=2))
    g1 = services.find_lot(session, "G1").id
    inspections.inspect_lot(session, SYSTEM, g1, [Found(n, viscosity.id, value=D(v))
                                                  for n, v in enumerate(("10.1", "9.9", "10.0", "10.2"), 1)], DAY)
    opened = ncr.add_ncr(session, SYSTEM, {"title": "Skinned tins", "item_id": glue, "supplier_id": 2,
                                           "owner": "hana", "opened_on": DAY})
    ncr.advance_ncr(session, SYSTEM, opened.id, containment="tins set aside")
    ncr.add_action(session, SYSTEM, {"ncr_id": opened.id, "description": "check seals", "owner": "mo",
                                     "due_on": date(2026, 5, 1)})


def run_local(db, user: str = "ada", **env: str):
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    environment = {"BACKOFFICE_SERVER_URL": None, "BACKOFFICE_TOKEN": None, "BACKOFFICE_USER": user,
                   "COLUMNS": "200", "NO_COLOR": "1", **env}
    return lambda *args: CliRunner().invoke(app, ["--database-url", url, *args], env=environment)
