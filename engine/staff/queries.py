"""Staff look-ups for every door: finding an employee, a department or a leave type by the
code people type, and the records a user may see, as that user may see them.

Every function takes the acting user. Who may see whom is the services' rule
(`services.visible_employees`: HR everyone, a manager their own reports); which fields of a
record they may see is the policy gate's (`engine.security.gate.project`): a field the
user's role may not see is absent from what these return (not blank, not masked), and a
field read under audit (a leave request's medical reason) handed out here writes an audit
row naming the reader, in the caller's unit of work.

Records come back as dicts of plain values (dates as dates, amounts as Decimals), keyed by
their columns and a few derived keys (a department's code beside its id): the door renders
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, PermissionDenied
from engine.security.gate import project, sees
from engine.security.roles import Actor
from engine.staff import hooks, leave
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType
from engine.staff.services import AREA, TEAM, department_figures, employee_of, visible_employees

# Keys of the shown records that are not columns, with the column each comes from: hidden
# with it, should a policy ever declare that column sensitive.
DERIVED = {
    "employees": {"department": "department_id", "department_name": "department_id", "manager": "manager_id",
                  "manager_name": "manager_id"},
    "leave_requests": {"employee_number": "employee_id", "employee": "employee_id", "leave_type": "leave_type_id",
                       "leave_type_name": "leave_type_id", "decided_by": "approver_id"},
}
# What a list of employees holds: nothing sensitive (`employee_file` has the rest).
LISTED = ("employee_number", "name", "department", "job_title", "manager", "manager_name", "start_date", "end_date",
          "work_email", "login")


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


def find_employee(session: Session, actor: Actor, number: str, field: str = "employee_id") -> Employee:
    """The employee with this number, if `actor` may see them (a manager: only their own
    reports, direct or indirect)."""
    allowed = visible(session, actor)
    found = _by_code(session, Employee, Employee.employee_number, number)
    if found is None:
        raise NotFound(f"there is no employee with the number {number.strip()!r}; `backoffice staff list` "
                       "(and `staff list --leavers`) shows the numbers", field=field)
    if allowed is not None and found.id not in allowed:
        raise PermissionDenied(f"employee {found.employee_number} is not in your team: managers see only the "
                               "people who report to them, directly or through other managers", field=field)
    return found


def find_department(session: Session, actor: Actor, code: str) -> Department:
    require_reader(actor)
    found = _by_code(session, Department, Department.code, code)
    if found is None:
        raise NotFound(f"there is no department {code.strip()!r}; `backoffice staff departments` lists them",
                       field="department_id")
    return found


def find_leave_type(session: Session, actor: Actor, code: str) -> LeaveType:
    require_reader(actor)
    found = _by_code(session, LeaveType, LeaveType.code, code)
    if found is None:
        raise NotFound(f"there is no leave type {code.strip()!r}; `backoffice staff leave types` lists them",
                       field="leave_type_id")
    return found


def person_name(session: Session, employee: Employee | None) -> str:
    """The name in contacts ("(purged)" once a leaver's data is removed)."""
    if employee is None:
        return ""
    person = session.get(Contact, employee.contact_id) if employee.contact_id else None
    return person.name if person is not None else "(purged)"


def employed_on(day: date):
    """A condition: employed on `day`."""
    return (Employee.start_date <= day) & or_(Employee.end_date.is_(None), Employee.end_date >= day)


# -- records as one user may see them -------------------------------------------------------------

def _shown(session: Session, actor: Actor, table: str, record_id: int | None,
           data: Mapping[str, Any]) -> dict[str, Any]:
    return project(session, actor, table, [data], derived=DERIVED.get(table), record_id=lambda _r: record_id)[0]


def employee_record(session: Session, actor: Actor, e: Employee, keys: bool = False) -> dict[str, Any]:
    """An employee (the person and the employment record) as `actor` may see them; `keys`:
    with the record's id and version first."""
    person = session.get(Contact, e.contact_id) if e.contact_id else None
    department = session.get(Department, e.department_id)
    boss = session.get(Employee, e.manager_id) if e.manager_id else None
    names = _shown(session, actor, "contacts", person.id, {
        "first_name": person.first_name, "last_name": person.last_name, "name": person.name,
        "country": person.country}) if person else {
        "first_name": None, "last_name": None, "name": "(purged)", "country": None}
    return {**({"id": e.id, "version": e.version} if keys else {}), **names, **_shown(session, actor, "employees", e.id, {
        "employee_number": e.employee_number, "department": department.code, "department_name": department.name,
        "job_title": e.job_title, "manager": boss.employee_number if boss else None,
        "manager_name": person_name(session, boss) or None, "start_date": e.start_date, "end_date": e.end_date,
        "work_email": e.work_email, "login": e.login, "date_of_birth": e.date_of_birth,
        "national_id": e.national_id, "bank_account": e.bank_account, "purged_at": e.purged_at})}


def contract_record(session: Session, actor: Actor, c: Contract) -> dict[str, Any]:
    return _shown(session, actor, "contracts", c.id, {
        "id": c.id, "kind": c.kind, "weekly_hours": c.weekly_hours, "salary": c.salary, "currency": c.currency,
        "starts_on": c.starts_on, "ends_on": c.ends_on})


def leave_request_record(session: Session, actor: Actor, r: LeaveRequest, medical: bool = False) -> dict[str, Any]:
    """A request as `actor` may see it; its medical reason only with `medical` (an
    employee's file), and then only to those who may see it, audited."""
    e = session.get(Employee, r.employee_id)
    kind = session.get(LeaveType, r.leave_type_id)
    approver = session.get(Employee, r.approver_id) if r.approver_id else None
    data = {"id": r.id, "employee_number": e.employee_number, "employee": person_name(session, e),
            "leave_type": kind.code, "leave_type_name": kind.name, "starts_on": r.starts_on, "ends_on": r.ends_on,
            "half_day_start": r.half_day_start, "half_day_end": r.half_day_end, "days": r.days,
            "status": r.status, "reason": r.reason,
            "decided_by": approver.employee_number if approver else (r.updated_by if r.decided_at else None),
            "decided_at": r.decided_at}
    if medical:
        data["medical_reason"] = r.medical_reason
    return _shown(session, actor, "leave_requests", r.id, data)


# -- lists ------------------------------------------------------------------------------------

def departments(session: Session, actor: Actor, today: date | None = None) -> list[dict[str, Any]]:
    """The departments, with their manager and how many people work in each on `today`."""
    require_reader(actor)
    today = today or date.today()
    counts = dict(session.execute(select(Employee.department_id, func.count(Employee.id))
                                  .where(employed_on(today)).group_by(Employee.department_id)).all())
    listed = list(session.scalars(select(Department).order_by(Department.code)))
    bosses = {i: (number, name or "(purged)") for i, number, name in session.execute(
        select(Employee.id, Employee.employee_number, Contact.name).outerjoin(Contact, Contact.id == Employee.contact_id)
        .where(Employee.id.in_({d.manager_id for d in listed if d.manager_id})))}
    return [{"id": d.id, "code": d.code, "name": d.name,
             "manager": bosses[d.manager_id][0] if d.manager_id else None,
             "manager_name": bosses[d.manager_id][1] if d.manager_id else None, "headcount": counts.get(d.id, 0)}
            for d in listed]


def department_record(session: Session, actor: Actor, d: Department) -> dict[str, Any]:
    """A department as `departments` lists it (its manager by number and name)."""
    require_reader(actor)
    boss = session.get(Employee, d.manager_id) if d.manager_id else None
    return {"id": d.id, "code": d.code, "name": d.name, "manager": boss.employee_number if boss else None,
            "manager_name": person_name(session, boss) or None}


def employees(session: Session, actor: Actor, department: str | None = None, leavers: bool = False,
              today: date | None = None, keys: bool = False) -> list[dict[str, Any]]:
    """Current staff (started or starting, not yet gone), or with `leavers` those whose last
    day has passed, by employee number: HR everyone, a manager their own reports. Nothing
    sensitive is listed (`LISTED`). `keys`: with each record's id and version (the HTTP API
    pages by id and hands versions out as ETags)."""
    allowed = visible(session, actor)
    today = today or date.today()
    query = select(Employee).order_by(Employee.employee_number)
    if leavers:
        query = query.where(Employee.end_date < today)
    else:
        query = query.where(or_(Employee.end_date.is_(None), Employee.end_date >= today))
    if department is not None:
        query = query.where(Employee.department_id == find_department(session, actor, department).id)
    if allowed is not None:
        query = query.where(Employee.id.in_(allowed))
    listed = (("id", "version") if keys else ()) + LISTED
    records = (employee_record(session, actor, e, keys) for e in session.scalars(query))
    return [{k: r[k] for k in listed if k in r} for r in records]


def _leave_query(allowed: set[int] | None, employee_id: int | None = None, status: str | None = None,
                 year: int | None = None):
    query = select(LeaveRequest).order_by(LeaveRequest.starts_on, LeaveRequest.id)
    if allowed is not None:
        query = query.where(LeaveRequest.employee_id.in_(allowed))
    if employee_id is not None:
        query = query.where(LeaveRequest.employee_id == employee_id)
    if status is not None:
        query = query.where(LeaveRequest.status == status)
    if year is not None:
        query = query.where(LeaveRequest.starts_on >= date(year, 1, 1), LeaveRequest.starts_on <= date(year, 12, 31))
    return query


def leave_requests(session: Session, actor: Actor, employee: str | None = None, status: str | None = None,
                   year: int | None = None) -> list[dict[str, Any]]:
    """Leave requests `actor` may see (HR everyone's, a manager their reports'), without
    medical reasons (an employee's file has them, for those who may see them)."""
    allowed = visible(session, actor)
    e = find_employee(session, actor, employee) if employee else None
    return [leave_request_record(session, actor, r) for r in session.scalars(
        _leave_query(allowed, e.id if e else None, status, year))]


def employee_file(session: Session, actor: Actor, number: str, year: int, keys: bool = False) -> dict[str, Any]:
    """One employee as `actor` may see them: the person and the employment record, the
    contracts, and the leave starting in `year` (medical reasons for those who may see
    them; each one handed out is audited, naming the reader). `keys`: the employee's id and
    version in their record."""
    e = find_employee(session, actor, number)
    contracts = session.scalars(select(Contract).where(Contract.employee_id == e.id)
                                .order_by(Contract.starts_on, Contract.id))
    return {"employee": employee_record(session, actor, e, keys),
            "contracts": [contract_record(session, actor, c) for c in contracts],
            "year": year,
            "leave": [leave_request_record(session, actor, r, medical=True)
                      for r in session.scalars(_leave_query(None, e.id, year=year))]}


def leave_types(session: Session, actor: Actor) -> list[dict[str, Any]]:
    require_reader(actor)
    return [leave_type_record(k) for k in session.scalars(select(LeaveType).order_by(LeaveType.code))]


def leave_type_record(k: LeaveType) -> dict[str, Any]:
    return {"id": k.id, "code": k.code, "name": k.name, "days_a_year": k.yearly_allowance, "balance": k.needs_balance,
            "carry_over_days": k.carry_over_days}


@dataclass(frozen=True)
class Balances:
    employee: dict[str, Any]          # the employee as the reader may see them
    year: int
    leave: list[dict[str, Any]]       # per leave type


def leave_balances(session: Session, actor: Actor, number: str, year: int) -> Balances:
    """An employee's leave in `year`, per leave type: allowance, carried over, taken
    (approved), requested (waiting, already counted against what is left) and what is left
    (for types held to a balance)."""
    e = find_employee(session, actor, number)
    return Balances(employee_record(session, actor, e), year, _balance_rows(session, e, year))


def _balance_rows(session: Session, e: Employee, year: int) -> list[dict[str, Any]]:
    rows = []
    for kind in session.scalars(select(LeaveType).order_by(LeaveType.code)):
        held = leave.balance(session, e, kind, year)
        rows.append({"leave_type": kind.code, "name": kind.name, "balance": kind.needs_balance,
                     "allowance": held.allowance, "carried_over": held.carried_over, "taken": held.taken,
                     "requested": held.requested, "remaining": held.remaining if kind.needs_balance else None})
    return rows


@dataclass(frozen=True)
class LeaveStatement:
    balances: Balances
    requests: list[dict[str, Any]]    # the year's requests, without medical reasons
    own: bool                         # the employee asking for their own


def leave_statement(session: Session, actor: Actor, number: str, year: int) -> LeaveStatement:
    """An employee's leave statement for `year`: the balances per leave type and the year's
    requests, never a medical reason. HR may ask for anyone, a manager for their team, and
    every employee for their own (a signed-in user linked to the record by its login), even
    without a role that reads staff; asking for someone else's is refused without saying
    whether they exist. An unknown number is refused naming the field `employee`."""
    me = employee_of(session, actor)
    own = me is not None and me.employee_number.upper() == number.strip().upper()
    if own:
        e = me
    elif not (actor.may("read", AREA) or actor.may("read", TEAM)):
        raise PermissionDenied(f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may ask for their own "
                               "leave statement only: HR asks for anyone's, a manager for their team's",
                               field="employee")
    else:
        e = find_employee(session, actor, number, field="employee")
    requests = [leave_request_record(session, actor, r) for r in session.scalars(_leave_query(None, e.id, year=year))]
    return LeaveStatement(Balances(employee_record(session, actor, e), year, _balance_rows(session, e, year)),
                          requests, own)


# -- aggregates for the monthly pack: counts and days, never a person's row ------------------------

def _of_visible(query, allowed: set[int] | None, column=Employee.id):
    return query if allowed is None else query.where(column.in_(sorted(allowed)))


def headcount(session: Session, actor: Actor, on: date) -> dict[str, int]:
    """How many people are employed on `on`, by department name (the departments with
    anyone): HR counts everyone, a manager their own team. Purged leavers count too (their
    dates are kept)."""
    allowed = visible(session, actor)
    rows = session.execute(_of_visible(
        select(Department.name, func.count(Employee.id)).join(Department, Department.id == Employee.department_id)
        .where(employed_on(on)), allowed).group_by(Department.name)).all()
    return {name: n for name, n in sorted(rows)}


def joiners_and_leavers(session: Session, actor: Actor, first: date, last: date) -> dict[str, dict[str, int]]:
    """By department name: how many started (`joiners`) and how many had their last day
    (`leavers`) from `first` to `last`, as `headcount` counts them."""
    allowed = visible(session, actor)
    counts: dict[str, dict[str, int]] = {}
    for key, column in (("joiners", Employee.start_date), ("leavers", Employee.end_date)):
        for name, n in session.execute(_of_visible(
                select(Department.name, func.count(Employee.id)).join(Department, Department.id == Employee.department_id)
                .where(column >= first, column <= last), allowed).group_by(Department.name)):
            counts.setdefault(name, {"joiners": 0, "leavers": 0})[key] = n
    return dict(sorted(counts.items()))


def leave_days(session: Session, actor: Actor, first: date, last: date) -> dict[str, Decimal]:
    """The working days of approved leave falling from `first` to `last`, by leave type name
    (a request running into the days before or after counts only its days inside; a half
    day at its own first or last day counts a half). Days only: no names, no reasons."""
    allowed = visible(session, actor)
    days: dict[str, Decimal] = {}
    for r, name in session.execute(_of_visible(
            select(LeaveRequest, LeaveType.name).join(LeaveType, LeaveType.id == LeaveRequest.leave_type_id)
            .where(LeaveRequest.status == "approved", LeaveRequest.starts_on <= last, LeaveRequest.ends_on >= first),
            allowed, LeaveRequest.employee_id)):
        inside = leave.working_days(max(r.starts_on, first), min(r.ends_on, last),
                                    r.half_day_start and r.starts_on >= first, r.half_day_end and r.ends_on <= last)
        if inside:
            days[name] = days.get(name, Decimal(0)) + inside
    return dict(sorted(days.items()))


def staff_costs(session: Session, actor: Actor, year: int) -> dict[str, Any]:
    """Headcount and cost per department and month of `year` (read access to all staff).

    Managers are refused: the only figures they could have are their own reports', which
    would give their pay away. The cost adds up salaries, so it is there only for roles
    that may see salaries (`contracts.salary` in the policy); others get the headcount."""
    if not actor.may("read", AREA):
        raise PermissionDenied(
            f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not see staff costs: headcount "
            "and cost per department are for HR (read access to all staff), as a department's cost adds up "
            "its people's salaries")
    figures = department_figures(session, actor, year)
    with_cost = sees(actor, "contracts", "salary")
    months = [{"department": f.department, "month": f.month, "headcount": f.headcount,
               **({"cost": f.cost} if with_cost else {})} for f in figures]
    result: dict[str, Any] = {"year": year, "months": months}
    if with_cost:
        result["total_cost"] = sum((f.cost for f in figures), Decimal(0))
    return result


# -- which records of a staff table (the policy gate asks, e.g. for the audit log) ------------

def readable_records(session: Session, actor: Actor, table: str) -> set[int] | None:
    """The ids of the records of staff table `table` that `actor` may read (None: all), by
    the same rule as the records themselves: HR every one; a manager the employees of their
    own team with those employees' contracts and leave requests, and every department and
    leave type (as `staff departments` and `leave types` show them); the kept costs of purged
    leavers only for those who read all staff (`staff costs`). Anyone else is refused."""
    allowed = visible(session, actor)
    if allowed is None or table in ("departments", "leave_types"):
        return None
    if table == "employees":
        return set(allowed)
    by_employee = {"contracts": Contract, "leave_requests": LeaveRequest}.get(table)
    if by_employee is None:
        raise PermissionDenied(f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not read "
                               f"{table.replace('_', ' ')}: they are for those who read all staff records (HR)")
    return set(session.scalars(select(by_employee.id).where(by_employee.employee_id.in_(sorted(allowed)))))


def leaving_checklist(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    """What has to be done before an employee leaves: their last day (if recorded), leave
    still requested or approved from today or after their last day, what is left of their
    leave this year, and what the other modules add (`hooks.leaving_checklist`: the assets
    they have to return, ...)."""
    e = find_employee(session, actor, number)
    last_day = e.end_date
    today = date.today()
    year = (last_day or today).year
    pending = [leave_request_record(session, actor, r) for r in session.scalars(
        select(LeaveRequest).where(LeaveRequest.employee_id == e.id, LeaveRequest.status.in_(leave.COUNTED),
                                   LeaveRequest.ends_on >= min(today, last_day or today))
        .order_by(LeaveRequest.starts_on))]
    remaining = [{"leave_type": kind.code, "remaining": leave.balance(session, e, kind, year).remaining}
                 for kind in session.scalars(select(LeaveType).where(LeaveType.needs_balance).order_by(LeaveType.code))]
    items: list[dict[str, Any]] = []
    if last_day is None:
        items.append({"module": "staff", "item": f"record the last day (`backoffice staff leaver {e.employee_number} "
                                                 "--last-day DATE`)"})
    items += [{"module": "staff", "item": f"settle leave request #{r['id']} ({r['starts_on']} to {r['ends_on']}, "
                                          f"{r['status']})"} for r in pending]
    hooks.leaving_checklist.announce(session, e.id, items)
    return {"employee": employee_record(session, actor, e), "last_day": last_day, "year": year,
            "open_leave": pending, "remaining_leave": remaining, "items": items}
