"""`/mail`: mail runs over HTTP, and the previews of a dry run to download.

The routes call what `backoffice mail merge`, `mail resume` and `mail runs` call
(`engine.mailmerge.runs`), with the same options. A merge runs inside the request: the answer
comes when every e-mail of the run (or the `limit` asked for) was handed to the transport,
which for a large run through SMTP or Exchange may take minutes; a client that cannot wait
that long sends a `limit` and resumes the run (`POST /mail/runs/{id}/resume`) until nothing
is left, as on the command line. A run is idempotent by itself (a resumed run sends nothing
twice); a start sent with an `Idempotency-Key` is also done once.

A dry run stores no run: its previews are written to the caller's own preview folder of the
template (`OUTPUT_DIR/previews/TEMPLATE-LOGIN/`), listed by `GET /mail/previews/{template}`
and downloaded by `GET /mail/previews/{template}/{file}`, which hands out only a file of that
folder (the module refuses any other name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from engine.api.support import (
    Caller,
    CallerDep,
    Cursor,
    Day,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    JSONReply,
    Limit,
    RecordId,
    Sort,
    Text,
    page,
    with_etag,
)
from engine.db import idempotency
from engine.errors import BackofficeError, ValidationFailed
from engine.mailmerge import recipients as chosen
from engine.mailmerge import runs
from engine.mailmerge.transports import make_transport
from engine.problems import Problem

router = APIRouter(prefix="/mail", tags=["mail"], route_class=ExactNumbers)

Named = Annotated[Text, Path(max_length=100, description="A template in templates/mail/.")]
WORKING = 102     # the status a claimed Idempotency-Key holds while its merge runs


class InProgress(BackofficeError):
    code = "in_progress"
    field = "Idempotency-Key"
    status = 409


class MergeIn(BaseModel):
    """The options of `backoffice mail merge`."""

    template: Annotated[Text, Field(max_length=100, description="A template in templates/mail/.")]
    to: Annotated[Text, Field(max_length=40_000, description="overdue | tag:TAG | contacts:ID,ID (up to 5,000) | "
                                                         "another registered selection.")]
    days: int = Field(default=30, description="For overdue: invoices more than this many days late.")
    as_of: Day | None = Field(default=None, description="For overdue: late as of this day.")
    via: Annotated[Text | None, Field(default=None, max_length=8, description="outbox | smtp | ews | graph "
                                                                             "(default: mail.transport).")]
    dry_run: bool = Field(default=False, description="Render previews; send nothing, store nothing.")
    limit: int | None = Field(default=None, ge=1, description="Send at most N e-mails now (resume for the rest).")
    again: bool = Field(default=False, description="Merge although the same merge ran earlier today.")


class ResumeIn(BaseModel):
    limit: int | None = Field(default=None, ge=1, description="Send at most N e-mails now.")


@router.get("/runs", summary="Every mail run: template, selection, transport, messages in each state")
def list_runs(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
              limit: Limit = None) -> Response:
    with who.work() as session:
        rows = runs.list_runs(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.get("/runs/{run_id}", summary="One mail run; its ETag is its version")
def read_run(who: CallerDep, run_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(runs.run_record(session, who.actor, run_id))


def _previews(request: Request, who: Caller, shown: dict[str, Any]) -> dict[str, Any]:
    """A dry run's answer: where its previews are downloaded (not the server's folder)."""
    where = str(request.url_for("list_previews", template=shown["template"]).path)
    files = runs.preview_files(who.settings, who.actor, shown["template"])
    return {**{k: v for k, v in shown.items() if k != "folder"}, "dry_run": True, "previews_url": where,
            "files": [{**f, "url": f"{where}/{f['name']}"} for f in files]}


@router.post("/runs", status_code=201, summary="Start a merge (runs it in the request; `dry_run`: previews only)")
def start_merge(request: Request, who: CallerDep, body: MergeIn, key: IdempotencyKey = None,
                digest: Digest = "") -> Response:
    transport = chosen.transport_of(who.settings, body.via)
    name, options = chosen.selection_of(body.to, body.days, body.as_of.isoformat() if body.as_of else None,
                                        files=False)
    if body.dry_run:
        shown = runs.preview(who.db, who.settings, who.actor, body.template, name, options, body.limit)
        return JSONReply(_previews(request, who, shown))

    def merge() -> dict[str, Any]:
        run_id = runs.start_run(who.db, who.settings, who.actor, body.template, name, options, transport,
                                again=body.again)
        report = runs.process_run(who.db, who.settings, who.actor, run_id, make_transport(who.settings, transport),
                                  body.limit)
        with who.work() as session:
            return {**report.as_json(), "run": runs.run_record(session, who.actor, run_id)}

    return _once(who, key, digest, merge)


@router.post("/runs/{run_id}/resume", summary="Carry on with a stopped or limited run; nothing is sent twice")
def resume(who: CallerDep, run_id: RecordId, body: ResumeIn | None = None) -> Response:
    transport = runs.run_transport(who.db, who.actor, run_id)
    report = runs.process_run(who.db, who.settings, who.actor, run_id, make_transport(who.settings, transport),
                              body.limit if body else None)
    with who.work() as session:
        return JSONReply({**report.as_json(), "run": runs.run_record(session, who.actor, run_id)})


@router.get("/previews/{template}", summary="The previews the caller's last dry run of a template wrote")
def list_previews(request: Request, who: CallerDep, template: Named) -> Response:
    where = request.url.path.rstrip("/")
    return JSONReply({"template": template, "files": [
        {**f, "url": f"{where}/{f['name']}"} for f in runs.preview_files(who.settings, who.actor, template)]})


@router.get("/previews/{template}/{file:path}", summary="Download one preview (.eml, or letters.docx)",
            response_class=FileResponse)
def download_preview(who: CallerDep, template: Named, file: Annotated[Text, Path(max_length=500)]) -> Response:
    path = runs.preview_file(who.settings, who.actor, template, file)
    kind = "message/rfc822" if path.suffix == ".eml" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return FileResponse(path, media_type=kind, filename=path.name)


def _once(who: Caller, key: str | None, digest: str, work: Callable[[], dict[str, Any]]) -> Response:
    """A merge started once per `Idempotency-Key`. A merge works in several transactions of its
    own (each message is committed as it is sent), so the key is claimed first, in its own
    transaction, and the reply kept once the merge ends: a retry meanwhile is told the merge
    is still running (409); a merge refused frees the key again."""
    if key is None:
        return JSONReply(work(), status_code=201)
    try:
        with who.work() as session:
            kept = idempotency.kept_reply(session, who.actor.login, key)
            if kept is None:
                idempotency.keep_reply(session, who.actor.login, key, digest, WORKING, {}, {})
    except IntegrityError:          # the same request, racing: the other copy claimed it
        with who.work() as session:
            kept = idempotency.kept_reply(session, who.actor.login, key)
    if kept is not None:
        if kept.request != digest:
            raise ValidationFailed([Problem("Idempotency-Key", "idempotency_key_reused",
                                            "this Idempotency-Key was used for another request; use a new key for "
                                            "a new request")])
        if kept.status == WORKING:
            raise InProgress("a merge with this Idempotency-Key is still running; ask again when it has ended "
                             "(`GET /mail/runs` shows it)")
        return JSONReply(kept.body, status_code=kept.status, headers={**kept.headers, "Idempotent-Replayed": "true"})
    try:
        body = work()
    except BaseException:
        with who.work() as session:
            claimed = idempotency.kept_reply(session, who.actor.login, key)
            if claimed is not None:
                session.delete(claimed)
        raise
    with who.work() as session:
        claimed = idempotency.kept_reply(session, who.actor.login, key)
        claimed.status, claimed.body = 201, body
    return JSONReply(body, status_code=201)
