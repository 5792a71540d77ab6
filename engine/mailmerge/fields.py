"""The merge fields a template uses, checked against what a selection's recipients provide,
before anything is sent or stored.

Templates are strict (an unknown name stops the filling in), but that strictness only shows
when a message is filled in: a misspelt `{{ contact.nmae }}` would fail every message of a
run, one by one. So the templates' fields are read once from their parsed form
(`engine.office.template_fields`: Jinja's syntax tree for the subject, the bodies and a
docxtpl letter; Word's MERGEFIELDs for a letter written in Word, `engine.office.word_fields`)
and looked up in the shape of the recipients' data; a field no recipient has is refused,
naming it and where it is (subject, body or letter; in a letter, the part, header, body or
footer, and the paragraph's text), and nothing is sent. What a template may not do (reach
into Python's internals, include another file, call a method; in a Word letter, a field that
reaches outside the document) is refused the same way (`UnsafeTemplate`).

A Word merge field names a field with its steps joined by dots (`contact.name`); it shows one
value, so a mapping (`contact`) or a list's items (`invoices[].number`) are refused there.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from engine.errors import BackofficeError
from engine.mailmerge.templates import MailTemplate, has_letter, letter_path, mail_environment
from engine.office.template_fields import (
    ITEM,
    FieldUse,
    Key,
    Shape,
    TemplateProblem,
    docx_parts,
    located,
    spelled,
    unsafe,
    uses,
)
from engine.office.word_fields import MERGEFIELD, field_problems, has_merge_fields, read_fields

__all__ = ["ITEM", "FieldUse", "Key", "Shape", "UnknownFields", "UnsafeTemplate", "check_fields", "check_template",
           "letter_reading", "spelled", "template_problems", "template_uses", "unknown_uses", "unsafe_constructs",
           "uses"]


class UnknownFields(BackofficeError):
    """A template uses fields that no recipient of the selection has: refused before anything
    is sent or stored (exit 2), one problem per field, its `field` the part of the template."""

    code = "unknown_field"

    def __init__(self, template: str, selection: str, unknown: list[FieldUse], known: list[str]):
        self.unknown = unknown
        self._problems = [unknown_problem(u, selection) for u in unknown]
        super().__init__(f"the template {template} uses {len(unknown)} field(s) that the selection `{selection}` "
                         f"does not provide, so nothing was sent: "
                         + "; ".join(p.message for p in self._problems)
                         + f". Correct the template; the fields there are: {', '.join(known)}")

    @property
    def problems(self) -> list[TemplateProblem]:
        return self._problems


def unknown_problem(use: FieldUse, selection: str) -> TemplateProblem:
    """A field no recipient has (or, in a Word letter, one a merge field cannot show), placed."""
    why = use.note or f"`{use.field}`, which no recipient of `{selection}` has"
    return TemplateProblem(use.part, "not_a_value" if use.note else UnknownFields.code, f"{use.where} uses {why}",
                           use.line, use.field, use.source, use.place or "", use.paragraph or "")


class UnsafeTemplate(BackofficeError):
    """A template doing what no template may (see `engine.office.template_fields` and
    `engine.office.word_fields`): refused before anything is sent or stored."""

    code = "unsafe_template"

    def __init__(self, template: str, problems: list[TemplateProblem]):
        self._problems = problems
        super().__init__(f"the template {template} cannot be used, so nothing was sent: "
                         + "; ".join(p.message for p in problems))

    @property
    def problems(self) -> list[TemplateProblem]:
        return self._problems


def template_uses(mail: MailTemplate) -> list[FieldUse]:
    """The fields of a mail template's subject and bodies, and of its letter if it has one."""
    environment = mail_environment(html=False)
    found = []
    for file, source in mail.sources:
        part = "subject" if file == "subject.txt" else "body"
        found += uses(environment.parse(source), part, f"{mail.name}/{file}", environment)
    if has_letter(mail.name):
        found += letter_reading(letter_path(mail.name))[0]
    return found


def unsafe_constructs(mail: MailTemplate) -> list[TemplateProblem]:
    """What the mail template's subject, bodies and letter may not do, each placed."""
    environment = mail_environment(html=False)
    found = []
    for file, source in mail.sources:
        part = "subject" if file == "subject.txt" else "body"
        found += unsafe(environment.parse(source), part, f"{mail.name}/{file}")
    if has_letter(mail.name):
        found += letter_reading(letter_path(mail.name))[1]
    return found


def letter_reading(path: Path, source: str | None = None) -> tuple[list[FieldUse], list[TemplateProblem]]:
    """A letter's fields and what it may not do, read once per version of its file (reading a
    .docx takes a while; a merge checks them when it starts and again when it sends).
    `source`: the file as messages name it (default letters/<name>.docx)."""
    path = Path(path)
    return _letter_reading(str(path), path.stat().st_mtime_ns, source or f"letters/{path.name}")


@functools.lru_cache(maxsize=16)
def _letter_reading(path: str, _modified: int, source: str) -> tuple[list[FieldUse], list[TemplateProblem]]:
    letter = Path(path)
    if has_merge_fields(letter):
        found = [FieldUse(tuple(f.name.split(".")), "letter", source, None, f.paragraph, f.place, f.name)
                 for f in read_fields(letter) if f.kind == MERGEFIELD and f.name]
        return found, field_problems(letter, source)
    environment = mail_environment(html=False)
    found, problems = [], []
    for part in docx_parts(letter):
        try:
            parsed = environment.parse(part.source)
        except TemplateSyntaxError as exc:
            paragraph = part.paragraphs[exc.lineno - 1] if 0 < (exc.lineno or 0) <= len(part.paragraphs) else ""
            problems.append(TemplateProblem("letter", "syntax", f"{located(source, None, part.place, paragraph)}: "
                                            f"{exc.message}", None, "", source, part.place, paragraph))
            continue
        found += uses(parsed, "letter", source, environment, part.paragraphs, part.place)
        problems += unsafe(parsed, "letter", source, part.paragraphs, part.place)
    return found, problems


def unknown_uses(used: list[FieldUse], contexts: list[Mapping[str, Any]]) -> list[FieldUse]:
    """The uses of fields none of `contexts` has, each once per file; a Word merge field also
    when it names more than one value (a mapping, a list's items)."""
    shape = Shape.of(contexts)
    names = shape.word_names()
    unknown, seen = [], set()
    for use in used:
        if use.written is not None:
            wrong = _word_refusal(use, shape, names)
        else:
            path = shape.unknown_part(use.path)
            wrong = FieldUse(path, use.part, use.source, use.line, use.paragraph, use.place) if path else None
        if wrong is not None and (wrong.field, wrong.source) not in seen:
            seen.add((wrong.field, wrong.source))
            unknown.append(wrong)
    return unknown


def _word_refusal(use: FieldUse, shape: Shape, names: dict[str, tuple[str, ...]]) -> FieldUse | None:
    if use.written in names:
        return None
    path = tuple(use.written.split("."))
    if ITEM in use.written or path in shape.paths:
        note = (f"the merge field {use.written}, which is not one value: "
                + ("a list's items need a docxtpl template (a {%tr for %} row)" if ITEM in use.written or
                   path in shape.lists else f"name one of its fields, such as {_first_inside(path, names)}"))
        return FieldUse(path, use.part, use.source, None, use.paragraph, use.place, use.written, note)
    return FieldUse(path, use.part, use.source, None, use.paragraph, use.place, use.written)


def _first_inside(path: tuple[str, ...], names: dict[str, tuple[str, ...]]) -> str:
    inside = sorted(name for name, p in names.items() if p[:len(path)] == path)
    return inside[0] if inside else f"{'.'.join(path)}.name"


def check_fields(template: str, selection: str, used: list[FieldUse], contexts: list[Mapping[str, Any]]) -> None:
    """Refuse (UnknownFields) if the template uses a field none of `contexts` has; with no
    recipient at all there is nothing to check against (and nothing is sent)."""
    if not contexts:
        return
    unknown = unknown_uses(used, contexts)
    if unknown:
        raise UnknownFields(template, selection, unknown, Shape.of(contexts).listed())


def check_template(mail: MailTemplate, selection: str, contexts: list[Mapping[str, Any]]) -> None:
    """Refuse what no template may do (UnsafeTemplate), then a field the recipients do not
    have (UnknownFields): before anything is sent or stored."""
    refused = unsafe_constructs(mail)
    if refused:
        raise UnsafeTemplate(mail.name, refused)
    check_fields(mail.name, selection, template_uses(mail), contexts)


def template_problems(used: list[FieldUse], refused: list[TemplateProblem], selection: str,
                      contexts: list[Mapping[str, Any]]) -> list[TemplateProblem]:
    """Every problem of a template at once (`mail check`): what it may not do, then every field
    `contexts` do not have."""
    return [*refused, *(unknown_problem(u, selection) for u in unknown_uses(used, contexts))]
