"""The rows of a chunk of sheet XML (whole <row> elements) of regular cells, at C speed.

Why: a sheet written by Excel, LibreOffice, openpyxl, xlsxwriter or our own patcher has
cells of a few regular shapes (`<c r="B7" s="2" t="s"><v>41</v></c>`). `fast_rows` cuts a
chunk of them into fields with one regular expression and turns the values into Python
values a batch at a time (engine.office.xlsx_values): a million-row sheet in seconds, where a
Python step per cell would take a minute. It checks that its expression met every cell of
the chunk, and gives up (None) on anything else, for engine.office.xlsx_row_cells'
`general_rows`. Both give the values python-calamine gives.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, islice, repeat
from operator import mul, ne, not_
from typing import Any

from engine.office.xlsx_cells import MAX_COLUMN
from engine.office.xlsx_dates import attributes
from engine.office.xlsx_row_cells import COLUMN, Cursor, Rows, row_of
from engine.office.xlsx_values import (
    EMPTY,
    EMPTY_IS_VALUE,
    ERROR,
    INLINE,
    INLINE_KEPT,
    INLINE_TEXT,
    BadCell,
    Converter,
    ValueKinds,
)

_PAD = [""]


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    """The fast path's cell expressions for one namespace prefix: values only; values after
    a formula; values or inline strings (an optional part doubles a pattern's time, so the
    simplest that fits a chunk is used)."""
    c, v, f, i, t = (re.escape(prefix + name) for name in (b"c", b"v", b"f", b"is", b"t"))
    head = rb"<" + c + rb' r="([A-Z]{1,3})([0-9]{1,7})"([^>/]*)(?:/>|>'
    value = rb"(?:<" + v + rb">([^<]*)</" + v + rb">)?"
    formula = rb"(?:<" + f + rb"(?:\s[^>]*)?(?:/>|>[^<]*</" + f + rb">))?"
    inline = (rb"(?:<" + v + rb">([^<]*)</" + v + rb">|<" + i + rb"><" + t + rb">([^<]*)</" + t + rb"></" + i + rb">"
              rb"|<" + i + rb"><" + t + rb' xml:space="preserve">([^<]*)</' + t + rb"></" + i + rb">)?")
    tail = rb"</" + c + rb">)"
    return (re.compile(head + value + tail), re.compile(head + formula + value + tail),
            re.compile(head + formula + inline + tail))


def fast_rows(body: bytes, prefix: bytes, kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows | None:
    """The rows of `body` if all its cells are of the regular shapes, else None. Sets
    `cursor.special` when the chunk may hold special cells (an error, a formula).

    `split` rather than `findall`: its flat list is cut into the fields by slicing, without a
    tuple per cell, and what lies between the matched cells is there to check that no cell
    was missed (a cell the expression does not fit leaves its `<c` or `<x:c` in it).
    """
    plain, after_formula, with_inline = _patterns(prefix)
    parts = plain.split(body)
    between = b"".join(parts[::5])
    inline = False
    if b"<c" in between or b":c" in between:
        inline = b"<" + prefix + b"is>" in between
        parts = (with_inline if inline else after_formula).split(body)
        between = b"".join(parts[::7 if inline else 5])
        if b"<c" in between or b":c" in between:
            return None
        cursor.special = True  # formulas (the plain expression has none)
    else:
        cursor.special = b"<" + prefix + b"f" in between
    if inline:
        letters, digits, attrs, raw, plain_text, kept_text = (parts[n::7] for n in range(1, 7))
        texts = list(map(bool, plain_text))
        kept = list(map(bool, kept_text))
        if sum(texts) + sum(kept) != body.count(b"<" + prefix + b"is>"):
            return None  # an empty inline string: '' or nothing, the expression cannot tell
        kind = list(map(_inline_kind, map(kinds.__getitem__, attrs), texts, kept))
        raw = list(map(_present, raw, plain_text, kept_text))
        rows = _by_kind(letters, digits, kind, raw, convert, cursor)
    else:
        letters, digits, attrs, raw = (parts[n::5] for n in range(1, 5))
        rows = _by_column(letters, digits, attrs, raw, kinds, convert, cursor)
        if rows is None:
            kind = list(map(kinds.__getitem__, attrs))
            if INLINE in kind:  # calamine ignores the <v> of an inline string cell
                kind = [EMPTY if k == INLINE else k for k in kind]
            rows = _by_kind(letters, digits, kind, raw, convert, cursor)
    if rows is None:
        return None
    last = body.rfind(b"<" + prefix + b"row")  # for a cell without r= in a later chunk
    found = attributes(body[last:body.find(b">", last)]).get(b"r") if last >= 0 else None
    if found or rows:
        cursor.row, cursor.col = (row_of(found) if found else rows[-1][0] - 1) + 1, 0
    return rows


def _by_kind(letters: list[bytes], digits: list[bytes], kind: list[int], raw: list[bytes | None],
             convert: Converter, cursor: Cursor) -> Rows | None:
    """Rows of cells of any layout: values converted kind by kind, laid out row by row."""
    if not letters:
        return []
    # A cell without a value (raw None or b"") is EMPTY (0; the other kinds count from 1).
    given, kind = kind, list(map(mul, kind, map(bool, raw)))
    if EMPTY in kind and not EMPTY_IS_VALUE.isdisjoint(compress(given, map(not_, kind))):
        return None  # an empty <v> or no <v> at all: '' or nothing, the expression cannot tell
    if ERROR in given:
        cursor.special = True
    return _assemble(letters, digits, kind, raw, convert, cursor)


def _by_column(letters: list[bytes], digits: list[bytes], attrs: list[bytes], raw: list[bytes | None],
               kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows | None:
    """Rows of a chunk whose rows all have the same cells (the usual case), else None.

    Each column's values are converted in one batch and put into one flat list by a slice
    assignment; each row is a slice of that list. No step is taken per cell in Python, and
    none per row but the slice: a column's attributes are compared as a whole (one kind for
    the column when they are all the same text), and its emptiness too.
    """
    n = len(letters)
    if not n:
        return []
    size = 1
    while size < n and digits[size] == digits[0]:  # the first row's cells
        size += 1
    count = n // size
    numbers = digits[::size]
    if size * count != n or letters != letters[:size] * count or not _same_rows(digits, numbers, size) \
            or not all(map(ne, islice(numbers, 1, None), numbers)):
        return None
    cols = [COLUMN.get(name, MAX_COLUMN) for name in letters[:size]]
    if len(set(cols)) != size:
        return None  # a column twice in a row: the careful way
    width = max(cols) + 1
    numbers = list(map(int, numbers))
    if min(numbers) < 1:
        return None
    cursor.check(max(numbers) - 1, width - 1)
    grid = [""] * (count * width)
    for place, col in enumerate(cols):
        column_attrs, column_raw = attrs[place::size], raw[place::size]
        if column_attrs.count(column_attrs[0]) == count:  # one kind for the whole column
            values = _column(kinds[column_attrs[0]], column_raw, convert, cursor, col == width - 1)
        else:
            values = _mixed_column(list(map(kinds.__getitem__, column_attrs)), column_raw, convert, cursor,
                                   col == width - 1)
        if values is None:
            return None
        if values:
            grid[col::width] = values
    return _cut(numbers, grid, width)


def _same_rows(digits: list[bytes], numbers: list[bytes], size: int) -> bool:
    """Whether every cell of each run of `size` has its row's number (joined with a separator
    no number holds: one comparison of bytes a column, not one a cell)."""
    expected = b",".join(numbers)
    return all(b",".join(digits[place::size]) == expected for place in range(1, size))


def _column(kind: int, raw: list[bytes | None], convert: Converter, cursor: Cursor, last: bool) -> list[Any] | None:
    """The values of a column whose cells are all of one kind ([] for none; None: give up)."""
    if kind == INLINE:
        kind = EMPTY  # calamine ignores an inline string's <v>
    if kind == ERROR:
        cursor.special = True
    if all(raw) and kind != EMPTY:
        return convert.convert(kind, raw)
    if last or kind in EMPTY_IS_VALUE:
        return None  # a row may end before the last column, or hold nothing; or '' or nothing?
    if kind == EMPTY or not any(raw):
        return []
    return _values(list(map(mul, repeat(kind), map(bool, raw))), raw, convert)


def _mixed_column(kind: list[int], raw: list[bytes | None], convert: Converter, cursor: Cursor,
                  last: bool) -> list[Any] | None:
    """The values of a column whose cells are of several kinds (None: give up)."""
    if INLINE in kind:
        kind = [EMPTY if k == INLINE else k for k in kind]  # calamine ignores an inline string's <v>
    if ERROR in kind:
        cursor.special = True
    given, kind = kind, list(map(mul, kind, map(bool, raw)))
    if EMPTY in kind and (last or not EMPTY_IS_VALUE.isdisjoint(compress(given, map(not_, kind)))):
        return None
    return _values(kind, raw, convert)


def _present(raw: bytes | None, text: bytes | None, kept: bytes | None) -> bytes | None:
    return text or kept or raw


def _inline_kind(kind: int, text: bool, kept: bool) -> int:
    if text:
        return INLINE_TEXT
    if kept:
        return INLINE_KEPT
    return EMPTY if kind == INLINE else kind  # calamine ignores the <v> of an inline string cell


def _values(kind: list[int], raw: list[bytes], convert: Converter) -> list[Any]:
    """The cells' values in order, converted kind by kind (each kind's in one batch); an
    EMPTY cell's is ''."""
    kinds = set(kind)
    if len(kinds) == 1:
        return [""] * len(kind) if EMPTY in kinds else convert.convert(kind[0], raw)
    batches = {k: iter(convert.convert(k, list(compress(raw, map(k.__eq__, kind))))) for k in kinds if k != EMPTY}
    batches[EMPTY] = repeat("")
    return list(map(next, map(batches.__getitem__, kind)))


class _Shapes(dict):
    """The letters of a row's cells -> (where each column from A takes its value: an index
    among the row's cells, or their count for '' (None when the cells are A, B, C, ...
    already), the row's width). Few distinct shapes in a sheet: built once each."""

    def __missing__(self, letters: tuple[bytes, ...]) -> tuple[tuple[int, ...] | None, int]:
        try:
            cols = [COLUMN[name] for name in letters]
        except KeyError:
            raise BadCell("a cell beyond Excel's last column (XFD)") from None
        width = max(cols) + 1
        if cols == list(range(len(cols))):
            places = None
        else:
            last = {col: n for n, col in enumerate(cols)}  # a column given twice: the last wins
            places = tuple(last.get(col, len(cols)) for col in range(width))
        if len(self) < 4096:
            self[letters] = places, width
        return places, width


_SHAPES = _Shapes()


def _assemble(letters: list[bytes], digits: list[bytes], kind: list[int], raw: list[bytes | None],
              convert: Converter, cursor: Cursor) -> Rows:
    """Rows from cells in document order: a row is a run of cells with the same row number.

    Empty cells stay in their places as '' while no row ends with one (then they change
    nothing); else they are dropped first. When every row of the chunk has the same cells
    (the usual case), the values are laid out column by column into one flat list by slice
    assignments, and each row is a slice of it: a few C calls per row, none per cell.
    """
    n = len(letters)
    changes = list(compress(range(1, n), map(ne, islice(digits, 1, None), digits)))
    starts, ends = [0, *changes], [*changes, n]
    if EMPTY in kind and not all(map(kind.__getitem__, map((-1).__add__, ends))):
        keep = list(map(bool, kind))  # a row ends with an empty cell, or holds nothing: drop them
        letters, digits, kind, raw = (list(compress(x, keep)) for x in (letters, digits, kind, raw))
        if not letters:
            return []
        n = len(letters)
        changes = list(compress(range(1, n), map(ne, islice(digits, 1, None), digits)))
        starts, ends = [0, *changes], [*changes, n]
    values = _values(kind, raw, convert)
    numbers = list(map(int, map(digits.__getitem__, starts)))
    if min(numbers) < 1:
        raise BadCell("a cell in row 0, which no sheet has")
    count, first = len(starts), ends[0]
    if first * count == n and letters == letters[:first] * count:  # every row: the same cells
        places, width = _SHAPES[tuple(letters[:first])]
        cursor.check(max(numbers) - 1, width - 1)
        if places is None:
            grid, width = values, first
        else:
            grid = [""] * (count * width)
            for col, place in enumerate(places):
                if place < first:
                    grid[col::width] = values[place::first]
        return _cut(numbers, grid, width)
    spans = list(map(slice, starts, ends))
    shapes = list(map(_SHAPES.__getitem__, map(tuple, map(letters.__getitem__, spans))))
    cursor.check(max(numbers) - 1, max(width for _, width in set(shapes)) - 1)
    rows = []
    for number, segment, (places, _) in zip(numbers, map(values.__getitem__, spans), shapes, strict=True):
        if places is not None:
            segment.append("")
            segment = list(map(segment.__getitem__, places))
        rows.append((number, segment))
    return rows


def _cut(numbers: list[int], grid: list[Any], width: int) -> Rows:
    """Rows numbered `numbers`, each `width` values of the flat list `grid` in turn."""
    bounds = range(0, len(numbers) * width + 1, width)
    return list(zip(numbers, map(grid.__getitem__, map(slice, bounds, islice(bounds, 1, None))), strict=True))
