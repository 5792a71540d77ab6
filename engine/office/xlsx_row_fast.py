"""The rows of a chunk of sheet XML (whole <row> elements) of regular cells, at C speed.

Why: a sheet written by Excel, LibreOffice, openpyxl, xlsxwriter or our own patcher has
cells of a few regular shapes (`<c r="B7" s="2" t="s"><v>41</v></c>`). `fast_rows` cuts a
chunk of them into fields with one regular expression and turns the values into Python
values a batch at a time (engine.office.xlsx_values): a million-row sheet in seconds, where a
Python step per cell would take a minute. It checks that its expression met every cell of
the chunk, and gives up (None) on anything else, for engine.office.xlsx_row_cells'
`general_rows`. Both give the values python-calamine gives. A chunk whose rows repeat one
shape (without formulas) is first tried a row at a time, by engine.office.xlsx_row_shapes:
a match a row instead of a match a cell, five times faster.
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
from engine.office.xlsx_row_shapes import ERROR_TYPE, shaped_rows
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
    inline, formula = b"<" + prefix + b"is>" in body, b"<" + prefix + b"f" in body
    if not formula:  # rows repeating one shape read a row at a time (engine.office.xlsx_row_shapes)
        rows = shaped_rows(body, prefix, with_inline if inline else plain, inline, kinds, convert, cursor)
        if rows is not None:
            return _ended(body, prefix, rows, cursor)
    # The expression that fits a chunk is used straight away where the chunk says which it is
    # (trying the plain one first cannot fit such a chunk: it only doubled the time).
    if inline:  # inline strings: our export writes them
        rows = _inline_rows(body, prefix, with_inline, formula, kinds, convert, cursor)
    elif formula:  # formulas: LibreOffice writes a boolean as one
        rows = _formula_rows(body, prefix, after_formula, kinds, convert, cursor)
    else:
        rows = _UNSURE
    if rows is not _UNSURE:
        return rows
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
        rows = _inline_by_kind(parts, prefix, body, kinds, convert, cursor)
    else:
        rows = _rows_of_values(parts, kinds, convert, cursor)
    return _ended(body, prefix, rows, cursor)


def _rows_of_values(parts: list[Any], kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows | None:
    """Rows of a chunk split by an expression without inline strings (None: give up)."""
    rows = _by_column(parts, 5, kinds, convert, cursor)
    if rows is None:
        letters, digits, attrs, raw = (parts[n::5] for n in range(1, 5))
        kind = list(map(kinds.__getitem__, attrs))
        if INLINE in kind:  # calamine ignores the <v> of an inline string cell
            kind = [EMPTY if k == INLINE else k for k in kind]
        rows = _by_kind(letters, digits, kind, raw, convert, cursor)
    return rows


_UNSURE = object()  # what `_inline_rows` and `_formula_rows` give for a chunk to read as any other


def _formula_rows(body: bytes, prefix: bytes, after_formula: re.Pattern[bytes], kinds: ValueKinds,
                  convert: Converter, cursor: Cursor) -> Rows | None | object:
    """The rows of a chunk holding formulas (and no inline string), read with the formula
    expression straight away.

    Where the plain expression would fit every cell, this one meets the same cells the same
    way (a formula tag is then outside them: the chunk may hold special cells either way).
    Gives _UNSURE when a cell's attributes hold a formula tag (never written: `fast_rows`
    reads it as before); None when a cell is missed (then the plain expression misses it too).
    """
    parts = after_formula.split(body)
    between = b"".join(parts[::5])
    if b"<c" in between or b":c" in between:
        return None
    if b"<" + prefix + b"f" in b"".join(set(parts[3::5])):
        return _UNSURE
    cursor.special = True
    return _ended(body, prefix, _rows_of_values(parts, kinds, convert, cursor), cursor)


def _inline_rows(body: bytes, prefix: bytes, with_inline: re.Pattern[bytes], formula: bool, kinds: ValueKinds,
                 convert: Converter, cursor: Cursor) -> Rows | None | object:
    """The rows of a chunk holding inline strings, read with the inline expression straight
    away (the plain one cannot fit such a cell: trying it first only doubled the time).

    Gives _UNSURE, for `fast_rows` to read the chunk as it reads any other, when the
    expression met no inline string (an `<is>` outside the cells, a comment: never written),
    or missed a cell (then the plain one misses it too: `fast_rows` gives up the same way).
    """
    parts = with_inline.split(body)
    between = b"".join(parts[::7])
    if b"<c" in between or b":c" in between:
        return _UNSURE
    texts, kept = parts[5::7], parts[6::7]
    if not (any(texts) or any(kept)):
        return _UNSURE
    # An <is> the expression did not take as a text (a cell's attributes, a formula's text, a
    # value hold no '<', so it is between the cells), or an empty one: '' or nothing? Give up.
    if b"<" + prefix + b"is>" in between or b"" in texts or b"" in kept:
        return None
    # The special cells (engine.office.sheet_scan.scan_piece): an uncalculated formula needs a
    # formula tag (`formula`: one in the chunk), an error a t="e" in the attributes of its cell
    # (the matched cells hold no other '<c'). Without either there are none: no scan.
    cursor.special = formula or any(map(ERROR_TYPE.search, set(parts[3::7])))
    try:  # the usual chunk: every row the same cells, a column at a time
        rows = _by_column(parts, 7, kinds, convert, cursor)
    except (BadCell, BadText):
        rows = None  # read cell by cell below, which refuses it for the same reason as before
    if rows is None:
        rows = _inline_by_kind(parts, prefix, body, kinds, convert, cursor)
    return _ended(body, prefix, rows, cursor)


def _inline_by_kind(parts: list[Any], prefix: bytes, body: bytes, kinds: ValueKinds, convert: Converter,
                    cursor: Cursor) -> Rows | None:
    """Rows of a chunk with inline strings, of any layout (None: give up)."""
    letters, digits, attrs, raw, plain_text, kept_text = (parts[n::7] for n in range(1, 7))
    texts = list(map(bool, plain_text))
    kept = list(map(bool, kept_text))
    if sum(texts) + sum(kept) != body.count(b"<" + prefix + b"is>"):
        return None  # an empty inline string: '' or nothing, the expression cannot tell
    kind = list(map(_inline_kind, map(kinds.__getitem__, attrs), texts, kept))
    raw = list(map(_present, raw, plain_text, kept_text))
    return _by_kind(letters, digits, kind, raw, convert, cursor)


def _ended(body: bytes, prefix: bytes, rows: Rows | None, cursor: Cursor) -> Rows | None:
    """`rows`, the cursor set after the chunk's last row (for a cell without r= in a later chunk)."""
    if rows is None:
        return None
    last = body.rfind(b"<" + prefix + b"row")
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


def _by_column(parts: list[Any], stride: int, kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows | None:
    """Rows of a chunk whose rows all have the same cells (the usual case), else None.

    `parts`: the chunk split by an expression of `stride` - 1 groups (letters, digits,
    attributes, <v>, and with inline strings their plain and kept <t> texts). Each column's
    values are converted in one batch and put into one flat list by a slice assignment; each
    row is a slice of that list. No step is taken per cell in Python, and none per row but
    the slice: a column's attributes are compared as a whole (one kind for the column when
    they are all the same text), and its emptiness too.
    """
    letters, digits = parts[1::stride], parts[2::stride]
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
    step = stride * size
    for place, col in enumerate(cols):
        at = stride * place
        column_attrs, column_raw = parts[at + 3::step], parts[at + 4::step]
        if stride == 7 and (any(parts[at + 5::step]) or any(parts[at + 6::step])):
            values = _inline_column(parts[at + 5::step], parts[at + 6::step], convert)
        elif column_attrs.count(column_attrs[0]) == count:  # one kind for the whole column
            values = _column(kinds[column_attrs[0]], column_raw, convert, cursor, col == width - 1)
        else:
            values = _mixed_column(list(map(kinds.__getitem__, column_attrs)), column_raw, convert, cursor,
                                   col == width - 1)
        if values is None:
            return None
        if values:
            grid[col::width] = values
    return _cut(numbers, grid, width)


def _inline_column(texts: list[bytes | None], kept: list[bytes | None], convert: Converter) -> list[Any] | None:
    """The values of a column of inline strings, each cell's <t> plain or kept (xml:space=
    "preserve", as our patcher writes an edited text); None if a cell holds none (give up).
    Whatever its t= says, a cell holding an inline string is that string, and its <v> is
    ignored (as in `_inline_kind`)."""
    if all(texts):
        return convert.convert(INLINE_TEXT, texts)  # type: ignore[arg-type]
    if all(kept):
        return convert.convert(INLINE_KEPT, kept)  # type: ignore[arg-type]
    raw = [text or kept_text for text, kept_text in zip(texts, kept, strict=True)]
    if not all(raw):
        return None
    # both: each cell as convert.convert would give it as INLINE_TEXT or INLINE_KEPT
    return texts_of(raw, [_KEPT if kept_text else b"" for kept_text in kept])  # type: ignore[arg-type]


_KEPT = b' xml:space="preserve"'  # what the <t> of an INLINE_KEPT text holds besides its name


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
