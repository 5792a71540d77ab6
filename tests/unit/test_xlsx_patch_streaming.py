"""patch_xlsx streams a sheet through in bounded memory, with its patches kept compactly.

A sync writes two million cells into a million-row sheet: the patches are kept in columns
(CellPatches), the sheet is read and written in slices of rows, and what comes out does not
depend on how the rows were sliced or the part chunked.
"""

from __future__ import annotations

import random
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from engine.office import xlsx_fill, xlsx_package, xlsx_patch, xlsx_sheet, xlsx_zip
from engine.office.xlsx_cell_store import CellPatches
from engine.office.xlsx_patch import (
    CellPatch,
    OwnedSheet,
    SheetPatch,
    WorkbookPatchError,
    patch_xlsx,
)
from tests.unit.xlsx_files import member, people_workbook, replace_member

SHEET_PART = "xl/worksheets/sheet1.xml"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_with_rows(path: Path, rows: bytes, dimension: bytes = b"A1:D3") -> Path:
    """The People sheet of a small workbook replaced by hand-written rows."""
    people_workbook(path)
    replace_member(path, SHEET_PART, b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS
                   + b'><dimension ref="' + dimension + b'"/><sheetData>' + rows
                   + b"</sheetData></worksheet>")
    return path


def new_rows(first: int, last: int) -> bytes:
    """Rows as the export writes a new row: empty ID and Version cells, then a name."""
    return b"".join(b'<row r="%d"><c r="A%d" s="1"/><c r="B%d" s="1"/><c r="C%d" t="inlineStr">'
                    b"<is><t>name %d</t></is></c></row>" % (n, n, n, n, n) for n in range(first, last + 1))


# -- the compact store -------------------------------------------------------------------------


def test_the_store_answers_as_the_dict_it_replaces():
    """Random puts, looks-ups, changes through `get` and deletes, the same on a dict and on
    the store: same keys, same patches, same length at every step."""
    rng = random.Random(19)
    store, plain = CellPatches(), {}
    keys = [(row, column) for row in range(1, 40) for column in range(1, 4)] + ["B7", "C30"]
    for step in range(4000):
        key = rng.choice(keys)
        action = rng.random()
        if action < 0.5:
            cell = CellPatch(rng.choice([1, 2**70, "x", None, 1.5]))
        elif action < 0.65:
            cell = CellPatch(value=rng.randint(1, 9), mark="changed", note="n")
        elif action < 0.75:
            cell = CellPatch(lock=True)
        elif action < 0.9:
            got, expected = store.get(key), plain.get(key)
            assert got == expected
            if got is not None:
                got.lock = expected.lock = True  # a change through get sticks
            continue
        else:
            if key in plain:
                del store[key], plain[key]
            else:
                with pytest.raises(KeyError):
                    del store[key]
            continue
        store[key] = cell
        plain[key] = CellPatch(cell.value, cell.mark, cell.note, cell.lock)
        if step % 97 == 0:
            assert len(store) == len(plain) and dict(store.items()) == plain
            assert all((key in store) == (key in plain) for key in keys)
    assert dict(store.items()) == plain and set(store) == set(plain) and bool(store) == bool(plain)


def test_value_only_patches_are_kept_as_arrays_not_objects():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        patch = SheetPatch()
        for row in range(2, 100_002):  # what a sync puts for the ID and Version of a new row
            patch.cells[(row, 1)] = CellPatch(row * 7)
            patch.cells[(row, 2)] = CellPatch(1)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert isinstance(patch.cells, CellPatches) and not patch.cells.whole
    assert held < 8_000_000, f"{held:,} bytes for 200,000 value-only patches"  # a dict: 41 MB
    assert len(patch.cells) == 200_000 and patch.cells[(500, 1)] == CellPatch(3500)


# -- streaming ---------------------------------------------------------------------------------


def mixed_sheet(path: Path) -> Path:
    """1,200 new rows, a few with cells missing, an array formula across many rows, a shared
    formula whose first cell is overwritten, a row with our mark style, a self-closed row."""
    rows = [new_rows(2, 400)]
    rows.append(b'<row r="401"><c r="C401"><f t="array" ref="C401:C700">{1}</f><v>1</v></c></row>')
    rows.append(new_rows(402, 600))
    rows.append(b'<row r="601"><c r="A601" s="1"/><c r="D601"><f t="shared" ref="D601:D900" si="0">'
                b"A601*2</f><v>0</v></c></row>")
    rows += [b'<row r="%d"><c r="A%d" s="1"/><c r="D%d"><f t="shared" si="0"/><v>0</v></c></row>'
             % (n, n, n) for n in range(602, 650)]
    rows.append(b'<row r="650"/>')
    rows.append(b'<row r="651"><c r="C651" t="inlineStr"><is><t>no ID cell here</t></is></c></row>')
    rows.append(new_rows(652, 1200))
    return sheet_with_rows(path, b"".join(rows), b"A1:D1200")


def mixed_patch() -> SheetPatch:
    patch = SheetPatch()
    for row in range(2, 1200):
        patch.cells[(row, 1)] = CellPatch(row * 10)
        patch.cells[(row, 2)] = CellPatch(3)
    patch.cells[(500, 3)] = CellPatch(value=5)  # inside the array formula's range
    patch.cells[(601, 4)] = CellPatch(value=7)  # the shared formula's first cell
    patch.cells[(700, 1)] = CellPatch(value=1, mark="changed", note="Changed in the database.")
    patch.cells.get((800, 2)).lock = True  # a row now posted: its Version cell locked
    patch.cells[(1205, 1)] = CellPatch(value="a new row below the last")
    patch.cells[(3, 6)] = CellPatch(value="a new cell right of the dimension")
    return patch


def test_the_sheet_comes_out_the_same_whatever_the_slices_and_chunks(tmp_path, monkeypatch):
    src = mixed_sheet(tmp_path / "in.xlsx")
    patch_xlsx(src, tmp_path / "whole.xlsx", {"People": mixed_patch()})
    monkeypatch.setattr(xlsx_sheet, "_SLICE", 300)
    monkeypatch.setattr(xlsx_package, "STREAM_CHUNK", 7)  # end tags split across chunks
    patch_xlsx(src, tmp_path / "sliced.xlsx", {"People": mixed_patch()})

    assert member(tmp_path / "sliced.xlsx", SHEET_PART) == member(tmp_path / "whole.xlsx", SHEET_PART)
    sheet = openpyxl.load_workbook(tmp_path / "sliced.xlsx")["People"]
    assert [sheet["A2"].value, sheet["B2"].value, sheet["A1199"].value] == [20, 3, 11990]
    assert sheet["A651"].value == 6510 and sheet["A651"].style_id == sheet["A649"].style_id  # style above
    assert sheet["C500"].value == 5 and sheet["C401"].value == 1  # the array became values
    assert sheet["D601"].value == 7 and sheet["D602"].value == "=A602*2"  # the group kept its formula
    assert sheet["A1205"].value == "a new row below the last" and sheet["F3"].value.startswith("a new")
    assert b'<dimension ref="A1:F1205"/>' in member(tmp_path / "sliced.xlsx", SHEET_PART)
    assert sheet["A700"].comment.text == "Changed in the database."
    assert sheet["B800"].protection.locked and sheet["B800"].value == 3


def test_the_sheet_part_is_never_read_whole(tmp_path, monkeypatch):
    """Neither the rows (streamed), nor the tab selection (the head only), nor the notes (the
    tail, met at the end of the stream) read a worksheet whole."""
    src = mixed_sheet(tmp_path / "in.xlsx")
    replace_member(src, SHEET_PART, member(src, SHEET_PART).replace(b"<sheetData>",
                   b'<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews><sheetData>'))
    read = xlsx_package.Package.read

    def refuse_worksheets(self, part):
        assert not part.startswith("xl/worksheets/sheet1"), f"{part} read whole"
        return read(self, part)

    monkeypatch.setattr(xlsx_package.Package, "read", refuse_worksheets)
    owned = {"Issues": OwnedSheet(rows=[["Cell", "Problem"]], placement="first")}
    patch_xlsx(src, tmp_path / "out.xlsx", {"People": mixed_patch()}, owned=owned)
    only_notes = SheetPatch(cells={(5, 3): CellPatch(note="a note alone")})
    patch_xlsx(tmp_path / "out.xlsx", tmp_path / "noted.xlsx", {"People": only_notes})

    monkeypatch.undo()
    out = member(tmp_path / "out.xlsx", SHEET_PART)
    assert b"tabSelected" not in out and out.endswith(b"</worksheet>")
    book = openpyxl.load_workbook(tmp_path / "noted.xlsx")
    assert book["People"]["C5"].comment.text == "a note alone" and book["People"]["A2"].value == 20


def test_a_locked_value_written_in_bulk_is_locked(tmp_path):
    """The ID of a row now posted is written and locked: the bulk fill of empty cells must
    not write the value and forget the lock."""
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 1501))
    patch = SheetPatch()
    for row in range(2, 1502):
        patch.cells[(row, 1)] = CellPatch(row)
        patch.cells[(row, 2)] = CellPatch(1)
    patch.cells.get((900, 1)).lock = True
    patch_xlsx(src, tmp_path / "out.xlsx", {"People": patch})

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet["A900"].value == 900 and sheet["A900"].protection.locked
    assert sheet["A901"].value == 901 and sheet["B900"].value == 1


def test_ids_written_while_clearing_marks_take_the_bulk_path_and_the_marks_come_off(tmp_path, monkeypatch):
    """A sync of a workbook we marked before writes its new IDs with clear_marks: the bulk
    fill writes the unmarked empty cells, the rewriter the marked ones, and the file is the
    same as the row-by-row writer makes it."""
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 1501))
    marked = patch_xlsx(src, tmp_path / "marked.xlsx", {"People": SheetPatch(cells={
        (10, 1): CellPatch(mark="problem"), (20, 2): CellPatch(value=5, mark="changed")})}).marks

    def ids() -> SheetPatch:
        patch = SheetPatch(clear_marks=True)
        for row in range(2, 1502):
            patch.cells[(row, 1)] = CellPatch(row)
        return patch

    patch_xlsx(tmp_path / "marked.xlsx", tmp_path / "bulk.xlsx", {"People": ids()}, previous_marks=marked)
    monkeypatch.setattr(xlsx_patch, "FILL_FROM", 10**9)
    patch_xlsx(tmp_path / "marked.xlsx", tmp_path / "rows.xlsx", {"People": ids()}, previous_marks=marked)

    assert member(tmp_path / "bulk.xlsx", SHEET_PART) == member(tmp_path / "rows.xlsx", SHEET_PART)
    sheet = openpyxl.load_workbook(tmp_path / "bulk.xlsx")["People"]
    assert [sheet["A10"].value, sheet["B20"].value, sheet["A1501"].value] == [10, 5, 1501]
    assert sheet["A10"].fill.fgColor.rgb != "FFFFC7CE" and sheet["B20"].fill.fgColor.rgb != "FFFFEB9C"
    assert sheet["A10"].style_id == sheet["A11"].style_id


def test_patching_a_big_sheet_holds_a_small_share_of_it(tmp_path, monkeypatch):
    """The sheet is never held whole, nor its rewritten copy: Python's peak while patching
    60,000 rows (7 MB of XML) stays a fraction of the sheet, in slices of 64 KB."""
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 60_001), b"A1:C60001")
    size = zipfile.ZipFile(src).getinfo(SHEET_PART).file_size
    assert size > 6_000_000
    monkeypatch.setattr(xlsx_sheet, "_SLICE", 64 << 10)
    monkeypatch.setattr(xlsx_package, "STREAM_CHUNK", 64 << 10)
    monkeypatch.setattr(xlsx_zip, "_WRITE_BATCH", 64 << 10)
    patch = SheetPatch()
    for row in range(2, 60_002):
        patch.cells[(row, 1)] = CellPatch(row)
        patch.cells[(row, 2)] = CellPatch(1)
    tracemalloc.start()
    try:
        patch_xlsx(src, tmp_path / "out.xlsx", {"People": patch})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 2, f"peak {peak:,} bytes for a sheet of {size:,}"
    assert b'<c r="A60001" s="1"><v>60001</v></c><c r="B60001" s="1"><v>1</v></c>' in member(
        tmp_path / "out.xlsx", SHEET_PART)


@pytest.mark.parametrize("slice_bytes", [4 << 20, 100])
def test_rows_out_of_order_are_refused_wherever_the_slices_end(tmp_path, monkeypatch, slice_bytes):
    monkeypatch.setattr(xlsx_sheet, "_SLICE", slice_bytes)
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 40) + new_rows(30, 31))
    with pytest.raises(WorkbookPatchError, match="row 30 comes after row 40"):
        patch_xlsx(src, src, {"People": SheetPatch(cells={(2, 1): CellPatch(1)})})


def test_an_empty_sheet_data_gets_its_rows(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    replace_member(src, SHEET_PART, b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS
                   + b'><dimension ref="A1"/><sheetData/><pageMargins left="0.7" right="0.7" top="0.75" '
                   b'bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
    patch_xlsx(src, src, {"People": SheetPatch(cells={(2, 2): CellPatch("b2"), (1, 1): CellPatch(1)})})

    sheet = member(src, SHEET_PART)
    assert b'<dimension ref="A1:B2"/>' in sheet and b"</sheetData><pageMargins" in sheet
    assert openpyxl.load_workbook(src)["People"]["B2"].value == "b2"


# -- the leading cells of new rows (xlsx_leading_cells) ------------------------------------------


def odd_new_rows(first: int, last: int) -> bytes:
    """New rows as `new_rows`, with now and then a row the quick path cannot take whole: an
    ID cell already filled, styles written `s="0"` or `s="01"`, a cell with another
    attribute, a space before `/>`, a row without the cells, a formula."""
    rows = []
    for n in range(first, last + 1):
        a, b = b'<c r="A%d" s="1"/>' % n, b'<c r="B%d" s="1"/>' % n
        if n % 97 == 0:
            a = b'<c r="A%d" s="1"><v>5</v></c>' % n
        elif n % 89 == 0:
            a = b'<c r="A%d" s="0"/>' % n
        elif n % 83 == 0:
            b = b'<c r="B%d" s="01"/>' % n
        elif n % 79 == 0:
            a = b'<c r="A%d" s="1" ph="1"/>' % n
        elif n % 73 == 0:
            b = b'<c r="B%d" s="1" />' % n
        elif n % 71 == 0:
            a = b = b""
        elif n % 67 == 0:
            b += b'<c r="D%d"><f>A%d*2</f><v>0</v></c>' % (n, n)
        rows.append(b'<row r="%d">%s%s<c r="C%d" t="inlineStr"><is><t>name %d</t></is></c></row>' % (n, a, b, n, n))
    return b"".join(rows)


def ids_and_versions(last: int, clear_marks: bool = False) -> SheetPatch:
    patch = SheetPatch(clear_marks=clear_marks)
    for row in range(2, last + 1):
        patch.cells.add_values(row, {1: row * 3, 2: 1})
    patch.cells[(40, 3)] = CellPatch(value="Ann", mark="changed", note="Changed in the database.")
    patch.cells[(300, 2)] = CellPatch(value=2, lock=True)
    patch.cells[(301, 1)] = CellPatch(value="a text, not a number")
    return patch


@pytest.mark.parametrize("slice_bytes", [4 << 20, 3000, 300])
@pytest.mark.parametrize("odd", [False, True])
def test_ids_into_the_leading_cells_of_new_rows_come_out_as_the_other_paths_write_them(tmp_path, monkeypatch,
                                                                                         slice_bytes, odd):
    """The IDs and Versions of new rows go into the empty cells that start each row by one
    split of each slice (xlsx_leading_cells); the sheet is byte for byte what the substitution
    of xlsx_fill and the row-by-row rewriter make, however the rows are sliced and whatever
    odd rows they hold."""
    src = sheet_with_rows(tmp_path / "in.xlsx", (odd_new_rows if odd else new_rows)(2, 1600), b"A1:D1600")
    monkeypatch.setattr(xlsx_sheet, "_SLICE", slice_bytes)
    patch_xlsx(src, tmp_path / "quick.xlsx", {"People": ids_and_versions(1600)})
    monkeypatch.setattr(xlsx_fill, "leading_cells", lambda *args: None)
    patch_xlsx(src, tmp_path / "substituted.xlsx", {"People": ids_and_versions(1600)})
    monkeypatch.setattr(xlsx_patch, "FILL_FROM", 10**9)
    patch_xlsx(src, tmp_path / "rows.xlsx", {"People": ids_and_versions(1600)})

    quick = member(tmp_path / "quick.xlsx", SHEET_PART)
    assert quick == member(tmp_path / "substituted.xlsx", SHEET_PART)
    if not odd:  # (odd cells are written as the substitution writes them, where it takes them)
        assert quick == member(tmp_path / "rows.xlsx", SHEET_PART)
    sheet = openpyxl.load_workbook(tmp_path / "quick.xlsx")["People"]
    assert [sheet["A2"].value, sheet["B2"].value, sheet["A1600"].value, sheet["A301"].value] == [
        6, 1, 4800, "a text, not a number"]
    assert sheet["B300"].value == 2 and sheet["B300"].protection.locked
    assert sheet["C40"].comment.text == "Changed in the database."


def test_ids_beside_texts_come_out_as_the_substitution_writes_them(tmp_path, monkeypatch):
    """Integers into the first cells, texts into the next ones: the quick path takes the
    integers, the substitution the texts, and the sheet is what the substitution alone makes."""
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 1501))

    def patch() -> SheetPatch:
        patch = SheetPatch()
        for row in range(2, 1502):
            patch.cells.add_values(row, {1: row, 2: f"v{row}"})
        return patch

    monkeypatch.setattr(xlsx_sheet, "_SLICE", 30000)  # a few hundred rows a slice: more than _FEW_ROWS
    patch_xlsx(src, tmp_path / "quick.xlsx", {"People": patch()})
    monkeypatch.setattr(xlsx_fill, "leading_cells", lambda *args: None)
    patch_xlsx(src, tmp_path / "substituted.xlsx", {"People": patch()})

    assert member(tmp_path / "quick.xlsx", SHEET_PART) == member(tmp_path / "substituted.xlsx", SHEET_PART)
    sheet = openpyxl.load_workbook(tmp_path / "quick.xlsx")["People"]
    assert [sheet["A1501"].value, sheet["B1501"].value, sheet["B2"].style_id] == [1501, "v1501", sheet["B3"].style_id]


def test_ids_written_while_clearing_marks_on_id_cells_come_out_as_the_other_paths_write_them(tmp_path, monkeypatch):
    """A cell wearing a mark being cleared is the rewriter's: the quick path leaves it."""
    src = sheet_with_rows(tmp_path / "in.xlsx", new_rows(2, 1501))
    marked = patch_xlsx(src, tmp_path / "marked.xlsx", {"People": SheetPatch(cells={
        (10, 1): CellPatch(mark="problem"), (20, 2): CellPatch(mark="changed"), (30, 3): CellPatch(mark="problem")})}).marks
    patch_xlsx(tmp_path / "marked.xlsx", tmp_path / "quick.xlsx", {"People": ids_and_versions(1501, True)},
               previous_marks=marked)
    monkeypatch.setattr(xlsx_fill, "leading_cells", lambda *args: None)
    patch_xlsx(tmp_path / "marked.xlsx", tmp_path / "substituted.xlsx", {"People": ids_and_versions(1501, True)},
               previous_marks=marked)

    assert member(tmp_path / "quick.xlsx", SHEET_PART) == member(tmp_path / "substituted.xlsx", SHEET_PART)
    sheet = openpyxl.load_workbook(tmp_path / "quick.xlsx")["People"]
    assert [sheet["A10"].value, sheet["B20"].value] == [30, 1]
    assert sheet["A10"].fill.fgColor.rgb != "FFFFC7CE" and sheet["A10"].style_id == sheet["A11"].style_id


def test_values_added_without_patch_objects_are_the_same_patches():
    by_object, by_value = CellPatches(), CellPatches()
    by_object[(7, 3)] = by_value[(7, 3)] = CellPatch(mark="problem")
    for row in (5, 6, 7, 3, 6):
        by_object[(row, 1)] = CellPatch(row * 2)
        by_object[(row, 3)] = CellPatch(f"text {row}")
        by_value.add_values(row, {1: row * 2, 3: f"text {row}"})
    by_object[(8, 2)] = CellPatch(2**70)
    by_value.add_value(8, 2, 2**70)
    assert dict(by_value.items()) == dict(by_object.items()) and len(by_value) == len(by_object) == 9


def test_a_part_deflated_in_its_own_thread_holds_what_was_written_in_order():
    part = xlsx_zip.DeflatedPart()
    written = [bytes([n % 251]) * (n * 997 % (3 << 20)) for n in range(1, 40)]
    try:
        for chunk in written:
            part.write(memoryview(chunk) if len(chunk) % 2 else chunk)
        part.finish()
        assert b"".join(part.chunks()) == b"".join(written)
        assert part.size == sum(map(len, written))
    finally:
        part.close()
