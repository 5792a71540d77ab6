"""The rows of a chunk of sheet XML read a row at a time: one match of an expression made for
the chunk's rows, instead of one match for each cell.

Why: a sheet our export writes (Excel and xlsxwriter too) repeats one row: the same columns,
each cell written the same way. engine.office.xlsx_row_fast cuts the cells apart with a match
each, a million matches for 100,000 rows, and most of its time goes there. Here the first
rows of a chunk are cut the usual way, and their cells give the shape of a row: `<row r="N">`,
then for each column seen, in order, its cell as written there (its letter, N again, its
attributes, and how it holds its value: no value, a <v>, an inline string), each cell
optional. One `split` by that expression cuts the whole chunk into rows and the rows into
columns: a column's values are a slice of the list, converted in one batch.

A row the shape does not fit (a cell written otherwise, a column not among the first rows',
cells out of order, a formula) leaves its cells between the matches. Then, or where anything
else is out of the ordinary (an empty inline string, a row 0, the same row twice, a value
calamine refuses), `shaped_rows` gives up (None) and the chunk is read the usual way, which
gives the rows, or the refusal, as before. What it gives otherwise is what that way gives.
"""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache
from itertools import compress, islice, repeat
from operator import add, eq, mul
from typing import Any

from engine.office.xlsx_row_cells import COLUMN, Cursor, Rows
from engine.office.xlsx_strings import BadText, texts_of
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

SAMPLE_ROWS = 128  # the rows of a chunk whose cells give the shape (a column filled in few rows is among them)
NO_VALUE, VALUE, TEXT = range(3)  # how a cell holds its value: none (<c/>, <c></c>), a <v>, an <is>
_KEPT = b' xml:space="preserve"'
ERROR_TYPE = re.compile(rb"""\st\s*=\s*["']e["']""")  # as engine.office.sheet_scan finds an error cell

Shape = list[tuple[bytes, list[tuple[bytes, int]]]]  # column letter -> its ways: (attributes, NO_VALUE ...)


def shaped_rows(body: bytes, prefix: bytes, cells: re.Pattern[bytes], inline: bool, kinds: ValueKinds,
                convert: Converter, cursor: Cursor) -> Rows | None:
    """The rows of `body` (a chunk without formulas) read a row at a time, or None (read it
    the usual way). `cells`: the cell expression of engine.office.xlsx_row_fast for the
    chunk (with inline strings if `inline`), to read the first rows with; `cursor.special`
    is set as that way sets it."""
    shape = _shape(body, prefix, cells, 7 if inline else 5)
    if not shape:
        return None
    pattern, ways = _expression(prefix, tuple((letter, tuple(alternatives)) for letter, alternatives in shape))
    parts = pattern.split(body)
    stride = pattern.groups + 1
    between = b"".join(parts[::stride])
    if b"<c" in between or b":c" in between or (inline and b"<" + prefix + b"is>" in between):
        return None  # a cell the shape does not fit
    try:
        rows = _rows(parts, stride, ways, kinds, convert, cursor)
    except (BadCell, BadText):
        return None  # the usual way refuses it, for the reason it gives
    if rows is None:
        return None
    attributes = {attrs for _, alternatives in shape for attrs, _ in alternatives}
    if inline:  # as xlsx_row_fast._inline_rows (no formula here: only errors to look for)
        cursor.special = any(map(ERROR_TYPE.search, attributes))
    else:  # as xlsx_row_fast._column and _by_kind: an error cell among the cells
        cursor.special = any(kinds[attrs] == ERROR for attrs in attributes)
    return rows


def _shape(body: bytes, prefix: bytes, cells: re.Pattern[bytes], stride: int) -> Shape | None:
    """The columns of the first rows of `body`, in order, each with the ways its cells are
    written there; None if a cell there is not of the regular shapes."""
    end, tag = 0, b"</" + prefix + b"row>"
    for _ in range(SAMPLE_ROWS):
        found = body.find(tag, end)
        if found < 0:
            break
        end = found + len(tag)
    if not end:
        return None
    parts = cells.split(body[:end])
    between = b"".join(parts[::stride])
    if b"<c" in between or b":c" in between or len(parts) == 1:
        return None
    ways: dict[bytes, list[tuple[bytes, int]]] = {}
    for at in range(0, len(parts) - 1, stride):
        letter, attrs, raw = parts[at + 1], parts[at + 3], parts[at + 4]
        text = stride == 7 and (parts[at + 5] is not None or parts[at + 6] is not None)
        way = (attrs, TEXT if text else NO_VALUE if raw is None else VALUE)
        alternatives = ways.setdefault(letter, [])
        if way not in alternatives:
            alternatives.append(way)
    if any(letter not in COLUMN for letter in ways):
        return None
    return sorted(ways.items(), key=lambda item: COLUMN[item[0]])


@lru_cache(maxsize=64)
def _expression(prefix: bytes, shape: tuple[tuple[bytes, tuple[tuple[bytes, int], ...]], ...]
                ) -> tuple[re.Pattern[bytes], list[tuple[int, list[tuple[bytes, int, int]]]]]:
    """The expression of a row of `shape`, and for each column (its number from 0) its ways:
    (attributes, how it holds its value, the number of its first group)."""
    c, v, i, t, row = (re.escape(prefix + name) for name in (b"c", b"v", b"is", b"t", b"row"))
    holds = {
        NO_VALUE: rb"(/>|></" + c + rb">)",
        VALUE: rb"><" + v + rb">([^<]*)</" + v + rb"></" + c + rb">",
        TEXT: rb"><" + i + rb"><" + t + rb">([^<]*)</" + t + rb"></" + i + rb"></" + c + rb">|><" + i + rb"><" + t
              + rb' xml:space="preserve">([^<]*)</' + t + rb"></" + i + rb"></" + c + rb">",
    }
    pieces = [rb"<" + row + rb' r="([0-9]{1,7})"[^<>]*>']
    group, ways = 2, []
    for letter, alternatives in shape:
        column = []
        written = []
        for attrs, way in alternatives:
            column.append((attrs, way, group))
            group += 2 if way == TEXT else 1
            written.append(re.escape(attrs) + b"(?:" + holds[way] + b")")
        ways.append((COLUMN[letter], column))
        pieces.append(rb"(?:<" + c + rb' r="' + letter + rb'\1"(?:' + b"|".join(written) + b"))?")
    pieces.append(rb"</" + row + rb">")
    return re.compile(b"".join(pieces)), ways


def _rows(parts: list[Any], stride: int, ways: list[tuple[int, list[tuple[bytes, int, int]]]],
          kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows | None:
    """Rows from the chunk split by a row expression (None: give up).

    Each row: its values from column A to its last value ('' where none); a row without a
    value is left out. So xlsx_row_fast lays them out, the cells of a row being in order.
    """
    numbers = list(map(int, parts[1::stride]))
    count = len(numbers)
    if not count or min(numbers) < 1:
        return None  # a row 0
    width = max(col for col, _ in ways) + 1
    # Every row and column, as xlsx_row_fast checks a chunk of rows alike (past the limits:
    # the usual way, which may check fewer, refuses or not)
    cursor.check(max(numbers) - 1, width - 1)
    grid: list[Any] = [""] * (count * width)
    ends: list[Any] = []  # for each column holding a value in some row but not all: where rows end
    whole = 0  # the columns up to this one hold a value in every row
    for col, column in ways:
        for attrs, way, group in column:
            found = _values(parts, stride, attrs, way, group, kinds, convert)
            if found is None:
                return None
            valued, values = found
            if valued is None:  # every row
                grid[col::width] = values
                whole = col + 1
            elif values:  # some rows: each takes its own, in order
                deque(map(grid.__setitem__, compress(range(col, count * width, width), valued), values), maxlen=0)
                ends.append(map(mul, valued, repeat(col + 1)))
    starts = range(0, count * width, width)
    if ends:  # a row ends at its last value
        widths = list(map(max, repeat(whole), *ends)) if len(ends) > 1 or whole else list(ends[0])
        if 0 in widths:
            numbers, starts, widths = (list(compress(x, widths)) for x in (numbers, starts, widths))
        rows = list(zip(numbers, map(grid.__getitem__, map(slice, starts, map(add, starts, widths))), strict=True))
    elif whole:
        rows = list(zip(numbers, map(grid.__getitem__, map(slice, starts, range(whole, count * width + 1, width))),
                        strict=True))
    else:
        return []
    if any(map(eq, islice(numbers, 1, None), numbers)):
        return None  # the same row twice in a row (once without values between): one row there
    return rows


def _values(parts: list[Any], stride: int, attrs: bytes, way: int, group: int, kinds: ValueKinds,
            convert: Converter) -> tuple[list[bool] | None, list[Any]] | None:
    """(for each row, whether this way of a column gives it a value, None for every row; those
    values in order), or None where the usual way cannot tell '' from nothing (it gives up)."""
    if way == TEXT:  # an inline string, whatever the cell's t= says (as xlsx_row_fast reads it)
        texts, kept = parts[group::stride], parts[group + 1::stride]
        if b"" in texts or b"" in kept:
            return None  # an empty inline string
        if not any(kept):
            return _given(texts, INLINE_TEXT, convert)
        if not any(texts):
            return _given(kept, INLINE_KEPT, convert)
        valued = [text is not None or kept_text is not None for text, kept_text in zip(texts, kept, strict=True)]
        raw = [text or kept_text for text, kept_text in zip(texts, kept, strict=True) if text or kept_text]
        spaces = [b"" if text else _KEPT for text, kept_text in zip(texts, kept, strict=True) if text or kept_text]
        return (None if all(valued) else valued), texts_of(raw, spaces)  # as convert.convert gives each
    kind = kinds[attrs]
    if kind == INLINE:
        kind = EMPTY  # calamine ignores the <v> of an inline string cell
    raw = parts[group::stride]
    if way == NO_VALUE or kind == EMPTY:
        if kind in EMPTY_IS_VALUE and any(raw):
            return None  # no <v> in a text or date cell: '' or nothing?
        return [False] * len(raw), []
    if kind in EMPTY_IS_VALUE and b"" in raw:
        return None  # an empty <v> in a text or date cell: '' or nothing?
    return _given(raw, kind, convert)


def _given(raw: list[bytes | None], kind: int, convert: Converter) -> tuple[list[bool] | None, list[Any]]:
    """(whether each row has a value, None for every row; the values of kind `kind` of those
    that have one), from one way's texts or <v>s (None or b"": none)."""
    if all(raw):
        return None, convert.convert(kind, raw)  # type: ignore[arg-type]
    return list(map(bool, raw)), convert.convert(kind, list(filter(None, raw)))
