"""Sheets past the row or column cap are refused by the guard, from their dimension or a
bounded scan of their XML, before calamine reads a cell: a million-row sheet in well under
the 13 s and 1.4 GB it took when the reader counted the rows calamine had read.

The hostile files are written here with zipfile, row by row: a sheet of 1,048,577 rows
packs into about 8 MB. The timings and memory asserted are loose sanity bounds; the
measurement is benchmarks/bench_hostile.py.
"""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office import sheet_extent
from engine.office.xlsx_guard import check_package

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
EXCEL_ROWS = 1_048_576
LIMITS = WorkbookLimits()


def workbook(path: Path, rows: Iterable[bytes], *, dimension: str = "", prefix: str = "",
             after: bytes = b"") -> Path:
    """An .xlsx with one sheet 'Data' whose <sheetData> holds `rows` (XML, streamed into the
    zip), with an optional <dimension ref=...> and what comes `after` the sheet data."""
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SHEET_TYPE}"/></Types>'))
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                                   f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                                       '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                                                  f'Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<{p}worksheet {ns}="{MAIN_NS}">'.encode())
            if dimension:
                sheet.write(f'<{p}dimension ref="{dimension}"/>'.encode())
            sheet.write(f"<{p}sheetData>".encode())
            batch: list[bytes] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 50_000:
                    sheet.write(b"".join(batch))
                    batch.clear()
            sheet.write(b"".join(batch))
            sheet.write(f"</{p}sheetData>".encode() + after + f"</{p}worksheet>".encode())
    return path


def numbered(first: int, last: int, cells: str = "A", prefix: str = "") -> Iterator[bytes]:
    """Rows first..last, each with a number in the columns `cells`, as Excel writes them."""
    p = prefix.encode() + b":" if prefix else b""
    for n in range(first, last + 1):
        yield b"<%srow r=\"%d\">%s</%srow>" % (p, n, b"".join(
            b'<%sc r="%s%d"><%sv>%d</%sv></%sc>' % (p, c.encode(), n, p, n % 97, p, p) for c in cells), p)


def refusal(path: Path, limits: WorkbookLimits = LIMITS) -> str:
    with pytest.raises(UnusableInput) as caught:
        check_package(path, limits)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value.reason


def timed_refusal(path: Path, limits: WorkbookLimits = LIMITS) -> tuple[str, float, int]:
    """The refusal, the seconds it took and the most memory Python held meanwhile (bytes)."""
    started = time.perf_counter()
    reason = refusal(path, limits)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        refusal(path, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return reason, seconds, peak


@pytest.fixture(scope="module")
def excel_plus_one(tmp_path_factory) -> Path:
    """A sheet one row past Excel's own limit, with no <dimension>: about 8 MB packed."""
    return workbook(tmp_path_factory.mktemp("hostile") / "plus-one.xlsx", numbered(1, EXCEL_ROWS + 1))


def test_a_sheet_past_the_row_cap_without_a_dimension_is_refused_fast_in_bounded_memory(excel_plus_one):
    assert excel_plus_one.stat().st_size < 12 << 20
    reason, seconds, peak = timed_refusal(excel_plus_one)
    assert reason.startswith("sheet 'Data' is too large (it reaches row 1048577; "
                             "the limit is 1048576 rows x 200 columns): split it into workbooks of at most "
                             "1048576 rows")
    assert reason.endswith("or raise the setting workbook.max_rows")
    assert seconds < 2.0, seconds  # sanity only (it took 13 s when calamine read it first)
    assert peak < 24 << 20, peak  # chunks of 1 MB, never the 56 MB sheet


def test_a_lower_row_cap_stops_the_scan_early(excel_plus_one):
    reason, seconds, _ = timed_refusal(excel_plus_one, WorkbookLimits(max_rows=100_000))
    assert "sheet 'Data' is too large (it reaches row 1" in reason
    reached = int(reason.split("it reaches row ")[1].split(";")[0])
    assert 100_000 < reached < 150_000  # the first chunk past the cap, not the end of the sheet
    assert "the limit is 100000 rows x 200 columns" in reason


def test_the_whole_grid_as_gnumeric_writes_it_is_no_dimension_to_trust(excel_plus_one, tmp_path):
    grid = workbook(tmp_path / "grid.xlsx", numbered(1, EXCEL_ROWS + 1), dimension="A1:XFD1048576")
    assert "it reaches row 1048577" in refusal(grid)
    small = workbook(tmp_path / "small-grid.xlsx", numbered(1, 3), dimension="A1:XFD1048576")
    assert check_package(small, LIMITS).dimensions == {}


def test_a_dimension_that_cannot_hold_the_sheet_is_not_believed(tmp_path):
    # "A1" declares one cell: 8 MB of rows cannot be that.
    liar = workbook(tmp_path / "liar.xlsx", numbered(1, 30_000, cells="ABCDEFGHIJ"), dimension="A1")
    reason = refusal(liar, WorkbookLimits(max_rows=20_000))
    assert reason.startswith("sheet 'Data' is too large (it reaches row 2")
    assert 20_000 < int(reason.split("it reaches row ")[1].split(";")[0]) <= 30_000


def test_a_declared_dimension_past_the_cap_is_trusted_without_reading_the_rows(tmp_path):
    declared = workbook(tmp_path / "declared.xlsx", numbered(1, 2), dimension="A1:J1048577")
    reason = refusal(declared)
    assert reason.startswith("sheet 'Data' is too large (1048577 rows x 10 columns; the limit is "
                             "1048576 rows x 200 columns)")


def test_a_sheet_at_the_cap_passes(tmp_path):
    at_cap = workbook(tmp_path / "at-cap.xlsx", numbered(1, 50_000, cells="AB"))
    assert check_package(at_cap, WorkbookLimits(max_rows=50_000)).sheet_names == ["Data"]
    assert "it reaches row 50001" in refusal(
        workbook(tmp_path / "over.xlsx", numbered(1, 50_001, cells="AB")), WorkbookLimits(max_rows=50_000))


def test_rows_numbered_past_the_cap_early_are_refused_at_the_first_chunk(tmp_path, monkeypatch):
    far = workbook(tmp_path / "far.xlsx", [*numbered(1, 5), *numbered(2_000_000, 2_000_001), *numbered(6, 400_000)])
    read = []
    real = sheet_extent.iter_member

    def counted(*args, **kwargs):
        for block in real(*args, **kwargs):
            read.append(len(block))
            yield block

    monkeypatch.setattr(sheet_extent, "iter_member", counted)
    assert "it reaches row 2000000" in refusal(far)
    assert len(read) == 1  # of about 20 chunks


@pytest.mark.parametrize("cell", [
    '<c r="XFD1"><v>1</v></c>',  # Excel's last column
    '<c r="xfd1"><v>1</v></c>',  # lower case: calamine takes it
    "<c r = 'XFD1'><v>1</v></c>",  # spaces and single quotes: so does XML
    '<c r="A99999999"><v>1</v></c>',  # a row far past the cap, inside row 1
])
def test_a_far_cell_anywhere_is_refused_before_calamine_lays_out_its_grid(tmp_path, cell):
    # Two cells, A1 and far away: calamine would ask for a grid of half a terabyte and abort
    # the process. The far cell sits among ordinary rows, not at the end of a chunk.
    rows = [*numbered(1, 1000), f'<row r="1001">{cell}</row>'.encode(), *numbered(1002, 3000)]
    for dimension in ("", "A1:B2"):  # a small part is scanned whatever it declares
        path = workbook(tmp_path / f"far{len(dimension)}.xlsx", rows, dimension=dimension)
        reason = refusal(path)
        assert "it reaches column XFD" in reason or "it reaches row 99999999" in reason


def test_columns_past_the_cap_in_the_rows_as_written(tmp_path):
    narrow = workbook(tmp_path / "narrow.xlsx", [*numbered(1, 20), b'<row r="21"><c r="GR21"><v>1</v></c></row>'])
    assert check_package(narrow, LIMITS).sheet_names == ["Data"]  # GR: column 200
    gs = workbook(tmp_path / "gs.xlsx", [*numbered(1, 20), b'<row r="21"><c r="GS21"><v>1</v></c></row>'])
    reason = refusal(gs)
    assert reason.startswith("sheet 'Data' is too large (it reaches column GS; the limit is 1048576 rows "
                             "x 200 columns): delete the columns not needed")
    assert reason.endswith("or raise the setting workbook.max_columns")
    bare = workbook(tmp_path / "bare.xlsx", [b"<row>" + b"<c><v>1</v></c>" * 201 + b"</row>"])
    assert "it reaches column GS" in refusal(bare)  # cells without r= are placed one after another
    assert check_package(workbook(tmp_path / "bare200.xlsx", [b"<row>" + b"<c><v>1</v></c>" * 200 + b"</row>"]),
                         LIMITS).sheet_names == ["Data"]


def test_rows_without_numbers_are_counted_as_calamine_counts_them(tmp_path):
    limits = WorkbookLimits(max_rows=100)
    breaks = b'<rowBreaks count="1"><brk id="5" max="16383" man="1"/></rowBreaks>'
    plain = [b"<row><c><v>1</v></c></row>"] * 99 + [b"<row/>"]  # an empty row counts too
    assert check_package(workbook(tmp_path / "100.xlsx", plain, after=breaks), limits).sheet_names == ["Data"]
    reason = refusal(workbook(tmp_path / "101.xlsx", [*plain, b"<row><c><v>1</v></c></row>"], after=breaks), limits)
    assert "it reaches row 101" in reason
    mixed = [*numbered(1, 90), *[b"<row><c><v>1</v></c></row>"] * 11]  # numbered, then counted on
    assert "it reaches row 101" in refusal(workbook(tmp_path / "mixed.xlsx", mixed), limits)


def test_a_prefixed_sheet_is_scanned_the_same_way(tmp_path):
    path = workbook(tmp_path / "x.xlsx", numbered(1, 2001, prefix="x"), prefix="x")
    assert "it reaches row 2001" in refusal(path, WorkbookLimits(max_rows=2000))
    assert check_package(path, WorkbookLimits(max_rows=2001)).sheet_names == ["Data"]


def test_empty_cells_as_far_as_the_grid_goes_are_no_part_of_the_sheet(tmp_path):
    # Gnumeric writes a formatted grid as empty styled cells up to XFD1048575 (the corpus's
    # calamine/issue_174.xlsx); calamine skips empty cells, and so does the scan.
    empty = [b'<row r="%d" spans="1:16384"><c r="A%d" s="1"/><c r="GS%d" s="1"></c><c r="XFD%d" s="1"/></row>'
             % (n, n, n, n) for n in range(4, 3001)]
    path = workbook(tmp_path / "grid.xlsx", [*numbered(1, 3, cells="ABC"), *empty], dimension="A1:XFD1048576")
    assert check_package(path, WorkbookLimits(max_rows=100)).dimensions == {}


def test_references_that_only_look_far_do_not_refuse_a_sheet(tmp_path):
    # Formulas naming other sheets and functions with digits, text with letters and digits,
    # big numbers, and attributes other than r= that name far cells: none is a cell's place.
    cells = (b'<c r="A%d"><f>LOG10(Sheet1!B1)+ATAN2(1,2)</f><v>1</v></c>'
             b'<c r="B%d" t="inlineStr"><is><t>ABC123 XFD1 A99999999</t></is></c><c r="C%d"><v>123456789012</v></c>')
    rows = [b'<row r="%d">' % n + cells % (n, n, n) + b"</row>" for n in range(1, 5001)]
    tail = b'<hyperlinks><hyperlink ref="XFD1" r:id="rId9"/></hyperlinks>'
    path = workbook(tmp_path / "looks.xlsx", rows, after=tail)
    assert check_package(path, LIMITS).sheet_names == ["Data"]
