"""Writing a new workbook from the database (`backoffice workbook new`) and empty layouts.

Each sheet is an Excel Table: ID and Version first (locked), then the spec's columns with
number formats and drop-downs, a frozen header and spare rows for new records. Drop-down
lists live on a very hidden `_lists` sheet; the base snapshot on a very hidden
`_backoffice` sheet. Text is always written as text, so a value such as "=HYPERLINK(...)"
typed into the database can never become a formula in someone's Excel.

xlsxwriter writes each sheet's skeleton (its columns, Table, drop-downs, header, protection
and print set-up), the reports and the `_backoffice` sheet; the rows of the data sheets and
of `_lists` are made first, a run of records at a time, by engine.sheets.export_rows and
spliced in when the file is put together (engine.office.xlsx_splice): xlsxwriter holds
every cell it is given until it closes the file, which a million rows do not fit.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_range
from xlsxwriter.worksheet import Worksheet

from engine.office.xlsx_owned import HEADER_FILL
from engine.office.xlsx_row_text import MAX_ROWS
from engine.office.xlsx_splice import DeflatedRows, splice_package
from engine.sheets.export_rows import Records, write_list_rows, write_sheet_rows, write_text_rows
from engine.sheets.labels import Choice, Labels
from engine.sheets.meta import (
    DELETE,
    DELETE_YES,
    ID,
    LISTS_SHEET,
    META_SHEET,
    VERSION,
    SheetBase,
    WorkbookMeta,
)
from engine.sheets.spec import NUMBER_FORMATS, Column, SheetSpec

SPARE_ROWS = 100
_NO_LABELS = Labels()
FOOTER = "&L&A&RPage &P of &N"   # the sheet's name, and "Page 3 of 12"


@dataclass
class ReportData:
    """A read-only sheet to write: its name, (label, width) columns and rows of values."""

    name: str
    columns: Sequence[tuple[str, float]]
    rows: list[list[Any]]
    number_formats: Sequence[str | None] = ()   # per column, a format code (None: General)


@dataclass
class SheetData:
    """What to write into one sheet: its spec, the visible columns and the records, in runs
    (read from the database as they are written: each run is let go once written)."""

    spec: SheetSpec
    columns: Sequence[Column]
    records: Iterable[Records] = ()
    new_rows: list[dict[str, Any]] = field(default_factory=list)   # rows without id: inserted on sync
    written: int = 0        # how many records were written (set by write_workbook)


def write_workbook(
    path: Path,
    meta: WorkbookMeta,
    sheets: list[SheetData],
    lookups: dict[str, list[Any]],
    spare_rows: int = SPARE_ROWS,
    created: datetime | None = None,
    reports: Sequence[ReportData] = (),
    key: bytes | None = None,
) -> None:
    """Write a new workbook; its _backoffice sheet signed with the installation's `key` (None
    only for an empty layout, which no installation has made yet). The rows are made first,
    into temporary files beside `path`; then xlsxwriter writes the rest, knowing how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    skeleton = io.BytesIO()
    book = xlsxwriter.Workbook(skeleton, {
        "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    properties = {"title": f"Backoffice: {meta.module}", "comments": f"workbook {meta.workbook_id}"}
    if created is not None:  # a fixed date keeps the committed layouts byte-stable
        properties["created"] = created
    book.set_properties(properties)
    styles = _Styles(book)
    list_ranges = _list_ranges(lookups)
    labels = {name: Labels(values) for name, values in lookups.items() if values and isinstance(values[0], Choice)}
    rows: dict[str, DeflatedRows] = {}   # sheet part -> its rows (xlsxwriter names part N sheetN.xml)
    try:
        made = []
        for n, sheet in enumerate(sheets, start=1):
            out = rows[f"xl/worksheets/sheet{n}.xml"] = DeflatedRows(path.parent)
            shows = {c.key: labels.get(c.labels, _NO_LABELS).show for c in sheet.columns if c.labels}
            made.append(write_sheet_rows(out, styles, sheet.spec, sheet.columns, sheet.records, sheet.new_rows,
                                         spare_rows, shows))
        if lookups:
            out = rows[f"xl/worksheets/sheet{len(sheets) + len(reports) + 1}.xml"] = DeflatedRows(path.parent)
            write_list_rows(out, [_shown(values, labels.get(name)) for name, values in sorted(lookups.items())])
        for n, (sheet, done) in enumerate(zip(sheets, made, strict=True)):
            sheet.written = done.records
            meta.base[sheet.spec.name] = SheetBase(columns=[c.key for c in sheet.columns if not c.computed],
                                                   rows=done.base)
            _write_sheet(book, styles, sheet, list_ranges, done.last_row)
            if n == 0:
                book.worksheets()[0].activate()
        for report in reports:
            _write_report(book, styles, report)
        _write_lists(book, lookups)
        meta.labels = {name: made_labels.shown() for name, made_labels in labels.items()}
        # Its first row written here, the rest (a million records' snapshot: tens of megabytes
        # of text) as rows of its own, like the data sheets'.
        first, *rest = meta.to_rows(key)
        meta_sheet = book.add_worksheet(META_SHEET)
        for c, value in enumerate(first):
            meta_sheet.write_string(0, c, str(value))
        out = rows[f"xl/worksheets/sheet{len(book.worksheets())}.xml"] = DeflatedRows(path.parent)
        write_text_rows(out, rest, first_row=2)
        meta_sheet.very_hidden()
        meta_sheet.protect()
        book.close()
        skeleton.seek(0)
        splice_package(skeleton, path, rows)
    finally:
        for out in rows.values():
            out.close()


def _shown(values: list[Any], labels: Labels | None) -> list[Any]:
    """A lookup's values as its drop-down lists them: the labels of Choices (see as_shown)."""
    if labels is None:
        return values
    return [labels.label_of[v.id] for v in values]


class _Styles:
    """Cell formats: grey locked ID/Version, unlocked editable cells (text columns in Excel's
    Text format, so a typed postcode stays "01234"), italic grey computed columns, and the
    cells of posted rows locked in grey. Headers are bold on a tinted fill set on the cells
    themselves (LibreOffice does not show Excel's table styles)."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self.locked = book.add_format({"locked": True, "font_color": "#595959", "num_format": "0"})
        self.header = book.add_format({"bold": True, "bg_color": "#" + HEADER_FILL[2:], "bottom": 1,
                                       "text_wrap": True, "valign": "top"})
        self.delete = book.add_format({"locked": False})
        self._made: dict[tuple[str, str], Any] = {}

    def _format(self, kind: str, code: str):
        if (kind, code) not in self._made:
            look = {"editable": {"locked": False}, "computed": {"italic": True, "font_color": "#595959"},
                    "posted": {"font_color": "#595959"}}[kind]
            self._made[(kind, code)] = self.book.add_format({**look, "num_format": code})
        return self._made[(kind, code)]

    def for_column(self, column: Column, posted: bool = False):
        """The column's format; `posted`: on a row that may no longer be changed (locked)."""
        code = number_format(column)
        return self._format("computed" if column.computed else "posted" if posted or not column.editable
                            else "editable", code)

    def number(self, code: str | None):
        return self._format("posted", code) if code else None


def number_format(column: Column) -> str:
    """The column's number format code (text columns in Excel's Text format, and labelled
    ones: they show a label, not the id they store)."""
    if column.labels:
        return NUMBER_FORMATS["text"]
    return NUMBER_FORMATS.get(column.number_format or column.type, "General")


def print_setup(sheet: Worksheet) -> None:
    """Printable as people expect: landscape, one page wide, the header row on every page,
    the sheet's name and page number in the footer."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_footer(FOOTER)


def _list_ranges(lookups: dict[str, list[Any]]) -> dict[str, str]:
    """Lookup name -> the range on `_lists` that a drop-down takes its values from (a list
    longer than a sheet's rows is cut at Excel's last row, as the values are)."""
    ranges = {}
    for c, (name, values) in enumerate(sorted(lookups.items())):
        col = xl_col_to_name(c)
        ranges[name] = f"={LISTS_SHEET}!${col}$2:${col}${min(max(len(values), 1) + 1, MAX_ROWS)}"
    return ranges


def _write_lists(book: xlsxwriter.Workbook, lookups: dict[str, list[Any]]) -> None:
    """Drop-down sources, on a very hidden sheet after the data sheets (their names here;
    their values are rows of its own, see `write_workbook`)."""
    if not lookups:
        return
    sheet = book.add_worksheet(LISTS_SHEET)
    for c, name in enumerate(sorted(lookups)):
        sheet.write_string(0, c, name)
    sheet.very_hidden()
    sheet.protect()


def _write_sheet(book, styles: _Styles, data: SheetData, list_ranges: dict[str, str], last_row: int) -> None:
    """A data sheet's skeleton: its Table down to `last_row` (its rows are made apart, see
    engine.sheets.export_rows), columns, drop-downs, header, frozen pane, print set-up and
    protection."""
    spec, columns = data.spec, list(data.columns)
    sheet = book.add_worksheet(spec.name)
    deletable = spec.can_delete and any(c.editable for c in columns)
    headers = [ID, VERSION, *(c.label for c in columns), *([DELETE] if deletable else [])]
    _add_table(sheet, last_row, len(headers) - 1, {
        # a Table's name holds letters, digits, _ and . only ("Stock take", "E-mails")
        "name": re.sub(r"[^\w.]", "_", spec.name), "style": "Table Style Light 9",
        "columns": [{"header": h, "header_format": styles.header} for h in headers],
    })
    sheet.set_row(0, 30)
    sheet.set_column(0, 1, 9, styles.locked)
    for c, column in enumerate(columns, start=2):
        sheet.set_column(c, c, column.width, styles.for_column(column))
        _add_validation(sheet, c, column, last_row, list_ranges)
    if deletable:   # a row cannot be deleted under protection: "yes" here deletes its record
        c = len(headers) - 1
        sheet.set_column(c, c, 8, styles.delete)
        sheet.data_validation(1, c, last_row, c, {
            "validate": "list", "source": [DELETE_YES], "ignore_blank": True, "error_title": DELETE,
            "error_message": f"Choose {DELETE_YES} to delete the record of this row, or leave it empty."})
    sheet.freeze_panes(1, 0)
    print_setup(sheet)
    sheet.protect("", {
        "format_cells": True, "format_columns": True, "format_rows": True, "sort": True,
        "autofilter": True, "insert_rows": True,
    })


def _add_table(sheet: Worksheet, last_row: int, last_col: int, options: dict[str, Any]) -> None:
    """An Excel Table over rows 0 to `last_row` with a header row. xlsxwriter's add_table
    checks the range for overlaps by storing every cell of it (12 million entries for a
    full sheet of 12 columns): the Table is added over its header and first row, then given
    its whole range, as add_table itself would have set it."""
    if sheet.add_table(0, 0, 1, last_col, options) != 0:
        raise ValueError(f"xlsxwriter refused the Table of sheet {sheet.name!r} (see its warning)")
    table = sheet.tables[-1]
    table["range"] = table["a_range"] = xl_range(0, 0, last_row, last_col)
    if "autofilter" in table:
        table["autofilter"] = table["a_range"]


def _write_report(book, styles: _Styles, report: ReportData) -> None:
    """A read-only sheet: bold header, frozen, protected (rewritten on every sync and refresh)."""
    sheet = book.add_worksheet(report.name)
    formats = [styles.number(code) for code in report.number_formats] or [None] * len(report.columns)
    for c, (label, width) in enumerate(report.columns):
        sheet.set_column(c, c, width)
        sheet.write_string(0, c, label, styles.header)
    for r, row in enumerate(report.rows, start=1):
        for c, value in enumerate(row):
            _write_value(sheet, r, c, value, formats[c] if c < len(formats) and not isinstance(value, str) else None)
    sheet.freeze_panes(1, 0)
    print_setup(sheet)
    sheet.protect("", {"format_columns": True, "sort": True, "autofilter": True})


def _add_validation(sheet: Worksheet, c: int, column: Column, last_row: int, list_ranges: dict[str, str]) -> None:
    if not column.editable or last_row < 1:
        return
    rule: dict[str, Any] | None = None
    if column.type == "choice":
        rule = {"validate": "list", "source": list(column.choices)}
    elif column.lookup and column.lookup in list_ranges:
        rule = {"validate": "list", "source": list_ranges[column.lookup]}
    elif column.type == "date":
        rule = {"validate": "date", "criteria": ">=", "value": date(1900, 1, 1)}
    if rule:
        rule |= {"error_title": column.label, "error_message": f"Choose a valid {column.label}.",
                 "ignore_blank": True}
        sheet.data_validation(1, c, last_row, c, rule)


def _write_value(sheet: Worksheet, r: int, c: int, value: Any, style) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value, style)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(r, c, float(value), style)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, value, style)
    else:
        sheet.write_string(r, c, str(value), style)  # never a formula, whatever it starts with


def column_letters(columns: Iterable[Column]) -> dict[str, str]:
    """Column key -> Excel letter in our layout (ID in A, Version in B)."""
    return {c.key: xl_col_to_name(i) for i, c in enumerate(columns, start=2)}
