"""Staff over HTTP: hiring with an HR token, reading back with a manager's token without a
sensitive field anywhere, leave requested and approved by the employee's manager (a stranger
refused), If-Match and Idempotency-Key on employees, the same problem codes as the services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.staff.models import Employee, LeaveRequest, LeaveType
from engine.staff.services import Hire, add_contract, add_department, hire
from tests.conftest import actor_with

HANA = actor_with("hr", login="hana")
SENSITIVE = ("date_of_birth", "national_id", "bank_account", "salary", "medical_reason",
             "1977-07-07", "QQ123456C", "GB29NWBK60161331926819", "48000", "migraine")


@pytest.fixture
def staff(people_db):
    """hana (HR); Sales headed by mo, with lee reporting to mo; ops headed by meg; annual
    leave of 20 days held to a balance, sick leave without one."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("hana", "hr"), ("mo", "manager"), ("meg", "manager"), ("lee", "staff")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
    with people_db.unit_of_work(HANA) as session:
        sales = add_department(session, HANA, "SAL", "Sales")
        ops = add_department(session, HANA, "OPS", "Operations")
        session.add_all([LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                                   carry_over_days=D(5), updated_by="hana"),
                         LeaveType(code="sick", name="Sick leave", updated_by="hana")])

        def person(number, first, dept, boss=None, login=None):
            return hire(session, HANA, Hire(first, "Test", "GB", number, dept.id, date(2025, 1, 6),
                                            manager_id=boss, login=login))

        mo = person("E1", "Mo", sales, login="mo")
        lee = person("E2", "Lee", sales, mo.id, login="lee")
        person("E4", "Meg", ops, login="meg")
        add_contract(session, HANA, lee.id, "permanent", D(40), D("36000"), "EUR", date(2025, 1, 6))
    return people_db


def count(db, model) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def hire_ann(api, **more):
    body = {"first_name": "Ann", "last_name": "Lane", "country": "GB", "employee_number": "E7", "department": "SAL",
            "start_date": "2026-01-05", "manager": "E2", "date_of_birth": "1977-07-07",
            "national_id": "QQ123456C", "bank_account": "GB29NWBK60161331926819", **more}
    return api.post("/staff/employees", json=body, headers={**api.as_("hana"), "Idempotency-Key": "hire-ann"})


def test_hired_over_http_by_hr_and_read_back_by_a_manager_without_any_sensitive_field(api, staff):
    hired = hire_ann(api)
    assert hired.status_code == 201, hired.text
    assert hired.json()["national_id"] == "QQ123456C" and hired.json()["date_of_birth"] == "1977-07-07"
    contract = api.post("/staff/employees/E7/contracts", headers=api.as_("hana"),
                        json={"kind": "permanent", "weekly_hours": "37.5", "salary": "48000", "starts_on": "2026-01-05"})
    assert contract.status_code == 201 and D(contract.json()["salary"]) == 48000
    assert api.post("/staff/leave", headers=api.as_("hana"), json={
        "employee": "E7", "leave_type": "sick", "starts_on": "2026-02-02", "ends_on": "2026-02-02",
        "medical_reason": "migraine"}).status_code == 201

    mo = api.as_("mo")                       # Ann reports to Lee, who reports to Mo
    replies = [api.get("/staff/employees/E7", params={"year": 2026}, headers=mo),
               api.get("/staff/employees", headers=mo), api.get("/staff/leave", headers=mo),
               api.get("/staff/leave/balance", params={"employee": "E7", "year": 2026}, headers=mo),
               api.get("/staff/departments", headers=mo)]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        text = reply.text + str(reply.headers)
        assert not [s for s in SENSITIVE if s in text], (reply.url, text)
    shown = replies[0].json()
    assert (shown["name"], shown["department"], shown["manager"]) == ("Ann Lane", "SAL", "E2")
    assert D(shown["contracts"][0]["weekly_hours"]) == D("37.5") and shown["leave"][0]["leave_type"] == "sick"
    assert "E7" in [e["employee_number"] for e in replies[1].json()["items"]]
    # a manager of another team, and a role without staff records, get nothing
    assert api.get("/staff/employees/E7", headers=api.as_("meg")).status_code == 403
    refused = api.get("/staff/employees/E7", headers=api.as_("sam"))
    assert refused.status_code == 403 and not [s for s in SENSITIVE if s in refused.text]
    assert api.get("/staff/costs", params={"year": 2026}, headers=mo).status_code == 403


def test_a_retried_hire_hires_once_and_a_refused_hire_names_the_services_problems(api, staff):
    before = count(staff, Employee)
    first, again = hire_ann(api), hire_ann(api)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and first.json()["id"] == again.json()["id"]
    assert count(staff, Employee) == before + 1
    bad = api.post("/staff/employees", headers=api.as_("hana"), json={
        "first_name": "Bo", "last_name": "Bad", "country": "ZZ", "employee_number": "E7", "department": "SAL",
        "start_date": "2026-01-05"})
    assert bad.status_code == 422
    assert {(p["field"], p["code"]) for p in bad.json()["problems"]} >= {("employee_number", "duplicate")}
    assert api.post("/staff/employees", headers=api.as_("mo"), json={
        "first_name": "Bo", "last_name": "Bad", "country": "GB", "employee_number": "E9", "department": "SAL",
        "start_date": "2026-01-05"}).status_code == 403
    assert count(staff, Employee) == before + 1


def test_an_employee_update_needs_if_match_and_a_stale_one_changes_nothing(api, staff):
    hr = api.as_("hana")
    tag = api.get("/staff/employees/E2", headers=hr).headers["ETag"]
    assert api.patch("/staff/employees/E2", json={"job_title": "Lead"}, headers=hr).status_code == 428
    changed = api.patch("/staff/employees/E2", json={"first_name": "Leigh"}, headers={**hr, "If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Leigh Test" and changed.headers["ETag"] != tag   # a new version
    stale = api.patch("/staff/employees/E2", json={"job_title": "Boss"}, headers={**hr, "If-Match": tag})
    assert stale.status_code == 412 and stale.json()["current"]["name"] == "Leigh Test"
    assert api.get("/staff/employees/E2", headers=hr).json()["job_title"] is None


def test_leave_requested_for_an_employee_is_approved_by_their_manager_and_a_stranger_is_refused(api, staff):
    # Lee (role staff) may not enter leave: the services let HR and the employee's managers do it
    own = api.post("/staff/leave", headers=api.as_("lee"), json={
        "employee": "E2", "leave_type": "annual", "starts_on": "2026-03-02", "ends_on": "2026-03-06"})
    assert own.status_code == 403 and own.json()["code"] == "permission"
    asked = api.post("/staff/leave", headers={**api.as_("hana"), "Idempotency-Key": "lee-march"}, json={
        "employee": "E2", "leave_type": "annual", "starts_on": "2026-03-02", "ends_on": "2026-03-06",
        "reason": "holiday"})
    assert asked.status_code == 201, asked.text
    assert (asked.json()["status"], D(asked.json()["days"])) == ("requested", 5)
    request_id = asked.json()["id"]

    stranger = api.post(f"/staff/leave/{request_id}/approve", headers=api.as_("meg"))
    assert stranger.status_code == 403
    assert [(p["field"], p["code"]) for p in stranger.json()["problems"]] == [("status", "permission")]
    approved = api.post(f"/staff/leave/{request_id}/approve", headers=api.as_("mo"))
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "E1")
    again = api.post(f"/staff/leave/{request_id}/reject", headers=api.as_("mo"))
    assert again.status_code == 422 and again.json()["code"] == "decided"

    over = api.post("/staff/leave", headers=api.as_("mo"), json={
        "employee": "E2", "leave_type": "annual", "starts_on": "2026-06-01", "ends_on": "2026-07-31"})
    assert over.status_code == 422 and over.json()["problems"][0]["code"] == "over_balance"
    balance = api.get("/staff/leave/balance", params={"employee": "E2", "year": 2026}, headers=api.as_("mo")).json()
    annual = next(r for r in balance["leave"] if r["leave_type"] == "annual")
    assert (D(annual["taken"]), D(annual["remaining"])) == (5, 20)   # 20 and 5 carried over
    assert count(staff, LeaveRequest) == 1


def test_departments_leave_types_and_costs_as_hr_sees_them(api, staff):
    hr = api.as_("hana")
    added = api.post("/staff/departments", json={"code": "FIN", "name": "Finance", "manager": "E1"}, headers=hr)
    assert added.status_code == 201 and added.json()["manager_name"] == "Mo Test"
    assert api.post("/staff/departments", json={"code": "FIN", "name": "Again"}, headers=hr).json()["problems"][0][
        "code"] == "duplicate"
    assert [d["code"] for d in api.get("/staff/departments", params={"sort": "code"}, headers=hr).json()["items"]] == [
        "FIN", "OPS", "SAL"]
    kind = api.post("/staff/leave-types", json={"code": "study", "name": "Study leave", "days_a_year": "5"}, headers=hr)
    assert kind.status_code == 201 and D(kind.json()["days_a_year"]) == 5
    assert len(api.get("/staff/leave-types", headers=hr).json()["items"]) == 3
    costs = api.get("/staff/costs", params={"year": 2026}, headers=hr).json()
    assert D(costs["total_cost"]) == 36000
    assert api.get("/staff/employees", params={"department": "SAL", "sort": "-employee_number", "limit": 1},
                   headers=hr).json()["total"] == 2
