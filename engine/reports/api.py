"""`/reports`: the Word reports over HTTP, answered as the .docx itself.

`POST /reports/{name}` writes the report with the code behind `backoffice report NAME`
(`engine.reports.render.write_report`), for the caller (their roles decide what it holds),
into a temporary folder removed once the bytes are read; the audit rows of the reading are
committed before the answer is sent, so a report nobody could account for is never handed
out. The body holds the report's options as the command line's flags take them
(`{"period": "2026-11"}`, `{"customer": "C0012", "period": "2026-11"}`), read by the same
code (`engine.reports.options`); not those naming files on the server (`--out`,
`--template`), nor `--pdf`. The `Backoffice-Report` header says, as JSON, what the command
line says of the report (its line and figures).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api.support import CallerDep, ExactNumbers, JSONReply
from engine.reports import options as report_options
from engine.reports.render import offered, report_named, write_report

router = APIRouter(prefix="/reports", tags=["reports"], route_class=ExactNumbers)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ReportIn(BaseModel):
    """A report's options (each report takes some of them: `GET /reports` says which)."""

    period: str | None = Field(default=None, description="The month it covers, YYYY-MM (default: last month).")
    as_of: str | None = Field(default=None, description="The day it is as of, YYYY-MM-DD (default: today).")
    year: int | None = Field(default=None, description="The year it covers (default: this year).")
    customer: str | None = Field(default=None, description="The customer: their contact number or exact name.")
    lot: str | None = Field(default=None, description="The lot: its lot number.")
    employee: str | None = Field(default=None, description="The employee: their employee number.")


@router.get("", summary="The reports on offer (those of the modules switched on), with their options")
def list_reports(who: CallerDep) -> Response:
    return JSONReply({"items": offered(), "by": who.actor.login})


@router.post("/{name}", summary="Write a report for the caller; the answer is the .docx",
             responses={200: {"content": {DOCX: {}}, "description": "The Word document."}})
def write(who: CallerDep, name: str, body: ReportIn | None = None) -> Response:
    report = report_named(name)
    values = report_options.read(report.options, (body or ReportIn()).model_dump(exclude_none=True))
    file_name = "-".join(p for p in (name, report_options.label(values)) if p) + ".docx"
    with tempfile.TemporaryDirectory(prefix="backoffice-report-") as folder:
        target = Path(folder) / file_name
        with who.work() as session:
            written = write_report(session, who.actor, name, target, **values)
        data = target.read_bytes()
    # What the command line says of it, as JSON in ASCII.
    return Response(data, media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{file_name}"',
                                                    "Backoffice-Report": json.dumps(written.summary)})
