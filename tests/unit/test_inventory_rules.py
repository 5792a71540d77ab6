"""Inventory's rules and its one costing function, without a database: every problem has its
field and code, and a movement is costed the same whichever posting path holds the figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal as D

import pytest

from engine.inventory import costing, rules
from engine.inventory.services import Movement

DAY = date(2026, 3, 2)


@dataclass
class FakeItem:
    sku: str = "GLUE"
    active: bool = True
    lot_tracked: bool = False
    valuation: str = "fifo"
    standard_cost: D = D("1.5")


@dataclass
class FakeLot:
    item_id: int = 1
    lot_number: str = "L1"
    status: str = "available"
    expires_on: date | None = None


def movement(**values):
    base = {"kind": "issue", "reason": "issued", "item_id": 1, "quantity": D(1), "moved_on": DAY,
            "from_location_id": 1, "to_location_id": None, "lot_id": None, "unit_cost": None,
            "supplier_id": None, "customer_id": None, "cost_centre": None, "reference": None, "reverses_id": None}
    return {**base, **values}


def found(problems):
    return {(p.field, p.code) for p in problems}


def test_a_well_formed_movement_of_each_kind_has_no_problems():
    assert rules.check_movement(movement()) == []
    assert rules.check_movement(movement(kind="receipt", reason="received", from_location_id=None,
                                         to_location_id=2, unit_cost=D(0))) == []
    assert rules.check_movement(movement(kind="transfer", reason="moved", to_location_id=2)) == []
    assert rules.check_movement(movement(kind="adjustment", reason="damaged", quantity=D(-2))) == []
    assert rules.check_movement(movement(kind="adjustment", reason="found", quantity=D(2), from_location_id=None,
                                         to_location_id=1, unit_cost=D(3))) == []


def test_every_missing_value_is_reported_at_once():
    problems = rules.check_movement({})
    assert found(problems) == {(f, "required") for f in ("moved_on", "kind", "reason", "item_id", "quantity")}
    assert all(p.message for p in problems)


@pytest.mark.parametrize(("values", "expected"), [
    ({"kind": "sale"}, ("kind", "invalid")),
    ({"reason": "stolen"}, ("reason", "invalid")),
    ({"reason": "received"}, ("reason", "invalid")),                       # a receipt's reason on an issue
    ({"quantity": D(0)}, ("quantity", "not_positive")),
    ({"quantity": D(-1)}, ("quantity", "not_positive")),
    ({"quantity": D("0.00001")}, ("quantity", "places")),
    ({"quantity": D(10) ** 13}, ("quantity", "too_large")),
    ({"kind": "adjustment", "reason": "counted", "quantity": D(0)}, ("quantity", "zero")),
    ({"kind": "adjustment", "reason": "damaged", "quantity": D(2), "to_location_id": 1}, ("quantity", "wrong_sign")),
    ({"kind": "adjustment", "reason": "found", "quantity": D(-2)}, ("quantity", "wrong_sign")),
    ({"from_location_id": None}, ("from_location_id", "required")),
    ({"kind": "receipt", "reason": "received", "unit_cost": D(1)}, ("to_location_id", "required")),
    ({"kind": "transfer", "reason": "moved", "to_location_id": 1}, ("to_location_id", "same_location")),
    ({"kind": "receipt", "reason": "received", "to_location_id": 1}, ("unit_cost", "required")),
    ({"kind": "receipt", "reason": "received", "to_location_id": 1, "unit_cost": D(-1)}, ("unit_cost", "negative")),
    ({"kind": "receipt", "reason": "received", "to_location_id": 1, "unit_cost": D("0.00001")},
     ("unit_cost", "places")),
    ({"unit_cost": D(2)}, ("unit_cost", "not_allowed")),                   # stock going out has its own cost
    ({"kind": "adjustment", "reason": "scrapped", "quantity": D(-1), "unit_cost": D(2)}, ("unit_cost", "not_allowed")),
    ({"reason": "sold", "customer_id": 4, "cost_centre": "workshop"}, ("cost_centre", "conflict")),
])
def test_a_bad_movement_names_its_field_and_code(values, expected):
    assert expected in found(rules.check_movement(movement(**values)))


def test_the_rules_of_the_item_and_its_lot():
    inactive = FakeItem(active=False)
    receipt = movement(kind="receipt", reason="received", from_location_id=None, to_location_id=1, unit_cost=D(1))
    assert found(rules.check_movement(receipt, inactive)) == {("item_id", "inactive")}
    assert found(rules.check_movement(movement(), FakeItem(lot_tracked=True))) == {("lot_id", "required")}

    issue = movement(lot_id=7)
    for status in ("quarantined", "awaiting inspection", "rejected"):
        [problem] = rules.check_movement(issue, FakeItem(), FakeLot(status=status))
        assert (problem.field, problem.code) == ("lot_id", "lot_unavailable") and status in problem.message
    expiring = FakeLot(expires_on=DAY)
    assert rules.check_movement(issue, FakeItem(), expiring) == []                    # good on its last day
    [problem] = rules.check_movement(movement(lot_id=7, moved_on=date(2026, 3, 3)), FakeItem(), expiring)
    assert (problem.field, problem.code) == ("lot_id", "lot_expired") and "2026-03-02" in problem.message
    # a lot not available may still be moved or written off: only issuing it is refused
    scrap = movement(kind="adjustment", reason="expired", quantity=D(-1), lot_id=7)
    assert rules.check_movement(scrap, FakeItem(), FakeLot(status="quarantined", expires_on=date(2026, 1, 1))) == []


def test_an_expiry_belongs_to_a_lot_and_reasons_have_defaults():
    assert found(rules.check_lot_given(None, DAY)) == {("expires_on", "required")}
    assert rules.check_lot_given("L1", DAY) == [] and rules.check_lot_given(None, None) == []
    assert rules.default_reason("issue", customer_id=3) == "sold"
    assert rules.default_reason("issue", cost_centre="workshop") == "consumed"
    assert rules.default_reason("issue") == "issued"
    assert rules.default_reason("receipt") == "received" and rules.default_reason("transfer") == "moved"
    assert rules.default_reason("adjustment") is None          # an adjustment says why


def test_items_locations_lots_and_counts():
    assert rules.check_item({"sku": "A", "name": "A", "valuation": "fifo", "standard_cost": D(1)}) == []
    assert found(rules.check_item({"valuation": "lifo", "standard_cost": D(-1), "reorder_point": D("0.00001"),
                                   "reorder_quantity": D(-2)})) == {
        ("sku", "required"), ("name", "required"), ("valuation", "invalid"), ("standard_cost", "negative"),
        ("reorder_point", "places"), ("reorder_quantity", "negative")}
    assert rules.check_location({"code": "A1", "name": "Bin", "kind": "bin", "warehouse_id": 1}) == []
    assert found(rules.check_location({"code": "A1", "name": "Bin", "kind": "bin"})) == {("warehouse_id", "required")}
    assert found(rules.check_location({"code": "W", "name": "W", "kind": "warehouse", "warehouse_id": 1})) == {
        ("warehouse_id", "invalid")}
    assert found(rules.check_location({"kind": "shelf"})) == {("code", "required"), ("name", "required"),
                                                              ("kind", "invalid")}
    assert rules.check_lot({"item_id": 1, "lot_number": "L1", "status": "quarantined"}) == []
    assert found(rules.check_lot({"status": "lost"})) == {("item_id", "required"), ("lot_number", "required"),
                                                          ("status", "invalid")}
    assert rules.check_count(D(0)) == []
    assert found(rules.check_count(D(-1))) == {("counted", "negative")}
    assert found(rules.check_count(None)) == {("counted", "required")}


# -- the one costing function, on figures held in memory ---------------------------------------

@dataclass
class Held:
    quantity: D = D(0)


@dataclass
class Layer:
    remaining: D
    unit_cost: D
    movement: int | None = None


@dataclass
class Figures:
    quantity: D = D(0)
    value: D = D(0)
    balances: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)

    def balance(self, key):
        return self.balances.setdefault(key, Held())

    def open_layers(self):
        return [x for x in self.layers if x.remaining > 0]

    def newest_unit_cost(self):
        return self.layers[-1].unit_cost if self.layers else None

    def own_layer(self, movement_id):
        return next((x for x in self.layers if x.movement == movement_id), None)

    def add_layer(self, received_on, remaining, unit_cost):
        self.layers.append(Layer(remaining, unit_cost))


def receive(quantity, cost, on=DAY):
    return Movement("receipt", "received", 1, D(quantity), on, to_location_id=1, unit_cost=D(cost))


def issue(quantity, on=DAY):
    return Movement("issue", "sold", 1, D(quantity), on, from_location_id=1)


@pytest.mark.parametrize(("method", "cost_of_sales", "left"), [("fifo", D(-6200), D(5800)),
                                                                ("average", D("-6233.3333"), D("5766.6667"))])
def test_costing_the_textbook_purchases_and_sale(method, cost_of_sales, left):
    """The figures of tests/unit/test_valuation.py, through costing.apply."""
    item, figures = FakeItem(valuation=method), Figures()
    for quantity, cost in ((100, 10), (200, 11), (300, 12)):
        costing.apply(item, figures, receive(quantity, cost))
    assert costing.apply(item, figures, issue(550)) == cost_of_sales
    costing.apply(item, figures, receive(400, 13))
    assert (figures.quantity, figures.value, figures.balances[(1, 0)].quantity) == (D(450), left, D(450))


def test_costing_refuses_a_shortage_changing_nothing_and_takes_the_last_units_exactly():
    item, figures = FakeItem(valuation="average"), Figures()
    costing.apply(item, figures, receive(3, "1"))
    costing.apply(item, figures, receive(3, "2"))
    with pytest.raises(costing.Short) as short:
        costing.apply(item, figures, issue(7))
    assert [(p.key, p.on_hand, p.wanted) for p in short.value.places] == [((1, 0), D(6), D(7))]
    assert (figures.quantity, figures.value) == (D(6), D(9))
    assert costing.apply(item, figures, issue(5)) == D("-7.5")
    assert costing.apply(item, figures, issue(1)) == D("-1.5") and figures.value == 0  # no residue left behind


def test_stock_coming_in_without_a_price_and_reversals():
    fifo = FakeItem()
    figures = Figures()
    found_stock = Movement("adjustment", "found", 1, D(2), DAY, to_location_id=1)
    assert costing.apply(fifo, figures, found_stock) == D(3)                 # the standard cost, with no layers
    costing.apply(fifo, figures, receive(4, 5))
    assert costing.apply(fifo, figures, found_stock) == D(10)                # the newest layer's cost
    figures.layers[1].movement = 9                                           # the 4 received at 5
    back = Movement("adjustment", "reversed", 1, D(-4), DAY, from_location_id=1, reverses_id=9, value=D(-20))
    assert costing.apply(fifo, figures, back) == D(-20) and figures.layers[1].remaining == 0
    with pytest.raises(costing.Uncostable) as refused:
        costing.apply(fifo, figures, back)
    assert (refused.value.problem.field, refused.value.problem.code) == ("reverses_id", "consumed")
