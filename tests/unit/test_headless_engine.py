"""The headless xlwings engine: real xw.Book/Sheet/Range objects over a real .xlsx held in
memory, saved back through patch_xlsx, and read back independently (openpyxl, calamine,
LibreOffice)."""

from __future__ import annotations

import datetime as dt
import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
import xlwings as xw
from python_calamine import CalamineWorkbook

from addin import livebook
from addin.headless import SheetProtected, open_book, register, save_book
from engine.office.xlsx_owned import OwnedSheet
from tests.libreoffice import sheets_as_rows

PROBLEM, CHANGED = (255, 199, 206), (255, 235, 156)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """A People sheet as an export looks (header, ids, dates, money, an unlocked column, a
    protected sheet, a table), a user's comment and picture, an error cell, a hidden sheet."""
    path = tmp_path / "people.xlsx"
    book = xlsxwriter.Workbook(str(path))
    people = book.add_worksheet("People")
    date = book.add_format({"num_format": "yyyy-mm-dd", "locked": False})
    open_cell = book.add_format({"locked": False})
    people.write_row(0, 0, ["ID", "Name", "Born", "Amount"])
    for n in range(1, 6):
        people.write_number(n, 0, n)
        people.write_string(n, 1, f"Person {n}", open_cell)
        people.write_datetime(n, 2, dt.datetime(2000, 1, n), date)
        people.write_number(n, 3, n * 1.5, open_cell)
    people.add_table(0, 0, 5, 3, {"name": "People", "columns": [{"header": h} for h in ["ID", "Name", "Born", "Amount"]]})
    people.write_formula("F2", "=NA()", None, "#N/A")
    people.write_formula("F3", "=1/0", None, "#DIV/0!")
    people.write_comment("B2", "the user's own remark", {"author": "Alice"})
    people.insert_image("H2", "tiny.png", {"image_data": io.BytesIO(tiny_png())})
    people.protect()
    hidden = book.add_worksheet("Lists")
    hidden.write("A1", "x")
    hidden.hide()
    book.add_worksheet("Notes").write("A1", "free")
    book.close()
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_register_is_idempotent_and_a_book_is_a_real_xlwings_book(workbook):
    engine = register()
    assert register() is engine and engine.name == "headless"
    assert xw.engines["headless"] is engine
    book = open_book(workbook)
    assert isinstance(book, xw.Book) and book.name == "people.xlsx" and book.fullname == str(workbook.resolve())
    assert [s.name for s in book.sheets] == ["People", "Lists", "Notes"] and len(book.sheets) == 3
    assert book.sheets[0] == book.sheets["people"] and book.sheets[0].index == 1 and book.sheets[0].book == book
    assert book.sheets.active.name == "People"
    assert book.api.Date1904 is False
    app = book.app
    assert book in list(app.books) and app.version.major == 16
    app.screen_updating, app.calculation, app.status_bar = False, "manual", "busy"
    assert (app.screen_updating, app.calculation) == (False, "manual")
    book.set_mock_caller()
    try:
        assert xw.Book.caller() == book and xw.Book.caller().sheets[0].name == "People"
    finally:
        del xw.Book._mock_caller
    book.close()


def test_values_read_as_excel_hands_them_out(workbook):
    book = open_book(workbook)
    people = book.sheets["People"]
    assert people.used_range.address == "$A$1:$F$6"
    assert people["A2"].value == 1.0 and isinstance(people["A2"].value, float)
    assert people["C2"].value == dt.datetime(2000, 1, 1)
    assert people["F2"].value is None
    assert people.range("F2:F3").options(ndim=2, err_to_str=True).value == [["#N/A"], ["#DIV/0!"]]
    block = people.range((1, 1), (3, 2)).options(ndim=2, empty="").value
    assert block == [["ID", "Name"], [1.0, "Person 1"], [2.0, "Person 2"]]
    assert people.range("A1").expand("table").address == "$A$1:$D$6"
    assert people.range("A1:D6").last_cell.address == "$D$6" and people.range("A1:D6").shape == (6, 4)
    assert people.cells(2, 2).value == "Person 1" and people.range((2, 2)).offset(1, 0).value == "Person 2"
    assert people.api.ProtectContents is True
    assert people["B2"].api.Locked is False and people["A2"].api.Locked is True
    assert [(n.text, n.author, n.location.address) for n in people.notes] == [("the user's own remark", "Alice", "$B$2")]
    assert [(t.name, t.range.address) for t in people.tables] == [("People", "$A$1:$D$6")]
    assert book.sheets["Lists"].api.Visible == 0 and book.sheets["Lists"].visible is False
    book.close()


def test_a_protected_sheet_refuses_writes_to_locked_cells_as_excel_does(workbook):
    book = open_book(workbook)
    people = book.sheets["People"]
    people["B2"].value = "unlocked cells take a value"
    with pytest.raises(SheetProtected):
        people["A2"].value = 99
    with livebook.unprotected(people):
        people["A2"].value = 99
    assert people.api.ProtectContents is True and people["A2"].value == 99.0
    book.close()


def test_text_is_taken_as_excel_takes_typed_text(workbook):
    book = open_book(workbook)
    notes = book.sheets["Notes"]
    notes.range("A1:A5").value = [["'0123"], ["12"], ["5%"], ["TRUE"], ["plain"]]
    assert notes.range("A1:A5").value == ["0123", 12.0, 0.05, True, "plain"]
    with pytest.raises(NotImplementedError, match="formulas"):
        notes["B1"].value = "=SUM(A1:A2)"
    notes.range("C1:C2").number_format = "@"
    notes["C1"].value = "0042"
    assert notes["C1"].value == "0042"
    book.close()


def test_a_round_trip_saves_values_marks_notes_locks_and_sheets_and_nothing_else(workbook, tmp_path):
    before = members(workbook)
    book = open_book(workbook)
    people = book.sheets["People"]
    with livebook.unprotected(people):
        people["B3"].value = "Renamed"
        people["C4"].value = dt.date(2001, 2, 3)
        people["D5"].value = 42
        people.range("A7:D7").value = [7, "Person 7", dt.datetime(2000, 1, 7, 8, 30), 10.5]
        people.tables[0].resize(people.range("A1:D7"))
        people["B4"].color = PROBLEM
        people["D3"].color = "#FFEB9C"
        people["D6"].add_note("Amount looks wrong")
        people["B6"].api.Locked = True
    book.sheets["Lists"].api.Visible = 2
    report = book.sheets.add("Report", after=book.sheets[len(book.sheets) - 1])
    livebook.write_owned(book, "Report", OwnedSheet(rows=[["Name", "Total"], ["Ann", 1234.5]], bold_first_row=True,
                                                    number_formats={2: "#,##0.00"}, column_widths={1: 20},
                                                    links={"A2": "'People'!B2"}))
    assert report.range("A1:B2").value == [["Name", "Total"], ["Ann", 1234.5]]
    save_book(book)
    book.close()

    after = members(workbook)
    untouched = [name for name in before if name in after and before[name] == after[name]]
    assert any(name.startswith("xl/media/") for name in untouched)  # the picture
    assert "xl/drawings/drawing1.xml" in untouched and "xl/tables/table1.xml" not in untouched
    read = openpyxl.load_workbook(workbook)
    sheet = read["People"]
    assert [c.value for c in sheet[3]][:4] == [2, "Renamed", dt.datetime(2000, 1, 2), 3]
    assert sheet["C4"].value == dt.datetime(2001, 2, 3) and sheet["D5"].value == 42
    assert [c.value for c in sheet[7]][:4] == [7, "Person 7", dt.datetime(2000, 1, 7, 8, 30), 10.5]
    assert sheet["B4"].fill.fgColor.rgb == "FFFFC7CE" and sheet["D3"].fill.fgColor.rgb == "FFFFEB9C"
    assert sheet["B2"].comment.text == "the user's own remark" and sheet["B2"].comment.author == "Alice"
    assert sheet["D6"].comment.text == "Amount looks wrong" and sheet["D6"].comment.author == "Backoffice"
    assert sheet["B6"].protection.locked is True and sheet["B5"].protection.locked is False
    assert sheet.protection.sheet is True
    assert sheet.tables["People"].ref == "A1:D7"
    assert read["Lists"].sheet_state == "veryHidden"
    assert read.sheetnames == ["People", "Lists", "Notes", "Report"]
    assert read["Report"]["A1"].font.b and read["Report"]["B2"].number_format == "#,##0.00"
    assert read["Report"]["A2"].hyperlink.location == "'People'!B2"
    errors = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_name("People").to_python()
    assert errors[1][5] == "" and read["People"]["F2"].value == "=NA()"  # the error cell keeps its formula

    again = open_book(workbook)  # what was saved reads back the same through the engine
    people = again.sheets["People"]
    assert people["B4"].color == PROBLEM and people["D6"].note.text == "Amount looks wrong"
    assert again.sheets["Lists"].api.Visible == 2
    with livebook.unprotected(people):
        people["B4"].color = None
        people["D6"].note.delete()
        people["B2"].note.delete()  # the user's own note: deleted in Excel, so deleted here
    save_book(again)
    again.close()
    read = openpyxl.load_workbook(workbook)["People"]
    assert read["B4"].fill.fgColor.rgb != "FFFFC7CE" and read["D6"].comment is None and read["B2"].comment is None


@pytest.mark.libreoffice
def test_libreoffice_opens_the_saved_workbook(workbook, tmp_path):
    book = open_book(workbook)
    with livebook.unprotected(book.sheets["People"]):
        book.sheets["People"]["B3"].value = "Seen by LibreOffice"
        book.sheets["People"]["B3"].color = CHANGED
    livebook.write_owned(book, "Issues", OwnedSheet(rows=[["Sheet", "Problem"], ["People", "none"]],
                                                    bold_first_row=True, placement="first"))
    save_book(book, tmp_path / "saved.xlsx")
    book.close()
    sheets = sheets_as_rows(tmp_path / "saved.xlsx", tmp_path)
    assert sheets["People"][2][1] == "Seen by LibreOffice"
    assert sheets["Issues"][1] == ["People", "none"]
    assert openpyxl.load_workbook(tmp_path / "saved.xlsx").sheetnames[0] == "Issues"


def test_what_cannot_be_saved_is_refused_before_anything_is_written(workbook):
    before = workbook.read_bytes()
    for change in (
        lambda b: setattr(b.sheets["Notes"]["A1"], "color", (1, 2, 3)),
        lambda b: b.sheets["Notes"].delete(),
        lambda b: setattr(b.sheets["Notes"]["A1"].font, "bold", True),
        lambda b: b.sheets["Notes"].api.Protect(Contents=True),
        lambda b: setattr(b.sheets["Lists"], "visible", True),
        lambda b: b.sheets.add("Middle", before=b.sheets["Notes"]),
    ):
        book = open_book(workbook)
        change(book)
        with pytest.raises(NotImplementedError, match="cannot save"):
            save_book(book)
        book.close()
    assert workbook.read_bytes() == before


def test_bulk_reads_and_writes_are_fast(tmp_path):
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, [f"Column {c}" for c in range(12)])
    for r in range(1, 10_001):
        sheet.write_row(r, 0, [r, f"text {r}", r * 0.5, "x", r, r, "y", r, r, "z", r, r])
    book.close()
    started = time.perf_counter()
    workbook = open_book(path)
    opened = time.perf_counter()
    data = workbook.sheets["Data"]
    last = data.used_range.last_cell
    values = data.range((1, 1), (last.row, last.column)).options(ndim=2, err_to_str=True).value
    read = time.perf_counter()
    assert len(values) == 10_001 and len(values[0]) == 12 and values[10_000][0] == 10_000.0
    data.range((2, 1), (10_001, 12)).value = [[v if c != 1 else f"{v} changed" for c, v in enumerate(row)]
                                              for row in values[1:]]
    written = time.perf_counter()
    save_book(workbook)
    saved = time.perf_counter()
    workbook.close()
    print(f"\nopen_book {opened - started:.3f}s, bulk read 10,001 x 12 {read - opened:.3f}s, "
          f"bulk write 10,000 x 12 {written - read:.3f}s, save (10,000 cells changed) {saved - written:.3f}s")
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python()[5000][1] == "text 5000 changed"


def test_a_livebook_snapshot_reads_through_the_engine(workbook):
    book = open_book(workbook)
    snap = livebook.snapshot(book)
    assert snap is not None
    assert livebook._values(book.sheets["People"])[1][:2] == [1.0, "Person 1"]
    book.close()


def test_blank_cells_take_their_columns_format_as_in_excel(tmp_path):
    """An export formats whole editable columns unlocked (`<col style>`) and writes no cell for
    a blank: typing far below the rows is allowed there, and nowhere else, without the engine
    holding a cell for every row; a cell locked in memory is locked in the file."""
    path = tmp_path / "columns.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    sheet.set_column(1, 1, 20, book.add_format({"locked": False}))
    sheet.write_row(0, 0, ["ID", "Name"])
    sheet.write_string(1, 1, "locked by its own format", book.add_format({"locked": True}))
    sheet.protect()
    book.close()
    register()
    people = open_book(path).sheets["People"]
    people["B50000"].value = "typed far down"
    assert people["B50000"].api.Locked is False and people["B2"].api.Locked is True
    for locked in ("A50000", "B2"):
        with pytest.raises(SheetProtected):
            people[locked].value = "no"
    assert len(people.book.impl.sheet_data[0].unlocked) < 10, "no cell held a row"
    with livebook.unprotected(people):
        people["B7"].api.Locked = True
    save_book(people.book)
    saved = openpyxl.load_workbook(path)["People"]
    assert saved["B50000"].value == "typed far down"
    assert saved["B7"].protection.locked is True, "locked in memory, locked in the file"
