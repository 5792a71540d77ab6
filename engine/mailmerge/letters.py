"""Printed letters: one .docx (and PDF) holding every letter of a merge, for recipients
without an e-mail address.

Each letter is filled in from the same template (`templates.render_letter`), then the letters
are joined into one document, each starting on a new page as a section of its own (so a
template's first-page letterhead and its page numbers start again with every letter). The
letters share the template's styles, numbering, headers and footers, which is why one
template per batch is joined without docxcompose; headers and footers should therefore not
hold merge fields (the first letter's would be printed on every letter).

The file is written through a temporary file beside it, so a failed batch never leaves half
a print job behind. The PDF comes from LibreOffice (`engine.office.docx.convert`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from io import BytesIO
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from engine.errors import BackofficeError
from engine.mailmerge.templates import render_letter, write_bytes
from engine.office.docx import convert


def print_batch(name: str, contexts: Iterable[Mapping[str, Any]], out_docx: Path,
                pdf: bool = False, template: Path | None = None) -> tuple[Path, Path | None]:
    """Fill templates/letters/<name>.docx (or `template`) in once per context and write all
    the letters to `out_docx` (a .docx), each from a new page; with `pdf` also a PDF beside
    it. Returns (the .docx, the PDF or None)."""
    out_docx = Path(out_docx)
    if out_docx.suffix.lower() != ".docx":
        raise BackofficeError(f"{out_docx}: letters for printing are a .docx file; end the name in .docx")
    letters = [render_letter(name, context, template) for context in contexts]
    if not letters:
        raise BackofficeError("there are no letters to print: every recipient has an e-mail address")
    write_bytes(out_docx, combine(letters))
    return out_docx, convert(out_docx, "pdf") if pdf else None


def combine(letters: list[bytes]) -> bytes:
    """One .docx of letters filled in from the same template, each a section from a new page."""
    document = Document(BytesIO(letters[0]))
    body = document.element.body
    last = body.sectPr if body.sectPr is not None else body._add_sectPr()   # the document's end
    _restart_page_numbers(last)
    for data in letters[1:]:
        _end_section(body, last)
        for child in Document(BytesIO(data)).element.body.iterchildren():
            if child.tag != qn("w:sectPr"):
                last.addprevious(deepcopy(child))
    _unique_drawing_ids(body)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _end_section(body, last) -> None:
    """End the letter written so far with a section break (next page), as Word does: the
    section's properties go into its last paragraph."""
    previous = last.getprevious()
    if previous is None or previous.tag != qn("w:p") or previous.pPr is not None and previous.pPr.sectPr is not None:
        previous = OxmlElement("w:p")     # after a table (or a section end): a paragraph to hold it
        last.addprevious(previous)
    section = deepcopy(last)
    kind = section.find(qn("w:type"))
    if kind is not None:
        section.remove(kind)                # the default: the next section starts on a new page
    previous.get_or_add_pPr()._insert_sectPr(section)


def _restart_page_numbers(section) -> None:
    numbering = section.find(qn("w:pgNumType"))
    if numbering is None:
        numbering = OxmlElement("w:pgNumType")
        # Its place among the section properties: before w:cols and what follows it.
        follower = next((section.find(qn(t)) for t in ("w:cols", "w:formProt", "w:vAlign", "w:noEndnote",
                                                       "w:titlePg", "w:textDirection", "w:bidi", "w:rtlGutter",
                                                       "w:docGrid", "w:printerSettings", "w:sectPrChange")
                         if section.find(qn(t)) is not None), None)
        if follower is not None:
            follower.addprevious(numbering)
        else:
            section.append(numbering)
    numbering.set(qn("w:start"), "1")


def _unique_drawing_ids(body) -> None:
    """A picture copied into every letter keeps its id; Word wants each drawing's own."""
    for n, element in enumerate(body.iter(qn("wp:docPr")), start=1):
        element.set("id", str(n))
