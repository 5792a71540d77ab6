"""The cells a patch writes into one sheet, kept compactly: a sync writes two million of them.

A sync that inserts a million rows writes each new row's ID and Version back: two million
cell patches holding nothing but a value. As a dict of CellPatch objects that is some 250
bytes a cell (500 MB); `CellPatches` keeps such value-only patches per column as an array of
rows and an array (or list) of values, some 16 bytes a cell, and materialises a CellPatch
only for the few with a mark, a note or a lock, or when one is looked up with `get` (so that
`cells.get(key).lock = True` sticks: the looked-up patch is kept from then on).

It is a mapping like the dict it replaces (`cells[key] = patch`, `get`, `in`, `items()`,
`len`); keys are (row, column) tuples or "C7" texts. `items()` hands out value-only patches
as new objects: change a patch through `get` or by storing it again.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from engine.office.xlsx_cell_edits import UNCHANGED

_INT64 = (-(1 << 63), (1 << 63) - 1)


@dataclass(slots=True)  # the ones with a mark, note or lock, and those looked up
class CellPatch:
    value: Any = UNCHANGED  # None empties the cell; str, int, float, Decimal, bool, date, datetime
    mark: str | None | object = UNCHANGED  # "problem" | "changed" | None (remove our mark)
    note: str | None | object = UNCHANGED  # our note; None removes our note
    lock: bool = False  # lock the cell (a row now posted); its value and marks as asked


class Column:
    """The value-only patches of one column: rows ascending once settled, one entry a row.

    `gone[i]` is 1 for an entry replaced since (by a patch kept whole, or deleted).
    """

    __slots__ = ("gone", "ordered", "rows", "values")

    def __init__(self) -> None:
        self.rows = array("l")
        self.values: array | list = array("q")  # integers as long as every value is one
        self.gone = bytearray()
        self.ordered = True  # rows strictly ascending, no row twice

    def add(self, row: int, value: Any) -> None:
        rows = self.rows
        if rows and row <= rows[-1]:
            if row == rows[-1]:  # the same cell again: the new value replaces the last one
                self._put(len(rows) - 1, value)
                self.gone[-1] = 0
                return
            self.ordered = False
        rows.append(row)
        self.gone.append(0)
        values = self.values
        if values.__class__ is array:
            if value.__class__ is int:
                try:
                    values.append(value)
                    return
                except OverflowError:  # beyond 64 bits
                    pass
            values = self.values = list(values)
        values.append(value)

    def _put(self, index: int, value: Any) -> None:
        if self.values.__class__ is array and not (
            value.__class__ is int and _INT64[0] <= value <= _INT64[1]
        ):
            self.values = list(self.values)
        self.values[index] = value

    def settle(self) -> None:
        """Sort by row, keeping the last patch given for a row."""
        if self.ordered:
            return
        rows, values, gone = self.rows, self.values, self.gone
        order = sorted(range(len(rows)), key=rows.__getitem__)  # stable: later ones last
        kept = [i for n, i in enumerate(order) if n + 1 == len(order) or rows[order[n + 1]] != rows[i]]
        self.rows = array("l", (rows[i] for i in kept))
        new_values = [values[i] for i in kept]
        self.values = array("q", new_values) if values.__class__ is array else new_values
        self.gone = bytearray(gone[i] for i in kept)
        self.ordered = True

    def find(self, row: int) -> int:
        """Index of the live entry for `row`, or -1 (settled columns only)."""
        at = bisect_left(self.rows, row)
        if at < len(self.rows) and self.rows[at] == row and not self.gone[at]:
            return at
        return -1

    def live(self) -> int:
        return len(self.rows) - self.gone.count(1)


class CellPatches(MutableMapping):
    """(row, column) or "C7" -> CellPatch; value-only patches kept as rows and values."""

    def __init__(self, cells: Any = None):
        self.columns: dict[int, Column] = {}
        self.whole: dict[Any, CellPatch] = {}  # patches kept as objects (marks, notes, locks)
        self._shadowed: set[tuple[int, int]] = set()  # whole patches that may hide a column entry
        if cells:
            self.update(cells)

    @staticmethod
    def _cell_key(key: Any) -> bool:
        return (key.__class__ is tuple and len(key) == 2
                and key[0].__class__ is int and key[1].__class__ is int)

    def __setitem__(self, key: Any, cell: CellPatch) -> None:
        if (cell.__class__ is CellPatch and cell.mark is UNCHANGED and cell.note is UNCHANGED
                and not cell.lock and cell.value is not UNCHANGED and key.__class__ is tuple
                and len(key) == 2 and key[0].__class__ is int and key[1].__class__ is int):
            self.add_value(key[0], key[1], cell.value)
            return
        self.whole[key] = cell
        if self._cell_key(key) and key[1] in self.columns:
            self._shadowed.add(key)

    def add_value(self, row: int, column: int, value: Any) -> None:
        """`cells[(row, column)] = CellPatch(value)`, without making the CellPatch: a sync
        writes two million of them. `row` and `column` are ints, counted from 1."""
        if value is UNCHANGED or row.__class__ is not int or column.__class__ is not int:
            self[(row, column)] = CellPatch(value)
            return
        if self.whole:
            self.whole.pop((row, column), None)
        lane = self.columns.get(column)
        if lane is None:
            lane = self.columns[column] = Column()
        rows = lane.rows
        if rows and row <= rows[-1] or value.__class__ is not int or lane.values.__class__ is not array:
            lane.add(row, value)
            return
        try:  # the usual case, inlined: an integer for a row below the column's last one
            lane.values.append(value)
        except OverflowError:
            lane.add(row, value)
            return
        rows.append(row)
        lane.gone.append(0)

    def add_values(self, row: int, values: Mapping[int, Any]) -> None:
        """`add_value` for each column -> value of one row (a new row's ID and Version)."""
        for column, value in values.items():
            self.add_value(row, column, value)

    def _column_entry(self, key: Any) -> tuple[Column, int] | None:
        if not self._cell_key(key):
            return None
        column = self.columns.get(key[1])
        if column is None:
            return None
        column.settle()
        at = column.find(key[0])
        return (column, at) if at >= 0 else None

    def __getitem__(self, key: Any) -> CellPatch:
        cell = self.whole.get(key)
        if cell is not None:
            return cell
        found = self._column_entry(key)
        if found is None:
            raise KeyError(key)
        column, at = found
        cell = CellPatch(column.values[at])
        column.gone[at] = 1  # kept whole from now on: a change to it must stick
        self.whole[key] = cell
        return cell

    def __contains__(self, key: object) -> bool:
        return key in self.whole or self._column_entry(key) is not None

    def __delitem__(self, key: Any) -> None:
        found = self._column_entry(key)
        if found is not None:
            found[0].gone[found[1]] = 1
        if self.whole.pop(key, None) is None and found is None:
            raise KeyError(key)

    def settle(self) -> None:
        """Columns sorted, and entries hidden by a whole patch of the same cell marked gone."""
        for column in self.columns.values():
            column.settle()
        for key in self._shadowed:
            if key in self.whole:
                column = self.columns.get(key[1])
                at = column.find(key[0]) if column is not None else -1
                if at >= 0:
                    column.gone[at] = 1
        self._shadowed.clear()

    def __len__(self) -> int:
        self.settle()
        return sum(column.live() for column in self.columns.values()) + len(self.whole)

    def __bool__(self) -> bool:
        return bool(self.whole) or any(column.live() for column in self.columns.values())

    def __iter__(self) -> Iterator[Any]:
        for key, _ in self._pairs(False):
            yield key

    def items(self) -> Iterator[tuple[Any, CellPatch]]:  # type: ignore[override]
        """(key, patch) pairs; value-only patches as new objects, column by column."""
        return self._pairs(True)

    def values(self) -> Iterator[CellPatch]:  # type: ignore[override]
        return (cell for _, cell in self._pairs(True))

    def _pairs(self, with_cells: bool) -> Iterator[tuple[Any, CellPatch | None]]:
        self.settle()
        for number, column in list(self.columns.items()):
            rows, values, gone = column.rows, column.values, column.gone
            for at in range(len(rows)):
                if not gone[at]:
                    yield (rows[at], number), (CellPatch(values[at]) if with_cells else None)
        yield from list(self.whole.items())

    def __repr__(self) -> str:
        return f"CellPatches({len(self)} cells)"
