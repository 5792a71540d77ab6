"""The bulk path for a sync's IDs and Versions: values into empty cells by substitution.

A sync writes the ID and Version of every new row: two million cells in a million-row
sheet, each into an empty `<c r="A7" s="3"/>` left by the export. A regular-expression
substitution over each slice of rows writes them (`<c r="A7" s="3"><v>123</v></c>`), one
Python call per cell, instead of the row-by-row rewrite (xlsx_sheet) parsing every row.
Integers into the empty cells that start each row go in quicker still, first, by
xlsx_leading_cells (`fill_slice`); the substitution takes what that leaves.
"""

from __future__ import annotations

import re
from array import array
from decimal import Decimal
from functools import lru_cache

from engine.office.xlsx_cells import cell_xml
from engine.office.xlsx_leading_cells import leading_cells
from engine.office.xlsx_sheet_edits import Fillable, SheetEdits

_NOT_HERE = object()
_FEW_ROWS = 64  # values left to write in at most so many rows of a slice: those rows substituted alone


@lru_cache(maxsize=8)
def plain_rows(p: bytes) -> re.Pattern[bytes]:
    """The start of a row written as every program we know writes it: `<row r="7"`."""
    return re.compile(rb"<" + re.escape(p) + rb'row r="([0-9]{1,7})"')


@lru_cache(maxsize=64)
def _empty_cell(p: bytes, letters: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """An empty cell `<c r="A7" s="3"/>` of one of the columns named."""
    columns = b"|".join(letters)
    return re.compile(rb"(<" + re.escape(p) + rb'c r="(' + columns + rb')([0-9]{1,7})"(?: s="([0-9]+)")?)\s*/>')


def fill_slice(rows: bytes, prefix: str, edits: SheetEdits, date1904: bool,
               marked: set[int] = frozenset()) -> tuple[bytes, array | None]:
    """A slice of rows with plain values written into its empty cells, and the numbers of
    its rows when they were read on the way (else None).

    Integers into the empty cells that start each row (a sync's IDs and Versions) go in by
    xlsx_leading_cells; whatever that leaves, by the substitution of `fill_empty_cells`,
    which decides whether it pays off on the slice as it came, as it would alone.
    """
    p = prefix.encode()
    found = None
    span = _first_and_last_rows(rows, p)
    if span is not None:
        found = leading_cells(rows, p, edits, *span, marked)
    if found is None:
        return fill_empty_cells(rows, prefix, edits, date1904, marked), None
    if found.complete and not edits.left_to_fill(*span, skip=found.columns):
        return found.write(), found.numbers
    fillable = _fillable(rows, p, edits)
    rows = found.write()
    if fillable is not None:
        left = edits.rows_left_to_fill(*span, enough=_FEW_ROWS)
        if len(left) > _FEW_ROWS:
            rows = _substitute(rows, prefix, fillable, date1904, marked)
        elif left:  # only their cells can still be empty and written: those rows alone
            rows = _substitute_rows(rows, prefix, fillable, date1904, marked, left)
            fillable.filled()
    return rows, found.numbers


def fill_empty_cells(rows: bytes, prefix: str, edits: SheetEdits, date1904: bool,
                     marked: set[int] = frozenset()) -> bytes:
    """Write plain values into cells of a slice of rows that exist but are empty, in one pass.

    A sync writes the ID and Version of every new row: two million such cells in a
    million-row sheet. Each is an empty `<c r="A7" s="3"/>` left by the export; here it becomes
    `<c r="A7" s="3"><v>123</v></c>` by a regular-expression substitution, instead of a
    row-by-row rewrite. The edits done are marked done in `edits`; anything unusual (a formula
    in the slice, a mark to set, other attributes, a cell wearing one of the `marked` styles
    that clear_marks takes off) is left to SheetRewriter.
    """
    fillable = _fillable(rows, prefix.encode(), edits)
    return rows if fillable is None else _substitute(rows, prefix, fillable, date1904, marked)


def _first_and_last_rows(rows: bytes, p: bytes) -> tuple[int, int] | None:
    row_start = plain_rows(p)
    first = row_start.search(rows)
    last_at = rows.rfind(b"<" + p + b'row r="')
    last = row_start.match(rows, last_at) if last_at >= 0 else None
    if first is None or last is None:
        return None
    return int(first.group(1)), int(last.group(1))


def _fillable(rows: bytes, p: bytes, edits: SheetEdits) -> Fillable | None:
    """The values the substitution writes in the slice; None where it does not pay off (a
    formula in the slice, nothing to write, the cells to write mostly filled)."""
    if rows.find(b"<" + p + b"f") >= 0:
        return None
    span = _first_and_last_rows(rows, p)
    if span is None:
        return None
    fillable = edits.fillable(*span)
    table = fillable.table
    if not any(table.values()):
        return None
    empty_cell = _empty_cell(p, tuple(sorted(table)))
    if not _mostly_empty(rows, p, fillable.sample(), empty_cell):
        return None  # values into filled cells (a resync's new versions): not for this pass
    return fillable


def _substitute(rows: bytes, prefix: str, fillable: Fillable, date1904: bool, marked: set[int]) -> bytes:
    empty_cell = _empty_cell(prefix.encode(), tuple(sorted(fillable.table)))
    rows = empty_cell.sub(_filler(prefix, fillable, date1904, marked), rows)
    fillable.filled()
    return rows


def _substitute_rows(rows: bytes, prefix: str, fillable: Fillable, date1904: bool, marked: set[int],
                     numbers: list[int]) -> bytes:
    """`_substitute` in the rows `numbers` alone (the slice's rows all start `<row r="7"`)."""
    p = prefix.encode()
    empty_cell = _empty_cell(p, tuple(sorted(fillable.table)))
    fill = _filler(prefix, fillable, date1904, marked)
    pieces, done = [], 0
    for number in numbers:
        start = rows.find(b"<" + p + b'row r="%d"' % number, done)
        if start < 0:
            continue  # a row to create: the rewriter's
        end = rows.index(b">", start) + 1
        if rows[end - 2] != 47:  # not <row .../>
            end = rows.index(b"</" + p + b"row>", end)
        pieces += [rows[done:start], empty_cell.sub(fill, rows[start:end])]
        done = end
    pieces.append(rows[done:])
    return b"".join(pieces)


def _filler(prefix: str, fillable: Fillable, date1904: bool, marked: set[int]):
    """The substitution's function: an empty cell's new text, its value taken from the table."""
    p = prefix.encode()
    table = fillable.table
    number_cell = b"%s><" + p + b"v>%d</" + p + b"v></" + p + b"c>"  # `<c r="A7" s="3"><v>123</v></c>`
    text_cell = b"%s><" + p + b"v>%s</" + p + b"v></" + p + b"c>"

    def fill(match: re.Match) -> bytes:
        # Called once per empty cell of the edited columns: kept to the bare minimum of work.
        start_tag, letters, digits, style = match.group(1, 2, 3, 4)
        if marked and style and int(style) in marked:
            return match.group(0)  # our mark comes off: the rewriter's
        value = table[letters].pop(int(digits), _NOT_HERE)
        if value is _NOT_HERE:
            return match.group(0)
        if value.__class__ is int:
            return number_cell % (start_tag, value)
        if value.__class__ is Decimal and value.is_finite():
            return text_cell % (start_tag, str(value).encode())
        ref = (letters + digits).decode()
        return cell_xml(prefix, ref, int(style) if style else 0, value, date1904).encode("utf-8")

    return fill


def _mostly_empty(xml: bytes, p: bytes, sample: list[tuple[int, bytes]], empty_cell: re.Pattern) -> bool:
    """Whether most of a sample of the cells to write are empty `<c .../>` elements.

    The fill pass pays off for the ID and Version cells of new rows, not for new versions
    written over old ones. The sample cells are looked up in one forward pass (rows come in
    order), so deciding costs at most one read of the slice.
    """
    at, empty = 0, 0
    opening = b"<" + p + b'c r="'
    for row, letters in sample:
        at = xml.find(opening + letters + b"%d" % row + b'"', at)
        if at < 0:
            break  # not there (a cell to create): the rest would be searched for in vain
        empty += empty_cell.match(xml, at) is not None
    return bool(sample) and empty * 2 >= len(sample)
