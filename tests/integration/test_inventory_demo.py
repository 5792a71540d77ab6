"""The demo's stock, built on SQLite and PostgreSQL: a year of movements that the services
accepted, balances that never went below zero, a reorder list with something on it, and FIFO
values that agree with what the cost layers hold."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

import sqlalchemy as sa

from engine.demo import build_demo
from engine.inventory import queries
from engine.inventory.demo import END, START
from engine.inventory.models import CostLayer, Item, Location, StockBalance, StockMovement
from engine.security.roles import SYSTEM


def test_the_demo_builds_a_year_of_stock_that_adds_up(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        created = build_demo(session).created
    assert 190 <= created["items"] <= 210 and created["locations"] == 13
    assert 5_000 <= created["stock movements"] <= 8_000

    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Item)) == created["items"]
        kinds = session.execute(sa.select(Location.kind, sa.func.count()).group_by(Location.kind)).all()
        assert dict(kinds) == {"warehouse": 3, "bin": 10}
        movements = session.execute(sa.select(StockMovement.item_id, StockMovement.kind, StockMovement.reason,
                                              StockMovement.quantity, StockMovement.moved_on)
                                    .order_by(StockMovement.moved_on, StockMovement.id)).all()
        assert len(movements) == created["stock movements"]
        first, last = movements[0].moved_on, movements[-1].moved_on
        assert (first, last) == (START, END) and (last - first).days >= 360
        reasons = {m.reason for m in movements}
        assert {"received", "sold", "moved", "counted"} <= reasons and reasons & {"damaged", "scrapped"}

        # Replaying the ledger in date order, no item's stock ever went below zero.
        running: dict[int, D] = defaultdict(D)
        for m in movements:
            running[m.item_id] += {"receipt": m.quantity, "issue": -m.quantity, "transfer": D(0)}.get(m.kind, m.quantity)
            assert running[m.item_id] >= 0, m
        assert session.scalar(sa.select(sa.func.min(StockBalance.quantity))) >= 0

        assert len(queries.reorder_list(session, SYSTEM)) >= 10

        # FIFO items: the ledger's value on the last day is exactly what the cost layers hold.
        ledger = {v.sku: v.value for v in queries.stock_value(session, SYSTEM, END) if v.valuation == "fifo"}
        layers: dict[str, D] = defaultdict(D)
        for sku, remaining, unit_cost in session.execute(
                sa.select(Item.sku, CostLayer.remaining, CostLayer.unit_cost)
                .join(Item, Item.id == CostLayer.item_id).where(Item.valuation == "fifo", CostLayer.remaining > 0)):
            layers[sku] += remaining * unit_cost
        assert len(ledger) > 100
        assert ledger == dict(layers)
        assert sum(ledger.values()) == sum(layers.values()) > 0

