"""Staff services: departments, hiring, contracts, leave requests and decisions, the team a
manager sees, and purging a leaver. Every door (workbooks, CLI, reports) goes through these.

Who may do what:
- HR (write `staff`) keeps every record, for everyone.
- A manager (write `team`) enters and decides the leave of their own reports, direct or
  indirect, and nobody else's; they cannot decide their own.
- Purging needs the `purge-staff` capability (roles.toml).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Address, Contact
from engine.contacts.services import add_contact
from engine.db.audit import write_audit
from engine.errors import NotFound, PermissionDenied, ValidationFailed
from engine.security.policies import active_policies as load_policies
from engine.security.roles import Actor
from engine.staff import leave
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType, StaffCost

AREA = "staff"
TEAM = "team"


# -- who is who -------------------------------------------------------------------------------

def employee_of(session: Session, actor: Actor) -> Employee | None:
    """The employment record of the signed-in user (None: they are not an employee)."""
    return session.scalars(select(Employee).where(Employee.login == actor.login)).first()


def team_of(session: Session, manager_id: int) -> set[int]:
    """Ids of everyone reporting to the manager, directly or through other managers."""
    reports = dict(session.execute(select(Employee.id, Employee.manager_id)).all())
    team, frontier = set(), {manager_id}
    while frontier:
        frontier = {e for e, boss in reports.items() if boss in frontier} - team - {manager_id}
        team |= frontier
    return team


def visible_employees(session: Session, actor: Actor) -> set[int] | None:
    """The employees `actor` may see: None for everyone (HR), else their team (a manager
    not on the staff list sees nobody)."""
    if actor.may("read", AREA):
        return None
    actor.require("read", TEAM)
    me = employee_of(session, actor)
    return team_of(session, me.id) if me else set()


def _require_over(session: Session, actor: Actor, employee_id: int) -> None:
    """HR may act for anyone; a manager only for their own reports."""
    if actor.may("write", AREA):
        return
    actor.require("write", TEAM)
    me = employee_of(session, actor)
    if me is None or employee_id not in team_of(session, me.id):
        raise PermissionDenied(f"user {actor.login!r} is not a manager of employee {employee_id}: only their "
                               "own managers (or HR) may enter or decide their leave")


# -- records -------------------------------------------------------------------------------

def add_department(session: Session, actor: Actor, code: str, name: str, manager_id: int | None = None) -> Department:
    actor.require("write", AREA)
    department = Department(code=code, name=name, manager_id=manager_id, updated_by=actor.login)
    session.add(department)
    session.flush()
    return department


@dataclass(frozen=True)
class Hire:
    first_name: str
    last_name: str
    country: str
    employee_number: str
    department_id: int
    start_date: date
    job_title: str | None = None
    manager_id: int | None = None
    work_email: str | None = None
    login: str | None = None
    date_of_birth: date | None = None
    national_id: str | None = None
    bank_account: str | None = None


def hire(session: Session, actor: Actor, who: Hire) -> Employee:
    """A new employee: the person in contacts, and their employment record."""
    actor.require("write", AREA)
    problems = []
    if session.get(Department, who.department_id) is None:
        problems.append(f"there is no department {who.department_id}")
    if who.manager_id is not None and session.get(Employee, who.manager_id) is None:
        problems.append(f"there is no employee {who.manager_id} to report to")
    if session.scalars(select(Employee.id).where(Employee.employee_number == who.employee_number)).first():
        problems.append(f"employee number {who.employee_number} is taken")
    if problems:
        raise ValidationFailed(problems)
    person, _ = add_contact(session, actor, {"kind": "person", "first_name": who.first_name,
                                             "last_name": who.last_name, "country": who.country,
                                             "job_title": who.job_title})
    employee = Employee(contact_id=person.id, employee_number=who.employee_number, login=who.login,
                        job_title=who.job_title, department_id=who.department_id, manager_id=who.manager_id,
                        start_date=who.start_date, work_email=who.work_email, date_of_birth=who.date_of_birth,
                        national_id=who.national_id, bank_account=who.bank_account, updated_by=actor.login)
    session.add(employee)
    session.flush()
    return employee


def add_contract(session: Session, actor: Actor, employee_id: int, kind: str, weekly_hours: Decimal,
                 salary: Decimal, currency: str, starts_on: date, ends_on: date | None = None) -> Contract:
    actor.require("write", AREA)
    problems = [] if salary >= 0 else ["a salary cannot be below zero"]
    if not 0 < weekly_hours <= 168:
        problems.append(f"{weekly_hours} is not a number of hours in a week")
    if session.get(Employee, employee_id) is None:
        problems.append(f"there is no employee {employee_id}")
    if problems:
        raise ValidationFailed(problems)
    contract = Contract(employee_id=employee_id, kind=kind, weekly_hours=weekly_hours, salary=salary,
                        currency=currency, starts_on=starts_on, ends_on=ends_on, updated_by=actor.login)
    session.add(contract)
    session.flush()
    return contract


# -- leave -----------------------------------------------------------------------------------

def check_leave(session: Session, employee: Employee, kind: LeaveType, starts_on: date, ends_on: date,
                days: Decimal, leaving_out: int | None = None, counted_already: Decimal = Decimal(0)) -> list[str]:
    """Every reason a request for these dates cannot stand (empty: it can)."""
    problems = []
    if ends_on < starts_on:
        return ["the leave ends before it starts"]
    if starts_on.year != ends_on.year:
        problems.append(f"leave cannot run into the next year: end it on {starts_on.year}-12-31 and request "
                        "the rest separately")
    if days <= 0:
        problems.append("these dates hold no working day")
    if starts_on < employee.start_date or (employee.end_date and ends_on > employee.end_date):
        problems.append("the employee is not employed on all of these dates")
    for other in leave.overlapping(session, employee.id, starts_on, ends_on, leaving_out):
        problems.append(f"overlaps leave request {other.id} ({other.starts_on} to {other.ends_on}, {other.status})")
    if kind.needs_balance and not problems:
        held = leave.balance(session, employee, kind, starts_on.year)
        if days > held.remaining + counted_already:
            problems.append(f"{leave.shown(days)} days of {kind.name.lower()} asked for, "
                            f"{leave.shown(held.remaining + counted_already)} left in {starts_on.year}")
    return problems


def request_leave(session: Session, actor: Actor, employee_id: int, kind_code: str, starts_on: date, ends_on: date,
                  half_day_start: bool = False, half_day_end: bool = False, reason: str | None = None,
                  medical_reason: str | None = None) -> LeaveRequest:
    """Record a request (status requested) if it neither overlaps another request nor goes
    beyond the balance (for types that keep one)."""
    _require_over(session, actor, employee_id)
    employee = session.get(Employee, employee_id)
    kind = session.scalars(select(LeaveType).where(LeaveType.code == kind_code)).first()
    if employee is None or kind is None:
        raise NotFound(f"there is no employee {employee_id}" if employee is None else
                       f"there is no leave type {kind_code!r}")
    if medical_reason is not None and not actor.sees(load_policies().sensitivity("leave_requests", "medical_reason")):
        raise PermissionDenied(f"user {actor.login!r} may not record medical reasons; leave it to HR")
    days = leave.working_days(starts_on, ends_on, half_day_start, half_day_end)
    problems = check_leave(session, employee, kind, starts_on, ends_on, days)
    if problems:
        raise ValidationFailed(problems)
    request = LeaveRequest(employee_id=employee_id, leave_type_id=kind.id, starts_on=starts_on, ends_on=ends_on,
                           half_day_start=half_day_start, half_day_end=half_day_end, days=days, status="requested",
                           reason=reason, medical_reason=medical_reason, updated_by=actor.login)
    session.add(request)
    session.flush()
    return request


def decide_leave(session: Session, actor: Actor, request_id: int, approve: bool,
                 at: datetime | None = None) -> LeaveRequest:
    """Approve or reject a waiting request: its employee's managers (or HR), never the
    employee themselves. `at`: when it was decided (now, unless recording a past decision)."""
    request = session.get(LeaveRequest, request_id)
    if request is None:
        raise NotFound(f"there is no leave request {request_id}")
    _require_over(session, actor, request.employee_id)
    me = employee_of(session, actor)
    if me is not None and me.id == request.employee_id:
        raise PermissionDenied("nobody decides their own leave: ask your manager")
    if request.status != "requested":
        raise ValidationFailed([f"leave request {request_id} was {request.status} already"])
    request.status = "approved" if approve else "rejected"
    request.approver_id = me.id if me else None
    request.decided_at = at or datetime.now(UTC)
    request.updated_by = actor.login
    session.flush()
    return request


# -- purging a leaver -------------------------------------------------------------------------

IDENTIFYING = ("login", "job_title", "work_email", "date_of_birth", "national_id", "bank_account")


def purge_employee(session: Session, actor: Actor, employee_id: int, retention_years: int,
                   today: date | None = None) -> Employee:
    """Remove what identifies a leaver and every sensitive field, once the retention period
    after their last day has passed. Their department, dates and what they cost per month
    stay, so headcount and cost per department and month do not change."""
    actor.require_capability("purge-staff")
    today = today or date.today()
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee {employee_id}")
    if employee.purged_at is not None:
        raise ValidationFailed([f"employee {employee_id} was purged already, on {employee.purged_at:%Y-%m-%d}"])
    if employee.end_date is None:
        raise ValidationFailed([f"employee {employee.employee_number} has not left: give their end date first"])
    until = _years_after(employee.end_date, retention_years)
    if today < until:
        raise ValidationFailed([f"employee {employee.employee_number}'s records must be kept until {until} "
                                f"({retention_years} years after they left on {employee.end_date})"])
    contracts = list(session.scalars(select(Contract).where(Contract.employee_id == employee.id)))
    for month, cost in monthly_costs(employee, contracts).items():
        session.add(StaffCost(department_id=employee.department_id, month=month, employee_id=employee.id, cost=cost,
                              updated_by=actor.login))
    for contract in contracts:
        contract.salary, contract.updated_by = None, actor.login
    for request in session.scalars(select(LeaveRequest).where(LeaveRequest.employee_id == employee.id)):
        request.reason = request.medical_reason = None
        request.updated_by = actor.login
    for field in IDENTIFYING:
        setattr(employee, field, None)
    employee.employee_number = f"PURGED-{employee.id}"
    if employee.contact_id is not None:
        _forget_person(session, actor, employee.contact_id, employee.id)
        employee.contact_id = None
    employee.purged_at, employee.updated_by = datetime.now(UTC), actor.login
    session.flush()
    write_audit(session.connection(), session.info["audit"], [
        {"table_name": "employees", "record_id": employee.id, "action": "purge",
         "changes": {"purged": [None, f"left {employee.end_date}, kept until {until}"]}}])
    return employee


def _forget_person(session: Session, actor: Actor, contact_id: int, employee_id: int) -> None:
    """The person's contact record keeps nothing that names them (other records may still
    point at the row, so it is emptied rather than deleted)."""
    person = session.get(Contact, contact_id)
    for address in session.scalars(select(Address).where(Address.contact_id == contact_id)):
        session.delete(address)
    person.first_name = person.last_name = person.email = person.phone = person.job_title = None
    person.notes = person.tags = person.website = None
    person.name = person.name_key = f"former employee {employee_id}"
    person.updated_by = actor.login


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:   # 29 February
        return day.replace(year=day.year + years, day=28)


# -- aggregates that survive purging ----------------------------------------------------------

def monthly_costs(employee: Employee, contracts: list[Contract]) -> dict[date, Decimal]:
    """What the employee's contracts cost per month: a twelfth of the yearly salary for
    every month the contract ran, in part (a month begun counts as a whole one)."""
    costs: dict[date, Decimal] = {}
    last = employee.end_date or date.today()
    for contract in contracts:
        if contract.salary is None:
            continue
        month = date(contract.starts_on.year, contract.starts_on.month, 1)
        end = min(contract.ends_on or last, last)
        while month <= end:
            costs[month] = costs.get(month, Decimal(0)) + (contract.salary / 12).quantize(Decimal("0.01"))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return costs


@dataclass(frozen=True)
class DepartmentMonth:
    department: str
    month: date
    headcount: int
    cost: Decimal


def department_figures(session: Session, actor: Actor, year: int) -> list[DepartmentMonth]:
    """Headcount (everyone employed on any day of the month) and cost per department and
    month of `year`; purged leavers count through the costs kept when they were purged."""
    actor.require("read", AREA)
    names = dict(session.execute(select(Department.id, Department.name)).all())
    employees = list(session.scalars(select(Employee)))
    contracts: dict[int, list[Contract]] = {}
    for contract in session.scalars(select(Contract)):
        contracts.setdefault(contract.employee_id, []).append(contract)
    kept = {}
    for cost in session.scalars(select(StaffCost)):
        kept.setdefault(cost.employee_id, {})[cost.month] = cost.cost
    figures: dict[tuple[int, date], list] = {}
    for month_number in range(1, 13):
        month = date(year, month_number, 1)
        month_end = date(year + month_number // 12, month_number % 12 + 1, 1)
        for e in employees:
            if e.start_date >= month_end or (e.end_date is not None and e.end_date < month):
                continue
            costs = kept.get(e.id) if e.purged_at else monthly_costs(e, contracts.get(e.id, []))
            slot = figures.setdefault((e.department_id, month), [0, Decimal(0)])
            slot[0] += 1
            slot[1] += (costs or {}).get(month, Decimal(0))
    return [DepartmentMonth(names[d], month, n, cost) for (d, month), (n, cost) in sorted(
        figures.items(), key=lambda item: (names[item[0][0]], item[0][1]))]
