"""A report's `Body` laid out as Word content, inside the template where it says `{{p body }}`
(and its key figures where it says `{{p key_figures }}`).

The template (a docxtpl .docx, restyled in Word as anyone likes) gives the page, the cover,
the headers and footers and the styles; this writes the sections into it with those styles
(Heading 1 and 2, Table Grid, Caption), so restyling the template restyles every report.
Numbers are right-aligned and written in the organisation's locale (`Formatter`); a table's
header row repeats on every page it runs onto, and a key figure's change against the month
before and the year before is shown beside it.

The content is written as WordprocessingML text, escaped here, and handed to docxtpl as
markup (`Markup`): building it through python-docx's objects took 130 ms for a one-page
statement (a new document for each subdocument, and a walk over every cell for each cell),
and a thousand statements must take less than a minute. Charts are added to the template's
own document part as pictures. Text is made XML-safe (control characters become spaces) and
escaped, so nothing a database holds can break the file or add markup of its own.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

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
EMU_PER_CM = 360_000
TEXT_WIDTH = 9_638     # 17 cm in twentieths of a point: an A4 page between 2 cm margins
CHAR = 105             # a character of 8.5 pt text, about (twentieths of a point)
CELL_MARGINS = 230     # a cell's left and right margins, and a little air
SHORT = 14 * CHAR + CELL_MARGINS   # a column this wide or less is kept whole


class Markup(str):
    """WordprocessingML that docxtpl inserts as it is (autoescape passes `__html__` through)."""

    def __html__(self) -> str:
        return str(self)


def _run(text: str, bold: bool = False, italic: bool = False, half_points: int | None = None) -> str:
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + (
        f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>' if half_points else "")
    return (f"<w:r>{f'<w:rPr>{props}</w:rPr>' if props else ''}"
            f'<w:t xml:space="preserve">{escape(xml_safe(text))}</w:t></w:r>')


def _paragraph(text: str = "", style: str | None = None, right: bool = False, centre: bool = False,
               tight: bool = False, **run: Any) -> str:
    props = (f'<w:pStyle w:val="{style}"/>' if style else "") + (
        '<w:spacing w:after="0"/>' if tight else "") + (
        '<w:jc w:val="right"/>' if right else '<w:jc w:val="center"/>' if centre else "")
    return f"<w:p>{f'<w:pPr>{props}</w:pPr>' if props else ''}{_run(text, **run) if text else ''}</w:p>"


def _cell(text: str, width: int, right: bool, bold: bool = False) -> str:
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
            f"{_paragraph(text, right=right, tight=True, bold=bold, half_points=17)}</w:tc>")


def widths(titles: list[str], rows: list[list[str]], total: int = TEXT_WIDTH) -> list[int]:
    """Each column's width (twentieths of a point) out of `total`: what its longest text needs
    (a title by its longest word, as it may wrap there), short columns (amounts, dates, counts)
    kept whole and the long ones (names, descriptions) sharing what is left, so neither a name
    is squeezed into the width of an amount nor "On hand" broken into letters."""
    natural = []
    for c, title in enumerate(titles):
        word = max([len(w) for w in title.split()] + [1]) + 2       # (bold)
        text = max([len(row[c]) for row in rows] + [1])
        natural.append(min(max(word, text, 4), 60) * CHAR + CELL_MARGINS)
    if sum(natural) <= total:
        return [total * n // sum(natural) for n in natural]
    short = [n <= SHORT for n in natural]
    left = total - sum(n for n, is_short in zip(natural, short, strict=True) if is_short)
    long_total = sum(n for n, is_short in zip(natural, short, strict=True) if not is_short)
    if left <= 0 or not long_total:
        return [total * n // sum(natural) for n in natural]
    return [n if is_short else left * n // long_total for n, is_short in zip(natural, short, strict=True)]


def _grid(titles: list[tuple[str, bool]], rows: list[list[str]], bold_last: bool = False,
          bold_first_column: bool = False) -> str:
    """A Table Grid table across the text's width: a header row repeated on every page, then
    the rows (text already written); `titles` pairs each column's title with whether it is
    right-aligned."""
    sizes = widths([t for t, _right in titles], rows)
    header = "".join(_cell(title, size, right, bold=True) for (title, right), size in zip(titles, sizes, strict=True))
    body = []
    for r, row in enumerate(rows):
        last = bold_last and r == len(rows) - 1
        body.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(
            _cell(text, size, right, bold=last or (bold_first_column and c == 0))
            for c, (text, (_title, right), size) in enumerate(zip(row, titles, sizes, strict=True))) + "</w:tr>")
    return (f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="{sum(sizes)}" w:type="dxa"/>'
            '<w:jc w:val="center"/><w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1" '
            'w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>'
            + "".join(f'<w:gridCol w:w="{size}"/>' for size in sizes) + '</w:tblGrid>'
            '<w:tr><w:trPr><w:tblHeader/></w:trPr>' + header + "</w:tr>" + "".join(body) + "</w:tbl>")


def table(found: Table, fmt: Formatter) -> str:
    """`found` as a Word table: its header row bold and repeated, numbers right-aligned, its
    total row bold; a paragraph saying so when it has no rows."""
    if not found.rows:
        return _paragraph(found.empty)
    rows = [*found.rows, *([found.total] if found.total else [])]
    titles = [(c.title, c.kind in NUMBERS) for c in found.columns]
    written = [[fmt.value(value, column.kind) for column, value in zip(found.columns, row, strict=True)]
               for row in rows]
    return _grid(titles, written, bold_last=found.total is not None) + _paragraph()


def figures(found: list[Figure], fmt: Formatter) -> str:
    """The key figures: each with its value, the month before, the change, the same month a
    year before and the change against it."""
    columns = [Column("Key figure"), Column("This month", "money"), Column("Month before", "money"),
               Column("Change", "change"), Column("A year before", "money"), Column("Change", "change")]
    rows = [[f.label, fmt.value(f.value, f.kind), fmt.value(f.previous, f.kind), fmt.change(f.value, f.previous),
             fmt.value(f.year_before, f.kind), fmt.change(f.value, f.year_before)] for f in found]
    return _grid([(c.title, c.kind in NUMBERS) for c in columns], rows, bold_first_column=True) + _paragraph()


def chart(found: Chart, part: Any) -> str:
    """`found` as a picture in `part` (the template's document part), centred, its title as
    the caption below it."""
    from lxml import etree  # here: python-docx's XML library, for the picture it makes

    inline = part.new_pic_inline(io.BytesIO(found.png), width=int(found.width_cm * EMU_PER_CM))
    drawing = etree.tostring(inline, encoding="unicode")
    picture = f'<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:drawing>{drawing}</w:drawing></w:r></w:p>'
    return picture + _paragraph(found.title, centre=True, italic=True, half_points=16)


def section(found: Section, fmt: Formatter, part: Any, level: int = 1) -> str:
    written = [_paragraph(found.title, style=f"Heading{level}")]
    for block in found.blocks:
        if isinstance(block, Table):
            written.append(table(block, fmt))
        elif isinstance(block, Chart):
            written.append(chart(block, part))
        elif isinstance(block, Heading):
            written.append(_paragraph(block.text, style=f"Heading{level + 1}"))
        elif isinstance(block, Text):
            written.append(_paragraph(block.text, italic=block.note, half_points=17 if block.note else None))
        else:
            raise TypeError(f"a report block of an unknown kind: {block!r}")
    return "".join(written)


def markup(template: Any, content: Body | KeyFigures, fmt: Formatter) -> Markup:
    """`content` as WordprocessingML for a `{{p name }}` tag of `template` (a DocxTemplate):
    a body's sections in order, or the key figures together in one table."""
    if isinstance(content, KeyFigures):
        return Markup(figures(content.figures, fmt) if content.figures else "")
    part = template.get_docx().part
    return Markup("".join(section(s, fmt, part) for s in content.sections))
