"""`backoffice assets ...` and `backoffice staff leaving` as the office runs them (in-process,
on SQLite: the services underneath are tested on both databases in test_assets.py)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import Settings
from engine.db.session import Database
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.staff.models import Department, Employee


@pytest.fixture
def office(tmp_path):
    url = f"sqlite:///{tmp_path / 'backoffice.db'}"
    db = Database.open(Settings(database_url=url), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "mia", "Mia", ["manager"], None)
        add_user(session, SYSTEM, "hana", "Hana", ["hr"], None)
        dept = Department(code="OPS", name="Operations", updated_by="t")
        session.add(dept)
        session.flush()
        session.add_all([Employee(employee_number=n, department_id=dept.id, start_date=date(2020, 1, 1),
                                  updated_by="t") for n in ("E1", "E2")])
    db.dispose()

    def run(*args: str, user: str = "mia", as_json: bool = True):
        result = CliRunner().invoke(app, ["--database-url", url, *args, *(["--json"] if as_json else []),
                                          "--user", user])
        text = result.stdout if result.exit_code == 0 else result.stderr
        return result.exit_code, json.loads(text) if as_json and text.strip() else text

    return run


def test_an_asset_is_registered_assigned_depreciated_and_disposed_of_from_the_command_line(office):
    code, added = office("assets", "add", "LAP-1", "--description", "Laptop 14in", "--category", "laptops",
                         "--purchased", "2025-03-12", "--cost", "1200.00", "--life", "36")
    assert code == 0, added
    assert (added["tag"], added["cost"], added["method"], added["residual_value"]) == (
        "LAP-1", "1200.00", "straight_line", "0.00")
    code, refused = office("assets", "add", "MCH-1", "--description", "Press", "--category", "machines",
                           "--purchased", "2025-01-20", "--cost", "10000", "--life", "60",
                           "--method", "declining-balance")
    assert code == 1 and [(p["field"], p["code"]) for p in refused["problems"]] == [("declining_rate", "rate")]

    assert office("assets", "assign", "LAP-1", "E1", "--on", "2025-04-01")[1]["employee"] == "E1"
    code, twice = office("assets", "assign", "LAP-1", "E2", "--on", "2025-05-01")
    assert code == 1 and [(p["field"], p["code"]) for p in twice["problems"]] == [("employee_id", "assigned")]

    code, run = office("assets", "depreciate", "--through", "2025-06")
    assert code == 0 and run["months"] == [
        {"month": m, "assets": 1, "depreciation": "33.33", "in_books": False} for m in ("2025-04", "2025-05",
                                                                                          "2025-06")]
    assert office("assets", "depreciate", "--through", "2025-06")[1]["months"] == []       # nothing twice
    assert "nothing to record" in office("assets", "depreciate", "--through", "2025-06", as_json=False)[1]
    schedule = office("assets", "schedule", "LAP-1")[1]["months"]
    assert len(schedule) == 36 and schedule[-1]["depreciation"] == "33.45"
    assert [m["recorded"] for m in schedule[:4]] == [True, True, True, False]
    value = office("assets", "value", "--on", "2025-06-30")[1]
    assert value["categories"] == [{"category": "laptops", "assets": 1, "cost": "1200.00",
                                    "accumulated_depreciation": "99.99", "book_value": "1100.01"}]

    code, checklist = office("staff", "leaving", "E1", user="hana")
    assert code == 0, checklist
    assert {"module": "admin", "item": "return asset LAP-1 (Laptop 14in)"} in checklist["items"]
    assert checklist["last_day"] is None

    code, disposed = office("assets", "dispose", "LAP-1", "--on", "2025-08-10", "--proceeds", "500",
                            "--reason", "sold")
    assert code == 0, disposed
    assert (disposed["disposed_on"], disposed["employee"], disposed["assignments"][0]["returned_on"]) == (
        "2025-08-10", None, "2025-08-10")
    assert office("assets", "list")[1] == []
    assert [r["tag"] for r in office("assets", "list", "--disposed")[1]] == ["LAP-1"]
    text = office("assets", "show", "LAP-1", as_json=False)[1]
    assert "disposed of on 2025-08-10 for 500.00: sold" in text
    assert office("staff", "leaving", "E1", user="hana")[1]["items"][-1]["module"] == "staff"
    office("assets", "add", "MCH-1", "--description", "Press", "--category", "machines", "--purchased", "2025-01-20",
           "--cost", "10000", "--life", "60", "--method", "declining-balance", "--rate", "0.2")
    assert "declining balance at 20% a year over 60 months" in office("assets", "show", "MCH-1", as_json=False)[1]
