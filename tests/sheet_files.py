"""Workbooks holding every kind of cell, as different programs write them, and the check that
our streaming reader (engine.office.xlsx_rows) reads each exactly as python-calamine does."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office.sheet_scan import special_cells
from engine.office.xlsx_guard import check_package, open_calamine, read_rows
from engine.office.xlsx_rows import SheetReader

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TEXTS = ["plain", "Smith & Sons <Ltd> \"quoted\" 'single'", "two\nlines", "windows\r\nline",
         "  padded  ", "\ttabbed", "Zoë Ødegård", "€ 5 — “quotes”", "emoji 😀 here", "_x000D_ looks escaped",
         "x" * 300, "", "=not a formula", "0042"]
NUMBERS = [0, 1, -1, 1.5, -2.25, 1e20, 1e-7, 123456789012, 3.141592653589793, 0.1 + 0.2]


def xlsxwriter_book(path: Path, *, date1904: bool = False) -> Path:
    """Every value type xlsxwriter writes, in several number formats, with gaps, formulas
    with cached values (numbers, text, booleans, errors), rich text and a far column."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904, "strings_to_numbers": False,
                                           "strings_to_formulas": False})
    formats = {code: book.add_format({"num_format": code}) for code in (
        "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss", "hh:mm", "[h]:mm:ss", "0.00", "d/m/yy h:mm", "mm:ss",
        '"Y: "0.00', "[Red]0.0;[Blue]-0.0", "#,##0*y", "General", "@", "[$-409]mmmm d, yyyy")}
    formats[14] = book.add_format({"num_format": 14})
    formats[46] = book.add_format({"num_format": 46})
    values = book.add_worksheet("Values")
    for r, text in enumerate(TEXTS):
        values.write_string(r, 0, text)
    durations = {formats["[h]:mm:ss"], formats[46]}
    for r, number in enumerate(NUMBERS):
        values.write_number(r, 1, number)
        for c, fmt in enumerate(formats.values(), start=2):
            if fmt not in durations or abs(number) < 1e9:  # python-calamine fails on a longer duration
                values.write_number(r, c, number, fmt)
    values.write_boolean(0, 20, True)
    values.write_boolean(1, 20, False)
    values.write_blank(2, 20, None, formats["yyyy-mm-dd"])  # a styled empty cell: no value
    values.write_datetime(3, 20, dt.datetime(2024, 2, 29, 13, 45, 30, 500000), formats["yyyy-mm-dd hh:mm:ss"])
    values.write_datetime(4, 20, dt.date(1900, 1, 1), formats[14])
    values.write_datetime(5, 20, dt.time(23, 59, 59), formats["hh:mm"])
    values.write_number(6, 20, 59.5, formats[14])   # the days around Excel's phantom 29 February 1900
    values.write_number(7, 20, 60, formats[14])
    values.write_number(8, 20, 61, formats[14])
    values.write_number(9, 20, 2958465.9999, formats["yyyy-mm-dd hh:mm:ss"])  # 9999-12-31
    values.write_number(10, 20, 2958466, formats[14])  # year 10000: stays a number
    values.write_number(11, 20, 100000.123456, formats[46])
    values.write_number(40, 60, 7)  # far right, far down, after empty rows and columns
    values.write_rich_string(15, 0, "rich ", book.add_format({"bold": True}), "bold", " end")
    formulas = book.add_worksheet("Formulas")
    formulas.write_number(0, 0, 2)
    formulas.write_formula(0, 1, "=A1*2", None, 4)
    formulas.write_formula(1, 1, '="a"&"b"', None, "ab")
    formulas.write_formula(2, 1, "=1=1", None, True)
    formulas.write_formula(3, 1, "=1/0", None, "#DIV/0!")
    formulas.write_formula(4, 1, "=NA()", None, "#N/A")
    formulas.write_formula(5, 1, '=""', None, "")
    formulas.write_formula(6, 1, "=A1", formats["yyyy-mm-dd"], 45000)
    formulas.write_array_formula(7, 1, 8, 1, "{=A1:A2*2}", None, 4)
    formulas.write_formula(9, 1, "=1/0", None, "#SPILL!")  # newer than calamine: refused there
    book.add_worksheet("Empty")
    book.close()
    return path


def openpyxl_book(path: Path, *, iso_dates: bool = False, date1904: bool = False) -> Path:
    """openpyxl's way: formulas without cached values, <v></v>, inline-free shared strings,
    dates by its own formats (and t="d" ISO dates with iso_dates=True)."""
    book = openpyxl.Workbook(iso_dates=iso_dates)
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904 if date1904 else openpyxl.utils.datetime.CALENDAR_WINDOWS_1900
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["text", 1, 2.5, True, None, dt.date(2024, 1, 31)])
    sheet.append([dt.datetime(2024, 1, 31, 8, 30), dt.time(7, 15, 30), dt.timedelta(hours=30), "=A1&\"x\"", "=B1+1", None])
    sheet.append([])
    sheet.append(["after a gap", None, None, "  spaces  ", "tab\there", "line\nbreak"])
    sheet["H9"] = "lonely"
    sheet["B9"] = 0
    sheet["C9"].number_format = "yyyy-mm-dd"  # styled, no value
    other = book.create_sheet("Other")
    other["C3"] = "=SUM(A1:A2)"
    other["A1"] = -3.25
    book.save(path)
    return path


def package(path: Path, cells: str, *, prefix: str = "", shared: list[str] | None = None,
            number_formats: tuple[str, ...] = (), date1904: bool = False, raw_sheet: str | None = None,
            raw_shared: str | None = None) -> Path:
    """A hand-written .xlsx of one sheet "Data" whose <sheetData> holds `cells` (written
    with namespace prefix `prefix`). Cell format 1.. is `number_formats[0]`.. (custom codes
    or built-in numbers); `shared`: the shared strings, as plain <si><t> items."""
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    sheet = raw_sheet or (f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}="{MAIN_NS}">'
                          f"<{p}sheetData>{cells}</{p}sheetData></{p}worksheet>")
    custom = [(164 + n, code) for n, code in enumerate(number_formats) if not code.isdigit()]
    ids = iter(n for n, _ in custom)
    xfs = "".join(f'<xf numFmtId="{code if code.isdigit() else next(ids)}"/>' for code in number_formats)
    codes = "".join(f'<numFmt numFmtId="{n}" formatCode="{_attr(code)}"/>' for n, code in custom)
    styles = (f'<styleSheet xmlns="{MAIN_NS}"><numFmts count="{len(custom)}">{codes}</numFmts>'
              f'<cellXfs count="{len(number_formats) + 1}"><xf numFmtId="0"/>{xfs}</cellXfs></styleSheet>')
    strings = raw_shared or (f'<sst xmlns="{MAIN_NS}">' + "".join(f"<si><t>{_text(s)}</t></si>" for s in shared or [])
                             + "</sst>")
    members = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        "_rels/.rels": _rels(("rId1", "officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<workbookPr date1904="{int(date1904)}"/><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": _rels(("rId1", "worksheet", "worksheets/sheet1.xml"),
                                            ("rId2", "styles", "styles.xml"), ("rId3", "sharedStrings", "sharedStrings.xml")),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/styles.xml": styles,
        "xl/sharedStrings.xml": strings,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _rels(*items: tuple[str, str, str]) -> str:
    body = "".join(f'<Relationship Id="{rid}" Type="{REL_NS}/{kind}" Target="{target}"/>' for rid, kind, target in items)
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _text(text).replace('"', "&quot;")


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (1.0 is not 1, True is not 1); NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def differences(path: Path, limits: WorkbookLimits | None = None) -> list[str]:
    """Where our reader and python-calamine (with sheet_scan's special cells) disagree on a
    workbook, sheet by sheet; [] when they agree on every cell, or both refuse a sheet."""
    info = check_package(path, limits or WorkbookLimits())
    found = []
    book = open_calamine(path, info)
    try:
        for name in info.sheet_names:
            try:
                expected: Any = read_rows(path, book, name, skip_empty_area=False)
            except UnusableInput as exc:
                expected = exc
            try:
                with SheetReader(path, info) as reader:
                    got: Any = reader.read_rows(name)
                    special = reader.special[name]
            except UnusableInput as exc:
                got, special = exc, None
            if isinstance(expected, Exception) or isinstance(got, Exception):
                if not (isinstance(expected, Exception) and isinstance(got, Exception)):
                    found.append(f"{name}: calamine {expected!r:.200}, reader {got!r:.200}")
                continue
            if len(expected) != len(got):
                found.append(f"{name}: {len(expected)} rows from calamine, {len(got)} from the reader")
            for number, (want, have) in enumerate(zip(expected, got, strict=False), start=1):
                if len(want) != len(have) or not all(map(same, want, have)):
                    found.append(f"{name} row {number}: calamine {want!r:.300}, reader {have!r:.300}")
            scanned = special_cells(path, info.sheet_parts[name])
            if special != scanned:
                found.append(f"{name}: special cells {special} from the reader, {scanned} from sheet_scan")
    finally:
        book.close()
    return found
