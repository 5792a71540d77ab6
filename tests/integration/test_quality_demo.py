"""The demo's quality records, built once on SQLite (the whole demo runs on PostgreSQL too, in
the stock and books demo tests): plans for about a quarter of the items, a year of inspections
of the lots as they were received with about one lot in twenty rejected, a supplier whose bar
diameter drifts out of control while another's stays capable, rejected lots disposed of or
still in quarantine, lots still waiting at the year's end, and nonconformances in every state
with actions overdue."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.db.session import Database
from engine.demo import build_demo
from engine.errors import ValidationFailed
from engine.inventory.demo import END, START
from engine.inventory.models import Item, Lot, StockMovement
from engine.inventory.services import Movement, post_movement
from engine.quality import queries
from engine.quality.demo import DRIFT, STEADY
from engine.quality.models import Action, Characteristic, Disposition, Inspection, InspectionPlan
from engine.security.roles import SYSTEM
from engine.security.users import resolve_actor

MIDYEAR = START + (END - START) / 2


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The whole demo, once for the module; (database, what the demo says it made)."""
    path = tmp_path_factory.mktemp("quality-demo") / "backoffice.db"
    db = Database.open(Settings(database_url=f"sqlite:///{path}"), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        created = build_demo(session).created
    yield db, created
    db.dispose()


@pytest.fixture
def quinn(demo):
    with demo[0].reading() as session:
        return resolve_actor(session, "quinn")


def _count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def test_a_quarter_of_the_items_have_a_plan_of_one_to_three_characteristics(demo, quinn):
    db, created = demo
    with db.reading() as session:
        plans = queries.plans(session, quinn)
        items = _count(session, Item)
        assert created["inspection plans"] == len(plans)
        assert 0.20 <= len(plans) / items <= 0.30
        assert all(1 <= p["characteristics"] <= 3 and p["active"] for p in plans)
        assert all(lot_tracked for lot_tracked in session.scalars(
            sa.select(Item.lot_tracked).join(InspectionPlan, InspectionPlan.item_id == Item.id)))
        methods = Counter(p["sampling"] for p in plans)
        assert methods["standard"] > 40 and methods["fixed"] == 2
        assert {p["aql"] for p in plans if p["sampling"] == "standard"} == {Decimal("1.0"), Decimal("2.5"), Decimal("4.0")}
        assert {p["level"] for p in plans} == {"II"}
        assert {p["sku"] for p in plans if p["sampling"] == "fixed"} == {DRIFT[0], STEADY[0]}
        assert all(p["sample_size"] == 5 and p["accept_number"] == 0 for p in plans if p["sampling"] == "fixed")
        classes = Counter(session.execute(sa.select(Characteristic.kind, Characteristic.defect_class)).all())
        assert classes["attribute", "critical"] >= 3 and classes["attribute", "minor"] >= 3
        assert classes["measured", "major"] >= len(plans)


def test_a_year_of_lots_is_inspected_as_received_and_about_one_in_twenty_rejected(demo, quinn):
    db, created = demo
    with db.reading() as session:
        by_item = queries.rates(session, quinn, by="item")
        inspected, rejected = sum(r.inspected for r in by_item), sum(r.rejected for r in by_item)
        assert inspected > 200 and 0.03 <= rejected / inspected <= 0.08
        assert created["inspections"] == _count(session, Inspection)
        first, last = session.execute(sa.select(sa.func.min(Inspection.inspected_on),
                                                sa.func.max(Inspection.inspected_on))).one()
        assert first - START < timedelta(days=7) and END - last < timedelta(days=7)
        # Every lot received of a planned item was held and inspected, save those still waiting.
        planned = sa.select(InspectionPlan.item_id)
        lots = session.execute(sa.select(Lot.id, Lot.status).where(Lot.item_id.in_(planned))).all()
        inspected_lots = set(session.scalars(sa.select(Inspection.lot_id).where(Inspection.original.is_(True))))
        assert {status for lot, status in lots if lot not in inspected_lots} == {"awaiting inspection"}
        # ... and none of it left stock before its inspection.
        for lot, status in lots:
            inspected_on = session.scalar(sa.select(sa.func.min(Inspection.inspected_on)).where(Inspection.lot_id == lot))
            left = session.scalar(sa.select(sa.func.min(StockMovement.moved_on)).where(
                StockMovement.lot_id == lot, StockMovement.kind.in_(("issue", "transfer"))))
            assert left is None or (inspected_on is not None and left >= inspected_on), (lot, status)


def test_the_drifting_supplier_goes_out_of_control_in_the_second_half_and_another_stays_capable(demo, quinn):
    db, _ = demo
    with db.reading() as session:
        drifting, steady = (session.scalar(sa.select(Item.preferred_supplier_id).where(Item.sku == sku))
                            for sku in (DRIFT[0], STEADY[0]))
        assert drifting != steady
        [drift] = queries.capability(session, quinn, DRIFT[0], DRIFT[1], supplier_id=drifting)
        assert drift.chart.kind == "xbar-r" and len(drift.chart.points) >= 6
        assert drift.capability.cpk < 1
        dates = session.scalars(sa.select(Inspection.inspected_on).join(Lot, Lot.id == Inspection.lot_id)
                                .join(Item, Item.id == Lot.item_id)
                                .where(Item.sku == DRIFT[0], Inspection.supplier_id == drifting,
                                       Inspection.original.is_(True))   # the chart's: not re-inspections
                                .order_by(Inspection.inspected_on, Inspection.id)).all()
        assert len(dates) == len(drift.chart.points)
        late = [p for p in drift.chart.out_of_control if dates[p.index - 1] > MIDYEAR]
        assert any(1 in p.rules and p.value > drift.chart.upper for p in late)   # above the upper control limit
        assert drift.chart.points[-1].value > drift.chart.centre
        [calm] = queries.capability(session, quinn, STEADY[0], STEADY[1], supplier_id=steady)
        assert calm.chart.kind == "xbar-r" and calm.capability.cpk > 1.33
        lowest = {row["supplier"]: row["lowest_cpk"] for row in queries.supplier_quality(session, quinn)}
        assert lowest[drift.supplier] < 1


def test_rejected_lots_are_disposed_of_but_the_drifting_suppliers_last_wait_in_quarantine(demo, quinn):
    db, _ = demo
    with db.reading() as session:
        decisions = Counter(session.scalars(sa.select(Disposition.decision)))
        assert decisions.keys() == {"return", "scrap", "rework", "release"}
        reworked = session.scalars(sa.select(Disposition.lot_id).where(Disposition.decision == "rework")).all()
        again = session.scalars(sa.select(Inspection.lot_id).where(Inspection.original.is_(False))).all()
        assert set(reworked) == set(again)
        held = queries.held_lots(session, quinn)
        quarantined = [h for h in held if h["status"] == "quarantined"]
        assert 1 <= len(quarantined) <= 2 and {h["sku"] for h in quarantined} == {DRIFT[0]}
        assert 1 <= sum(h["status"] == "awaiting inspection" for h in held) <= 5
        assert all(h["on_hand"] > 0 for h in held)
        # what was scrapped or returned left stock through the dispositions' movements
        for lot in session.scalars(sa.select(Disposition.lot_id).where(Disposition.decision.in_(("scrap", "return")))):
            assert session.get(Lot, lot).status == "rejected"
            assert session.scalar(sa.select(sa.func.sum(StockMovement.quantity)).where(
                StockMovement.lot_id == lot, StockMovement.reason.in_(("scrapped", "returned")))) != 0


def test_a_held_lot_cannot_be_issued(demo, quinn):
    db, _ = demo
    with db.reading() as session:
        held = queries.held_lots(session, quinn)
        wes = resolve_actor(session, "wes")
        places = {h["lot_id"]: session.scalar(sa.select(StockMovement.to_location_id).where(
            StockMovement.lot_id == h["lot_id"], StockMovement.kind == "receipt")) for h in held}
        items = {h["lot_id"]: session.get(Lot, h["lot_id"]).item_id for h in held}
    for status in ("quarantined", "awaiting inspection"):
        lot = next(h["lot_id"] for h in held if h["status"] == status)
        with pytest.raises(ValidationFailed, match=f"is {status}: it cannot be issued"):
            with db.unit_of_work(wes) as session:
                post_movement(session, wes, Movement("issue", "consumed", items[lot], Decimal(1), END,
                                                     from_location_id=places[lot], lot_id=lot, cost_centre="Production"))


def test_nonconformances_in_every_state_with_actions_overdue_and_one_closed_by_another(demo, quinn):
    db, created = demo
    with db.reading() as session:
        every = queries.ncrs(session, quinn)
        assert created["nonconformances"] == len(every) >= 5
        assert created["ncr actions"] == _count(session, Action)
        assert {n["status"] for n in every} == {"open", "investigating", "action", "verification", "closed"}
        assert len(queries.ncrs(session, quinn, open_only=True)) >= 4
        assert all(START <= n["opened_on"] <= END for n in every)
        assert any(n["customer_id"] for n in every) and any(n["supplier_id"] for n in every)
        [closed] = queries.ncrs(session, quinn, status="closed")
        owners = {closed["owner"], *session.scalars(sa.select(Action.owner).where(Action.ncr_id == closed["id"]))}
        assert closed["verifier"] and closed["verifier"] not in owners
        assert closed["opened_on"] < closed["closed_on"] <= END
        overdue = queries.overdue_actions(session, quinn, as_of=END)
        assert len(overdue) >= 3 and len({a["owner"] for a in overdue}) >= 2
        # overdue on the demo's today, and so on any later day (the Quality workbook's today)
        assert {a["id"] for a in queries.overdue_actions(session, quinn, as_of=max(date.today(), END))} >= \
            {a["id"] for a in overdue}
        assert _count(session, Action, Action.status == "open", Action.due_on > END) >= 1   # not due yet
