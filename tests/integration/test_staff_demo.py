"""The demo's staff, built on SQLite and PostgreSQL: about 60 employees in 6 departments, each
department with a manager under the managing director, team leads below some of them; the demo
manager's team reaching past their direct reports; a year of leave that the services accepted
(no two requests of one person overlapping, no annual balance below zero), decided by each
employee's own manager; and two leavers, one long enough gone to be purged."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from faker import Faker
from sqlalchemy.orm import aliased

from engine.demo import DEMO_USERS, SEED, build_demo
from engine.errors import ValidationFailed
from engine.security.roles import SYSTEM
from engine.security.users import resolve_actor
from engine.staff import leave
from engine.staff.demo import COUNTRIES, END, START, YEAR_END, plan_leave, plan_people
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType
from engine.staff.services import purge_employee, team_of

MANAGER = next(login for login, _, roles in DEMO_USERS if "manager" in roles)
HR = next(login for login, _, roles in DEMO_USERS if "hr" in roles)


def _plan(seed=f"staff-{SEED}"):
    fakers = {code: Faker(locale) for code, (locale, _) in COUNTRIES.items()}
    for n, fake in enumerate(fakers.values()):
        fake.seed_instance(n)
    rng = random.Random(seed)
    plan = plan_people(rng, fakers, DEMO_USERS)
    plan_leave(rng, plan)
    return plan


def test_the_plan_is_the_same_every_run_and_every_employee_reports_up_to_the_director():
    plan = _plan()
    assert plan == _plan() and plan != _plan("another seed")
    assert 55 <= len(plan.people) <= 65
    assert [n for n, p in enumerate(plan.people) if p.boss is None] == [0]
    for n, person in enumerate(plan.people):
        assert person.boss is None or person.boss < n     # a manager is hired before their reports
        assert person.end is None or person.start < person.end
        assert all(c.salary == c.salary.to_integral_value() and c.salary > 0 for c in person.contracts)
    assert {p.login for p in plan.people} >= {login for login, _, roles in DEMO_USERS if "admin" not in roles}
    for item in plan.leave:
        assert START <= item.starts_on <= item.ends_on <= YEAR_END and item.starts_on.year == item.ends_on.year
        assert (item.outcome == "requested") == (item.starts_on > END)


@pytest.fixture
def staff_demo(db):
    """The demo's users, contacts and staff (the stock and the books are left out: the other
    demo tests build those, staff included)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        return build_demo(session, only=("users", "contacts", "staff")).created


def test_the_demo_staff_are_six_departments_under_a_director_with_team_leads(db, staff_demo):
    assert 55 <= staff_demo["employees"] <= 65 and staff_demo["departments"] == 6
    with db.reading() as session:
        employees = {e.id: e for e in session.scalars(sa.select(Employee))}
        departments = session.scalars(sa.select(Department)).all()
        assert len(employees) == staff_demo["employees"] and len(departments) == 6
        [director] = [e for e in employees.values() if e.manager_id is None]
        for department in departments:
            head = employees[department.manager_id]
            assert head.department_id == department.id and head.manager_id == director.id and head.login
        leads = [e for e in employees.values() if e.manager_id in {d.manager_id for d in departments}
                 and any(x.manager_id == e.id for x in employees.values())]
        assert len(leads) >= 4 and all(lead.login for lead in leads)

        for e in employees.values():
            assert e.employee_number and e.job_title and e.work_email and e.date_of_birth
            assert e.national_id.startswith("DEMO-") and e.bank_account[2:4] == "00" and len(e.bank_account) <= 34
            assert e.end_date is None or e.start_date < e.end_date
        contracts = session.scalars(sa.select(Contract)).all()
        assert {c.employee_id for c in contracts} == set(employees)
        kinds = Counter(c.kind for c in contracts)
        assert kinds["permanent"] > kinds["fixed-term"] > kinds["casual"] > 0
        assert all(c.currency == "EUR" and c.salary == c.salary.to_integral_value() > 0 for c in contracts)

        mia = session.scalars(sa.select(Employee).where(Employee.login == MANAGER)).one()
        assert mia.id in {d.manager_id for d in departments}
        team = team_of(session, mia.id)
        direct = {e.id for e in employees.values() if e.manager_id == mia.id}
        assert direct and team > direct                                      # indirect reports too
        assert all(employees[e].department_id == mia.department_id for e in team)
        hana = session.scalars(sa.select(Employee).where(Employee.login == HR)).one()
        assert session.get(Department, hana.department_id).code == "HR"
        assert "hr" in resolve_actor(session, HR).role_names


def test_a_year_of_leave_that_keeps_the_rules_and_is_decided_by_each_ones_manager(db, staff_demo):
    with db.reading() as session:
        requests = session.scalars(sa.select(LeaveRequest)).all()
        assert len(requests) == staff_demo["leave requests"] and 200 <= len(requests) <= 400
        kinds = {t.id: t for t in session.scalars(sa.select(LeaveType))}
        assert {t.code for t in kinds.values()} >= {"annual", "sick", "unpaid"}
        annual = next(t for t in kinds.values() if t.code == "annual")
        assert (annual.yearly_allowance, annual.needs_balance, annual.carry_over_days) == (25, True, 5)
        statuses = Counter(r.status for r in requests)
        assert statuses.keys() == {"approved", "rejected", "requested"}
        assert statuses["approved"] > 10 * statuses["rejected"] > 0

        employees = {e.id: e for e in session.scalars(sa.select(Employee))}
        hana = session.scalars(sa.select(Employee).where(Employee.login == HR)).one()
        for r in requests:
            e = employees[r.employee_id]
            assert e.start_date <= r.starts_on and (e.end_date is None or r.ends_on <= e.end_date)
            assert START <= r.starts_on and r.ends_on <= YEAR_END
            if r.status == "requested":
                assert r.starts_on > END and r.approver_id is None
            else:                                          # decided by their own manager (HR for the director)
                assert r.ends_on <= END and r.approver_id == (e.manager_id or hana.id)
            assert r.days == leave.working_days(r.starts_on, r.ends_on, r.half_day_start, r.half_day_end) > 0

        a, b = aliased(LeaveRequest), aliased(LeaveRequest)
        overlaps = session.scalar(sa.select(sa.func.count()).select_from(a).join(b, sa.and_(
            a.employee_id == b.employee_id, a.id < b.id, a.starts_on <= b.ends_on, a.ends_on >= b.starts_on))
            .where(a.status.in_(leave.COUNTED), b.status.in_(leave.COUNTED)))
        assert overlaps == 0
        for e in employees.values():
            for year in (START.year, END.year):
                if e.start_date.year <= year and (e.end_date is None or e.end_date.year >= year):
                    assert leave.balance(session, e, annual, year).remaining >= 0, (e.employee_number, year)

        sick = [r for r in requests if kinds[r.leave_type_id].code == "sick"]
        assert len(sick) >= 20 and 5 <= sum(1 for r in sick if r.medical_reason) < len(sick)
        assert all(r.medical_reason is None for r in requests if kinds[r.leave_type_id].code != "sick")
        assert any(r.half_day_end for r in requests) and any(r.days >= 10 for r in requests)
        taken = sum((r.days for r in requests if r.status == "approved" and r.leave_type_id == annual.id), D(0))
        assert 10 * len(employees) <= taken <= 25 * len(employees)


def test_one_leaver_may_be_purged_the_other_not_yet_and_a_second_run_changes_nothing(db, settings, staff_demo):
    years = settings.staff.retention_years
    with db.reading() as session:
        leavers = session.scalars(sa.select(Employee).where(Employee.end_date.is_not(None))
                                  .order_by(Employee.end_date)).all()
        hr = resolve_actor(session, HR)
    assert 2 <= len(leavers) <= 3
    old, recent = leavers[0], leavers[-1]
    assert old.end_date.replace(year=old.end_date.year + years) < END < recent.end_date.replace(
        year=recent.end_date.year + years)
    with db.unit_of_work(hr) as session:
        purged = purge_employee(session, hr, old.id, years, today=END)
        assert purged.purged_at is not None and purged.national_id is None
    with pytest.raises(ValidationFailed, match="must be kept until"):
        with db.unit_of_work(hr) as session:
            purge_employee(session, hr, recent.id, years, today=END)

    with db.unit_of_work(SYSTEM, source="system") as session:
        again = build_demo(session)
    assert again.already_present and not again.created
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(Employee.id))) == staff_demo["employees"]
        assert session.scalar(sa.select(sa.func.count(Department.id))) == 6
        assert session.scalar(sa.select(sa.func.count(LeaveRequest.id))) == staff_demo["leave requests"]
