"""A workbook whose sheet holds more rows than its dimension declares gets past a guard that
believes the dimension; the reader refuses it still, from the rows calamine found, before
they become Python values, naming the file, the sheet, the count, the limit and what to do."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office import xlsx_guard
from engine.office.sheet_scan import declared_dimension
from engine.office.xlsx_guard import check_package
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
LIMITS = WorkbookLimits(max_rows=300)  # over the 250 countries of _lists and the spare rows of People


def add_rows_below(path: Path, sheet: str, rows: range) -> None:
    """Rows typed far below the table of `sheet`, its <dimension> left as exported."""
    member = check_package(path, WorkbookLimits()).sheet_parts[sheet]
    with zipfile.ZipFile(path) as zin:
        parts = [(info, zin.read(info)) for info in zin.infolist()]
    extra = b"".join(b'<row r="%d"><c r="C%d" t="inlineStr"><is><t>Far %d</t></is></c></row>' % (n, n, n)
                     for n in rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in parts:
            zout.writestr(info, data.replace(b"</sheetData>", extra + b"</sheetData>") if info.filename == member
                          else data)


def test_more_rows_than_the_dimension_declares_are_refused_by_the_reader(
        people_db, actor_for, settings, tmp_path, monkeypatch):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    add_rows_below(path, "People", range(400, 404))
    with zipfile.ZipFile(path) as zf:
        member = check_package(path, WorkbookLimits()).sheet_parts["People"]
        declared_rows, _ = declared_dimension(zf, zf.getinfo(member))
    assert declared_rows < LIMITS.max_rows < 403

    # A part this small is scanned whatever it declares: the guard sees the rows itself.
    assert "sheet 'People' is too large (it reaches row 40" in _refusal(lambda: check_package(path, LIMITS))

    # Believed (as a large part would be), the dimension lets it through the guard...
    monkeypatch.setattr(xlsx_guard, "ALWAYS_SCAN", 0)
    check_package(path, LIMITS)
    # ...and the reader refuses it at the first row past the limit, before it becomes values
    # (where the reader meets it first).
    trip = RoundTrip(people_db, dataclasses.replace(settings, workbook=LIMITS), actor_for("ada"))
    reason = _refusal(lambda: trip.validate(path, annotate_file=False), path)
    assert reason == ("sheet 'People' is too large (it reaches row 403; the limit is 300 rows x 200 columns): "
                      "split it into "
                      "workbooks of at most 300 rows (or delete the rows not needed), then save it again; "
                      "or raise the setting workbook.max_rows")


def _refusal(attempt, path: Path | None = None) -> str:
    with pytest.raises(UnusableInput) as caught:
        attempt()
    if path is not None:
        assert str(caught.value).startswith(f"{path}: ")
    return caught.value.reason
