"""The asset register over HTTP (the real application in-process, on SQLite and PostgreSQL): an
asset added, assigned, refused a second holder with the services' field and code, returned,
depreciated and disposed of; each read answering what `backoffice assets ... --json` prints."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from engine.security.roles import SYSTEM
from engine.staff.models import Department, Employee

LAPTOP = {"tag": "LAP-1", "description": "Laptop 14in", "category": "laptops", "purchased_on": "2025-03-12",
          "cost": "1200.00", "useful_life_months": 36}


@pytest.fixture
def staffed(people_db):
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        dept = Department(code="OPS", name="Operations", updated_by="t")
        session.add(dept)
        session.flush()
        session.add_all([Employee(employee_number=n, department_id=dept.id, start_date=date(2020, 1, 1),
                                  updated_by="t") for n in ("E1", "E2")])
    return people_db


def cli(db, *args: str) -> object:
    from engine.cli import app  # here: the command line, beside the server, on the same database

    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", "ada"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_asset_is_added_assigned_depreciated_and_disposed_of_over_http(api, staffed):
    ada, stef = api.as_("ada"), api.as_("stef")
    made = api.post("/admin/assets", json=LAPTOP, headers=ada)
    assert made.status_code == 201, made.text
    assert (made.json()["cost"], made.json()["method"]) == ("1200.00", "straight_line")
    refused = api.post("/admin/assets", json={**LAPTOP, "tag": "lap-1", "cost": "12.345"}, headers=ada)
    assert refused.status_code == 422
    assert {(p["field"], p["code"]) for p in refused.json()["problems"]} == {("tag", "duplicate"), ("cost", "places")}
    assert api.post("/admin/assets", json={**LAPTOP, "tag": "X"}, headers=stef).status_code == 403   # reads only

    given = api.post("/admin/assets/LAP-1/assign", json={"employee": "E1", "on": "2025-04-01"}, headers=ada)
    assert given.status_code == 200 and given.json()["employee"] == "E1"
    twice = api.post("/admin/assets/LAP-1/assign", json={"employee": "E2", "on": "2025-05-01"}, headers=ada)
    assert twice.status_code == 422
    assert [(p["field"], p["code"]) for p in twice.json()["problems"]] == [("employee_id", "assigned")]
    back = api.post("/admin/assets/LAP-1/return", json={"on": "2025-05-01"}, headers=ada)
    assert back.status_code == 200 and back.json()["employee"] is None

    run = api.post("/admin/asset-depreciation", json={"through": "2025-05"}, headers=ada)
    assert run.status_code == 200 and [m["month"] for m in run.json()["months"]] == ["2025-04", "2025-05"]
    value = api.get("/admin/asset-value", params={"on": "2025-05-31"}, headers=stef)
    assert value.json()["total"] == {"assets": 1, "cost": "1200.00", "accumulated_depreciation": "66.66",
                                     "book_value": "1133.34"}
    assert value.json() == cli(staffed, "assets", "value", "--on", "2025-05-31")

    shown = api.get("/admin/assets/LAP-1", headers=stef)
    assert shown.headers["ETag"] == f'"{shown.json()["version"]}"'
    assert shown.json() == cli(staffed, "assets", "show", "LAP-1")
    assert [r["tag"] for r in api.get("/admin/assets", headers=stef).json()["items"]] == ["LAP-1"]
    assert api.get("/admin/assets/LAP-1/schedule", headers=stef).json() == cli(staffed, "assets", "schedule", "LAP-1")

    changed = api.patch("/admin/assets/LAP-1", json={"location": "HQ", "cost": "1000"},
                        headers={**ada, "If-Match": shown.headers["ETag"]})
    assert [(p["field"], p["code"]) for p in changed.json()["problems"]] == [("cost", "fixed")]
    changed = api.patch("/admin/assets/LAP-1", json={"location": "HQ"}, headers={**ada, "If-Match": shown.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["location"] == "HQ"
    stale = api.patch("/admin/assets/LAP-1", json={"location": "Attic"}, headers={**ada, "If-Match": shown.headers["ETag"]})
    assert stale.status_code == 412

    early = api.post("/admin/assets/LAP-1/dispose", json={"on": "2025-05-20"}, headers=ada)
    assert [(p["field"], p["code"]) for p in early.json()["problems"]] == [("disposed_on", "posted_after")]
    gone = api.post("/admin/assets/LAP-1/dispose", json={"on": "2025-06-20", "proceeds": "700", "reason": "sold"},
                    headers=ada)
    assert gone.status_code == 200 and gone.json()["disposal_proceeds"] == "700.00"
    assert api.get("/admin/assets", headers=stef).json()["items"] == []
    assert api.get("/staff/employees/E1/leaving", headers=ada).json()["items"][0]["module"] == "staff"
