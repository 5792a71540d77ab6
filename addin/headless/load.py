"""Load an .xlsx into the in-memory workbook of the headless engine.

Values come from python-calamine (fast: a 10,000-row sheet in a fraction of a second); error
cells, which calamine reads as blanks, from `sheet_scan.special_cells`. The rest is read from
the package's small parts (workbook, styles, comments, tables) and one regular-expression
pass over each sheet's XML for the style index of cells whose style matters (a fill or an
unlocked cell); no openpyxl, which would build 120,000 cell objects.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from addin.headless.model import (
    OTHER_FILL,
    CellError,
    NoteData,
    SheetData,
    TableData,
    as_excel_keeps,
)
from engine.config import WorkbookLimits
from engine.office.sheet_scan import special_cells
from engine.office.xlsx_cells import parse_range, parse_ref
from engine.office.xlsx_guard import check_package, open_calamine, read_rows
from engine.office.xlsx_marks import Marks
from engine.office.xlsx_package import Package, get_attribute
from engine.office.xlsx_styles import Styles
from engine.office.xlsx_workbook import Workbook

_CELL = re.compile(rb"<(?:[\w.-]+:)?c(\s[^>]*?)/?>")
_STYLE = re.compile(rb"""\ss\s*=\s*["']([0-9]+)["']""")
_REF = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{1,3}[0-9]{1,7})["']""")
_PROTECTION = re.compile(rb"<(?:[\w.-]+:)?sheetProtection\b[^>]*>")
_ACTIVE_TAB = re.compile(r"""<(?:[\w.-]+:)?workbookView\b[^>]*?\sactiveTab\s*=\s*["']([0-9]+)["']""")
_FG_RGB = re.compile(r"""<(?:[\w.-]+:)?fgColor\b[^>]*\brgb\s*=\s*["']([0-9A-Fa-f]{6,8})["']""")
_SOLID = re.compile(r"""patternType\s*=\s*["']solid["']""")
_UNLOCKED = re.compile(r"""<(?:[\w.-]+:)?protection\b[^>]*\blocked\s*=\s*["'](?:0|false)["']""")


@dataclass
class LoadedBook:
    sheets: list[SheetData]
    date1904: bool
    active: int  # 0-based index of the active sheet


@dataclass(frozen=True)
class _StyleLook:
    fill: str | None  # ARGB, OTHER_FILL or None
    mark: str | None  # "problem" / "changed" when the fill is ours
    locked: bool


def load(path: Path) -> LoadedBook:
    path = Path(path)
    info = check_package(path, WorkbookLimits(), allow_macros=True)
    calamine = open_calamine(path, info)
    package = Package(path)
    try:
        book = Workbook(package)
        looks = _style_looks(book)
        active = _active_tab(package.read(book.part).decode("utf-8", "replace"))
        sheets = []
        with zipfile.ZipFile(path) as zf:
            for name in info.sheet_names:
                entry = book.find(name)
                if entry is None or entry.kind != "worksheet" or not entry.part:
                    raise NotImplementedError(f"{path.name}: the sheet {name!r} is a {entry.kind if entry else '?'}, "
                                              "which the headless engine does not hold")
                sheets.append(_load_sheet(path, calamine, package, zf, name, entry.part,
                                          info.hidden.get(name, "visible"), looks))
    finally:
        package.close()
        calamine.close()
    return LoadedBook(sheets, info.date1904, min(active, max(len(sheets) - 1, 0)))


def _load_sheet(path: Path, calamine, package: Package, zf: zipfile.ZipFile, name: str, part: str,
                state: str, looks: dict[int, _StyleLook]) -> SheetData:
    rows = [[as_excel_keeps(v) for v in row] for row in read_rows(path, calamine, name, skip_empty_area=False)]
    for cell in special_cells(zf, part):
        if cell.kind == "error" and cell.ref:
            row, column = parse_ref(cell.ref)
            while len(rows) < row:
                rows.append([])
            line = rows[row - 1]
            if len(line) < column:
                line.extend([None] * (column - len(line)))
            line[column - 1] = CellError(cell.text)
    xml = package.read(part)
    sheet = SheetData(name=name, state=state, loaded=True, rows=rows)
    interesting = {index for index, look in looks.items() if look.fill or not look.locked}
    default = looks.get(0)
    if default is not None and not default.locked:
        raise NotImplementedError(f"{path.name}: {name!r}: a workbook whose default style is unlocked")
    open_columns = _unlocked_columns(xml, looks)
    closed: set[tuple[int, int]] = set()   # cells of those columns whose own style is locked
    if interesting or open_columns:
        for match in _CELL.finditer(xml):
            attributes = match.group(1)
            style = _STYLE.search(attributes)
            index = int(style.group(1)) if style else 0
            if index not in interesting:
                if open_columns:
                    ref = _REF.search(attributes)
                    if ref:
                        where = parse_ref(ref.group(1).decode())
                        if where[1] in open_columns:
                            closed.add(where)
                continue
            ref = _REF.search(attributes)
            if not ref:
                raise NotImplementedError(f"{path.name}: {name!r} has cells without a reference")
            where = parse_ref(ref.group(1).decode())
            look = looks[int(style.group(1))]
            if look.fill:
                sheet.fills[where] = look.fill
                if look.mark:
                    sheet.marks[where] = look.mark
            if not look.locked:
                sheet.unlocked.add(where)
    # A cell with no element of its own takes its column's style (Excel's rule): the blank
    # cells of an editable column are unlocked.
    sheet.open_columns, sheet.closed = open_columns, closed
    protection = _PROTECTION.search(xml, max(xml.rfind(b"sheetData"), 0))
    if protection is not None:
        tag = protection.group(0)
        sheet.protected = (get_attribute(tag, "sheet") or "0").lower() in ("1", "true")
        sheet.allow_formatting = (get_attribute(tag, "formatCells") or "1").lower() in ("0", "false")
    sheet.notes = _notes(package, part)
    sheet.tables = _tables(package, part)
    sheet.loaded_rows = [list(row) for row in rows]
    sheet.loaded_fills = dict(sheet.fills)
    sheet.loaded_unlocked = set(sheet.unlocked)
    sheet.loaded_closed = set(sheet.closed)
    sheet.loaded_notes = {where: NoteData(note.text, note.author) for where, note in sheet.notes.items()}
    sheet.loaded_state = state
    sheet.loaded_protected = sheet.protected
    return sheet


_COLUMN = re.compile(rb"<(?:[\w.-]+:)?col\s([^>]*?)/?>")


def _unlocked_columns(xml: bytes, looks: dict[int, _StyleLook]) -> set[int]:
    """The columns (1-based) whose default style (`<col style>`) is unlocked."""
    head = xml[:max(xml.find(b"<sheetData"), 0)]
    columns: set[int] = set()
    for match in _COLUMN.finditer(head):
        tag = b"<col " + match.group(1) + b">"
        style, low, high = (get_attribute(tag.decode(), name) for name in ("style", "min", "max"))
        look = looks.get(int(style)) if style and style.isdigit() else None
        if look is not None and not look.locked and low and high and low.isdigit() and high.isdigit():
            columns.update(range(int(low), min(int(high), 16384) + 1))
    return columns


def _style_looks(book: Workbook) -> dict[int, _StyleLook]:
    styles = Styles(book.read_styles(), book.main_ns)
    marks = Marks(styles)
    fills = []
    for text in styles.items("fills"):
        if not _SOLID.search(text):
            fills.append(None)
            continue
        colour = _FG_RGB.search(text)
        rgb = colour.group(1).upper() if colour else None
        fills.append(("FF" + rgb if rgb and len(rgb) == 6 else rgb) or OTHER_FILL)
    looks = {}
    for index, xf in enumerate(styles.items("cellXfs")):
        start = xf[: xf.index(">") + 1]
        fill_id = int(get_attribute(start, "fillId") or 0)
        fill = fills[fill_id] if 0 <= fill_id < len(fills) else None
        looks[index] = _StyleLook(fill, marks.kind(index), not _UNLOCKED.search(xf))
    return looks


def _active_tab(workbook_xml: str) -> int:
    found = _ACTIVE_TAB.search(workbook_xml)
    return int(found.group(1)) if found else 0


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _notes(package: Package, sheet_part: str) -> dict[tuple[int, int], NoteData]:
    notes: dict[tuple[int, int], NoteData] = {}
    for rel in package.relationships(sheet_part):
        if rel.kind != "comments" or not rel.part or not package.has(rel.part):
            continue
        root = ElementTree.fromstring(package.read(rel.part))
        authors = [
            "".join(author.itertext())
            for block in root if _local(block.tag) == "authors"
            for author in block
        ]
        for block in root:
            if _local(block.tag) != "commentList":
                continue
            for comment in block:
                author_id = int(comment.get("authorId", "-1") or -1)
                text = "".join(t.text or "" for t in comment.iter() if _local(t.tag) == "t")
                author = authors[author_id] if 0 <= author_id < len(authors) else ""
                notes[parse_ref(comment.get("ref", "A1"))] = NoteData(text, author)
    return notes


def _tables(package: Package, sheet_part: str) -> list[TableData]:
    tables = []
    for rel in package.relationships(sheet_part):
        if rel.kind != "table" or not rel.part or not package.has(rel.part):
            continue
        root = ElementTree.fromstring(package.read(rel.part))
        top, left, bottom, right = parse_range(root.get("ref", "A1"))
        tables.append(TableData(root.get("displayName") or root.get("name") or "Table",
                                top, left, bottom, right, bottom, (top, left, right)))
    return tables
