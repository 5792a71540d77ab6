"""The bulk path for a sync's IDs and Versions: values into empty cells by substitution.

A sync writes the ID and Version of every new row: two million cells in a million-row
sheet, each into an empty `<c r="A7" s="3"/>` left by the export. A regular-expression
substitution over each slice of rows writes them (`<c r="A7" s="3"><v>123</v></c>`), one
Python call per cell, instead of the row-by-row rewrite (xlsx_sheet) parsing every row.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from engine.office.xlsx_cells import cell_xml
from engine.office.xlsx_sheet_edits import SheetEdits

_NOT_HERE = object()


@lru_cache(maxsize=8)
def plain_rows(p: bytes) -> re.Pattern[bytes]:
    """The start of a row written as every program we know writes it: `<row r="7"`."""
    return re.compile(rb"<" + re.escape(p) + rb'row r="([0-9]{1,7})"')


@lru_cache(maxsize=64)
def _empty_cell(p: bytes, letters: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """An empty cell `<c r="A7" s="3"/>` of one of the columns named."""
    columns = b"|".join(letters)
    return re.compile(rb"(<" + re.escape(p) + rb'c r="(' + columns + rb')([0-9]{1,7})"(?: s="([0-9]+)")?)\s*/>')


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
    p = prefix.encode()
    if rows.find(b"<" + p + b"f") >= 0:
        return rows
    row_start = plain_rows(p)
    first = row_start.search(rows)
    last_at = rows.rfind(b"<" + p + b'row r="')
    last = row_start.match(rows, last_at) if last_at >= 0 else None
    if first is None or last is None:
        return rows
    fillable = edits.fillable(int(first.group(1)), int(last.group(1)))
    table = fillable.table
    if not any(table.values()):
        return rows
    empty_cell = _empty_cell(p, tuple(sorted(table)))
    if not _mostly_empty(rows, p, fillable.sample(), empty_cell):
        return rows  # values into filled cells (a resync's new versions): not for this pass

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

    rows = empty_cell.sub(fill, rows)
    fillable.filled()
    return rows


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
