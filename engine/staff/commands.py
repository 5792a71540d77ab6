"""`backoffice staff ...`: HR's door to departments, employees, contracts, leave and costs,
and a manager's door to their own team.

Thin, like every command group: parse what was typed (money and days straight into Decimals,
dates as dates), call `engine.staff.services` (which checks who may do what) or
`engine.staff.queries`, print the result.

Privacy at this door: every record is turned into a dict keyed by its columns and handed to
the field policy (`config/policies.toml`, `engine.security.policies`) before it is printed, so
a field the user's role may not see is absent from the table and from `--json` (not blank,
not masked). A field read under audit (a leave request's medical reason) is printed only by
`staff show`, and every time it is, `policies.read_audited` writes an audit row naming the
reader, in the same unit of work: if that row cannot be written, nothing is printed.
Managers see only their own reports (`services.visible_employees`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    err,
    handles_errors,
    out,
    print_json,
    say_warning,
    settings,
)
from engine.contacts.models import Contact
from engine.errors import BackofficeError, PermissionDenied
from engine.formats import exact_money as money_text
from engine.formats import money as cents
from engine.formats import parse_date, parse_number
from engine.formats import quantity_text as plain_quantity
from engine.security.gate import record_reads as read_audited
from engine.security.policies import active_policies as load_policies
from engine.security.roles import Actor
from engine.staff import leave, queries, services
from engine.staff.models import (
    MONEY,
    Contract,
    Department,
    Employee,
    LeaveRequest,
    LeaveType,
    StaffCost,
)

staff_app = typer.Typer(
    help="Staff: departments, employees, contracts, leave, costs, and purging leavers. Sensitive fields "
         "(config/policies.toml) are shown only to roles that may see them; managers see their own team.",
    no_args_is_help=True,
)
department_app = typer.Typer(help="Add a department (`staff departments` lists them).", no_args_is_help=True)
leave_app = typer.Typer(help="Leave: requests, decisions, balances, and the leave types.", no_args_is_help=True)
leave_type_app = typer.Typer(help="Add a leave type (`staff leave types` lists them).", no_args_is_help=True)
leave_app.add_typer(leave_type_app, name="type")
staff_app.add_typer(department_app, name="department")
staff_app.add_typer(leave_app, name="leave")

EmployeeArg = Annotated[str, typer.Argument(metavar="EMPLOYEE", help="The employee number, e.g. E0042.")]
RequestArg = Annotated[int, typer.Argument(metavar="REQUEST_ID", help="The leave request's number.")]
Year = Annotated[int | None, typer.Option(min=1900, max=2999, help="The year (default: this year).")]

# Longest values the columns hold (PostgreSQL enforces them; refuse by name rather than fail).
LIMITS = {"--number": 16, "--first-name": 100, "--last-name": 100, "--job-title": 100, "--work-email": 254,
          "--login": 64, "--national-id": 32, "--bank-account": 34, "CODE": 16, "NAME": 100, "--reason": 400}
HOURS, DAYS = 2, 1          # decimal places kept (models: Exact(2) hours, Exact(1) days)
# Keys of the shown records that are not columns, with the column each comes from: hidden
# with it, should a policy ever declare that column sensitive.
DERIVED = {
    "employees": {"department": "department_id", "department_name": "department_id", "manager": "manager_id",
                  "manager_name": "manager_id"},
    "leave_requests": {"employee_number": "employee_id", "employee": "employee_id", "leave_type": "leave_type_id",
                       "leave_type_name": "leave_type_id", "decided_by": "approver_id"},
}

EMPLOYEE_FIELDS = (("employee_number", "employee number"), ("name", "name"), ("country", "country"),
                   ("department", "department"), ("job_title", "job title"), ("manager", "manager"),
                   ("start_date", "started"), ("end_date", "last day"), ("work_email", "work e-mail"),
                   ("login", "login"), ("date_of_birth", "date of birth"), ("national_id", "national id"),
                   ("bank_account", "bank account"), ("purged_at", "purged"))
CONTRACT_COLUMNS = (("id", "#"), ("kind", "kind"), ("weekly_hours", "hours a week"), ("salary", "yearly salary"),
                    ("currency", "currency"), ("starts_on", "from"), ("ends_on", "to"))
LEAVE_COLUMNS = (("id", "#"), ("employee_number", "employee"), ("employee", "name"), ("leave_type", "type"),
                 ("starts_on", "from"), ("ends_on", "to"), ("days", "days"), ("status", "status"),
                 ("reason", "reason"), ("medical_reason", "medical reason"), ("decided_by", "decided by"))


# -- helpers ----------------------------------------------------------------------------------

def _text(value: str | None, option: str) -> str | None:
    """Stripped text, None if empty; refused by name when longer than its column."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > LIMITS[option]:
        raise BackofficeError(f"{option} is longer than {LIMITS[option]} characters")
    return value


def _day(value: str | None, option: str) -> date | None:
    return parse_date(value, option) if value is not None else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Door:
    """What one user is shown: records go through the field policy; fields read under audit
    are noted and logged (`log`) in the same unit of work."""

    def __init__(self, session: Session, actor: Actor):
        self.session, self.actor, self.policies = session, actor, load_policies()
        self.audited: dict[str, dict[int, dict[str, Any]]] = {}

    def sees(self, table: str, column: str) -> bool:
        return self.actor.sees(self.policies.sensitivity(table, column))

    def shown(self, table: str, record_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """`data` (keyed by column, or by a key of DERIVED naming its column) without what the
        user may not see; audited fields noted."""
        hidden = self.policies.hidden_from(self.actor, table)
        from_hidden = {k for k, column in DERIVED.get(table, {}).items() if column in hidden}
        visible = {k: v for k, v in self.policies.redact(self.actor, table, data).items() if k not in from_hidden}
        read = {k: v for k, v in visible.items() if v is not None and self.policies.audited(table, k)}
        if read:
            self.audited.setdefault(table, {}).setdefault(record_id, {}).update(read)
        return visible

    def log(self) -> None:
        """Write the audit rows for every audited field about to be printed."""
        for table, values_by_id in self.audited.items():
            read_audited(self.session, table, values_by_id)

    # -- records as shown --

    def employee(self, e: Employee) -> dict[str, Any]:
        person = self.session.get(Contact, e.contact_id) if e.contact_id else None
        department = self.session.get(Department, e.department_id)
        boss = self.session.get(Employee, e.manager_id) if e.manager_id else None
        names = self.shown("contacts", person.id, {"first_name": person.first_name, "last_name": person.last_name,
                                                   "name": person.name, "country": person.country}) if person else {
            "first_name": None, "last_name": None, "name": "(purged)", "country": None}
        return {**names, **self.shown("employees", e.id, {
            "employee_number": e.employee_number, "department": department.code,
            "department_name": department.name, "job_title": e.job_title,
            "manager": boss.employee_number if boss else None,
            "manager_name": queries.person_name(self.session, boss) or None,
            "start_date": _iso(e.start_date), "end_date": _iso(e.end_date), "work_email": e.work_email,
            "login": e.login, "date_of_birth": _iso(e.date_of_birth), "national_id": e.national_id,
            "bank_account": e.bank_account, "purged_at": e.purged_at.isoformat() if e.purged_at else None})}

    def contract(self, c: Contract) -> dict[str, Any]:
        return self.shown("contracts", c.id, {
            "id": c.id, "kind": c.kind, "weekly_hours": plain_quantity(c.weekly_hours),
            "salary": money_text(c.salary), "currency": c.currency, "starts_on": _iso(c.starts_on),
            "ends_on": _iso(c.ends_on)})

    def leave_request(self, r: LeaveRequest, medical: bool = False) -> dict[str, Any]:
        """A request as shown; its medical reason only with `medical` (`staff show`), and then
        only to those who may see it, audited."""
        e = self.session.get(Employee, r.employee_id)
        kind = self.session.get(LeaveType, r.leave_type_id)
        approver = self.session.get(Employee, r.approver_id) if r.approver_id else None
        data = {"id": r.id, "employee_number": e.employee_number, "employee": queries.person_name(self.session, e),
                "leave_type": kind.code, "leave_type_name": kind.name, "starts_on": _iso(r.starts_on),
                "ends_on": _iso(r.ends_on), "half_day_start": r.half_day_start, "half_day_end": r.half_day_end,
                "days": leave.shown(r.days), "status": r.status, "reason": r.reason,
                "decided_by": approver.employee_number if approver else (r.updated_by if r.decided_at else None),
                "decided_at": r.decided_at.isoformat() if r.decided_at else None}
        if medical:
            data["medical_reason"] = r.medical_reason
        return self.shown("leave_requests", r.id, data)


def _table(rows: list[dict[str, Any]], columns: Iterable[tuple[str, str]], **kwargs: Any) -> Table:
    """A table of the columns present in the rows (a column the user may not see is absent)."""
    present = [(key, label) for key, label in columns if any(key in r for r in rows)] if rows else list(columns)
    table = Table(*(label for _, label in present), **kwargs)
    for r in rows:
        table.add_row(*("" if r.get(key) is None else str(r[key]) for key, _ in present))
    return table


def _leave_table(rows: list[dict[str, Any]], own: bool = False, **kwargs: Any) -> Table:
    """Leave requests as a table; `own`: all of one employee's (their number and name left out)."""
    columns = [c for c in LEAVE_COLUMNS if not (own and c[0] in ("employee_number", "employee"))]
    if not rows:
        return _table([], [c for c in columns if c[0] != "medical_reason"], **kwargs)
    return _table([{**r, "leave_type": r["leave_type_name"]} if "leave_type" in r else r for r in rows], columns,
                  **kwargs)


def _who(person: dict[str, Any]) -> str:
    return f"{person['employee_number']} {person['name']}".strip()


# -- departments ------------------------------------------------------------------------------

@staff_app.command("departments")
@handles_errors
def departments(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List the departments, with their manager and how many people work in each today."""
    with acting_as(user) as (_db, actor, session):
        queries.require_reader(actor)
        counts = queries.headcounts(session)
        rows = []
        for d in session.scalars(select(Department).order_by(Department.code)):
            boss = session.get(Employee, d.manager_id) if d.manager_id else None
            rows.append({"code": d.code, "name": d.name, "manager": boss.employee_number if boss else None,
                         "manager_name": queries.person_name(session, boss) or None,
                         "headcount": counts.get(d.id, 0)})
    if as_json:
        print_json(rows)
        return
    table = Table("code", "department", "manager", "headcount")
    for r in rows:
        table.add_row(r["code"], r["name"], f"{r['manager']} {r['manager_name']}" if r["manager"] else "",
                      str(r["headcount"]))
    out.print(table)


@department_app.command("add")
@handles_errors
def department_add(
    code: Annotated[str, typer.Argument(metavar="CODE", help="A short code, e.g. SAL.")],
    name: Annotated[str, typer.Argument(metavar="NAME", help="The department's name, e.g. Sales.")],
    manager: Annotated[str | None, typer.Option(metavar="EMPLOYEE", help="The manager's employee number.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add a department (HR), optionally with its manager."""
    code_, name_ = _text(code, "CODE"), _text(name, "NAME")
    if not code_ or not name_:
        raise BackofficeError("give the department's CODE and NAME, e.g. `staff department add SAL Sales`")
    with acting_as(user) as (_db, actor, session):
        actor.require("write", services.AREA)
        if session.scalars(select(Department.id).where(Department.code == code_)).first():
            raise BackofficeError(f"there is a department {code_!r} already; `backoffice staff departments` "
                                  "lists them")
        boss = queries.find_employee(session, manager) if manager else None
        added = services.add_department(session, actor, code_, name_, boss.id if boss else None)
        result = {"code": added.code, "name": added.name, "manager": boss.employee_number if boss else None}
    if as_json:
        print_json(result)
        return
    out.print(f"added department {result['code']} ({result['name']})"
              + (f", managed by {result['manager']}" if result["manager"] else ""))


# -- employees --------------------------------------------------------------------------------

@staff_app.command("list")
@handles_errors
def list_(
    department: Annotated[str | None, typer.Option(metavar="CODE", help="Only this department.")] = None,
    leavers: Annotated[bool, typer.Option("--leavers", help="Those whose last day has passed, instead of "
                                                             "current staff.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """List current staff, or leavers: HR sees everyone, a manager their own reports.

    The list holds no sensitive field: `staff show` has them, for those who may see them.
    """
    with acting_as(user) as (_db, actor, session):
        allowed = queries.visible(session, actor)
        dept = queries.find_department(session, department) if department else None
        door = Door(session, actor)
        rows = [door.employee(e) for e in queries.employees(session, allowed, dept.id if dept else None, leavers)]
    keys = ("employee_number", "name", "department", "job_title", "manager", "manager_name", "start_date",
            "end_date", "work_email", "login")
    rows = [{k: r[k] for k in keys if k in r} for r in rows]
    if as_json:
        print_json(rows)
        return
    table = _table(rows, (("employee_number", "number"), ("name", "name"), ("department", "department"),
                          ("job_title", "job title"), ("manager", "manager"), ("start_date", "started"),
                          ("end_date", "last day")))
    out.print(table)
    out.print(f"{len(rows)} {'leaver' if leavers else 'employee'}{'' if len(rows) == 1 else 's'}")


@staff_app.command("show")
@handles_errors
def show(employee: EmployeeArg, year: Year = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """One employee: the person, the employment record, contracts and leave in the year.

    Sensitive fields are shown only to roles that see them (config/policies.toml).

    A medical reason is shown only to HR, and every time it is, an audit row names the reader.
    """
    year = year or date.today().year
    with acting_as(user) as (_db, actor, session):
        e = queries.find_visible_employee(session, actor, employee)
        door = Door(session, actor)
        result = {
            "employee": door.employee(e),
            "contracts": [door.contract(c) for c in session.scalars(
                select(Contract).where(Contract.employee_id == e.id).order_by(Contract.starts_on, Contract.id))],
            "year": year,
            "leave": [door.leave_request(r, medical=True) for r in queries.leave_requests(
                session, None, employee_id=e.id, year=year)],
        }
        door.log()
    if as_json:
        print_json(result)
        return
    person = result["employee"]
    record = Table("", "", show_header=False, title=_who(person), title_justify="left")
    for key, label in EMPLOYEE_FIELDS:
        if key not in person or person[key] is None:
            continue
        value = person[key]
        if key == "department":
            value = f"{value} {person['department_name']}"
        elif key == "manager":
            value = f"{value} {person['manager_name'] or ''}".strip()
        elif key == "purged_at":
            value = value[:10]
        record.add_row(label, str(value))
    out.print(record)
    contracts = [{**c, "salary": cents(c["salary"])} if "salary" in c else c for c in result["contracts"]]
    out.print(_table(contracts, CONTRACT_COLUMNS, title="Contracts", title_justify="left")
              if contracts else "no contracts")
    out.print(_leave_table(result["leave"], own=True, title=f"Leave in {year}", title_justify="left")
              if result["leave"] else f"no leave in {year}")


@staff_app.command("hire")
@handles_errors
def hire(
    first_name: Annotated[str, typer.Option(help="First name.")],
    last_name: Annotated[str, typer.Option(help="Last name.")],
    country: Annotated[str, typer.Option(help="ISO country code of the person, e.g. GB.")],
    number: Annotated[str, typer.Option(help="Their employee number, e.g. E0042 (unique).")],
    department: Annotated[str, typer.Option(metavar="CODE", help="Department code.")],
    start: Annotated[str, typer.Option(metavar="DATE", help="First day of work, YYYY-MM-DD.")],
    job_title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    manager: Annotated[str | None, typer.Option(metavar="EMPLOYEE", help="Employee number of their manager.")]
    = None,
    work_email: Annotated[str | None, typer.Option(help="Work e-mail address.")] = None,
    login: Annotated[str | None, typer.Option(help="Their Backoffice login (a manager then sees their team).")]
    = None,
    date_of_birth: Annotated[str | None, typer.Option(metavar="DATE", help="YYYY-MM-DD (sensitive).")] = None,
    national_id: Annotated[str | None, typer.Option(help="National insurance or id number (sensitive).")] = None,
    bank_account: Annotated[str | None, typer.Option(help="IBAN or account number for pay (sensitive).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Hire someone (HR): the person goes into contacts, their employment record beside it."""
    first_name_, last_name_ = _text(first_name, "--first-name"), _text(last_name, "--last-name")
    number_ = _text(number, "--number")
    if not (first_name_ and last_name_ and number_):
        raise BackofficeError("give --first-name, --last-name and --number")
    email = _text(work_email, "--work-email")
    if email is not None and ("@" not in email or " " in email):
        raise BackofficeError(f"--work-email {email!r} is not an e-mail address")
    account = _text(bank_account.replace(" ", "").upper() if bank_account else None, "--bank-account")
    starts, born = parse_date(start, "--start"), _day(date_of_birth, "--date-of-birth")
    if born is not None and born >= starts:
        raise BackofficeError("--date-of-birth is on or after --start: check the dates")
    with acting_as(user) as (_db, actor, session):
        actor.require("write", services.AREA)
        dept = queries.find_department(session, department)
        boss = queries.find_employee(session, manager) if manager else None
        login_ = _text(login, "--login")
        if login_ and session.scalars(select(Employee.id).where(Employee.login == login_)).first():
            raise BackofficeError(f"the login {login_!r} belongs to another employee already")
        hired = services.hire(session, actor, services.Hire(
            first_name_, last_name_, country.strip().upper(), number_, dept.id, starts,
            job_title=_text(job_title, "--job-title"), manager_id=boss.id if boss else None, work_email=email,
            login=login_, date_of_birth=born, national_id=_text(national_id, "--national-id"),
            bank_account=account))
        result = Door(session, actor).employee(hired)
    if as_json:
        print_json(result)
        return
    out.print(f"hired {_who(result)} into {result['department_name']} from {result['start_date']}")


@staff_app.command("contract")
@handles_errors
def contract(
    employee: EmployeeArg,
    kind: Annotated[Literal["permanent", "fixed-term", "casual"], typer.Option(help="The kind of contract.")],
    hours: Annotated[str, typer.Option(help="Hours a week, e.g. 40 or 22.5.")],
    salary: Annotated[str, typer.Option(help="A year's gross pay, e.g. 36000 (no thousands separators).")],
    from_: Annotated[str, typer.Option("--from", metavar="DATE", help="First day of the contract, YYYY-MM-DD.")],
    to: Annotated[str | None, typer.Option("--to", metavar="DATE", help="Last day (fixed-term), YYYY-MM-DD.")]
    = None,
    currency: Annotated[str | None, typer.Option(help="ISO code of the salary's currency (default: the books' "
                                                      "currency, ledger.base_currency).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add a contract to an employee (HR): kind, hours, yearly salary, dates."""
    weekly, pay = parse_number(hours, "--hours", HOURS), parse_number(salary, "--salary", MONEY)
    starts, ends = parse_date(from_, "--from"), _day(to, "--to")
    if ends is not None and ends < starts:
        raise BackofficeError("--to is before --from: the contract would end before it starts")
    money = (currency or settings().ledger.base_currency).strip().upper()
    if len(money) != 3 or not money.isalpha():
        raise BackofficeError(f"--currency {currency!r} is not a currency code; write it like EUR or GBP")
    with acting_as(user) as (_db, actor, session):
        actor.require("write", services.AREA)
        e = queries.find_employee(session, employee)
        added = services.add_contract(session, actor, e.id, kind, weekly, pay, money, starts, ends)
        door = Door(session, actor)
        result = {"employee": _who(door.employee(e)), **door.contract(added)}
    if as_json:
        print_json(result)
        return
    pay_text = f", {cents(result['salary'])} {result['currency']} a year" if "salary" in result else ""
    until = f" to {result['ends_on']}" if result["ends_on"] else ""
    out.print(f"added contract #{result['id']} for {result['employee']}: {result['kind']}, "
              f"{result['weekly_hours']} hours a week{pay_text}, from {result['starts_on']}{until}")


@staff_app.command("leaver")
@handles_errors
def leaver(
    employee: EmployeeArg,
    last_day: Annotated[str, typer.Option(metavar="DATE", help="Their last day of work, YYYY-MM-DD.")],
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Record an employee's last day (HR).

    `staff purge` may remove their data once `staff.retention_years` have passed since that day.
    """
    day = parse_date(last_day, "--last-day")
    with acting_as(user) as (_db, actor, session):
        actor.require("write", services.AREA)
        e = queries.find_employee(session, employee)
        later = queries.record_last_day(session, actor, e, day)
        door = Door(session, actor)
        result = {"employee_number": e.employee_number, "end_date": day.isoformat(),
                  "leave_after_last_day": [door.leave_request(r) for r in later]}
    if as_json:
        print_json(result)
        return
    out.print(f"employee {result['employee_number']} leaves: last day {result['end_date']}")
    for r in result["leave_after_last_day"]:
        say_warning(f"leave request #{r['id']} ({r['starts_on']} to {r['ends_on']}, {r['status']}) runs past "
                    "the last day")


# -- leave ------------------------------------------------------------------------------------

@leave_app.command("types")
@handles_errors
def leave_types(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List the leave types: days a year, whether held to a balance, days carried over."""
    with acting_as(user) as (_db, actor, session):
        queries.require_reader(actor)
        rows = [{"code": k.code, "name": k.name, "days_a_year": leave.shown(k.yearly_allowance),
                 "balance": k.needs_balance, "carry_over_days": leave.shown(k.carry_over_days)}
                for k in session.scalars(select(LeaveType).order_by(LeaveType.code))]
    if as_json:
        print_json(rows)
        return
    table = Table("code", "leave type", "days a year", "held to a balance", "carried over")
    for r in rows:
        table.add_row(r["code"], r["name"], r["days_a_year"], "yes" if r["balance"] else "no",
                      r["carry_over_days"] if r["balance"] else "")
    out.print(table)


@leave_type_app.command("add")
@handles_errors
def leave_type_add(
    code: Annotated[str, typer.Argument(metavar="CODE", help="A short code, e.g. annual.")],
    name: Annotated[str, typer.Argument(metavar="NAME", help="e.g. \"Annual leave\".")],
    days: Annotated[str, typer.Option(metavar="N", help="Days a year (0 for leave without an allowance).")],
    balance: Annotated[bool, typer.Option("--balance", help="Refuse requests beyond the days left.")] = False,
    carry_over: Annotated[str, typer.Option(metavar="N", help="Unused days that carry over into the next year "
                                                              "(with --balance).")] = "0",
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add a leave type (HR), e.g. `staff leave type add annual "Annual leave" --days 25 --balance --carry-over 5`."""
    allowance, carried = parse_number(days, "--days", DAYS), parse_number(carry_over, "--carry-over", DAYS)
    code_, name_ = _text(code, "CODE"), _text(name, "NAME")
    with acting_as(user) as (_db, actor, session):
        kind = queries.add_leave_type(session, actor, code_ or "", name_ or "", allowance, balance, carried)
        result = {"code": kind.code, "name": kind.name, "days_a_year": leave.shown(kind.yearly_allowance),
                  "balance": kind.needs_balance, "carry_over_days": leave.shown(kind.carry_over_days)}
    if as_json:
        print_json(result)
        return
    held = (f", held to a balance, {result['carry_over_days']} days carry over" if result["balance"]
            else ", not held to a balance")
    out.print(f"added leave type {result['code']} ({result['name']}): {result['days_a_year']} days a year{held}")


def _say_request(verb: str, r: dict[str, Any]) -> None:
    out.print(f"{verb} leave request #{r['id']}: {r['employee_number']} {r['employee']}, {r['leave_type_name']} "
              f"{r['starts_on']} to {r['ends_on']} ({r['days']} days), {r['status']}", soft_wrap=True)


@leave_app.command("request")
@handles_errors
def leave_request(
    employee: EmployeeArg,
    kind: Annotated[str, typer.Option("--type", metavar="CODE", help="Leave type code (`staff leave types`).")],
    from_: Annotated[str, typer.Option("--from", metavar="DATE", help="First day off, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", metavar="DATE", help="Last day off, YYYY-MM-DD (included).")],
    half_day_start: Annotated[bool, typer.Option("--half-day-start", help="The first day is a half day.")] = False,
    half_day_end: Annotated[bool, typer.Option("--half-day-end", help="The last day is a half day.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (seen by the employee's managers).")] = None,
    medical_reason: Annotated[str | None, typer.Option(help="A medical reason (HR only; seen only by HR, every "
                                                            "read audited).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Request leave for an employee (HR for anyone, a manager for their own reports).

    Refused if it overlaps their other leave or goes beyond the days left.
    """
    starts, ends = parse_date(from_, "--from"), parse_date(to, "--to")
    why = _text(reason, "--reason")
    medical = medical_reason.strip() if medical_reason and medical_reason.strip() else None
    with acting_as(user) as (_db, actor, session):
        e = queries.find_visible_employee(session, actor, employee)
        code = queries.find_leave_type(session, kind).code
        made = services.request_leave(session, actor, e.id, code, starts, ends, half_day_start, half_day_end,
                                      why, medical)
        result = Door(session, actor).leave_request(made)
    if as_json:
        print_json(result)
        return
    _say_request("recorded", result)
    if medical is not None:
        out.print("a medical reason is recorded with it: only HR sees it, and every read is audited")


def _decide(request_id: int, approve: bool, as_json: bool, user: str | None) -> None:
    with acting_as(user) as (_db, actor, session):
        queries.require_reader(actor)
        decided = services.decide_leave(session, actor, request_id, approve)
        result = Door(session, actor).leave_request(decided)
    if as_json:
        print_json(result)
        return
    _say_request("approved" if approve else "rejected", result)


@leave_app.command("approve")
@handles_errors
def leave_approve(request_id: RequestArg, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Approve a waiting leave request (the employee's managers, or HR; never one's own)."""
    _decide(request_id, True, as_json, user)


@leave_app.command("reject")
@handles_errors
def leave_reject(request_id: RequestArg, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Reject a waiting leave request (the employee's managers, or HR; never one's own)."""
    _decide(request_id, False, as_json, user)


@leave_app.command("list")
@handles_errors
def leave_list(
    employee: Annotated[str | None, typer.Option(metavar="EMPLOYEE", help="Only this employee's.")] = None,
    status: Annotated[Literal["requested", "approved", "rejected"] | None, typer.Option(
        help="Only requests in this state.")] = None,
    year: Annotated[int | None, typer.Option(min=1900, max=2999, help="Only leave starting in this year.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """List leave requests: HR sees everyone's, a manager their own reports'.

    Medical reasons are never listed (`staff show` shows them to HR, audited).
    """
    with acting_as(user) as (_db, actor, session):
        allowed = queries.visible(session, actor)
        e = queries.find_visible_employee(session, actor, employee) if employee else None
        door = Door(session, actor)
        rows = [door.leave_request(r) for r in queries.leave_requests(session, allowed, e.id if e else None,
                                                                       status, year)]
    if as_json:
        print_json(rows)
        return
    out.print(_leave_table(rows))
    out.print(f"{len(rows)} leave request{'' if len(rows) == 1 else 's'}")


@leave_app.command("balance")
@handles_errors
def leave_balance(employee: EmployeeArg, year: Year = None, as_json: JsonOption = False,
                  user: UserOption = None) -> None:
    """An employee's leave in a year, per leave type: allowance, carried over, taken, requested, left.

    Taken is approved leave; requested is waiting for a decision and already counts against what is left.
    """
    year = year or date.today().year
    with acting_as(user) as (_db, actor, session):
        e = queries.find_visible_employee(session, actor, employee)
        who = _who(Door(session, actor).employee(e))
        rows = []
        for kind in session.scalars(select(LeaveType).order_by(LeaveType.code)):
            held = leave.balance(session, e, kind, year)
            rows.append({"leave_type": kind.code, "name": kind.name, "balance": kind.needs_balance,
                         "allowance": leave.shown(held.allowance), "carried_over": leave.shown(held.carried_over),
                         "taken": leave.shown(held.taken), "requested": leave.shown(held.requested),
                         "remaining": leave.shown(held.remaining) if kind.needs_balance else None})
    if as_json:
        print_json({"employee": e.employee_number, "year": year, "leave": rows})
        return
    table = Table("leave type", "allowance", "carried over", "taken", "requested", "left",
                  title=f"{who}: leave in {year}", title_justify="left")
    for r in rows:
        if r["balance"]:
            table.add_row(r["name"], r["allowance"], r["carried_over"], r["taken"], r["requested"], r["remaining"])
        else:
            table.add_row(r["name"], "", "", r["taken"], r["requested"], "no limit")
    out.print(table)


# -- figures and purging ----------------------------------------------------------------------

@staff_app.command("costs")
@handles_errors
def costs(
    year: Annotated[int, typer.Option(min=1900, max=2999, help="The year, e.g. 2026.")],
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Headcount and cost per department and month of a year (HR and admin only).

    A month's cost is a twelfth of each yearly salary; purged leavers still count.

    Who sees it: the figures need read access to all staff. Managers are refused: the only figures they could have are their own reports', which would give their pay away.

    The cost column is a sum of salaries, so it is shown only to roles that see salaries (the class of contracts.salary in config/policies.toml, `hr`); a role that reads staff without seeing `hr` gets the headcount only.
    """
    with acting_as(user) as (_db, actor, session):
        if not actor.may("read", services.AREA):
            raise PermissionDenied(
                f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not see staff costs: headcount "
                "and cost per department are for HR (read access to all staff), as a department's cost adds up "
                "its people's salaries")
        figures = services.department_figures(session, actor, year)
        with_cost = Door(session, actor).sees("contracts", "salary")
    rows = [{"department": f.department, "month": f"{f.month:%Y-%m}", "headcount": f.headcount,
             **({"cost": money_text(f.cost)} if with_cost else {})} for f in figures]
    result: dict[str, Any] = {"year": year, "months": rows}
    if with_cost:
        result["total_cost"] = money_text(sum((f.cost for f in figures), Decimal(0)))
    if as_json:
        print_json(result)
        return
    table = Table("department", "month", "headcount", *(["cost"] if with_cost else []),
                  title=f"Staff per department and month, {year}", title_justify="left")
    for r in rows:
        table.add_row(r["department"], r["month"], str(r["headcount"]), *([cents(r["cost"])] if with_cost else []))
    if with_cost:
        table.add_section()
        table.add_row("total", "", "", cents(result["total_cost"]))
    out.print(table)


class _NotConfirmed(Exception):
    """Raised inside the unit of work to roll a purge back when --confirm was not given."""


def _purge_summary(session: Session, e: Employee) -> tuple[list[str], list[str]]:
    """What a purge of `e` removes and what it keeps (names of fields, never their values)."""
    labels = dict(EMPLOYEE_FIELDS)
    removed = ["name, contact details and addresses in contacts"] if e.contact_id else []
    removed += [labels[f] for f in services.IDENTIFYING if getattr(e, f) is not None]
    removed.append(f"employee number {e.employee_number} (becomes PURGED-{e.id})")
    paid = [c for c in session.scalars(select(Contract).where(Contract.employee_id == e.id)) if c.salary is not None]
    if paid:
        removed.append(f"the salary of {len(paid)} contract{'s' if len(paid) != 1 else ''}")
    told = [r for r in session.scalars(select(LeaveRequest).where(LeaveRequest.employee_id == e.id))
            if r.reason is not None or r.medical_reason is not None]
    if told:
        removed.append(f"the reasons given for {len(told)} leave request{'s' if len(told) != 1 else ''}")
    kept = ["department, start date and last day, contract kinds, hours and dates, leave dates",
            "cost per month (so headcount and cost per department and month do not change)"]
    return removed, kept


@staff_app.command("purge")
@handles_errors
def purge(
    employee: EmployeeArg,
    confirm: Annotated[bool, typer.Option("--confirm", help="Do it (without it: say what would be removed).")]
    = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Remove a leaver's identifying and sensitive data after the retention period (HR, admin).

    Allowed once `staff.retention_years` have passed since their last day, to roles that can purge-staff. Headcount and cost per department and month are kept; the purge is in the audit log.

    Without --confirm nothing changes: it says what would be removed.
    """
    years = settings().staff.retention_years
    result: dict[str, Any] = {}
    try:
        with acting_as(user) as (_db, actor, session):
            actor.require_capability("purge-staff")
            e = queries.find_employee(session, employee)
            number = e.employee_number
            removed, kept = _purge_summary(session, e)
            # The service makes every check (capability, left, retention); without --confirm
            # its work is rolled back, so the answer is the same as a real purge's would be.
            purged = services.purge_employee(session, actor, e.id, years)
            months = len(session.scalars(select(StaffCost.id).where(StaffCost.employee_id == e.id)).all())
            result = {"employee": number, "now": purged.employee_number, "purged": confirm,
                      "removed" if confirm else "would_remove": removed, "kept": kept, "months_of_cost_kept": months}
            if not confirm:
                raise _NotConfirmed
    except _NotConfirmed:
        if as_json:
            print_json(result)
        else:
            err.print(f"not purged: `staff purge {number} --confirm` would remove: " + "; ".join(removed)
                      + f". It keeps: {'; '.join(kept)} ({months} months). Nothing was changed; run it again "
                      "with --confirm to purge.", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print_json(result)
        return
    out.print(f"purged employee {number} (now {result['now']}): removed " + "; ".join(removed)
              + f"; kept {result['months_of_cost_kept']} months of cost figures", soft_wrap=True)
