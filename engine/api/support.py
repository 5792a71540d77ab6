"""What every route shares: the caller (token -> user), a unit of work in their name, record
versions as ETags, pages of lists, and creates done once (`Idempotency-Key`).

A module's router (`engine/<module>/api.py`) uses these and its own services and queries;
nothing here knows a business module.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import limits
from engine.api.problems import JSONReply, on_failure, problem_reply, refusal, structured
from engine.config import Settings
from engine.db import idempotency
from engine.db.session import Database
from engine.errors import BackofficeError, StaleRecordError, ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor
from engine.security.tokens import NotAuthenticated, actor_for_token, digest


class TooManyRequests(BackofficeError):
    code = "too_many_requests"
    field = "authorization"
    status = 429


class PreconditionRequired(BackofficeError):
    code = "if_match_required"
    field = "If-Match"
    status = 428


class RateLimit:
    """At most `per_minute` requests a minute for each token, in this worker process (with N
    workers a token may make up to N times as many; the reverse proxy can cap the total)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                wait = int(seen[0] + 60 - now) + 1
                refused = TooManyRequests(f"more than {self.per_minute} requests a minute with this token; "
                                          f"wait {wait} s and try again")
                refused.retry_after = wait  # type: ignore[attr-defined]
                raise refused
            seen.append(now)


@dataclass
class Caller:
    """The person a request acts for, and the database they act on."""

    actor: Actor
    db: Database
    settings: Settings

    @contextmanager
    def work(self) -> Iterator[Session]:
        """A unit of work in the caller's name (source `api`): committed when the route
        returns normally, rolled back whole when it raises. Reads go through it too, as a
        read of a field under audit writes an audit row."""
        with self.db.unit_of_work(self.actor, source="api") as session:
            yield session


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authenticate(state: Any, authorization: str | None) -> Caller:
    """The caller a request's `Authorization` header names: refused (401) without a usable
    token, (429) beyond the rate limit."""
    token = _bearer(authorization)
    if token is None:
        raise NotAuthenticated("a valid API token is needed: send `Authorization: Bearer TOKEN` "
                               "(`backoffice users token create` makes one)")
    with state.db.reading() as session:
        actor = actor_for_token(session, token)
    state.rate_limit.check(digest(token))
    return Caller(actor, state.db, state.settings)


class RequireToken:
    """Every request but those to `public` paths is authenticated before anything else of it
    is read: a request without a usable token gets 401 whatever its body, so a stranger can
    neither learn what a route expects from its 422s nor make the server parse a large JSON
    or multipart body. A route added later is covered without doing anything; the `caller`
    dependency hands the route the caller found here."""

    def __init__(self, app: Any, public: frozenset[str]):
        self.app, self.public = app, public

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            who = await run_in_threadpool(authenticate, request.app.state, request.headers.get("authorization"))
        except BackofficeError as exc:
            await refusal(request, exc)(scope, receive, send)
            return
        except Exception as exc:      # the database gone, or a bug: the same answer as in a route
            await (await on_failure(request, exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = who
        request.state.login = who.actor.login
        await self.app(scope, receive, send)


bearer_token = HTTPBearer(auto_error=False, scheme_name="token",
                          description="`Authorization: Bearer TOKEN`, a token from `backoffice users token create`.")


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)] = None) -> Caller:
    """The caller of every route but health, as `RequireToken` found them (authenticated here
    only in an application built without it). Declared as the bearer security scheme so the
    OpenAPI document says every route needs a token."""
    found = getattr(request.state, "caller", None)
    if found is not None:
        return found
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    who = authenticate(request.app.state, header)
    request.state.login = who.actor.login
    return who


CallerDep = Annotated[Caller, Depends(caller)]


# A record's id in a path, a filter or a body: a whole number a table's id column can hold
# (PostgreSQL's INTEGER), so an id beyond any record is refused as a bad request, not sent to
# the database.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, description="A record's id.")]


# -- values every door keeps (engine.limits), checked as a request is read ------------------------
# A route looks records up by the values it is sent before the rules see them, so what no
# column could hold is refused as the request is read, with the code the rules give it (the
# problem names the field as the request wrote it).

def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise PydanticCustomError(problems[0].code, problems[0].message)


def _day(value: date) -> date:
    _refuse(limits.check_date("the date", value))
    return value


def _text(value: str) -> str:
    _refuse(limits.check_characters("the text", value, multiline=True))
    return value


Day = Annotated[date, AfterValidator(_day)]
"""A date within the range the books keep (`date_out_of_range` otherwise)."""
Text = Annotated[str, AfterValidator(_text)]
"""Text without control characters but line breaks and tabs (`control_character`): a NUL
could not even be looked up in PostgreSQL. Whether a field may hold line breaks, and how
long it may be, is its rules' (give it a `max_length` against abuse)."""


# -- versions as ETags --------------------------------------------------------------------------

_TAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def with_etag(record: Mapping[str, Any], status: int = 200) -> Response:
    headers = {"ETag": etag(record["version"])} if record.get("version") is not None else None
    return JSONReply(dict(record), status_code=status, headers=headers)


def expected_version(if_match: str | None) -> int:
    """The version an update was made from, from its `If-Match` header (required: an update
    without it could overwrite a change its sender never saw)."""
    if not if_match:
        raise PreconditionRequired("send the record's ETag in If-Match (read the record first): an update "
                                   "without it could overwrite someone else's change")
    found = _TAG.match(if_match)
    if found is None:
        raise ValidationFailed([Problem("If-Match", "invalid", f"If-Match {if_match!r} is not one of this "
                                        "server's ETags (a quoted version number, e.g. \"3\")")])
    return int(found.group(1))


IfMatch = Annotated[str | None, Header(description='The ETag of the record as read, e.g. "3".')]


def stale(request: Request, exc: StaleRecordError, current: Mapping[str, Any] | None) -> Response:
    """412 with the record as it is now: nothing was overwritten."""
    headers = {"ETag": etag(current["version"])} if current and current.get("version") is not None else None
    return problem_reply(412, "stale", str(exc), request, problems=structured(exc), exit_code=exc.exit_code,
                         headers=headers, current=dict(current) if current is not None else None)


def update(request: Request, who: Caller, if_match: str | None, change: Callable[[Session, int], Any],
           read: Callable[[Session], Mapping[str, Any]]) -> Response:
    """An update guarded by its `If-Match`: `change(session, version)` calls the service (which
    refuses a stale version), `read(session)` gives the record as the caller may see it. A
    stale version answers 412 with the current record."""
    version = expected_version(if_match)
    try:
        with who.work() as session:
            change(session, version)
            session.flush()
            return with_etag(read(session))
    except StaleRecordError as exc:
        exc.precondition = True  # type: ignore[attr-defined]
        with who.work() as session:
            return stale(request, exc, read(session))


# -- creates done once --------------------------------------------------------------------------

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Any unique string (e.g. a UUID): a retried request with the same key creates nothing twice.")]


async def body_digest(request: Request) -> str:
    return idempotency.request_digest(request.method, request.url.path, await request.body())


# What a create takes beside its Idempotency-Key: its request's digest, to tell a retry from
# another request sent with the same key.
Digest = Annotated[str, Depends(body_digest)]


def create(request: Request, who: Caller, key: str | None, request_digest: str,
           make: Callable[[Session], Mapping[str, Any]], status: int = 201) -> Response:
    """A create, done once per `Idempotency-Key`: `make(session)` calls the service and
    returns the reply's body. A retry with the key gets the first reply again; the same key
    with another request is refused."""
    if key is None:
        with who.work() as session:
            return with_etag(make(session), status)
    try:
        with who.work() as session:
            kept = idempotency.kept_reply(session, who.actor.login, key)
            if kept is None:
                body = dict(make(session))
                headers = {"ETag": etag(body["version"])} if body.get("version") is not None else {}
                idempotency.keep_reply(session, who.actor.login, key, request_digest, status, body, headers)
                return JSONReply(body, status_code=status, headers=headers)
    except IntegrityError:        # the same request, racing: the other copy made it
        with who.work() as session:
            kept = idempotency.kept_reply(session, who.actor.login, key)
        if kept is None:
            raise
    if kept.request != request_digest:
        raise ValidationFailed([Problem("Idempotency-Key", "idempotency_key_reused",
                                        "this Idempotency-Key was used for another request; use a new key for "
                                        "a new request")])
    return JSONReply(kept.body, status_code=kept.status, headers={**kept.headers, "Idempotent-Replayed": "true"})


# -- pages ---------------------------------------------------------------------------------------

Limit = Annotated[int | None, Query(ge=1, le=100_000, description="Rows a page (default: the server's page size).")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next` of the page before.")]


def _sort_key(field: str) -> Callable[[Mapping[str, Any]], Any]:
    def key(row: Mapping[str, Any]) -> Any:
        value = row.get(field)
        if isinstance(value, str):
            value = value.casefold()
        return (value is None, value if value is not None else 0, row.get("id") or 0)
    return key


def page(rows: list[dict[str, Any]], request: Request, sort: str | None, cursor: str | None,
         limit: int | None) -> Response:
    """One page of `rows` (already filtered and projected for the caller), sorted by `sort`
    ("name", "-name"; default: as the query returned them) and continuing after `cursor`.

    The cursor names the last row handed out, so a page is not shifted by rows added or
    removed before it; if that row is gone, the page goes on from where it stood."""
    settings = request.app.state.settings.server
    size = min(limit or settings.page_size, settings.max_page_size)
    if sort:
        field = sort.lstrip("-")
        if rows and field not in rows[0]:
            raise ValidationFailed([Problem("sort", "invalid", f"cannot sort by {field!r}; sort by one of "
                                            f"{', '.join(sorted(k for k in rows[0] if not isinstance(rows[0][k], list | dict)))}")])
        try:
            rows = sorted(rows, key=_sort_key(field), reverse=sort.startswith("-"))
        except TypeError:
            raise ValidationFailed([Problem("sort", "invalid", f"cannot sort by {field!r}")]) from None
    start = 0
    if cursor:
        try:
            after = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))
            last_id, position, cursor_sort = int(after["id"]), int(after["at"]), after.get("sort")
        except (ValueError, KeyError, TypeError):
            raise ValidationFailed([Problem("cursor", "invalid", "this cursor is not one the server gave; "
                                            "start again without it")]) from None
        if cursor_sort != sort:
            raise ValidationFailed([Problem("cursor", "invalid", "a cursor goes on only with the sort it was "
                                            "given with")])
        start = next((n + 1 for n, row in enumerate(rows) if row.get("id") == last_id), max(position, 0))
    chunk = rows[start:start + size]
    following = None
    if start + size < len(rows) and chunk:
        following = base64.urlsafe_b64encode(json.dumps(
            {"id": chunk[-1].get("id"), "at": start + size, "sort": sort}).encode()).decode().rstrip("=")
    return JSONReply({"items": chunk, "next": following, "total": len(rows)})


Sort = Annotated[str | None, Query(max_length=64, pattern=r"^-?[a-z_]+$",
                                   description="A field to sort by; `-` before it for descending.")]


# -- numbers as sent ------------------------------------------------------------------------------

class _ExactRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=Decimal, parse_constant=Decimal)
        return self._json


class ExactNumbers(APIRoute):
    """A route whose JSON body's numbers are read as Decimals from the text sent, never
    through a float (a non-finite one, NaN or Infinity, is then refused as not a number):
    every module's router is made with it, as money and quantities travel in bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_route(request: Request) -> Response:
            return await handler(_ExactRequest(request.scope, request.receive))

        return exact_route
