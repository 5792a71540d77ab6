"""`/tasks`: tasks and reminders over HTTP, as `backoffice tasks` has them.

Each route parses, calls the task services (`engine.admin.tasks`) or queries with the caller,
and renders; the rules, the next task of a recurring one and who sees which tasks (their own
for those who only read admin) are theirs. A refusal carries the services' field and code
(`link` / `link`, `link` / `switched_off`, `owner` / `reference`, `status` / `workflow`, a 403
`permission`), and a read answers what `backoffice tasks ... --json` prints. Creates and
status changes accept an `Idempotency-Key`; a change needs `If-Match` (a task's ETag is its
version). A task is linked as people name the record: `invoice:INV-2026-0001`, `contact:12`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.admin import task_queries as queries
from engine.admin import tasks as services
from engine.api.support import (
    CallerDep,
    Cursor,
    Day,
    Digest,
    IdempotencyKey,
    IfMatch,
    JSONReply,
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    page,
    update,
    with_etag,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
Login = Annotated[Text | None, Query(max_length=64, description="Only the tasks of this owner (a login).")]


class TaskChange(BaseModel):
    """A task's fields; in a change only those sent change."""

    title: Words = None
    due_on: Day | None = None
    owner: Words = Field(default=None, max_length=2000, description="Login of its owner (default: the caller).")
    priority: Words = Field(default=None, max_length=2000, description="low, normal (default) or high")
    recurrence: Words = Field(default=None, max_length=2000, description="none (default), monthly or yearly")
    link: Words = Field(default=None, max_length=2000, description="The record it is about, KIND:KEY: contact:ID, "
                        "invoice:NUMBER, asset:TAG, ncr:NUMBER, employee:NUMBER, opportunity:ID; empty clears it.")
    notes: Words = None


class TaskUpdate(TaskChange):
    status: Words = Field(default=None, max_length=2000, description="open, done or cancelled")
    done_on: Day | None = Field(default=None, description="When marking it done: the day (default: today).")


@router.get("", summary="Tasks by due date, a page at a time (`tasks list`): the caller's own unless they "
                        "write admin")
def list_tasks(request: Request, who: CallerDep, owner: Login = None,
               status: Annotated[Text, Query(max_length=20, description="open (default), done, cancelled or "
                                                                         "all")] = "open",
               sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.tasks(session, who.actor, owner=owner, status=status)
    return page(rows, request, sort, cursor, limit)


@router.get("/due", summary="Open tasks overdue (the most overdue first), then those due within `within` days "
                            "(`tasks due`)")
def due_tasks(request: Request, who: CallerDep, owner: Login = None,
              within: Annotated[int, Query(ge=0, le=3660, description="Days ahead (default 7).")] = 7,
              as_of: Annotated[Day | None, Query(description="On this day (default: today).")] = None,
              sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.due(session, who.actor, owner=owner, within=within, as_of=as_of)
    return page(rows, request, sort, cursor, limit)


@router.get("/overdue", summary="Overdue tasks counted by owner and priority, with the list (the management pack)")
def overdue_tasks(who: CallerDep, as_of: Annotated[Day | None, Query(description="On this day (default: "
                                                                                  "today).")] = None) -> Response:
    with who.work() as session:
        return JSONReply(queries.overdue_summary(session, who.actor, as_of))


@router.get("/{task_id}", summary="One task; its ETag is its version")
def read_task(who: CallerDep, task_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.task(session, who.actor, task_id))


@router.post("", status_code=201, summary="Add a task (`tasks add`)")
def add_task(request: Request, who: CallerDep, body: TaskChange, key: IdempotencyKey = None,
             digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = services.add_task(session, who.actor, body.model_dump(exclude_unset=True))
        return queries.task(session, who.actor, added.id)

    return create(request, who, key, digest, make)


@router.patch("/{task_id}", summary="Change a task's fields or its status (needs If-Match)")
def change_task(request: Request, who: CallerDep, task_id: RecordId, body: TaskUpdate,
                if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.change_task(session, who.actor, task_id, version,
                                                                body.model_dump(exclude_unset=True)),
                  lambda session: queries.task(session, who.actor, task_id))


class DoneIn(BaseModel):
    done_on: Day | None = Field(default=None, description="The day it was done (default: today).")


@router.post("/{task_id}/done", summary="Mark a task done; a recurring one makes its next, once (`tasks done`)")
def task_done(request: Request, who: CallerDep, task_id: RecordId, body: DoneIn | None = None,
              key: IdempotencyKey = None, digest: Digest = "") -> Response:
    day = (body or DoneIn()).done_on or date.today()

    def make(session: Session) -> dict[str, Any]:
        task = services.done_task(session, who.actor, task_id, day)
        record = queries.task(session, who.actor, task.id)
        return record | {"next": queries.task(session, who.actor, task.next_id) if task.next_id else None}

    return create(request, who, key, digest, make, status=200)


@router.post("/{task_id}/cancel", summary="Cancel an open task (`tasks cancel`)")
def task_cancel(request: Request, who: CallerDep, task_id: RecordId, key: IdempotencyKey = None,
                digest: Digest = "") -> Response:
    return create(request, who, key, digest, lambda session: queries.task(
        session, who.actor, services.cancel_task(session, who.actor, task_id).id), status=200)


@router.post("/{task_id}/reopen", summary="Open a done or cancelled task again (`tasks reopen`)")
def task_reopen(request: Request, who: CallerDep, task_id: RecordId, key: IdempotencyKey = None,
                digest: Digest = "") -> Response:
    return create(request, who, key, digest, lambda session: queries.task(
        session, who.actor, services.reopen_task(session, who.actor, task_id).id), status=200)
