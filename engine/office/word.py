"""A report's `Body` laid out as Word content, inside the template where it says `{{p body }}`.

The template (a docxtpl .docx, restyled in Word as anyone likes) gives the page, the cover,
the headers and footers and the styles; this writes the sections into it with those styles
(Heading 1 and 2, Table Grid, Caption), so restyling the template restyles every report.
Numbers are right-aligned and written in the organisation's locale (`Formatter`); a table's
header row repeats on every page it runs onto, and a key figure's change against the month
before and the year before is shown beside it.

Text is made XML-safe here (control characters become spaces), as `engine.office.docx`
does for a template's context: nothing a database holds can break the file.
"""

from __future__ import annotations

import io
from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from engine.office.locale import Formatter
from engine.office.report_body import (
    Body,
    Chart,
    Column,
    Figure,
    Heading,
    KeyFigures,
    Section,
    Table,
    Text,
)
from engine.office.xml_text import xml_safe

NUMBERS = ("money", "count", "quantity", "percent", "change")


def _safe(text: str) -> str:
    return xml_safe(text)


def _repeat_header(row) -> None:
    mark = OxmlElement("w:tblHeader")
    mark.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(mark)


def _cell(cell, text: str, right: bool, bold: bool = False, size: float = 8.5) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(_safe(text))
    run.bold = bold
    run.font.size = Pt(size)


def table(document, found: Table, fmt: Formatter) -> None:
    """`found` as a Word table: its header row bold and repeated, numbers right-aligned."""
    if not found.rows:
        document.add_paragraph(_safe(found.empty))
        return
    rows = [*found.rows, *([found.total] if found.total else [])]
    grid = document.add_table(rows=1 + len(rows), cols=len(found.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _repeat_header(grid.rows[0])
    for c, column in enumerate(found.columns):
        _cell(grid.cell(0, c), column.title, column.kind in NUMBERS, bold=True)
    for r, values in enumerate(rows, start=1):
        is_total = found.total is not None and r == len(rows)
        for c, (column, value) in enumerate(zip(found.columns, values, strict=True)):
            _cell(grid.cell(r, c), fmt.value(value, column.kind), column.kind in NUMBERS, bold=is_total)
    document.add_paragraph()


def figures(document, found: list[Figure], fmt: Formatter) -> None:
    """The key figures: each with its value, the month before, the change, the same month a
    year before and the change against it."""
    columns = [Column("Key figure"), Column("This month", "money"), Column("Month before", "money"),
               Column("Change", "change"), Column("A year before", "money"), Column("Change", "change")]
    grid = document.add_table(rows=1 + len(found), cols=len(columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _repeat_header(grid.rows[0])
    for c, column in enumerate(columns):
        _cell(grid.cell(0, c), column.title, column.kind in NUMBERS, bold=True)
    for r, figure in enumerate(found, start=1):
        values = [figure.label, fmt.value(figure.value, figure.kind), fmt.value(figure.previous, figure.kind),
                  fmt.change(figure.value, figure.previous), fmt.value(figure.year_before, figure.kind),
                  fmt.change(figure.value, figure.year_before)]
        for c, text in enumerate(values):
            _cell(grid.cell(r, c), text, c > 0, bold=c == 0)
    document.add_paragraph()


def chart(document, found: Chart) -> None:
    document.add_picture(io.BytesIO(found.png), width=Cm(found.width_cm))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = document.add_paragraph(_safe(found.title))
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.runs[0].italic = True
    caption.runs[0].font.size = Pt(8)


def text(document, found: Text) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(_safe(found.text))
    if found.note:
        run.italic = True
        run.font.size = Pt(8.5)


def section(document, found: Section, fmt: Formatter, level: int = 1) -> None:
    document.add_heading(_safe(found.title), level)
    for block in found.blocks:
        if isinstance(block, Table):
            table(document, block, fmt)
        elif isinstance(block, Chart):
            chart(document, block)
        elif isinstance(block, Heading):
            document.add_heading(_safe(block.text), level + 1)
        elif isinstance(block, Text):
            text(document, block)
        else:
            raise TypeError(f"a report block of an unknown kind: {block!r}")


def write(document: Any, content: Body | KeyFigures, fmt: Formatter) -> None:
    """`content` written into `document` (a docxtpl subdocument, or any python-docx document):
    a body's sections in order, or the key figures together in one table."""
    if isinstance(content, KeyFigures):
        if content.figures:
            figures(document, content.figures, fmt)
        return
    for part in content.sections:
        section(document, part, fmt)


def subdocument(template: Any, content: Body | KeyFigures, fmt: Formatter) -> Any:
    """`content` as a docxtpl subdocument of `template`, for a `{{p name }}` tag."""
    made = template.new_subdoc()
    write(made, content, fmt)
    return made
