"""The people, their sensitive values and the `staff` fixture of test_staff_workbooks.py and test_file_permissions.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from engine.staff.models import LeaveType
from engine.staff.services import Hire, add_contract, add_department, hire, request_leave
from tests.conftest import actor_with

HANA = actor_with("hr", login="hana")
MO = actor_with("manager", login="mo")       # heads sales: lee and (through lee) ann
LEE = actor_with("manager", login="lee")     # manages ann
MEG = actor_with("manager", login="meg")     # heads operations: ola
YEAR = date.today().year


def weekday(month: int, day: int) -> date:
    """The first working day on or after the date, this year."""
    found = date(YEAR, month, day)
    while found.weekday() >= 5:
        found += timedelta(days=1)
    return found


def monday(month: int, day: int) -> date:
    """The first Monday on or after the date, this year."""
    found = date(YEAR, month, day)
    return found + timedelta(days=(7 - found.weekday()) % 7)


ANN_ANNUAL = (monday(3, 2), monday(3, 2) + timedelta(days=11))       # two working weeks: 10 days

# The sensitive values, each unusual enough that finding it anywhere means it leaked.
SENSITIVE = {
    "mo": {"salary": D("91234.57"), "national_id": "QQ918273A", "bank_account": "GB82WEST12345698765432",
           "date_of_birth": date(1971, 4, 17)},
    "lee": {"salary": D("67345.18"), "national_id": "QQ564738B", "bank_account": "DE89370400440532013000",
            "date_of_birth": date(1983, 7, 19)},
    "ann": {"salary": D("48456.29"), "national_id": "QQ102938C", "bank_account": "FR1420041010050500013M02606",
            "date_of_birth": date(1994, 11, 23)},
    "meg": {"salary": D("88567.31"), "national_id": "QQ475869D", "bank_account": "NL91ABNA0417164300",
            "date_of_birth": date(1968, 2, 29)},
    "ola": {"salary": D("51678.42"), "national_id": "QQ394857E", "bank_account": "BE68539007547034",
            "date_of_birth": date(1999, 9, 9)},
}
MEDICAL = {"ann": "chronic migraine XJ7", "ola": "fractured wrist QZ9"}


@pytest.fixture
def staff(db):
    """Sales (mo > lee > ann) and operations (meg > ola), everyone with a contract and the
    sensitive fields above; annual leave (20 days, kept to a balance) and sick leave (no
    balance); ann has 10 days of annual leave requested and a sick day with a medical reason,
    ola a sick day with one."""
    with db.unit_of_work(HANA) as session:
        sales = add_department(session, HANA, "SAL", "Sales")
        ops = add_department(session, HANA, "OPS", "Operations")
        annual = LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                           updated_by="hana")
        session.add_all([annual, LeaveType(code="sick", name="Sick leave", updated_by="hana")])
        session.flush()
        ids = {"annual": annual.id}

        def person(login, number, dept, boss=None, signs_in=True):
            private = SENSITIVE[login]
            employee = hire(session, HANA, Hire(login.title(), "Example", "GB", number, dept.id, date(YEAR, 1, 1),
                                                job_title=f"{login.title()}'s job", manager_id=boss,
                                                login=login if signs_in else None,
                                                national_id=private["national_id"],
                                                bank_account=private["bank_account"],
                                                date_of_birth=private["date_of_birth"]))
            add_contract(session, HANA, employee.id, "permanent", D(40), private["salary"], "EUR", date(YEAR, 1, 1))
            ids[login] = employee.id
            return employee.id

        person("mo", "E1", sales)
        person("lee", "E2", sales, ids["mo"])
        person("ann", "E3", sales, ids["lee"], signs_in=False)
        person("meg", "E4", ops)
        person("ola", "E5", ops, ids["meg"], signs_in=False)
        ids["sales"], ids["ops"] = sales.id, ops.id
        ids["ann annual"] = request_leave(session, HANA, ids["ann"], "annual", *ANN_ANNUAL).id
        ids["ann sick"] = request_leave(session, HANA, ids["ann"], "sick", weekday(5, 4), weekday(5, 4),
                                        medical_reason=MEDICAL["ann"]).id
        ids["ola sick"] = request_leave(session, HANA, ids["ola"], "sick", weekday(5, 11), weekday(5, 11),
                                        reason="doctor", medical_reason=MEDICAL["ola"]).id
    return ids
