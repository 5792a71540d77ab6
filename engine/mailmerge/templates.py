"""Mail-merge templates: e-mails (subject, HTML and plain-text bodies) and letters (.docx).

    templates/mail/<name>/subject.txt   the subject line (one line)
    templates/mail/<name>/body.html     the HTML body (optional: without it, text only)
    templates/mail/<name>/body.txt      the plain-text body
    templates/letters/<name>.docx       the printed letter (docxtpl, or Word's own merge fields), for
                                        recipients without e-mail, and attached to the e-mail

Every template is filled in a sandboxed Jinja environment (`ImmutableSandboxedEnvironment`,
as Word reports are): a tag such as `{{ ''.__class__ }}` stops the merge with an error
instead of reaching Python's internals. Undefined names are errors (`StrictUndefined`) naming
the template and the field, so a misspelt field never prints as nothing in 500 letters.

- HTML is autoescaped: a name such as `<script>alert(1)</script> & Co` arrives as text.
- Plain text and the subject are not escaped (they are not HTML). Characters no text body
  should hold (control characters other than tab and line breaks) are replaced by spaces in
  the bodies; the subject is left exactly as filled in, because it becomes a header: a merge
  value holding a line break must make the message be refused when it is built
  (`engine.mailmerge.message`), not be cleaned up silently.

Filters for templates: `money` (a Decimal with thousands separators and two decimals, never
through a float: `{{ total | money }}`, `{{ total | money(currency) }}`) and `longdate`
(`31 March 2026`).
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.formats import long_date, money
from engine.office.docx import (
    NoOtherFiles,
    ReportTemplateError,
    filling_failed,
    templates_dir,
    xml_safe,
)
from engine.office.template_fields import word_values
from engine.office.word_fields import fill, has_merge_fields

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Control characters a text body should not hold (tab, line feed and carriage return may).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MailTemplateError(ReportTemplateError):
    """A mail or letter template that is missing or cannot be filled in."""


def longdate(value: Any) -> str:
    """A date as a letter prints it: `31 March 2026` (the same in every locale)."""
    return long_date(value)


FILTERS = {"money": money, "longdate": longdate}


def mail_environment(html: bool) -> ImmutableSandboxedEnvironment:
    """The sandbox a mail template is filled in: autoescaped for HTML, strict about names."""
    env = ImmutableSandboxedEnvironment(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True,
                                        trim_blocks=True, lstrip_blocks=True, loader=NoOtherFiles())
    env.filters.update(FILTERS)
    return env


def _clean(value: Any) -> Any:
    """`value` (and every string in it) without control characters, for a message body."""
    if isinstance(value, str):
        return _CONTROL.sub(" ", value)
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _check_name(name: str, what: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise MailTemplateError(f"{name!r} is not a {what} template name (letters, digits, - and _ only)")


def _fill(template: Template, where: str, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context)
    except TemplateError as exc:
        raise MailTemplateError(filling_failed(where, exc, "")) from exc
    except (ValueError, TypeError, ArithmeticError) as exc:   # a filter given what it cannot format
        raise MailTemplateError(f"the template {where} cannot be filled in: {exc}") from exc


@dataclass(frozen=True)
class MailTemplate:
    """An e-mail template: a subject, an HTML body (or None) and a plain-text body."""

    name: str
    subject: Template
    text: Template
    html: Template | None = None
    sources: tuple[tuple[str, str], ...] = ()   # (file, Jinja text): for the check of its fields

    @classmethod
    def load(cls, name: str, folder: Path | None = None) -> MailTemplate:
        """templates/mail/<name>/ (or `folder`/<name>/); its syntax is checked here, before
        anyone is written to."""
        _check_name(name, "mail")
        where = Path(folder) if folder else templates_dir() / "mail"
        base = where / name
        if not base.is_dir():
            known = sorted(p.name for p in where.iterdir() if p.is_dir()) if where.is_dir() else []
            raise MailTemplateError(f"there is no mail template {name!r} (a folder {base}); "
                                    f"there are: {', '.join(known) or 'none'}")
        sources = {}
        for part in ("subject.txt", "body.txt", "body.html"):
            path = base / part
            if path.is_file():
                sources[part] = path.read_text(encoding="utf-8")
            elif part != "body.html":
                raise MailTemplateError(f"the mail template {name!r} has no {part} ({path})")
        compiled = {}
        for part, source in sources.items():
            if part == "subject.txt":
                source = source.strip("\r\n")   # the file's own line end, not a merge value's
                if "\n" in source or "\r" in source:
                    raise MailTemplateError(f"{name}/subject.txt holds more than one line; a subject is one line")
            try:
                compiled[part] = mail_environment(html=part.endswith(".html")).from_string(source)
            except TemplateError as exc:
                line = f" line {exc.lineno}" if getattr(exc, "lineno", None) else ""
                raise MailTemplateError(f"the mail template {name}/{part} cannot be read ({line.strip() or 'syntax'}): "
                                        f"{exc}") from exc
        return cls(name, compiled["subject.txt"], compiled["body.txt"], compiled.get("body.html"),
                   tuple(sources.items()))

    def render(self, context: Mapping[str, Any]) -> tuple[str, str | None, str]:
        """(subject, html or None, text) for one recipient. The subject is left as filled in
        (a line break from a merge value stays, so the message is refused when built)."""
        subject = _fill(self.subject, f"{self.name}/subject.txt", context)
        body = _clean(dict(context))
        html = _fill(self.html, f"{self.name}/body.html", body) if self.html is not None else None
        text = _fill(self.text, f"{self.name}/body.txt", body)
        return subject, html, text


def letter_path(name: str) -> Path:
    _check_name(name, "letter")
    return templates_dir() / "letters" / f"{name}.docx"


def has_letter(name: str) -> bool:
    """Whether templates/letters/<name>.docx exists (recipients without e-mail need it)."""
    return letter_path(name).is_file()


class _CompiledOnce(ImmutableSandboxedEnvironment):
    """The letter environment (sandboxed, autoescaped, strict, as reports are) that compiles
    each XML source once: a letter template's XML is the same for every recipient, and
    compiling it anew for each was a third of a 1,000-letter merge."""

    LIMIT = 64   # sources kept (a letter has a body, headers and footers)

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined, loader=NoOtherFiles())
        self.filters.update(FILTERS)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 (Jinja's name)
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            if len(self._compiled) >= self.LIMIT:
                self._compiled.clear()
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


@functools.cache
def _letter_environment() -> _CompiledOnce:
    return _CompiledOnce()


def render_letter(name: str, context: Mapping[str, Any], template: Path | None = None) -> bytes:
    """templates/letters/<name>.docx (or `template`) filled in for one recipient: the .docx's
    bytes. A docxtpl letter is rendered as Word reports are (engine.office.docx: sandboxed,
    autoescaped, strict, values made XML-safe), with the mail filters (`money`, `longdate`)
    added; a letter written with Word's merge fields is filled in by docx-mailmerge2
    (engine.office.word_fields), each value printed as those filters print it."""
    from docxtpl import DocxTemplate  # here: docxtpl (with python-docx and lxml) is a slow import

    path = Path(template) if template else letter_path(name)
    if not path.is_file():
        raise MailTemplateError(f"there is no letter template {path}; "
                                "`backoffice report templates` writes the standard ones")
    if has_merge_fields(path):
        try:
            return fill(path, word_values(context), f"letters/{path.name}")
        except ReportTemplateError as exc:
            raise MailTemplateError(str(exc)) from exc
    environment = _letter_environment()
    document = DocxTemplate(path)
    try:
        document.render(xml_safe(dict(context)), jinja_env=environment, autoescape=True)
    except TemplateError as exc:
        raise MailTemplateError(filling_failed(f"letters/{path.name}", exc)) from exc
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise MailTemplateError(f"the letter template {path.name} cannot be filled in: {exc}") from exc
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_bytes(target: Path, data: bytes) -> Path:
    """Write `data` to `target` through a temporary file beside it (no half-written file)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target
