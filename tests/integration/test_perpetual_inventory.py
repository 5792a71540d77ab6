"""Perpetual inventory on SQLite and PostgreSQL: with `ledger.perpetual_inventory` on, every
stock movement's value reaches the books, so the inventory account equals the stock
valuation on any date, whichever door the movements came through."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.config import LedgerSettings
from engine.errors import ValidationFailed
from engine.inventory import queries
from engine.inventory.batch import post_movements
from engine.inventory.models import Item, Location
from engine.inventory.services import Movement, post_movement, reverse_movement
from engine.ledger.chart import ROLES, install_chart
from engine.ledger.reports import trial_balance
from engine.ledger.services import open_year
from engine.security.roles import SYSTEM
from tests.conftest import actor_with

WES = actor_with("warehouse", login="wes")


@pytest.fixture
def perpetual(db):
    db.ledger = LedgerSettings(perpetual_inventory=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        install_chart(session, SYSTEM)
        open_year(session, SYSTEM, 2026)
        session.add_all([Location(code="MAIN", name="Main", kind="warehouse"),
                         Location(code="EAST", name="East", kind="warehouse"),
                         Item(sku="CAP-1", name="Condenser", valuation="fifo"),
                         Item(sku="BOLT-8", name="Bolt", valuation="average")])
    return db


def inventory_account(db, on):
    with db.reading() as session:
        rows = {r.code: r for r in trial_balance(session, SYSTEM, on).rows}
        value = sum((v.value for v in queries.stock_value(session, SYSTEM, on)), D(0))
    row = rows.get(ROLES["inventory"])
    return (row.debit - row.credit if row else D(0)), value


def test_the_inventory_account_equals_the_stock_valuation_on_every_date(perpetual):
    days = [date(2026, 3, d) for d in (1, 2, 3, 4)]
    single = [Movement("receipt", "received", 1, D(100), days[0], to_location_id=1, unit_cost=D(10)),
              Movement("receipt", "received", 1, D(200), days[0], to_location_id=1, unit_cost=D(11)),
              Movement("issue", "sold", 1, D(150), days[1], from_location_id=1),
              Movement("transfer", "moved", 1, D(50), days[1], from_location_id=1, to_location_id=2),
              Movement("adjustment", "damaged", 1, D(-3), days[2], from_location_id=2)]
    for request in single:
        with perpetual.unit_of_work(WES) as session:  # a clerk, who may not write the ledger
            post_movement(session, WES, request)
    batch = [Movement("receipt", "received", 2, D(10), days[2], to_location_id=1, unit_cost=D("0.3")),
             Movement("receipt", "received", 2, D(20), days[2], to_location_id=1, unit_cost=D("0.45")),
             Movement("issue", "consumed", 2, D(7), days[3], from_location_id=1, cost_centre="Workshop")]
    with perpetual.unit_of_work(WES) as session:
        post_movements(session, WES, batch)
    for day in days:
        books, stock = inventory_account(perpetual, day)
        assert books == stock, day
    # FIFO: 3200 in, 1550 out (100 @ 10, 50 @ 11), 33 damaged (3 @ 11); average: 12 in, 7 @ 0.4 out
    assert inventory_account(perpetual, days[-1])[0] == D(3200) - D(1550) - D(33) + D(12) - D("2.8")


def test_with_perpetual_inventory_stock_cannot_move_in_a_closed_or_missing_period(perpetual):
    with pytest.raises(ValidationFailed, match="no fiscal period for 2027-01-04"):
        with perpetual.unit_of_work(WES) as session:
            post_movement(session, WES, Movement("receipt", "received", 1, D(1), date(2027, 1, 4), to_location_id=1,
                                                 unit_cost=D(1)))


def test_a_reversed_receipt_clears_goods_received_and_a_reversed_issue_the_cost_of_goods(perpetual):
    """A mistake taken back leaves no trace on stock adjustments: the reversal undoes the very
    accounts its original was booked to."""
    on = date(2026, 4, 2)
    with perpetual.unit_of_work(WES) as session:
        wrong = post_movement(session, WES, Movement("receipt", "received", 1, D(40), on, to_location_id=1,
                                                     unit_cost=D("2.5"))).id
        post_movement(session, WES, Movement("receipt", "received", 2, D(10), on, to_location_id=1,
                                             unit_cost=D("0.5")))
        sold = post_movement(session, WES, Movement("issue", "sold", 2, D(4), on, from_location_id=1)).id
    with perpetual.unit_of_work(WES) as session:
        reverse_movement(session, WES, wrong, on)
        reverse_movement(session, WES, sold, on)
    with perpetual.reading() as session:
        touched = {r.code: r.debit - r.credit for r in trial_balance(session, SYSTEM, on).rows}
    assert ROLES["stock_adjustments"] not in touched
    assert touched[ROLES["inventory"]] == D(5) == -touched[ROLES["received_not_invoiced"]]
    assert touched.get(ROLES["cost_of_goods"], D(0)) == 0
    assert inventory_account(perpetual, on) == (D(5), D(5))
