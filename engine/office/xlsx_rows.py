"""A worksheet's cell values, streamed in bounded memory, as python-calamine gives them.

Why: python-calamine holds a whole sheet in memory (a 1,048,000-row sheet took 853 MB to
iterate, 1.4 GB to turn into Python lists). `SheetReader.iter_rows` reads the sheet part in
chunks of 2 MB cut at a row's end, never inflating past the size the zip declares, and
yields each row that holds a value: (row number, values from column A to its last value),
each value exactly what calamine's `to_python` gives (engine.office.xlsx_values has the rules).
In the same pass it collects the cells calamine reads as '' although they are not empty (Excel
errors, formulas never calculated: engine.office.sheet_scan's rules), so nothing scans the
sheet twice. `read_rows` gives calamine's whole list of rows, for the callers that want it.

The shared strings are read once per workbook and kept compactly (engine.office.xlsx_strings);
the zip inflates in a second thread (engine.office.zip_ahead), while this one parses.

Run only on a package engine.office.xlsx_guard.check_package accepted (its size limits are
what bounds the strings). A file calamine would refuse is refused here too, as UnusableInput
naming the file and the sheet; so is a row of more than 16 MB of XML (no real row comes
near: it would be a file made to exhaust memory). One deliberate difference: an Excel error
calamine does not know (#SPILL!, #CALC!, newer ones) makes calamine refuse the whole sheet;
here it is '' and a special cell like any other error.
"""

from __future__ import annotations

import gc
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office.sheet_scan import (
    SpecialCell,
    column_letters,
    iter_member,
    scan_piece,
    worksheet_prefix,
)
from engine.office.xlsx_dates import style_kinds
from engine.office.xlsx_guard import DAMAGED, ZIP_ERRORS, PackageInfo, too_large
from engine.office.xlsx_row_cells import Cursor, OutsideLimits, Rows, general_rows
from engine.office.xlsx_row_fast import fast_rows
from engine.office.xlsx_strings import BadText, SharedStrings
from engine.office.xlsx_values import BadCell, Converter, ValueKinds
from engine.office.zip_ahead import inflate_ahead

CHUNK = 2 << 20
MAX_ROW_BYTES = 16 << 20  # a row without its end after this much XML: not a real sheet
_SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(/?)>")
_SHEET_DATA_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_ROW_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?row\s*>")


@dataclass
class _Workbook:
    """What every reader of one workbook shares: its strings and formats, read once, and the
    special cells found in its sheets."""

    tools: tuple[Converter, ValueKinds] | None = None
    special: dict[str, list[SpecialCell]] = field(default_factory=dict)


class SheetReader:
    """The sheets of one accepted workbook; use as a context manager (it holds the zip open)."""

    def __init__(self, path: Path | str, package: PackageInfo, *, compact: bool = True,
                 max_rows: int = 1_048_576, max_columns: int = 16_384, _workbook: _Workbook | None = None):
        self.path, self.package, self.compact = Path(path), package, compact
        self.max_rows, self.max_columns = max_rows, max_columns
        self._workbook = _workbook or _Workbook()
        self.special = self._workbook.special  # sheet -> its special cells (see iter_rows)
        self._zip = zipfile.ZipFile(self.path)

    def again(self) -> SheetReader:
        """A reader of the same file, opened anew (for a later pass over a sheet too big to keep,
        once this one is closed), sharing the strings, formats and special cells read already."""
        return SheetReader(self.path, self.package, compact=self.compact, max_rows=self.max_rows,
                           max_columns=self.max_columns, _workbook=self._workbook)

    def __enter__(self) -> SheetReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def read_rows(self, sheet: str) -> list[list[Any]]:
        """The sheet as python-calamine's `to_python(skip_empty_area=False)`: every row from
        1 to the last holding a value, each as wide as the widest, '' where nothing is."""
        rows: list[list[Any]] = []
        width = 0
        for number, values in self.iter_rows(sheet):
            if number > len(rows):
                rows.extend([] for _ in range(number - 1 - len(rows)))
                rows.append(values)
            else:  # a row given twice (no program writes that): the later cells win
                earlier = rows[number - 1]
                earlier.extend([""] * (len(values) - len(earlier)))
                for col, value in enumerate(values):
                    if value != "":
                        earlier[col] = value
            width = max(width, len(values))
        for row in rows:
            if len(row) < width:
                row.extend([""] * (width - len(row)))
        return rows

    def iter_rows(self, sheet: str, taking: Callable[[Rows], None] | None = None) -> Iterator[tuple[int, list[Any]]]:
        """(row number, values) of each row holding a value, in the order of the file.

        The sheet's special cells are in the list `self.special[sheet]`: each found before
        the row it is in comes (a reader of the rows may look there as it goes), all of them
        once a pass has ended. A later pass finds the same ones and adds nothing.

        `taking`, if given, is shown each chunk's rows (about 2 MB of the sheet's XML) before
        the first of them is yielded, and may refuse them by raising (a text budget counting
        what the rows bring, see engine.office.xlsx_text). A pass over the same file cuts
        the same chunks.
        """
        member = self.package.sheet_parts[sheet]
        convert, kinds = self._tools()
        cursor = Cursor(max_rows=self.max_rows, max_columns=self.max_columns)
        found = self.special.setdefault(sheet, [])
        count = 0
        for body, prefix in self._bodies(sheet, member):
            enabled = gc.isenabled()
            gc.disable()  # millions of short-lived objects, no cycles: the collector only costs time
            try:
                rows = self._rows(sheet, body, prefix, kinds, convert, cursor)
                for cell in self._special(body, prefix, cursor):
                    if count >= len(found):
                        found.append(cell)
                    count += 1
            finally:
                if enabled:
                    gc.enable()
            if taking is not None:
                taking(rows)
            yield from rows

    def _rows(self, sheet: str, body: bytes, prefix: bytes, kinds: ValueKinds, convert: Converter,
              cursor: Cursor) -> Rows:
        try:
            rows = fast_rows(body, prefix, kinds, convert, cursor)
            if rows is None:
                cursor.special = True
                rows = general_rows(body, kinds, convert, cursor)
            return rows
        except OutsideLimits as exc:
            limits = WorkbookLimits(max_rows=cursor.max_rows, max_columns=cursor.max_columns)
            reached = (f"it reaches row {exc.row}" if exc.row > cursor.max_rows
                       else f"it reaches column {column_letters(exc.column)}")
            raise UnusableInput(self.path, too_large(sheet, reached, limits, rows=exc.row, columns=exc.column)) from None
        except (BadCell, BadText) as exc:
            raise UnusableInput(self.path, f"{DAMAGED}: sheet '{sheet}' cannot be read: {exc}") from None

    @staticmethod
    def _special(body: bytes, prefix: bytes, cursor: Cursor) -> list[SpecialCell]:
        """The special cells of a chunk (none to look for when the fast path saw neither an
        error nor a formula)."""
        found: list[tuple[int, SpecialCell]] = []
        if cursor.special:
            scan_piece(body, prefix, 0, found)
        found.sort(key=lambda item: item[0])
        cells = [cell if cell.ref else SpecialCell(cursor.unnamed.get(at, "?"), cell.kind, cell.text)
                 for at, cell in found]
        cursor.unnamed.clear()
        return cells

    def _bodies(self, sheet: str, member: str) -> Iterator[tuple[bytes, bytes]]:
        """(whole rows of <sheetData>, the root's namespace prefix), chunk by chunk."""
        info = self._zip.getinfo(member)
        prefix: bytes | None = None
        carry, started, finished = b"", False, False
        for block in self._damaged_zip(inflate_ahead(self._zip, info, CHUNK)):
            if finished:
                continue  # read to the end all the same: zipfile then checks the CRC
            piece = carry + block
            if not started:
                if prefix is None:
                    prefix = worksheet_prefix(piece)
                    if prefix is None and len(piece) < MAX_ROW_BYTES:
                        carry = piece
                        continue
                    prefix = prefix or b""
                opening = _SHEET_DATA.search(piece)
                if opening is None:
                    carry = piece if len(piece) < MAX_ROW_BYTES else piece[-1024:]
                    continue
                started, piece = True, piece[opening.end():]
                if opening.group(1):  # <sheetData/>: no cells
                    finished, carry = True, b""
                    continue
            cut = _last_row_end(piece, prefix)
            end = _SHEET_DATA_END.search(piece, cut) if piece.find(b"sheetData", cut) >= 0 else None
            if end is not None:  # after the last </row>: a row holds no sheetData
                finished, carry = True, b""
                yield piece[:end.start()], prefix
                continue
            if cut:
                carry = piece[cut:]
                yield piece[:cut], prefix
            elif len(piece) > MAX_ROW_BYTES:
                raise UnusableInput(self.path, f"{DAMAGED}: sheet '{sheet}' has a row of more than "
                                               f"{MAX_ROW_BYTES >> 20} MB (or rows without an end)")
            else:
                carry = piece
        if started and not finished:
            raise UnusableInput(self.path, f"{DAMAGED}: sheet '{sheet}' cannot be read: its cells have no end")

    def _damaged_zip(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        """`blocks`, a zip's failure (a wrong CRC, a broken stream) as UnusableInput."""
        with closing(blocks):  # a reader that stops early stops the inflating thread now
            while True:
                try:
                    block = next(blocks, None)
                except ZIP_ERRORS as exc:
                    raise UnusableInput(self.path, f"{DAMAGED}: {exc}") from exc
                if block is None:
                    return
                yield block

    def _tools(self) -> tuple[Converter, ValueKinds]:
        """The workbook's shared strings and cell formats, read on first use."""
        if self._workbook.tools is None:
            folder = posixpath.dirname(self.package.workbook_part.replace("\\", "/").lstrip("/"))
            names = {name.replace("\\", "/").lstrip("/").lower(): name for name in self._zip.namelist()}

            def part(name: str) -> zipfile.ZipInfo | None:
                found = names.get(posixpath.join(folder, name).lower())
                return self._zip.getinfo(found) if found else None

            try:
                strings = SharedStrings.read(self._zip, part("sharedStrings.xml"), compact=self.compact)
                styles = part("styles.xml")
                kinds = ValueKinds(style_kinds(b"".join(iter_member(self._zip, styles)) if styles else None))
            except (BadText, ValueError) as exc:
                raise UnusableInput(self.path, f"{DAMAGED}: its shared strings cannot be read: {exc}") from None
            except ZIP_ERRORS as exc:
                raise UnusableInput(self.path, f"{DAMAGED}: {exc}") from exc
            self._workbook.tools = Converter(strings, self.package.date1904), kinds
        return self._workbook.tools


def _last_row_end(piece: bytes, prefix: bytes) -> int:
    """Offset just past the last </row> of a chunk (0: none)."""
    tag = b"</" + prefix + b"row>"
    at = piece.rfind(tag)
    if at >= 0:
        return at + len(tag)
    ends = [m.end() for m in _ROW_END.finditer(piece)]  # another prefix, or </row >: rare
    return ends[-1] if ends else 0
