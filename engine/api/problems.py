"""Refusals as RFC 9457 problem details, never a stack trace.

Every refusal carries the structured problems of the module contract (field, code, message,
line; for a workbook also sheet and cell), so a client places each one without reading the
text, as the command line's `--json` and the workbook's marks do. The HTTP status follows the
kind of refusal; `exit_code` is the one the command line would exit with, so the remote
command line exits as the local one does.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from engine import limits
from engine.db.engine import connection_lost
from engine.db.json_values import dump_json
from engine.errors import (
    BackofficeError,
    DatabaseUnavailable,
    NotFound,
    PermissionDenied,
    StaleRecordError,
    UnknownUser,
    UnusableInput,
    ValidationFailed,
)
from engine.security.tokens import NotAuthenticated

log = logging.getLogger("backoffice.api")

PROBLEM = "application/problem+json"


class JSONReply(JSONResponse):
    """JSON with money and dates as exact strings (the engine's serialiser), never floats.
    (A JSONResponse, so the OpenAPI document says the answers are JSON, not strings.)"""

    def render(self, content: Any) -> bytes:
        return dump_json(content).encode()


class ProblemItem(BaseModel):
    """One structured problem of the module contract (a workbook's also name sheet and cell)."""

    model_config = ConfigDict(extra="allow")
    field: str
    code: str
    message: str
    line: int | None = None


class ProblemDetails(BaseModel):
    """An RFC 9457 problem detail as every refusal is answered (a stale update's also carries
    `current`, the record as it is now)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    exit_code: int
    problems: list[ProblemItem]


_WHEN = {400: "The body cannot be read at all (e.g. not UTF-8 text)", 401: "No usable token (missing, unknown, expired or revoked)", 403: "The caller's roles do not allow it",
         404: "No such record", 409: "Changed by someone else meanwhile; nothing was saved",
         412: "If-Match is stale: the answer carries the current record; nothing was saved",
         413: "The request is larger than the server accepts",
         422: "The request or its values are refused: `problems` lists each field and code",
         428: "If-Match is needed", 429: "Too many requests with this token (see Retry-After)",
         500: "The server failed; nothing was saved", 503: "The database cannot be reached"}

# Every route's refusals, for the OpenAPI document (`create_app` puts them on every router).
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "description": when} for status, when in _WHEN.items()}


def document_problems(app: Any) -> None:
    """Refusals are `application/problem+json`: FastAPI documents every response under the
    route's own media type, so the problem responses are moved to theirs when the document is
    first made."""
    made = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = made()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in "45" and content and list(content) != [PROBLEM]:
                        # under the route's own media type (JSON, or a file's or text's)
                        content[PROBLEM] = content.pop("application/json", None) or next(iter(content.values()))
                        for kind in [k for k in content if k != PROBLEM]:
                            del content[kind]
        return schema

    app.openapi = openapi


def status_of(exc: BackofficeError) -> int:
    if isinstance(exc, NotAuthenticated | UnknownUser):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StaleRecordError):
        return 412 if getattr(exc, "precondition", False) else 409
    if isinstance(exc, ValidationFailed):
        return 422
    if isinstance(exc, UnusableInput):
        return 422
    if isinstance(exc, DatabaseUnavailable):
        return 503
    return getattr(exc, "status", 400)


def problem_reply(status: int, code: str, detail: str, request: Request | None, *,
                  problems: list[dict[str, Any]] | None = None, exit_code: int = 2,
                  headers: dict[str, str] | None = None, **more: Any) -> Response:
    body = {"type": f"/problems/{code}", "title": code.replace("_", " "), "status": status, "detail": detail,
            "instance": request.url.path if request is not None else None, "code": code,
            "exit_code": exit_code, "problems": problems or [], **more}
    return JSONReply(body, status_code=status, media_type=PROBLEM, headers=headers)


def structured(exc: BackofficeError) -> list[dict[str, Any]]:
    return [{"field": p.field, "code": p.code, "message": p.message, "line": p.line} for p in exc.problems]


def refusal(request: Request | None, exc: BackofficeError, **more: Any) -> Response:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    code = exc.problems[0].code if len(exc.problems) == 1 else ("invalid" if isinstance(exc, ValidationFailed)
                                                                else exc.code)
    return problem_reply(status, code, str(exc), request,
                         problems=structured(exc), exit_code=exc.exit_code, headers=headers or None, **more)


async def on_refusal(request: Request, exc: BackofficeError) -> Response:
    return refusal(request, exc)


async def on_bad_request(request: Request, exc: RequestValidationError) -> Response:
    """A request the API cannot read (a field of the wrong type, a missing parameter): the
    same problem shape, each problem naming the field as the request wrote it."""
    problems = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        kind = error.get("type")
        code = "required" if kind == "missing" else kind if kind in limits.CODES else "invalid"
        problems.append({"field": ".".join(where), "code": code, "message": str(error.get("msg", "invalid")),
                         "line": None})
    detail = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems) or "the request is not valid"
    return problem_reply(422, "invalid", detail, request, problems=problems, exit_code=2)


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    code = {400: "unreadable", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "too_many_requests"}.get(
        exc.status_code, "refused")
    return problem_reply(exc.status_code, code, str(exc.detail), request, headers=getattr(exc, "headers", None))


async def on_failure(request: Request, exc: Exception) -> Response:
    """A bug, or the database gone: logged in full on the server, never shown to the caller."""
    lost = connection_lost(exc)
    if lost is not None:
        log.error("database connection lost during %s %s: %s", request.method, request.url.path, lost)
        return refusal(request, lost)
    log.exception("internal error in %s %s", request.method, request.url.path)
    return problem_reply(500, "internal_error", "the server failed to answer; nothing was saved. "
                         "The administrator finds the details in the server's log.", request, exit_code=3)


def install(app: Any) -> None:
    app.add_exception_handler(BackofficeError, on_refusal)
    app.add_exception_handler(RequestValidationError, on_bad_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_failure)
