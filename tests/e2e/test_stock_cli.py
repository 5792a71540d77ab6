"""The `backoffice stock` commands, end to end, as the warehouse clerk runs them.

Items and locations have no command yet, so each test creates them through the ORM; users
come from `backoffice users add`, as an administrator would create them. Numbers are small
enough to check by hand.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.contacts import services as contacts
from engine.db.session import Database
from engine.inventory.models import Item, Location, StockMovement
from engine.security.roles import SYSTEM


def _open(database_url: str) -> Database:
    return Database.open(Settings(database_url=database_url))


@pytest.fixture
def stock(backoffice, database_url):
    """MAIN (with bin MAIN-A1) and EAST; a FIFO item with a reorder point, an average item, a
    lot-tracked item; a customer; admin `ada` and warehouse clerk `wes`. Returns a runner of
    `backoffice stock ...` as wes, with the customer's id as `stock.customer`."""
    db = _open(database_url)
    try:
        with db.unit_of_work(SYSTEM, source="system") as session:
            main = Location(code="MAIN", name="Main warehouse", kind="warehouse")
            session.add_all([main, Location(code="EAST", name="East warehouse", kind="warehouse")])
            session.flush()
            session.add(Location(code="MAIN-A1", name="Bin A1", kind="bin", warehouse_id=main.id))
            session.add_all([
                Item(sku="CAP-1", name="Astro condenser", valuation="fifo", reorder_point=D(60),
                     reorder_quantity=D(200)),
                Item(sku="BOLT-8", name="Bolt M8", valuation="average"),
                Item(sku="GLUE", name="Epoxy glue", valuation="fifo", lot_tracked=True),
            ])
            customer, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Acme Ltd",
                                                                  "country": "GB"})
            customer_id = customer.id
    finally:
        db.dispose()
    assert backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin").code == 0
    assert backoffice("users", "add", "wes", "--name", "Wes", "--role", "warehouse", user="ada").code == 0

    def run(*args: str, user: str = "wes"):
        return backoffice("stock", *args, user=user)

    run.customer = customer_id
    return run


def posted(result) -> dict:
    assert result.code == 0, result.stderr
    return result.json()


def movement_count(database_url: str) -> int:
    db = _open(database_url)
    try:
        with db.reading() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(StockMovement))
    finally:
        db.dispose()


def test_receive_transfer_on_hand_and_the_reorder_list(stock):
    received = posted(stock("receive", "CAP-1", "10", "--to", "MAIN", "--unit-cost", "10.50",
                            "--date", "2026-03-01", "--reference", "PO-1", "--json"))
    assert {k: received[k] for k in ("kind", "reason", "sku", "quantity", "to_location", "unit_cost", "value",
                                     "moved_on", "reference", "posted_by")} == {
        "kind": "receipt", "reason": "received", "sku": "CAP-1", "quantity": "10", "to_location": "MAIN",
        "unit_cost": "10.5000", "value": "105.0000", "moved_on": "2026-03-01", "reference": "PO-1",
        "posted_by": "wes"}
    moved = posted(stock("transfer", "CAP-1", "4", "--from", "MAIN", "--to", "MAIN-A1", "--json"))
    assert (moved["kind"], moved["from_location"], moved["to_location"], moved["value"]) == (
        "transfer", "MAIN", "MAIN-A1", "0.0000")
    # a warehouse includes its bins
    held = posted(stock("on-hand", "--location", "MAIN", "--json"))
    assert [(h["sku"], h["location"], h["quantity"]) for h in held] == [("CAP-1", "MAIN", "6"), ("CAP-1", "MAIN-A1", "4")]
    table = stock("on-hand", "--item", "CAP-1")
    assert table.code == 0 and "Astro condenser" in table.stdout and "MAIN-A1" in table.stdout
    # 10 on hand, reorder point 60: order the reorder quantity, 200
    assert posted(stock("reorder", "--json")) == [{"sku": "CAP-1", "item": "Astro condenser", "on_hand": "10",
                                                   "reorder_point": "60", "suggested": "200", "supplier": None}]


def test_refusals_name_the_problem_and_post_nothing(stock, backoffice, database_url):
    posted(stock("receive", "BOLT-8", "5", "--to", "MAIN", "--unit-cost", "0.25", "--json"))
    too_many = stock("issue", "BOLT-8", "6", "--from", "MAIN")
    assert too_many.code == 1
    assert "not enough BOLT-8 at MAIN: 5 on hand, 6 wanted" in too_many.stderr
    bad_number = stock("issue", "BOLT-8", "1,5", "--from", "MAIN")
    assert bad_number.code == 2 and "QUANTITY '1,5' is not a number" in bad_number.stderr
    no_lot = stock("receive", "GLUE", "3", "--to", "MAIN", "--unit-cost", "4")
    assert no_lot.code == 1 and "tracked by lot" in no_lot.stderr
    backoffice("users", "add", "sam", "--name", "Sam", "--role", "sales", user="ada")
    refused = stock("receive", "BOLT-8", "1", "--to", "MAIN", "--unit-cost", "1", user="sam")
    assert refused.code == 2 and "may not write inventory" in refused.stderr
    # sales may read inventory: still the 5 received, nothing else was posted
    held = posted(stock("on-hand", "--item", "BOLT-8", "--json", user="sam"))
    assert [(h["location"], h["quantity"]) for h in held] == [("MAIN", "5")]
    assert movement_count(database_url) == 1


def test_adjust_and_reverse(stock):
    received = posted(stock("receive", "CAP-1", "10", "--to", "MAIN", "--unit-cost", "10", "--json"))
    damaged = posted(stock("adjust", "CAP-1", "-3", "--at", "MAIN", "--reason", "damaged", "--json"))
    assert (damaged["kind"], damaged["quantity"], damaged["from_location"], damaged["value"]) == (
        "adjustment", "-3", "MAIN", "-30.0000")
    found = posted(stock("adjust", "CAP-1", "+2", "--at", "MAIN-A1", "--reason", "found", "--unit-cost", "12",
                         "--json"))
    assert (found["quantity"], found["to_location"], found["value"]) == ("2", "MAIN-A1", "24.0000")
    undone = stock("reverse", str(damaged["id"]))
    assert undone.code == 0, undone.stderr
    assert f"reverses #{damaged['id']}" in undone.stdout and "value 30.00" in undone.stdout
    held = posted(stock("on-hand", "--item", "CAP-1", "--json"))
    assert [(h["location"], h["quantity"]) for h in held] == [("MAIN", "10"), ("MAIN-A1", "2")]
    assert received["id"] < damaged["id"] < found["id"]


def test_valuation_as_of_a_day_before_and_after_a_sale(stock):
    """FIFO: 100 @ 10 and 200 @ 11, sell 250: 100 x 10 + 150 x 11 = 2650 leaves 50 x 11 = 550.
    Moving average: 10 @ 2 and 10 @ 4 average 3; issuing 5 costs 15 and leaves 15 worth 45."""
    for args in (("CAP-1", "100", "--unit-cost", "10", "--date", "2026-01-05"),
                 ("CAP-1", "200", "--unit-cost", "11", "--date", "2026-02-10"),
                 ("BOLT-8", "10", "--unit-cost", "2", "--date", "2026-01-05"),
                 ("BOLT-8", "10", "--unit-cost", "4", "--date", "2026-02-10")):
        assert stock("receive", *args, "--to", "MAIN").code == 0
    sale = posted(stock("issue", "CAP-1", "250", "--from", "MAIN", "--customer", str(stock.customer),
                        "--date", "2026-03-15", "--json"))
    assert (sale["reason"], sale["customer_id"], sale["value"]) == ("sold", stock.customer, "-2650.0000")
    used = posted(stock("issue", "BOLT-8", "5", "--from", "MAIN", "--cost-centre", "workshop",
                        "--date", "2026-03-15", "--json"))
    assert (used["reason"], used["cost_centre"], used["value"]) == ("consumed", "workshop", "-15.0000")

    before = posted(stock("valuation", "--as-of", "2026-03-14", "--json"))
    assert [(v["sku"], v["method"], v["quantity"], v["value"]) for v in before["items"]] == [
        ("BOLT-8", "average", "20", "60.0000"), ("CAP-1", "fifo", "300", "3200.0000")]
    assert (before["as_of"], before["total"]) == ("2026-03-14", "3260.0000")
    after = stock("valuation", "--as-of", "2026-03-15")
    assert after.code == 0, after.stderr
    rows = {line.split()[1]: line for line in after.stdout.splitlines() if line[2:].startswith(("CAP-1", "BOLT-8", "total"))}
    assert "550.00" in rows["CAP-1"] and "FIFO" in rows["CAP-1"]
    assert "45.00" in rows["BOLT-8"] and "moving average" in rows["BOLT-8"]
    assert "595.00" in rows["total"]
