"""The asset register on SQLite and PostgreSQL: one holder at a time, the rules of change and
disposal, and with `admin.post_depreciation` on, the books equal to the register: on every
month end the asset account less the accumulated depreciation account is the register's net
book value, and the trial balance balances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.admin import asset_queries, assets
from engine.admin.depreciation import add_months, month_end
from engine.admin.models import Asset, DepreciationPosting
from engine.config import AdminSettings
from engine.errors import ValidationFailed
from engine.ledger.chart import install_chart
from engine.ledger.reports import trial_balance
from engine.ledger.services import close_period, open_year
from engine.security.roles import SYSTEM
from engine.staff.models import Department, Employee
from engine.staff.queries import leaving_checklist
from tests.conftest import actor_with

OLGA = actor_with("manager", login="olga")       # writes admin, may not write the ledger
LAPTOP = {"tag": "LAP-1", "description": "Laptop 14in", "category": "laptops", "purchased_on": date(2025, 3, 12),
          "cost": D("1200.00"), "useful_life_months": 36}
PRESS = {"tag": "MCH-1", "description": "Press", "category": "machines", "purchased_on": date(2025, 1, 20),
         "cost": D("10000.00"), "useful_life_months": 60, "method": "declining_balance",
         "declining_rate": D("0.25"), "residual_value": D("1000.00")}


def _people(session):
    dept = Department(code="OPS", name="Operations", updated_by="t")
    session.add(dept)
    session.flush()
    made = [Employee(employee_number=n, department_id=dept.id, start_date=date(2020, 1, 1), end_date=end,
                     updated_by="t") for n, end in (("E1", None), ("E2", None), ("E9", date(2025, 6, 30)))]
    session.add_all(made)
    session.flush()
    return {e.employee_number: e.id for e in made}


@pytest.fixture
def books(db):
    db.admin = AdminSettings(post_depreciation=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        install_chart(session, SYSTEM)
        open_year(session, SYSTEM, 2025)
        open_year(session, SYSTEM, 2026)
        people = _people(session)
    return db, people


def _balances(db, on):
    with db.reading() as session:
        tb = trial_balance(session, SYSTEM, on)
        value = asset_queries.value(session, SYSTEM, on)["total"]
    rows = {r.code: r.debit - r.credit for r in tb.rows}
    return rows.get("1500", D(0)) + rows.get("1590", D(0)), value["book_value"], tb


def test_the_books_equal_the_registers_net_book_value_on_every_month_end(books):
    db, people = books
    with db.unit_of_work(OLGA) as session:
        laptop = assets.add_asset(session, OLGA, LAPTOP)
        press = assets.add_asset(session, OLGA, PRESS)
        assets.assign_asset(session, OLGA, laptop.id, people["E1"], date(2025, 3, 14))
    with db.unit_of_work(OLGA) as session:
        first = assets.record_depreciation(session, OLGA, date(2025, 12, 1))
    assert sorted(first) == [add_months(date(2025, 2, 1), n) for n in range(11)]   # the press from February
    with db.unit_of_work(OLGA) as session:
        assert assets.record_depreciation(session, OLGA, date(2025, 12, 1)) == {}     # twice: nothing twice
        assets.dispose_asset(session, OLGA, press.id, date(2026, 4, 10), D("6000.00"), "sold")
    with db.unit_of_work(OLGA) as session:
        assets.record_depreciation(session, OLGA, date(2026, 6, 1))
        with pytest.raises(ValidationFailed) as refused:
            assets.assign_asset(session, OLGA, press.id, people["E2"], date(2026, 5, 1))
    assert [(p.field, p.code) for p in refused.value.problems] == [("tag", "disposed")]

    # Hand-computed: the laptop 33.33 a month from April 2025; the press (25 % a year on
    # 10,000.00) 208.33 a month from February 2025, its twelfth month 208.37, then 156.25.
    with db.reading() as session:
        months = {(a, m): amount for a, m, amount in session.execute(
            DepreciationPosting.__table__.select().with_only_columns(
                DepreciationPosting.asset_id, DepreciationPosting.month, DepreciationPosting.amount))}
    assert months[(laptop.id, date(2025, 4, 1))] == D("33.33")
    assert (laptop.id, date(2025, 3, 1)) not in months
    assert [months[(press.id, add_months(date(2025, 2, 1), n))] for n in range(14)] == \
        [D("208.33")] * 11 + [D("208.37"), D("156.25"), D("156.25")]
    assert (press.id, date(2026, 4, 1)) not in months            # the month of disposal is not depreciated
    assert months[(laptop.id, date(2026, 6, 1))] == D("33.33")

    for n in range(17):                                           # January 2025 to May 2026
        on = month_end(add_months(date(2025, 1, 1), n))
        in_books, register, tb = _balances(db, on)
        assert in_books == register, on
        assert tb.total_debit == tb.total_credit, on
    # The disposal: 10,000.00 less 2,812.50 recorded (Feb 2025 to Mar 2026) is 7,187.50; sold
    # for 6,000.00, a loss of 1,187.50.
    _in_books, _register, tb = _balances(db, date(2026, 4, 30))
    assert {r.code: r.debit - r.credit for r in tb.rows}["4950"] == D("1187.50")


def test_a_closed_period_refuses_the_run_and_nothing_is_recorded(books):
    db, _people_ = books
    with db.unit_of_work(OLGA) as session:
        assets.add_asset(session, OLGA, LAPTOP)
    with db.unit_of_work(SYSTEM) as session:
        for month in ("2025-01", "2025-02", "2025-03", "2025-04"):
            close_period(session, SYSTEM, month, "3200")
    with pytest.raises(ValidationFailed) as refused, db.unit_of_work(OLGA) as session:
        assets.record_depreciation(session, OLGA, date(2025, 6, 1))
    assert [(p.field, p.code) for p in refused.value.problems] == [("month", "period_closed")]
    with pytest.raises(ValidationFailed) as bought, db.unit_of_work(OLGA) as session:
        assets.add_asset(session, OLGA, {**PRESS, "purchased_on": date(2025, 2, 3)})
    assert [(p.field, p.code) for p in bought.value.problems] == [("purchased_on", "period_closed")]
    with db.reading() as session:
        assert session.query(DepreciationPosting).count() == 0
        assert session.query(Asset).count() == 1


def test_one_holder_at_a_time_no_leaver_and_the_history_kept(books):
    db, people = books
    with db.unit_of_work(OLGA) as session:
        laptop = assets.add_asset(session, OLGA, LAPTOP)
        assets.assign_asset(session, OLGA, laptop.id, people["E1"], date(2025, 4, 1))
        with pytest.raises(ValidationFailed) as twice:
            assets.assign_asset(session, OLGA, laptop.id, people["E2"], date(2025, 5, 1))
        assets.return_asset(session, OLGA, laptop.id, date(2025, 5, 1))
        with pytest.raises(ValidationFailed) as leaver:     # E9's last day was 30 June 2025
            assets.assign_asset(session, OLGA, laptop.id, people["E9"], date(2025, 7, 1))
        with pytest.raises(ValidationFailed) as early:
            assets.assign_asset(session, OLGA, laptop.id, people["E2"], date(2025, 4, 20))
        assets.assign_asset(session, OLGA, laptop.id, people["E2"], date(2025, 5, 2))
        shown = asset_queries.asset(session, OLGA, "lap-1")
    assert [(p.field, p.code) for p in twice.value.problems] == [("employee_id", "assigned")]
    assert [(p.field, p.code) for p in leaver.value.problems] == [("employee_id", "leaver")]
    assert [(p.field, p.code) for p in early.value.problems] == [("assigned_on", "overlaps")]
    assert shown["employee"] == "E2"
    assert [(a["employee"], a["assigned_on"], a["returned_on"]) for a in shown["assignments"]] == [
        ("E1", date(2025, 4, 1), date(2025, 5, 1)), ("E2", date(2025, 5, 2), None)]
    with db.unit_of_work(SYSTEM) as session:
        checklist = leaving_checklist(session, SYSTEM, "E2")
    assert {"module": "admin", "item": "return asset LAP-1 (Laptop 14in)"} in checklist["items"]


def test_how_an_asset_is_valued_is_fixed_once_depreciation_is_recorded(db):
    with db.unit_of_work(OLGA) as session:       # not posted to the books: a cost may be corrected until recorded
        laptop = assets.add_asset(session, OLGA, LAPTOP)
        with pytest.raises(ValidationFailed) as taken:
            assets.add_asset(session, OLGA, {**LAPTOP, "tag": "lap-1"})
        assets.change_asset(session, OLGA, laptop.id, None, {"cost": D("1100.00")})   # nothing recorded yet
        assets.record_depreciation(session, OLGA, date(2025, 5, 1))
        with pytest.raises(ValidationFailed) as fixed:
            assets.change_asset(session, OLGA, laptop.id, None, {"cost": D("1000.00"), "location": "HQ",
                                                                 "employee_id": 1})
        changed = assets.change_asset(session, OLGA, laptop.id, None, {"location": "HQ", "description": "Laptop"})
        with pytest.raises(ValidationFailed) as early:
            assets.dispose_asset(session, OLGA, laptop.id, date(2025, 5, 31))
    assert [(p.field, p.code) for p in taken.value.problems] == [("tag", "duplicate")]
    assert sorted((p.field, p.code) for p in fixed.value.problems) == [("cost", "fixed"), ("employee_id", "not_here")]
    assert changed.location == "HQ" and changed.cost == D("1100.00")
    assert [(p.field, p.code) for p in early.value.problems] == [("disposed_on", "posted_after")]
    with db.reading() as session:
        assert session.get(Asset, laptop.id).disposed_on is None
