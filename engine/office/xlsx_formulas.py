"""Keeping the user's formulas valid while we overwrite cells around them.

We never write formulas, but a value we write can land on a cell that holds one:

- its own formula simply goes (and with it the calculation chain, which Excel rebuilds);
- if it was the first cell of a *shared* formula, the other cells of the group hold no text of
  their own, only a reference to that first cell: each of them gets its formula written out in
  full, translated to its own position, as Excel would show it;
- if it lies inside an *array* formula (or data table) range, that range can no longer be one
  formula: the array's formula is removed and its cells keep their last values.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from engine.office.xlsx_cells import escape_text, parse_range
from engine.office.xlsx_package import get_attribute

LAST_ROW = 1_048_576


class FormulaGuard:
    """Formula bookkeeping for one pass over a sheet."""

    def __init__(self, prefix: str):
        p = re.escape(prefix.encode())
        self.pattern = re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.S)
        self.prefix = prefix
        self.removed = False  # any formula removed: the calculation chain must go
        self._orphans: dict[str, tuple[str, str, int]] = {}  # si -> formula, origin, last row

    def find(self, content: bytes | None) -> re.Match | None:
        return self.pattern.search(content) if content else None

    def remove(self, formula: re.Match, ref: str) -> None:
        """Note that the formula of cell `ref` goes; a shared group's first cell orphans it."""
        self.removed = True
        attributes = formula.group(1)
        group = get_attribute(attributes, "ref")
        if get_attribute(attributes, "t") == "shared" and group:
            text = html.unescape((formula.group(2) or b"").decode("utf-8"))
            try:
                last_row = parse_range(group)[2]
            except ValueError:
                last_row = LAST_ROW
            self._orphans[get_attribute(attributes, "si")] = (text, ref, last_row)

    @property
    def pending(self) -> bool:
        """Whether rows further down may hold cells of an orphaned shared group."""
        return bool(self._orphans)

    def row_has_orphans(self, xml: bytes, start: int, end: int, row: int) -> bool:
        """Whether xml[start:end] (row number `row`) holds cells of an orphaned group."""
        for si, (_, _, last_row) in list(self._orphans.items()):
            if row > last_row:
                del self._orphans[si]
            elif xml.find(b'si="' + si.encode() + b'"', start, end) >= 0:
                return True
        return False

    def adopt(self, content: bytes, ref: str) -> bytes:
        """A cell of an orphaned shared group gets its own formula, translated to its place."""
        formula = self.find(content)
        if not formula or get_attribute(formula.group(1), "t") != "shared":
            return content
        si = get_attribute(formula.group(1), "si")
        if si not in self._orphans or get_attribute(formula.group(1), "ref"):
            return content
        text, origin, _ = self._orphans[si]
        p = self.prefix
        from openpyxl.formula.translate import Translator  # only here: openpyxl is a slow import

        try:
            translated = Translator("=" + text, origin=origin).translate_formula(ref)[1:]
            plain = f"<{p}f>{escape_text(translated)}</{p}f>".encode()
        except Exception:  # a formula the translator cannot read: keep the cached value only
            plain = b""
        return content[: formula.start()] + plain + content[formula.end() :]

    def array_firsts_to_drop(
        self, rows: bytes, written_in: Callable[[int, int, int, int], bool]
    ) -> set[tuple[int, int]]:
        """First cells of the array formulas in `rows` whose range holds a cell written to.

        `written_in(top, left, bottom, right)` tells whether a value is written into the range.
        An array formula stands in its range's first cell, so it is met before the cells it
        covers: the rows can be handled as they stream by.
        """
        if b'"array"' not in rows and b'"dataTable"' not in rows:
            return set()
        found = set()
        for formula in self.pattern.finditer(rows):
            if get_attribute(formula.group(1), "t") not in ("array", "dataTable"):
                continue
            try:
                top, left, bottom, right = parse_range(get_attribute(formula.group(1), "ref") or "")
            except ValueError:
                continue
            if written_in(top, left, bottom, right):
                found.add((top, left))
        return found
