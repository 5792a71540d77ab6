"""The services behind `backoffice report fields NAME` and `report check TEMPLATE`: a report's
context built for the reader, as the report would be, then read by `engine.reports.fields`
for the fields a template may use and what is wrong with a template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import registry
from engine.errors import BackofficeError
from engine.office.template_fields import fields_with_samples, spelled, word_name
from engine.reports.fields import check_template
from engine.reports.options import as_text
from engine.reports.render import build_context, plain


def report_fields(session: Any, actor: Any, name: str, **given: Any) -> dict[str, Any]:
    """The fields report `name`'s template may use, each with a sample from the report as
    `actor` would get it with the options `given`: as a Jinja template writes it, and as a
    Word merge field names it (None for a list's items, which only docxtpl can repeat)."""
    report, values, context = build_context(session, actor, name, **given)
    found = fields_with_samples([plain(context)])
    return {"report": report.name, "template": report.template, "options": as_text(values),
            "fields": [{"field": spelled(path), "word": word_name(path), "sample": sample} for path, sample in found]}


def report_check(session: Any, actor: Any, template: Path, name: str | None = None, **given: Any) -> dict[str, Any]:
    """Every problem of `template` as report `name`'s template (by default the report whose
    standard template has its file name), checked against the report as `actor` would get it
    with the options `given`, before anything is written."""
    template = Path(template)
    if name is None:
        named = [r.name for r in registry.current().reports if Path(r.template).name == template.name]
        if len(named) != 1:
            offered = ", ".join(r.name for r in registry.current().reports)
            raise BackofficeError(f"which report is {template.name} for? say it with --report NAME ({offered})")
        name = named[0]
    _report, _values, context = build_context(session, actor, name, **given)
    problems = check_template(template, plain(context))
    return {"template": str(template), "report": name, "ok": not problems,
            "problems": [p.as_json() for p in problems]}
