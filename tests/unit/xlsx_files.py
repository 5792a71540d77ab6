"""Small workbooks and their zip members (people_workbook, member, members, replace_member) for test_xlsx_patch.py and test_xlsx_patch_streaming.py."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read(name)


def replace_member(path: Path, name: str, content: bytes) -> None:
    """Rewrite one member, as another program saving the file would."""
    old = members(path)
    old[name] = content
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for each, data in old.items():
            package.writestr(each, data)


def people_workbook(path: Path, **options) -> Path:
    """A small openpyxl workbook: People (id, name, born as dates), and Notes."""
    book = openpyxl.Workbook()
    if options.get("date1904"):
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet.title = "People"
    sheet.append(["id", "name", "born"])
    sheet.append([1, "Ann", dt.date(1990, 1, 2)])
    sheet.append([2, "Bob", dt.date(1985, 5, 6)])
    sheet["B2"].font = openpyxl.styles.Font(bold=True)
    if options.get("formula"):
        sheet["D2"] = "=A2*10"
    book.create_sheet("Notes")["A1"] = "keep me"
    book.save(path)
    return path
