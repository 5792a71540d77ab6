"""`/workbooks`: workbooks over HTTPS, for offices that reach the database through the server.

`GET /workbooks/{module}` exports the caller's workbook; `POST /workbooks/validate`, `/sync`
and `/refresh` take an uploaded .xlsx and run the same round trip as `backoffice validate|
sync|refresh` (engine.sheets.roundtrip), with the token's user. The answer carries the
`FileResult` exactly as the command line's `--json` prints it, the exit code the command
line would exit with, and the annotated or refreshed workbook (base64; null when the file
was left as it was): the remote command line writes it back beside the user's file with the
local write-back's safety (engine.remote). `POST /workbooks/open/validate|sync|refresh` runs it on a
workbook open in Excel, sent by the add-in as its cells, and answers the changes to make in
it (engine.sheets.live).

Every file lives in a private temporary folder of its own (mode 0700) that is removed when
the request ends, whatever happens: nothing a person uploads stays on the server. The size
of an upload is capped before it is read (engine.api.limits); the hostile-file guard runs
before anything is parsed (engine.office.xlsx_guard, in the round trip). Unusable input
(hostile, unreadable, not ours) is a 422 problem naming the reason; data problems are a 200
with exit code 1 and the annotated workbook, which the user needs back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api import problems
from engine.api.problems import JSONReply
from engine.api.support import CallerDep
from engine.errors import BackofficeError, NotFound, UnusableInput
from engine.sheets.exporting import is_private, new_workbook
from engine.sheets.live import BookSnapshot
from engine.sheets.roundtrip import FileResult, RoundTrip
from engine.sheets.spec import workbook_spec

router = APIRouter(prefix="/workbooks", tags=["workbooks"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1024 * 1024


@contextmanager
def private_folder() -> Iterator[Path]:
    """A folder only this server's user may read, removed afterwards even on failure."""
    folder = Path(tempfile.mkdtemp(prefix="backoffice-workbook-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def safe_name(name: str | None, default: str = "workbook.xlsx") -> str:
    """The uploaded file's own name, as a single harmless file name (no folders, no dots
    in front), so messages quote the name the user knows and nothing escapes the folder."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w .()\-]", "_", base).strip(" .")[:120]
    return base or default


@router.get("/{module}", summary="A new workbook of the module's records the caller may see (.xlsx)",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook; `Backoffice-Rows` "
                             "gives the rows per sheet as JSON"}})
def export(who: CallerDep, module: str) -> Response:
    try:
        spec = workbook_spec(module)
    except BackofficeError as exc:
        raise NotFound(str(exc), field="module") from None
    name = f"{module}-{who.actor.login}.xlsx"
    with private_folder() as folder:
        target = folder / name
        counts = new_workbook(who.db, who.actor, module, target)
        content = target.read_bytes()
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Backoffice-Rows": json.dumps(counts, ensure_ascii=True),
        "Backoffice-Private": "true" if is_private(spec, who.actor) else "false"})


AllowMacros = Annotated[bool, Form(description="Accept a macro-enabled (.xlsm) workbook.")]
Upload = Annotated[UploadFile, File(description="The .xlsx workbook.")]


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _round_trip(request: Request, who, upload: UploadFile, allow_macros: bool,
                operation: Callable[[RoundTrip, Path], FileResult], with_changes: bool = False) -> Response:
    """Run `operation` on a private copy of the upload; answer its result and the file."""
    name = safe_name(upload.filename)
    with private_folder() as folder:
        path = folder / name
        with path.open("wb") as copy:
            shutil.copyfileobj(upload.file, copy, CHUNK)
        before = _digest(path)
        trip = RoundTrip(who.db, who.settings, who.actor, allow_macros=allow_macros)
        try:
            result = operation(trip, path)
        except UnusableInput as exc:   # named by the file's own name, never the server's folder
            refusal = UnusableInput(name, exc.reason)
            return problems.refusal(request, refusal, reason=exc.reason)
        kept = Path(result.written_to) if result.written_to else None   # could not replace: kept beside
        changed = kept is not None or _digest(path) != before
        content = (kept or path).read_bytes() if changed else None
    result.file = name
    if kept is not None:     # the server's folder is no business of the caller's
        result.written_to = result.warning = None
    return JSONReply({"result": result.as_json(with_changes=with_changes), "exit_code": result.exit_code,
                      "annotated": result.annotated and changed, "filename": name,
                      "workbook": base64.b64encode(content).decode() if content is not None else None})


@router.post("/validate", summary="Check an uploaded workbook against the database; save nothing")
def validate(request: Request, who: CallerDep, file: Upload, allow_macros: AllowMacros = False,
             annotate: Annotated[bool, Form(description="Mark the problems in the workbook.")] = True) -> Response:
    return _round_trip(request, who, file, allow_macros,
                       lambda trip, path: trip.validate(path, annotate_file=annotate))


@router.post("/sync", summary="Save an uploaded workbook's edits (all or nothing) and answer it refreshed")
def sync(request: Request, who: CallerDep, file: Upload, allow_macros: AllowMacros = False,
         dry_run: Annotated[bool, Form(description="Tell the changes; save nothing.")] = False) -> Response:
    return _round_trip(request, who, file, allow_macros, lambda trip, path: trip.sync(path, dry_run=dry_run),
                       with_changes=dry_run)


@router.post("/refresh", summary="Bring the database's current values into an uploaded workbook")
def refresh(request: Request, who: CallerDep, file: Upload, allow_macros: AllowMacros = False) -> Response:
    return _round_trip(request, who, file, allow_macros, lambda trip, path: trip.refresh(path))



class OpenWorkbook(BaseModel):
    """A workbook open in Excel, as the add-in read it (engine.sheets.live.BookSnapshot)."""

    snapshot: dict[str, Any] = Field(description="The workbook's name, its sheets' cells row by row (dates "
                                                 "tagged {\"date\": ISO}), hidden sheets and error cells.")
    dry_run: bool = Field(False, description="sync only: tell the changes; save nothing.")


def _open_round_trip(request: Request, who, body: OpenWorkbook,
                     operation: Callable[[RoundTrip, BookSnapshot], FileResult]) -> Response:
    """Run `operation` on the cells the add-in sent; answer its result and the changes to
    make in the open workbook."""
    try:
        book = BookSnapshot.from_json(body.snapshot)
    except ValueError as exc:
        return problems.refusal(request, UnusableInput("workbook", str(exc)), reason=str(exc))
    try:
        result = operation(RoundTrip(who.db, who.settings, who.actor), book)
    except UnusableInput as exc:
        return problems.refusal(request, UnusableInput(book.name, exc.reason), reason=exc.reason)
    return JSONReply({"result": result.as_json(with_changes=body.dry_run), "exit_code": result.exit_code,
                      "changes": book.changes.as_json() if book.changes is not None else None})


OPEN = ("The same round trip as the file routes, on the cells the add-in read from a workbook open in Excel. "
        "The answer carries the result, the command line's exit code, and the changes the add-in makes in the "
        "workbook (null when there is nothing to change).")


@router.post("/open/validate", summary="Check a workbook open in Excel (the add-in); save nothing", description=OPEN)
def validate_open(request: Request, who: CallerDep, body: OpenWorkbook) -> Response:
    return _open_round_trip(request, who, body, lambda trip, book: trip.validate(book))


@router.post("/open/sync", summary="Save the edits of a workbook open in Excel (the add-in)", description=OPEN)
def sync_open(request: Request, who: CallerDep, body: OpenWorkbook) -> Response:
    return _open_round_trip(request, who, body, lambda trip, book: trip.sync(book, dry_run=body.dry_run))


@router.post("/open/refresh", summary="Bring the database's values into a workbook open in Excel (the add-in)",
             description=OPEN)
def refresh_open(request: Request, who: CallerDep, body: OpenWorkbook) -> Response:
    return _open_round_trip(request, who, body, lambda trip, book: trip.refresh(book))
