"""Staff look-ups the command line needs beside `engine.staff.services`: finding an employee,
a department or a leave type by the code people type, the lists a user may see, and the
two small writes the services do not offer yet (a leave type, an employee's last day).

Who may see whom is the services' rule (`services.visible_employees`: HR everyone, a
manager their own reports); these functions only apply it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, PermissionDenied, ValidationFailed
from engine.security.roles import Actor
from engine.staff.leave import COUNTED
from engine.staff.models import Department, Employee, LeaveRequest, LeaveType
from engine.staff.services import AREA, TEAM, visible_employees

# -- who may look -----------------------------------------------------------------------------


def require_reader(actor: Actor) -> None:
    """HR (read `staff`) or a manager (read `team`); anyone else is refused, saying so."""
    if not (actor.may("read", AREA) or actor.may("read", TEAM)):
        raise PermissionDenied(f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not read staff "
                               "records: they are for HR, and for managers their own team; ask an administrator "
                               "for a role that allows it.")


def visible(session: Session, actor: Actor) -> set[int] | None:
    """The employees `actor` may see (None: everyone)."""
    require_reader(actor)
    return visible_employees(session, actor)


# -- by the codes people type -----------------------------------------------------------------

def _by_code(session: Session, model, column, code: str):
    """Exact match first; else the one record matching without regard to case."""
    code = code.strip()
    found = session.scalars(select(model).where(column == code)).first()
    if found is None:
        matches = session.scalars(select(model).where(func.upper(column) == code.upper())).all()
        found = matches[0] if len(matches) == 1 else None
    return found


def find_employee(session: Session, number: str) -> Employee:
    found = _by_code(session, Employee, Employee.employee_number, number)
    if found is None:
        raise NotFound(f"there is no employee with the number {number.strip()!r}; `backoffice staff list` "
                       "(and `staff list --leavers`) shows the numbers")
    return found


def find_visible_employee(session: Session, actor: Actor, number: str) -> Employee:
    """The employee, if `actor` may see them (a manager: only their own reports)."""
    allowed = visible(session, actor)
    employee = find_employee(session, number)
    if allowed is not None and employee.id not in allowed:
        raise PermissionDenied(f"employee {employee.employee_number} is not in your team: managers see only the "
                               "people who report to them, directly or through other managers")
    return employee


def find_department(session: Session, code: str) -> Department:
    found = _by_code(session, Department, Department.code, code)
    if found is None:
        raise NotFound(f"there is no department {code.strip()!r}; `backoffice staff departments` lists them")
    return found


def find_leave_type(session: Session, code: str) -> LeaveType:
    found = _by_code(session, LeaveType, LeaveType.code, code)
    if found is None:
        raise NotFound(f"there is no leave type {code.strip()!r}; `backoffice staff leave types` lists them")
    return found


# -- lists ------------------------------------------------------------------------------------

def employed_on(day: date):
    """A condition: employed on `day`."""
    return (Employee.start_date <= day) & or_(Employee.end_date.is_(None), Employee.end_date >= day)


def employees(session: Session, allowed: Collection[int] | None, department_id: int | None = None,
              leavers: bool = False, today: date | None = None) -> list[Employee]:
    """Current staff (started or starting, not yet gone), or with `leavers` those whose last
    day has passed, by employee number."""
    today = today or date.today()
    query = select(Employee).order_by(Employee.employee_number)
    if leavers:
        query = query.where(Employee.end_date < today)
    else:
        query = query.where(or_(Employee.end_date.is_(None), Employee.end_date >= today))
    if department_id is not None:
        query = query.where(Employee.department_id == department_id)
    if allowed is not None:
        query = query.where(Employee.id.in_(allowed))
    return list(session.scalars(query))


def headcounts(session: Session, today: date | None = None) -> dict[int, int]:
    """Employees per department id on `today`."""
    today = today or date.today()
    return dict(session.execute(select(Employee.department_id, func.count(Employee.id))
                                .where(employed_on(today)).group_by(Employee.department_id)).all())


def leave_requests(session: Session, allowed: Collection[int] | None, employee_id: int | None = None,
                   status: str | None = None, year: int | None = None) -> list[LeaveRequest]:
    query = select(LeaveRequest).order_by(LeaveRequest.starts_on, LeaveRequest.id)
    if allowed is not None:
        query = query.where(LeaveRequest.employee_id.in_(allowed))
    if employee_id is not None:
        query = query.where(LeaveRequest.employee_id == employee_id)
    if status is not None:
        query = query.where(LeaveRequest.status == status)
    if year is not None:
        query = query.where(LeaveRequest.starts_on >= date(year, 1, 1), LeaveRequest.starts_on <= date(year, 12, 31))
    return list(session.scalars(query))


def person_name(session: Session, employee: Employee | None) -> str:
    """The name in contacts ("(purged)" once a leaver's data is removed)."""
    if employee is None:
        return ""
    person = session.get(Contact, employee.contact_id) if employee.contact_id else None
    return person.name if person is not None else "(purged)"


# -- small writes the services do not offer yet -----------------------------------------------

def add_leave_type(session: Session, actor: Actor, code: str, name: str, yearly_allowance: Decimal,
                   needs_balance: bool = False, carry_over_days: Decimal = Decimal(0)) -> LeaveType:
    """A new leave type (HR): how many days a year, held to a balance or not, and how many
    unused days carry over into the next year."""
    actor.require("write", AREA)
    problems = []
    if not code or not name:
        problems.append("a leave type needs a code and a name")
    elif _by_code(session, LeaveType, LeaveType.code, code) is not None:
        problems.append(f"there is a leave type {code!r} already; `backoffice staff leave types` lists them")
    if not 0 <= yearly_allowance <= 366:
        problems.append(f"{yearly_allowance} is not a number of days in a year")
    if carry_over_days < 0:
        problems.append("the days carried over cannot be below zero")
    if carry_over_days and not needs_balance:
        problems.append("days carry over only for leave held to a balance: add --balance")
    if problems:
        raise ValidationFailed(problems)
    kind = LeaveType(code=code, name=name, yearly_allowance=yearly_allowance, needs_balance=needs_balance,
                     carry_over_days=carry_over_days, updated_by=actor.login)
    session.add(kind)
    session.flush()
    return kind


def record_last_day(session: Session, actor: Actor, employee: Employee, last_day: date) -> list[LeaveRequest]:
    """Set when an employee leaves (HR). Returns their requested or approved leave after that
    day, which no longer counts against anything (the caller says so)."""
    actor.require("write", AREA)
    if employee.purged_at is not None:
        raise ValidationFailed([f"employee {employee.employee_number} was purged: their dates stay as they are"])
    if last_day < employee.start_date:
        raise ValidationFailed([f"the last day {last_day} is before employee {employee.employee_number} "
                                f"started, on {employee.start_date}"])
    employee.end_date, employee.updated_by = last_day, actor.login
    session.flush()
    return list(session.scalars(select(LeaveRequest).where(
        LeaveRequest.employee_id == employee.id, LeaveRequest.status.in_(COUNTED),
        LeaveRequest.ends_on > last_day).order_by(LeaveRequest.starts_on)))
