"""Staff in Word: its part of the monthly management pack, and an employee's leave statement.

The pack's section holds aggregates only, from the staff module's own queries: headcount by
department, joiners and leavers, and leave taken in days by leave type. No name, no pay and
no reason is ever in it, so no reader can find a person's row there, whatever their roles;
sick leave is a number of days like any other leave. HR's pack counts everyone, a manager's
their own team (and says so).

The leave statement is one employee's year (balances and requests) for those the staff
module lets ask: HR for anyone, a manager for their team, an employee for their own. It
never holds a medical reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.office.report_body import (
    Column,
    Figure,
    Heading,
    Month,
    Section,
    Table,
    Text,
    report_context,
)
from engine.security.roles import Actor
from engine.staff import queries

TITLE = "Staff"


def _team(session: Session, actor: Actor) -> bool:
    """Whether `actor` sees their own team only (a manager), not everyone (HR)."""
    return queries.visible(session, actor) is not None


def section(session: Session, actor: Actor, month: Month) -> Section:
    """The staff section of the pack for `month`: headcount at its end (against the month
    before and a year before), joiners and leavers, and leave taken, in days."""
    team = _team(session, actor)
    now = queries.headcount(session, actor, month.end)
    before = queries.headcount(session, actor, month.previous.end)
    year_before = queries.headcount(session, actor, month.year_before.end)
    moves = queries.joiners_and_leavers(session, actor, month.start, month.end)
    taken = queries.leave_days(session, actor, month.start, month.end)
    taken_before = queries.leave_days(session, actor, month.previous.start, month.previous.end)
    taken_year_before = queries.leave_days(session, actor, month.year_before.start, month.year_before.end)

    whose = "your team's" if team else ""
    found = Section(f"{TITLE}: your team" if team else TITLE)
    found.figures = [
        Figure(f"Headcount{' of your team' if team else ''} at month end", sum(now.values()), sum(before.values()),
               sum(year_before.values()), kind="count"),
        Figure(f"Leave days taken{' by your team' if team else ''}", sum(taken.values(), Decimal(0)),
               sum(taken_before.values(), Decimal(0)), sum(taken_year_before.values(), Decimal(0)), kind="quantity"),
    ]
    if team:
        found.add(Text("These figures count your team only: the people who report to you, directly or through "
                       "other managers.", note=True))
    departments = sorted(set(now) | set(before) | set(year_before))
    found.add(Heading(f"Headcount by department{' (' + whose + ')' if team else ''}"), Table(
        [Column("Department"), Column("Month end", "count"), Column("Month before", "count"),
         Column("A year before", "count")],
        [[d, now.get(d, 0), before.get(d, 0), year_before.get(d, 0)] for d in departments],
        total=["Total", sum(now.values()), sum(before.values()), sum(year_before.values())],
        empty="No one is employed."))
    found.add(Heading("Joiners and leavers in the month"), Table(
        [Column("Department"), Column("Joiners", "count"), Column("Leavers", "count")],
        [[d, n["joiners"], n["leavers"]] for d, n in moves.items()],
        total=["Total", sum(n["joiners"] for n in moves.values()), sum(n["leavers"] for n in moves.values())],
        empty="No one joined or left in the month."))
    found.add(Heading("Leave taken in the month"), Table(
        [Column("Leave type"), Column("Working days", "quantity")],
        [[kind, days] for kind, days in taken.items()],
        total=["Total", sum(taken.values(), Decimal(0))], empty="No leave was taken in the month."))
    found.add(Text("Approved leave, counted in the working days that fall in the month. The section holds counts "
                   "and days only: no names, no pay and no reasons (sick leave is a number of days).", note=True))
    return found


def leave_statement_report(session: Session, actor: Actor, employee: str, year: int) -> dict[str, Any]:
    """The leave statement (templates/reports/standard.docx) of `employee` for `year`: per
    leave type the entitlement, what was carried over, taken, requested and is left, then
    the year's requests. Refused for someone the reader may not ask about; an unknown
    employee naming the option `employee`."""
    statement = queries.leave_statement(session, actor, employee, year)
    person = statement.balances.employee
    balances = Section("Leave balances").add(Table(
        [Column("Leave type"), Column("Entitlement", "quantity"), Column("Carried over", "quantity"),
         Column("Taken", "quantity"), Column("Requested", "quantity"), Column("Left", "quantity")],
        [[row["name"], row["allowance"], row["carried_over"], row["taken"], row["requested"], row["remaining"]]
         for row in statement.balances.leave],
        empty="No leave types are set up."),
        Text("Taken is approved leave; requested is waiting for a decision and already counted against what is "
             "left. Left is shown for the leave types held to a yearly entitlement.", note=True))
    requests = Section(f"Leave requests in {year}").add(Table(
        [Column("From", "date"), Column("To", "date"), Column("Leave type"), Column("Days", "quantity"),
         Column("Status")],
        [[r["starts_on"], r["ends_on"], r["leave_type_name"], r["days"], r["status"]] for r in statement.requests],
        empty=f"No leave was requested for {year}."))
    department = person.get("department_name") or person.get("department") or ""
    subtitle = f"{person.get('name', '')} ({person.get('employee_number', employee)}), {department}, {year}"
    return report_context(session, actor, f"Leave statement {year}", subtitle, [balances, requests],
                          employee=person.get("employee_number", employee), year=year)
