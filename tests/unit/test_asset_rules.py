"""The asset register's rules, pure: every problem with its field and code."""

from datetime import date
from decimal import Decimal as D

from engine.admin.asset_rules import (
    Holding,
    asset_defaults,
    check_asset,
    check_assignment,
    check_change,
    check_disposal,
)

BOUGHT = date(2025, 3, 12)


def codes(problems):
    return sorted((p.field, p.code) for p in problems)


def laptop(**changes):
    return asset_defaults({"tag": " LAP-1 ", "description": "Laptop", "category": "laptops", "purchased_on": BOUGHT,
                           "cost": "1200.00", "useful_life_months": 36, **changes})


def test_an_asset_is_stored_straight_line_with_no_residual_unless_said():
    row = laptop()
    assert (row["tag"], row["cost"], row["method"], row["residual_value"]) == ("LAP-1", D("1200.00"), "straight_line", 0)
    assert check_asset(row) == []
    assert laptop(method="Declining-Balance")["method"] == "declining_balance"


def test_every_problem_of_an_asset_is_reported_on_its_field():
    row = laptop(tag=None, cost="12.345", residual_value="-1", useful_life_months=0, method="sum of digits",
                 declining_rate="0.2", warranty_ends_on=date(2025, 1, 1))
    assert codes(check_asset(row)) == [("cost", "places"), ("declining_rate", "rate"), ("method", "invalid"),
                                       ("residual_value", "negative"),
                                       ("tag", "required"), ("useful_life_months", "invalid"),
                                       ("warranty_ends_on", "before_purchase")]
    assert codes(check_asset(laptop(residual_value="1300"))) == [("residual_value", "residual")]
    assert codes(check_asset(laptop(declining_rate="0.25"))) == [("declining_rate", "rate")]
    assert codes(check_asset(laptop(method="declining_balance", declining_rate="1"))) == [("declining_rate", "rate")]
    assert codes(check_asset(laptop(cost=D("NaN")))) == [("cost", "too_large")]


def test_how_it_is_valued_is_fixed_once_recorded_and_everything_once_disposed_of():
    before = laptop()
    after = {**before, "cost": D("1000"), "location": "HQ"}
    assert check_change(before, after, valued=False, disposed=False) == []
    assert codes(check_change(before, after, valued=True, disposed=False)) == [("cost", "fixed")]
    assert codes(check_change(before, after, valued=True, disposed=True)) == [("cost", "fixed"), ("location", "fixed")]
    assert codes(check_change(before, {**before, "employee_id": 3}, valued=False, disposed=False)) == [
        ("employee_id", "not_here")]


def test_one_holder_at_a_time_and_no_leaver_after_their_last_day():
    free = Holding(BOUGHT, None, None, None, date(2025, 6, 1))
    held = Holding(BOUGHT, None, 7, date(2025, 4, 1), None)
    gone = Holding(BOUGHT, date(2025, 9, 1), None, None, None)
    assert check_assignment(free, date(2025, 6, 1), None, False) == []
    assert codes(check_assignment(free, date(2025, 5, 1), None, False)) == [("assigned_on", "overlaps")]
    [taken] = check_assignment(Holding(BOUGHT, None, 7, date(2025, 4, 1), None, "E7 Ann Lee"), date(2025, 6, 1),
                               None, False)
    assert (taken.field, taken.code) == ("employee_id", "assigned") and "with E7 Ann Lee since 2025-04-01" in taken.message
    assert codes(check_assignment(free, date(2025, 7, 1), date(2025, 6, 30), False)) == [("employee_id", "leaver")]
    assert check_assignment(free, date(2025, 6, 30), date(2025, 6, 30), False) == []
    assert codes(check_assignment(gone, date(2025, 10, 1), None, False)) == [("tag", "disposed")]
    assert codes(check_disposal(free, date(2025, 7, 1), None, date(2025, 7, 1))) == [("disposed_on", "posted_after")]
    assert codes(check_disposal(held, date(2025, 3, 20), D("-5"), None)) == [("disposal_proceeds", "negative"),
                                                                             ("disposed_on", "overlaps")]
