"""The open workbook, read and written through xlwings ranges: the add-in's side of the round trip.

`snapshot` reads every sheet's cells with one bulk `.value` per sheet into the engine's
`BookSnapshot`; the round trip (locally, or on the server) reads, merges, checks and applies
it exactly as a file, and answers `BookChanges`, which `apply` makes in the open workbook:
marks and notes of the last run taken off, cells written (runs of a column in one range
write), new marks and notes put on, cells of settled rows locked, the table grown, and the
Issues, report and `_backoffice` sheets rewritten. No rule is here; nothing is closed,
saved or reopened, and what the user typed stays unless the round trip changes that cell.

Where xlwings has no word for it (a very hidden sheet, sheet protection, a cell's lock, the
print set-up) addin/excel_api.py reaches Excel's own object model (COM on Windows, which the
headless engine answers too; AppleScript on macOS).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import xlwings as xw

from addin import excel_api
from engine.office.xlsx_cells import parse_ref
from engine.office.xlsx_comments import note_fingerprint
from engine.office.xlsx_owned import OwnedSheet
from engine.office.xlsx_patch import UNCHANGED, CellPatch
from engine.office.xlsx_styles import MARK_FILLS
from engine.sheets.live import BookChanges, BookSnapshot
from engine.sheets.meta import ISSUES_SHEET, LISTS_SHEET, META_SHEET

MARK_COLOURS = {kind: tuple(int(argb[i:i + 2], 16) for i in (2, 4, 6)) for kind, argb in MARK_FILLS.items()}
# Sheets the round trip never reads (it, or the Sync dry run button, rewrites them whole):
# their cells are not fetched.
PREVIEW_SHEET = "Sync preview"
NOT_READ = frozenset({ISSUES_SHEET, LISTS_SHEET, PREVIEW_SHEET})
# Text Excel would take for something else when a cell is given it (a number, a date, a
# formula, a percentage): written behind an apostrophe, Excel's mark for "this is text",
# which is not part of the value. Formulas are the security half of it: a customer's name
# "=HYPERLINK(...)" stays text.
_NOT_PLAIN_TEXT = re.compile(r"^[=+\-@'\s]|\d|^(true|false)$", re.IGNORECASE)


def snapshot(book: xw.Book) -> BookSnapshot:
    """The workbook's cells, sheet by sheet, read one sheet at a time in bulk."""
    sheets: dict[str, list[list[Any]]] = {}
    hidden: dict[str, str] = {}
    for sheet in book.sheets:
        state = excel_api.state(sheet)
        if state != "visible":
            hidden[sheet.name] = state
        sheets[sheet.name] = [] if sheet.name in NOT_READ else _values(sheet)
    return BookSnapshot.of_values(book.name, sheets, hidden)


def _values(sheet: xw.Sheet) -> list[list[Any]]:
    last = sheet.used_range.last_cell
    if last.row == 1 and last.column == 1 and sheet.range("A1").value is None:
        return []
    return sheet.range((1, 1), (last.row, last.column)).options(ndim=2, err_to_str=True).value


def apply(book: xw.Book, changes: BookChanges) -> None:
    """Make the round trip's changes in the open workbook (see BookChanges for the order)."""
    with _quietly(book.app):
        names = {sheet.name for sheet in book.sheets}
        for name in (set(changes.clear_marks) | set(changes.clear_notes) | set(changes.sheets)) & names:
            sheet = book.sheets[name]
            with unprotected(sheet):
                _take_off(sheet, changes.clear_marks.get(name, ()), set(changes.clear_notes.get(name, ())))
                if name in changes.sheets:
                    patch = changes.sheets[name]
                    _write_cells(sheet, patch.cells)
                    if patch.table_last_row:
                        _grow_tables(sheet, patch.table_last_row)
        for name, owned in changes.owned.items():
            write_owned(book, name, owned)
        for name in changes.very_hidden:
            if name in {sheet.name for sheet in book.sheets}:
                excel_api.set_state(book.sheets[name], "veryHidden")


@contextmanager
def _quietly(app: xw.App) -> Iterator[None]:
    """Screen updating off while the workbook is written (a 10,000-row write flickers and
    crawls otherwise); put back as it was."""
    before = app.screen_updating
    app.screen_updating = False
    try:
        yield
    finally:
        app.screen_updating = before


@contextmanager
def unprotected(sheet: xw.Sheet) -> Iterator[None]:
    """Lift the sheet's protection (ours has no password) for the write, and put it back with
    what the exported sheets allow (engine/sheets/export.py)."""
    protected = excel_api.protected(sheet)
    if protected:
        excel_api.unprotect(sheet)
    try:
        yield
    finally:
        if protected:
            excel_api.protect(sheet, excel_api.EDITABLE_SHEET)


def _take_off(sheet: xw.Sheet, marked: Any, notes: set[str]) -> None:
    """Our last marks off (a cell the user gave another fill since keeps it) and our notes."""
    for ref in marked:
        cell = sheet.range(ref)
        if _mark_of(cell.color) is not None:
            cell.color = None
    if notes:
        for note in list(sheet.notes):
            if note_fingerprint(note.text or "") in notes:
                note.delete()


def _mark_of(colour: Any) -> str | None:
    if isinstance(colour, str):
        colour = tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return next((kind for kind, rgb in MARK_COLOURS.items() if colour == rgb), None)


def _write_cells(sheet: xw.Sheet, cells: dict[str, CellPatch]) -> None:
    """Values column by column, a run of consecutive rows in one write; locks the same way (a
    10,000-row sync locks that many posted rows: one call a run, not one a cell); then the
    marks and notes, which are few, cell by cell."""
    by_column: dict[int, dict[int, Any]] = {}
    locked: dict[int, dict[int, bool]] = {}
    for ref, cell in cells.items():
        if cell.value is not UNCHANGED or cell.lock:
            row, column = parse_ref(ref)
            if cell.value is not UNCHANGED:
                by_column.setdefault(column, {})[row] = excel_value(cell.value)
            if cell.lock:
                locked.setdefault(column, {})[row] = True
    for column, values in by_column.items():
        for first, run in _runs(values):
            sheet.range((first, column), (first + len(run) - 1, column)).value = [[v] for v in run]
    for column, rows in locked.items():
        for first, run in _runs(rows):
            excel_api.lock(sheet.range((first, column), (first + len(run) - 1, column)))
    for ref, cell in cells.items():
        if cell.mark is UNCHANGED and cell.note is UNCHANGED:
            continue
        target = sheet.range(ref)
        if cell.mark in MARK_COLOURS:
            target.color = MARK_COLOURS[cell.mark]
        elif cell.mark is None and _mark_of(target.color) is not None:
            target.color = None
        if cell.note is not UNCHANGED:
            _put_note(target, cell.note)


def _put_note(cell: xw.Range, text: str | None) -> None:
    """Our note on the cell. Ours from the last run were taken off first (by fingerprint:
    Excel signs a note added through its object model with the user's name, not ours), so a
    note still there is the user's own, and is never replaced: Excel allows one a cell, and
    the Issues sheet lists the problem anyway."""
    if text and cell.note is None:
        cell.add_note(text)


def _runs(values: dict[int, Any]) -> Iterator[tuple[int, list[Any]]]:
    rows = sorted(values)
    start = prev = rows[0]
    for row in rows[1:]:
        if row != prev + 1:
            yield start, [values[r] for r in range(start, prev + 1)]
            start = row
        prev = row
    yield start, [values[r] for r in range(start, prev + 1)]


def excel_value(value: Any) -> Any:
    """A value as Excel is given it: money as the number Excel keeps (a double: the file
    path writes the same number as text Excel reads into one), text safe from being taken
    for a number, a date or a formula."""
    if isinstance(value, Decimal):
        return float(value)
    if value.__class__ is str and value and _NOT_PLAIN_TEXT.search(value):
        return "'" + value
    return value


def _grow_tables(sheet: xw.Sheet, last_row: int) -> None:
    for table in sheet.tables:
        whole = table.range
        if whole.last_cell.row < last_row:
            table.resize(sheet.range((whole.row, whole.column), (last_row, whole.last_cell.column)))


def write_owned(book: xw.Book, name: str, owned: OwnedSheet) -> None:
    """A sheet we own, replaced whole (or added): Issues, the reports, `_backoffice`."""
    existing = {sheet.name: sheet for sheet in book.sheets}
    if name in existing:
        sheet = existing[name]
        if excel_api.protected(sheet):
            excel_api.unprotect(sheet)
        sheet.clear()
    elif owned.placement == "first":
        sheet = book.sheets.add(name, before=book.sheets[0])
    else:
        sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
    _fill_owned(sheet, name, owned)
    if owned.protected:   # as the file's OwnedSheet is protected (engine/office/xlsx_owned.py)
        excel_api.protect(sheet, excel_api.READ_ONLY_SHEET)


def _fill_owned(sheet: xw.Sheet, name: str, owned: OwnedSheet) -> None:
    width = max((len(row) for row in owned.rows), default=0)
    if width:
        block = sheet.range((1, 1), (len(owned.rows), width))
        if name == META_SHEET:
            # Signed text: in cells formatted as Text Excel keeps every character as written
            # (and evaluates nothing), so it goes in as it is, with no apostrophe to mind.
            block.number_format = "@"
            block.value = [list(row) + [None] * (width - len(row)) for row in owned.rows]
        else:
            block.value = [[excel_value(v) for v in row] + [None] * (width - len(row)) for row in owned.rows]
    if owned.bold_first_row and width:
        sheet.range((1, 1), (1, width)).font.bold = True
    for column, code in owned.number_formats.items():
        if len(owned.rows) > 1:
            sheet.range((2, column), (len(owned.rows), column)).number_format = code
    for column, size in owned.column_widths.items():
        sheet.range((1, column)).column_width = size
    for ref, target in owned.links.items():
        sheet.range(ref).add_hyperlink(f"#{target}", text_to_display=str(sheet.range(ref).value or ""))
    if owned.printed:
        excel_api.print_setup(sheet)
    if owned.placement == "first" and owned.state == "visible":
        sheet.activate()
    if owned.state != "visible":
        excel_api.set_state(sheet, owned.state)

