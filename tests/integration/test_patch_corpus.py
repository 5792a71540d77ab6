"""patch_xlsx on real-world workbooks written by other programs (the shared corpus).

For each file we can read, the first worksheet gets a value beyond its used range, a new value
in an existing cell with a mark and a note, and the workbook gets an owned sheet. Then: the
values read back, every part we have no business touching is byte-identical (pictures,
pivot tables, macros, other sheets...), and LibreOffice still opens a handful of them.
"""

from __future__ import annotations

import posixpath
import shutil
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from python_calamine import CalamineWorkbook, SheetTypeEnum

from engine.office.xlsx_patch import (
    CellPatch,
    OwnedSheet,
    SheetPatch,
    WorkbookPatchError,
    patch_xlsx,
)
from tests.libreoffice import sheets_as_rows

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FILES = (
    sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm"))
    if CORPUS.is_dir()
    else []
)
# Parts that must be among the untouched ones, proving pictures and pivots survive.
MUST_SURVIVE = {
    "picture.xlsx": ("xl/media/", "xl/drawings/drawing"),
    "pivots.xlsx": ("xl/pivotcache/", "xl/pivottables/"),
    "vba.xlsm": ("xl/vbaproject.bin",),
}
LIBREOFFICE_FILES = [
    "picture.xlsx",
    "pivots.xlsx",
    "Book1.xlsx",
    "vba.xlsm",
    "nonstandard-xml-ns-prefix.xlsx",
]
BEYOND, EXISTING = "Backoffice beyond", "Backoffice existing"

pytestmark = pytest.mark.skipif(not FILES, reason=f"the shared corpus is missing ({CORPUS})")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CORPUS)) for p in paths]


def first_worksheet(path: Path) -> tuple[str, list[list], tuple[int, int]]:
    """(name, values, (first row, first column) 0-based) of the first worksheet, or skip."""
    if not zipfile.is_zipfile(path):
        pytest.skip("encrypted or not a zip package")
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = [s.name for s in book.sheets_metadata if s.typ == SheetTypeEnum.WorkSheet]
        if not names:
            pytest.skip("no worksheet")
        sheet = book.get_sheet_by_name(names[0])
        return names[0], sheet.to_python(), sheet.start or (0, 0)
    except Exception as exc:  # calamine cannot read it: not a file this test is about
        pytest.skip(f"python-calamine cannot open it: {exc}")


def a1(row: int, column: int) -> str:
    """1-based row and column -> 'C7'."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def patch_plan(values: list[list], start: tuple[int, int]) -> tuple[str, str]:
    """A cell beyond the used range and an existing, non-empty cell (or A1 on an empty sheet)."""
    height, width = len(values), max((len(row) for row in values), default=0)
    beyond = a1(start[0] + height + 3, start[1] + width + 1)
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            if value not in ("", None):
                return beyond, a1(start[0] + r + 1, start[1] + c + 1)
    return beyond, "A1"


def value_at(values: list[list], start: tuple[int, int], ref: str):
    column = 0
    letters = ref.rstrip("0123456789")
    for char in letters:
        column = column * 26 + ord(char) - 64
    r, c = int(ref[len(letters) :]) - 1 - start[0], column - 1 - start[1]
    return values[r][c] if 0 <= r < len(values) and 0 <= c < len(values[r]) else None


def allowed_parts(path: Path, sheet_name: str) -> set[str]:
    """Lower-cased part names patch_xlsx may change: the sheet and its own parts, styles, ..."""
    with zipfile.ZipFile(path) as package:
        names = {n.replace("\\", "/").lstrip("/").lower(): n for n in package.namelist()}

        def rels(part: str) -> list[tuple[str, str, str]]:
            folder, name = posixpath.split(part)
            rels_name = posixpath.join(folder, "_rels", f"{name}.rels").lower()
            if rels_name not in names:
                return []
            found = []
            for rel in ElementTree.fromstring(package.read(names[rels_name])):
                target = unquote(rel.get("Target", ""))
                if rel.get("TargetMode") == "External":
                    continue
                resolved = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target))
                )
                found.append(
                    (rel.get("Id"), rel.get("Type", "").rsplit("/", 1)[-1], resolved.lower())
                )
            return found

        workbook = next(t for _, kind, t in rels("") if kind == "officeDocument")
        book_rels = rels(workbook)
        root = ElementTree.fromstring(package.read(names[workbook]))
        sheet_rel = next(
            v
            for el in root.iter()
            if el.tag.endswith("}sheet") and el.get("name") == sheet_name
            for k, v in el.attrib.items()
            if k.endswith("}id")
        )
        sheet = next(t for i, _, t in book_rels if i == sheet_rel)
        sheet_parts = {
            t for _, kind, t in rels(sheet) if kind in ("comments", "vmlDrawing", "table")
        }

    def rels_of(part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", f"{name}.rels")

    allowed = {sheet, rels_of(sheet), workbook, rels_of(workbook), "[content_types].xml"}
    allowed |= {t for _, kind, t in book_rels if kind in ("styles", "calcChain")}
    return allowed | sheet_parts


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_patching_the_first_sheet_keeps_everything_else(path, tmp_path):
    sheet, values, start = first_worksheet(path)
    work = tmp_path / path.name
    shutil.copy(path, work)
    beyond, existing = patch_plan(values, start)
    request = {
        sheet: SheetPatch(
            cells={
                beyond: CellPatch(value=BEYOND),
                existing: CellPatch(value=EXISTING, mark="problem", note="Backoffice checked this"),
            }
        )
    }
    owned = {"_backoffice_test": OwnedSheet(rows=[["patched", path.name]], state="veryHidden")}

    try:
        result = patch_xlsx(work, work, request, owned=owned)
    except WorkbookPatchError as refused:  # allowed, but then the file is exactly as it was
        assert str(work) in str(refused)
        assert work.read_bytes() == path.read_bytes()
        assert [p.name for p in tmp_path.iterdir()] == [path.name]
        return

    after = CalamineWorkbook.from_path(str(work)).get_sheet_by_name(sheet)
    new_values, new_start = after.to_python(), after.start or (0, 0)
    assert value_at(new_values, new_start, beyond) == BEYOND
    assert value_at(new_values, new_start, existing) == EXISTING
    assert sheet in result.marks and existing in result.marks[sheet]

    allowed = allowed_parts(path, sheet)
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(work) as new:
        untouched = [n for n in old.namelist() if n.replace("\\", "/").lower() not in allowed]
        new_names = set(new.namelist())
        changed = [n for n in untouched if n not in new_names or old.read(n) != new.read(n)]
        assert not changed, f"parts changed that we do not own: {changed}"
        assert new.testzip() is None  # every member's checksum holds
    for prefix in MUST_SURVIVE.get(path.name, ()):
        assert any(n.replace("\\", "/").lower().startswith(prefix) for n in untouched), prefix


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", LIBREOFFICE_FILES)
def test_libreoffice_opens_the_patched_file(name, tmp_path):
    path = next((p for p in FILES if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not in the corpus")
    sheet, values, start = first_worksheet(path)
    work = tmp_path / path.name
    shutil.copy(path, work)
    beyond, existing = patch_plan(values, start)
    patch_xlsx(
        work,
        work,
        {
            sheet: SheetPatch(
                cells={
                    beyond: CellPatch(value=BEYOND),
                    existing: CellPatch(value=EXISTING, mark="changed", note="n"),
                }
            )
        },
        owned={"_backoffice_test": OwnedSheet(rows=[["owned"]], state="hidden")},
    )

    sheets = sheets_as_rows(work, tmp_path)
    assert sheet in sheets and "_backoffice_test" in sheets
    cells = [value for row in sheets[sheet] for value in row]
    assert BEYOND in cells  # the existing cell may be inside a pivot table LibreOffice refreshes
