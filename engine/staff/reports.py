"""What Word reports and letters about staff may hold: context builders.

Every field handed to a reader passes the field policies here (`config/policies.toml`): a
field whose class the reader's roles do not `see` is left out of the context, absent rather
than blanked, so no template, however it is written, can print it. Handing over an audited
field (a medical reason) writes an audit row naming the reader (`gate.record_reads`), so
build these contexts inside a unit of work: the audit rows and the report stand or fall
together.

- `employee_fields`: the merge fields a letter or e-mail about one employee may use.
- `staff_report_context`: the staff report (templates/reports/staff.docx) for a year. HR's
  covers everyone; a manager's only their own team (`services.visible_employees`).

Values are text formatted for people: dates as YYYY-MM-DD, money with two decimals and
thousands separators (from the Decimal, never through a float), days as 2.5 not 2.50.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, PermissionDenied
from engine.formats import money
from engine.security.gate import audited, hidden_fields, record_reads
from engine.security.models import User
from engine.security.roles import Actor
from engine.staff import leave
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType
from engine.staff.services import employee_of, visible_employees

# Merge field -> the (table, column) it comes from: that column's policy decides who gets it.
MERGE_FIELDS: dict[str, tuple[str, str]] = {
    "employee_number": ("employees", "employee_number"),
    "name": ("contacts", "name"),
    "first_name": ("contacts", "first_name"),
    "last_name": ("contacts", "last_name"),
    "job_title": ("employees", "job_title"),
    "department": ("departments", "name"),
    "manager": ("contacts", "name"),           # the line manager's name
    "work_email": ("employees", "work_email"),
    "start_date": ("employees", "start_date"),
    "end_date": ("employees", "end_date"),
    "contract_kind": ("contracts", "kind"),
    "weekly_hours": ("contracts", "weekly_hours"),
    "date_of_birth": ("employees", "date_of_birth"),
    "national_id": ("employees", "national_id"),
    "bank_account": ("employees", "bank_account"),
    "salary": ("contracts", "salary"),
}
# The staff report's employee table: these columns always, then these merge fields for the
# readers who may see them (a column the reader may not see is not in the report at all).
REPORT_EXTRA_COLUMNS = (("date_of_birth", "Date of birth"), ("salary", "Salary"))


def allowed(actor: Actor, merge_field: str) -> bool:
    """Whether `actor` may be handed this merge field (the policy gate on its column)."""
    table, column = MERGE_FIELDS[merge_field]
    return column not in hidden_fields(actor, table)


def text(value: Any) -> str:
    """A value as people read it in a letter or a report."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return leave.shown(value)
    return str(value)


@dataclass
class _Reads:
    """The audited values handed to the reader, per table and record, for the gate's
    `record_reads` (one audit row per record, naming the reader)."""

    by_table: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, record_id: int | None, column: str, value: Any) -> None:
        if record_id is not None and value is not None and audited(table, column):
            self.by_table.setdefault(table, {}).setdefault(record_id, {})[column] = value

    def record(self, session: Session, actor: Actor) -> None:
        for table, values_by_id in self.by_table.items():
            record_reads(session, table, values_by_id)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    """Employees' names (from contacts) by employee id."""
    if not ids:
        return {}
    rows = session.execute(select(Employee.id, Contact.name).outerjoin(Contact, Contact.id == Employee.contact_id)
                           .where(Employee.id.in_(ids))).all()
    return {i: name or f"former employee {i}" for i, name in rows}


def _contract_in(contracts: list[Contract], first: date, last: date) -> Contract | None:
    """The latest-starting contract that runs on any day from `first` to `last`."""
    running = [c for c in contracts if c.starts_on <= last and (c.ends_on is None or c.ends_on >= first)]
    return max(running, key=lambda c: (c.starts_on, c.id), default=None)


def _fields(actor: Actor, employee: Employee, person: Contact | None, department: Department | None,
            manager_name: str | None, contract: Contract | None, reads: _Reads) -> dict[str, str]:
    """The merge fields of one employee that `actor` may see (the others are absent)."""
    raw: dict[str, tuple[int | None, Any]] = {
        "employee_number": (employee.id, employee.employee_number),
        "name": (person.id if person else None, person.name if person else f"former employee {employee.id}"),
        "first_name": (person.id if person else None, person.first_name if person else None),
        "last_name": (person.id if person else None, person.last_name if person else None),
        "job_title": (employee.id, employee.job_title),
        "department": (department.id if department else None, department.name if department else None),
        "manager": (employee.manager_id, manager_name),
        "work_email": (employee.id, employee.work_email),
        "start_date": (employee.id, employee.start_date),
        "end_date": (employee.id, employee.end_date),
        "contract_kind": (contract.id if contract else None, contract.kind if contract else None),
        "weekly_hours": (contract.id if contract else None, contract.weekly_hours if contract else None),
        "date_of_birth": (employee.id, employee.date_of_birth),
        "national_id": (employee.id, employee.national_id),
        "bank_account": (employee.id, employee.bank_account),
        "salary": (contract.id if contract else None, contract.salary if contract else None),
    }
    fields = {}
    for name, (record_id, value) in raw.items():
        if not allowed(actor, name):
            continue
        table, column = MERGE_FIELDS[name]
        reads.add(table, record_id, column, value)
        fields[name] = money(value, contract.currency) if name == "salary" and contract else text(value)
    return fields


def employee_fields(session: Session, actor: Actor, employee: Employee | int, on: date | None = None) -> dict[str, str]:
    """The merge fields a letter or e-mail about `employee` may use, as `actor` sends it:
    name, job title, department, manager, work e-mail, dates, contract, and the sensitive
    fields (date of birth, national id, bank account, salary) only if the actor's roles see
    them. The contract is the one running `on` (default today), else the latest one.
    Refused for an employee the actor may not see (a manager: outside their team)."""
    if isinstance(employee, int):
        found = session.get(Employee, employee)
        if found is None:
            raise NotFound(f"there is no employee {employee}")
        employee = found
    visible = visible_employees(session, actor)
    if visible is not None and employee.id not in visible:
        raise PermissionDenied(f"user {actor.login!r} may not write about employee {employee.employee_number}: "
                               "a manager only about their own team (HR about everyone)")
    on = on or date.today()
    contracts = list(session.scalars(select(Contract).where(Contract.employee_id == employee.id)))
    contract = _contract_in(contracts, on, on) or max(contracts, key=lambda c: (c.starts_on, c.id), default=None)
    person = session.get(Contact, employee.contact_id) if employee.contact_id else None
    manager = _names(session, {employee.manager_id}).get(employee.manager_id) if employee.manager_id else None
    reads = _Reads()
    fields = _fields(actor, employee, person, session.get(Department, employee.department_id), manager, contract,
                     reads)
    reads.record(session, actor)
    return fields


# -- the staff report ----------------------------------------------------------------------

def staff_report_context(session: Session, actor: Actor, year: int, today: date | None = None) -> dict[str, Any]:
    """The staff report's context for `year`: per department its manager, headcount (people
    employed on any day of the year), employees and the leave they took or asked for; for
    readers who see medical data, the year's leave with a medical reason recorded (each
    reason handed over is audited with the reader's name)."""
    today = today or date.today()
    first, last = date(year, 1, 1), date(year, 12, 31)
    visible = visible_employees(session, actor)
    query = select(Employee).where(Employee.purged_at.is_(None), Employee.start_date <= last,
                                   (Employee.end_date.is_(None)) | (Employee.end_date >= first))
    if visible is not None:
        query = query.where(Employee.id.in_(visible))
    employees = list(session.scalars(query.order_by(Employee.employee_number)))
    ids = {e.id for e in employees}
    departments = list(session.scalars(select(Department).order_by(Department.name)))
    if visible is not None:      # a manager's report names only the departments their team is in
        departments = [d for d in departments if any(e.department_id == d.id for e in employees)]
    names = _names(session, ids | {e.manager_id for e in employees if e.manager_id}
                   | {d.manager_id for d in departments if d.manager_id})
    people = {c.id: c for c in session.scalars(select(Contact).where(
        Contact.id.in_({e.contact_id for e in employees if e.contact_id})))} if employees else {}
    contracts: dict[int, list[Contract]] = {}
    if ids:
        for contract in session.scalars(select(Contract).where(Contract.employee_id.in_(ids))):
            contracts.setdefault(contract.employee_id, []).append(contract)

    reads = _Reads()
    extra = [(key, label) for key, label in REPORT_EXTRA_COLUMNS if allowed(actor, key)]
    rows_by_department: dict[int, list[dict]] = {}
    department_by_id = {d.id: d for d in departments}
    for e in employees:
        f = _fields(actor, e, people.get(e.contact_id), department_by_id[e.department_id], names.get(e.manager_id),
                    _contract_in(contracts.get(e.id, []), first, last), reads)
        rows_by_department.setdefault(e.department_id, []).append({
            "number": f.get("employee_number", ""), "name": f.get("name", ""), "job_title": f.get("job_title", ""),
            "start_date": f.get("start_date", ""), "extra": [f.get(key, "") for key, _label in extra]})
    leave_rows = _leave_taken(session, employees, names, year)

    context: dict[str, Any] = {
        "title": f"Staff report {year}",
        "year": year,
        "made_on": today.isoformat(),
        "made_for": _reader(session, actor),
        "scope": "everyone" if visible is None else _team_name(session, actor, names),
        "extra_columns": [label for _key, label in extra],
        "departments": [{
            "name": d.name,
            "manager": names.get(d.manager_id, "") if d.manager_id else "none named",
            "headcount": len(rows_by_department.get(d.id, [])),
            "employees": rows_by_department.get(d.id, []),
            "leave": [row for e in employees if e.department_id == d.id for row in leave_rows.get(e.id, [])],
        } for d in departments],
    }
    if "medical_reason" not in hidden_fields(actor, "leave_requests"):
        context["sick_leave"] = _medical(session, employees, names, department_by_id, first, last, reads)
    reads.record(session, actor)
    return context


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def staff_report_summary(context: dict[str, Any]) -> dict[str, Any]:
    """What the doors say of a staff report written: whom it covers, how many departments and
    employees, and, when it holds confidential columns or medical reasons, that it must be
    handled as confidential (and that handing the reasons over was audited)."""
    departments = context.get("departments") or []
    employees = sum(len(d.get("employees") or ()) for d in departments)
    medical = "sick_leave" in context
    shown = [*context.get("extra_columns", ()), *(["medical reasons"] if medical else [])]
    notice = ""
    if shown:
        notice = (f"it holds {', '.join(shown).lower()}: handle it as confidential"
                  + ("; handing over the medical reasons was recorded in the audit log" if medical else ""))
    return {"line": f"staff report {context['year']} on {context['scope']}, {_count(len(departments), 'department')}, "
                    f"{_count(employees, 'employee')}",
            "notice": notice, "departments": len(departments), "employees": employees, "scope": context.get("scope"),
            "extra_columns": list(context.get("extra_columns") or ()), "medical": medical}


def _reader(session: Session, actor: Actor) -> str:
    name = session.scalar(select(User.name).where(User.login == actor.login))
    return f"{name} ({actor.login})" if name else actor.login


def _team_name(session: Session, actor: Actor, names: dict[int, str]) -> str:
    me = employee_of(session, actor)
    if me is None:
        return f"the team of {actor.login}"
    return f"the team of {names.get(me.id) or _names(session, {me.id})[me.id]}"


def _leave_taken(session: Session, employees: list[Employee], names: dict[int, str],
                 year: int) -> dict[int, list[dict[str, str]]]:
    """Per employee: each leave type they took or asked for in `year`, and every type that
    keeps a balance, with the days left."""
    if not employees:
        return {}
    kinds = list(session.scalars(select(LeaveType).order_by(LeaveType.name)))
    totals = {(e, k, status): days for e, k, status, days in session.execute(
        select(LeaveRequest.employee_id, LeaveRequest.leave_type_id, LeaveRequest.status, func.sum(LeaveRequest.days))
        .where(LeaveRequest.employee_id.in_({e.id for e in employees}), LeaveRequest.status.in_(leave.COUNTED),
               LeaveRequest.starts_on >= date(year, 1, 1), LeaveRequest.starts_on <= date(year, 12, 31))
        .group_by(LeaveRequest.employee_id, LeaveRequest.leave_type_id, LeaveRequest.status))}
    rows: dict[int, list[dict[str, str]]] = {}
    for e in employees:
        for kind in kinds:
            taken = totals.get((e.id, kind.id, "approved")) or Decimal(0)
            requested = totals.get((e.id, kind.id, "requested")) or Decimal(0)
            if not (taken or requested or kind.needs_balance):
                continue
            left = leave.balance(session, e, kind, year).remaining if kind.needs_balance else None
            rows.setdefault(e.id, []).append({
                "employee": names[e.id], "leave_type": kind.name, "taken": leave.shown(taken),
                "requested": leave.shown(requested), "left": "" if left is None else leave.shown(left)})
    return rows


def _medical(session: Session, employees: list[Employee], names: dict[int, str],
             department_by_id: dict[int, Department], first: date, last: date, reads: _Reads) -> list[dict[str, str]]:
    """The year's leave (requested or approved) with a medical reason, for readers who see them."""
    if not employees:
        return []
    department_of = {e.id: department_by_id[e.department_id].name for e in employees}
    kinds = dict(session.execute(select(LeaveType.id, LeaveType.name)).all())
    rows = []
    for request in session.scalars(
            select(LeaveRequest).where(LeaveRequest.employee_id.in_(department_of), LeaveRequest.medical_reason.is_not(None),
                                       LeaveRequest.status.in_(leave.COUNTED), LeaveRequest.starts_on >= first,
                                       LeaveRequest.starts_on <= last)
            .order_by(LeaveRequest.starts_on, LeaveRequest.id)):
        reads.add("leave_requests", request.id, "medical_reason", request.medical_reason)
        rows.append({"employee": names[request.employee_id], "department": department_of[request.employee_id],
                     "leave_type": kinds[request.leave_type_id], "starts_on": text(request.starts_on),
                     "ends_on": text(request.ends_on), "days": leave.shown(request.days), "status": request.status,
                     "medical_reason": request.medical_reason})
    return rows
