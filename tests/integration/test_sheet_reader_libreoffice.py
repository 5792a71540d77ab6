"""Workbooks LibreOffice saved (from .xlsx and from .ods) read exactly as python-calamine
reads them: LibreOffice writes every part its own way (xml:space on every shared string,
&#10; for line ends, t="n" on numbers, its own number format codes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.office import xlsx_rows
from tests.libreoffice import save_with_libreoffice, soffice
from tests.sheet_files import differences, openpyxl_book, xlsxwriter_book

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("libreoffice")
    books = {
        "xlsxwriter": xlsxwriter_book(folder / "xlsxwriter.xlsx"),
        "xlsxwriter 1904": xlsxwriter_book(folder / "xlsxwriter1904.xlsx", date1904=True),
        "openpyxl": openpyxl_book(folder / "openpyxl.xlsx"),
    }
    for path in books.values():
        save_with_libreoffice(path, folder)
    source = xlsxwriter_book(folder / "fromods.xlsx")
    profile = (folder / "lo-profile").resolve().as_uri()
    for target, out in (("ods", folder / "ods"), ("xlsx:Calc MS Excel 2007 XML", folder / "back")):
        done = subprocess.run([soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile}",
                               "--convert-to", target, "--outdir", str(out), str(source)],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        source = out / f"{source.stem}.{target.split(':')[0]}"
    books["from .ods"] = source
    return books


@pytest.mark.parametrize("name", ["xlsxwriter", "xlsxwriter 1904", "openpyxl", "from .ods"])
@pytest.mark.parametrize("way", ["fast", "careful"])
def test_libreoffice_files_read_as_calamine_reads_them(saved, monkeypatch, name, way):
    if way == "careful":
        monkeypatch.setattr(xlsx_rows, "fast_rows", lambda *args: None)
    assert differences(saved[name]) == []
