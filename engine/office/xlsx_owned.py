"""Sheets the engine owns entirely (such as `Issues` or `_backoffice`): written whole.

Such a sheet holds only values we put there, so it is generated from scratch each time and
replaces the previous version; the rest of the workbook is left as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.office.xlsx_cells import (
    cell_ref,
    cell_xml,
    escape_attribute,
    parse_ref,
    range_text,
)
from engine.office.xlsx_styles import DATE_FORMAT, DATETIME_FORMAT, Styles
from engine.office.xlsx_workbook import SHEET_STATES, Workbook


@dataclass
class OwnedSheet:
    """A sheet we own entirely; created if absent, replaced whole if present."""

    rows: list[list[Any]]  # values, row 1 first
    state: str = "visible"  # "visible" | "hidden" | "veryHidden"
    links: dict[str, str] = field(default_factory=dict)  # cell ref -> "'People'!C7"
    column_widths: dict[int, float] = field(default_factory=dict)  # 1-based column -> width
    bold_first_row: bool = False   # a header: bold on a tinted fill (shown alike by Excel and LibreOffice)
    number_formats: dict[int, str] = field(default_factory=dict)   # 1-based column -> format code
    printed: bool = False   # landscape, one page wide, the header row on every page, a footer
    # Protected as the export protects a read-only sheet: nothing typed in, though its
    # columns may still be sized, sorted and filtered (and no password: it guards mistakes).
    protected: bool = False
    # "first": the first tab, and the active, selected one (the Issues of a rejected sync);
    # "last": the last tab, not selected (the first visible sheet is active); None: left be.
    placement: str | None = None


# The print set-up of a sheet people print (see `printed`): the sheet's name and the page
# number in the footer (Excel's codes &A, &P and &N, which LibreOffice reads too).
HEADER_FILL = "FFD9E1F2"
FIT_TO_PAGE = b'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
PROTECTION = b'<sheetProtection sheet="1" objects="1" scenarios="1" formatColumns="0" sort="0" autoFilter="0"/>'
PAGE_SETUP = (b'<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
              b"<headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter>")


def write_owned_sheet(book: Workbook, styles: Styles, name: str, sheet: OwnedSheet) -> None:
    if sheet.state not in SHEET_STATES:
        raise ValueError(f"sheet state must be one of {SHEET_STATES}, not {sheet.state!r}")
    if sheet.placement not in (None, "first", "last"):
        raise ValueError(f"a sheet is placed 'first', 'last' or not at all, not {sheet.placement!r}")
    if sheet.placement == "first" and sheet.state != "visible":
        raise ValueError("only a visible sheet can be the active one")
    existing = book.find(name)
    if existing is None:
        part = book.add_worksheet(name, sheet.state)
    else:
        part = book.worksheet_part(name)
        book.set_state(name, sheet.state)
    book.package.write(part, b"".join(_sheet_xml(book, styles, sheet)))
    book.package.check_well_formed(part)
    if sheet.printed and sheet.rows:
        book.repeat_first_row(name)
    if sheet.placement is not None:
        book.place(name, first=sheet.placement == "first")


def _sheet_xml(book: Workbook, styles: Styles, sheet: OwnedSheet) -> Iterator[bytes]:
    yield (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{book.main_ns}" xmlns:r="{book.rel_namespace}">'
    ).encode()
    if sheet.printed:
        yield FIT_TO_PAGE
    width = max((len(row) for row in sheet.rows), default=0)
    if sheet.rows and width:
        yield f'<dimension ref="{range_text(1, 1, len(sheet.rows), width)}"/>'.encode()
    if sheet.placement == "first":
        yield b'<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
    if sheet.column_widths:
        yield b"<cols>"
        for column, size in sorted(sheet.column_widths.items()):
            yield f'<col min="{column}" max="{column}" width="{float(size)!r}" customWidth="1"/>'.encode()
        yield b"</cols>"
    yield b"<sheetData>"
    formats = {column: styles.number_format(code) for column, code in sheet.number_formats.items()}
    for number, values in enumerate(sheet.rows, start=1):
        bold = sheet.bold_first_row and number == 1
        cells = [
            cell_xml(
                "", cell_ref(number, column),
                _style(styles, value, bold, None if bold or not isinstance(value, int | float | Decimal)
                       else formats.get(column)),
                value, book.date1904,
            )
            for column, value in enumerate(values, start=1)
            if value is not None
        ]
        if cells:
            yield f'<row r="{number}">{"".join(cells)}</row>'.encode()
    yield b"</sheetData>"
    if sheet.protected:
        yield PROTECTION
    if sheet.links:
        yield b"<hyperlinks>"
        for ref, location in sorted(sheet.links.items(), key=lambda item: parse_ref(item[0])):
            row, column = parse_ref(ref)
            display = _display(sheet.rows, row, column) or location
            yield (
                f'<hyperlink ref="{cell_ref(row, column)}" location="{escape_attribute(location)}" '
                f'display="{escape_attribute(display)}"/>'
            ).encode()
        yield b"</hyperlinks>"
    yield b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    if sheet.printed:
        yield PAGE_SETUP
    yield b"</worksheet>"


def _style(styles: Styles, value: Any, bold: bool, number_format: int | None = None) -> int:
    if isinstance(value, dt.datetime):
        number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        number_format = DATE_FORMAT
    if not bold and number_format is None:
        return 0
    return styles.derived(0, bold=bold, number_format=number_format, fill=HEADER_FILL if bold else None)


def _display(rows: list[list[Any]], row: int, column: int) -> str:
    if row <= len(rows) and column <= len(rows[row - 1]):
        value = rows[row - 1][column - 1]
        return "" if value is None else str(value)
    return ""
