"""`/reports`: the Word reports over HTTP, answered as the .docx itself.

`POST /reports/{name}` writes the report with the code behind `backoffice report NAME`
(`engine.reports.render.write_report`), for the caller (their roles decide what it holds),
into a temporary folder removed once the bytes are read; the audit rows of the reading are
committed before the answer is sent, so a report nobody could account for is never handed
out. The options are the command line's, but for those naming files on the server
(`--out`, `--template`) and `--pdf`. The `Backoffice-Report` header says, as JSON, what the
command line says of the report (`render.summary`): departments, employees, scope, the
confidential columns it holds and whether it holds medical reasons.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api.support import CallerDep, ExactNumbers, JSONReply
from engine.reports.render import check_year, offered, report_named, summary, write_report

router = APIRouter(prefix="/reports", tags=["reports"], route_class=ExactNumbers)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ReportIn(BaseModel):
    year: int | None = Field(default=None, description="The year it covers (default: this year).")


@router.get("", summary="The reports on offer (those of the modules switched on), with their options")
def list_reports(who: CallerDep) -> Response:
    return JSONReply({"items": offered(), "by": who.actor.login})


@router.post("/{name}", summary="Write a report for the caller; the answer is the .docx",
             responses={200: {"content": {DOCX: {}}, "description": "The Word document."}})
def write(who: CallerDep, name: str, body: ReportIn | None = None) -> Response:
    report_named(name)
    year = check_year((body.year if body else None) or date.today().year)
    file_name = f"{name}-{year}.docx"
    with tempfile.TemporaryDirectory(prefix="backoffice-report-") as folder:
        target = Path(folder) / file_name
        with who.work() as session:
            context = write_report(session, who.actor, name, target, year=year)
        data = target.read_bytes()
    # What the command line says of it (engine.reports.render.summary), as JSON in ASCII.
    return Response(data, media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{file_name}"',
                                                    "Backoffice-Report": json.dumps(summary(context))})
