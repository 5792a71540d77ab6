"""patch_xlsx writes values, marks and notes into a workbook and leaves everything else alone."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from engine.office.xlsx_patch import (
    CellPatch,
    OwnedSheet,
    SheetPatch,
    WorkbookPatchError,
    patch_xlsx,
)
from tests.unit.xlsx_files import member, members, people_workbook, replace_member

PROBLEM, CHANGED = "FFFFC7CE", "FFFFEB9C"


# -- helpers ---------------------------------------------------------------------------------


def values(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def rich_workbook(path: Path) -> Path:
    """An xlsxwriter workbook with a table, dates, a user's comment, a conditional format,
    a picture, a defined name and a second sheet."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.add_table(
        "A1:C4",
        {
            "name": "PeopleTable",
            "columns": [
                {"header": "Name"},
                {"header": "Born", "format": date},
                {"header": "Score"},
            ],
            "data": [
                ["Ann", dt.date(1990, 1, 2), 7],
                ["Bob", dt.date(1985, 5, 6), 3],
                ["Cid", dt.date(2001, 9, 9), 9],
            ],
        },
    )
    sheet.write_comment("A2", "Ann asked to be called Annie", {"author": "Alice"})
    sheet.conditional_format(
        "C2:C4",
        {"type": "cell", "criteria": ">", "value": 5, "format": book.add_format({"bold": True})},
    )
    sheet.insert_image("E2", "tiny.png", {"image_data": io.BytesIO(tiny_png())})
    book.define_name("Scores", "=People!$C$2:$C$4")
    book.add_worksheet("Other").write("A1", "untouched")
    book.close()
    return path


# -- values ----------------------------------------------------------------------------------


def test_values_are_written_with_their_types(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "A2": CellPatch(value=10),
                    "B2": CellPatch(value="Annie"),
                    "C2": CellPatch(value=None),
                    "D2": CellPatch(value=Decimal("12.50")),
                    "E2": CellPatch(value=True),
                    "F2": CellPatch(value=2.25),
                    "G2": CellPatch(value=dt.datetime(2024, 3, 1, 12, 30)),
                }
            )
        },
    )

    row = values(tmp_path / "out.xlsx", "People")[1]
    assert row[:6] == [10, "Annie", "", 12.5, True, 2.25]
    assert row[6] == dt.datetime(2024, 3, 1, 12, 30)
    xml = member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")
    assert b"<v>12.50</v>" in xml  # Decimal written exactly
    assert "sharedStrings" not in str(set(members(tmp_path / "out.xlsx")) - set(members(src)))


def test_a_date_in_a_new_row_gets_the_date_format_of_the_cell_above(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {"People": SheetPatch(cells={"C4": CellPatch(value=dt.date(2000, 2, 29))})},
    )

    assert values(tmp_path / "out.xlsx", "People")[3][2] == dt.date(2000, 2, 29)
    cell = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]["C4"]
    assert cell.is_date and cell.number_format == "yyyy-mm-dd"


def test_dates_honour_the_1904_date_system(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx", date1904=True)
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {"People": SheetPatch(cells={"C2": CellPatch(value=dt.date(2024, 1, 31))})},
    )

    assert values(tmp_path / "out.xlsx", "People")[1][2] == dt.date(2024, 1, 31)
    serial = (dt.date(2024, 1, 31) - dt.date(1904, 1, 1)).days
    assert f"<v>{serial}</v>".encode() in member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    "text", ["=1+1", "+SUM(A1)", "-2+3", "@A1", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]
)
def test_text_that_looks_like_a_formula_stays_text(tmp_path, text):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"B3": CellPatch(value=text)})}
    )

    cell = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]["B3"]
    assert cell.data_type == "s" and cell.value == text
    assert b"<f>" not in member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")


def test_text_is_escaped_and_read_back_exactly(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    text = '  <b>Tom & "Jerry"</b> _x000D_ ünïcode  '
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "B2": CellPatch(value=text),
                    "B3": CellPatch(value="bell\x07 gone"),
                }
            )
        },
    )

    assert values(tmp_path / "out.xlsx", "People")[1][1] == text
    assert values(tmp_path / "out.xlsx", "People")[2][1] == "bell gone"


def test_writing_over_a_formula_removes_it_and_the_calculation_chain(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx", formula=True)
    add_calc_chain(src)
    patch_xlsx(src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"D2": CellPatch(value=5)})})

    out = members(tmp_path / "out.xlsx")
    assert "xl/calcChain.xml" not in out
    assert b"calcChain" not in out["[Content_Types].xml"] + out["xl/_rels/workbook.xml.rels"]
    assert openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]["D2"].value == 5


def add_calc_chain(path: Path) -> None:
    replace_member(
        path,
        "xl/calcChain.xml",
        b'<calcChain xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><c r="D2" i="1"/></calcChain>',
    )
    rels = member(path, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
    )
    replace_member(path, "xl/_rels/workbook.xml.rels", rels)
    types = member(path, "[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
    )
    replace_member(path, "[Content_Types].xml", types)


def with_rows(path: Path, rows_xml: bytes, prefix: bytes = b"") -> Path:
    """Replace the first sheet's rows by hand-written XML (shapes openpyxl never writes)."""
    p = prefix + b":" if prefix else b""
    namespace = b"xmlns" + (b":" + prefix if prefix else b"")
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><'
        + p
        + b"worksheet "
        + namespace
        + b'="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><'
        + p
        + b'dimension ref="A1:C3"/><'
        + p
        + b"sheetData>"
        + rows_xml
        + b"</"
        + p
        + b"sheetData></"
        + p
        + b"worksheet>"
    )
    replace_member(path, "xl/worksheets/sheet1.xml", sheet)
    return path


def test_a_shared_formula_survives_when_its_first_cell_is_overwritten(tmp_path):
    src = with_rows(
        people_workbook(tmp_path / "in.xlsx"),
        (
            b'<row r="1"><c r="A1"><v>1</v></c><c r="B1"><f t="shared" ref="B1:B3" si="0">A1*2</f><v>2</v></c></row>'
            b'<row r="2"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" si="0"/><v>4</v></c></row>'
            b'<row r="3"><c r="A3"><v>3</v></c><c r="B3"><f t="shared" si="0"/><v>6</v></c></row>'
        ),
    )
    patch_xlsx(
        src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"B1": CellPatch(value=99)})}
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert [sheet["B1"].value, sheet["B2"].value, sheet["B3"].value] == [99, "=A2*2", "=A3*2"]


def test_a_value_inside_an_array_formula_turns_the_array_into_values(tmp_path):
    src = with_rows(
        people_workbook(tmp_path / "in.xlsx"),
        (
            b'<row r="1"><c r="A1"><f t="array" ref="A1:A2">{1;2}</f><v>1</v></c></row>'
            b'<row r="2"><c r="A2"><v>2</v></c></row>'
        ),
    )
    patch_xlsx(src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"A2": CellPatch(value=5)})})

    assert b"<f" not in member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")
    assert values(tmp_path / "out.xlsx", "People") == [[1.0], [5]]


def test_rows_and_cells_without_references_and_prefixed_elements_are_patched(tmp_path):
    src = with_rows(
        people_workbook(tmp_path / "in.xlsx"),
        b"<x:row><x:c><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c></x:row>"
        b'<x:row r="3"><x:c><x:v>3</x:v></x:c></x:row>',
        prefix=b"x",
    )
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "A1": CellPatch(value="one"),
                    "D1": CellPatch(value="four"),
                    "B2": CellPatch(value="new"),
                }
            )
        },
    )

    assert values(tmp_path / "out.xlsx", "People") == [
        ["one", 2.0, "", "four"],
        ["", "new", "", ""],
        [3.0, "", "", ""],
    ]
    assert b'<x:dimension ref="A1:D3"/>' in member(
        tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml"
    )


# -- marks and notes -------------------------------------------------------------------------


def test_marks_fill_cells_keep_their_format_and_report_the_original_style(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    before = openpyxl.load_workbook(src)["People"]
    result = patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "B2": CellPatch(mark="problem", note="Name is required"),
                    "C3": CellPatch(value=dt.date(1985, 5, 7), mark="changed"),
                    "E9": CellPatch(mark="problem"),
                }
            )
        },
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet["B2"].fill.fgColor.rgb == PROBLEM and sheet["B2"].font.b
    assert sheet["C3"].fill.fgColor.rgb == CHANGED and sheet["C3"].number_format == "yyyy-mm-dd"
    assert sheet["E9"].fill.fgColor.rgb == PROBLEM
    assert (
        sheet["B2"].comment.author == "Backoffice"
        and sheet["B2"].comment.text == "Name is required"
    )
    assert result.marks == {
        "People": {"B2": before["B2"].style_id, "C3": before["C3"].style_id, "E9": 0}
    }


def test_clearing_marks_restores_styles_and_removes_only_our_notes(tmp_path):
    src = rich_workbook(tmp_path / "in.xlsx")
    first = patch_xlsx(
        src,
        tmp_path / "marked.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "A2": CellPatch(mark="problem", note="clashes with the user's comment"),
                    "B3": CellPatch(mark="changed", note="was 1985-05-06"),
                }
            )
        },
    )
    assert first.notes_skipped == {"People": ["A2"]}
    patch_xlsx(
        tmp_path / "marked.xlsx",
        tmp_path / "cleared.xlsx",
        {"People": SheetPatch(clear_marks=True)},
        previous_marks=first.marks,
    )

    original = openpyxl.load_workbook(src)["People"]
    sheet = openpyxl.load_workbook(tmp_path / "cleared.xlsx")["People"]
    assert sheet["A2"].style_id == original["A2"].style_id
    assert sheet["B3"].style_id == original["B3"].style_id and sheet["B3"].is_date
    assert (
        sheet["A2"].comment.author == "Alice"
        and sheet["A2"].comment.text == original["A2"].comment.text
    )
    assert sheet["B3"].comment is None
    vml = member(tmp_path / "cleared.xlsx", "xl/drawings/vmlDrawing1.vml")
    assert vml.count(b'ObjectType="Note"') == 1  # the user's note box is still there


def test_clearing_the_last_note_removes_the_comment_parts_we_added(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    marked = patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {"People": SheetPatch(cells={"A2": CellPatch(mark="problem", note="check")})},
    )
    patch_xlsx(
        tmp_path / "out.xlsx",
        tmp_path / "out.xlsx",
        {"People": SheetPatch(clear_marks=True)},
        previous_marks=marked.marks,
    )

    names = set(members(tmp_path / "out.xlsx"))
    assert not any("comments" in name or name.endswith(".vml") for name in names)
    assert b"legacyDrawing" not in member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")


def test_a_cell_restyled_by_the_user_keeps_their_style_when_our_mark_goes(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    marked = patch_xlsx(
        src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"A3": CellPatch(mark="problem")})}
    )
    xml = member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml")
    date_style = re.search(rb'<c r="C2"[^>]*? s="(\d+)"', xml).group(1)
    restyled = re.sub(rb'(<c r="A3"[^>]*?) s="\d+"', rb'\1 s="' + date_style + b'"', xml)
    replace_member(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml", restyled)  # the user's doing

    patch_xlsx(
        tmp_path / "out.xlsx",
        tmp_path / "out.xlsx",
        {"People": SheetPatch(cells={"A3": CellPatch(mark=None)})},
        previous_marks=marked.marks,
    )

    cell = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]["A3"]
    assert cell.number_format == "yyyy-mm-dd" and cell.fill.fgColor.rgb != PROBLEM


def mark_cells(src, dst, marks: dict[str, str]):
    """Mark cells of the People sheet ("B2" -> "problem"); returns the PatchResult."""
    cells = {ref: CellPatch(mark=kind) for ref, kind in marks.items()}
    return patch_xlsx(src, dst, {"People": SheetPatch(cells=cells)})


def test_marks_are_cleared_after_another_program_saved_and_moved_them(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    marked = mark_cells(src, tmp_path / "out.xlsx", {"B2": "problem", "C3": "changed"})
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")  # rewrites every style on save
    book["People"].insert_rows(1)  # and the marked cells move down a row
    book.save(tmp_path / "out.xlsx")

    patch_xlsx(
        tmp_path / "out.xlsx",
        tmp_path / "out.xlsx",
        {"People": SheetPatch(clear_marks=True)},
        previous_marks=marked.marks,
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    fills = {cell.coordinate: cell.fill.fgColor.rgb for row in sheet.iter_rows() for cell in row}
    assert PROBLEM not in fills.values() and CHANGED not in fills.values()
    assert sheet["B3"].font.b and sheet["C4"].number_format == "yyyy-mm-dd"


def test_excels_own_bad_cell_style_is_not_taken_for_our_mark(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "People"
    book.active["A1"] = "flagged by the user"
    book.active["A1"].style = "Bad"  # Excel's built-in style: the same light red as our mark
    book.save(tmp_path / "book.xlsx")

    patch_xlsx(
        tmp_path / "book.xlsx", tmp_path / "book.xlsx", {"People": SheetPatch(clear_marks=True)}
    )

    assert (
        openpyxl.load_workbook(tmp_path / "book.xlsx")["People"]["A1"].fill.fgColor.rgb == PROBLEM
    )


def test_a_value_written_while_clearing_marks_leaves_the_cell_unmarked(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    marked = mark_cells(src, tmp_path / "out.xlsx", {"B2": "problem", "B3": "problem"})
    patch_xlsx(
        tmp_path / "out.xlsx",
        tmp_path / "out.xlsx",
        {"People": SheetPatch(clear_marks=True, cells={"B2": CellPatch(value="Annie")})},
        previous_marks=marked.marks,
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet["B2"].value == "Annie" and sheet["B2"].font.b
    assert sheet["B2"].fill.fgColor.rgb != PROBLEM and sheet["B3"].fill.fgColor.rgb != PROBLEM


def test_remarking_keeps_the_original_style_and_untouched_marks_carry_forward(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    bold = openpyxl.load_workbook(src)["People"]["B2"].style_id
    first = patch_xlsx(
        src,
        tmp_path / "one.xlsx",
        {
            "People": SheetPatch(
                cells={"B2": CellPatch(mark="problem"), "A3": CellPatch(mark="problem")}
            )
        },
    )
    second = patch_xlsx(
        tmp_path / "one.xlsx",
        tmp_path / "two.xlsx",
        {"People": SheetPatch(cells={"B2": CellPatch(mark="changed")})},
        previous_marks=first.marks,
    )
    third = patch_xlsx(
        tmp_path / "two.xlsx",
        tmp_path / "three.xlsx",
        {"People": SheetPatch(cells={"B2": CellPatch(mark=None)})},
        previous_marks=second.marks,
    )

    assert second.marks == {"People": {"B2": bold, "A3": 0}}
    assert third.marks == {"People": {"A3": 0}}
    sheet = openpyxl.load_workbook(tmp_path / "three.xlsx")["People"]
    assert sheet["B2"].style_id == bold and sheet["A3"].fill.fgColor.rgb == PROBLEM
    styles = member(tmp_path / "three.xlsx", "xl/styles.xml")
    assert styles.count(PROBLEM.encode()) == 1  # our fill is added once, then reused


def test_a_new_cell_below_a_marked_cell_does_not_copy_the_mark(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={"C3": CellPatch(mark="problem"), "C4": CellPatch(value=dt.date(2001, 1, 1))}
            )
        },
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet["C4"].fill.fgColor.rgb != PROBLEM and sheet["C4"].is_date


def test_notes_are_replaced_and_removed_one_by_one(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={"A2": CellPatch(note="first"), "A3": CellPatch(note="other")}
            )
        },
    )
    patch_xlsx(
        tmp_path / "out.xlsx",
        tmp_path / "out.xlsx",
        {"People": SheetPatch(cells={"A2": CellPatch(note="second"), "A3": CellPatch(note=None)})},
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet["A2"].comment.text == "second" and sheet["A3"].comment is None


def test_an_unknown_mark_is_refused(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    with pytest.raises(ValueError, match="mark"):
        patch_xlsx(
            src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"A2": CellPatch(mark="red")})}
        )
    assert not (tmp_path / "out.xlsx").exists()


# -- tables and owned sheets -----------------------------------------------------------------


def test_the_table_and_its_filter_grow_to_the_last_row(tmp_path):
    src = rich_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={"A5": CellPatch(value="Dee"), "B5": CellPatch(value=dt.date(1999, 9, 9))},
                table_last_row=5,
            )
        },
    )

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    table = sheet.tables["PeopleTable"]
    assert table.ref == "A1:C5" and table.autoFilter.ref == "A1:C5"
    assert sheet["B5"].is_date and values(tmp_path / "out.xlsx", "People")[4][:2] == [
        "Dee",
        dt.date(1999, 9, 9),
    ]


def test_an_owned_sheet_is_created_very_hidden_with_links_and_a_bold_header(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {},
        owned={
            "Issues": OwnedSheet(
                rows=[
                    ["Sheet", "Cell", "Problem", "Seen"],
                    ["People", "B2", "required", dt.date(2024, 5, 1)],
                ],
                state="veryHidden",
                links={"B2": "'People'!B2"},
                column_widths={3: 40},
                bold_first_row=True,
            )
        },
    )

    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    issues = book["Issues"]
    assert book.sheetnames == ["People", "Notes", "Issues"]
    assert issues.sheet_state == "veryHidden"
    assert issues["B2"].hyperlink.location == "'People'!B2"
    assert issues["A1"].font.b and not issues["A2"].font.b
    assert issues["D2"].is_date and issues.column_dimensions["C"].width == 40
    assert values(tmp_path / "out.xlsx", "Issues")[1][:3] == ["People", "B2", "required"]


def test_an_owned_sheet_is_replaced_whole(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "one.xlsx",
        {},
        owned={"_backoffice": OwnedSheet(rows=[["id", "abc"], ["rows", 3]], state="hidden")},
    )
    patch_xlsx(
        tmp_path / "one.xlsx",
        tmp_path / "two.xlsx",
        {},
        owned={"_backoffice": OwnedSheet(rows=[["id", "xyz"]], state="veryHidden")},
    )

    book = openpyxl.load_workbook(tmp_path / "two.xlsx")
    assert book.sheetnames == ["People", "Notes", "_backoffice"]
    assert book["_backoffice"].sheet_state == "veryHidden"
    assert values(tmp_path / "two.xlsx", "_backoffice") == [["id", "xyz"]]


def test_hiding_every_sheet_is_refused(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    with pytest.raises(ValueError, match="visible"):
        patch_xlsx(
            src,
            tmp_path / "out.xlsx",
            {},
            owned={
                "People": OwnedSheet(rows=[], state="hidden"),
                "Notes": OwnedSheet(rows=[], state="hidden"),
            },
        )


# -- the rest of the package -----------------------------------------------------------------


def test_parts_we_do_not_own_are_copied_byte_for_byte(tmp_path):
    src = rich_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src,
        tmp_path / "out.xlsx",
        {
            "People": SheetPatch(
                cells={
                    "C3": CellPatch(value=8, mark="problem", note="too high"),
                    "A9": CellPatch(value="x"),
                },
                table_last_row=4,
            )
        },
        owned={"Issues": OwnedSheet(rows=[["a"]], state="hidden")},
    )

    before, after = members(src), members(tmp_path / "out.xlsx")
    allowed = {
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "xl/comments1.xml",
        "xl/drawings/vmlDrawing1.vml",
        "xl/styles.xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "xl/tables/table1.xml",
    }
    untouched = set(before) - allowed
    assert {
        "xl/media/image1.png",
        "xl/drawings/drawing1.xml",
        "xl/worksheets/sheet2.xml",
    } <= untouched
    assert {name: after.get(name) for name in untouched} == {
        name: before[name] for name in untouched
    }
    assert [name for name in after if name in before] == list(before)  # same order
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["People"]
    assert sheet.conditional_formatting and "Scores" in sheet.parent.defined_names
    assert sheet["A2"].comment.author == "Alice" and sheet["C3"].comment.author == "Backoffice"


def test_untouched_members_keep_their_compressed_bytes(tmp_path):
    src = rich_workbook(tmp_path / "in.xlsx")
    patch_xlsx(
        src, tmp_path / "out.xlsx", {"People": SheetPatch(cells={"A3": CellPatch(value="B")})}
    )

    with zipfile.ZipFile(src) as old, zipfile.ZipFile(tmp_path / "out.xlsx") as new:
        assert new.testzip() is None
        for name in ("xl/media/image1.png", "xl/theme/theme1.xml", "xl/worksheets/sheet2.xml"):
            before, after = old.getinfo(name), new.getinfo(name)
            assert (after.CRC, after.compress_size, after.compress_type) == (
                before.CRC,
                before.compress_size,
                before.compress_type,
            )


def test_resizing_a_table_on_a_sheet_without_one_is_refused(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    with pytest.raises(WorkbookPatchError, match="one table"):
        patch_xlsx(src, tmp_path / "out.xlsx", {"People": SheetPatch(table_last_row=9)})
    assert not (tmp_path / "out.xlsx").exists()


def test_source_and_destination_may_be_the_same_file(tmp_path):
    path = people_workbook(tmp_path / "book.xlsx")
    patch_xlsx(path, path, {"People": SheetPatch(cells={"B3": CellPatch(value="Bobby")})})

    assert values(path, "People")[2][1] == "Bobby"
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]  # no temporary file left


def test_a_chart_sheet_cannot_be_patched_and_nothing_is_written(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "in.xlsx"))
    data = book.add_worksheet("Data")
    data.write_column("A1", [1, 2, 3])
    chart = book.add_chart({"type": "line"})
    chart.add_series({"values": "=Data!$A$1:$A$3"})
    book.add_chartsheet("Chart").set_chart(chart)
    book.close()

    with pytest.raises(WorkbookPatchError, match="not a worksheet"):
        patch_xlsx(
            tmp_path / "in.xlsx",
            tmp_path / "out.xlsx",
            {"Chart": SheetPatch(cells={"A1": CellPatch(value=1)})},
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            b'<row r="3"><c r="A3"><v>3</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>',
            "out of order",
        ),
        (None, "not stored as UTF-8"),
    ],
)
def test_a_sheet_we_cannot_patch_safely_is_refused_and_the_file_left_alone(
    tmp_path, broken, message
):
    path = people_workbook(tmp_path / "book.xlsx")
    if broken is None:
        sheet = member(path, "xl/worksheets/sheet1.xml").decode().replace('encoding="UTF-8"', "")
        replace_member(path, "xl/worksheets/sheet1.xml", sheet.encode("utf-16"))
    else:
        with_rows(path, broken)
    before = path.read_bytes()

    with pytest.raises(WorkbookPatchError, match=message):
        patch_xlsx(path, path, {"People": SheetPatch(cells={"A2": CellPatch(value="x")})})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def test_a_file_that_is_not_a_workbook_is_refused_with_a_clear_error(tmp_path):
    (tmp_path / "in.xlsx").write_bytes(b"\xd0\xcf\x11\xe0 an encrypted or old binary file")
    with pytest.raises(WorkbookPatchError, match="as an .xlsx package"):
        patch_xlsx(tmp_path / "in.xlsx", tmp_path / "out.xlsx", {"People": SheetPatch()})


def test_an_unknown_sheet_is_refused(tmp_path):
    src = people_workbook(tmp_path / "in.xlsx")
    with pytest.raises(WorkbookPatchError, match="no sheet named 'Nope'"):
        patch_xlsx(
            src, tmp_path / "out.xlsx", {"Nope": SheetPatch(cells={"A1": CellPatch(value=1)})}
        )


def test_a_value_that_cannot_be_stored_leaves_the_file_untouched(tmp_path):
    path = people_workbook(tmp_path / "book.xlsx")
    before = path.read_bytes()
    with pytest.raises(TypeError, match="B2"):
        patch_xlsx(path, path, {"People": SheetPatch(cells={"B2": CellPatch(value=object())})})
    with pytest.raises(ValueError, match="B2"):
        patch_xlsx(path, path, {"People": SheetPatch(cells={"B2": CellPatch(value=float("nan"))})})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


@pytest.mark.parametrize("slice_bytes", [4 << 20, 1000])
def test_many_ids_written_into_empty_cells_take_the_bulk_path_and_keep_their_style(tmp_path, monkeypatch, slice_bytes):
    """A sync fills the empty ID/Version cells of thousands of new rows: done in one pass
    (fill_empty_cells), with the same result as the row-by-row path, whether the rows are
    substituted in one slice or in many."""
    import xlsxwriter

    from engine.office import xlsx_sheet

    monkeypatch.setattr(xlsx_sheet, "_SLICE", slice_bytes)

    path = tmp_path / "new-rows.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    locked = book.add_format({"locked": True, "num_format": "0"})
    for r in range(1, 1501):
        sheet.write_blank(r, 0, None, locked)
        sheet.write_string(r, 1, f"name {r}")
    book.close()
    cells = {f"A{r}": CellPatch(value=r * 10) for r in range(2, 1502)}
    cells["A900"] = CellPatch(value="=text, not a formula")
    cells["C5"] = CellPatch(value="a new cell beyond the used range")
    patch_xlsx(path, path, {"People": SheetPatch(cells=cells)})
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("People").to_python(skip_empty_area=False)
    assert [row[0] for row in rows[1:]] == [float(r * 10) if r != 900 else "=text, not a formula"
                                            for r in range(2, 1502)]
    assert rows[4][2] == "a new cell beyond the used range" and rows[1][1] == "name 1"
    styled = openpyxl.load_workbook(path)["People"]["A700"]
    assert styled.number_format == "0" and styled.protection.locked
    # A resync then writes new values over those (now filled) cells: the rows are rewritten.
    patch_xlsx(path, path, {"People": SheetPatch(cells={f"A{r}": CellPatch(value=r + 1) for r in range(2, 1502)})})
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("People").to_python(skip_empty_area=False)
    assert [row[0] for row in rows[1:]] == [float(r + 1) for r in range(2, 1502)]
