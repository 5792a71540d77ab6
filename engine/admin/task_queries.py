"""Reads of tasks for the doors, the mail merge and the management pack: each takes the acting
user and shows only the tasks they may see (`tasks.own_only`: their own for those who only
read admin, every task for its writers)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.admin import task_rules as rules
from engine.admin.models import TASK_LINKS, TASK_PRIORITIES, TASK_STATUSES, Task
from engine.admin.tasks import LINKED, get_task, own_only
from engine.contacts.models import Contact
from engine.errors import BackofficeError, PermissionDenied
from engine.security.roles import Actor
from engine.staff.models import Employee

RECORD_FIELDS = ("id", "version", "title", "due_on", "owner", "status", "priority", "recurrence", "notes", "done_on",
                 "next_id")


def _visible(actor: Actor, owner: str | None):
    """The query of the tasks `actor` may see, of `owner` if given."""
    login = own_only(actor)
    if login is not None and owner not in (None, login):
        raise PermissionDenied(f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) sees their own tasks "
                               f"only, not {owner!r}'s", field="owner")
    query = select(Task)
    who = owner or login
    return query.where(Task.owner == who) if who else query


def link_names(session: Session, tasks: Sequence[Task]) -> dict[int, tuple[str, str]]:
    """{task id: (its link as typed, "invoice:INV-2026-0001"; what it names, the customer's
    name)} for the linked tasks, read a kind at a time."""
    wanted: dict[str, set[int]] = {}
    for t in tasks:
        if (found := rules.link_kind({c: getattr(t, c) for c in TASK_LINKS.values()})) is not None:
            wanted.setdefault(found[0], set()).add(found[1])
    named: dict[tuple[str, int], tuple[str, str]] = {}
    for kind, ids in wanted.items():
        model, by = LINKED[kind]
        for record in session.scalars(select(model).where(model.id.in_(sorted(ids)))):
            key = getattr(record, by.key) if by is not None else None
            named[(kind, record.id)] = (f"{kind}:{key or record.id}", _describe(session, kind, record))
    shown = {}
    for t in tasks:
        if (found := rules.link_kind({c: getattr(t, c) for c in TASK_LINKS.values()})) is not None:
            shown[t.id] = named.get(found, (f"{found[0]}:{found[1]}", ""))
    return shown


def _describe(session: Session, kind: str, record: Any) -> str:
    """What a linked record is, in a few words."""
    if kind == "contact":
        return record.name
    if kind in ("invoice", "opportunity", "employee"):
        name = session.scalar(select(Contact.name).where(Contact.id == record.contact_id)) if record.contact_id else None
        what = record.title if kind == "opportunity" else (record.job_title if kind == "employee" else record.status)
        return " - ".join(str(p) for p in (name, what) if p)
    if kind == "asset":
        return record.description
    return record.title     # a nonconformance


def task_record(task: Task, link: tuple[str, str] | None = None, as_of: date | None = None) -> dict[str, Any]:
    """A task as every door shows it (`tasks list --json`, the API)."""
    record = {f: getattr(task, f) for f in RECORD_FIELDS}
    record["link"], record["linked"] = link or (None, None)
    if as_of is not None:
        late = rules.days_overdue(task.due_on, as_of)
        record["overdue"] = task.status == "open" and late > 0
        record["days_overdue"] = max(late, 0) if task.status == "open" else 0
    return record


def _records(session: Session, found: Sequence[Task], as_of: date | None = None) -> list[dict[str, Any]]:
    links = link_names(session, found)
    return [task_record(t, links.get(t.id), as_of) for t in found]


def task(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    found = get_task(session, actor, task_id)
    return _records(session, [found], date.today())[0]


def tasks(session: Session, actor: Actor, owner: str | None = None, status: str | None = None,
          as_of: date | None = None) -> list[dict[str, Any]]:
    """Tasks by due date (of `owner`, in `status`: open, done, cancelled, or all)."""
    query = _visible(actor, owner)
    if status and status != "all":
        if status not in TASK_STATUSES:
            raise BackofficeError(f"status {status!r}: use one of {', '.join(TASK_STATUSES)} or all")
        query = query.where(Task.status == status)
    found = list(session.scalars(query.order_by(Task.due_on, Task.id)))
    return _records(session, found, as_of or date.today())


def due(session: Session, actor: Actor, owner: str | None = None, within: int = 7,
        as_of: date | None = None) -> list[dict[str, Any]]:
    """Open tasks overdue on `as_of` (the most overdue first), then those due within `within`
    days of it; each says whether it is overdue and by how many days."""
    if within < 0:
        raise BackofficeError(f"within {within}: the number of days ahead cannot be below 0")
    as_of = as_of or date.today()
    query = (_visible(actor, owner).where(Task.status == "open", Task.due_on <= as_of + timedelta(days=within))
             .order_by(Task.due_on, Task.id))
    return _records(session, list(session.scalars(query)), as_of)


def overdue(session: Session, actor: Actor, as_of: date | None = None, owner: str | None = None) -> list[Task]:
    """Open tasks past their due date on `as_of`, the most overdue first."""
    as_of = as_of or date.today()
    query = _visible(actor, owner).where(Task.status == "open", Task.due_on < as_of).order_by(Task.due_on, Task.id)
    return list(session.scalars(query))


def overdue_summary(session: Session, actor: Actor, as_of: date | None = None) -> dict[str, Any]:
    """For the management pack: the overdue tasks counted by owner and by priority, and the
    list of them (each with its days overdue)."""
    as_of = as_of or date.today()
    found = overdue(session, actor, as_of)
    by_owner = Counter(t.owner for t in found)
    by_priority = Counter(t.priority for t in found)
    return {"as_of": as_of, "count": len(found),
            "by_owner": [{"owner": o, "count": n} for o, n in sorted(by_owner.items())],
            "by_priority": [{"priority": p, "count": by_priority[p]} for p in reversed(TASK_PRIORITIES)
                            if by_priority[p]],
            "tasks": _records(session, found, as_of)}


def tasks_to_hand_over(session: Session, employee_id: int, items: list[dict[str, Any]]) -> None:
    """A leaver's checklist (staff's `leaving_checklist` hook): the open tasks they own, to be
    given to someone else before they go (an employee owns tasks through their login)."""
    login = session.scalar(select(Employee.login).where(Employee.id == employee_id))
    if login is None:
        return
    for task_id, title, due_on in session.execute(select(Task.id, Task.title, Task.due_on)
                                                  .where(Task.owner == login, Task.status == "open")
                                                  .order_by(Task.due_on, Task.id)):
        items.append({"module": "admin", "item": f"hand over task #{task_id} {title} (due {due_on:%Y-%m-%d})"})
