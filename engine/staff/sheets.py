"""The Staff workbook (HR: every record, sensitive fields included) and the Team workbook (a
manager: their own reports, direct and indirect, and nothing sensitive).

Staff: Departments, Employees, Contracts and Leave types (editable), Leave (every request),
and Balances (read only). Team: Team (the manager's reports, read only), Leave (their
requests) and Balances, for their team alone.

Every leave row goes through the staff services, exactly as the other doors do: a new row is
`request_leave` (so an overlapping request, or one beyond the balance, is refused at its
row), and a changed Status is `decide_leave` (only the employee's own managers, or HR, and
only while the request waits). A new employee is `hire` (the person goes into contacts).

Which fields are sensitive is not said here: the sheet specs take it from
config/policies.toml, so a column the reader's role may not see is absent from their file,
and a medical reason handed to HR is logged as read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.contacts.rules import country_codes
from engine.errors import BackofficeError
from engine.sheets.labels import Choice, choices, labelled
from engine.sheets.merge import Update
from engine.sheets.spec import (
    Column,
    NewRows,
    PerUser,
    Refusals,
    ReportSheet,
    RowsFor,
    RowsRefused,
    SheetSpec,
    WorkbookSpec,
    refusals_of,
)
from engine.staff import leave, rules
from engine.staff.models import (
    CONTRACT_KINDS,
    LEAVE_STATUSES,
    Contract,
    Department,
    Employee,
    LeaveRequest,
    LeaveType,
)
from engine.staff.services import (
    AREA,
    TEAM,
    Hire,
    decide_leave,
    hire,
    request_leave,
    update_employee,
    visible_employees,
)

DECISIONS = {"approved": True, "rejected": False}
LEAVE_LOCKED = ("a request's employee, type, days and reasons were checked when it was made; undo this change "
                "(reject the request and enter a new one if they must differ)")


# -- who is who ------------------------------------------------------------------------------

def _names(session: Session, ids: set[int]) -> dict[int, str]:
    """Employees' names as shown in their person record ("Ann Test"); a purged leaver's
    record has none."""
    ids = ids - {None}
    if not ids:
        return {}
    query = (select(Employee.id, Contact.name).join(Contact, Contact.id == Employee.contact_id)
             .where(Employee.id.in_(sorted(ids))))
    return dict(session.execute(query).all())


def _team_rows(column) -> RowsFor:
    """Rows limited to the employees the user may see (see SheetSpec.rows_for)."""
    def rows_for(session: Session, actor) -> Any:
        seen = visible_employees(session, actor)
        return None if seen is None else column.in_(sorted(seen))
    return rows_for


def _employee_choices(session: Session, actor) -> list[Choice]:
    """The employees a drop-down offers and a reference check accepts, by number and name
    ("E1001 Ann Test"): everyone for HR, a manager's own team for them. A purged leaver has
    no name left: their number alone."""
    seen = visible_employees(session, actor)
    query = (select(Employee.id, Employee.employee_number, Contact.name)
             .outerjoin(Contact, Contact.id == Employee.contact_id).order_by(Employee.employee_number))
    return choices(session.execute(query if seen is None else query.where(Employee.id.in_(sorted(seen)))).all())


LEAVE_TYPES = labelled(lambda: select(LeaveType.id, LeaveType.code, LeaveType.name).order_by(LeaveType.code))


def _placed(row: int, exc: BackofficeError, default: str | None, then: str) -> Refusals:
    """A service's refusal, each problem at the cell of its field, with what to do next."""
    return [(r, column, f"{message}; {then}", code)
            for r, column, message, code in refusals_of(row, exc.problems, default=default)]


# -- Employees -------------------------------------------------------------------------------

def _employee_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """An employee's name and country (from their person in contacts), department and manager."""
    people = {p.id: p for p in session.scalars(
        select(Contact).where(Contact.id.in_(sorted({v["contact_id"] for v in rows.values()} - {None}))))}
    departments = dict(session.execute(select(Department.id, Department.name)).all())
    managers = _names(session, {v["manager_id"] for v in rows.values()})
    details = {}
    for rid, values in rows.items():
        person = people.get(values["contact_id"])
        details[rid] = {"first_name": person.first_name if person else None,
                        "last_name": person.last_name if person else None,
                        "country": person.country if person else None,
                        "department": departments.get(values["department_id"]),
                        "manager": managers.get(values["manager_id"])}
    return details


def _derive_employee(row: dict[str, Any]) -> dict[str, Any]:
    return rules.normalise_employee(row)


def hire_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New rows of Employees: each hired as `hire` does (the person added to contacts)."""
    context, ids, refused = session.info["audit"], [], []
    for row, values in rows:
        context.posting_row = (sheet, row)
        try:
            employee = hire(session, actor, Hire(
                values.get("first_name"), values["last_name"], values["country"], values["employee_number"],
                values["department_id"], values["start_date"], job_title=values.get("job_title"),
                manager_id=values.get("manager_id"), work_email=values.get("work_email"), login=values.get("login"),
                date_of_birth=values.get("date_of_birth"), national_id=values.get("national_id"),
                bank_account=values.get("bank_account"), end_date=values.get("end_date")))
            ids.append(employee.id)
        except BackofficeError as exc:
            refused += _placed(row, exc, None, "correct the row and sync again")
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return ids


def save_employees(session: Session, actor, sheet: str, updates: list[Update]) -> None:
    """Changed Employees rows, through `update_employee`: the name and country on the person
    in contacts, the rest on the employment record."""
    context, refused = session.info["audit"], []
    for upd in updates:
        context.posting_row = (sheet, upd.row)
        try:
            update_employee(session, actor, upd.record_id,
                            {k: (upd.stored or {}).get(k, v) for k, v in upd.changes.items()})   # as derived
        except BackofficeError as exc:
            refused += _placed(upd.row, exc, next(iter(upd.changes), None), "undo this change")
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)


# -- Leave -----------------------------------------------------------------------------------

def request_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Leave rows: each a request, as `request_leave` makes it (in sheet order, so a row
    overlapping an earlier new row is refused too); a Status of approved or rejected typed
    with it decides it at once (`decide_leave`)."""
    context, ids, refused = session.info["audit"], [], []
    codes = dict(session.execute(select(LeaveType.id, LeaveType.code)).all())
    for row, values in rows:
        context.posting_row = (sheet, row)
        try:
            request = request_leave(session, actor, values["employee_id"], codes.get(values["leave_type_id"]),
                                    values["starts_on"], values["ends_on"], bool(values.get("half_day_start")),
                                    bool(values.get("half_day_end")), values.get("reason"),
                                    values.get("medical_reason"))
        except BackofficeError as exc:
            refused += refusals_of(row, exc.problems, default="starts_on")
            continue
        finally:
            context.posting_row = None
        decided = _decide(session, actor, sheet, row, request.id, values.get("status"), new=True)
        refused += decided
        ids.append(request.id)
    if refused:
        raise RowsRefused(refused)
    return ids


def decide_rows(session: Session, actor, sheet: str, updates: list[Update]) -> None:
    """Changed Leave rows: a Status set to approved or rejected is a decision (`decide_leave`);
    anything else is refused at its cell."""
    refused: Refusals = []
    for upd in updates:
        refused += [(upd.row, key, "only Status can change on a saved request; undo this change")
                    for key in upd.changes if key != "status"]
        if "status" in upd.changes:
            refused += _decide(session, actor, sheet, upd.row, upd.record_id, upd.changes["status"], new=False)
    if refused:
        raise RowsRefused(refused)


def _decide(session: Session, actor, sheet: str, row: int, request_id: int, status: str | None,
            new: bool) -> Refusals:
    """Decide a request as Status says; what refuses it, at the Status cell."""
    if status is None or (new and status == "requested"):
        return [] if new else [(row, "status", "a request's Status cannot be emptied; undo this change")]
    if status not in DECISIONS:
        return [(row, "status", "a decision is final: Status can change from requested to approved or "
                                "rejected only; undo this change (enter a new request if the leave changes)",
                 "decided")]
    context = session.info["audit"]
    context.posting_row = (sheet, row)
    try:
        decide_leave(session, actor, request_id, approve=DECISIONS[status])
    except BackofficeError as exc:
        return _placed(row, exc, "status", "leave Status empty" if new else "undo this change")
    finally:
        context.posting_row = None
    return []


def _leave_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """How many working days, and who decided the request when."""
    names = _names(session, {v["approver_id"] for v in rows.values()})
    return {rid: {"days": v["days"], "decided_by": names.get(v["approver_id"]),
                  "decided_on": v["decided_at"].date() if v["decided_at"] else None}
            for rid, v in rows.items()}


def _leave_sheet(area: str, with_medical_reason: bool, rows_for=None) -> SheetSpec:
    locked = {"set_once": True, "locked_because": LEAVE_LOCKED}
    columns = [
        Column("employee_id", "Employee", type="integer", required=True, lookup="employees",
               references="employees", labels="employees", width=24, **locked),
        Column("leave_type_id", "Type", type="integer", required=True, lookup="leave types",
               references="leave types", labels="leave types", width=18, **locked),
        Column("starts_on", "From", type="date", required=True, width=11, **locked),
        Column("ends_on", "To", type="date", required=True, width=11, **locked),
        Column("half_day_start", "Half first day", type="bool", width=8, **locked),
        Column("half_day_end", "Half last day", type="bool", width=8, **locked),
        Column("days", "Days", type="decimal", computed=True, width=7),
        Column("status", "Status", type="choice", choices=LEAVE_STATUSES, width=11),
        Column("reason", "Reason", width=24, **locked),
        *([Column("medical_reason", "Medical reason", width=24, **locked)] if with_medical_reason else []),
        Column("decided_by", "Decided by", computed=True, width=20),
        Column("decided_on", "Decided on", type="date", computed=True, width=11),
    ]
    return SheetSpec(name="Leave", model=LeaveRequest, area=area, columns=tuple(columns), post=request_rows,
                     update=decide_rows, computed=_leave_details, rule=rules.check_leave, rows_for=rows_for,
                     order_by=("starts_on", "id"), settled=lambda row: row.get("status") not in (None, "requested"))


# -- Balances (read only) ---------------------------------------------------------------------

BALANCE_FORMATS = dict.fromkeys(("Allowance", "Carried over", "Taken", "Requested", "Remaining"), "quantity")
BALANCE_COLUMNS = (("Number", 10), ("Employee", 24), ("Leave type", 16), ("Year", 7), ("Allowance", 10),
                   ("Carried over", 12), ("Taken", 8), ("Requested", 10), ("Remaining", 10))


def _balance_rows(session: Session, actor) -> list[list[Any]]:
    """This year's leave per employee the user may see and leave type: allowance, days
    carried over, taken (approved), requested (waiting) and what remains. A type that keeps
    no balance (sick leave) shows only what was taken and requested."""
    year = date.today().year
    seen = visible_employees(session, actor)
    query = select(Employee).where(Employee.purged_at.is_(None), Employee.start_date <= date(year, 12, 31),
                                   (Employee.end_date.is_(None)) | (Employee.end_date >= date(year, 1, 1)))
    if seen is not None:
        query = query.where(Employee.id.in_(sorted(seen)))
    employees = list(session.scalars(query.order_by(Employee.employee_number)))
    kinds = list(session.scalars(select(LeaveType).order_by(LeaveType.code)))
    names = _names(session, {e.id for e in employees})
    rows = []
    for employee in employees:
        for kind in kinds:
            held = leave.balance(session, employee, kind, year)
            kept = [held.allowance, held.carried_over] if kind.needs_balance else [None, None]
            rows.append([employee.employee_number, names.get(employee.id), kind.name, year, *kept, held.taken,
                         held.requested, held.remaining if kind.needs_balance else None])
    return rows


# -- the workbooks -----------------------------------------------------------------------------

def staff_workbook() -> WorkbookSpec:
    departments = SheetSpec(
        name="Departments", model=Department, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, width=9),
            Column("name", "Name", required=True, width=26),
            Column("manager_id", "Manager", type="integer", lookup="employees", references="employees",
                   labels="employees", width=24),
        ),
        rule=rules.check_department,
    )
    employees = SheetSpec(
        name="Employees", model=Employee, area=AREA, post=hire_rows, update=save_employees,
        order_by=("employee_number",),
        columns=(
            Column("employee_number", "Number", required=True, unique=True, width=10),
            Column("first_name", "First name", entered=True, width=14),
            Column("last_name", "Last name", entered=True, required=True, width=16),
            Column("country", "Country", entered=True, required=True, lookup="countries", references="countries",
                   width=9),
            Column("job_title", "Job title", width=22),
            Column("department_id", "Department", type="integer", required=True, lookup="departments",
                   references="departments", labels="departments", width=22),
            Column("manager_id", "Manager", type="integer", lookup="employees", references="employees",
                   labels="employees", width=24),
            Column("start_date", "Start", type="date", required=True, width=11),
            Column("end_date", "End", type="date", width=11),
            Column("work_email", "Work e-mail", width=26),
            Column("login", "Login", unique=True, width=10),
            Column("date_of_birth", "Date of birth", type="date", width=12),
            Column("national_id", "National ID", width=14),
            Column("bank_account", "Bank account", width=26),
        ),
        derive=_derive_employee, rule=rules.check_employee, computed=_employee_details,
    )
    contracts = SheetSpec(
        name="Contracts", model=Contract, area=AREA, order_by=("employee_id", "starts_on", "id"),
        columns=(
            Column("employee_id", "Employee", type="integer", required=True, lookup="employees",
                   references="employees", labels="employees", width=24),
            Column("kind", "Kind", type="choice", choices=CONTRACT_KINDS, required=True, width=11),
            Column("weekly_hours", "Weekly hours", type="decimal", required=True, width=12),
            Column("salary", "Salary (a year)", type="money", width=14),
            Column("currency", "Currency", required=True, width=9),
            Column("starts_on", "Starts", type="date", required=True, width=11),
            Column("ends_on", "Ends", type="date", width=11),
        ),
        derive=rules.normalise_contract, rule=rules.check_contract,
    )
    leave_types = SheetSpec(
        name="Leave types", model=LeaveType, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, width=10),
            Column("name", "Name", required=True, width=20),
            Column("yearly_allowance", "Days a year", type="decimal", width=11),
            Column("needs_balance", "Keeps a balance", type="bool", width=14),
            Column("carry_over_days", "Days carried over", type="decimal", width=15),
        ),
        derive=rules.normalise_leave_type, rule=rules.check_leave_type,
    )
    return WorkbookSpec(
        module="staff", title="Staff",
        sheets=(departments, employees, contracts, leave_types, _leave_sheet(AREA, with_medical_reason=True)),
        lookups={"countries": lambda session: country_codes(),
                 "departments": labelled(lambda: select(Department.id, Department.code, Department.name)
                                         .order_by(Department.code)),
                 "employees": PerUser(_employee_choices), "leave types": LEAVE_TYPES},
        reports=(ReportSheet("Balances", AREA, BALANCE_COLUMNS, PerUser(_balance_rows), BALANCE_FORMATS),),
    )


def team_workbook() -> WorkbookSpec:
    """A manager's reports and their leave: nothing sensitive is a column here, and every
    sheet, drop-down and report holds their own team only."""
    team = SheetSpec(
        name="Team", model=Employee, area=TEAM, can_insert=False, rows_for=_team_rows(Employee.id),
        order_by=("employee_number",),
        columns=(
            Column("employee_number", "Number", editable=False, width=10),
            Column("first_name", "First name", computed=True, width=14),
            Column("last_name", "Last name", computed=True, width=16),
            Column("job_title", "Job title", editable=False, width=22),
            Column("department", "Department", computed=True, width=20),
            Column("manager", "Manager", computed=True, width=22),
            Column("work_email", "Work e-mail", editable=False, width=26),
            Column("start_date", "Start", type="date", editable=False, width=11),
            Column("end_date", "End", type="date", editable=False, width=11),
        ),
        computed=_employee_details,
    )
    return WorkbookSpec(
        module="team", title="Team",
        sheets=(team, _leave_sheet(TEAM, with_medical_reason=False, rows_for=_team_rows(LeaveRequest.employee_id))),
        lookups={"employees": PerUser(_employee_choices), "leave types": LEAVE_TYPES},
        reports=(ReportSheet("Balances", TEAM, BALANCE_COLUMNS, PerUser(_balance_rows), BALANCE_FORMATS),),
    )
