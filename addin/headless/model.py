"""A workbook held in memory: what the headless engine reads and writes instead of Excel.

Values live in one list of row lists per sheet (row 1 first, column A first), so a bulk read
or write of 10,000 x 12 cells is list slicing, not 120,000 cell objects. Everything else a
cell can wear (fill, note, lock, hyperlink, bold, number format) is sparse: a dict or set
keyed by (row, column). What the file held when it was loaded is kept beside it, so saving
writes only what changed (see save.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384
MAX_CELLS_READ = 20_000_000  # sheet.cells.value would be 17 billion cells: refused, not tried
VISIBLE, HIDDEN, VERY_HIDDEN = -1, 0, 2  # Excel's XlSheetVisibility
STATE_OF = {VISIBLE: "visible", HIDDEN: "hidden", VERY_HIDDEN: "veryHidden"}
VISIBILITY_OF = {state: number for number, state in STATE_OF.items()}
OTHER_FILL = "other"  # a fill we could not read as one RGB colour (a theme or indexed colour)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


@dataclass(frozen=True)
class CellError:
    """An Excel error value (#N/A, #DIV/0!...) loaded from the file."""

    text: str


@dataclass
class NoteData:
    text: str
    author: str


@dataclass
class TableData:
    name: str
    top: int
    left: int
    bottom: int
    right: int
    loaded_bottom: int  # the last row in the file: a change is a SheetPatch.table_last_row
    loaded_corner: tuple[int, int, int]  # top, left, right in the file: these cannot change


class SheetProtected(RuntimeError):
    """What Excel raises (as a COM error) when code writes to a locked cell of a protected sheet."""


LANDSCAPE = 2   # Excel's XlPageOrientation xlLandscape

@dataclass
class SheetData:
    name: str
    state: str = "visible"
    loaded: bool = False  # the sheet exists in the file
    rows: list[list[Any]] = field(default_factory=list)
    fills: dict[tuple[int, int], str] = field(default_factory=dict)  # ARGB or OTHER_FILL
    marks: dict[tuple[int, int], str] = field(default_factory=dict)  # loaded: our mark kind
    unlocked: set[tuple[int, int]] = field(default_factory=set)   # cells unlocked by their own format
    # Columns whose default format is unlocked (an editable column's blank cells), and the cells
    # of those columns locked by a format of their own: Excel's rule, without a set of every row.
    open_columns: set[int] = field(default_factory=set)
    closed: set[tuple[int, int]] = field(default_factory=set)
    locked_now: set[tuple[int, int]] = field(default_factory=set)  # Locked=True in memory
    notes: dict[tuple[int, int], NoteData] = field(default_factory=dict)
    protected: bool = False
    protect_args: dict[str, Any] = field(default_factory=dict)
    tables: list[TableData] = field(default_factory=list)
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    column_widths: dict[int, float] = field(default_factory=dict)
    bold: set[tuple[int, int]] = field(default_factory=set)
    formats: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    cleared: bool = False  # .clear() on a loaded sheet: written whole on save
    page_setup: dict[str, Any] = field(default_factory=dict)  # what api.PageSetup was given
    selected: tuple[int, int, int, int] | None = None  # Range.select(): what app.selection answers
    # what the file held, for the diff on save
    loaded_rows: list[list[Any]] = field(default_factory=list)
    loaded_fills: dict[tuple[int, int], str] = field(default_factory=dict)
    loaded_unlocked: set[tuple[int, int]] = field(default_factory=set)
    loaded_closed: set[tuple[int, int]] = field(default_factory=set)
    loaded_notes: dict[tuple[int, int], NoteData] = field(default_factory=dict)
    loaded_state: str = "visible"
    loaded_protected: bool = False
    allow_formatting: bool = False  # the protection lets code and users format cells

    # -- values ------------------------------------------------------------------------------

    def read(self, top: int, left: int, bottom: int, right: int) -> list[list[Any]]:
        if (bottom - top + 1) * (right - left + 1) > MAX_CELLS_READ:
            raise ValueError(f"{self.name}: reading {bottom - top + 1} x {right - left + 1} cells "
                             "at once is refused; read the used range")
        width = right - left + 1
        blank = [None] * width
        out = []
        for row in self.rows[top - 1:bottom]:
            part = row[left - 1:right]
            out.append(part + blank[len(part):] if len(part) < width else part)
        out.extend([None] * width for _ in range(bottom - top + 1 - len(out)))
        return out

    def write(self, top: int, left: int, values: list[list[Any]]) -> None:
        """Put a block of values (rows of equal length) at (top, left)."""
        width = len(values[0]) if values else 0
        rows = self.rows
        need = top - 1 + len(values)
        if len(rows) < need:
            rows.extend([] for _ in range(need - len(rows)))
        end = left - 1 + width
        for offset, block in enumerate(values):
            row = rows[top - 1 + offset]
            if len(row) < end:
                row.extend([None] * (end - len(row)))
            row[left - 1:end] = block

    def extent(self) -> tuple[int, int, int, int]:
        """The used range (first row, first column, last row, last column): every cell that holds
        a value, a fill, a note or a hyperlink, as Excel counts it; A1 for an empty sheet."""
        cells = [*self.fills, *self.notes, *self.links, *self.bold]
        last_row = next((n for n in range(len(self.rows), 0, -1) if any(v is not None for v in self.rows[n - 1])), 0)
        first_row = next((n for n in range(1, last_row + 1) if any(v is not None for v in self.rows[n - 1])), 0)
        columns = [
            (next(i for i, v in enumerate(row) if v is not None) + 1,
             len(row) - next(i for i, v in enumerate(reversed(row)) if v is not None))
            for row in self.rows[first_row - 1:last_row] if any(v is not None for v in row)
        ] if last_row else []
        rows_used = [r for r, _ in cells] + ([first_row, last_row] if last_row else [])
        cols_used = [c for _, c in cells] + [c for pair in columns for c in pair]
        if not rows_used:
            return 1, 1, 1, 1
        return min(rows_used), min(cols_used), max(rows_used), max(cols_used)

    def is_text_format(self, row: int, column: int) -> bool:
        for top, left, bottom, right, code in reversed(self.formats):
            if top <= row <= bottom and left <= column <= right:
                return code == "@"
        return False

    @property
    def printed(self) -> bool:
        """Set up as our printed sheets are (OwnedSheet.printed): landscape, one page wide,
        the header row on every page."""
        setup = self.page_setup
        return (setup.get("Orientation") == LANDSCAPE and setup.get("FitToPagesWide") == 1
                and setup.get("PrintTitleRows") == "$1:$1")

    # -- protection ----------------------------------------------------------------------------

    def check_writable(self, top: int, left: int, bottom: int, right: int, formatting: bool = False) -> None:
        if not self.protected or self.protect_args.get("UserInterfaceOnly"):
            return
        if formatting and (self.allow_formatting or self.protect_args.get("AllowFormattingCells")):
            return
        is_unlocked = self.is_unlocked
        if not all(is_unlocked((r, c)) for r in range(top, bottom + 1) for c in range(left, right + 1)):
            raise SheetProtected(f"The cell or chart you're trying to change is on a protected sheet "
                                 f"({self.name}). To make a change, unprotect the sheet.")

    def is_unlocked(self, where: tuple[int, int]) -> bool:
        return where in self.unlocked or (where[1] in self.open_columns and where not in self.closed)

    def was_unlocked(self, where: tuple[int, int]) -> bool:
        """Whether the cell was unlocked in the file as loaded."""
        return where in self.loaded_unlocked or (where[1] in self.open_columns and where not in self.loaded_closed)

    def set_locked(self, cells: set[tuple[int, int]], locked: bool) -> None:
        if locked:
            self.unlocked -= cells
            self.closed |= {where for where in cells if where[1] in self.open_columns}
            self.locked_now |= cells
        else:
            self.unlocked |= cells
            self.closed -= cells
            self.locked_now -= cells

    def protect(self, **kwargs: Any) -> None:
        self.protected, self.protect_args = True, dict(kwargs)

    def unprotect(self) -> None:
        self.protected, self.protect_args = False, {}


# -- what Excel makes of a value it is given -------------------------------------------------

_NUMBER = re.compile(r"^\s*[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?(?:[eE][+-]?\d+)?\s*(%?)\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*$")
_SPECIAL_TEXT = re.compile(r"^['=+\-@.\d\s]|%\s*$|^(?:true|false)$", re.IGNORECASE)


def as_entered(value: Any, text_format: bool) -> Any:
    """A value as Excel stores it when code writes it to a cell (Range.Value = value).

    Text is parsed as if typed: a leading apostrophe means "text" and is not part of the value;
    text that reads as a number, a percentage, TRUE/FALSE or an ISO date becomes one (in a cell
    formatted "@" text stays text); a formula cannot be evaluated here and is refused.
    Locale dates such as 1/2/2024, which Excel would also turn into dates, stay text here.
    """
    if value.__class__ is not str:
        return value
    if not value:
        return None
    if text_format:
        return value[1:] if value[0] == "'" else value
    if not _SPECIAL_TEXT.search(value):
        return value
    if value[0] == "'":
        return value[1:]
    number = _NUMBER.match(value)
    if number and any(ch.isdigit() for ch in value):
        text = value.replace(",", "").replace("%", "").strip()
        return float(text) / (100 if number.group(1) else 1)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    date = _ISO_DATE.match(value)
    if date:
        parts = [int(p) for p in date.groups(default="0")]
        try:
            return dt.datetime(*parts)
        except ValueError:
            return value
    if value[0] in "=+-@":
        raise NotImplementedError(f"the headless engine does not evaluate formulas: {value!r} "
                                  "(write text behind an apostrophe)")
    return value


def as_excel_keeps(value: Any) -> Any:
    """A value loaded from the file as Excel's object model hands it out: numbers as floats,
    dates and times as datetimes, empty cells as None."""
    cls = value.__class__
    if cls is float or cls is str and value or cls is dt.datetime or cls is bool:
        return value
    if cls is str or value is None:
        return None
    if cls is int:
        return float(value)
    if cls is dt.date:
        return dt.datetime(value.year, value.month, value.day)
    if cls is dt.time:
        return dt.datetime.combine(_EXCEL_EPOCH.date(), value)
    if cls is dt.timedelta:
        return _EXCEL_EPOCH + value
    return value
