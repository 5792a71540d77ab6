"""The quickest path for a sync's IDs and Versions: the empty cells that start each row.

A sync that inserted a million rows writes each new row's ID and Version back: two million
numbers, each into an empty cell the export left at the start of its row
(`<row r="7"><c r="A7" s="1"/><c r="B7" s="1"/>...`). One regular expression split of a
slice of rows finds every row's number and those leading cells in one scan; when every
row of the slice has them and a number to write into each (the rule for new rows), the new
slice is put together by list operations that run in C, with no Python call per cell (the
substitution of xlsx_fill makes one per cell, and xlsx_sheet then reads the rows' numbers in
a scan of its own). Anything else (a row without those cells, a cell already filled, a value
not an integer) is handled row by row here, or left to xlsx_fill and the rewriter.

The cells written are exactly those the substitution of xlsx_fill writes (`<c r="A7" s="1">
<v>12</v></c>`) and the rewriter too: the pattern takes only cells whose style, if any, is
written as the rewriter writes it (no `s="0"`, no leading zero), with no other attribute,
and none wearing a style whose mark is being cleared, so whichever path a cell takes, it
comes out the same.
"""

from __future__ import annotations

import re
from array import array
from functools import lru_cache

from engine.office.xlsx_cells import column_number
from engine.office.xlsx_sheet_edits import SheetEdits

_CLOSE = b"/>"


@lru_cache(maxsize=64)
def _leading_cells(p: bytes, letters: tuple[bytes, ...], skipped_styles: tuple[int, ...]) -> re.Pattern[bytes]:
    """Every row start, and right after it the empty cells of the columns `letters` in that order.

    Split by it, a slice gives for each row: the text before, the row's start tag, its number
    (None for a row not written `<row r="7"`), and for each column the cell's start
    (`<c r="A7" s="1"`, None where the row does not start with those cells) and an empty slot
    where its `/>` was.
    """
    q = re.escape(p)
    style = rb'(?: s="[1-9][0-9]*")?'
    if skipped_styles:  # cells wearing a mark being cleared: the rewriter's
        numbers = b"|".join(b"%d" % number for number in skipped_styles)
        style = rb'(?: s="(?!(?:' + numbers + rb')")[1-9][0-9]*")?'
    cells = b"".join(rb'(<' + q + rb'c r="' + letter + rb'\2"' + style + rb")/>()" for letter in letters)
    return re.compile(rb"(<" + q + rb'row(?: r="([0-9]{1,7})"[^>]*>)?)(?:' + cells + rb")?")


@lru_cache(maxsize=64)
def _empty_cell_run(p: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<" + re.escape(p) + rb'c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="[1-9][0-9]*")?/>')


class LeadingCells:
    """The leading empty cells of a slice's rows and the integers to write there, found by
    one split; `write` puts the slice together with them (and marks them done)."""

    def __init__(self, parts: list, chosen: list, numbers: array, p: bytes):
        self.parts, self.chosen, self.numbers = parts, chosen, numbers
        self.step = 3 + 2 * len(chosen)  # text, row start, number, then a cell and a slot per column
        self.every_row = None not in parts[3 :: self.step]
        self.columns = {lane.number for _, (lane, _, _) in chosen}
        self._value_cell = b"><" + p + b"v>%d</" + p + b"v></" + p + b"c>"

    def _one_a_row(self, lane, at: int, end: int) -> bool:
        """Whether the column has a value to write in each row of the slice, none done."""
        return lane.rows[at:end] == self.numbers and lane.done.find(1, at, end) < 0

    @property
    def complete(self) -> bool:
        """Whether every value to write into the chosen columns goes in here."""
        return self.every_row and all(self._one_a_row(lane, at, end) for _, (lane, at, end) in self.chosen)

    def write(self) -> bytes:
        parts, step, value_cell = self.parts, self.step, self._value_cell
        missing = [] if self.every_row else _indexes_of_none(parts[3::step])  # rows without the cells
        for index, (_, (lane, at, end)) in enumerate(self.chosen):
            slot = 4 + 2 * index
            if self._one_a_row(lane, at, end):
                slots = list(map(value_cell.__mod__, lane.values[at:end]))  # in C
                lane.done[at:end] = b"\x01" * (end - at)
                for row in missing:  # no cell to write into: left to the rewriter
                    slots[row] = b""
                    lane.done[at + row] = 0
                parts[slot::step] = slots
            else:
                parts[slot::step] = _row_by_row(parts[slot - 1 :: step], self.numbers, lane, at, end, value_cell)
        if missing:
            for index in range(len(self.chosen)):
                parts[3 + 2 * index :: step] = [cell or b"" for cell in parts[3 + 2 * index :: step]]
        parts[2::step] = [b""] * len(self.numbers)  # the number is in the row's start tag already
        return b"".join(parts)


def _indexes_of_none(items: list) -> list[int]:
    found, at = [], -1
    try:
        while True:
            at = items.index(None, at + 1)
            found.append(at)
    except ValueError:
        return found


def leading_cells(rows: bytes, p: bytes, edits: SheetEdits, first: int, last: int,
                  marked: set[int] = frozenset()) -> LeadingCells | None:
    """The integers to write into the empty cells that start the rows first..last of a slice;
    None when there are none, or not every row start is written `<row r="7"` (then the slice
    is left to xlsx_fill and the rewriter)."""
    lanes = edits.integer_lanes(first, last)
    if not lanes:
        return None
    chosen = _lanes_in_row_order(rows, p, lanes)
    if not chosen:
        return None
    letters = tuple(letter for letter, _ in chosen)
    parts = _leading_cells(p, letters, tuple(sorted(marked))).split(rows)
    digits = parts[2 :: 3 + 2 * len(chosen)]
    if None in digits:
        return None
    return LeadingCells(parts, chosen, array("l", map(int, digits)), p)


def _row_by_row(cells: list, numbers: array, lane, at: int, end: int, value_cell: bytes) -> list[bytes]:
    """The slots of one column where not every row has a value or the cell: `/>` kept
    where there is nothing to write, the value where there is."""
    slots = [b"" if cell is None else _CLOSE for cell in cells]
    index_of = dict(zip(numbers, range(len(numbers)), strict=True))
    rows, values, done = lane.rows, lane.values, lane.done
    for k in range(at, end):
        if done[k]:
            continue
        index = index_of.get(rows[k])
        if index is not None and cells[index] is not None:
            slots[index] = value_cell % values[k]
            done[k] = 1
    return slots


def _lanes_in_row_order(rows: bytes, p: bytes, lanes: dict) -> list[tuple[bytes, tuple]]:
    """The columns with integers to write that start a row, as the row holds them: read in
    the first row with a value to write, or else in the last."""
    first = min(lane.rows[at] for lane, at, _ in lanes.values())
    last = max(lane.rows[end - 1] for lane, _, end in lanes.values())
    return _leading_lanes(rows, p, lanes, first) or _leading_lanes(rows, p, lanes, last)


def _leading_lanes(rows: bytes, p: bytes, lanes: dict, number: int) -> list[tuple[bytes, tuple]]:
    start = rows.find(b"<" + p + b'row r="%d"' % number)
    if start < 0:
        return []
    start = rows.find(b">", start) + 1
    if start == 0 or rows[start - 2] == 47:  # a row `<row .../>` has no cells
        return []
    chosen, run = [], _empty_cell_run(p)
    while (cell := run.match(rows, start)) is not None and int(cell.group(2)) == number:
        lane = lanes.get(column_number(cell.group(1).decode()))
        if lane is None:
            break
        chosen.append((cell.group(1), lane))
        start = cell.end()
    return chosen
