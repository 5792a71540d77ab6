"""Tasks and reminders, each operation inside the caller's unit of work (one transaction).

A task has a title, a due date, an owner (a user's login), a priority and a status (open,
done, cancelled), and may be linked to one record, named as people name it: `contact:12`,
`invoice:INV-2026-0001` (a draft by its id), `asset:LAP-001`, `ncr:7`, `employee:E1001`,
`opportunity:3`. A link to a record of a module switched off is refused, naming `link`.

Who sees what: writers of the area admin (managers, administrators) see and change every
task; those who only read it (every member of staff) see their own tasks, the ones they own,
and nothing else: `own_only` is the one place that says so, and every query, sheet and the
policy gate (`readable_records`) ask it. The assets of the same area are not limited so.

A recurring task (monthly, yearly) makes its next one when it is done (`task_rules.next_due`),
once: `next_id` names it, so doing the task again after reopening it makes no second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import registry
from engine.admin import task_rules as rules
from engine.admin.models import TASK_LINKS, Asset, Task
from engine.contacts.models import Contact
from engine.crm.models import Opportunity
from engine.db.base import apply_changes, require_version
from engine.errors import NotFound, ValidationFailed
from engine.ledger.models import Invoice
from engine.problems import Problem
from engine.quality.models import Nonconformance
from engine.security.models import User
from engine.security.roles import Actor
from engine.staff.models import Employee

AREA = "admin"
# Each kind of linked record: its table and the column people name it by (None: its id).
LINKED = {"contact": (Contact, None), "invoice": (Invoice, Invoice.number), "asset": (Asset, Asset.tag),
          "ncr": (Nonconformance, None), "employee": (Employee, Employee.employee_number),
          "opportunity": (Opportunity, None)}


# -- who sees which tasks ------------------------------------------------------------------------

def own_only(actor: Actor) -> str | None:
    """The login whose tasks alone `actor` may see (those who only read admin), or None for
    every task (writers of admin); refuses those who do not read admin."""
    if actor.may("write", AREA):
        return None
    actor.require("read", AREA)
    return actor.login


def readable_records(session: Session, actor: Actor, table: str) -> set[int] | None:
    """The policy gate's question for admin's tables (`registry.module(records=...)`): the
    tasks of their own for those who only read admin; every asset, assignment and posting."""
    login = own_only(actor)
    if login is None or table != Task.__tablename__:
        return None
    return set(session.scalars(select(Task.id).where(Task.owner == login)))


def check_may_see(actor: Actor, task: Task) -> None:
    login = own_only(actor)
    if login is not None and task.owner != login:
        raise NotFound(f"there is no task #{task.id} of yours; `backoffice tasks list` shows them", "id")


# -- linked records, named as people name them ---------------------------------------------------

def _switched_off(kind: str) -> Problem | None:
    module = rules.LINK_MODULES[kind]
    if registry.current().is_on(module):
        return None
    return Problem("link", "switched_off", f"a task cannot be linked to a {kind}: the {module} module is "
                                           "switched off (`modules` in the settings)")


def resolve_link(session: Session, text: str | None) -> dict[str, int | None]:
    """The task's link columns for a link as typed ("invoice:INV-2026-0001"): the one named
    set, the others cleared; an empty link clears them all. Refused naming `link`."""
    cleared: dict[str, int | None] = dict.fromkeys(TASK_LINKS.values())
    if text is None or not text.strip():
        return cleared
    parsed = rules.parse_link(text)
    if isinstance(parsed, Problem):
        raise ValidationFailed([parsed])
    kind, key = parsed
    if (off := _switched_off(kind)) is not None:
        raise ValidationFailed([off])
    model, by = LINKED[kind]
    found = None
    if by is not None:      # the key as typed, else whatever the case if that names one record
        found = session.scalars(select(model.id).where(by == key)).first()
        if found is None:
            same = session.scalars(select(model.id).where(func.upper(by) == key.upper()).limit(2)).all()
            found = same[0] if len(same) == 1 else None
    if found is None and key.isdigit() and (by is None or kind == "invoice"):
        found = session.scalars(select(model.id).where(model.id == int(key))).first()
    if found is None:
        raise ValidationFailed([Problem("link", "reference", f"there is no {kind} {key!r} to link the task to")])
    return cleared | {TASK_LINKS[kind]: found}


def _check_links(session: Session, row: Mapping[str, Any]) -> list[Problem]:
    """A link given by id (a sheet's column): its module is on and the record exists."""
    found = rules.link_kind(row)
    if found is None:
        return []
    kind, record_id = found
    if (off := _switched_off(kind)) is not None:
        return [off]
    if session.get(LINKED[kind][0], record_id) is None:
        return [Problem(TASK_LINKS[kind], "reference", f"there is no {kind} #{record_id}")]
    return []


def _check_owner(session: Session, login: str | None) -> list[Problem]:
    if login and session.scalars(select(User.id).where(User.login == login)).first() is None:
        return [Problem("owner", "reference", f"there is no user {login!r}; `backoffice users list` shows them")]
    return []


# -- adding and changing -------------------------------------------------------------------------

def _row(values: Mapping[str, Any], session: Session) -> dict[str, Any]:
    """The stored fields of `values`, a typed `link` turned into its column."""
    row = {k: values[k] for k in rules.FIELDS if k in values}
    if "link" in values:
        row |= resolve_link(session, values["link"])
    return row


def add_task(session: Session, actor: Actor, values: Mapping[str, Any]) -> Task:
    """A new task, owned by `owner` (default: whoever adds it); one added done is done (and
    makes its next one, if it recurs)."""
    actor.require("write", AREA)
    row = rules.task_defaults(_row(values, session))
    row["owner"] = row.get("owner") or actor.login
    problems = rules.check_task(row) + _check_owner(session, row["owner"]) + _check_links(session, row)
    if problems:
        raise ValidationFailed(problems)
    status = row.pop("status")
    task = Task(**{k: row.get(k) for k in rules.FIELDS if k != "status"}, status="open", updated_by=actor.login)
    session.add(task)
    session.flush()
    if status != "open":
        _set_status(session, actor, task, status, values.get("done_on"))
    return task


def get_task(session: Session, actor: Actor, task_id: int) -> Task:
    """A task the actor may see (NotFound otherwise, the same as one that does not exist)."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"there is no task #{task_id}; `backoffice tasks list` shows them", "id")
    check_may_see(actor, task)
    return task


def change_task(session: Session, actor: Actor, task_id: int, expected_version: int | None,
                changes: Mapping[str, Any]) -> Task:
    """Change a task's fields (`link` as typed, or its columns); a change of `status` is done,
    cancel or reopen (`done_on`: the day it was done, default today)."""
    actor.require("write", AREA)
    task = get_task(session, actor, task_id)
    require_version(task, expected_version, f"task #{task.id}")
    given = _row(changes, session)
    row = rules.task_defaults({f: getattr(task, f) for f in rules.FIELDS} | given)
    problems = rules.check_task(row) + rules.check_status_change(task.id, task.status, row["status"])
    if "owner" in given:
        problems += _check_owner(session, row["owner"])
    if any(c in given for c in TASK_LINKS.values()):
        problems += _check_links(session, row)
    if problems:
        raise ValidationFailed(problems)
    status = row.pop("status")
    apply_changes(session, task, {k: row.get(k) for k in rules.FIELDS if k != "status"}, actor.login)
    if status != task.status:
        _set_status(session, actor, task, status, changes.get("done_on"))
    return task


def done_task(session: Session, actor: Actor, task_id: int, on: date | None = None) -> Task:
    """Mark a task done (on `on`, default today); a recurring one makes its next. A task done
    already stays as it is."""
    return _to(session, actor, task_id, "done", on)


def cancel_task(session: Session, actor: Actor, task_id: int) -> Task:
    return _to(session, actor, task_id, "cancelled")


def reopen_task(session: Session, actor: Actor, task_id: int) -> Task:
    """Open a done or cancelled task again (a recurring one keeps the next it made)."""
    return _to(session, actor, task_id, "open")


def _to(session: Session, actor: Actor, task_id: int, status: str, on: date | None = None) -> Task:
    actor.require("write", AREA)     # before the task is looked up: who may not gets 403, never 404
    task = get_task(session, actor, task_id)
    if task.status == status:
        return task
    problems = rules.check_status_change(task.id, task.status, status)
    if problems:
        raise ValidationFailed(problems)
    _set_status(session, actor, task, status, on)
    return task


def _set_status(session: Session, actor: Actor, task: Task, status: str, on: date | None) -> None:
    apply_changes(session, task, {"status": status, "done_on": (on or date.today()) if status == "done" else None},
                  actor.login)
    if status == "done":
        _follow(session, actor, task)


def _follow(session: Session, actor: Actor, task: Task) -> Task | None:
    """The next task of a recurring one, made once."""
    if task.recurrence == "none" or task.next_id is not None:
        return None
    due = rules.next_due(task.due_on, task.recurrence, _series_start(session, task).day)
    following = Task(title=task.title, due_on=due, owner=task.owner, priority=task.priority,
                     recurrence=task.recurrence, notes=task.notes, status="open", updated_by=actor.login,
                     **{column: getattr(task, column) for column in TASK_LINKS.values()})
    session.add(following)
    session.flush()
    apply_changes(session, task, {"next_id": following.id}, actor.login)
    return following


def _series_start(session: Session, task: Task) -> date:
    """The due date of the first task of `task`'s series (the day it keeps where it can)."""
    first, seen = task, {task.id}
    while (earlier := session.scalars(select(Task).where(Task.next_id == first.id)).first()) is not None:
        if earlier.id in seen:
            break
        first = earlier
        seen.add(earlier.id)
    return first.due_on
