"""The Office workbook's asset sheets on SQLite and PostgreSQL: an asset added in the Assets
sheet, assigned and returned in the Assignments sheet, disposed of by typing its disposal,
each through the register's services (one holder at a time refused at its cell), and the
Depreciation sheet showing the months recorded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from engine.admin import assets
from engine.admin.models import Asset, AssetAssignment
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.staff.models import Department, Employee
from tests.integration.conftest import column_letter, edit_by_label, find_row, read_sheet


def _office(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "mia", "Mia", ["manager"], None)
        dept = Department(code="OPS", name="Operations", updated_by="t")
        session.add(dept)
        session.flush()
        session.add_all([Employee(employee_number=n, department_id=dept.id, start_date=date(2020, 1, 1),
                                  updated_by="t") for n in ("E1", "E2")])
        session.flush()
        laptop = assets.add_asset(session, SYSTEM, {"tag": "LAP-1", "description": "Laptop", "category": "laptops",
                                                    "purchased_on": date(2025, 1, 10), "cost": D("1200.00"),
                                                    "useful_life_months": 36})
        assets.record_depreciation(session, SYSTEM, date(2025, 3, 1))
        return laptop.id


def test_assets_are_added_assigned_returned_and_disposed_of_in_the_office_workbook(db, settings, tmp_path):
    laptop = _office(db)
    with db.reading() as session:
        mia = resolve_actor(session, "mia")
    path = tmp_path / "office.xlsx"
    new_workbook(db, mia, "office", path)
    trip = RoundTrip(db, settings, mia)
    depreciation = read_sheet(path, "Depreciation")
    assert depreciation[0][:4] == ["Month", "Tag", "Description", "Depreciation"]
    assert [r[0] for r in depreciation[1:]] == ["2025-02", "2025-03"] and depreciation[2][5] == 1133.34

    row = len(read_sheet(path, "Assets")) + 1
    edit_by_label(path, "Assets", row, {"Tag": "PHN-1", "Description": "Phone", "Category": "phones",
                                        "Bought": date(2025, 6, 2), "Cost": 600, "Life (months)": 24})
    given = len(read_sheet(path, "Assignments")) + 1
    edit_by_label(path, "Assignments", given, {"Asset": "LAP-1", "Employee": "E1", "Assigned": date(2025, 2, 1)})
    edit_by_label(path, "Assignments", given + 1, {"Asset": "LAP-1", "Employee": "E2", "Assigned": date(2025, 3, 1)})
    edit_by_label(path, "Assets", row + 1, {"Tag": "PHN-0", "Description": "Old phone", "Category": "phones",
                                            "Bought": date(2024, 6, 2), "Cost": 300, "Life (months)": 24,
                                            "Proceeds": 20})
    result = trip.sync(path)
    assert result.status == "rejected"          # proceeds without a disposal date: nothing saved
    assert {(p.code, p.cell) for p in result.problems} == {
        ("required", f"{column_letter(path, 'Assets', 'Disposed on')}{row + 1}")}
    edit_by_label(path, "Assets", row + 1, {"Disposed on": date(2025, 5, 2), "Disposal reason": "sold"})
    result = trip.sync(path)
    assert result.status == "rejected"          # the second holder while the first has it: nothing saved
    assert {(p.code, p.cell) for p in result.problems} == {
        ("assigned", f"{column_letter(path, 'Assignments', 'Employee')}{given + 1}")}

    edit_by_label(path, "Assignments", given + 1, {"Asset": None, "Employee": None, "Assigned": None})
    result = trip.sync(path)
    assert (result.status, result.inserted) == ("applied", 3), result.problems
    edit_by_label(path, "Assets", find_row(path, "Assets", "Tag", "PHN-1"), {"Tag": "LAP-1"})
    [taken] = trip.sync(path).problems
    assert taken.code == "duplicate" and "Tag 'LAP-1' is already used" in taken.message     # as typed
    edit_by_label(path, "Assets", find_row(path, "Assets", "Description", "Phone"), {"Tag": "PHN-1"})
    edit_by_label(path, "Assignments", find_row(path, "Assignments", "Asset", "LAP-1 Laptop"),
                  {"Returned": date(2025, 4, 30)})
    assert trip.sync(path).status == "applied"
    edit_by_label(path, "Assets", find_row(path, "Assets", "Tag", "LAP-1"),
                  {"Disposed on": date(2025, 6, 15), "Proceeds": 400, "Disposal reason": "sold"})
    result = trip.sync(path)
    assert result.status == "applied", result.problems + result.conflicts
    with db.reading() as session:
        sold = session.get(Asset, laptop)
        history = session.scalars(sa.select(AssetAssignment)).all()
        phone = session.scalars(sa.select(Asset).where(Asset.tag == "PHN-1")).one()
    assert (sold.disposed_on, sold.disposal_proceeds, sold.employee_id) == (date(2025, 6, 15), D(400), None)
    assert [(h.assigned_on, h.returned_on) for h in history] == [(date(2025, 2, 1), date(2025, 4, 30))]
    assert (phone.cost, phone.method, phone.residual_value) == (D(600), "straight_line", D(0))
    assert [r[0] for r in read_sheet(path, "Depreciation")[1:] if r[1] == "PHN-0"][-1] == "2025-04"   # sold in May
    # the disposal recorded the months before June: February to May
    assert [r[0] for r in read_sheet(path, "Depreciation")[1:] if r[1] == "LAP-1"] == [
        "2025-02", "2025-03", "2025-04", "2025-05"]
