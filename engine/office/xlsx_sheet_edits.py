"""The edits of one sheet handed to the rewriter row by row, in sheet order, from the patches.

The rewriter streams the sheet's rows; for each slice of rows it takes the edits of those rows
(`take`), never a dict of every cell. Value-only patches stay in their columns (see
xlsx_cell_store) and become a CellEdit only for the slice being written; the fill pass
(xlsx_fill.fill_empty_cells) writes most of them straight into empty cells and marks them
`done`, so they are never materialised at all.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from decimal import Decimal
from typing import Any

from engine.office.xlsx_cell_edits import UNCHANGED, CellEdit
from engine.office.xlsx_cell_store import CellPatch, CellPatches, Column
from engine.office.xlsx_cells import column_letters, parse_ref

PLAIN = (int, str, Decimal)  # exactly these classes (bool and dates need styles: the general path)


class _Lane:
    """One column's value-only edits with the rewriter's and the fill pass's places in it."""

    __slots__ = ("done", "filled_at", "gone", "number", "rows", "taken_at", "values")

    def __init__(self, number: int, column: Column):
        self.number, self.rows, self.values = number, column.rows, column.values
        self.gone = column.gone  # replaced before the patch was handed over
        self.done = bytearray(column.gone)  # 1: not to be written by the rewriter
        self.taken_at = self.filled_at = 0


class SheetEdits:
    """(row, column) -> CellEdit for one sheet, as patched; read in ascending rows."""

    def __init__(self, cells: Any, clear: bool):
        if not isinstance(cells, CellPatches):  # a plain dict (tests, the live book): same shape
            store = CellPatches()
            for key, cell in cells.items():
                store[key if key.__class__ is tuple else parse_ref(key)] = cell
            cells = store
        cells.settle()
        self.clear = clear
        self.lanes = {number: _Lane(number, column) for number, column in cells.columns.items()
                      if column.live()}
        # whole patches by (row, column): marks, notes, locks; the caller reads those first
        self.patches: dict[tuple[int, int], CellPatch] = {}
        for key, cell in cells.whole.items():
            where = key if key.__class__ is tuple else parse_ref(key)
            self.patches[where] = cell
            lane = self.lanes.get(where[1])
            at = bisect_left(lane.rows, where[0]) if lane else -1
            if lane and at < len(lane.rows) and lane.rows[at] == where[0]:
                lane.done[at] = 1  # "C7" and (7, 3) both given: the whole patch counts
        self._whole: dict[tuple[int, int], CellEdit] = {}
        self._whole_rows: list[tuple[int, int]] = []  # their cells in sheet order (`ready`)
        self._whole_order: dict[tuple[int, int], int] = {}  # cell -> place in the order given
        self._whole_at = 0
        self._extra: dict[int, dict[int, CellEdit]] = {}

    def add_whole(self, where: tuple[int, int], edit: CellEdit) -> None:
        """An edit from a whole patch (a mark, a lock, a value; the caller decides which)."""
        self._whole[where] = edit

    def ready(self) -> None:
        self._whole_rows = sorted(self._whole)
        self._whole_order = {key: index for index, key in enumerate(self._whole)}

    # -- what the whole sheet's edits are ---------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self._whole) or any(lane.done.count(0) for lane in self.lanes.values())

    @property
    def columns(self) -> set[int]:
        return {lane.number for lane in self.lanes.values() if lane.done.count(0)} | {
            column for _, column in self._whole}

    def plain_at_least(self, count: int) -> bool:
        """Whether at least `count` edits are plain values the fill pass may write."""
        found = sum(1 for edit in self._whole.values() if _is_plain(edit))
        for lane in self.lanes.values():
            if found >= count:
                break
            if lane.values.__class__ is not list:
                found += lane.done.count(0)
                continue
            for at, value in enumerate(lane.values):
                found += value.__class__ in PLAIN and not lane.done[at]
                if found >= count:
                    break
        return found >= count

    def reach_outside(self, bottom: int, right: int) -> tuple[int, int]:
        """(last row, last column) of the cells edits create below or right of the given corner.

        (0, 0) when none. Counted whether or not a cell already stands there (then the sheet's
        declared dimension was short of it anyway).
        """
        rows, columns = 0, 0
        for lane in self.lanes.values():
            last = lane.done.rfind(0)
            if last < 0:
                continue
            if lane.number > right:
                rows, columns = max(rows, lane.rows[last]), max(columns, lane.number)
            elif lane.rows[last] > bottom:
                rows = max(rows, lane.rows[last])
        for (row, column), edit in self._whole.items():
            if edit.creates_cell and (row > bottom or column > right):
                rows, columns = max(rows, row), max(columns, column)
        return rows, columns

    def written_in(self, top: int, left: int, bottom: int, right: int) -> bool:
        """Whether a value is written into any cell of the range."""
        for lane in self.lanes.values():
            if left <= lane.number <= right:
                at, end = bisect_left(lane.rows, top), bisect_right(lane.rows, bottom)
                if lane.gone.find(0, at, end) >= 0:  # filled ones count too: they are written
                    return True
        return any(top <= row <= bottom and left <= column <= right and edit.value is not UNCHANGED
                   for (row, column), edit in self._whole.items())

    # -- the fill pass ------------------------------------------------------------------------

    def integer_lanes(self, first: int, last: int) -> dict[int, tuple[_Lane, int, int]]:
        """Column -> (lane, at, end): the columns with values still to write in rows
        first..last (entries at:end), every one of them an integer (xlsx_leading_cells)."""
        found = {}
        for number, lane in self.lanes.items():
            rows, values = lane.rows, lane.values
            at = bisect_left(rows, first, lane.filled_at)
            end = bisect_right(rows, last, at)
            if at == end or lane.done.find(0, at, end) < 0:
                continue
            if values.__class__ is list and not all(value.__class__ is int for value in values[at:end]):
                continue
            found[number] = (lane, at, end)
        return found

    def left_to_fill(self, first: int, last: int, skip: set[int] = frozenset()) -> bool:
        """Whether any plain value is to write in rows first..last (by xlsx_fill), but in
        the columns `skip` (of value-only patches)."""
        return bool(self.rows_left_to_fill(first, last, skip, enough=1))

    def rows_left_to_fill(self, first: int, last: int, skip: set[int] = frozenset(),
                          enough: int = 1 << 62) -> list[int]:
        """The rows first..last with a plain value to write (by xlsx_fill), ascending, but
        those of value-only patches in the columns `skip`; more than `enough`: some of them."""
        found: set[int] = set()
        for lane in self.lanes.values():
            if lane.number in skip:
                continue
            rows, values, done = lane.rows, lane.values, lane.done
            at = bisect_left(rows, first)  # (not from filled_at: the slice's fillable may be taken)
            end = bisect_right(rows, last, at)
            at = done.find(0, at, end)
            while at >= 0 and len(found) <= enough:
                if values.__class__ is not list or values[at].__class__ in PLAIN:
                    found.add(rows[at])
                at = done.find(0, at + 1, end)
        found.update(row for row, column in self._whole_between(first, last) if _is_plain(self._whole[(row, column)]))
        return sorted(found)

    def _whole_between(self, first: int, last: int) -> list[tuple[int, int]]:
        """The cells of whole edits still to write in rows first..last, in the order given."""
        keys = self._whole_rows
        at, end = bisect_left(keys, (first, 0)), bisect_left(keys, (last + 1, 0))
        found = [key for key in keys[at:end] if key in self._whole]
        return sorted(found, key=self._whole_order.__getitem__) if len(found) > 1 else found

    def fillable(self, first: int, last: int) -> Fillable:
        """The plain values to write in rows first..last, by column letters and row.

        The fill pass pops those it writes; `filled` then marks them done. Called for
        ascending, separate ranges of rows (the fill pass goes through the sheet once).
        """
        table: dict[bytes, dict[int, Any]] = {}
        taken: list[tuple[_Lane, int, int, dict[int, Any], bool]] = []
        for lane in self.lanes.values():
            rows, values, done = lane.rows, lane.values, lane.done
            at = bisect_left(rows, first, lane.filled_at)
            end = bisect_right(rows, last, at)
            lane.filled_at = end
            if at == end:
                continue
            whole = values.__class__ is not list and done.find(1, at, end) < 0
            if whole:  # integers, none done: the common case, built without a Python loop
                values_of = dict(zip(rows[at:end], values[at:end], strict=True))
            else:
                values_of = {rows[i]: values[i] for i in range(at, end)
                             if not done[i] and values[i].__class__ in PLAIN}
            table[column_letters(lane.number).encode()] = values_of
            taken.append((lane, at, end, values_of, whole))
        from_whole = []
        for row, column in self._whole_between(first, last):
            edit = self._whole[(row, column)]
            if _is_plain(edit):
                table.setdefault(column_letters(column).encode(), {})[row] = edit.value
                from_whole.append((row, column))
        return Fillable(table, taken, from_whole, self)

    # -- the rewriter -------------------------------------------------------------------------
    # -- the rewriter -------------------------------------------------------------------------

    def add_extra(self, row: int, column: int) -> CellEdit:
        """An edit the rewriter adds (an array formula to drop) for a row still to come."""
        return self._extra.setdefault(row, {}).setdefault(column, CellEdit())

    def take(self, upto: int | None) -> dict[int, dict[int, CellEdit]]:
        """The edits of rows up to `upto` (None: all) not taken yet and not done, by row."""
        by_row: dict[int, dict[int, CellEdit]] = {}
        clear = self.clear
        for lane in self.lanes.values():
            rows, values, done, number = lane.rows, lane.values, lane.done, lane.number
            end = len(rows) if upto is None else bisect_right(rows, upto, lane.taken_at)
            at = done.find(0, lane.taken_at, end)
            while at >= 0:
                row = by_row.get(rows[at])
                if row is None:
                    row = by_row[rows[at]] = {}
                row[number] = CellEdit(values[at], UNCHANGED, clear)
                at = done.find(0, at + 1, end)
            lane.taken_at = end
        keys, at = self._whole_rows, self._whole_at
        while at < len(keys) and (upto is None or keys[at][0] <= upto):
            edit = self._whole.get(keys[at])
            if edit is not None:  # else written by the fill pass
                by_row.setdefault(keys[at][0], {})[keys[at][1]] = edit
            at += 1
        self._whole_at = at
        if self._extra:
            for row in [row for row in self._extra if upto is None or row <= upto]:
                for column, edit in self._extra.pop(row).items():
                    existing = by_row.setdefault(row, {}).get(column)
                    if existing is None:
                        by_row[row][column] = edit
                    else:
                        existing.drop_formula = existing.value is UNCHANGED
        return by_row


class Fillable:
    """The fill pass's share of one slice of rows (see SheetEdits.fillable)."""

    def __init__(self, table: dict[bytes, dict[int, Any]], taken: list, from_whole: list,
                 edits: SheetEdits):
        self.table, self._taken, self._from_whole, self._edits = table, taken, from_whole, edits

    def sample(self, size: int = 8) -> list[tuple[int, bytes]]:
        """Up to `size` (row, column letters) spread over the values to write."""
        found = []
        for letters, values in self.table.items():
            rows = list(values)
            found += [(row, letters) for row in rows[:: max(1, len(rows) // size)]]
        found.sort()
        return found[:: max(1, len(found) // size)][:size]

    def filled(self) -> None:
        """Mark done the values written (popped from the table)."""
        for lane, at, end, values_of, whole in self._taken:
            if whole and not values_of:
                lane.done[at:end] = b"\x01" * (end - at)
                continue
            rows, values, done = lane.rows, lane.values, lane.done
            for i in range(at, end):
                if not done[i] and values[i].__class__ in PLAIN and rows[i] not in values_of:
                    done[i] = 1
        for row, column in self._from_whole:
            if row not in self.table.get(column_letters(column).encode(), {}):
                del self._edits._whole[(row, column)]


def _is_plain(edit: CellEdit) -> bool:
    """A value the fill pass may write: no mark, no lock. A clear edit (clear_marks) is one
    too: the pass leaves cells wearing our mark to the rewriter, and on any other cell
    clearing our mark changes nothing."""
    return edit.value.__class__ in PLAIN and edit.mark is UNCHANGED and not edit.lock
