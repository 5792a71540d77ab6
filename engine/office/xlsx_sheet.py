"""Rewrite cells of one worksheet's XML as it streams by, without ever holding it whole.

A 1,048,000-row sheet is 430 MB of XML. So the part is read in chunks (`SheetReader`): its
head (before the rows), its rows in slices of whole rows of a few megabytes, and its tail. In
each slice only rows with edited cells are parsed (a regular expression per row) and written
anew; every other row is passed through as the original bytes, and the slice goes to the
output before the next one is read. Edits come slice by slice, in row order, from
xlsx_sheet_edits. Cells are handled in xlsx_cell_edits, formulas that depend on overwritten
cells in xlsx_formulas.

Nothing needs a pass over the rows beforehand: the dimension in the head grows to what the
edits create outside it (known from the edits), an array formula is met in the rows before
the cells it covers, and the tail (for the notes) is at hand when it is reached.
"""

from __future__ import annotations

import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from engine.office.xlsx_cell_edits import (
    R_ATTRIBUTE,
    CellEdit,
    CellElement,
    CellWriter,
    StylePlan,
    parse_cell,
    style_of,
)
from engine.office.xlsx_cells import (
    cell_ref,
    column_letters,
    parse_range,
    range_text,
)
from engine.office.xlsx_fill import fill_slice, plain_rows
from engine.office.xlsx_formulas import FormulaGuard
from engine.office.xlsx_package import NotPatchable, get_attribute, root_prefix
from engine.office.xlsx_sheet_edits import SheetEdits

_SPANS_ATTRIBUTE = re.compile(rb"""\sspans\s*=\s*["'][^"']*["']""")
_SLICE = 4 << 20  # rows are handled in slices of about this many bytes
_HEAD_CHECK = 4096


class SheetReader:
    """A worksheet part from its chunks: `head` (up to the rows), `slices()`, then `tail`.

    As SheetLayout did for a part held whole: the head ends with the `<sheetData>` tag (for
    `<sheetData/>`, before it: `opening` holds the tag), the tail starts with `</sheetData>`
    (after `<sheetData/>`).
    """

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        data = b""
        while len(data) < _HEAD_CHECK:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            data += chunk
        declared = re.match(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.-]+)", data)
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            declared and declared.group(1).lower() not in (b"utf-8", b"utf8")
        ):
            raise NotPatchable("the sheet is not stored as UTF-8")
        if not re.search(rb"<(?:[\w.-]+:)?worksheet[\s>]", data[:_HEAD_CHECK]):
            raise NotPatchable("the part is not a worksheet (a chart or dialog sheet?)")
        self.prefix = root_prefix(data[:_HEAD_CHECK], b"worksheet")
        p = self.prefix.encode()
        opening_tag = re.compile(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?(/?)>")
        searched = 0
        while True:
            opening = opening_tag.search(data, max(searched - 1024, 0))
            if opening:
                break
            searched = len(data)
            chunk = next(self._chunks, None)
            if chunk is None:
                raise NotPatchable("the worksheet has no <sheetData>")
            data += chunk
        self.self_closed = bool(opening.group(1))
        self.opening = opening.group(0) if self.self_closed else b""
        self.head = data[: opening.start() if self.self_closed else opening.end()]
        self._rest = data[opening.end() :]
        self._closing = b"</" + p + b"sheetData>"
        self._row_end = b"</" + p + b"row>"
        self.tail: bytes | None = None

    def slices(self) -> Iterator[bytes]:
        """The rows, in slices that end after a row's end tag (the last one: up to the tail).

        A slice ends with the first row that reaches `_SLICE` bytes: where slices end decides
        which rows the fill pass (xlsx_fill) takes together, so it must not depend on chunks.
        """
        if self.self_closed:
            self.tail = self._rest + b"".join(self._chunks)
            return
        closing, row_end = self._closing, self._row_end
        pending, size = [self._rest], len(self._rest)
        overlap = len(closing) - 1
        at = self._rest.find(closing)
        carry = self._rest[-overlap:]  # the stream's last bytes, for an end tag across chunks
        while at < 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise NotPatchable("the worksheet's <sheetData> is not closed")
            hit = (carry + chunk[:overlap]).find(closing)
            if hit >= 0:
                at = size - len(carry) + hit
            elif (hit := chunk.find(closing)) >= 0:
                at = size + hit
            pending.append(chunk)
            size += len(chunk)
            if at >= 0:
                break
            carry = (carry + chunk[-overlap:])[-overlap:]
            if size >= _SLICE:
                data = b"".join(pending)
                start = 0
                while len(data) - start >= _SLICE:
                    cut = data.find(row_end, start + _SLICE - len(row_end))
                    if cut < 0:
                        break
                    yield data[start : cut + len(row_end)]
                    start = cut + len(row_end)
                rest = data[start:]
                pending, size = [rest], len(rest)
        data = b"".join(pending)
        body, self.tail = data[:at], data[at:] + b"".join(self._chunks)
        start = 0
        while len(body) - start > _SLICE:
            cut = body.find(row_end, start + _SLICE - len(row_end))
            if cut < 0:
                break
            yield body[start : cut + len(row_end)]
            start = cut + len(row_end)
        if start < len(body):
            yield body[start:]

    def read_tail(self) -> bytes:
        for _ in self.slices():
            pass
        return self.tail


class SheetRewriter:
    """One pass over a sheet's rows applying `edits` (see xlsx_sheet_edits), slice by slice."""

    def __init__(
        self,
        prefix: str,
        edits: SheetEdits,
        plan: StylePlan,
        date1904: bool,
        clear_styles: set[int] = frozenset(),
        fill: bool = False,
    ):
        """`clear_styles`: formats wearing our mark; every cell using one gets a clear edit.

        `fill`: write plain values into empty cells by substitution first (fill_empty_cells).
        """
        self.prefix, self.plan, self.edits = prefix, plan, edits
        p = re.escape(prefix.encode())
        self._row_start = re.compile(rb"<" + p + rb"row\b([^>]*?)(/?)>")
        self._row_end = b"</" + prefix.encode() + b"row>"
        self.formulas = FormulaGuard(prefix)
        self.cells = CellWriter(prefix, plan, self.formulas, date1904)
        self.date1904, self._fill = date1904, fill
        self._by_row: dict[int, dict[int, CellEdit]] = {}
        self._columns = edits.columns
        # row number and offset of every row of the slice; the first `_current` are passed
        self._seen_rows, self._seen_offsets = array("l"), array("q")
        self._current = 0
        self._passed = 0  # rows of the slices before
        self._xml = b""  # the slice being rewritten
        self._previous = 0  # the number of the last row met
        # column -> (rows passed already searched, (ref, style) of the nearest cell above)
        self._above: dict[int, tuple[int, tuple[str, int] | None]] = {}
        self._clear_styles = clear_styles
        self._marked = None
        if clear_styles:
            numbers = b"|".join(b"%d" % style for style in sorted(clear_styles))
            self._marked = re.compile(rb"""\ss\s*=\s*["'](?:""" + numbers + rb""")["']""")

    @property
    def formulas_removed(self) -> bool:
        return self.formulas.removed

    def write(self, reader: SheetReader, out: Callable[[bytes], None],
              new_tail: Callable[[bytes], bytes] | None = None) -> None:
        """Send the new sheet XML to `out` in chunks (untouched rows as views of the old bytes).

        `new_tail`, if given, is called with the old tail (see SheetReader) once the rows are
        written and returns the tail to write instead.
        """
        head = self._grown_head(reader.head)
        if reader.self_closed:  # <sheetData/> becomes <sheetData>...</sheetData>
            head += reader.opening[:-2].rstrip() + b">"
        out(head)
        for rows in reader.slices():
            numbers = None
            if self._fill:
                rows, numbers = fill_slice(rows, self.prefix, self.edits, self.date1904, self._clear_styles)
            for chunk in self._slice(rows, numbers):
                if len(chunk):
                    out(chunk)
        self._by_row = self.edits.take(None)
        for number in sorted(self._by_row):
            out(self._new_row(number))
        tail = reader.tail if new_tail is None else new_tail(reader.tail)
        if reader.self_closed:
            tail = b"</" + self.prefix.encode() + b"sheetData>" + tail
        out(tail)

    def _slice(self, xml: bytes, numbers: array | None = None) -> list:
        """The slice's new bytes, in pieces; `numbers`: its rows' numbers if known already."""
        numbers, offsets = self._rows_of(xml, numbers)
        if not numbers:
            return [xml]
        p = self.prefix.encode()
        if b"<" + p + b"f" in xml and (b'"array"' in xml or b'"dataTable"' in xml):
            for top, left in self.formulas.array_firsts_to_drop(xml, self.edits.written_in):
                self.edits.add_extra(top, left).drop_formula = True
        self._by_row = self.edits.take(numbers[-1])
        self._xml, self._seen_rows, self._seen_offsets = xml, numbers, offsets
        view = memoryview(xml)
        out: list = []
        emitted, index, count = 0, 0, len(numbers)
        targets = sorted(self._by_row)
        marked_rows: set[int] = set()  # rows to look at: a style whose mark is cleared is there
        if self._marked:
            marked_rows = self._rows_marked(xml).difference(self._by_row)
            targets = sorted(marked_rows.union(targets))
        next_target = 0
        while index < count:
            every_row = self.formulas.pending  # cells of an orphaned shared formula may come
            if every_row:
                start = self._offsets()[index]
            else:  # straight to the next row edited or marked
                if next_target == len(targets):
                    break
                index = bisect_left(numbers, targets[next_target], index)
                start = self._offset(index)
            number = numbers[index]
            self._current = index
            while next_target < len(targets) and targets[next_target] < number:
                out += [view[emitted:start], self._new_row(targets[next_target])]
                emitted, next_target = start, next_target + 1
            target = next_target < len(targets) and targets[next_target] == number
            next_target += target
            edited = target and number not in marked_rows
            if target or every_row:
                end = xml.index(b">", start) + 1
                if xml[end - 2] != 47:  # not <row .../>
                    end = xml.index(self._row_end, start) + len(self._row_end)
                edited = (
                    edited
                    or bool(self._marked and self._marked.search(xml, start, end))
                    or self.formulas.row_has_orphans(xml, start, end, number)
                )
            if edited:
                out += [view[emitted:start], self._rewrite_row(xml[start:end], number)]
                emitted = end
            index += 1
        out.append(view[emitted:])
        self._current = count
        self._pass_slice()
        return out

    def _rows_of(self, xml: bytes, numbers: array | None = None) -> tuple[array, array | None]:
        """Number and offset of each row of the slice; raises if they are out of order.

        Where every row starts `<row r="` the offsets are left to `_offset`, on demand: a
        slice whose values all went in by the fill pass needs none of them. `numbers`: those
        of every row, read already by the fill pass (xlsx_leading_cells), when it read them.
        """
        p = self.prefix.encode()
        plain = numbers is not None  # the fill pass read every row start in full
        if not plain:
            numbers = array("l", map(int, plain_rows(p).findall(xml)))
            plain = len(numbers) == xml.count(b"<" + p + b"row")
        if plain and (
            not numbers or (numbers[0] > self._previous
                            and all(map(operator.lt, numbers, islice(numbers, 1, None))))):
            if numbers:
                self._previous = numbers[-1]
            return numbers, None
        numbers, offsets, previous = array("l"), array("q"), self._previous
        for match in self._row_start.finditer(xml):
            found = R_ATTRIBUTE.search(match.group(1))
            number = int(found.group(1)) if found else previous + 1
            if number <= previous:
                raise NotPatchable(f"row {number} comes after row {previous}: rows out of order")
            numbers.append(number)
            offsets.append(match.start())
            previous = number
        self._previous = previous
        return numbers, offsets

    # -- rows ------------------------------------------------------------------------------

    def _new_row(self, number: int) -> bytes:
        cells = [
            self._new_cell(number, column, edit)
            for column, edit in sorted(self._by_row[number].items())
            if edit.creates_cell
        ]
        if not cells:
            return b""
        p = self.prefix.encode()
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
        opening = b"<" + self.prefix.encode() + b"c"
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
        opening = b"<" + self.prefix.encode() + b"c"
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
        self._above[column] = (self._passed + self._current, (ref, style))
        return self.cells.new(ref, style, edit)

    def _remember(self, number: int, column: int, text: bytes) -> None:
        """This row's cell is now the nearest above for the column (the row is about to pass)."""
        style = style_of(text[: text.index(b">")])
        self._above[column] = (self._passed + self._current + 1, (cell_ref(number, column), style))

    def _style_above(self, column: int) -> int:
        """The style of the nearest cell above in the column; each row is searched once."""
        searched, found = self._above.get(column, (0, None))
        for index in range(self._current - 1, max(searched - self._passed, 0) - 1, -1):
            hit = self._cell_in_row(index, column)
            if hit is not None:
                found = hit
                break
        self._above[column] = (self._passed + self._current, found)
        return self.plan.unmarked(*found) if found else 0

    def _pass_slice(self) -> None:
        """Before the slice's rows go: note, for each edited column, its last cell in them."""
        passed, count = self._passed, len(self._seen_rows)
        for column in self._columns:
            searched, found = self._above.get(column, (0, None))
            first = max(searched - passed, 0)
            if first < count:
                found = self._last_cell(column, first) or found
            self._above[column] = (passed + count, found)
        self._passed += count
        self._seen_rows, self._seen_offsets = array("l"), array("q")
        self._xml, self._current = b"", 0

    def _last_cell(self, column: int, first: int) -> tuple[str, int] | None:
        """(ref, style) of the column's cell in the last row from row index `first` on that has one.

        The last rows are looked at one by one; beyond them, in a slice where every cell starts
        `<c r="`, the column's last cell is found by a byte search from the end instead of
        reading rows one by one (a column empty for a whole slice costs one search).
        """
        count = len(self._seen_rows)
        if self._seen_offsets is None:  # the last row first: it mostly has the cell
            last = self._xml.rfind(b"<" + self.prefix.encode() + b'row r="')
            hit = self._cell_at(last, self._seen_rows[-1], column)
            if hit is not None or first == count - 1:
                return hit
        for index in range(count - 1, max(first, count - 4) - 1, -1):
            hit = self._cell_in_row(index, column)
            if hit is not None:
                return hit
        rest = max(first, count - 4)
        if rest <= first:
            return None
        xml, p = self._xml, self.prefix.encode()
        if not _refs_everywhere(xml, p):
            for index in range(rest - 1, first - 1, -1):
                hit = self._cell_in_row(index, column)
                if hit is not None:
                    return hit
            return None
        needle = b"<" + p + b'c r="' + column_letters(column).encode()
        low, high = self._offset(first), self._offset(rest)
        at = xml.rfind(needle, low, high)
        while at >= 0 and not xml[at + len(needle) : at + len(needle) + 1].isdigit():
            at = xml.rfind(needle, low, at + len(needle) - 1)
        if at < 0:
            return None
        cell = self.cells.pattern.match(xml, at)
        return cell_ref(self._row_number_at(at), column), style_of(cell.group(1))

    def _offsets(self) -> array:
        """The offset of every row of the slice (for a pass over all of them)."""
        if self._seen_offsets is None:
            pattern = plain_rows(self.prefix.encode())
            self._seen_offsets = array("q", [match.start() for match in pattern.finditer(self._xml)])
        return self._seen_offsets

    def _offset(self, index: int) -> int:
        """Where the slice's row `index` starts: looked up alone where every row starts
        `<row r="7"` (each number once), searched for near where its share of the slice puts it."""
        if self._seen_offsets is not None:
            return self._seen_offsets[index]
        xml, count = self._xml, len(self._seen_rows)
        needle = b"<" + self.prefix.encode() + b'row r="%d"' % self._seen_rows[index]
        guess, reach = len(xml) * index // count, 1 << 16
        while True:
            low, high = max(guess - reach, 0), guess + reach
            at = xml.find(needle, low, high)
            if at >= 0:
                return at
            if low == 0 and high >= len(xml):
                return self._offsets()[index]  # never: every row is there
            reach *= 4

    def _row_number_at(self, position: int) -> int:
        """The number of the slice's row holding `position`."""
        if self._seen_offsets is not None:
            return self._seen_rows[bisect_right(self._seen_offsets, position) - 1]
        p = self.prefix.encode()
        start = self._xml.rfind(b"<" + p + b'row r="', 0, position)
        return int(plain_rows(p).match(self._xml, start).group(1)) if start >= 0 else self._seen_rows[0]

    def _rows_marked(self, xml: bytes) -> set[int]:
        """The rows of the slice where a style whose mark is being cleared may be written
        (each looked at again with the pattern): found by the style's number in quotes, a
        few byte searches instead of the pattern tried at every white space of the slice."""
        found = set()
        quotes = b"\"'" if b"'" in xml else b'"'
        for number in self._clear_styles:
            for quote in quotes:
                needle = b"%c%d%c" % (quote, number, quote)
                at = xml.find(needle)
                while at >= 0:
                    found.add(self._row_number_at(at))
                    at = xml.find(needle, at + 1)
        return found

    def _cell_in_row(self, index: int, column: int) -> tuple[str, int] | None:
        return self._cell_at(self._offset(index), self._seen_rows[index], column)

    def _cell_at(self, start: int, number: int, column: int) -> tuple[str, int] | None:
        """(ref, style) of the column's cell in the row starting at `start`; None if it has none."""
        xml = self._xml
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
        """Widen `<dimension ref>` to the cells we create outside it."""
        found = re.search(rb"<" + re.escape(self.prefix.encode()) + rb"dimension\b[^>]*>", head)
        if not found:
            return head
        try:
            top, left, bottom, right = parse_range(get_attribute(found.group(0), "ref") or "")
        except ValueError:
            return head
        rows, columns = self.edits.reach_outside(bottom, right)
        if rows <= bottom and columns <= right:
            return head
        new_ref = range_text(top, left, max(bottom, rows), max(right, columns)).encode()
        tag = re.sub(rb"""ref\s*=\s*["'][^"']*["']""", b'ref="' + new_ref + b'"', found.group(0))
        return head[: found.start()] + tag + head[found.end() :]


def _refs_everywhere(xml: bytes, p: bytes) -> bool:
    """Whether every cell of `xml` starts `<c r="` (as every program we know writes them)."""
    opening = b"<" + p + b"c"
    if any(opening + after in xml for after in (b">", b"/", b"\t", b"\n", b"\r")):
        return False
    return xml.count(opening + b" ") == xml.count(opening + b' r="')
