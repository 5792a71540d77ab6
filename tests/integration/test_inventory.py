"""Stock postings on a real SQLite file and a real PostgreSQL: balances, costing, lots,
reversals, stock takes, the queries, and two writers racing for the last units."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.db.audit import AuditEntry
from engine.errors import ValidationFailed
from engine.inventory import queries
from engine.inventory.models import Item, Location, Lot, StockMovement
from engine.inventory.services import (
    Count,
    Movement,
    post_movement,
    post_stock_take,
    reverse_movement,
)
from tests.conftest import actor_with, at_once

CLERK = actor_with("warehouse", login="wes")


@pytest.fixture
def stock_db(db):
    """Two warehouses (one with a bin), a FIFO item, an average item, a lot-tracked item."""
    with db.unit_of_work(CLERK) as session:
        main = Location(code="MAIN", name="Main warehouse", kind="warehouse")
        east = Location(code="EAST", name="East warehouse", kind="warehouse")
        session.add_all([main, east])
        session.flush()
        session.add(Location(code="MAIN-A1", name="Bin A1", kind="bin", warehouse_id=main.id))
        session.add_all([
            Item(sku="CAP-1", name="Astro condenser", valuation="fifo", reorder_point=D(60), reorder_quantity=D(200)),
            Item(sku="BOLT-8", name="Bolt M8", valuation="average"),
            Item(sku="GLUE", name="Epoxy glue", valuation="fifo", lot_tracked=True),
        ])
    return db


def ids(session, sku, *codes):
    item = session.scalars(sa.select(Item).where(Item.sku == sku)).one()
    return item.id, *(session.scalars(sa.select(Location.id).where(Location.code == c)).one() for c in codes)


def post(db, kind, reason, sku, quantity, on, frm=None, to=None, **extra):
    with db.unit_of_work(CLERK) as session:
        item, *places = ids(session, sku, *(c for c in (frm, to) if c))
        places = iter(places)
        request = Movement(kind, reason, item, D(quantity), on, from_location_id=next(places) if frm else None,
                           to_location_id=next(places) if to else None, **extra)
        return post_movement(session, CLERK, request).id


def houston_electronics(db, sku):
    """The textbook's purchases and sale (see tests/unit/test_valuation.py)."""
    post(db, "receipt", "received", sku, 100, date(2026, 1, 1), to="MAIN", unit_cost=D(10))
    post(db, "receipt", "received", sku, 200, date(2026, 4, 15), to="MAIN", unit_cost=D(11))
    post(db, "receipt", "received", sku, 300, date(2026, 8, 24), to="MAIN", unit_cost=D(12))
    post(db, "issue", "sold", sku, 550, date(2026, 9, 10), frm="MAIN")
    post(db, "receipt", "received", sku, 400, date(2026, 11, 27), to="MAIN", unit_cost=D(13))


def value_of(db, sku, as_of):
    with db.reading() as session:
        return next((v for v in queries.stock_value(session, CLERK, as_of) if v.sku == sku), None)


def test_fifo_and_moving_average_postings_equal_the_textbook(stock_db):
    houston_electronics(stock_db, "CAP-1")
    houston_electronics(stock_db, "BOLT-8")
    fifo, average = value_of(stock_db, "CAP-1", date(2026, 12, 31)), value_of(stock_db, "BOLT-8", date(2026, 12, 31))
    assert (fifo.quantity, fifo.value) == (D(450), D(5800))
    assert average.quantity == D(450) and average.value.quantize(D(1)) == D(5767)
    with stock_db.reading() as session:
        sale = session.scalars(sa.select(StockMovement).where(StockMovement.kind == "issue")
                               .order_by(StockMovement.id)).all()
    assert [m.value for m in sale] == [D(-6200), D("-6233.3333")]
    # value as of any date: before the sale, after it
    assert value_of(stock_db, "CAP-1", date(2026, 9, 9)).value == D(6800)
    assert value_of(stock_db, "CAP-1", date(2026, 9, 10)).value == D(600)


def test_stock_never_goes_below_zero_and_the_refusal_says_what_is_there(stock_db):
    post(stock_db, "receipt", "received", "BOLT-8", 5, date(2026, 3, 1), to="MAIN", unit_cost=D("0.25"))
    with pytest.raises(ValidationFailed) as refused:
        post(stock_db, "issue", "issued", "BOLT-8", 6, date(2026, 3, 2), frm="MAIN")
    assert "not enough BOLT-8 at MAIN: 5 on hand, 6 wanted" in str(refused.value)
    with pytest.raises(ValidationFailed):
        post(stock_db, "transfer", "moved", "BOLT-8", 1, date(2026, 3, 2), frm="EAST", to="MAIN")
    with stock_db.reading() as session:
        [held] = queries.on_hand(session, CLERK, sku="BOLT-8")
        assert (held.location, held.quantity) == ("MAIN", D(5))
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1


def test_transfers_move_stock_between_places_and_keep_its_value(stock_db):
    post(stock_db, "receipt", "received", "CAP-1", 10, date(2026, 3, 1), to="MAIN", unit_cost=D(10))
    post(stock_db, "transfer", "moved", "CAP-1", 4, date(2026, 3, 2), frm="MAIN", to="MAIN-A1")
    with stock_db.reading() as session:
        assert [(h.location, h.quantity) for h in queries.on_hand(session, CLERK, sku="CAP-1")] == [
            ("MAIN", D(6)), ("MAIN-A1", D(4))]
        assert [h.location for h in queries.on_hand(session, CLERK, location="MAIN")] == ["MAIN", "MAIN-A1"]
    assert value_of(stock_db, "CAP-1", date(2026, 3, 2)).value == D(100)


def test_a_lot_that_is_not_available_cannot_be_issued(stock_db):
    with stock_db.unit_of_work(CLERK) as session:
        glue, = ids(session, "GLUE")
        session.add(Lot(item_id=glue, lot_number="L1", status="quarantined"))
    with stock_db.reading() as session:
        lot = session.scalars(sa.select(Lot.id)).one()
    post(stock_db, "receipt", "received", "GLUE", 3, date(2026, 3, 1), to="MAIN", unit_cost=D(4), lot_id=lot)
    with pytest.raises(ValidationFailed, match="lot L1 of GLUE is quarantined"):
        post(stock_db, "issue", "issued", "GLUE", 1, date(2026, 3, 2), frm="MAIN", lot_id=lot)
    with stock_db.unit_of_work(CLERK) as session:
        session.add(Lot(item_id=glue, lot_number="L2", expires_on=date(2026, 3, 31)))
    with stock_db.reading() as session:
        old = session.scalars(sa.select(Lot.id).where(Lot.lot_number == "L2")).one()
    post(stock_db, "receipt", "received", "GLUE", 3, date(2026, 3, 1), to="MAIN", unit_cost=D(4), lot_id=old)
    post(stock_db, "issue", "issued", "GLUE", 1, date(2026, 3, 31), frm="MAIN", lot_id=old)
    with pytest.raises(ValidationFailed, match="expired on 2026-03-31"):
        post(stock_db, "issue", "issued", "GLUE", 1, date(2026, 4, 1), frm="MAIN", lot_id=old)
    with pytest.raises(ValidationFailed, match="tracked by lot"):
        post(stock_db, "receipt", "received", "GLUE", 3, date(2026, 3, 1), to="MAIN", unit_cost=D(4))


def test_posted_movements_cannot_be_changed_and_a_reversal_undoes_one(stock_db):
    received = post(stock_db, "receipt", "received", "CAP-1", 10, date(2026, 3, 1), to="MAIN", unit_cost=D(10))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with stock_db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE stock_movements SET quantity = 1"))
    with stock_db.unit_of_work(CLERK) as session:
        reverse_movement(session, CLERK, received, date(2026, 3, 3))
    with stock_db.reading() as session:
        assert queries.on_hand(session, CLERK, sku="CAP-1") == []
    assert value_of(stock_db, "CAP-1", date(2026, 3, 3)) is None


def test_a_stock_take_posts_counted_adjustments_for_the_differences(stock_db):
    post(stock_db, "receipt", "received", "BOLT-8", 10, date(2026, 3, 1), to="MAIN", unit_cost=D(2))
    post(stock_db, "receipt", "received", "CAP-1", 5, date(2026, 3, 1), to="MAIN", unit_cost=D(10))
    with stock_db.unit_of_work(CLERK) as session:
        bolt, main = ids(session, "BOLT-8", "MAIN")
        cap, = ids(session, "CAP-1")
        lines = post_stock_take(session, CLERK, [Count(bolt, main, D(7)), Count(cap, main, D(5))], date(2026, 3, 31))
        assert [(c.system_quantity, c.counted) for c in lines] == [(D(5), D(5)), (D(10), D(7))]
        [adjustment] = [session.get(StockMovement, c.movement_id) for c in lines if c.movement_id]
        assert (adjustment.reason, adjustment.quantity, adjustment.value) == ("counted", D(-3), D(-6))


def test_the_reorder_list_names_items_at_or_below_their_point(stock_db):
    post(stock_db, "receipt", "received", "CAP-1", 60, date(2026, 3, 1), to="MAIN", unit_cost=D(10))
    with stock_db.reading() as session:
        [row] = queries.reorder_list(session, CLERK)
    assert (row.sku, row.on_hand, row.suggested) == ("CAP-1", D(60), D(200))
    post(stock_db, "receipt", "received", "CAP-1", 1, date(2026, 3, 2), to="MAIN", unit_cost=D(10))
    with stock_db.reading() as session:
        assert queries.reorder_list(session, CLERK) == []


def test_two_writers_issuing_the_last_units_at_once_one_wins(stock_db):
    """Two real connections, each in its own transaction, both wanting the last 5 units: the
    database's locks let exactly one through, and stock never goes below zero."""
    post(stock_db, "receipt", "received", "BOLT-8", 5, date(2026, 3, 1), to="MAIN", unit_cost=D(1))
    outcomes = at_once(lambda: post(stock_db, "issue", "issued", "BOLT-8", 5, date(2026, 3, 2), frm="MAIN") and "posted",
                       refusal=ValidationFailed)
    assert outcomes == ["posted", "quantity: not enough BOLT-8 at MAIN: 0 on hand, 5 wanted; stock never goes below zero"]
    with stock_db.reading() as session:
        assert queries.on_hand(session, CLERK, sku="BOLT-8") == []
        assert session.scalar(sa.select(sa.func.count()).where(StockMovement.kind == "issue")) == 1


def test_a_batch_posts_exactly_what_posting_one_by_one_would(db, tmp_path):
    """The same random day of receipts, issues, transfers and adjustments, posted one by one
    into one database and as one batch into another: every figure must agree."""
    import random

    from engine.config import Settings
    from engine.db.session import Database
    from engine.inventory.batch import post_movements
    from engine.inventory.models import CostLayer, ItemCost, StockBalance

    other = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'batch.db'}"), create=True)
    rng = random.Random(4)
    setups = []
    for target in (db, other):
        with target.unit_of_work(CLERK) as session:
            session.add_all([Location(code=c, name=c, kind="warehouse") for c in ("A", "B")])
            session.add_all([Item(sku=f"I{n}", name=f"Item {n}", valuation=("fifo", "average")[n % 2],
                                  standard_cost=D("1.5")) for n in range(4)])
        setups.append(target)
    held = {}
    requests = []
    for _ in range(120):
        item, where = rng.randint(1, 4), rng.randint(1, 2)
        on = date(2026, 1, 1) + timedelta(days=rng.randint(0, 60))  # back-dated too: FIFO order is by date
        stock = held.get((item, where), D(0))
        roll = rng.random()
        if roll < 0.45 or stock == 0:
            quantity = D(rng.randint(1, 20))
            requests.append(Movement("receipt", "received", item, quantity, on, to_location_id=where,
                                     unit_cost=D(rng.randint(100, 999)) / 100))
            held[(item, where)] = stock + quantity
        elif roll < 0.8:
            quantity = D(rng.randint(1, int(stock)))
            requests.append(Movement("issue", "issued", item, quantity, on, from_location_id=where))
            held[(item, where)] = stock - quantity
        elif roll < 0.9:
            quantity = D(rng.randint(1, int(stock)))
            requests.append(Movement("transfer", "moved", item, quantity, on, from_location_id=where,
                                     to_location_id=3 - where))
            held[(item, where)] = stock - quantity
            held[(item, 3 - where)] = held.get((item, 3 - where), D(0)) + quantity
        else:
            change = D(rng.choice([-1, 1]))
            requests.append(Movement("adjustment", "found" if change > 0 else "damaged", item, change, on,
                                     from_location_id=where if change < 0 else None,
                                     to_location_id=where if change > 0 else None))
            held[(item, where)] = stock + change
    for request in requests:
        with db.unit_of_work(CLERK) as session:
            post_movement(session, CLERK, request)
    with other.unit_of_work(CLERK) as session:
        post_movements(session, CLERK, requests)

    def figures(target):
        with target.reading() as session:
            return (session.execute(sa.select(StockMovement.id, StockMovement.value).order_by(StockMovement.id)).all(),
                    session.execute(sa.select(StockBalance.item_id, StockBalance.location_id, StockBalance.quantity)
                                    .order_by(StockBalance.item_id, StockBalance.location_id)).all(),
                    session.execute(sa.select(ItemCost.item_id, ItemCost.quantity, ItemCost.value)
                                    .order_by(ItemCost.item_id)).all(),
                    session.execute(sa.select(CostLayer.item_id, CostLayer.received_on, CostLayer.remaining,
                                              CostLayer.unit_cost)
                                    .order_by(CostLayer.item_id, CostLayer.received_on, CostLayer.id)).all())

    one_by_one, batch = figures(db), figures(other)
    for name, a, b in zip(("values", "balances", "costs", "layers"), one_by_one, batch, strict=True):
        assert [tuple(r) for r in a] == [tuple(r) for r in b], name
    with other.reading() as session:
        entries = session.scalar(sa.select(sa.func.count()).where(AuditEntry.table_name == "stock_movements"))
    assert entries == len(requests)
    other.dispose()


def test_a_batch_reports_every_refused_movement_and_posts_none(stock_db):
    from engine.inventory.batch import MovementsRefused, post_movements

    with stock_db.unit_of_work(CLERK) as session:
        bolt, main = ids(session, "BOLT-8", "MAIN")
        requests = [Movement("receipt", "received", bolt, D(2), date(2026, 3, 1), to_location_id=main, unit_cost=D(1)),
                    Movement("issue", "issued", bolt, D(3), date(2026, 3, 2), from_location_id=main),
                    Movement("issue", "received", bolt, D(1), date(2026, 3, 2), from_location_id=main)]
        with pytest.raises(MovementsRefused) as refused:
            post_movements(session, CLERK, requests)
    assert sorted(refused.value.refused) == [1, 2]
    assert "2 on hand, 3 wanted" in refused.value.refused[1][0].message
    with stock_db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 0


def test_reversals_mirror_the_original_exactly_and_only_once(stock_db):
    """Reversing a FIFO issue brings the stock back at exactly what it cost (5/3 a unit is no
    problem); reversing a FIFO receipt takes its own layer out; nothing is reversed twice."""
    post(stock_db, "receipt", "received", "CAP-1", 1, date(2026, 3, 1), to="MAIN", unit_cost=D(1))
    post(stock_db, "receipt", "received", "CAP-1", 2, date(2026, 3, 2), to="MAIN", unit_cost=D(2))
    issue = post(stock_db, "issue", "issued", "CAP-1", 3, date(2026, 3, 3), frm="MAIN")
    with stock_db.unit_of_work(CLERK) as session:
        assert reverse_movement(session, CLERK, issue, date(2026, 3, 4)).value == D(5)
    with pytest.raises(ValidationFailed, match="already reversed"):
        with stock_db.unit_of_work(CLERK) as session:
            reverse_movement(session, CLERK, issue, date(2026, 3, 5))
    assert value_of(stock_db, "CAP-1", date(2026, 3, 4)).value == D(5)

    first = post(stock_db, "receipt", "received", "BOLT-8", 10, date(2026, 3, 1), to="EAST", unit_cost=D(10))
    post(stock_db, "receipt", "received", "BOLT-8", 10, date(2026, 3, 2), to="EAST", unit_cost=D(12))
    with stock_db.unit_of_work(CLERK) as session:
        assert reverse_movement(session, CLERK, first, date(2026, 3, 3)).value == D(-100)
    assert value_of(stock_db, "BOLT-8", date(2026, 3, 3)).value == D(120)

    late = post(stock_db, "receipt", "received", "CAP-1", 4, date(2026, 3, 6), to="EAST", unit_cost=D(12))
    with stock_db.unit_of_work(CLERK) as session:
        assert reverse_movement(session, CLERK, late, date(2026, 3, 7)).value == D(-48)
    assert value_of(stock_db, "CAP-1", date(2026, 3, 7)).value == D(5)   # the 12-a-unit layer is gone


def test_free_stock_can_be_issued_and_losses_go_down_only(stock_db):
    post(stock_db, "receipt", "received", "CAP-1", 2, date(2026, 3, 1), to="MAIN", unit_cost=D(0))
    post(stock_db, "issue", "issued", "CAP-1", 2, date(2026, 3, 2), frm="MAIN")
    with pytest.raises(ValidationFailed, match="damaged stock is a loss"):
        post(stock_db, "adjustment", "damaged", "CAP-1", 1, date(2026, 3, 2), to="MAIN")
