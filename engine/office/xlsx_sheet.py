"""Rewrite cells of one worksheet's XML without ever building a tree of it.

A 100,000-row sheet is tens of megabytes of XML; a DOM of it costs seconds and hundreds of
megabytes. So the sheet is split into head (before `<sheetData>`), rows and tail; only rows
with edited cells are parsed (a regular expression per row) and written anew, every other
row is passed through as the original bytes. Cells are handled in xlsx_cell_edits, formulas
that depend on overwritten cells in xlsx_formulas.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from decimal import Decimal

from engine.office.xlsx_cell_edits import (
    R_ATTRIBUTE,
    UNCHANGED,
    CellEdit,
    CellElement,
    CellWriter,
    StylePlan,
    parse_cell,
    style_of,
)
from engine.office.xlsx_cells import cell_ref, cell_xml, column_number, parse_range, range_text
from engine.office.xlsx_formulas import FormulaGuard
from engine.office.xlsx_package import NotPatchable, get_attribute, root_prefix

_SPANS_ATTRIBUTE = re.compile(rb"""\sspans\s*=\s*["'][^"']*["']""")


@dataclass
class SheetLayout:
    """Where the rows are: xml[:body_start] is the head, xml[tail_start:] the tail."""

    xml: bytes
    prefix: str
    body_start: int
    body_end: int
    tail_start: int
    self_closed: bool  # <sheetData/>

    @classmethod
    def of(cls, xml: bytes) -> SheetLayout:
        declared = re.match(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.-]+)", xml)
        if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            declared and declared.group(1).lower() not in (b"utf-8", b"utf8")
        ):
            raise NotPatchable("the sheet is not stored as UTF-8")
        if not re.search(rb"<(?:[\w.-]+:)?worksheet[\s>]", xml[:4096]):
            raise NotPatchable("the part is not a worksheet (a chart or dialog sheet?)")
        prefix = root_prefix(xml[:4096], b"worksheet")
        opening = re.search(rb"<" + re.escape(prefix.encode()) + rb"sheetData\b[^>]*?(/?)>", xml)
        if not opening:
            raise NotPatchable("the worksheet has no <sheetData>")
        if opening.group(1):
            return cls(xml, prefix, opening.start(), opening.start(), opening.end(), True)
        closing = xml.find(b"</" + prefix.encode() + b"sheetData>", opening.end())
        if closing < 0:
            raise NotPatchable("the worksheet's <sheetData> is not closed")
        return cls(xml, prefix, opening.end(), closing, closing, False)

    @property
    def tail(self) -> bytes:
        return self.xml[self.tail_start :]


class SheetRewriter:
    """One pass over a sheet's rows applying `edits` ((row, column) -> CellEdit)."""

    def __init__(
        self,
        layout: SheetLayout,
        edits: dict[tuple[int, int], CellEdit],
        plan: StylePlan,
        date1904: bool,
        clear_styles: set[int] = frozenset(),
    ):
        """`clear_styles`: formats wearing our mark; every cell using one gets a clear edit."""
        self.layout, self.plan = layout, plan
        p = re.escape(layout.prefix.encode())
        self._row_start = re.compile(rb"<" + p + rb"row\b([^>]*?)(/?)>")
        self._row_end = b"</" + layout.prefix.encode() + b"row>"
        self.formulas = FormulaGuard(layout.prefix)
        self.cells = CellWriter(layout.prefix, plan, self.formulas, date1904)
        rows = layout.xml[layout.body_start : layout.body_end]
        written = [key for key, edit in edits.items() if edit.value is not UNCHANGED]
        for first in self.formulas.array_firsts_to_drop(rows, written):
            edit = edits.setdefault(first, CellEdit())
            edit.drop_formula = edit.value is UNCHANGED
        self._by_row: dict[int, dict[int, CellEdit]] = {}
        for (row, column), edit in edits.items():
            self._by_row.setdefault(row, {})[column] = edit
        self._columns = {column for _, column in edits}
        # row number and offset of every row passed (compact: one entry per row of the sheet)
        self._seen_rows, self._seen_offsets = array("l"), array("q")
        # column -> (rows passed already searched, (ref, style) of the nearest cell above)
        self._above: dict[int, tuple[int, tuple[str, int] | None]] = {}
        self._grown = (0, 0)  # (last row, last column) of the cells we created
        self._clear_styles = clear_styles
        self._marked = None
        if clear_styles:
            numbers = b"|".join(b"%d" % style for style in sorted(clear_styles))
            self._marked = re.compile(rb"""\ss\s*=\s*["'](?:""" + numbers + rb""")["']""")

    @property
    def formulas_removed(self) -> bool:
        return self.formulas.removed

    def chunks(self, tail: bytes | None = None) -> list:
        """The new sheet XML as byte chunks (untouched rows are views of the old bytes).

        `tail`, if given, replaces everything after the rows (see SheetLayout.tail).
        """
        layout, xml = self.layout, self.layout.xml
        view = memoryview(xml)
        out: list = []
        emitted = layout.body_start
        targets = sorted(self._by_row)
        next_target, previous = 0, 0
        for match in self._row_start.finditer(xml, layout.body_start, layout.body_end):
            found = R_ATTRIBUTE.search(match.group(1))
            number = int(found.group(1)) if found else previous + 1
            if number <= previous:
                raise NotPatchable(f"row {number} comes after row {previous}: rows out of order")
            previous, start = number, match.start()
            while next_target < len(targets) and targets[next_target] < number:
                out += [view[emitted:start], self._new_row(targets[next_target])]
                emitted, next_target = start, next_target + 1
            edited = next_target < len(targets) and targets[next_target] == number
            end = match.end() if match.group(2) else -1
            if edited or self.formulas.pending or self._marked:
                end = end if end >= 0 else xml.index(self._row_end, start) + len(self._row_end)
                edited = (
                    edited
                    or bool(self._marked and self._marked.search(xml, start, end))
                    or self.formulas.row_has_orphans(xml, start, end, number)
                )
            if edited:
                out += [view[emitted:start], self._rewrite_row(xml[start:end], number)]
                emitted = end
                if next_target < len(targets) and targets[next_target] == number:
                    next_target += 1
            self._seen_rows.append(number)
            self._seen_offsets.append(start)
        out.append(view[emitted : layout.body_end])
        out += [self._new_row(row) for row in targets[next_target:]]
        head = self._grown_head(xml[: layout.body_start])
        tail = layout.tail if tail is None else tail
        if layout.self_closed:  # <sheetData/> becomes <sheetData>...</sheetData>
            head += xml[layout.body_start : layout.tail_start][:-2].rstrip() + b">"
            tail = b"</" + layout.prefix.encode() + b"sheetData>" + tail
        return [head, *(chunk for chunk in out if len(chunk)), tail]

    # -- rows ------------------------------------------------------------------------------

    def _new_row(self, number: int) -> bytes:
        cells = [
            self._new_cell(number, column, edit)
            for column, edit in sorted(self._by_row[number].items())
            if edit.creates_cell
        ]
        if not cells:
            return b""
        p = self.layout.prefix.encode()
        return b"<" + p + b'row r="%d">' % number + b"".join(cells) + self._row_end

    def _rewrite_row(self, row: bytes, number: int) -> bytes:
        edits = self._by_row.get(number, {})
        if not self.formulas.pending:
            marked = self._marked_cells(row, number) if self._marked else {}
            if marked is not None and (edits or marked):
                quick = self._edit_in_place(row, number, marked | edits)
                if quick is not None:
                    return quick
        opening = self._row_start.match(row)
        start_tag, inner = opening.group(0), row[opening.end() : len(row) - len(self._row_end)]
        if opening.group(2):
            start_tag, inner = start_tag[:-2].rstrip() + b">", b""
        pieces: list[tuple[int, bytes]] = []
        position, column = 0, 0
        for match in self.cells.pattern.finditer(inner):
            cell = parse_cell(match, column)
            column = cell.column
            edit = edits.get(column)
            if edit is None and cell.style in self._clear_styles:
                edit = CellEdit(clear=True)
            text = self.cells.edited(cell, number, edit) if edit else self.cells.kept(cell, number)
            pieces.append((column, inner[position : match.start()] + text))
            position = match.end()
        existing = {column for column, _ in pieces}
        added = [
            (column, self._new_cell(number, column, edit))
            for column, edit in sorted(edits.items())
            if column not in existing and edit.creates_cell
        ]
        if added:
            pieces = sorted(pieces + added, key=lambda piece: piece[0])
            start_tag = _SPANS_ATTRIBUTE.sub(b"", start_tag)
        for column, text in pieces:
            if column in self._columns:
                self._remember(number, column, text)
        return start_tag + b"".join(text for _, text in pieces) + inner[position:] + self._row_end

    def _marked_cells(self, row: bytes, number: int) -> dict[int, CellEdit] | None:
        """Clear edits for the row's cells wearing our mark; None if one is hard to place."""
        opening = b"<" + self.layout.prefix.encode() + b"c"
        found = {}
        for hit in self._marked.finditer(row):
            start = row.rfind(opening, 0, hit.start())
            match = self.cells.pattern.match(row, start) if start >= 0 else None
            if match is None or not match.start(1) <= hit.start() < match.end(1):
                return None
            cell = parse_cell(match, 0)
            if not cell.has_ref:
                return None
            found[cell.column] = CellEdit(clear=True)
        return found

    def _edit_in_place(self, row: bytes, number: int, edits: dict[int, CellEdit]) -> bytes | None:
        """The row with its edited cells replaced, if they all exist and are easy to find.

        The common case (a value into an existing cell) without parsing the row's other
        cells; None sends the row to the general path.
        """
        opening = b"<" + self.layout.prefix.encode() + b"c"
        located = []
        for column, edit in sorted(edits.items()):
            at = row.find(b' r="' + cell_ref(number, column).encode() + b'"')
            start = row.rfind(opening, 0, at) if at > 0 else -1
            match = self.cells.pattern.match(row, start) if start >= 0 else None
            if match is None or not match.start(1) <= at < match.end(1):
                return None
            if located and match.start() < located[-1][0].end():
                return None
            located.append((match, column, edit))
        pieces, position = [], 0
        for match, column, edit in located:
            cell = CellElement(column, match.group(1), match.group(2), True, match.group(0))
            text = self.cells.edited(cell, number, edit)
            pieces += [row[position : match.start()], text]
            position = match.end()
            self._remember(number, column, text)
        pieces.append(row[position:])
        return b"".join(pieces)

    # -- new cells and the style they take from the cell above ------------------------------

    def _new_cell(self, number: int, column: int, edit: CellEdit) -> bytes:
        ref = cell_ref(number, column)
        style = self.plan.style_for(ref, self._style_above(column), edit)
        self._grown = (max(self._grown[0], number), max(self._grown[1], column))
        self._above[column] = (len(self._seen_rows), (ref, style))
        return self.cells.new(ref, style, edit)

    def _remember(self, number: int, column: int, text: bytes) -> None:
        """This row's cell is now the nearest above for the column (the row is about to pass)."""
        style = style_of(text[: text.index(b">")])
        self._above[column] = (len(self._seen_rows) + 1, (cell_ref(number, column), style))

    def _style_above(self, column: int) -> int:
        """The style of the nearest cell above in the column; each row is searched once."""
        searched, found = self._above.get(column, (0, None))
        for index in range(len(self._seen_rows) - 1, searched - 1, -1):
            hit = self._cell_in_row(index, column)
            if hit is not None:
                found = hit
                break
        self._above[column] = (len(self._seen_rows), found)
        return self.plan.unmarked(*found) if found else 0

    def _cell_in_row(self, index: int, column: int) -> tuple[str, int] | None:
        number, start = self._seen_rows[index], self._seen_offsets[index]
        xml = self.layout.xml
        opening = self._row_start.match(xml, start)
        if opening.group(2):
            return None
        end = xml.index(self._row_end, opening.end())
        previous = 0
        for match in self.cells.pattern.finditer(xml, opening.end(), end):
            cell = parse_cell(match, previous)
            previous = cell.column
            if cell.column >= column:
                return (cell_ref(number, column), cell.style) if cell.column == column else None
        return None

    def _grown_head(self, head: bytes) -> bytes:
        """Widen `<dimension ref>` if we wrote cells outside it."""
        if self._grown == (0, 0):
            return head
        found = re.search(
            rb"<" + re.escape(self.layout.prefix.encode()) + rb"dimension\b[^>]*>", head
        )
        if not found:
            return head
        try:
            top, left, bottom, right = parse_range(get_attribute(found.group(0), "ref") or "")
        except ValueError:
            return head
        rows, columns = self._grown
        if rows <= bottom and columns <= right:
            return head
        new_ref = range_text(top, left, max(bottom, rows), max(right, columns)).encode()
        tag = re.sub(rb"""ref\s*=\s*["'][^"']*["']""", b'ref="' + new_ref + b'"', found.group(0))
        return head[: found.start()] + tag + head[found.end() :]


_SLICE = 4 << 20
_PLAIN = (int, str, Decimal)  # exactly these classes (bool and dates need styles: the general path)


def fill_empty_cells(layout: SheetLayout, edits: dict[tuple[int, int], CellEdit], date1904: bool) -> SheetLayout:
    """Write plain values into cells that exist but are empty, in one pass over the rows.

    A sync writes the ID and Version of every new row: 200,000 such cells in a 100,000-row
    sheet. Each is an empty `<c r="A7" s="3"/>` left by the export; here it becomes
    `<c r="A7" s="3"><v>123</v></c>` by a regular-expression substitution, instead of a
    row-by-row rewrite. The edits done are removed from `edits`; anything unusual (a formula
    anywhere in the rows, a mark, other attributes) is left to SheetRewriter.
    """
    plain = {key: edit for key, edit in edits.items()
             if edit.value.__class__ in _PLAIN and edit.mark is UNCHANGED and not edit.clear}
    p = layout.prefix.encode()
    if len(plain) < 1000 or layout.xml.find(b"<" + p + b"f", layout.body_start, layout.body_end) >= 0:
        return layout
    empty_cell = re.compile(rb'<' + re.escape(p) + rb'c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="[0-9]+")?\s*/>')
    if not _mostly_empty(layout, list(plain), empty_cell):
        return layout  # values into filled cells (a resync's new versions): not for this pass
    columns: dict[bytes, int] = {}
    prefix = layout.prefix

    def fill(match: re.Match) -> bytes:
        # Called once per empty cell of the sheet: kept to the bare minimum of work.
        letters, digits = match.group(1, 2)
        column = columns.get(letters)
        if column is None:
            column = columns[letters] = column_number(letters.decode())
        key = (int(digits), column)
        edit = plain.pop(key, None)
        if edit is None:
            return match.group(0)
        del edits[key]
        value = edit.value
        if value.__class__ is int:  # `<c r="A7" s="3"/>` -> `<c r="A7" s="3"><v>123</v></c>`
            return b"%s><%sv>%d</%sv></%sc>" % (match.group(0)[:-2].rstrip(), p, value, p, p)
        if value.__class__ is Decimal and value.is_finite():
            return b"%s><%sv>%s</%sv></%sc>" % (match.group(0)[:-2].rstrip(), p, str(value).encode(), p, p)
        style = re.search(rb's="([0-9]+)"', match.group(0))
        ref = (letters + digits).decode()
        return cell_xml(prefix, ref, int(style.group(1)) if style else 0, value, date1904).encode("utf-8")

    # Slice by slice (a few MB of whole rows each): one substitution over a 40 MB sheet would
    # hold 400,000 pieces at once before joining them, a peak of memory for nothing.
    xml, end = layout.xml, layout.body_end
    row_end = b"</" + p + b"row>"
    parts, start = [xml[: layout.body_start]], layout.body_start
    while start < end:
        cut = xml.find(row_end, min(start + _SLICE, end), end)
        cut = end if cut < 0 else cut + len(row_end)
        parts.append(empty_cell.sub(fill, xml[start:cut]))
        start = cut
    parts.append(xml[end:])
    return SheetLayout.of(b"".join(parts))


def _mostly_empty(layout: SheetLayout, keys: list[tuple[int, int]], empty_cell: re.Pattern) -> bool:
    """Whether most of a sample of the cells to write are empty `<c .../>` elements.

    The fill pass reads the whole sheet; it pays off for the ID and Version cells of new rows,
    not for new versions written over old ones. Eight cells spread over the edits are looked
    up in one forward pass (rows come in order), so deciding costs at most one read.
    """
    sample = sorted(keys[:: max(1, len(keys) // 8)][:8])
    xml, at, empty = layout.xml, layout.body_start, 0
    opening = b"<" + layout.prefix.encode() + b'c r="'
    for row, column in sample:
        at = xml.find(opening + cell_ref(row, column).encode() + b'"', at, layout.body_end)
        if at < 0:
            break  # not there (a cell to create): the rest would be searched for in vain
        empty += empty_cell.match(xml, at) is not None
    return empty * 2 >= len(sample)
