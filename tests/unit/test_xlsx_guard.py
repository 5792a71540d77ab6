"""The .xlsx guard refuses hostile and foreign files with a clear reason; the cell scan finds
the error values and uncalculated formulas that calamine would silently turn into ''."""

from __future__ import annotations

import os
import shutil
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office import sheet_scan
from engine.office.sheet_scan import SpecialCell, special_cells
from engine.office.xlsx_guard import PackageInfo, check_package, open_calamine, read_rows

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
LIMITS = WorkbookLimits()
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def refusal(path: Path, limits: WorkbookLimits = LIMITS, **kwargs) -> str:
    """The reason check_package gives; the message must name the file first."""
    with pytest.raises(UnusableInput) as caught:
        check_package(path, limits, **kwargs)
    assert str(caught.value).startswith(f"{path}: ")
    assert caught.value.exit_code == 2 and caught.value.reason
    return caught.value.reason


def openpyxl_book(path: Path, *, date1904: bool = False) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Stock"
    wb.active.append(["item", "qty"])
    wb.active.append(["bolt", 12])
    wb.create_sheet("Prices")["C4"] = 1.5
    if date1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(path)
    return path


def package(path: Path, sheet: bytes | str = "", parts: dict | None = None) -> Path:
    """A minimal hand-written .xlsx; `parts` adds or replaces members (None drops one)."""
    sheet = sheet or f'<worksheet xmlns="{MAIN_NS}"><sheetData/></worksheet>'
    members: dict[str, bytes | str | None] = {
        "[Content_Types].xml": content_types(SHEET_TYPE),
        "_rels/.rels": rels(("rId1", "officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
        '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": rels(("rId1", "worksheet", "worksheets/sheet1.xml")),
        "xl/worksheets/sheet1.xml": sheet,
    }
    members.update(parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if data is not None:
                zf.writestr(name, data)
    return path


def content_types(main_type: str) -> str:
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main_type}"/></Types>'
    )


def rels(*items: tuple[str, str, str]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="{REL_NS}/{kind}" Target="{target}"/>'
        for rid, kind, target in items
    )
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'


def sheet_xml(cells: str, prefix: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    return f'<?xml version="1.0"?><{p}worksheet {ns}="{MAIN_NS}"><{p}sheetData>{cells}</{p}sheetData></{p}worksheet>'


# --- accepted workbooks -------------------------------------------------------------------


def test_a_normal_workbook_passes_with_its_sheets_and_parts(tmp_path):
    info = check_package(openpyxl_book(tmp_path / "stock.xlsx"), LIMITS)
    assert isinstance(info, PackageInfo)
    assert info.sheet_names == ["Stock", "Prices"]
    assert info.sheet_parts == {
        "Stock": "xl/worksheets/sheet1.xml",
        "Prices": "xl/worksheets/sheet2.xml",
    }
    assert info.date1904 is False and info.has_macros is False
    assert info.dimensions == {"Stock": (2, 2), "Prices": (4, 3)}


def test_date1904_is_reported(tmp_path):
    assert check_package(openpyxl_book(tmp_path / "mac.xlsx", date1904=True), LIMITS).date1904


def test_absolute_and_relative_targets_and_backslash_names_resolve(tmp_path):
    absolute = rels(("rId1", "worksheet", "/xl/worksheets/sheet1.xml"))
    path = package(tmp_path / "abs.xlsx", parts={"xl/_rels/workbook.xml.rels": absolute})
    assert check_package(path, LIMITS).sheet_parts == {"Data": "xl/worksheets/sheet1.xml"}
    odd = tmp_path / "backslash.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(odd, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("/", "\\"), src.read(info))
    assert check_package(odd, LIMITS).sheet_parts == {"Data": "xl\\worksheets\\sheet1.xml"}


def test_open_calamine_reads_an_accepted_workbook(tmp_path):
    path = openpyxl_book(tmp_path / "stock.xlsx")
    info = check_package(path, LIMITS)
    workbook = open_calamine(path, info)
    assert read_rows(path, workbook, "Stock") == [["item", "qty"], ["bolt", 12]]
    with pytest.raises(UnusableInput, match="cannot be read"):
        read_rows(path, workbook, "No such sheet")
    wrong = PackageInfo(["Other"], {"Other": "xl/worksheets/sheet1.xml"})
    with pytest.raises(UnusableInput, match="damaged"):
        open_calamine(path, wrong)


# --- files that are missing, foreign or damaged ---------------------------------------------


def test_missing_file_and_folder(tmp_path):
    assert refusal(tmp_path / "nope.xlsx").startswith("not found")
    assert refusal(tmp_path).startswith("a folder")
    if hasattr(os, "mkfifo"):  # a pipe must be refused, not read (which would block)
        os.mkfifo(tmp_path / "pipe.xlsx")
        assert refusal(tmp_path / "pipe.xlsx").startswith("not a file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = openpyxl_book(tmp_path / "locked.xlsx")
    path.chmod(0)
    try:
        assert refusal(path).startswith("cannot be read")
    finally:
        path.chmod(0o600)


def test_not_a_zip(tmp_path):
    noise = tmp_path / "noise.xlsx"
    noise.write_bytes(os.urandom(4096))
    text = tmp_path / "export.xlsx"
    text.write_text("item;qty\nbolt;12\n")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert refusal(noise).startswith("not an Excel .xlsx workbook")
    assert "save it as an .xlsx" in refusal(text)
    assert refusal(empty).startswith("empty")


def test_other_zips_are_not_workbooks(tmp_path):
    plain = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("holiday.txt", "sun")
    ods = tmp_path / "calc.xlsx"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    xlsb = package(
        tmp_path / "binary.xlsx", parts={"xl/workbook.xml": None, "xl/workbook.bin": b"\0"}
    )
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    word = package(tmp_path / "letter.xlsx", parts={"[Content_Types].xml": content_types(docx)})
    assert refusal(plain).startswith("not an Excel .xlsx workbook")
    assert refusal(ods).startswith("an OpenDocument file (.ods)")
    assert refusal(xlsb).startswith("an Excel binary workbook (.xlsb)")
    assert refusal(word).startswith("not an Excel .xlsx workbook (it is another kind of document")


def test_damaged_zips(tmp_path):
    good = openpyxl_book(tmp_path / "good.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good[: len(good) // 2])
    assert refusal(cut).startswith("damaged: not a readable .xlsx (open and re-save it in Excel)")
    empty_book = f'<workbook xmlns="{MAIN_NS}"><sheets/></workbook>'
    no_sheets = package(tmp_path / "nosheets.xlsx", parts={"xl/workbook.xml": empty_book})
    assert refusal(no_sheets).startswith("damaged")
    lost = package(tmp_path / "lost.xlsx", parts={"xl/worksheets/sheet1.xml": None})
    assert "sheet 'Data' is missing" in refusal(lost)
    broken = package(tmp_path / "broken.xlsx", parts={"xl/workbook.xml": "<workbook><sheets>"})
    assert refusal(broken).startswith("damaged")


def test_duplicate_parts_are_refused(tmp_path):
    path = package(tmp_path / "twice.xlsx")
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as zf:
        warnings.simplefilter("ignore")
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml(""))
    assert "in it twice" in refusal(path)


def test_lying_zip_header_is_never_inflated_past_its_declared_size(tmp_path):
    path = package(
        tmp_path / "liar.xlsx", sheet=sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>' * 50)
    )
    data = bytearray(path.read_bytes())
    central = data.rfind(b"xl/worksheets/sheet1.xml") - 46  # its entry in the central directory
    assert data[central : central + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, central + 24, 100)  # declares 100 bytes uncompressed
    path.write_bytes(bytes(data))
    assert refusal(path).startswith("damaged")


# --- hostile workbooks ----------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + f']><worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)


def test_entity_bomb_is_refused(tmp_path):
    reason = refusal(package(tmp_path / "laughs.xlsx", sheet=BILLION_LAUGHS))
    assert reason.startswith("contains XML entity declarations, which Excel never writes")
    assert "xl/worksheets/sheet1.xml" in reason


def test_entities_in_structural_parts_and_utf16_parts_are_refused(tmp_path):
    types = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + content_types(SHEET_TYPE)
    path = package(tmp_path / "ct.xlsx", parts={"[Content_Types].xml": types})
    assert refusal(path).startswith("contains XML entity")
    utf16 = BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode(
        "utf-16"
    )
    assert refusal(package(tmp_path / "u16.xlsx", sheet=utf16)).startswith("contains XML entity")


def test_entity_declaration_across_a_chunk_boundary_is_found(tmp_path):
    noise = os.urandom(1 << 20).hex()[: (1 << 20) - 10]  # random: no zip-bomb ratio
    pad = f"<!-- {noise} -->"  # puts the '<' of <!DOCTYPE on the last byte of the first MiB
    sheet = pad + BILLION_LAUGHS.split("?>", 1)[1]
    assert refusal(package(tmp_path / "late.xlsx", sheet=sheet)).startswith("contains XML entity")


def test_a_worksheet_is_searched_for_declarations_wherever_its_root_does_not_come_first(tmp_path):
    """Sheets are checked only up to their root element when it comes straight after the XML
    declaration (as Excel writes them); any other opening gets the full search, so a comment
    holding something that looks like a start tag cannot hide a DOCTYPE behind it."""
    body = BILLION_LAUGHS.split("]>", 1)[1]
    hidden = '<?xml version="1.0"?><!-- <a> --><!DOCTYPE lolz [<!ENTITY lol "lol">]>' + body
    assert refusal(package(tmp_path / "comment.xlsx", sheet=hidden)).startswith("contains XML entity")
    after_root = body.replace("<sheetData>", "<sheetData><!-- <!DOCTYPE x> -->")  # no declaration to XML
    with zipfile.ZipFile(package(tmp_path / "plain.xlsx", sheet='<?xml version="1.0"?>' + after_root)) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert not sheet_scan.has_entity_declarations(zf, info, prolog_only=True)
        assert sheet_scan.has_entity_declarations(zf, info)


def test_zip_bomb_by_compression_ratio(tmp_path):
    path = package(tmp_path / "bomb.xlsx", parts={"xl/media/zeros.xml": b"\0" * (50 << 20)})
    reason = refusal(path)
    assert (
        reason.startswith("unsafe: its part xl/media/zeros.xml is packed") and "zip bomb" in reason
    )


def test_zip_bomb_by_member_count_and_total_size(tmp_path):
    path = package(tmp_path / "many.xlsx")
    with zipfile.ZipFile(path, "a") as zf:
        for i in range(LIMITS.max_members):
            zf.writestr(f"xl/media/{i}.bin", b"")
    assert refusal(path).startswith(f"unsafe: it holds {LIMITS.max_members + 5} parts")
    data = bytearray(path.read_bytes())  # an end record that under-declares the count
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 3, 3)
    path.write_bytes(bytes(data))
    assert refusal(path).startswith(f"unsafe: it holds {LIMITS.max_members + 5} parts")
    small = WorkbookLimits(max_uncompressed_bytes=1000)
    assert refusal(openpyxl_book(tmp_path / "big.xlsx"), small).startswith("unsafe: it unpacks to")


def test_file_over_the_size_limit(tmp_path):
    path = openpyxl_book(tmp_path / "stock.xlsx")
    assert refusal(path, WorkbookLimits(max_file_bytes=100)).startswith("too large")


def test_encrypted_workbook_says_remove_the_password(tmp_path):
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = openpyxl_book(tmp_path / "plain.xlsx")
    locked = tmp_path / "locked.xlsx"
    with open(plain, "rb") as src, open(locked, "wb") as out:
        ooxml.OOXMLFile(src).encrypt("secret", out)
    reason = refusal(locked)
    assert reason.startswith("password-protected (encrypted)")
    assert "File > Info > Protect Workbook" in reason and ".xlsx" in reason


def test_ole_file_without_msoffcrypto_gets_the_generic_message(tmp_path, monkeypatch):
    ole = tmp_path / "old.xls"
    ole.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504)
    monkeypatch.setitem(sys.modules, "msoffcrypto", None)  # import fails as if not installed
    reason = refusal(ole)
    assert reason.startswith("password-protected (encrypted) or an old binary .xls workbook")


@pytest.mark.skipif(not (CORPUS / "calamine" / "date.xls").is_file(), reason="corpus not present")
def test_old_xls_says_save_as_xlsx(tmp_path):
    path = Path(shutil.copy(CORPUS / "calamine" / "date.xls", tmp_path / "old.xls"))
    assert refusal(path).startswith(
        "an old Excel 97-2003 .xls workbook: open it in Excel and save it as"
    )


def macro_book(path: Path, with_vba: bool = True, with_type: bool = True) -> Path:
    extra = {"xl/vbaProject.bin": b"\xcc" * 64} if with_vba else {}
    if with_type:
        extra["[Content_Types].xml"] = content_types(MACRO_TYPE)
    return package(path, parts=extra)


def test_macros_are_refused_unless_allowed(tmp_path):
    for name, vba, ctype in [
        ("both.xlsm", True, True),
        ("vba.xlsm", True, False),
        ("type.xlsm", False, True),
    ]:
        path = macro_book(tmp_path / name, vba, ctype)
        reason = refusal(path)
        assert reason.startswith("contains macros") and "--allow-macros" in reason
        assert check_package(path, LIMITS, allow_macros=True).has_macros
    path = tmp_path / "both.xlsm"
    assert check_package(path, WorkbookLimits(allow_macros=True)).has_macros
    refusal(path, WorkbookLimits(allow_macros=True), allow_macros=False)


def test_sheets_over_the_row_or_column_cap(tmp_path):
    path = openpyxl_book(tmp_path / "stock.xlsx")
    rows = refusal(path, WorkbookLimits(max_rows=3))
    assert rows.startswith("sheet 'Prices' is too large (4 rows x 3 columns")
    cols = refusal(path, WorkbookLimits(max_columns=2))
    assert cols.startswith("sheet 'Prices' is too large")
    huge = package(
        tmp_path / "huge.xlsx",
        sheet=f'<worksheet xmlns="{MAIN_NS}"><dimension ref="A1:J100001"/><sheetData/></worksheet>',
    )
    assert "100001 rows x 10 columns" in refusal(huge, WorkbookLimits(max_rows=100_000))
    assert check_package(huge, LIMITS).dimensions == {"Data": (100001, 10)}


# --- special cells ----------------------------------------------------------------------------

SPECIAL = (
    '<row r="1"><c r="A1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="B1"><f>A1+1</f><v>2</v></c>'
    '<c r="C1" t="e"><v>#N/A</v></c></row>'
    '<row r="2"><c r="A2"><f>IF(B1&gt;0,"&lt;ok&gt;",0)</f></c><c r="B2" s="1"/>'
    '<c r="C2"><f t="shared" ref="C2:C3" si="0">B2*2</f><v>0</v></c></row>'
    '<row r="3"><c r="C3"><f t="shared" si="0"/></c><c r="D3" t=\'e\'><v>#REF!</v></c>'
    '<c t="e" r="E3"><v>#NAME?</v></c></row>'
    # openpyxl with lxml leaves <v></v> on a formula it never worked out; a text formula
    # whose result is "" has the same empty value, but t="str" says it was worked out
    '<row r="4"><c r="A4"><f>UPPER("x")</f><v></v></c><c r="B4" t="str"><f>IF(1,"","x")</f><v></v></c></row>'
)
EXPECTED = [
    SpecialCell("A1", "error", "#DIV/0!"),
    SpecialCell("C1", "error", "#N/A"),
    SpecialCell("A2", "uncalculated", 'IF(B1>0,"<ok>",0)'),
    SpecialCell("C3", "uncalculated", ""),
    SpecialCell("D3", "error", "#REF!"),
    SpecialCell("E3", "error", "#NAME?"),
    SpecialCell("A4", "uncalculated", 'UPPER("x")'),
]


def test_special_cells_finds_errors_and_uncalculated_formulas(tmp_path):
    path = package(tmp_path / "special.xlsx", sheet=sheet_xml(SPECIAL))
    assert special_cells(path, "xl/worksheets/sheet1.xml") == EXPECTED
    with zipfile.ZipFile(path) as zf:
        assert special_cells(zf, "xl/worksheets/sheet1.xml") == EXPECTED


def test_special_cells_with_a_namespace_prefix_and_tiny_chunks(tmp_path, monkeypatch):
    prefixed = SPECIAL.replace("<", "<x:").replace("<x:/", "</x:")
    path = package(tmp_path / "prefixed.xlsx", sheet=sheet_xml(prefixed, prefix="x"))
    assert special_cells(path, "xl/worksheets/sheet1.xml") == EXPECTED
    monkeypatch.setattr(sheet_scan, "CHUNK", 7)  # every cell crosses a chunk boundary
    plain = package(tmp_path / "plain.xlsx", sheet=sheet_xml(SPECIAL))
    assert special_cells(plain, "xl/worksheets/sheet1.xml") == EXPECTED
    assert special_cells(path, "xl/worksheets/sheet1.xml") == EXPECTED


def test_special_cells_without_r_attributes_are_located_by_position(tmp_path):
    cells = '<row><c><v>1</v></c><c t="e"><v>#N/A</v></c></row><row/><row><c r="B3"/><c><f>A1</f></c></row>'
    path = package(tmp_path / "no_r.xlsx", sheet=sheet_xml(cells))
    assert special_cells(path, "xl/worksheets/sheet1.xml") == [
        SpecialCell("B1", "error", "#N/A"),
        SpecialCell("C3", "uncalculated", "A1"),
    ]


def test_special_cells_quick_path_and_openpyxl_sheets(tmp_path):
    path = openpyxl_book(tmp_path / "stock.xlsx")
    assert special_cells(path, "xl/worksheets/sheet1.xml") == []


@pytest.mark.skipif(
    not (CORPUS / "calamine" / "errors.xlsx").is_file(), reason="corpus not present"
)
def test_special_cells_on_the_corpus_error_workbook(tmp_path):
    path = Path(shutil.copy(CORPUS / "calamine" / "errors.xlsx", tmp_path / "errors.xlsx"))
    info = check_package(path, LIMITS)
    found = special_cells(path, info.sheet_parts["Feuil1"])
    assert [(c.ref, c.text) for c in found] == [
        ("A1", "#DIV/0!"),
        ("A2", "#NAME?"),
        ("A3", "#VALUE!"),
        ("A4", "#NULL!"),
        ("A5", "#REF!"),
        ("A6", "#NUM!"),
        ("A7", "#N/A"),
    ]
    # calamine alone shows these cells as empty strings: the reason this scan exists
    assert read_rows(path, open_calamine(path, info), "Feuil1")[0] == [""]


def test_special_cells_finds_the_one_error_at_the_end_of_a_30_mb_sheet(tmp_path):
    """(How fast: benchmarks/bench_sheet_scan.py, against its floor in the same run.)"""
    row = "".join(f'<c r="{c}{{r}}"><f>SUM(A{{r}}:D{{r}})</f><v>1.5</v></c>' for c in "ABCDEFGH")
    cells = "".join(f'<row r="{r}">{row.format(r=r)}</row>' for r in range(1, 70_000))
    cells += '<row r="70000"><c r="A70000" t="e"><v>#N/A</v></c></row>'
    sheet = sheet_xml(cells)
    assert len(sheet) > 30_000_000
    path = package(tmp_path / "big.xlsx", sheet=sheet)
    assert special_cells(path, "xl/worksheets/sheet1.xml") == [SpecialCell("A70000", "error", "#N/A")]
