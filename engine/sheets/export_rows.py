"""The rows of an exported sheet, made a run of records at a time (see engine.sheets.export).

A sheet's records arrive in runs (`Records`, a few thousand at a time from the database),
column by column; each run becomes the `<row>` elements of its rows (engine.office.xlsx_rows)
deflated into a temporary file, and the lines of the base snapshot (engine.sheets.base_rows),
and is let go. So a million-record sheet is written in seconds, never held whole: not as
cells, not as dicts of values. What goes into a cell, with which format, is decided here as
the export always decided it: ID and Version locked in grey, each column in its format, the
cells of a row the module no longer lets change locked, labelled columns showing the label
of the record they name, and rows for new records (offered ones, then spare ones) with empty
ID, Version and computed cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from engine.errors import BackofficeError
from engine.office.xlsx_row_text import (
    BLANK,
    MAX_ROWS,
    Cells,
    column_cells,
    column_letter,
    rows_xml,
)
from engine.office.xlsx_splice import DeflatedRows
from engine.sheets.base_rows import BaseRows
from engine.sheets.spec import Column, SheetSpec
from engine.sheets.values import canonical_column

RUN = 10_000   # rows turned into XML at a time (new rows and drop-down lists; records come in runs)


@dataclass
class Records:
    """A run of a sheet's records, column by column: their ids, their versions, and their
    values by column key (stored and computed; a key missing holds None for every record)."""

    ids: Sequence[int]
    versions: Sequence[int]
    values: Mapping[str, Sequence[Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, key: str) -> Sequence[Any]:
        found = self.values.get(key)
        return [None] * len(self.ids) if found is None else found


class StyleIndex:
    """The ` s="N"` attribute of a cell in a given format: the xf index xlsxwriter gives
    that format, asked for now, so the cells made here name the formats its styles hold."""

    def __init__(self) -> None:
        self._known: dict[int, str] = {}

    def __call__(self, cell_format: Any) -> str:
        found = self._known.get(id(cell_format))
        if found is None:
            found = self._known[id(cell_format)] = f' s="{cell_format._get_xf_index()}"'
        return found


@dataclass
class SheetRows:
    """What writing a sheet's rows gave: its base snapshot's rows, the records written and
    the last row of its Table (zero-based, as xlsxwriter counts)."""

    base: BaseRows
    records: int
    last_row: int


def write_sheet_rows(out: DeflatedRows, styles: Any, spec: SheetSpec, columns: Sequence[Column],
                     runs: Iterable[Records], new_rows: Sequence[Mapping[str, Any]], spare_rows: int,
                     shows: Mapping[str, Callable[[Any], Any]]) -> SheetRows:
    """Write the rows under the header of one data sheet into `out`: the records of `runs`,
    then `new_rows` (offered for filling in), then spare rows; `styles` is the export's
    engine.sheets.export._Styles, `shows` the label of a record per labelled column."""
    layout = _Layout(styles, spec, columns)
    base = BaseRows()
    stored = [c.key for c in columns if not c.computed]
    written = 0
    for run in runs:
        count = len(run)
        if not count:
            continue
        if written + count >= MAX_ROWS:    # row 0 is the header: rows 1 to 1,048,575 are left
            raise _too_many(spec, written + count + len(new_rows))
        first = written + 1
        rows = [str(r) for r in range(first + 1, first + count + 1)]
        out.write(rows_xml(rows, layout.record_cells(rows, run, shows)), first + count)
        values = [canonical_column(run.column(key)) for key in stored]
        base.add_many(run.ids, run.versions, zip(*values, strict=True) if values else repeat((), count))
        written += count
    if written + len(new_rows) >= MAX_ROWS:
        raise _too_many(spec, written + len(new_rows))
    last_row = max(written + len(new_rows) + spare_rows, 1)    # a Table needs a data row
    last_row = min(last_row, MAX_ROWS - 1)                    # spare rows end at Excel's last row
    for start in range(written + 1, last_row + 1, RUN):
        end = min(start + RUN, last_row + 1)
        offered = [new_rows[r - written - 1] if r - written - 1 < len(new_rows) else {} for r in range(start, end)]
        rows = [str(r + 1) for r in range(start, end)]
        out.write(rows_xml(rows, layout.new_row_cells(rows, offered, shows)), end)
    return SheetRows(base, written, last_row)


def _too_many(spec: SheetSpec, rows: int) -> BackofficeError:
    return BackofficeError(f"the {spec.name} sheet would hold {rows:,} rows or more, and an Excel sheet holds at most "
                           f"{MAX_ROWS - 1:,} under its header; export fewer records (a workbook per year or "
                           "per team), or archive old ones")


class _Layout:
    """A sheet's columns and their formats, for making its rows."""

    def __init__(self, styles: Any, spec: SheetSpec, columns: Sequence[Column]):
        self.styles, self.spec, self.columns = styles, spec, list(columns)
        style = StyleIndex()
        self.style = style
        self.locked = style(styles.locked)
        self.deletable = spec.can_delete and any(c.editable for c in columns)
        self.letters = [column_letter(n) for n in range(len(self.columns) + 2 + self.deletable)]
        self.shown_keys = frozenset(c.key for c in self.columns)
        # Without `settled`, the columns a saved row locks are the same for every row.
        self.same_locks = spec.locked_keys({}) if spec.settled is None else None

    def _locks(self, run: Records) -> list[frozenset[str]]:
        if self.same_locks is not None:
            return [self.same_locks] * len(run)
        keys = list(run.values)
        return [self.spec.locked_keys(dict(zip(keys, values, strict=True)))
                for values in zip(*(run.values[k] for k in keys), strict=True)]

    def record_cells(self, rows: list[str], run: Records, shows: Mapping[str, Callable[[Any], Any]]) -> list[Cells]:
        locks = self._locks(run)
        cells = [column_cells(self.letters[0], rows, run.ids, self.locked),
                 column_cells(self.letters[1], rows, run.versions, self.locked)]
        for n, column in enumerate(self.columns, start=2):
            values = run.column(column.key)
            if column.key in shows:
                values = list(map(shows[column.key], values))
            cells.append(column_cells(self.letters[n], rows, values, self._styles_of(column, locks)))
        if self.deletable:   # a row whose every cell is locked cannot be deleted either: its Delete cell is locked
            cells.append(column_cells(self.letters[-1], rows,
                                      [BLANK if lock >= self.shown_keys else None for lock in locks], self.locked))
        return cells

    def _styles_of(self, column: Column, locks: list[frozenset[str]]) -> str | list[str]:
        if self.same_locks is not None:
            return self.style(self.styles.for_column(column, column.key in self.same_locks))
        open_, closed = (self.style(self.styles.for_column(column, posted)) for posted in (False, True))
        return [closed if column.key in lock else open_ for lock in locks]

    def new_row_cells(self, rows: list[str], offered: list[Mapping[str, Any]],
                      shows: Mapping[str, Callable[[Any], Any]]) -> list[Cells]:
        """Rows for new records: empty ID, Version and computed cells (a sync fills them in
        place), and the values offered for filling in."""
        empty = [BLANK] * len(rows)
        cells = [column_cells(self.letters[0], rows, empty, self.locked),
                 column_cells(self.letters[1], rows, empty, self.locked)]
        for n, column in enumerate(self.columns, start=2):
            values = [row.get(column.key) for row in offered]
            if column.key in shows:
                values = list(map(shows[column.key], values))
            if column.computed:
                values = [BLANK if v is None else v for v in values]
            cells.append(column_cells(self.letters[n], rows, values, self.style(self.styles.for_column(column))))
        if self.deletable:
            cells.append(Cells("%s", ([""] * len(rows),)))
        return cells


def write_list_rows(out: DeflatedRows, columns: Sequence[Sequence[Any]]) -> None:
    """The values of the drop-down lists under their names, one list per column (no format);
    a list longer than a sheet's rows is cut at Excel's last row (the file keeps every label
    it shows for reading them back, see WorkbookMeta.labels)."""
    longest = min(max(map(len, columns), default=0), MAX_ROWS - 1)
    letters = [column_letter(n) for n in range(len(columns))]
    for start in range(0, longest, RUN):
        end = min(start + RUN, longest)
        rows = [str(r + 2) for r in range(start, end)]
        cells = [column_cells(letter, rows, _padded(values[start:end], end - start), "")
                 for letter, values in zip(letters, columns, strict=True)]
        out.write(rows_xml(rows, cells), end + 1)


def _padded(values: Sequence[Any], length: int) -> list[Any]:
    return [*values, *([None] * (length - len(values)))]


def write_text_rows(out: DeflatedRows, rows: Sequence[Sequence[str]], first_row: int) -> None:
    """Rows of texts (no format) from row `first_row` (1-based) on: the `_backoffice` sheet's."""
    width = max(map(len, rows), default=0)
    letters = [column_letter(n) for n in range(width)]
    for start in range(0, len(rows), RUN):
        run = rows[start:start + RUN]
        numbers = [str(first_row + start + n) for n in range(len(run))]
        cells = [column_cells(letter, numbers, [row[c] if c < len(row) else None for row in run], "")
                 for c, letter in enumerate(letters)]
        out.write(rows_xml(numbers, cells), first_row + start + len(run) - 1)
