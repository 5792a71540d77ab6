"""Quality on a real SQLite file and a real PostgreSQL: a received lot of a planned item waits
for inspection, the inspection decides it (never typed), a failed lot is quarantined and
cannot leave stock, the quality role disposes of it, the supplier's record switches the
sampling, and nonconformances follow their workflow."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.config import LedgerSettings
from engine.contacts import services as contacts
from engine.db.audit import AuditEntry
from engine.errors import PermissionDenied, ValidationFailed
from engine.inventory.batch import post_movements
from engine.inventory.models import Item, Location, Lot, StockMovement
from engine.inventory.services import Movement, TypedMovement, post_movement, post_typed
from engine.ledger.chart import ROLES, install_chart
from engine.ledger.reports import trial_balance
from engine.ledger.services import open_year
from engine.quality import dispositions, inspections, queries, services
from engine.quality import ncr as ncrs
from engine.quality.models import Inspection, Measurement, SwitchingState
from engine.quality.rules import Found
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.conftest import actor_with

WES = actor_with("warehouse", login="wes")
QUINN = actor_with("quality", login="quinn")
VIC = actor_with("quality", login="vic")
DAY = date(2026, 3, 2)


@pytest.fixture
def quality_db(db):
    """MAIN; BOLT (lot-tracked, planned: level II, AQL 2.5, Diameter 9.95-10.05 and a minor
    Finish) from supplier Bolt Supply; GLUE (lot-tracked, no plan); users wes, quinn, vic."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, roles in (("wes", ["warehouse"]), ("quinn", ["quality"]), ("vic", ["quality"])):
            add_user(session, SYSTEM, login, login.title(), roles, None)
        supplier, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt Supply",
                                                              "country": "GB"})
        session.add(Location(code="MAIN", name="Main", kind="warehouse"))
        session.add(Location(code="EAST", name="East", kind="warehouse"))
        session.add_all([Item(sku="BOLT", name="Bolt M10", lot_tracked=True),
                         Item(sku="GLUE", name="Epoxy glue", lot_tracked=True)])
        session.flush()
        bolt = session.scalars(sa.select(Item).where(Item.sku == "BOLT")).one()
        services.add_plan(session, SYSTEM, {"code": "IP-BOLT", "item_id": bolt.id, "aql": D("2.5")}, [
            {"name": "Diameter", "unit": "mm", "nominal": D(10), "lower_limit": D("9.95"), "upper_limit": D("10.05")},
            {"name": "Finish", "kind": "attribute", "defect_class": "minor"}])
    db.supplier_id = supplier.id
    return db


def receive(db, lot, quantity=500, sku="BOLT", on=DAY, supplier=True):
    with db.unit_of_work(WES) as session:
        post_typed(session, WES, TypedMovement("receipt", sku, D(quantity), on, to_location="MAIN", lot=lot,
                                               unit_cost=D(2), supplier_id=db.supplier_id if supplier else None))
        return session.scalars(sa.select(Lot.id).join(Item).where(Lot.lot_number == lot, Item.sku == sku)).one()


def status(db, lot_id):
    with db.reading() as session:
        return session.get(Lot, lot_id).status


def measurements(db, lot_id, bad=0, diameter=D(10), finish_failures=0):
    """Every measurement the lot's sample needs: `bad` units out of limits, `finish_failures`
    more units failing the finish."""
    with db.reading() as session:
        task = inspections.inspection_task(session, QUINN, lot_id)
        ids = {c.name: c.id for c in task.characteristics}
        n = task.sample_size
    found = [Found(s, ids["Diameter"], value=D("10.2") if s <= bad else diameter) for s in range(1, n + 1)]
    found += [Found(s, ids["Finish"], passed=not (bad < s <= bad + finish_failures)) for s in range(1, n + 1)]
    return found


def inspect(db, lot_id, found, on=DAY, actor=QUINN):
    with db.unit_of_work(actor) as session:
        return inspections.inspect_lot(session, actor, lot_id, found, on).accepted


def test_a_received_lot_of_a_planned_item_waits_for_inspection_whichever_way_it_came(quality_db):
    assert status(quality_db, receive(quality_db, "L1")) == "awaiting inspection"
    assert status(quality_db, receive(quality_db, "G1", sku="GLUE")) == "available"
    with quality_db.unit_of_work(WES) as session:      # the workbook's batch path
        bolt = session.scalars(sa.select(Item.id).where(Item.sku == "BOLT")).one()
        lot = Lot(item_id=bolt, lot_number="L2")
        session.add(lot)
        session.flush()
        post_movements(session, WES, [Movement("receipt", "received", bolt, D(10), DAY, to_location_id=1,
                                               lot_id=lot.id, unit_cost=D(1))])
        batch_lot = lot.id
    assert status(quality_db, batch_lot) == "awaiting inspection"


def test_a_lot_awaiting_inspection_or_quarantined_cannot_leave_stock(quality_db):
    lot = receive(quality_db, "L1")
    for kind, reason, places in (("issue", "sold", {"from_location_id": 1}),
                                 ("transfer", "moved", {"from_location_id": 1, "to_location_id": 2})):
        with pytest.raises(ValidationFailed) as refused, quality_db.unit_of_work(WES) as session:
            post_movement(session, WES, Movement(kind, reason, 1, D(1), DAY, lot_id=lot, **places))
        [problem] = refused.value.problems
        assert (problem.field, problem.code) == ("lot_id", "lot_unavailable")
        assert "awaiting inspection" in problem.message
    with quality_db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1


def test_the_sample_comes_from_the_standard_tables_for_the_lot_size(quality_db):
    lot = receive(quality_db, "L1", quantity=500)
    with quality_db.reading() as session:
        task = inspections.inspection_task(session, QUINN, lot)
    # ISO 2859-1 Table 1: 281-500 at level II is H; Table 2-A: H is 50, AQL 2.5 Ac 3 Re 4
    assert (task.code_letter, task.sample_size, task.accept, task.reject, task.severity) == ("H", 50, 3, 4, "normal")


def test_an_inspection_is_decided_from_the_measurements_and_sets_the_lot_status(quality_db):
    accepted_lot, rejected_lot = receive(quality_db, "L1"), receive(quality_db, "L2")
    # 3 units out: accepted (Ac 3); a diameter exactly on the upper limit conforms
    assert inspect(quality_db, accepted_lot, measurements(quality_db, accepted_lot, bad=3, diameter=D("10.05")))
    assert status(quality_db, accepted_lot) == "available"
    # 2 out of limits and 2 more with a failed finish: 4 nonconforming units, rejected (Re 4)
    assert not inspect(quality_db, rejected_lot, measurements(quality_db, rejected_lot, bad=2, finish_failures=2))
    assert status(quality_db, rejected_lot) == "quarantined"
    with quality_db.reading() as session:
        rejected = session.scalars(sa.select(Inspection).where(Inspection.lot_id == rejected_lot)).one()
        assert (rejected.nonconforming, rejected.critical, rejected.inspector) == (4, 0, "quinn")
        stored = session.scalar(sa.select(sa.func.count()).select_from(Measurement)
                                .where(Measurement.inspection_id == rejected.id, Measurement.conforms.is_(False)))
        assert stored == 4


def test_a_missing_measurement_refuses_the_inspection_and_changes_nothing(quality_db):
    lot = receive(quality_db, "L1")
    found = measurements(quality_db, lot)
    with pytest.raises(ValidationFailed) as refused:
        inspect(quality_db, lot, found[:-1])
    assert [(p.field, p.code) for p in refused.value.problems] == [("value", "missing")]
    assert "sample 50 of Finish" in refused.value.problems[0].message
    assert status(quality_db, lot) == "awaiting inspection"
    with quality_db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 0


def test_only_the_quality_role_inspects_and_disposes(quality_db):
    lot = receive(quality_db, "L1")
    with pytest.raises(PermissionDenied), quality_db.unit_of_work(WES) as session:
        dispositions.dispose(session, WES, lot, "release", "looks fine", DAY)
    with pytest.raises(PermissionDenied):
        inspect(quality_db, lot, measurements(quality_db, lot), actor=WES)
    assert status(quality_db, lot) == "awaiting inspection"


def quarantined(db, lot_number):
    lot = receive(db, lot_number)
    inspect(db, lot, measurements(db, lot, bad=10))
    assert status(db, lot) == "quarantined"
    return lot


def test_scrapping_a_quarantined_lot_posts_its_value_to_the_books_with_perpetual_inventory(quality_db):
    quality_db.ledger = LedgerSettings(perpetual_inventory=True)
    with quality_db.unit_of_work(SYSTEM, source="system") as session:
        install_chart(session, SYSTEM)
        open_year(session, SYSTEM, 2026)
    lot = quarantined(quality_db, "L1")
    with quality_db.unit_of_work(QUINN) as session:
        dispositions.dispose(session, QUINN, lot, "scrap", "diameter out on 10 of 50", DAY + timedelta(days=1))
    assert status(quality_db, lot) == "rejected"
    with quality_db.reading() as session:
        scrap = session.scalars(sa.select(StockMovement).where(StockMovement.reason == "scrapped")).one()
        assert (scrap.kind, scrap.quantity, scrap.value, scrap.lot_id) == ("adjustment", D(-500), D(-1000), lot)
        assert services.lot_on_hand(session, lot) == 0
        rows = {r.code: r for r in trial_balance(session, SYSTEM, DAY + timedelta(days=1)).rows}
        assert rows[ROLES["inventory"]].debit - rows[ROLES["inventory"]].credit == 0   # 1000 in, 1000 scrapped
        # posted by the engine on the officer's behalf: the audit log names the officer
        audited = session.scalars(sa.select(AuditEntry.actor).where(AuditEntry.table_name == "stock_movements",
                                                                    AuditEntry.record_id == scrap.id)).one()
        assert audited == "quinn"


def test_returning_a_lot_issues_it_back_to_its_supplier(quality_db):
    lot = quarantined(quality_db, "L1")
    with quality_db.unit_of_work(QUINN) as session:
        dispositions.dispose(session, QUINN, lot, "return", "wrong diameter", DAY)
    with quality_db.reading() as session:
        back = session.scalars(sa.select(StockMovement).where(StockMovement.kind == "issue")).one()
        assert (back.reason, back.supplier_id, back.quantity) == ("returned", quality_db.supplier_id, D(500))
    assert status(quality_db, lot) == "rejected"
    # a rejected lot may still go back to its supplier, and never out any other way
    with pytest.raises(ValidationFailed), quality_db.unit_of_work(WES) as session:
        post_movement(session, WES, Movement("issue", "sold", 1, D(1), DAY, from_location_id=1, lot_id=lot))


def test_a_released_lot_can_be_issued_and_a_reworked_one_is_inspected_again(quality_db):
    released, reworked = quarantined(quality_db, "L1"), quarantined(quality_db, "L2")
    with quality_db.unit_of_work(QUINN) as session:
        dispositions.dispose(session, QUINN, released, "release", "customer accepts the deviation", DAY)
        dispositions.dispose(session, QUINN, reworked, "rework", "re-machine the diameter", DAY)
    with quality_db.unit_of_work(WES) as session:
        post_movement(session, WES, Movement("issue", "sold", 1, D(5), DAY, from_location_id=1, lot_id=released))
    assert status(quality_db, reworked) == "awaiting inspection"
    with quality_db.reading() as session:
        state = session.scalars(sa.select(SwitchingState)).one()
        before = (state.severity, state.recent)
    assert inspect(quality_db, reworked, measurements(quality_db, reworked))
    with quality_db.reading() as session:
        again = session.scalars(sa.select(Inspection).where(Inspection.lot_id == reworked,
                                                            Inspection.original.is_(False))).one()
        assert again.accepted
        state = session.scalars(sa.select(SwitchingState)).one()
        assert (state.severity, state.recent) == before   # a re-inspection does not count for switching
    with pytest.raises(ValidationFailed) as refused, quality_db.unit_of_work(QUINN) as session:
        dispositions.dispose(session, QUINN, released, "release", "again", DAY)
    assert [(p.field, p.code) for p in refused.value.problems] == [("lot_id", "not_held")]


def test_two_rejected_lots_of_five_tighten_the_suppliers_inspection(quality_db):
    lots = [receive(quality_db, f"L{n}") for n in range(1, 4)]
    inspect(quality_db, lots[0], measurements(quality_db, lots[0], bad=10))
    inspect(quality_db, lots[1], measurements(quality_db, lots[1]))
    with quality_db.reading() as session:
        assert inspections.inspection_task(session, QUINN, lots[2]).severity == "normal"
    inspect(quality_db, lots[2], measurements(quality_db, lots[2], bad=10))
    fourth = receive(quality_db, "L4")
    with quality_db.reading() as session:
        task = inspections.inspection_task(session, QUINN, fourth)
    # Table 2-B (tightened): H is 50, AQL 2.5 Ac 2 Re 3
    assert (task.severity, task.sample_size, task.accept, task.reject) == ("tightened", 50, 2, 3)


def test_rejection_rates_and_first_pass_yield_count_original_inspections(quality_db):
    lots = [receive(quality_db, f"L{n}") for n in range(1, 5)]
    for n, lot in enumerate(lots):
        inspect(quality_db, lot, measurements(quality_db, lot, bad=10 if n == 0 else 0))
    with quality_db.reading() as session:
        [rate] = queries.rates(session, QUINN, by="supplier")
        [by_item] = queries.rates(session, QUINN, by="item")
    assert (rate.key, rate.inspected, rate.rejected, rate.rejection_rate, rate.first_pass_yield) == (
        "Bolt Supply", 4, 1, D("0.25"), D("0.75"))
    assert by_item.key == "BOLT"


def test_a_nonconformance_goes_from_open_to_closed_verified_by_someone_else(quality_db):
    lot = quarantined(quality_db, "L1")
    with quality_db.unit_of_work(QUINN) as session:
        ncr = ncrs.add_ncr(session, QUINN, {"title": "Diameter oversize", "lot_id": lot,
                                            "supplier_id": quality_db.supplier_id, "opened_on": DAY})
        ncr_id = ncr.id
        assert (ncr.status, ncr.owner, ncr.item_id) == ("open", "quinn", 1)
        ncrs.advance_ncr(session, QUINN, ncr_id, containment="lot L1 quarantined")
        ncrs.advance_ncr(session, QUINN, ncr_id, root_cause="worn die", root_cause_method="fishbone",
                         cause_category="machine")
        action = ncrs.add_action(session, QUINN, {"ncr_id": ncr_id, "description": "replace die", "owner": "wes",
                                                  "due_on": DAY + timedelta(days=14)})
        ncrs.advance_ncr(session, QUINN, ncr_id)
    with quality_db.reading() as session:
        assert [a["id"] for a in queries.overdue_actions(session, QUINN, DAY + timedelta(days=15))] == [action.id]
        assert queries.overdue_actions(session, QUINN, DAY + timedelta(days=14)) == []
        ages = queries.open_ncrs_by_age(session, QUINN, DAY + timedelta(days=45))
        assert [n["id"] for n in ages["31-60 days"]] == [ncr_id]
    with pytest.raises(ValidationFailed) as refused, quality_db.unit_of_work(VIC) as session:
        ncrs.advance_ncr(session, VIC, ncr_id)
    assert [(p.field, p.code) for p in refused.value.problems] == [("status", "workflow")]
    with quality_db.unit_of_work(QUINN) as session:
        ncrs.update_action(session, QUINN, action.id, None, {"status": "done"})
    with pytest.raises(ValidationFailed) as refused, quality_db.unit_of_work(QUINN) as session:
        ncrs.advance_ncr(session, QUINN, ncr_id)        # the owner cannot verify their own NCR
    assert [(p.field, p.code) for p in refused.value.problems] == [("verifier", "verifier")]
    with quality_db.unit_of_work(VIC) as session:
        closed = ncrs.advance_ncr(session, VIC, ncr_id)
        assert (closed.status, closed.verifier) == ("closed", "vic")


def test_process_capability_reads_the_measurements_in_order(quality_db):
    with quality_db.unit_of_work(SYSTEM, source="system") as session:
        glue = session.scalars(sa.select(Item.id).where(Item.sku == "GLUE")).one()
        services.add_plan(session, SYSTEM, {"code": "IP-GLUE", "item_id": glue, "sampling": "fixed",
                                            "sample_size": 4, "accept_number": 0},
                          [{"name": "Viscosity", "lower_limit": D("9.5"), "upper_limit": D("10.5")}])
    # the capability tests' hand-computed example: 5 subgroups of 4, R-bar 0.32, Cp 1.072, Cpk 1.051
    subgroups = [["10.1", "9.9", "10.0", "10.2"], ["9.8", "10.0", "10.1", "9.9"], ["10.0", "10.3", "9.9", "10.2"],
                 ["9.9", "10.0", "9.7", "10.0"], ["10.2", "10.0", "10.1", "9.9"]]
    for n, values in enumerate(subgroups, 1):
        lot = receive(quality_db, f"G{n}", quantity=20, sku="GLUE", on=DAY + timedelta(days=n))
        with quality_db.reading() as session:
            [viscosity] = inspections.inspection_task(session, QUINN, lot).characteristics
        inspect(quality_db, lot, [Found(s, viscosity.id, value=D(v)) for s, v in enumerate(values, 1)],
                on=DAY + timedelta(days=n))
    with quality_db.reading() as session:
        [found] = queries.capability(session, QUINN, "GLUE")
    assert found.chart.kind == "xbar-r" and len(found.chart.points) == 5
    assert found.capability.count == 20
    three = D("0.001")
    assert (found.capability.cp.quantize(three), found.capability.cpk.quantize(three)) == (D("1.072"), D("1.051"))


def test_five_lots_rejected_on_tightened_inspection_discontinue_it_until_resumed(quality_db):
    for n in range(1, 8):            # 2 rejected on normal tighten it; 5 more on tightened discontinue it
        lot = receive(quality_db, f"L{n}")
        inspect(quality_db, lot, measurements(quality_db, lot, bad=10))
    held = receive(quality_db, "L8")
    with quality_db.reading() as session:
        assert inspections.inspection_task(session, QUINN, held).severity == "discontinued"
    with pytest.raises(ValidationFailed) as refused:
        inspect(quality_db, held, measurements(quality_db, held))
    assert [(p.field, p.code) for p in refused.value.problems] == [("lot_id", "discontinued")]
    with quality_db.unit_of_work(QUINN) as session:
        plan = services.plan_named(session, "IP-BOLT")
        inspections.resume_inspection(session, QUINN, plan.id, quality_db.supplier_id)
    with quality_db.reading() as session:
        assert inspections.inspection_task(session, QUINN, held).severity == "tightened"
    assert inspect(quality_db, held, measurements(quality_db, held))


def test_a_plan_with_nothing_to_check_accepts_no_lot(quality_db):
    with quality_db.unit_of_work(SYSTEM, source="system") as session:
        glue = session.scalars(sa.select(Item.id).where(Item.sku == "GLUE")).one()
        services.add_plan(session, SYSTEM, {"code": "IP-GLUE", "item_id": glue, "aql": D("1.0")})
    lot = receive(quality_db, "G1", sku="GLUE")
    assert status(quality_db, lot) == "awaiting inspection"
    with pytest.raises(ValidationFailed) as refused:
        inspect(quality_db, lot, [])
    assert [(p.field, p.code) for p in refused.value.problems] == [("lot_id", "no_characteristics")]
    assert status(quality_db, lot) == "awaiting inspection"
