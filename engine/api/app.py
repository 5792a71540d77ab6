"""The server: `create_app()` builds the FastAPI application `backoffice serve` runs.

Built once per worker process: the modules switched on (each module's routes come with it;
a module switched off has none), the settings, the field policies checked against the
tables, and the database opened. Every request but those to `PUBLIC` paths needs a token,
checked before its body is read (`support.RequireToken`), and every route takes its caller
from `support.caller`; `tests/integration/test_api_walks.py` walks the route table to keep it so.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from engine import __version__, registry
from engine import app as application
from engine.api import problems, workbooks
from engine.api.limits import LimitRequestSize
from engine.api.problems import JSONReply
from engine.api.support import (
    CallerDep,
    Cursor,
    Day,
    IdFilter,
    Limit,
    RateLimit,
    RecordId,
    RequireToken,
    Text,
)
from engine.config import Settings, load_settings
from engine.db.schema_version import shipped_head
from engine.db.session import Database
from engine.errors import DatabaseUnavailable, ValidationFailed
from engine.problems import Problem
from engine.security import tokens
from engine.security.audit_log import audit_entries

PUBLIC = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def create_app(settings: Settings | None = None, modules: list[str] | None = None,
               database: Database | None = None) -> FastAPI:
    """The application for `settings` (default: the effective settings) and `modules`
    (default: those switched on); `database`: one already open (tests)."""
    on = application.start(modules)
    settings = settings or load_settings()
    application.check_settings(settings)
    application.check_policies(complete=True)
    db = database or Database.open(settings)

    @asynccontextmanager
    async def lifespan(_api: FastAPI) -> AsyncIterator[None]:
        yield
        if database is None:      # a database handed in belongs to whoever opened it
            db.dispose()

    api = FastAPI(lifespan=lifespan, title="Backoffice", version=_version(),
                  description="The back office's records over HTTP: the same services, rules and field "
                              "policies as the command line and the workbooks. Every route but /health "
                              "needs `Authorization: Bearer TOKEN`; refusals are RFC 9457 problem details.",
                  default_response_class=JSONReply)
    api.state.db, api.state.settings = db, settings
    api.state.rate_limit = RateLimit(settings.server.requests_per_minute)
    problems.install(api)
    api.add_middleware(LimitRequestSize, max_bytes=settings.server.max_request_bytes)
    api.add_middleware(RequireToken, public=PUBLIC)      # the outermost: no token, nothing read
    api.include_router(public)
    api.include_router(kernel, responses=problems.RESPONSES)
    api.include_router(workbooks.router, responses=problems.RESPONSES)
    for entry in on.apis:
        api.include_router(registry.load(entry.target), responses=problems.RESPONSES)
    problems.document_problems(api)

    return api


def _version() -> str:
    return __version__


public = APIRouter()
kernel = APIRouter()


@public.get("/health", tags=["server"], summary="Is the server up, and its database reachable and current?",
            responses={503: {"description": "The database cannot be reached, or its schema is not this "
                             "version's"}})
def health(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        with db.engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:   # any failure to reach it is the answer, not an error
        refusal = DatabaseUnavailable(f"the database cannot be reached ({type(exc).__name__})")
        return problems.refusal(request, refusal)
    head = shipped_head()
    return JSONReply({"status": "ok" if revision == head else "schema_mismatch",
                      "database": db.engine.dialect.name, "schema": {"current": revision, "head": head}},
                     status_code=200 if revision == head else 503)


class Me(BaseModel):
    login: str
    roles: list[str]
    modules: list[str]


@kernel.get("/me", tags=["server"], response_model=Me, summary="Who the token acts for, and what is switched on")
def me(who: CallerDep) -> Response:
    return JSONReply({"login": who.actor.login, "roles": who.actor.role_names,
                      "modules": list(registry.current().modules)})


class TokenIn(BaseModel):
    name: Text = Field(max_length=100, description="What the token is for, e.g. the office or computer.")
    days: int | None = Field(default=None, description="How long it lasts (default: the server's setting).")
    login: Text | None = Field(default=None, max_length=64,
                              description="Whose token (default: the caller's; another's needs the users area).")


def _token(view: tokens.TokenView) -> dict[str, Any]:
    return {"id": view.id, "login": view.login, "name": view.name, "prefix": view.prefix,
            "created_at": view.created_at, "expires_at": view.expires_at, "revoked_at": view.revoked_at,
            "state": view.state}


@kernel.get("/tokens", tags=["tokens"], summary="The caller's tokens (`login=*`: everyone's, for an administrator)")
def list_tokens(who: CallerDep, login: Annotated[Text | None, Query(max_length=64)] = None) -> Response:
    with who.work() as session:
        return JSONReply([_token(t) for t in tokens.list_tokens(session, who.actor, login)])


@kernel.post("/tokens", tags=["tokens"], status_code=201,
             summary="Make a token; its secret is in this answer only")
def create_token(who: CallerDep, body: TokenIn) -> Response:
    with who.work() as session:
        view, secret = tokens.create_token(session, who.actor, body.login or who.actor.login, body.name,
                                           body.days or who.settings.server.token_days)
    return JSONReply({**_token(view), "token": secret}, status_code=201)


@kernel.delete("/tokens/{token_id}", tags=["tokens"], summary="Revoke a token: it is refused from now on")
def revoke_token(who: CallerDep, token_id: RecordId) -> Response:
    with who.work() as session:
        return JSONReply(_token(tokens.revoke_token(session, who.actor, token_id)))


@kernel.get("/audit", tags=["audit"], summary="The audit log as the caller may read it, newest first")
def audit(request: Request, who: CallerDep, table: Annotated[Text | None, Query(max_length=64)] = None,
          record: IdFilter = None, since: Day | None = None, cursor: Cursor = None,
          limit: Limit = None) -> Response:
    """A page of the log, newest first, read from the database a page at a time (the log is
    the longest list there is): `next` goes on to older entries. Each audited field shown is
    recorded as read, as at the command line."""
    size = min(limit or who.settings.server.page_size, who.settings.server.max_page_size)
    before = None
    if cursor:
        try:
            before = int(json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))["before"])
        except (ValueError, KeyError, TypeError):
            raise ValidationFailed([Problem("cursor", "invalid", "this cursor is not one the server gave; "
                                            "start again without it")]) from None
    with who.work() as session:
        rows = audit_entries(session, who.actor, table, record, since, size + 1, before_id=before)
    rows.reverse()
    following = None
    if len(rows) > size:
        rows = rows[:size]
        following = base64.urlsafe_b64encode(json.dumps({"before": rows[-1]["id"]}).encode()).decode().rstrip("=")
    return JSONReply({"items": rows, "next": following, "total": None})
