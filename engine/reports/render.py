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
from engine.errors import BackofficeError, NotFound, ValidationFailed
from engine.office.docx import render_docx, templates_dir
from engine.office.report_body import Body, KeyFigures
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
    module's own summary where it registered one, else the report's title and what it covers."""
    if report.summary:
        return registry.load(report.summary)(context)
    title, subtitle = str(context.get("title") or report.name), context.get("subtitle")
    return {"line": f"{title}, {subtitle}" if subtitle else title}


def organisation(session: Session) -> OrganisationSettings:
    return session.info.get("organisation") or OrganisationSettings()


def build_context(session: Session, actor: Actor, name: str, **given: Any) -> tuple[Report, dict[str, Any],
                                                                                  dict[str, Any]]:
    """Report `name`, its options read from `given` (text as typed, or values already read; the
    defaults for those not given), and its context for `actor`."""
    report = report_named(name)
    values = report_options.read(report.options, given)
    context = registry.load(report.target)(session, actor, **values)
    context.setdefault("organisation", organisation(session).name)
    return report, values, context


def write_report(session: Session, actor: Actor, name: str, target: Path, template: Path | None = None,
                 **given: Any) -> Written:
    """Write report `name` for `actor` to `target` (a .docx), with the options `given`. A
    template of the reader's own (`template`) is checked first, and every problem of it named
    (`engine.reports.fields.check_template`); one written with Word's merge fields is filled
    in by them (a simple report: its values, not its tables)."""
    report, values, context = build_context(session, actor, name, **given)
    path = template or templates_dir() / report.template
    if template is not None:
        from engine.office.template_fields import (
            word_values,  # here: only for a template of the reader's own
        )
        from engine.office.word_fields import has_merge_fields  # here: likewise
        from engine.reports.fields import check_template, render_merge_fields  # here: likewise

        problems = check_template(path, plain(context))
        if problems:
            raise ValidationFailed(list(problems))
        if has_merge_fields(path):
            render_merge_fields(path, word_values(plain(context)), target)
            return Written(target, values, summary(report, context))
    render_docx(path, context, target, locale=organisation(session).locale)
    return Written(target, values, summary(report, context))


def plain(context: dict[str, Any]) -> dict[str, Any]:
    """`context` as a template's fields show it: a report's body and key figures, which only
    the layout writes, stand as a line saying what they hold."""
    def said(value: Any) -> Any:
        if isinstance(value, Body):
            return f"(laid out by Backoffice: {len(value.sections)} sections: " + \
                ", ".join(s.title for s in value.sections) + ")"
        if isinstance(value, KeyFigures):
            return f"(laid out by Backoffice: {len(value.figures)} key figures)"
        return value
    return {k: said(v) for k, v in context.items()}
