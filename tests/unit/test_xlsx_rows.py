"""The streaming sheet reader gives every cell exactly as python-calamine, and the special
cells exactly as sheet_scan: on files of xlsxwriter, openpyxl, hand-written odd ones and
the shared corpus; both of its ways (fast and careful), across chunk boundaries, with the
shared strings evicted and cut again. (LibreOffice's files: tests/integration.)"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office import xlsx_row_cells, xlsx_rows
from engine.office.sheet_scan import SpecialCell
from engine.office.xlsx_dates import DATETIME, DURATION, OTHER, format_kind
from engine.office.xlsx_guard import check_package
from engine.office.xlsx_rows import SheetReader
from engine.office.xlsx_strings import SharedStrings
from tests.sheet_files import differences, openpyxl_book, package, xlsxwriter_book

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
CORPUS_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.xlsx")) if CORPUS.is_dir() else []


def read(path: Path, sheet: str = "Data", **kwargs) -> tuple[list[list], list[SpecialCell]]:
    info = check_package(path, WorkbookLimits())
    with SheetReader(path, info, **kwargs) as reader:
        return reader.read_rows(sheet), reader.special[sheet]


@pytest.fixture(params=["fast", "careful"])
def way(request, monkeypatch):
    """Each test twice: as it comes (the fast way where it fits), and every chunk the careful way."""
    if request.param == "careful":
        monkeypatch.setattr(xlsx_rows, "fast_rows", lambda *args: None)
    return request.param


@pytest.mark.parametrize("date1904", [False, True])
def test_every_type_xlsxwriter_writes(tmp_path, way, date1904):
    path = xlsxwriter_book(tmp_path / "xlsxwriter.xlsx", date1904=date1904)
    assert differences(path) == []
    rows, special = read(path, "Formulas")
    assert rows[0] == [2.0, 4.0]  # a whole number is a float, as calamine gives it
    assert [(c.ref, c.kind, c.text) for c in special] == [
        ("B4", "error", "#DIV/0!"), ("B5", "error", "#N/A"), ("B6", "uncalculated", '""')]


@pytest.mark.parametrize("options", [{}, {"iso_dates": True}, {"date1904": True}])
def test_openpyxl_files(tmp_path, way, options):
    path = openpyxl_book(tmp_path / "openpyxl.xlsx", **options)
    assert differences(path) == []
    rows, special = read(path)
    assert rows[1][0] == dt.datetime(2024, 1, 31, 8, 30) and rows[1][2] == dt.timedelta(hours=30)
    assert [c.ref for c in special] == ["D2", "E2"]  # openpyxl never calculates its formulas


SHARED = ["zero", " one ", "two & three", "four_x000D_five", "six"]
ODD_SHEETS = {
    "attribute order and quotes": "<row r='1'><c t='s' r='B1'><v>1</v></c><c s = \"0\" r = \"C1\" t = \"n\"><v>2</v></c></row>",
    "no r on cells and rows": "<row><c><v>1</v></c><c t=\"s\"><v>2</v></c></row><row/><row><c r=\"C3\"><v>3</v></c><c><v>4</v></c></row>",
    "rows given out of order and cells backwards": '<row r="3"><c r="C3"><v>3</v></c><c r="A3"><v>1</v></c></row><row r="1"><c r="B1"><v>2</v></c></row>',
    "inline rich text, phonetic guide, CDATA": '<row r="1"><c r="A1" t="inlineStr"><is><r><t>a</t></r><r><rPr><b/></rPr>'
    '<t xml:space="preserve"> b </t></r><rPh sb="0" eb="1"><t>ph</t></rPh></is></c><c r="B1" t="inlineStr">'
    '<is><t><![CDATA[x<y]]></t></is></c><c r="C1"><is><t> no type </t></is></c><c r="D1" t="inlineStr"><v>ignored</v></c>'
    '<c r="E1" t="inlineStr"><is><t/></is></c></row>',
    "entities and line ends": '<row r="1"><c r="A1" t="str"><v>a&amp;b&#10;c&#13;d\r\ne</v></c><c r="B1" t="inlineStr">'
    '<is><t>&#10; trimmed &#32;</t></is></c><c r="C1" t="inlineStr"><is><t xml:space="preserve">_x000D_ _x005F_x000D_ kept </t></is></c></row>',
    "empty values of every type": '<row r="1"><c r="A1" t="str"/><c r="B1" t="str"><v></v></c><c r="C1" t="s"><v/></c>'
    '<c r="D1" t="b"><v></v></c><c r="E1"><v/></c><c r="F1" t="d"><v></v></c><c r="G1" t="e"/></row>'
    '<row r="2"><c r="A2" s="1"/><c r="B2" s="1"/></row>',
    "iso dates": '<row r="1"><c r="A1" t="d"><v>2024-01-02T03:04:05</v></c><c r="B1" t="d"><v>2024-01-02</v></c>'
    '<c r="C1" t="d"><v>03:04:05</v></c><c r="D1" t="d"><v>2024-01-02T03:04:05.250</v></c><c r="E1" t="d"><v>soon</v></c></row>'
    + "".join(f'<row r="{n}"><c r="A{n}" t="d"><v>{text}</v></c></row>' for n, text in enumerate((
        "2024-01-02T03:04", "03:04", "2024-01-02T23:59:60", "23:59:60.5", "2024-01-02T03:04:05.123456789",
        "2024-01-02t03:04:05", "12345-01-02", "+2024-01-02", "2024-1-2", "2024-01-02T03:04:05Z", "2024-02-30",
        "0000-01-01", "24:00:00"), start=2)),
    "numbers as calamine parses them": '<row r="1"><c r="A1"><v>+1</v></c><c r="B1"><v>.5</v></c><c r="C1"><v>1.</v></c>'
    '<c r="D1"><v>1e5</v></c><c r="E1"><v>-0</v></c><c r="F1"><v>inf</v></c><c r="G1"><v> 1</v></c><c r="H1"><v>abc</v></c>'
    '<c r="I1"><v>1_000</v></c><c r="J1" t="b"><v>true</v></c><c r="K1" t="b"><v>0</v></c><c r="L1" t="s"><v>x</v></c></row>',
    "dates by number format": '<row r="1"><c r="A1" s="1"><v>45000.5</v></c><c r="B1" s="2"><v>0.75</v></c><c r="C1" s="3"><v>1.5</v></c>'
    '<c r="D1" s="4"><v>45000</v></c><c r="E1" s="5"><v>45000</v></c><c r="F1" s="99"><v>45000</v></c><c r="G1" s="x"><v>3</v></c>'
    '<c r="H1" s="6"><v>-1.5</v></c><c r="I1" s="1"><v>59</v></c><c r="J1" s="1"><v>60</v></c></row>',
    "whitespace and comments between elements": '\n  <row r="1">\n    <c r="A1" t="s">\n      <v>4</v>\n    </c>\n'
    '<!-- a comment --><c r="B1"><v>2</v></c></row>\n',
    "formulas cached and not": '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f t="shared" ref="B1:B2" si="0">A1</f><v>2</v></c>'
    '<c r="C1"><f>NOW()</f></c><c r="D1" t="str"><f>""</f><v></v></c><c r="E1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    '<row r="2"><c r="B2"><f t="shared" si="0"/><v>3</v></c><c r="C2"><f>A1</f><v/></c></row>',
    "trailing empty cells and empty last rows": '<row r="1"><c r="A1"><v>1</v></c><c r="B1" s="1"/></row>'
    '<row r="2"><c r="A2" s="1"/></row><row r="5"><c r="E5" s="1"/></row>',
    "far columns and the last one": '<row r="1"><c r="XFD1"><v>1</v></c></row><row r="3"><c r="AA3"><v>2</v></c></row>',
    "lower-case references": '<row r="1"><c r="b1"><v>1</v></c></row>',
}


@pytest.mark.filterwarnings("ignore:ignored leap-second")  # python-calamine's, on 23:59:60
@pytest.mark.parametrize("name", ODD_SHEETS)
def test_odd_sheets(tmp_path, way, name):
    path = package(tmp_path / "odd.xlsx", ODD_SHEETS[name], shared=SHARED,
                   number_formats=("yyyy-mm-dd hh:mm", "hh:mm:ss", "[h]:mm", "14", "d-mmm-yy", '"y"0.0'))
    assert differences(path, WorkbookLimits(max_columns=16_384)) == []   # as far as Excel goes


@pytest.mark.parametrize("name", ["attribute order and quotes", "inline rich text, phonetic guide, CDATA",
                                  "formulas cached and not", "no r on cells and rows"])
def test_a_namespace_prefix(tmp_path, way, name):
    prefixed = ODD_SHEETS[name].replace("<", "<x:").replace("<x:/", "</x:").replace("<x:!", "<!")
    prefixed = prefixed.replace("x<x:y", "x<y")  # inside the CDATA
    path = package(tmp_path / "prefixed.xlsx", prefixed, prefix="x", shared=SHARED)
    assert differences(path) == []


def test_shared_strings_rich_phonetic_trimmed_and_escaped(tmp_path, way):
    items = ('<si><t> trimmed </t></si><si><t xml:space="preserve"> kept </t></si>'
             '<si><r><t>rich</t></r><r><rPr><i/></rPr><t xml:space="preserve"> text</t></r>'
             '<rPh sb="0" eb="1"><t>PH</t></rPh></si><si/><si><t>a_x000D_b &amp; &#x1F600;</t></si>'
             '<si><t>line\r\nend</t></si>')
    sheet = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>{n - 1}</v></c></row>' for n in range(1, 7))
    path = package(tmp_path / "shared.xlsx", sheet, raw_shared=f'<sst xmlns="{MAIN}">{items}</sst>')
    assert differences(path) == []
    assert [row[0] for row in read(path)[0]] == ["trimmed", " kept ", "rich text", "", "a\rb & 😀", "line\nend"]



def test_errors_calamine_does_not_know_are_read_and_reported(tmp_path, way):
    """python-calamine refuses a whole sheet for an error value newer than it (#SPILL!);
    the reader reads it as any error: '' and a special cell, the round trip's problem."""
    path = package(tmp_path / "spill.xlsx", '<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="e"><f>SEQUENCE(2)</f>'
                   '<v>#SPILL!</v></c></row>')
    found = differences(path)
    assert len(found) == 1 and found[0].startswith("Data: calamine UnusableInput") and "reader [[1.0, '']]" in found[0]
    rows, special = read(path)
    assert rows == [[1.0, ""]]
    assert special == [SpecialCell("B1", "error", "#SPILL!")]


@pytest.mark.parametrize("cells, reason", [
    ('<row r="1"><c r="A1" t="s"><v>9</v></c></row>', "names shared string 9"),
    ('<row r="1"><c r="A1" t="n"><v>abc</v></c></row>', "cannot be read"),
    ('<row r="1"><c r="A1" t="zz"><v>1</v></c></row>', "type calamine does not know"),
    ('<row r="0"><c><v>1</v></c></row>', "reference"),
    (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></worksheet>', "no end"),
])
def test_files_calamine_refuses_are_refused(tmp_path, way, cells, reason):
    whole = cells.startswith("<worksheet")
    path = package(tmp_path / "bad.xlsx", "" if whole else cells, shared=SHARED, raw_sheet=cells if whole else None)
    with pytest.raises(UnusableInput, match="sheet 'Data' cannot be read") as caught:
        read(path)
    assert reason in str(caught.value)
    assert differences(path) == []  # calamine refuses it as well


def test_a_cell_beyond_the_limits_is_refused_before_any_row_is_built(tmp_path, way):
    path = package(tmp_path / "far.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row><row r="900"><c r="A900"><v>2</v></c></row>')
    with pytest.raises(UnusableInput, match=r"sheet 'Data' is too large \(it reaches row 900; the limit is 100 rows"):
        read(path, max_rows=100)
    with pytest.raises(UnusableInput, match="it reaches column A; the limit is 1048576 rows x 0 columns"):
        read(path, max_columns=0)


def test_a_row_without_an_end_is_refused_not_held(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_rows, "MAX_ROW_BYTES", 50_000)
    monkeypatch.setattr(xlsx_rows, "CHUNK", 10_000)
    cells = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 5000 + "</row>"
    path = package(tmp_path / "long.xlsx", cells)
    with pytest.raises(UnusableInput, match=r"long.xlsx: .*sheet 'Data' has a row of more than"):
        read(path)


def test_rows_cut_anywhere_by_the_chunks(tmp_path, monkeypatch, way):
    path = xlsxwriter_book(tmp_path / "xlsxwriter.xlsx")
    whole = read(path, "Values"), read(path, "Formulas")
    for size in (7, 101, 4093):
        monkeypatch.setattr(xlsx_rows, "CHUNK", size)
        assert (read(path, "Values"), read(path, "Formulas")) == whole


def test_shared_strings_blocks_evicted_and_cut_again(tmp_path, monkeypatch):
    monkeypatch.setattr(SharedStrings, "SIZE", 4)
    monkeypatch.setattr(SharedStrings, "SHIFT", 2)
    texts = [f"text {n}" for n in range(50)]
    order = [*range(50), 3, 49, 0, *range(40, 10, -3)]
    sheet = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{n}</v></c></row>' for r, n in enumerate(order, start=1))
    path = package(tmp_path / "many.xlsx", sheet, shared=texts)
    for live in (1, 2, 64):
        strings = SharedStrings.read(zipfile.ZipFile(path), zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml"))
        strings.live = live
        assert strings.take(order) == [texts[n] for n in order]
        assert strings.take(list(range(49, -1, -1))) == texts[::-1]
        with pytest.raises(IndexError):
            strings.take([50])
    assert differences(path) == []


def test_iter_rows_yields_the_rows_holding_a_value_to_their_last_value(tmp_path):
    cells = ('<row r="2"><c r="B2" s="1"/><c r="C2"><v>1</v></c><c r="D2" s="1"/></row><row r="3"><c r="A3" s="1"/></row>'
             '<row r="4"><c r="B4" t="e"><v>#REF!</v></c></row>')
    path = package(tmp_path / "rows.xlsx", cells, number_formats=("0.00",))
    info = check_package(path, WorkbookLimits())
    with SheetReader(path, info) as reader:
        assert list(reader.iter_rows("Data")) == [(2, ["", "", 1.0]), (4, ["", ""])]
        assert reader.special["Data"] == [SpecialCell("B4", "error", "#REF!")]


def test_a_big_regular_sheet_reads_the_fast_way(tmp_path, monkeypatch):
    """Thousands of rows of the same cells: every chunk the fast way, and as calamine."""
    rows = "".join(f'<row r="{r}"><c r="A{r}" s="1"/><c r="B{r}" t="s"><v>{r % 5}</v></c><c r="D{r}"><v>{r}.5</v></c>'
                   f'<c r="E{r}" s="1"><v>{40000 + r}</v></c><c r="F{r}" t="b"><v>{r % 2}</v></c></row>' for r in range(1, 20001))
    path = package(tmp_path / "big.xlsx", rows, shared=SHARED, number_formats=("14",))
    monkeypatch.setattr(xlsx_rows, "CHUNK", 64 << 10)
    careful = []
    monkeypatch.setattr(xlsx_rows, "general_rows", lambda *args: careful.append(1) or xlsx_row_cells.general_rows(*args))
    assert differences(path) == []
    assert careful == []
    assert read(path)[0][99] == ["", "zero", "", 100.5, dt.date(2009, 10, 14), False]


@pytest.mark.parametrize("code, kind", [
    ("yyyy-mm-dd", DATETIME), ("[h]:mm:ss", DURATION), ("0.00", OTHER), ('"Y: "0.00"m"', OTHER),
    ("[Red]0.0", OTHER), ("#,##0*y", OTHER), ("*-yyyy", DATETIME), ("AM/PM", DATETIME), ("a", OTHER),
    ("dd/mm/yyyy;@", DATETIME), ("\\Y000", OTHER), ("[$-404]e", OTHER), ("[>=100][Magenta][s].00", DURATION),
])
def test_number_formats_as_calamine_detects_them(code, kind):
    assert format_kind(code) == kind


@pytest.mark.skipif(not CORPUS_FILES, reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_the_corpus(tmp_path, way, name):
    path = Path(shutil.copy(CORPUS / name, tmp_path / Path(name).name))
    try:
        check_package(path, WorkbookLimits())
    except UnusableInput:
        pytest.skip("refused by the guard")
    assert differences(path) == []


def test_a_sheet_damaged_past_what_the_guard_reads_is_refused(tmp_path):
    """The guard reads a sheet's first 64 KB; a wrong byte after them fails the zip's CRC check
    when the reader gets there, a refusal like any damaged file's."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 10001))
    path = package(tmp_path / "crc.xlsx", rows)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item.filename))
    data = bytearray(stored.read_bytes())
    at = data.find(b'<v>9999</v>')
    data[at + 3] = ord("8")
    stored.write_bytes(bytes(data))
    assert info.file_size > 64 * 1024
    with pytest.raises(UnusableInput, match="stored.xlsx: damaged: .*CRC"):
        read(stored)


def test_special_cells_come_before_their_rows_and_a_second_pass_adds_none(tmp_path, monkeypatch):
    """A reader of a sheet too big to keep looks at the special cells as the rows come: each
    is in the list before its row; a pass stopped early, then a whole one, list each once."""
    monkeypatch.setattr(xlsx_rows, "CHUNK", 512)
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="e"><v>#N/A</v></c></row>' for r in range(1, 200))
    path = package(tmp_path / "errors.xlsx", rows)
    info = check_package(path, WorkbookLimits())
    with SheetReader(path, info) as reader:
        found = reader.special.setdefault("Data", [])
        for number, _ in reader.iter_rows("Data"):
            assert SpecialCell(f"B{number}", "error", "#N/A") in found
            if number == 10:
                break
    with reader.again() as again:  # the first reader is closed: a later pass opens the file anew
        assert sum(1 for _ in again.iter_rows("Data")) == 199
        assert again.special["Data"] is found
    assert found == [SpecialCell(f"B{r}", "error", "#N/A") for r in range(1, 200)]
