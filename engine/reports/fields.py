"""The fields a report template may use, and what is wrong with a template, before a report is
written: pure functions behind `backoffice report fields NAME` and `report check TEMPLATE`.

A report template is a docxtpl .docx (Jinja tags in Word, written by a developer) or, for a
simple report, a .docx written in Word with its own merge fields (MERGEFIELD), which an
office worker can restyle or write without learning Jinja. Both are read the same way as
mail-merge templates (`engine.office.template_fields`, `engine.office.word_fields`): a field
is spelt as a Jinja template writes it (`departments[].name` for a value of a list's items)
and, in a Word merge field, with its steps joined by dots (`made_for`, `totals.employees`;
a list's items cannot be a merge field).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from engine.errors import BackofficeError
from engine.office.docx import ReportTemplateError, report_environment
from engine.office.template_fields import (
    ITEM,
    Shape,
    TemplateProblem,
    docx_parts,
    fields_with_samples,
    located,
    spelled,
    unsafe,
    uses,
)
from engine.office.word_fields import MERGEFIELD, field_problems, has_merge_fields, read_fields
from engine.office.word_fields import render_merge_fields as _render_merge_fields


def fields_of(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The fields a report template may use with `context`, each with a sample value as it is
    printed: [("title", "Staff report 2026"), ("departments[].name", "Sales"), ...]."""
    return [(spelled(path), sample) for path, sample in fields_with_samples([context])]


def check_template(path: Path, context: Mapping[str, Any]) -> list[TemplateProblem]:
    """Every problem of the report template at `path` with `context`, each placed (part,
    paragraph): a field the context does not have, what no template may do (`_` internals,
    include/import/extends, a method call; in a merge-field template, a field reaching outside
    the document, a merge field inside another field's code, Jinja beside merge fields), a
    syntax error. Empty when it can be filled in. `field` of each: the part (body, header,
    footer); `code`: unknown_field, not_a_value, internals, includes_file, method_call,
    unsafe_field, nested_field, mixed_template, syntax."""
    path = Path(path)
    if not path.is_file():
        raise ReportTemplateError(f"there is no report template {path}")
    source = path.name
    shape = Shape.of([context])
    if has_merge_fields(path):
        return [*_placed(field_problems(path, source)), *_unknown_merge_fields(path, source, shape)]
    environment = report_environment()
    problems: list[TemplateProblem] = []
    for part in docx_parts(path):
        try:
            parsed = environment.parse(part.source)
        except TemplateSyntaxError as exc:
            paragraph = part.paragraphs[exc.lineno - 1] if 0 < (exc.lineno or 0) <= len(part.paragraphs) else ""
            problems.append(TemplateProblem(part.place, "syntax", f"{located(source, None, part.place, paragraph)}: "
                                            f"{exc.message}", None, "", source, part.place, paragraph))
            continue
        problems += unsafe(parsed, part.place, source, part.paragraphs, part.place)
        seen = set()
        for use in uses(parsed, part.place, source, environment, part.paragraphs, part.place):
            wrong = shape.unknown_part(use.path)
            if wrong is not None and wrong not in seen:
                seen.add(wrong)
                problems.append(TemplateProblem(part.place, "unknown_field", f"{use.where} uses `{spelled(wrong)}`, "
                                                "which the report does not provide", None, spelled(wrong), source,
                                                part.place, use.paragraph or ""))
    return problems


def _placed(problems: list[TemplateProblem]) -> list[TemplateProblem]:
    """A merge-field template's problems with the part as their field (as a report names it)."""
    return [TemplateProblem(p.place or p.field, p.code, p.message, p.line, p.name, p.source, p.place, p.paragraph)
            for p in problems]


def _unknown_merge_fields(path: Path, source: str, shape: Shape) -> list[TemplateProblem]:
    names = shape.word_names()
    found, seen = [], set()
    for f in read_fields(path):
        if f.kind != MERGEFIELD or not f.name or f.name in names or f.name in seen:
            continue
        seen.add(f.name)
        steps = tuple(f.name.split("."))
        several = ITEM in f.name or steps in shape.paths
        why = (f"the merge field {f.name}, which is not one value (a list or a group of fields): name a single "
               "field" if several else f"the merge field {f.name}, which the report does not provide")
        found.append(TemplateProblem(f.place, "not_a_value" if several else "unknown_field",
                                     f"{located(source, None, f.place, f.paragraph)} uses {why}", None, f.name,
                                     source, f.place, f.paragraph))
    return found


def render_merge_fields(template: Path, fields: Mapping[str, str], target: Path) -> Path:
    """Fill a merge-field .docx in for a simple report: `fields` {merge field name: text} (flat;
    `fields_of` and `engine.office.template_fields.word_values` give them), written to
    `target` readable by its owner only and put in place at once. Refused if the template holds
    what `check_template` refuses or a merge field `fields` has no value for."""
    template = Path(template)
    if not template.is_file():
        raise ReportTemplateError(f"there is no report template {template}")
    if not has_merge_fields(template):
        raise ReportTemplateError(f"{template.name} has no Word merge fields; a docxtpl template is filled in "
                                  "with engine.office.docx.render_docx")
    not_text = sorted(k for k, v in fields.items() if not isinstance(v, str))
    if not_text:
        raise BackofficeError(f"the fields {', '.join(not_text)} are not text; a merge field is filled in with text "
                              "(engine.office.template_fields.word_values formats a report's values)")
    return _render_merge_fields(template, fields, target)

