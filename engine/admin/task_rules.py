"""The rules of tasks and reminders as pure functions: every problem of a task (each with its
field and a stable code), how a linked record is named, and when a recurring task comes next.
No database: the services call these, the Office workbook's Tasks sheet the very same ones.

A recurring task comes back on the same day of the next month (monthly) or of the same month
next year (yearly). A month without that day gives its last day, and the months after keep
the day the series started on where they have it: 31 January, 29 February (28 in a common
year), 31 March, 30 April, 31 May... A yearly task started on 29 February falls on 28 February
in common years and on the 29th again in leap years. The next task is dated from the due date,
not from the day the task was done: a task done late does not shift the series.

Codes (besides `required`, `invalid`, `too_long`):

    one_link        more than one linked record (a task is linked to one at most)
    link            a link not written KIND:KEY, or of a kind there is none of
    reference       an owner who is no user, a linked record that does not exist
    switched_off    a link to a record of a module switched off
    workflow        a change of status the task cannot make (done a cancelled task...)
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.admin.models import RECURRENCES, TASK_LINKS, TASK_PRIORITIES, TASK_STATUSES
from engine.problems import Problem

TITLE_LENGTH = 200
# The module that owns each kind of linked record (a link to a module switched off is refused).
LINK_MODULES = {"contact": "contacts", "invoice": "ledger", "asset": "admin", "ncr": "quality",
                "employee": "staff", "opportunity": "crm"}
# How a link is written (`invoice:` also takes a draft's id, as a draft has no number yet).
LINK_HELP = "contact:ID, invoice:NUMBER, asset:TAG, ncr:NUMBER, employee:NUMBER or opportunity:ID"
FIELDS = ("title", "due_on", "owner", "status", "priority", "recurrence", "notes", *TASK_LINKS.values())


def task_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """A task as stored: text trimmed (empty is none), the defaults filled in (open, normal
    priority, not recurring)."""
    row = dict(values)
    for key in ("title", "owner", "notes", "status", "priority", "recurrence"):
        if isinstance(row.get(key), str):
            row[key] = row[key].strip() or None
    for key in ("status", "priority", "recurrence"):
        if isinstance(row.get(key), str):
            row[key] = row[key].lower()
    row["status"] = row.get("status") or "open"
    row["priority"] = row.get("priority") or "normal"
    row["recurrence"] = row.get("recurrence") or "none"
    return row


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> list[Problem]:
    if value is None or value in allowed:
        return []
    return [Problem(field, "invalid", f"{value!r} is not a {field.replace('_', ' ')}; use one of: {', '.join(allowed)}")]


def check_task(row: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a task as it would be stored (after `task_defaults`)."""
    problems = []
    title = row.get("title")
    if not title:
        problems.append(Problem("title", "required", "a task needs a title: what is to be done"))
    elif len(title) > TITLE_LENGTH:
        problems.append(Problem("title", "too_long", f"a title has at most {TITLE_LENGTH} characters"))
    if row.get("due_on") is None:
        problems.append(Problem("due_on", "required", "a task needs a due date (YYYY-MM-DD)"))
    elif not isinstance(row["due_on"], date):
        problems.append(Problem("due_on", "invalid", f"{row['due_on']!r} is not a date; write YYYY-MM-DD"))
    if not row.get("owner"):
        problems.append(Problem("owner", "required", "a task needs an owner: a user's login"))
    problems += _choice("status", row.get("status"), TASK_STATUSES)
    problems += _choice("priority", row.get("priority"), TASK_PRIORITIES)
    problems += _choice("recurrence", row.get("recurrence"), RECURRENCES)
    linked = [kind for kind, column in TASK_LINKS.items() if row.get(column) is not None]
    if len(linked) > 1:
        named = " and ".join(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" for kind in linked)
        problems.append(Problem("link", "one_link", f"a task is linked to one record at most, not to {named}; "
                                                    "clear all but one"))
    return problems


def parse_link(text: str) -> tuple[str, str] | Problem:
    """"invoice:INV-2026-0001" -> ("invoice", "INV-2026-0001"); a problem naming `link` when
    it is not KIND:KEY of a kind there is."""
    kind, colon, key = (text or "").partition(":")
    kind, key = kind.strip().lower(), key.strip()
    if not colon or not key or kind not in TASK_LINKS:
        return Problem("link", "link", f"{text!r} names no record: write KIND:KEY, one of {LINK_HELP}")
    return kind, key


def link_kind(row: Mapping[str, Any]) -> tuple[str, int] | None:
    """The kind and id of the record a stored task is linked to, if any."""
    return next(((kind, row[column]) for kind, column in TASK_LINKS.items() if row.get(column) is not None), None)


def check_status_change(task_id: int, before: str, after: str) -> list[Problem]:
    """Open tasks are done or cancelled, and a done or cancelled one is reopened; a cancelled
    task is not done without being reopened first."""
    if before == after or before == "open" or after == "open":
        return []
    return [Problem("status", "workflow", f"task #{task_id} is {before}: reopen it first (status open)")]


def _shifted(day: date, months: int, anchor_day: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def next_due(due_on: date, recurrence: str, anchor_day: int | None = None) -> date | None:
    """When a recurring task due on `due_on` comes next (None: it does not recur).
    `anchor_day`: the day of the month its series started on (default `due_on`'s), kept in
    every month that has it."""
    anchor = anchor_day or due_on.day
    if recurrence == "monthly":
        return _shifted(due_on, 1, anchor)
    if recurrence == "yearly":
        return _shifted(due_on, 12, anchor)
    return None


def days_overdue(due_on: date, as_of: date) -> int:
    """Days past the due date on `as_of` (0 or less: not overdue)."""
    return (as_of - due_on).days
