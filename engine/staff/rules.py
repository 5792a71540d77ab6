"""The staff module's rules. Pure functions, no database: each returns every `Problem` it
finds (never only the first), with the stored field it is about and a stable code.

The services call them before they write, and the Staff and Team sheets call the same
functions as their row rules, so a rule is written once and every door (CLI, workbook,
and later the API and the add-in) refuses the same input with the same field and code.
Rules that need the database (a taken login, the leave left, an overlapping request, who
may decide) are the services'; they report their problems the same way, and the pure half
of them (what counts as over the balance, say) lives here too.

Codes used here: `required`, `too_long`, `invalid`, `end_before_start`, `unknown_currency`,
`across_year`, `no_working_day`, `not_employed`, `over_balance`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pycountry

from engine.contacts.models import Contact
from engine.contacts.rules import check_email, is_country
from engine.limits import within_limits
from engine.problems import Problem
from engine.staff.models import (
    CONTRACT_KINDS,
    Contract,
    Department,
    Employee,
    LeaveRequest,
    LeaveType,
)

HALF = Decimal("0.5")
MAX_WEEKLY_HOURS = Decimal(168)
MAX_YEARLY_DAYS = Decimal(366)
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)

# Longest values the text columns hold (PostgreSQL enforces them; refused by name first).
LIMITS: dict[str, int] = {
    "employee_number": 16, "first_name": 100, "last_name": 100, "job_title": 100, "work_email": 254,
    "login": 64, "national_id": 32, "bank_account": 34, "code": 16, "name": 100, "reason": 400,
}
EMPLOYEE_TEXT = ("employee_number", "first_name", "last_name", "job_title", "work_email", "login", "national_id",
                 "bank_account")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_lengths(values: Mapping[str, Any], fields: tuple[str, ...]) -> list[Problem]:
    """Text longer than its column holds, by field."""
    return [Problem(f, "too_long", f"{f.replace('_', ' ')} is longer than {LIMITS[f]} characters")
            for f in fields if isinstance(values.get(f), str) and len(values[f]) > LIMITS[f]]


def check_required(values: Mapping[str, Any], fields: Mapping[str, str]) -> list[Problem]:
    """`fields`: field -> how to name it. A missing or blank one is `required`."""
    return [Problem(f, "required", f"{name} is required") for f, name in fields.items() if _blank(values.get(f))]


# -- departments ---------------------------------------------------------------------------

def check_department(values: Mapping[str, Any]) -> list[Problem]:
    return within_limits(check_required(values, {"code": "a department's code", "name": "a department's name"})
                         + check_lengths(values, ("code", "name")), Department, values)


# -- employees -----------------------------------------------------------------------------

def normalise_employee(values: dict[str, Any]) -> dict[str, Any]:
    """Tidy an employee's fields in place, as they are stored: upper-case country, lower-case
    work e-mail, a bank account without spaces and in capitals (an IBAN as printed)."""
    if isinstance(country := values.get("country"), str):
        values["country"] = country.strip().upper()
    if isinstance(email := values.get("work_email"), str):
        values["work_email"] = email.strip().lower() or None
    if isinstance(account := values.get("bank_account"), str):
        values["bank_account"] = account.replace(" ", "").upper() or None
    return values


def check_employee(values: Mapping[str, Any], person: bool = True) -> list[Problem]:
    """Every problem of an employee as stored (a hire, or a row of the Employees sheet).
    `person`: the person's fields (names, country) are part of it, as on a hire."""
    problems = check_required(values, {"employee_number": "an employee number", "department_id": "a department",
                                       "start_date": "a start date"})
    if person:
        problems += check_required(values, {"last_name": "a last name"})
        country = values.get("country")
        if _blank(country):
            problems.append(Problem("country", "required", "a country is required (an ISO code such as GB)"))
    country = values.get("country")
    if not _blank(country) and not is_country(country):
        problems.append(Problem("country", "invalid", f"{country!r} is not an ISO country code such as GB, DE or FR"))
    if (message := check_email(values.get("work_email"))) is not None:
        problems.append(Problem("work_email", "invalid", message))
    start, end, born = values.get("start_date"), values.get("end_date"), values.get("date_of_birth")
    if start and end and end < start:
        problems.append(Problem("end_date", "end_before_start",
                                "the last day is before the first: correct one of them"))
    if start and born and born >= start:
        problems.append(Problem("date_of_birth", "invalid",
                                "the date of birth is on or after the start date: check the dates"))
    if values.get("id") is not None and values.get("manager_id") == values["id"]:
        problems.append(Problem("manager_id", "invalid", "nobody is their own manager: give their manager's ID"))
    problems = within_limits(problems + check_lengths(values, EMPLOYEE_TEXT), Employee, values)
    return within_limits(problems, Contact, values) if person else problems


def check_last_day(start_date: date, last_day: date) -> list[Problem]:
    if out_of_range := within_limits([], Employee, {"end_date": last_day}):
        return out_of_range
    if last_day < start_date:
        return [Problem("end_date", "end_before_start",
                        f"the last day {last_day} is before the employee started, on {start_date}")]
    return []


# -- contracts -----------------------------------------------------------------------------

def normalise_contract(values: dict[str, Any]) -> dict[str, Any]:
    if isinstance(currency := values.get("currency"), str):
        values["currency"] = currency.strip().upper()
    return values


def is_currency(code: str | None) -> bool:
    return bool(code) and code.upper() in CURRENCIES


def check_contract(values: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a contract as stored: its kind, hours a week, salary, currency (an
    ISO 4217 code) and dates."""
    problems = check_required(values, {"kind": "a contract's kind", "weekly_hours": "the hours a week",
                                       "currency": "a currency", "starts_on": "a start date"})
    kind = values.get("kind")
    if not _blank(kind) and kind not in CONTRACT_KINDS:
        problems.append(Problem("kind", "invalid", f"a contract is one of {', '.join(CONTRACT_KINDS)}, not {kind!r}"))
    hours, salary = values.get("weekly_hours"), values.get("salary")
    if hours is not None and not 0 < hours <= MAX_WEEKLY_HOURS:
        problems.append(Problem("weekly_hours", "invalid", f"{hours} is not a number of hours in a week"))
    if salary is not None and salary < 0:
        problems.append(Problem("salary", "invalid", "a salary cannot be below zero"))
    currency = values.get("currency")
    if not _blank(currency) and not is_currency(currency):
        problems.append(Problem("currency", "unknown_currency",
                                f"{currency!r} is not an ISO currency code; write it like EUR or GBP"))
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and ends < starts:
        problems.append(Problem("ends_on", "end_before_start",
                                "the contract ends before it starts: correct one of the dates"))
    return within_limits(problems, Contract, values)


# -- leave types ---------------------------------------------------------------------------

def normalise_leave_type(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("yearly_allowance", "carry_over_days"):
        if values.get(key) is None:
            values[key] = Decimal(0)
    values["needs_balance"] = bool(values.get("needs_balance"))
    return values


def check_leave_type(values: Mapping[str, Any]) -> list[Problem]:
    problems = (check_required(values, {"code": "a leave type's code", "name": "a leave type's name"})
                + check_lengths(values, ("code", "name")))
    allowance, carried = values.get("yearly_allowance"), values.get("carry_over_days")
    if allowance is not None and not 0 <= allowance <= MAX_YEARLY_DAYS:
        problems.append(Problem("yearly_allowance", "invalid", f"{allowance} is not a number of days in a year"))
    if carried is not None and carried < 0:
        problems.append(Problem("carry_over_days", "invalid", "the days carried over cannot be below zero"))
    elif carried and not values.get("needs_balance"):
        problems.append(Problem("carry_over_days", "invalid",
                                "days carry over only for leave held to a balance: make it keep a balance"))
    return within_limits(problems, LeaveType, values)


# -- leave requests ------------------------------------------------------------------------

def working_days(starts_on: date, ends_on: date, half_day_start: bool = False, half_day_end: bool = False) -> Decimal:
    """Monday to Friday between the dates, both included; a half day at either end counts a
    half (on a one-day request, either flag makes it a half day)."""
    if ends_on < starts_on:
        return Decimal(0)
    whole = sum(1 for n in range((ends_on - starts_on).days + 1) if (starts_on + timedelta(n)).weekday() < 5)
    days = Decimal(whole)
    if starts_on == ends_on:
        return days * HALF if (half_day_start or half_day_end) else days
    if half_day_start and starts_on.weekday() < 5:
        days -= HALF
    if half_day_end and ends_on.weekday() < 5:
        days -= HALF
    return days


def shown(days: Decimal) -> str:
    """Days as people write them: 15, 2.5 (not 15.0)."""
    return format(days.normalize(), "f")


def check_leave(values: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a leave request's own fields: its dates (in order, within one year,
    holding a working day once the half days are counted) and the length of its reason."""
    problems = within_limits(check_required(values, {"starts_on": "the first day off", "ends_on": "the last day off"}),
                             LeaveRequest, values)
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and not problems:
        if ends < starts:
            problems.append(Problem("ends_on", "end_before_start",
                                    "the leave ends before it starts: correct one of the dates"))
        else:
            if starts.year != ends.year:
                problems.append(Problem("ends_on", "across_year",
                                        f"leave cannot run into the next year: end it on {starts.year}-12-31 and "
                                        "request the rest separately"))
            if working_days(starts, ends, bool(values.get("half_day_start")), bool(values.get("half_day_end"))) <= 0:
                problems.append(Problem("starts_on", "no_working_day", "these dates hold no working day"))
    return problems + check_lengths(values, ("reason",))


def check_employed(starts_on: date, ends_on: date, start_date: date, end_date: date | None) -> list[Problem]:
    """Leave falls within the employment (from `start_date`, to `end_date` if they left)."""
    if starts_on < start_date or (end_date is not None and ends_on > end_date):
        return [Problem("starts_on", "not_employed", "the employee is not employed on all of these dates")]
    return []


def check_balance(days: Decimal, remaining: Decimal, kind_name: str, year: int) -> list[Problem]:
    """A request held to a balance asks for no more than is left of the year's."""
    if days > remaining:
        return [Problem("ends_on", "over_balance",
                        f"{shown(days)} days of {kind_name.lower()} asked for, {shown(remaining)} left in {year}: "
                        "ask for fewer days, or choose a leave type that keeps no balance")]
    return []
