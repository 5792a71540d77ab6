"""A report written for its reader: the one piece of code behind `backoffice report NAME` and
`POST /reports/{name}`.

The module that registers a report (`registry.report`) builds its context for the reader
(leaving out what their roles may not see, auditing what must be); the template is filled in
by `engine.office.docx` inside its sandbox, numbers and dates in the organisation's locale.
The caller's unit of work holds the audit rows of the reading: the caller commits them once
the file is written, and removes the file if they cannot be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import registry
from engine.config import OrganisationSettings
from engine.errors import BackofficeError, NotFound
from engine.office.docx import render_docx, templates_dir
from engine.registry import Report
from engine.reports import options as report_options
from engine.security.roles import Actor


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
    return [{"name": r.name, "module": r.module, "help": r.help, "options": list(r.options)}
            for r in registry.current().reports]


@dataclass
class Written:
    """A report written: its file, the options it was made with, and what the door says of it
    (`summary`: a `line`, perhaps a `notice`, and figures for --json)."""

    target: Path
    options: dict[str, Any]
    summary: dict[str, Any]


def summary(report: Report, context: dict[str, Any]) -> dict[str, Any]:
    """What the doors say of a report written (the server sends it in `Backoffice-Report`): the
    module's own summary where it registered one, else the report's title."""
    if report.summary:
        return registry.load(report.summary)(context)
    return {"line": str(context.get("title") or report.name)}


def organisation(session: Session) -> OrganisationSettings:
    return session.info.get("organisation") or OrganisationSettings()


def write_report(session: Session, actor: Actor, name: str, target: Path, template: Path | None = None,
                 **given: Any) -> Written:
    """Write report `name` for `actor` to `target` (a .docx), with the options `given` (text as
    typed, or values already read; the defaults for those not given)."""
    report = report_named(name)
    values = report_options.read(report.options, given)
    context = registry.load(report.target)(session, actor, **values)
    settings = organisation(session)
    context.setdefault("organisation", settings.name)
    render_docx(template or templates_dir() / report.template, context, target, locale=settings.locale)
    return Written(target, values, summary(report, context))
