"""A report written for its reader: the one piece of code behind `backoffice report NAME` and
`POST /reports/{name}`.

The module that registers a report (`registry.report`) builds its context for the reader
(leaving out what their roles may not see, auditing what must be); the template is filled in
by `engine.office.docx` inside its sandbox. The caller's unit of work holds the audit rows
of the reading: the caller commits them once the file is written, and removes the file if
they cannot be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import registry
from engine.errors import BackofficeError, NotFound
from engine.office.docx import render_docx, templates_dir
from engine.registry import Report
from engine.security.roles import Actor

OPTIONS = {"staff": ("year",)}   # each report's options (besides where the file goes)


def report_named(name: str) -> Report:
    """The registered report `name`; a refusal saying its module is switched off, or that there
    is no such report."""
    report = registry.current().report_named(name)
    if report is None:
        module = registry.current().switched_off("reports", name)
        if module is None:
            offered_names = ", ".join(r.name for r in registry.current().reports) or "none"
            raise NotFound(f"there is no report {name!r}; the reports on offer: {offered_names}", field="name")
        raise BackofficeError(f"the {name} report needs the {module} module, which is switched off "
                              "(`modules` in config/backoffice.toml)")
    return report


def offered() -> list[dict[str, Any]]:
    """The reports of the modules switched on, with their options."""
    return [{"name": r.name, "module": r.module, "options": list(OPTIONS.get(r.name, ()))}
            for r in registry.current().reports]


def check_year(year: int) -> int:
    if not 1900 < year < 3000:
        raise BackofficeError(f"--year {year} is not a year to report on")
    return year


def summary(context: dict[str, Any]) -> dict[str, Any]:
    """What `backoffice report NAME` says of a report it wrote (how many departments and
    employees, for whom, which confidential parts it holds), from the report's context; the
    server sends it beside the file (`Backoffice-Report`), so the line is the same there."""
    departments = context.get("departments") or []
    return {"departments": len(departments), "employees": sum(len(d.get("employees") or ()) for d in departments),
            "scope": context.get("scope"), "extra_columns": list(context.get("extra_columns") or ()),
            "medical": "sick_leave" in context}


def write_report(session: Session, actor: Actor, name: str, target: Path, template: Path | None = None,
                 **options: Any) -> dict[str, Any]:
    """Write report `name` for `actor` to `target` (a .docx); returns its context."""
    report = report_named(name)
    context = registry.load(report.target)(session, actor, **options)
    render_docx(template or templates_dir() / report.template, context, target)
    return context
