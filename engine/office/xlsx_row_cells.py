"""The rows of a chunk of sheet XML (whole <row> elements), a tag at a time; and where cells go.

Why: engine.office.xlsx_row_fast reads the regular cells every spreadsheet program writes at
C speed, and gives up on anything else; `general_rows` reads any cell, at about a tenth of
its speed: any attribute order or quoting, a namespace prefix on any element, rich text,
CDATA, comments, cells without r= (placed as calamine places them: the next column of the
row, rows counted on from the last r=). Its values are python-calamine's (the rules:
engine.office.xlsx_values). `Cursor` carries the place of the next cell without r= from one
chunk to the next, and the sheet's limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.office.xlsx_cells import MAX_COLUMN, column_letters
from engine.office.xlsx_dates import attributes
from engine.office.xlsx_strings import rich_text
from engine.office.xlsx_values import BadCell, Converter, ValueKinds

Rows = list[tuple[int, list[Any]]]  # (row number, values from column A to the row's last value)


def _column_numbers() -> dict[bytes, int]:
    return {column_letters(n).encode("ascii"): n - 1 for n in range(1, MAX_COLUMN + 1)}


COLUMN = _column_numbers()  # b"A" -> 0 ... b"XFD" -> 16383


@dataclass
class Cursor:
    """Where a cell without r= goes, as calamine counts: the row of the last <row r=> (0-based)
    plus one per </row> since, and the column after the previous cell's."""

    row: int = 0
    col: int = 0
    max_rows: int = 1_048_576
    max_columns: int = MAX_COLUMN
    unnamed: dict[int, str] = field(default_factory=dict)  # offset of a cell without r= -> its ref
    special: bool = True  # whether the last chunk may hold special cells (errors, formulas)

    def check(self, row: int, col: int) -> None:
        """Refuse a cell outside the limits (0-based row and column)."""
        if row >= self.max_rows or col >= self.max_columns:
            raise OutsideLimits(f"a cell at {column_letters(col + 1)}{row + 1}, past the limit of "
                                f"{self.max_rows:,} rows x {self.max_columns:,} columns", row + 1, col + 1)


class OutsideLimits(BadCell):
    """A cell past the rows or columns a sheet may have: refused before its row is built."""

    def __init__(self, message: str, row: int, column: int):
        super().__init__(message)
        self.row, self.column = row, column


_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c\s*>")
_CHILD = re.compile(rb"<(?![/!?])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_REF = re.compile(rb"([A-Za-z]*)([0-9]+)")
_CHILD_END = {name: re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?" + name + rb"\s*>") for name in (b"v", b"f", b"is")}
_FIRST_TEXT = re.compile(rb"[^<&]*")
_NO_VALUE = object()
_FIRST_TEXT_ONLY = {None, b"n", b"s", b"b", b"e"}  # types calamine reads from the first text of <v>


def row_of(ref: bytes) -> int:
    """0-based row of an r= value ("7" or "B7"), as calamine parses it."""
    m = _REF.fullmatch(ref)
    if not m or int(m.group(2)) < 1:
        raise BadCell(f"the cell or row reference {ref[:20].decode('utf-8', 'replace')!r}")
    return int(m.group(2)) - 1


def _ref_of(ref: bytes) -> tuple[int, int]:
    """0-based (row, column) of a cell's r= ("B7")."""
    m = _REF.fullmatch(ref)
    if not m or not m.group(1) or int(m.group(2)) < 1:
        raise BadCell(f"the cell reference {ref[:20].decode('utf-8', 'replace')!r}")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ch - 64
    return int(m.group(2)) - 1, col - 1


def general_rows(body: bytes, kinds: ValueKinds, convert: Converter, cursor: Cursor) -> Rows:
    """The rows of `body`, a tag at a time. Cells without r= are placed by `cursor` (and
    their refs kept in cursor.unnamed by offset, for the special cells)."""
    cells: dict[int, dict[int, Any]] = {}  # row -> column -> value, in order of first appearance
    at = 0
    while True:
        m = _TAG.search(body, at)
        if m is None:
            break
        closing, name, attrs = m.groups()
        at = m.end()
        alone = attrs.endswith(b"/")
        if name == b"row":
            if not closing:
                found = attributes(attrs).get(b"r")
                if found is not None:
                    cursor.row = row_of(found)
            if closing or alone:
                cursor.row += 1
                cursor.col = 0
            continue
        if closing:
            continue
        found = attributes(attrs)
        if b"r" in found:
            row, col = _ref_of(found[b"r"])
            cursor.col = col
        else:
            row, col = cursor.row, cursor.col
            cursor.unnamed[m.start()] = f"{column_letters(col + 1)}{row + 1}"
        cursor.check(row, col)
        value = _NO_VALUE
        if not alone:
            end = _CELL_END.search(body, at)
            if end is None:
                raise BadCell("a cell without its end")
            value = _cell_value(body[at:end.start()], found, kinds, convert)
            at = end.end()
        cursor.col += 1
        if value is not _NO_VALUE:
            cells.setdefault(row, {})[col] = value
    rows = []
    for row, by_col in cells.items():
        values = [""] * (max(by_col) + 1)
        for col, value in by_col.items():
            values[col] = value
        rows.append((row + 1, values))
    return rows


def _cell_value(content: bytes, found: dict[bytes, bytes], kinds: ValueKinds, convert: Converter) -> Any:
    """The value of a cell whose content is `content`: that of its last <v>, <is> or <f> child
    (a formula is no value: its cached <v> follows it)."""
    t = found.get(b"t")
    value, at = _NO_VALUE, 0
    while True:
        m = _CHILD.search(content, at)
        if m is None:
            return value
        name, attrs = m.group(1), m.group(2)
        if name not in (b"v", b"f", b"is"):
            raise BadCell(f"a cell holding <{name[:20].decode('utf-8', 'replace')}>")
        if attrs.endswith(b"/"):
            inner, at = b"", m.end()
        else:
            end = _CHILD_END[name].search(content, m.end())
            if end is None:
                raise BadCell(f"a <{name.decode()}> without its end")
            inner, at = content[m.end():end.start()], end.end()
        if name == b"is":
            value = rich_text(inner)
        elif name == b"f" or t in (b"inlineStr", b"is"):
            value = _NO_VALUE
        elif t in _FIRST_TEXT_ONLY:
            first = _FIRST_TEXT.match(inner).group(0)
            kind = kinds.kind_of(found)
            value = convert.convert(kind, [first])[0] if first else _NO_VALUE
        else:  # t="str", "d" (an empty <v> is '') or a type calamine refuses
            value = convert.convert(kinds.kind_of(found), [inner])[0]
