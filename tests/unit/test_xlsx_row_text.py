"""Rows made by engine.office.xlsx_rows hold exactly the cells xlsxwriter writes, and a
package spliced by engine.office.xlsx_splice is one Excel, LibreOffice and calamine read."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import zipfile
import zlib
from decimal import Decimal

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from engine.office.xlsx_row_text import BLANK, Cells, column_cells, rows_xml
from engine.office.xlsx_splice import DeflatedRows, crc32_combine, splice_package

TEXTS = ["plain", " leading", "trailing ", "new line\n", "a&b<c>d", "x\x01y", "_x0041_ looks escaped", "tab\tin",
         "line\nfeed", "cr\rlf", "\ufffe", "é ü 😀", "\u00a0no-break space\u00a0", '=HYPERLINK("http://x","y")', "",
         "x" * 40_000, "y" * 16_000 + "😀" * 9_000, "100%", "%s %d"]
NUMBERS = [1, 0, -3, 2.5, 0.1 + 0.2, 1e20, 1e-7, 12345678901234567, -0.0, Decimal("12.50"), Decimal("0.1"),
           Decimal("-1E+3")]
DATES = [dt.date(2026, 3, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.date(1899, 12, 31), dt.date(1900, 1, 1)]
OTHERS = [True, False, dt.datetime(2026, 3, 1, 12, 30), dt.datetime(1900, 1, 1, 6), dt.time(6, 0)]


def _xlsxwriter_cells(values: list, styled: bool) -> list[str]:
    """The <c> elements xlsxwriter writes for `values` in column A, rows 1.. (as the export
    wrote each value: text as text, numbers as floats, dates as dates)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    style = book.add_format({"locked": False, "num_format": "@"}) if styled else None
    sheet = book.add_worksheet("S")
    for row, value in enumerate(values):
        if isinstance(value, bool):
            sheet.write_boolean(row, 0, value, style)
        elif isinstance(value, int | float | Decimal):
            sheet.write_number(row, 0, float(value), style)
        elif isinstance(value, dt.date | dt.time):
            sheet.write_datetime(row, 0, value, style)
        elif value is BLANK:
            sheet.write_blank(row, 0, None, style)
        else:
            sheet.write_string(row, 0, str(value), style)
    book.close()
    with zipfile.ZipFile(buffer) as package:
        xml = package.read("xl/worksheets/sheet1.xml").decode()
        shared = package.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in package.namelist() else ""
    strings = re.findall(r"<si>(.*?)</si>", shared, re.S)
    cells = re.findall(r"<c [^>]*?(?:/>|>.*?</c>)", xml, re.S)
    # A shared string's <si> content is what an inline string's <is> holds.
    return [re.sub(r' t="s"><v>(\d+)</v></c>', lambda m: f' t="inlineStr"><is>{strings[int(m[1])]}</is></c>', c)
            for c in cells]


@pytest.mark.parametrize("styled", [True, False])
def test_each_value_is_the_cell_xlsxwriter_writes(styled):
    values = [*TEXTS, *NUMBERS, *DATES, *OTHERS, BLANK]
    style = ' s="1"' if styled else ""
    ours = [column_cells("A", [str(n)], [value], style).strings()[0] for n, value in enumerate(values, start=1)]
    assert [cell for cell in ours if cell] == _xlsxwriter_cells(values, styled)   # no cell: an unstyled blank


@pytest.mark.parametrize("column", [TEXTS, NUMBERS, DATES, [True, False, True], ["plain", "texts", "only"],
                                    [*TEXTS, None, 3, dt.date(2026, 1, 1), BLANK]],
                         ids=["texts", "numbers", "dates", "booleans", "plain texts", "mixed"])
def test_a_column_of_values_made_at_once_is_each_value_made_alone(column):
    rows = [str(n) for n in range(2, len(column) + 2)]
    at_once = column_cells("C", rows, column, ' s="5"').strings()
    alone = [column_cells("C", [r], [v], ' s="5"').strings()[0] for r, v in zip(rows, column, strict=True)]
    assert at_once == alone
    with_gap = column_cells("C", [*rows, "99"], [*column, None], ' s="5"').strings()
    assert with_gap == [*alone, ""]


def test_text_that_looks_like_a_formula_is_text():
    cell = column_cells("C", ["2"], ['=HYPERLINK("http://evil","click")'], "").strings()[0]
    assert 't="inlineStr"' in cell and "<f>" not in cell


def test_numbers_excel_cannot_hold_are_refused():
    for bad in (float("nan"), float("inf"), Decimal("NaN")):
        with pytest.raises(TypeError, match="NaN and infinity"):
            column_cells("A", ["1", "2"], [1.0, bad], "")


def test_rows_are_made_in_column_order_and_empty_rows_left_out():
    rows = ["2", "3", "4"]
    first = column_cells("A", rows, [1, 2, 3], ' s="1"')
    second = column_cells("B", rows, ["x", None, "z"], "")
    assert rows_xml(rows, [first, second]) == (
        '<row r="2"><c r="A2" s="1"><v>1</v></c><c r="B2" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="3"><c r="A3" s="1"><v>2</v></c></row>'
        '<row r="4"><c r="A4" s="1"><v>3</v></c><c r="B4" t="inlineStr"><is><t>z</t></is></c></row>')
    gaps = [Cells("%s", (["", "<c/>", ""],))]
    assert rows_xml(rows, gaps) == '<row r="3"><c/></row>'


def test_crc32_combine_is_zlibs():
    rng = random.Random(5)
    for _ in range(200):
        a, b = os.urandom(rng.randint(0, 3000)), os.urandom(rng.randint(0, 3000))
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_rows_spliced_into_a_package_read_back_in_place(tmp_path):
    skeleton = io.BytesIO()
    book = xlsxwriter.Workbook(skeleton, {"in_memory": True})
    sheet = book.add_worksheet("Data")
    sheet.write_string(0, 0, "ID")
    sheet.write_string(0, 1, "Name")
    book.add_worksheet("Other").write_string(0, 0, "left alone")
    book.close()
    rows = DeflatedRows(tmp_path)
    try:
        for start in range(2, 30_002, 10_000):
            numbers = [str(r) for r in range(start, start + 10_000)]
            rows.write(rows_xml(numbers, [column_cells("A", numbers, list(range(start, start + 10_000)), ""),
                                          column_cells("B", numbers, [f"name {r} & co" for r in numbers], "")]),
                       start + 9_999)
        skeleton.seek(0)
        splice_package(skeleton, tmp_path / "out.xlsx", {"xl/worksheets/sheet1.xml": rows})
    finally:
        rows.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]       # the temporary file is gone
    with zipfile.ZipFile(tmp_path / "out.xlsx") as package:
        assert package.testzip() is None                             # every CRC checks
        assert b'<dimension ref="A1:B30001"/>' in package.read("xl/worksheets/sheet1.xml")
    book = CalamineWorkbook.from_path(str(tmp_path / "out.xlsx"))
    data = book.get_sheet_by_name("Data").to_python()
    assert len(data) == 30_001 and data[0] == ["ID", "Name"]
    assert data[1] == [2.0, "name 2 & co"] and data[-1] == [30001.0, "name 30001 & co"]
    assert book.get_sheet_by_name("Other").to_python() == [["left alone"]]
