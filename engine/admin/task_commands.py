"""`backoffice tasks ...`: tasks and reminders (add, change, done, cancel, reopen, list, due).
The rules are `engine.admin.tasks`'; who sees which tasks is `tasks.own_only`'s."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from engine.admin import task_queries as queries
from engine.admin import tasks as services
from engine.admin.models import TASK_PRIORITIES, TASK_STATUSES
from engine.admin.task_rules import LINK_HELP
from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.formats import parse_date

tasks_app = typer.Typer(help="Tasks and reminders: due dates, owners, priorities, recurring tasks, linked records.",
                        no_args_is_help=True)

TaskId = Annotated[int, typer.Argument(metavar="ID", help="The task's number (`tasks list` shows them).")]
Owner = Annotated[str | None, typer.Option(help="Login of its owner.")]
Priority = Annotated[str | None, typer.Option(help=f"{', '.join(TASK_PRIORITIES)} (default normal).")]
Link = Annotated[str | None, typer.Option(metavar="KIND:KEY", help=f"The record it is about: {LINK_HELP}; "
                                                                  "'' to clear it.")]
Every = Annotated[str | None, typer.Option(help="It comes back monthly or yearly when done ('none' to stop).")]
Notes = Annotated[str | None, typer.Option()]

def _line(r: dict[str, Any]) -> str:
    link = f" [{r['link']}{' ' + r['linked'] if r.get('linked') else ''}]" if r.get("link") else ""
    every = f", {r['recurrence']}" if r["recurrence"] != "none" else ""
    return (f"task #{r['id']} {r['title']} (due {r['due_on']}, {r['owner']}, {r['priority']}, {r['status']}"
            f"{every}){link}")

def _show(record: dict[str, Any], as_json: bool, said: str) -> None:
    if as_json:
        print_json(record)
        return
    out.print(f"{said} {_line(record)}", soft_wrap=True)

@tasks_app.command("add")
@handles_errors
def add(
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    owner: Annotated[str | None, typer.Option(help="Login of its owner (default: you).")] = None,
    priority: Priority = None, link: Link = None, every: Every = None, notes: Notes = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add a task."""
    values = {"title": title, "due_on": parse_date(due, "--due"), "owner": owner, "priority": priority,
              "recurrence": every, "notes": notes}
    if link is not None:
        values["link"] = link
    with acting_as(user) as (_db, actor, session):
        record = queries.task(session, actor, services.add_task(session, actor, values).id)
    _show(record, as_json, "added")

@tasks_app.command("change")
@handles_errors
def change(
    task_id: TaskId,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    due: Annotated[str | None, typer.Option(help="A new due date, YYYY-MM-DD.")] = None,
    owner: Owner = None, priority: Priority = None, link: Link = None, every: Every = None, notes: Notes = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Change a task's title, due date, owner, priority, link, recurrence or notes."""
    changes = {k: v for k, v in (("title", title), ("due_on", parse_date(due, "--due")), ("owner", owner),
                                 ("priority", priority), ("link", link), ("recurrence", every), ("notes", notes))
               if v is not None}
    with acting_as(user) as (_db, actor, session):
        services.change_task(session, actor, task_id, None, changes)
        record = queries.task(session, actor, task_id)
    _show(record, as_json, "changed")

@tasks_app.command("done")
@handles_errors
def done(
    task_id: TaskId,
    on: Annotated[str | None, typer.Option("--date", help="Done on, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Mark a task done; a recurring one makes its next (once)."""
    day = parse_date(on, "--date")
    with acting_as(user) as (_db, actor, session):
        task = services.done_task(session, actor, task_id, day)
        record = queries.task(session, actor, task.id)
        record["next"] = queries.task(session, actor, task.next_id) if task.next_id else None
    if as_json:
        print_json(record)
        return
    out.print(f"done: {_line(record)}", soft_wrap=True)
    if record["next"]:
        out.print(f"next: {_line(record['next'])}", soft_wrap=True)

def _status_command(name: str, act, said: str, doc: str) -> None:
    def command(task_id: TaskId, as_json: JsonOption = False, user: UserOption = None) -> None:
        with acting_as(user) as (_db, actor, session):
            act(session, actor, task_id)
            record = queries.task(session, actor, task_id)
        _show(record, as_json, said)
    command.__doc__ = doc
    tasks_app.command(name)(handles_errors(command))

_status_command("cancel", services.cancel_task, "cancelled", "Cancel an open task.")
_status_command("reopen", services.reopen_task, "reopened", "Open a done or cancelled task again.")

def _table(rows: list[dict[str, Any]]) -> None:
    table = new_table("#", "title", "due", "owner", "priority", "status", "every", "link")
    for r in rows:
        due = f"{r['due_on']} ({r['days_overdue']} d overdue)" if r.get("overdue") else str(r["due_on"])
        table.add_row(str(r["id"]), r["title"], due, r["owner"], r["priority"], r["status"],
                      "" if r["recurrence"] == "none" else r["recurrence"], r["link"] or "")
    out.print(table)

@tasks_app.command("list")
@handles_errors
def list_(
    owner: Owner = None,
    status: Annotated[str, typer.Option(help=f"{', '.join(TASK_STATUSES)} or all.")] = "open",
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Tasks by due date (open ones unless --status says otherwise); your own only unless you
    write admin."""
    rows = fetch(user, lambda session, actor: queries.tasks(session, actor, owner=owner, status=status),
                 ("/tasks", {"owner": owner, "status": status}))
    if as_json:
        print_json(rows)
        return
    _table(rows)

@tasks_app.command("due")
@handles_errors
def due_(
    owner: Owner = None,
    within: Annotated[int, typer.Option(help="And those due within this many days.")] = 7,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Open tasks overdue (the most overdue first, flagged), then those due within --within days."""
    rows = fetch(user, lambda session, actor: queries.due(session, actor, owner=owner, within=within),
                 ("/tasks/due", {"owner": owner, "within": within}))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"nothing overdue or due within {within} days")
        return
    _table(rows)
