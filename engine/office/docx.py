"""Word documents, a file adapter like the .xlsx ones: fill a docxtpl template in, safely,
and convert a document with headless LibreOffice. Nothing of the business: reports and
mail merge hand it a template and a context.

A template is a .docx with Jinja tags in it; whoever may edit templates must not be able to
run Python through one, and text from the database must come out as typed. So:

- the Jinja environment is sandboxed (`ImmutableSandboxedEnvironment`): a tag such as
  `{{ ''.__class__.__mro__ }}` or `{{ people.append(x) }}` stops the report with a
  `ReportTemplateError` (caused by Jinja's `SecurityError`) instead of reaching Python's
  internals or changing the data;
- autoescape is on: a name such as `R&D <Sales>` is written into the document's XML as
  `R&amp;D &lt;Sales&gt;`, so Word shows it as typed and it cannot add XML of its own; text that
  looks like Jinja (`{{ 7*7 }}`) is printed literally, because values are never rendered twice;
- a template is one file: `{% include %}`, `{% import %}` and `{% extends %}` are refused
  (`ReportTemplateError`, saying so) whatever file they name, so no template can pull in the
  settings or another template from outside the templates folder;
- an undefined name fails loudly (`StrictUndefined`) rather than printing nothing: a
  template asks `{% if x is defined %}` for what some readers do not get;
- characters XML cannot hold (control characters such as a form feed) are replaced by spaces
  in the values, so no value can break the file or add page breaks of its own.

The report is written to a temporary file beside the target and moved into place, so a
failed render never leaves half a report behind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from engine.errors import BackofficeError
from engine.office.files import keep_mode, make_private
from engine.office.report_body import Body, KeyFigures
from engine.office.xml_text import xml_safe
from engine.paths import templates_dir

__all__ = ["NeedsLibreOffice", "NoOtherFiles", "ReportTemplateError", "convert", "convert_to_pdf", "filling_failed",
           "pdf_pages", "render_docx", "report_environment", "soffice", "templates_dir", "xml_safe"]

class ReportTemplateError(BackofficeError):
    """A template that cannot be filled in: a syntax error, an unknown name, or an unsafe tag."""


class NeedsLibreOffice(BackofficeError):
    """PDF output was asked for but LibreOffice (soffice) is not installed."""


class IncludesFile(TemplateError):
    """`{% include %}`, `{% import %}` or `{% extends %}` in a template: refused, whatever it names."""

    def __init__(self, name: str):
        super().__init__(f"it asks for another file ({name!r}) with include, import or extends; a template may not "
                         "include other files: put what it needs into the template itself")


class NoOtherFiles(BaseLoader):
    """The loader of every template environment: it hands out no file at all."""

    def get_source(self, environment, template):   # noqa: ARG002 (Jinja's signature)
        raise IncludesFile(template)


def report_environment() -> SandboxedEnvironment:
    """The Jinja environment every report is rendered in: sandboxed, autoescaped, strict,
    and with no file to include."""
    return ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined, loader=NoOtherFiles())


def filling_failed(template: str, exc: TemplateError, lines: str = " of its XML") -> str:
    """Why `template` cannot be filled in, said plainly (the sandbox's refusal named)."""
    where = f" (line {exc.lineno}{lines})" if getattr(exc, "lineno", None) else ""
    if isinstance(exc, SecurityError):
        return (f"the template {template} cannot be filled in{where}: it reaches for something the sandbox refuses "
                f"({exc}); a template shows fields, it may not reach into Python's internals or change the data")
    return f"the template {template} cannot be filled in{where}: {exc}"


def render_docx(template: Path, context: Mapping[str, Any], target: Path, locale: str = "en_GB") -> Path:
    """Fill `template` in with `context` and write the document to `target`, readable by its
    owner only (reports and letters hold people's data; `engine.office.files`). A value that
    is a report's `Body` or `KeyFigures` (`engine.office.report_body`) is laid out as Word
    content by `engine.office.word`, its numbers and dates in `locale`."""
    from docxtpl import DocxTemplate  # here: docxtpl (with python-docx and lxml) is a slow import

    template, target = Path(template), Path(target)
    if not template.is_file():
        raise ReportTemplateError(f"there is no report template {template}")
    document = DocxTemplate(template)
    values = xml_safe(dict(context))
    if any(isinstance(v, Body | KeyFigures) for v in values.values()):
        from engine.office.locale import (
            Formatter,  # here: Babel's locale data, for reports with a body
        )
        from engine.office.word import markup  # here: the layout, likewise

        fmt = Formatter(locale)
        values = {k: markup(document, v, fmt) if isinstance(v, Body | KeyFigures) else v
                  for k, v in values.items()}
    try:
        document.render(values, jinja_env=report_environment(), autoescape=True)
    except TemplateError as exc:
        raise ReportTemplateError(filling_failed(template.name, exc)) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".docx", dir=target.parent)
    os.close(fd)
    try:
        make_private(Path(partial))        # (mkstemp's 0600, said and kept whatever the platform's default)
        document.save(partial)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def soffice() -> str | None:
    """LibreOffice's command, if it is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(document: Path, to: str = "pdf", timeout: float = 180) -> Path:
    """Convert `document` with headless LibreOffice (`to`: pdf, or a filter such as
    "txt:Text"); the result is written beside it, readable by whoever may read the document
    (a private report's PDF is private too). A private LibreOffice profile is used, so a
    LibreOffice the user has open neither blocks nor swallows the conversion."""
    command = soffice()
    if command is None:
        raise NeedsLibreOffice(f"{'PDF' if to == 'pdf' else to} needs LibreOffice: install it (the `soffice` command, e.g. the "
                               "libreoffice-writer package) or open the .docx in Word and save it as PDF")
    document = Path(document)
    result = document.with_suffix("." + to.split(":")[0])   # named as the caller named the document
    result.unlink(missing_ok=True)   # an old copy must not pass for the new one
    make_private(result)             # LibreOffice writes into it: never readable by others meanwhile
    with tempfile.TemporaryDirectory(prefix="backoffice-lo-") as profile:
        try:
            done = subprocess.run(
                [command, "--headless", "--norestore", f"-env:UserInstallation={Path(profile).as_uri()}",
                 "--convert-to", to, "--outdir", str(document.parent.resolve()), str(document.resolve())],
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BackofficeError(f"LibreOffice did not convert {document.name} within {timeout:.0f} s; "
                                  f"the Word file {document} is complete") from None
    if done.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
        result.unlink(missing_ok=True)
        raise BackofficeError(f"LibreOffice could not convert {document.name}: "
                              f"{(done.stderr or done.stdout).strip() or 'no output'}")
    keep_mode(document, result)
    return result


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_pages(path: Path) -> int:
    """How many pages the PDF at `path` has (its page objects, as LibreOffice writes them
    uncompressed)."""
    return len(_PAGE.findall(Path(path).read_bytes()))


def convert_to_pdf(document: Path, timeout: float = 180) -> Path:
    """`document` as a PDF beside it, checked to hold pages: LibreOffice can exit 0 having
    written nothing, or an empty document."""
    result = convert(document, "pdf", timeout)
    if pdf_pages(result) == 0:
        result.unlink(missing_ok=True)
        raise BackofficeError(f"LibreOffice wrote no pages for {Path(document).name}; the Word file {document} "
                              "is complete: open it in Word and save it as PDF")
    return result
