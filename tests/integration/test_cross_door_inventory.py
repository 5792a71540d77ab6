"""Inventory's bad inputs through every door: the service, `backoffice stock ...` and the
Inventory workbook's Movements sheet report the same field and code, and nothing is saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.inventory.models import StockMovement
from engine.inventory.services import (
    Movement,
    TypedMovement,
    post_movement,
    post_typed,
    reverse_movement,
)
from engine.security.roles import SYSTEM
from tests.integration.doors import Api, Case, Sheet, assert_same_at_every_door
from tests.integration.stock_records import (
    AWAITING,
    BOLT,
    CUSTOMER,
    DAY,
    EAST,
    GLUE,
    MAIN,
    OLD,
    QUARANTINED,
    RECEIVED,
    REJECTED,
    REVERSAL,
    fill_stock,
    row,
)

ON = ("--date", DAY.isoformat())


def move(kind="issue", reason="issued", item=BOLT, quantity=1, on=DAY, **ids):
    """The service call posting a movement by ids."""
    return lambda session, actor: post_movement(session, actor, Movement(kind, reason, item, D(quantity), on, **ids))


def api(action="issues", sku="BOLT-8", quantity=1, on=DAY, **values):
    """The API request posting a movement: `POST /inventory/<action>` with records by code, as
    the CLI names them."""
    return Api("POST", f"/inventory/{action}", {"sku": sku, "quantity": str(quantity), "moved_on": on.isoformat(),
                                                 **values})


def typed(**values):
    return lambda session, actor: post_typed(session, actor, TypedMovement(**values))


CASES = [
    Case("issuing more than is on hand", "wes", ("quantity", "insufficient_stock"),
         service=move(quantity=6, from_location_id=MAIN),
         cli=("stock", "issue", "BOLT-8", "6", "--from", "MAIN", *ON),
         workbook=row(quantity=6, frm=MAIN),
         api=api(quantity=6, from_location="MAIN")),
    Case("issuing from a quarantined lot", "wes", ("lot_id", "lot_unavailable"),
         service=move(item=GLUE, from_location_id=MAIN, lot_id=QUARANTINED),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", "--lot", "Q1", *ON),
         workbook=row(item=GLUE, frm=MAIN, lot=QUARANTINED),
         api=api(sku="GLUE", from_location="MAIN", lot="Q1")),
    # Quarantine at every door: a lot held by quality (awaiting inspection, quarantined) never
    # leaves stock, neither issued nor transferred out; a rejected one only goes back to its supplier.
    Case("issuing from a lot awaiting inspection", "wes", ("lot_id", "lot_unavailable"),
         service=move(item=GLUE, from_location_id=MAIN, lot_id=AWAITING),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", "--lot", "AW", *ON),
         workbook=row(item=GLUE, frm=MAIN, lot=AWAITING),
         api=api(sku="GLUE", from_location="MAIN", lot="AW")),
    Case("transferring a quarantined lot out", "wes", ("lot_id", "lot_unavailable"),
         service=move("transfer", "moved", item=GLUE, from_location_id=MAIN, to_location_id=EAST, lot_id=QUARANTINED),
         cli=("stock", "transfer", "GLUE", "1", "--from", "MAIN", "--to", "EAST", "--lot", "Q1", *ON),
         workbook=row("transfer", "moved", item=GLUE, frm=MAIN, to=EAST, lot=QUARANTINED),
         api=api("transfers", sku="GLUE", from_location="MAIN", to_location="EAST", lot="Q1")),
    Case("transferring a lot awaiting inspection out", "wes", ("lot_id", "lot_unavailable"),
         service=move("transfer", "moved", item=GLUE, from_location_id=MAIN, to_location_id=EAST, lot_id=AWAITING),
         cli=("stock", "transfer", "GLUE", "1", "--from", "MAIN", "--to", "EAST", "--lot", "AW", *ON),
         workbook=row("transfer", "moved", item=GLUE, frm=MAIN, to=EAST, lot=AWAITING),
         api=api("transfers", sku="GLUE", from_location="MAIN", to_location="EAST", lot="AW")),
    Case("selling a rejected lot", "wes", ("lot_id", "lot_unavailable"),
         service=move(reason="sold", item=GLUE, from_location_id=MAIN, lot_id=REJECTED, customer_id=CUSTOMER),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", "--lot", "RJ", "--customer", str(CUSTOMER), *ON),
         workbook=row(reason="sold", item=GLUE, frm=MAIN, lot=REJECTED, customer=CUSTOMER),
         api=api(sku="GLUE", from_location="MAIN", lot="RJ", customer_id=CUSTOMER)),
    Case("a return to a supplier without the supplier", "wes", ("supplier_id", "required"),
         service=move(reason="returned", item=GLUE, from_location_id=MAIN, lot_id=REJECTED),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", "--lot", "RJ", "--reason", "returned", *ON),
         workbook=row(reason="returned", item=GLUE, frm=MAIN, lot=REJECTED),
         api=api(sku="GLUE", from_location="MAIN", lot="RJ", reason="returned")),
    Case("issuing from an expired lot", "wes", ("lot_id", "lot_expired"),
         service=move(item=GLUE, on=date(2026, 4, 1), from_location_id=MAIN, lot_id=OLD),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", "--lot", "OLD", "--date", "2026-04-01"),
         workbook=row(item=GLUE, frm=MAIN, lot=OLD, on=date(2026, 4, 1)),
         api=api(sku="GLUE", on=date(2026, 4, 1), from_location="MAIN", lot="OLD")),
    Case("issuing a lot-tracked item without its lot", "wes", ("lot_id", "required"),
         service=move(item=GLUE, from_location_id=MAIN),
         cli=("stock", "issue", "GLUE", "1", "--from", "MAIN", *ON),
         workbook=row(item=GLUE, frm=MAIN),
         api=api(sku="GLUE", from_location="MAIN")),
    Case("issuing from a lot of another item", "wes", ("lot_id", "reference"),
         service=move(from_location_id=MAIN, lot_id=QUARANTINED),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--lot", "Q1", *ON),
         workbook=row(frm=MAIN, lot=QUARANTINED),
         api=api(from_location="MAIN", lot="Q1")),
    # Posted movements are never edited (a reversal puts a mistake right): only a workbook can
    # show a posted row to type over; no service changes one, so there is no other door (the
    # API has no PATCH of a movement either).
    Case("an edit of a posted movement", "wes", ("quantity", "posted"),
         workbook=Sheet("inventory", "Movements", {"Quantity": 50}, find=("Kind", "receipt")),
         doors=("workbook",)),
    # ... and the service's refusal of undoing a movement twice (the workbook has no reversals;
    # the API's POST /inventory/movements/{id}/reverse does).
    Case("reversing a movement that was reversed already", "wes", ("reverses_id", "already_reversed"),
         service=lambda session, actor: reverse_movement(session, actor, RECEIVED, DAY),
         cli=("stock", "reverse", str(RECEIVED), *ON),
         api=Api("POST", f"/inventory/movements/{RECEIVED}/reverse", {"moved_on": DAY.isoformat()}),
         doors=("service", "cli")),
    Case("reversing a reversal", "wes", ("reverses_id", "reversal"),
         service=lambda session, actor: reverse_movement(session, actor, REVERSAL, DAY),
         cli=("stock", "reverse", str(REVERSAL), *ON),
         api=Api("POST", f"/inventory/movements/{REVERSAL}/reverse", {"moved_on": DAY.isoformat()}),
         doors=("service", "cli")),
    Case("an unknown item", "wes", ("item_id", "reference"),
         service=move(item=999, from_location_id=MAIN),
         cli=("stock", "issue", "NO-SUCH-SKU", "1", "--from", "MAIN", *ON),
         workbook=row(item=999, frm=MAIN),
         api=api(sku="NO-SUCH-SKU", from_location="MAIN")),
    Case("an unknown location", "wes", ("from_location_id", "reference"),
         service=move(from_location_id=999),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "NOWHERE", *ON),
         workbook=row(frm=999),
         api=api(from_location="NOWHERE")),
    Case("a zero quantity", "wes", ("quantity", "not_positive"),
         service=move(quantity=0, from_location_id=MAIN),
         cli=("stock", "issue", "BOLT-8", "0", "--from", "MAIN", *ON),
         workbook=row(quantity=0, frm=MAIN),
         api=api(quantity=0, from_location="MAIN")),
    Case("a negative receipt", "wes", ("quantity", "not_positive"),
         service=move("receipt", "received", quantity=-1, to_location_id=MAIN, unit_cost=D(1)),
         cli=("stock", "receive", "BOLT-8", "-1", "--to", "MAIN", "--unit-cost", "1", *ON),
         workbook=row("receipt", "received", quantity=-1, to=MAIN, cost=1),
         api=api("receipts", quantity=-1, to_location="MAIN", unit_cost="1"),
         doors=("service", "workbook")),   # the CLI reads -1 as an option: typer refuses it first
    Case("found stock with a negative change", "wes", ("quantity", "wrong_sign"),
         service=move("adjustment", "found", quantity=-2, from_location_id=MAIN),
         cli=("stock", "adjust", "BOLT-8", "-2", "--at", "MAIN", "--reason", "found", *ON),
         workbook=row("adjustment", "found", quantity=-2, frm=MAIN),
         api=api("adjustments", quantity=-2, at="MAIN", reason="found")),
    Case("a transfer to the same location", "wes", ("to_location_id", "same_location"),
         service=move("transfer", "moved", from_location_id=MAIN, to_location_id=MAIN),
         cli=("stock", "transfer", "BOLT-8", "1", "--from", "MAIN", "--to", "MAIN", *ON),
         workbook=row("transfer", "moved", frm=MAIN, to=MAIN),
         api=api("transfers", from_location="MAIN", to_location="MAIN")),
    Case("a receipt without a unit cost", "wes", ("unit_cost", "required"),
         service=move("receipt", "received", to_location_id=MAIN),
         cli=("stock", "receive", "BOLT-8", "1", "--to", "MAIN", *ON),
         workbook=row("receipt", "received", to=MAIN),
         api=api("receipts", to_location="MAIN")),
    Case("a unit cost on stock going out", "wes", ("unit_cost", "not_allowed"),
         service=move("adjustment", "damaged", quantity=-1, from_location_id=MAIN, unit_cost=D(2)),
         cli=("stock", "adjust", "BOLT-8", "-1", "--at", "MAIN", "--reason", "damaged", "--unit-cost", "2", *ON),
         workbook=row("adjustment", "damaged", quantity=-1, frm=MAIN, cost=2),
         api=api("adjustments", quantity=-1, at="MAIN", reason="damaged", unit_cost="2")),
    Case("a sale that is also internal use", "wes", ("cost_centre", "conflict"),
         service=move(reason="sold", from_location_id=MAIN, customer_id=CUSTOMER, cost_centre="workshop"),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--customer", str(CUSTOMER), "--cost-centre",
              "workshop", *ON),
         workbook=row(reason="sold", frm=MAIN, customer=CUSTOMER, cost_centre="workshop"),
         api=api(from_location="MAIN", customer_id=CUSTOMER, cost_centre="workshop")),
    Case("a reason that does not go with the kind", "wes", ("reason", "invalid"),
         service=move(reason="received", from_location_id=MAIN),
         workbook=row(reason="received", frm=MAIN),
         api=api(from_location="MAIN", reason="received"),
         doors=("service", "workbook")),   # the CLI's --reason offers only an issue's reasons
    Case("an expiry date without a lot", "wes", ("expires_on", "required"),
         service=typed(kind="receipt", sku="BOLT-8", quantity=D(1), moved_on=DAY, to_location="MAIN",
                       unit_cost=D(1), expires_on=date(2027, 1, 1)),
         cli=("stock", "receive", "BOLT-8", "1", "--to", "MAIN", "--unit-cost", "1", "--expires", "2027-01-01", *ON),
         api=api("receipts", to_location="MAIN", unit_cost="1", expires_on="2027-01-01"),
         doors=("service", "cli")),        # a lot's expiry is typed on the Lots sheet, not with a movement
    # Limits (engine/limits.py): what the column or a cell cannot hold is refused, never cut.
    Case("a cost centre longer than its column", "wes", ("cost_centre", "too_long"),
         service=move(from_location_id=MAIN, cost_centre="w" * 65),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--cost-centre", "w" * 65, *ON),
         workbook=row(frm=MAIN, cost_centre="w" * 65),
         api=api(from_location="MAIN", cost_centre="w" * 65)),
    Case("a line break in a cost centre", "wes", ("cost_centre", "control_character"),
         service=move(from_location_id=MAIN, cost_centre="work\nshop"),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--cost-centre", "work\nshop", *ON),
         workbook=row(frm=MAIN, cost_centre="work\nshop"),
         api=api(from_location="MAIN", cost_centre="work\nshop")),
    Case("a quantity no cell holds exactly", "wes", ("quantity", "out_of_range"),
         service=move(quantity=500_000_000_000, from_location_id=MAIN),
         cli=("stock", "issue", "BOLT-8", "500000000000", "--from", "MAIN", *ON),
         workbook=row(quantity=500_000_000_000, frm=MAIN),
         api=api(quantity=500_000_000_000, from_location="MAIN")),
    Case("a movement dated in the year 2300", "wes", ("moved_on", "date_out_of_range"),
         service=move(from_location_id=MAIN, on=date(2300, 1, 1)),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--date", "2300-01-01"),
         workbook=row(frm=MAIN, on=date(2300, 1, 1)),
         api=api(from_location="MAIN", on=date(2300, 1, 1))),
    Case("a role that may not write inventory", "sam", ("", "permission"),
         service=move(from_location_id=MAIN),
         cli=("stock", "issue", "BOLT-8", "1", "--from", "MAIN", *ON),
         workbook=row(frm=MAIN),
         api=api(from_location="MAIN")),
]


@pytest.fixture
def stock_db(db):
    """Clerk wes, salesperson sam; BOLT-8 at MAIN, GLUE's quarantined and expiring lots, a
    customer, and a receipt that was reversed."""
    return fill_stock(db)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_movement_is_refused_alike_at_every_door(case, stock_db, settings, tmp_path):
    assert_same_at_every_door(case, stock_db, settings, tmp_path)


def test_the_table_covers_the_refusals_the_issue_names():
    names = {c.name for c in CASES}
    assert len(CASES) >= 8 and len(names) == len(CASES)
    assert {c.expected for c in CASES} >= {
        ("quantity", "insufficient_stock"), ("lot_id", "lot_unavailable"), ("lot_id", "lot_expired"),
        ("quantity", "posted"), ("item_id", "reference"), ("quantity", "not_positive"),
        ("to_location_id", "same_location"), ("unit_cost", "required"), ("", "permission")}


def test_a_refusal_names_what_is_there(stock_db):
    """The message is for a person: it names the item, the place and the lot's status."""
    with pytest.raises(Exception) as refused:
        with stock_db.unit_of_work(SYSTEM) as session:
            post_movement(session, SYSTEM, Movement("issue", "issued", GLUE, D(1), DAY, from_location_id=MAIN,
                                                    lot_id=QUARANTINED))
    [problem] = refused.value.problems
    assert problem.message == "lot Q1 of GLUE is quarantined: it cannot be issued until quality releases it"
    with stock_db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == REVERSAL + 2
