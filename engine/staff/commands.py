"""`backoffice staff ...`: HR's door to departments, employees, contracts, leave and costs,
and a manager's door to their own team.

Thin, like every command group: parse what was typed (money and days straight into Decimals,
dates as dates), call `engine.staff.services` or `engine.staff.queries` with the acting
user, and render what comes back. Every rule (dates in order, an ISO currency, a taken
login, the leave left, who may decide) is the services'; which records a user sees, and
which fields of them, is the queries' (through the policy gate, `engine.security.gate`):
a field the user's role may not see is absent from the table and from `--json`, and a
medical reason handed out is audited in the same unit of work. A refusal comes back with
its field and code, which `--json` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    err,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
    say_warning,
    settings,
)
from engine.formats import exact_money, money, parse_date, parse_number, quantity_text
from engine.staff import queries, services
from engine.staff.models import MONEY

if TYPE_CHECKING:
    from rich.table import Table

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

HOURS, DAYS = 2, 1          # decimal places kept (models: Exact(2) hours, Exact(1) days)
MONEY_KEYS = frozenset({"salary", "cost", "total_cost"})
# The amounts of the records (Decimals; exact strings in the JSON form the server answers).
AMOUNT_KEYS = MONEY_KEYS | {"weekly_hours", "days", "days_a_year", "carry_over_days", "allowance", "carried_over",
                            "taken", "requested", "remaining"}
KEYS = ("id", "version")    # the HTTP API's paging and ETag keys: not shown by the command line

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


# -- parsing and rendering --------------------------------------------------------------------

def _text(value: str | None) -> str | None:
    """Stripped text, None if empty (how long it may be is the service's rule)."""
    return value.strip() or None if value is not None else None


def _day(value: str | None, option: str) -> date | None:
    return parse_date(value, option) if value is not None else None


def _value(key: str, value: Any) -> Any:
    """A value as the CLI prints it: ISO dates and times, exact money to the places stored,
    other amounts as people write them (40, 2.5). From the Python values or their JSON form
    (an amount is then its exact string, parsed again here), the same text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and key in AMOUNT_KEYS:
        value = Decimal(value)
    if isinstance(value, Decimal):
        return exact_money(value) if key in MONEY_KEYS else quantity_text(value)
    return value


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _value(k, v) for k, v in record.items()}


def _table(rows: list[dict[str, Any]], columns: Iterable[tuple[str, str]], **kwargs: Any) -> Table:
    """A table of the columns present in the rows (a column the user may not see is absent)."""
    present = [(key, label) for key, label in columns if any(key in r for r in rows)] if rows else list(columns)
    table = new_table(*(label for _, label in present), **kwargs)
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
    return f"{person['employee_number']} {person.get('name') or ''}".strip()


def _without_keys(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in KEYS}


# -- departments ------------------------------------------------------------------------------

@staff_app.command("departments")
@handles_errors
def departments(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List the departments, with their manager and how many people work in each today."""
    rows = fetch(user, queries.departments, ("/staff/departments", None))
    if as_json:
        print_json(rows)
        return
    table = new_table("code", "department", "manager", "headcount")
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
    with acting_as(user) as (_db, actor, session):
        boss = queries.find_employee(session, actor, manager, field="manager_id") if manager else None
        added = services.add_department(session, actor, code, name, boss.id if boss else None)
        result = queries.department_record(session, actor, added)
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
    rows = [_plain(_without_keys(r)) for r in fetch(
        user, lambda session, actor: queries.employees(session, actor, department, leavers, keys=True),
        ("/staff/employees", {"department": department, "leavers": "true" if leavers else None}))]
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
    # The route's form (the employee's record with their contracts and the year's leave).
    found = fetch(user, lambda session, actor: _file(queries.employee_file(session, actor, employee, year, keys=True)),
                  (f"/staff/employees/{quote(employee, safe='')}", {"year": year}))
    person = {k: v for k, v in found.items() if k not in ("contracts", "year", "leave")}
    result = {"employee": _plain(_without_keys(person)), "contracts": [_plain(c) for c in found["contracts"]],
              "year": year, "leave": [_plain(r) for r in found["leave"]]}
    if as_json:
        print_json(result)
        return
    person = result["employee"]
    record = new_table("", "", show_header=False, title=_who(person), title_justify="left")
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
    contracts = [{**c, "salary": money(c["salary"])} if "salary" in c else c for c in result["contracts"]]
    out.print(_table(contracts, CONTRACT_COLUMNS, title="Contracts", title_justify="left")
              if contracts else "no contracts")
    out.print(_leave_table(result["leave"], own=True, title=f"Leave in {year}", title_justify="left")
              if result["leave"] else f"no leave in {year}")


def _file(found: dict[str, Any]) -> dict[str, Any]:
    """An employee's file as `GET /staff/employees/{number}` answers it."""
    return {**found["employee"], "contracts": found["contracts"], "year": found["year"], "leave": found["leave"]}


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
    starts, born = parse_date(start, "--start"), _day(date_of_birth, "--date-of-birth")
    with acting_as(user) as (_db, actor, session):
        dept = queries.find_department(session, actor, department)
        boss = queries.find_employee(session, actor, manager, field="manager_id") if manager else None
        hired = services.hire(session, actor, services.Hire(
            _text(first_name), _text(last_name), _text(country), _text(number), dept.id, starts,
            job_title=_text(job_title), manager_id=boss.id if boss else None, work_email=_text(work_email),
            login=_text(login), date_of_birth=born, national_id=_text(national_id),
            bank_account=_text(bank_account)))
        result = _plain(queries.employee_record(session, actor, hired))
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
    code = currency if currency is not None else settings().ledger.base_currency
    with acting_as(user) as (_db, actor, session):
        e = queries.find_employee(session, actor, employee)
        added = services.add_contract(session, actor, e.id, kind, weekly, pay, code, starts, ends)
        result = {"employee": _who(queries.employee_record(session, actor, e)),
                  **_plain(queries.contract_record(session, actor, added))}
    if as_json:
        print_json(result)
        return
    pay_text = f", {money(result['salary'])} {result['currency']} a year" if "salary" in result else ""
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
        e = queries.find_employee(session, actor, employee)
        later = services.record_last_day(session, actor, e.id, day)
        result = {"employee_number": e.employee_number, "end_date": day.isoformat(),
                  "leave_after_last_day": [_plain(queries.leave_request_record(session, actor, r)) for r in later]}
    if as_json:
        print_json(result)
        return
    out.print(f"employee {result['employee_number']} leaves: last day {result['end_date']}")
    for r in result["leave_after_last_day"]:
        say_warning(f"leave request #{r['id']} ({r['starts_on']} to {r['ends_on']}, {r['status']}) runs past "
                    "the last day")


@staff_app.command("leaving")
@handles_errors
def leaving(employee: EmployeeArg, as_json: JsonOption = False, user: UserOption = None) -> None:
    """A leaver's checklist: last day, open leave, leave left, and what other modules add
    (the assets to return)."""
    found = fetch(user, lambda session, actor: queries.leaving_checklist(session, actor, employee),
                  (f"/staff/employees/{quote(employee.strip(), safe='')}/leaving", None))
    if as_json:
        print_json(found)
        return
    last = found["last_day"] or "not recorded"
    out.print(f"{_who(found['employee'])} leaving: last day {last}")
    for r in found["remaining_leave"]:
        out.print(f"  {r['leave_type']}: {r['remaining']} day(s) left in {found['year']}")
    for item in found["items"]:
        out.print(f"  [ ] {item['item']}")
    if not found["items"]:
        out.print("  nothing left to do")


# -- leave ------------------------------------------------------------------------------------

@leave_app.command("types")
@handles_errors
def leave_types(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List the leave types: days a year, whether held to a balance, days carried over."""
    rows = [_plain(r) for r in fetch(user, queries.leave_types, ("/staff/leave-types", None))]
    if as_json:
        print_json(rows)
        return
    table = new_table("code", "leave type", "days a year", "held to a balance", "carried over")
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
    with acting_as(user) as (_db, actor, session):
        kind = services.add_leave_type(session, actor, code, name, allowance, balance, carried)
        result = _plain(queries.leave_type_record(kind))
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
    medical = _text(medical_reason)
    with acting_as(user) as (_db, actor, session):
        e = queries.find_employee(session, actor, employee)
        made = services.request_leave(session, actor, e.id, kind.strip(), starts, ends, half_day_start,
                                      half_day_end, _text(reason), medical)
        result = _plain(queries.leave_request_record(session, actor, made))
    if as_json:
        print_json(result)
        return
    _say_request("recorded", result)
    if medical is not None:
        out.print("a medical reason is recorded with it: only HR sees it, and every read is audited")


def _decide(request_id: int, approve: bool, as_json: bool, user: str | None) -> None:
    with acting_as(user) as (_db, actor, session):
        decided = services.decide_leave(session, actor, request_id, approve)
        result = _plain(queries.leave_request_record(session, actor, decided))
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
    employee: Annotated[str | None, typer.Option("--employee", metavar="EMPLOYEE", help="Only this employee's.")] = None,
    status: Annotated[Literal["requested", "approved", "rejected"] | None, typer.Option(
        help="Only requests in this state.")] = None,
    year: Annotated[int | None, typer.Option(min=1900, max=2999, help="Only leave starting in this year.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """List leave requests: HR sees everyone's, a manager their own reports'.

    Medical reasons are never listed (`staff show` shows them to HR, audited).
    """
    rows = [_plain(r) for r in fetch(
        user, lambda session, actor: queries.leave_requests(session, actor, employee, status, year),
        ("/staff/leave", {"employee": employee, "status": status, "year": year}))]
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
    held = fetch(user, lambda session, actor: _balances(queries.leave_balances(session, actor, employee, year)),
                 ("/staff/leave/balance", {"employee": employee, "year": year}))
    rows = [_plain(r) for r in held["leave"]]
    if as_json:
        print_json({"employee": held["employee"], "year": year, "leave": rows})
        return
    table = new_table("leave type", "allowance", "carried over", "taken", "requested", "left",
                  title=f"{_who({'employee_number': held['employee'], 'name': held['name']})}: leave in {year}",
                  title_justify="left")
    for r in rows:
        if r["balance"]:
            table.add_row(r["name"], r["allowance"], r["carried_over"], r["taken"], r["requested"], r["remaining"])
        else:
            table.add_row(r["name"], "", "", r["taken"], r["requested"], "no limit")
    out.print(table)


def _balances(held: queries.Balances) -> dict[str, Any]:
    """An employee's leave balances as `GET /staff/leave/balance` answers them."""
    return {"employee": held.employee["employee_number"], "name": held.employee.get("name"), "year": held.year,
            "leave": held.leave}


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
    figures = fetch(user, lambda session, actor: queries.staff_costs(session, actor, year),
                    ("/staff/costs", {"year": year}))
    with_cost = "total_cost" in figures
    rows = [{**_plain(m), "month": m["month"][:7]} for m in figures["months"]]     # 2026-03-01: 2026-03
    result = {**_plain(figures), "months": rows}
    if as_json:
        print_json(result)
        return
    table = new_table("department", "month", "headcount", *(["cost"] if with_cost else []),
                  title=f"Staff per department and month, {year}", title_justify="left")
    for r in rows:
        table.add_row(r["department"], r["month"], str(r["headcount"]), *([money(r["cost"])] if with_cost else []))
    if with_cost:
        table.add_section()
        table.add_row("total", "", "", money(result["total_cost"]))
    out.print(table)


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
    with acting_as(user) as (_db, actor, session):
        e = queries.find_employee(session, actor, employee)
        # Every check a purge makes, and what it would remove, without writing anything.
        plan = services.purge_plan(session, actor, e.id, years)
        if confirm:
            services.purge_employee(session, actor, e.id, years)
    result = {"employee": plan.employee_number, "now": plan.becomes, "purged": confirm,
              "removed" if confirm else "would_remove": list(plan.removes), "kept": list(plan.keeps),
              "months_of_cost_kept": plan.months_of_cost}
    if not confirm:
        if as_json:
            print_json(result)
        else:
            err.print(f"not purged: `staff purge {plan.employee_number} --confirm` would remove: "
                      + "; ".join(plan.removes) + f". It keeps: {'; '.join(plan.keeps)} ({plan.months_of_cost} "
                      "months). Nothing was changed; run it again with --confirm to purge.", soft_wrap=True)
        raise typer.Exit(2)
    if as_json:
        print_json(result)
        return
    out.print(f"purged employee {plan.employee_number} (now {plan.becomes}): removed " + "; ".join(plan.removes)
              + f"; kept {plan.months_of_cost} months of cost figures", soft_wrap=True)
