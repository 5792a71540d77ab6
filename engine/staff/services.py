"""Staff services: departments, hiring, contracts, leave requests and decisions, the team a
manager sees, and purging a leaver. Every door (workbooks, CLI, reports) goes through these.

Who may do what:
- HR (write `staff`) keeps every record, for everyone.
- A manager (write `team`) enters and decides the leave of their own reports, direct or
  indirect, and nobody else's; they cannot decide their own.
- Purging needs the `purge-staff` capability (roles.toml).
- A sensitive field (salary, national id, ...) is written only by a role that may see it
  (the policy gate, `engine.security.gate.require_sees`).

Every rule a record must pass on its own is a pure function of `engine.staff.rules`, called
here before anything is written (and by the sheets, as their row rules); what needs the
database is checked here. A refusal's problems name the stored field and a stable code:
the rules' codes, and `duplicate` (a login, employee number, department or leave type code
taken), `reference` (no such department, manager or employee), `overlap`, `over_balance`,
`own_request`, `decided`, `purged`, `not_left`, `retention`, `permission`, `not_found`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.contacts.channels import clear_lists
from engine.contacts.models import Address, Contact
from engine.contacts.services import add_contact, update_contact
from engine.db.audit import write_audit
from engine.db.base import flush_guarded
from engine.errors import NotFound, PermissionDenied, StaleRecordError, ValidationFailed
from engine.problems import Problem
from engine.security.gate import require_sees, sees
from engine.security.roles import Actor
from engine.staff import leave, rules
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType, StaffCost

AREA = "staff"
TEAM = "team"
PERSON = ("first_name", "last_name", "country")   # kept on the person in contacts


class OwnRequest(PermissionDenied):
    """Someone deciding their own leave request."""

    code = "own_request"


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


def _require_over(session: Session, actor: Actor, employee_id: int, field: str = "employee_id") -> None:
    """HR may act for anyone; a manager only for their own reports."""
    if actor.may("write", AREA):
        return
    actor.require("write", TEAM)
    me = employee_of(session, actor)
    if me is None or employee_id not in team_of(session, me.id):
        raise PermissionDenied(f"user {actor.login!r} is not a manager of employee {employee_id}: only their "
                               "own managers (or HR) may enter or decide their leave", field=field)


def _require_sees(actor: Actor, table: str, values: Mapping[str, Any]) -> None:
    """Refuse a value given for a field the actor's role may not see (the field policy)."""
    for column, value in values.items():
        if value is not None:
            require_sees(actor, table, column)


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationFailed(problems)


def _reference(session: Session, model: Any, record_id: int | None, field: str, what: str) -> list[Problem]:
    if record_id is not None and session.get(model, record_id) is None:
        return [Problem(field, "reference", f"there is no {what} {record_id}")]
    return []


def _taken(session: Session, column: Any, value: Any, field: str, message: str,
           leaving_out: int | None = None) -> list[Problem]:
    """A `duplicate` problem if another record holds `value` in a unique `column`."""
    if value is None:
        return []
    query = select(column.class_.id).where(column == value)
    if leaving_out is not None:
        query = query.where(column.class_.id != leaving_out)
    return [Problem(field, "duplicate", message)] if session.scalars(query).first() is not None else []


# -- records -------------------------------------------------------------------------------

def add_department(session: Session, actor: Actor, code: str, name: str, manager_id: int | None = None) -> Department:
    actor.require("write", AREA)
    values = {"code": (code or "").strip(), "name": (name or "").strip()}
    problems = rules.check_department(values)
    problems += _taken(session, Department.code, values["code"] or None, "code",
                       f"there is a department {values['code']!r} already; `backoffice staff departments` lists them")
    problems += _reference(session, Employee, manager_id, "manager_id", "employee")
    _refuse(problems)
    department = Department(**values, manager_id=manager_id, updated_by=actor.login)
    session.add(department)
    session.flush()
    return department


@dataclass(frozen=True)
class Hire:
    first_name: str | None
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
    end_date: date | None = None


SENSITIVE_ON_HIRE = ("date_of_birth", "national_id", "bank_account")


def hire(session: Session, actor: Actor, who: Hire) -> Employee:
    """A new employee: the person in contacts, and their employment record. Every rule of
    `rules.check_employee`, and those of the database: the department and manager exist,
    the employee number and the login are not taken. A sensitive field (date of birth,
    national id, bank account) is refused from a role that may not see it."""
    actor.require("write", AREA)
    values = rules.normalise_employee({k: v.strip() or None if isinstance(v, str) else v
                                       for k, v in asdict(who).items()})
    _require_sees(actor, "employees", {k: values[k] for k in SENSITIVE_ON_HIRE})
    problems = rules.check_employee(values)
    problems += _reference(session, Department, who.department_id, "department_id", "department")
    problems += _reference(session, Employee, who.manager_id, "manager_id", "employee to report to")
    problems += _taken(session, Employee.employee_number, values["employee_number"], "employee_number",
                       f"employee number {values['employee_number']} is taken")
    problems += _taken(session, Employee.login, values["login"], "login",
                       f"the login {values['login']!r} belongs to another employee already")
    _refuse(problems)
    person, _ = add_contact(session, actor, {"kind": "person", "first_name": values["first_name"],
                                             "last_name": values["last_name"], "country": values["country"],
                                             "job_title": values["job_title"]})
    employee = Employee(contact_id=person.id, **{k: v for k, v in values.items() if k not in PERSON},
                        updated_by=actor.login)
    session.add(employee)
    session.flush()
    return employee


def update_employee(session: Session, actor: Actor, employee_id: int, changes: Mapping[str, Any],
                    expected_version: int | None = None) -> Employee:
    """Change an employee: the name and country on their person in contacts (through its
    service, with the contacts' rules), the rest on the employment record, checked as a
    hire is (a login or number taken by someone else, a manager who does not exist).

    `expected_version`: the version the change was made from (the HTTP API's If-Match); a
    record changed since is refused (StaleRecordError), nothing written. The employment
    record's version moves with every change, a change of the name alone included, so the
    version read stands for the whole employee."""
    actor.require("write", AREA)
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee {employee_id}", field="id")
    if expected_version is not None and employee.version != expected_version:
        raise StaleRecordError(f"employee {employee.employee_number}", expected_version, employee.version)
    changes = rules.normalise_employee(dict(changes))
    _require_sees(actor, "employees", {k: v for k, v in changes.items() if k in SENSITIVE_ON_HIRE})
    person = {k: v for k, v in changes.items() if k in PERSON or k == "job_title"}
    if person and employee.contact_id is None:
        field = next(k for k in changes if k in person)
        raise ValidationFailed([Problem(field, "purged", "a purged leaver has no person record any more")])
    record = {c.key: getattr(employee, c.key) for c in Employee.__table__.columns}
    problems = rules.check_employee({**record, **changes}, person=False)
    problems += _reference(session, Department, changes.get("department_id"), "department_id", "department")
    problems += _reference(session, Employee, changes.get("manager_id"), "manager_id", "employee to report to")
    if "employee_number" in changes:
        problems += _taken(session, Employee.employee_number, changes["employee_number"], "employee_number",
                           f"employee number {changes['employee_number']} is taken", leaving_out=employee_id)
    if "login" in changes:
        problems += _taken(session, Employee.login, changes["login"], "login",
                           f"the login {changes['login']!r} belongs to another employee already",
                           leaving_out=employee_id)
    # A rule of fields left as they were is not this change's (old data is not re-judged),
    # except the record's dates, which must stay in order whichever of them changed.
    _refuse([p for p in problems if p.field in changes or p.code == "end_before_start"])
    if person:
        contact = session.get(Contact, employee.contact_id)
        update_contact(session, actor, contact.id, contact.version, person)
    for key, value in changes.items():
        if key not in PERSON:
            setattr(employee, key, value)
    employee.updated_by = actor.login
    if changes:
        flag_modified(employee, "updated_by")     # a new version even when only the person changed
    if expected_version is not None:
        flush_guarded(session, employee, expected_version)
    session.flush()
    return employee


def record_last_day(session: Session, actor: Actor, employee_id: int, last_day: date) -> list[LeaveRequest]:
    """Set when an employee leaves (HR). Returns their requested or approved leave after that
    day, which no longer counts against anything (the caller says so)."""
    actor.require("write", AREA)
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee {employee_id}", field="employee_id")
    if employee.purged_at is not None:
        raise ValidationFailed([Problem("end_date", "purged", f"employee {employee.employee_number} was purged: "
                                                               "their dates stay as they are")])
    _refuse(rules.check_last_day(employee.start_date, last_day))
    employee.end_date, employee.updated_by = last_day, actor.login
    session.flush()
    return list(session.scalars(select(LeaveRequest).where(
        LeaveRequest.employee_id == employee.id, LeaveRequest.status.in_(leave.COUNTED),
        LeaveRequest.ends_on > last_day).order_by(LeaveRequest.starts_on)))


def add_contract(session: Session, actor: Actor, employee_id: int, kind: str, weekly_hours: Decimal,
                 salary: Decimal | None, currency: str, starts_on: date, ends_on: date | None = None) -> Contract:
    """A contract: `rules.check_contract` (hours, salary, an ISO 4217 currency, dates in
    order), for an employee who exists; a salary only from a role that may see salaries."""
    actor.require("write", AREA)
    _require_sees(actor, "contracts", {"salary": salary})
    values = rules.normalise_contract({"employee_id": employee_id, "kind": kind, "weekly_hours": weekly_hours,
                                       "salary": salary, "currency": currency, "starts_on": starts_on,
                                       "ends_on": ends_on})
    _refuse(rules.check_contract(values) + _reference(session, Employee, employee_id, "employee_id", "employee"))
    contract = Contract(**values, updated_by=actor.login)
    session.add(contract)
    session.flush()
    return contract


def _leave_type_by_code(session: Session, code: str) -> LeaveType | None:
    """Exact match first; else the one leave type matching without regard to case."""
    found = session.scalars(select(LeaveType).where(LeaveType.code == code)).first()
    if found is None:
        matches = session.scalars(select(LeaveType).where(func.upper(LeaveType.code) == code.upper())).all()
        found = matches[0] if len(matches) == 1 else None
    return found


def add_leave_type(session: Session, actor: Actor, code: str, name: str, yearly_allowance: Decimal,
                   needs_balance: bool = False, carry_over_days: Decimal = Decimal(0)) -> LeaveType:
    """A new leave type (HR): how many days a year, held to a balance or not, and how many
    unused days carry over into the next year."""
    actor.require("write", AREA)
    values = rules.normalise_leave_type({"code": (code or "").strip(), "name": (name or "").strip(),
                                         "yearly_allowance": yearly_allowance, "needs_balance": needs_balance,
                                         "carry_over_days": carry_over_days})
    problems = rules.check_leave_type(values)
    if values["code"] and _leave_type_by_code(session, values["code"]) is not None:
        problems.append(Problem("code", "duplicate", f"there is a leave type {values['code']!r} already; "
                                                     "`backoffice staff leave types` lists them"))
    _refuse(problems)
    kind = LeaveType(**values, updated_by=actor.login)
    session.add(kind)
    session.flush()
    return kind


# -- leave -----------------------------------------------------------------------------------

def check_leave(session: Session, employee: Employee, kind: LeaveType, starts_on: date, ends_on: date,
                days: Decimal, leaving_out: int | None = None, counted_already: Decimal = Decimal(0),
                half_day_start: bool = False, half_day_end: bool = False,
                reason: str | None = None) -> list[Problem]:
    """Every reason a request for these dates cannot stand (empty: it can): its own fields
    (`rules.check_leave`), then the employment, the employee's other requests and the
    balance, which need the database."""
    problems = rules.check_leave({"starts_on": starts_on, "ends_on": ends_on, "half_day_start": half_day_start,
                                  "half_day_end": half_day_end, "reason": reason})
    if any(p.code == "end_before_start" for p in problems):
        return problems
    if days <= 0 and not any(p.code == "no_working_day" for p in problems):
        problems.append(Problem("starts_on", "no_working_day", "these dates hold no working day"))
    problems += rules.check_employed(starts_on, ends_on, employee.start_date, employee.end_date)
    for other in leave.overlapping(session, employee.id, starts_on, ends_on, leaving_out):
        problems.append(Problem("starts_on", "overlap",
                                f"overlaps leave request {other.id} ({other.starts_on} to {other.ends_on}, "
                                f"{other.status}): choose days that do not overlap it (or have that request "
                                "rejected first)"))
    if kind.needs_balance and not problems:
        held = leave.balance(session, employee, kind, starts_on.year)
        problems += rules.check_balance(days, held.remaining + counted_already, kind.name, starts_on.year)
    return problems


def request_leave(session: Session, actor: Actor, employee_id: int, kind_code: str | None, starts_on: date,
                  ends_on: date, half_day_start: bool = False, half_day_end: bool = False,
                  reason: str | None = None, medical_reason: str | None = None) -> LeaveRequest:
    """Record a request (status requested) if it neither overlaps another request nor goes
    beyond the balance (for types that keep one)."""
    _require_over(session, actor, employee_id)
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee {employee_id}", field="employee_id")
    kind = _leave_type_by_code(session, kind_code) if kind_code else None
    if kind is None:
        raise NotFound(f"there is no leave type {kind_code!r}; `backoffice staff leave types` lists them",
                       field="leave_type_id")
    if medical_reason is not None and not sees(actor, "leave_requests", "medical_reason"):
        raise PermissionDenied(f"user {actor.login!r} may not record medical reasons; leave it to HR",
                               field="medical_reason")
    days = leave.working_days(starts_on, ends_on, half_day_start, half_day_end)
    _refuse(check_leave(session, employee, kind, starts_on, ends_on, days, half_day_start=half_day_start,
                        half_day_end=half_day_end, reason=reason))
    request = LeaveRequest(employee_id=employee_id, leave_type_id=kind.id, starts_on=starts_on, ends_on=ends_on,
                           half_day_start=half_day_start, half_day_end=half_day_end, days=days, status="requested",
                           reason=reason, medical_reason=medical_reason, updated_by=actor.login)
    session.add(request)
    session.flush()
    return request


def decide_leave(session: Session, actor: Actor, request_id: int, approve: bool,
                 at: datetime | None = None) -> LeaveRequest:
    """Approve or reject a waiting request: its employee's managers (or HR), never the
    employee themselves. `at`: when it was decided (now, unless recording a past decision).
    Every refusal is about the request's `status`."""
    if not actor.may("write", AREA):
        actor.require("write", TEAM)          # (before anything is said about the request)
    request = session.get(LeaveRequest, request_id)
    if request is None:
        raise NotFound(f"there is no leave request {request_id}", field="status")
    me = employee_of(session, actor)
    if me is not None and me.id == request.employee_id:
        raise OwnRequest("nobody decides their own leave: ask your manager", field="status")
    _require_over(session, actor, request.employee_id, field="status")
    if request.status != "requested":
        raise ValidationFailed([Problem("status", "decided", f"leave request {request_id} was {request.status} "
                                                             "already")])
    request.status = "approved" if approve else "rejected"
    request.approver_id = me.id if me else None
    request.decided_at = at or datetime.now(UTC)
    request.updated_by = actor.login
    session.flush()
    return request


# -- purging a leaver -------------------------------------------------------------------------

IDENTIFYING = ("login", "job_title", "work_email", "date_of_birth", "national_id", "bank_account")
# How a purge names what it removes (names of fields, never their values).
LABELS = {"login": "login", "job_title": "job title", "work_email": "work e-mail", "date_of_birth": "date of birth",
          "national_id": "national id", "bank_account": "bank account"}
KEPT = ("department, start date and last day, contract kinds, hours and dates, leave dates",
        "cost per month (so headcount and cost per department and month do not change)")


@dataclass(frozen=True)
class PurgePlan:
    """What purging a leaver removes and keeps, worked out without changing anything."""

    employee_id: int
    employee_number: str
    becomes: str                 # the number the record keeps
    removes: tuple[str, ...]
    keeps: tuple[str, ...]
    months_of_cost: int          # months of cost figures kept in their place
    kept_until: date             # the end of the retention period (passed)


def _purge_checks(session: Session, actor: Actor, employee_id: int, retention_years: int,
                  today: date | None) -> tuple[Employee, date]:
    """Every check a purge makes (capability, a leaver, not purged, retention passed)."""
    actor.require_capability("purge-staff")
    today = today or date.today()
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee {employee_id}", field="employee_id")
    if employee.purged_at is not None:
        raise ValidationFailed([Problem("employee_id", "purged", f"employee {employee_id} was purged already, on "
                                                                 f"{employee.purged_at:%Y-%m-%d}")])
    if employee.end_date is None:
        raise ValidationFailed([Problem("end_date", "not_left", f"employee {employee.employee_number} has not left: "
                                                                "give their end date first")])
    until = _years_after(employee.end_date, retention_years)
    if today < until:
        raise ValidationFailed([Problem("end_date", "retention",
                                        f"employee {employee.employee_number}'s records must be kept until {until} "
                                        f"({retention_years} years after they left on {employee.end_date})")])
    return employee, until


def purge_plan(session: Session, actor: Actor, employee_id: int, retention_years: int,
               today: date | None = None) -> PurgePlan:
    """What `purge_employee` would remove and keep, after the same checks, writing nothing
    (a purge without --confirm answers with it)."""
    employee, until = _purge_checks(session, actor, employee_id, retention_years, today)
    contracts = list(session.scalars(select(Contract).where(Contract.employee_id == employee.id)))
    removes = ["name, contact details and addresses in contacts"] if employee.contact_id else []
    removes += [LABELS[f] for f in IDENTIFYING if getattr(employee, f) is not None]
    becomes = f"PURGED-{employee.id}"
    removes.append(f"employee number {employee.employee_number} (becomes {becomes})")
    paid = [c for c in contracts if c.salary is not None]
    if paid:
        removes.append(f"the salary of {len(paid)} contract{'s' if len(paid) != 1 else ''}")
    told = session.scalar(select(func.count(LeaveRequest.id)).where(
        LeaveRequest.employee_id == employee.id,
        LeaveRequest.reason.is_not(None) | LeaveRequest.medical_reason.is_not(None))) or 0
    if told:
        removes.append(f"the reasons given for {told} leave request{'s' if told != 1 else ''}")
    return PurgePlan(employee.id, employee.employee_number, becomes, tuple(removes), KEPT,
                     len(monthly_costs(employee, contracts)), until)


def purge_employee(session: Session, actor: Actor, employee_id: int, retention_years: int,
                   today: date | None = None) -> Employee:
    """Remove what identifies a leaver and every sensitive field, once the retention period
    after their last day has passed. Their department, dates and what they cost per month
    stay, so headcount and cost per department and month do not change."""
    employee, until = _purge_checks(session, actor, employee_id, retention_years, today)
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
    clear_lists(person)   # its e-mail addresses and phone numbers
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
