"""`workbook new` reads a sheet's records a run at a time (engine.sheets.exporting.RUN) and
writes each run as it comes: the file is the same whatever the runs, for every module's
workbook of the demo (computed columns asked for a run at a time: an invoice's open amount
on its first line only, a reversed entry named by its number, what a payment settles); a
sheet longer than Excel's grid is refused, naming it, and leaves no file; and an export
holds one run, not the sheet."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from engine.demo import build_demo
from engine.errors import BackofficeError
from engine.security.roles import SYSTEM
from engine.sheets import export, export_rows, exporting
from engine.sheets.exporting import new_workbook
from engine.sheets.meta import META_SHEET
from engine.sheets.spec import modules
from tests.integration.conftest import read_meta, read_sheet


def _content(path: Path, db) -> dict:
    """Every sheet's values, and what the _backoffice sheet says of the records."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    sheets = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
              for name in book.sheet_names if name != META_SHEET}
    meta = read_meta(path, db)
    return {"sheets": sheets, "labels": meta.labels,
            "base": {name: (base.columns, dict(base.rows.items())) for name, base in meta.base.items()}}


def test_every_workbook_exported_a_few_records_at_a_time_is_the_one_exported_at_once(db, admin, tmp_path, monkeypatch):
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session)
    longest = 0
    for module in modules():
        at_once = tmp_path / f"{module}.xlsx"
        counts = new_workbook(db, admin, module, at_once)
        longest = max(longest, *counts.values())
        monkeypatch.setattr(exporting, "RUN", 7)
        in_runs = tmp_path / f"{module} in runs.xlsx"
        assert new_workbook(db, admin, module, in_runs) == counts
        monkeypatch.setattr(exporting, "RUN", 10_000)
        assert _content(in_runs, db) == _content(at_once, db), module
    assert longest > 7 * 10     # the runs split sheets many times over


def test_a_sheet_longer_than_excels_grid_is_refused_and_leaves_no_file(people_db, actor_for, tmp_path, monkeypatch):
    """(Excel's 1,048,576 rows, made 3 here: the Organisations sheet holds 3 records.)"""
    monkeypatch.setattr(export_rows, "MAX_ROWS", 3)
    out = tmp_path / "contacts.xlsx"
    with pytest.raises(BackofficeError, match="the Organisations sheet would hold 3 rows or more, and an Excel sheet "
                                              "holds at most 2 under its header"):
        new_workbook(people_db, actor_for("ada"), "contacts", out)
    assert [p.name for p in tmp_path.iterdir() if "xlsx" in p.name] == []


def test_a_drop_down_list_longer_than_excels_grid_is_cut_at_its_last_row(people_db, actor_for, tmp_path, monkeypatch):
    """(Excel's grid made 5 rows here: the list of the 5 contacts holds 4 under its name.)"""
    monkeypatch.setattr(export_rows, "MAX_ROWS", 5)
    monkeypatch.setattr(export, "MAX_ROWS", 5)
    out = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", out)
    lists = read_sheet(out, "_lists")
    assert lists[0] == ["contacts", "countries", "organisations"] and len(lists) == 5
    assert len(read_meta(out, people_db).labels["contacts"]) == 5     # every label shown is read back
    book = openpyxl.load_workbook(out)
    assert book["Organisations"].tables["Organisations"].ref == "A1:J5"   # 3 records and one spare row
    assert "_lists!$A$2:$A$5" in [v.formula1 for v in book["Addresses"].data_validations.dataValidation]


def test_an_export_holds_one_run_of_records_not_the_sheet(db, admin, tmp_path, monkeypatch):
    """20,000 people in runs of 2,000: held whole as before (a dict per record, a cell object
    per value) the export took over 100 MB; a run at a time, under 40 MB."""
    people = 20_000
    monkeypatch.setattr(exporting, "RUN", 2_000)
    from engine.contacts.models import Contact
    from engine.db.base import utcnow
    from engine.db.bulk import insert_many

    now = utcnow()
    with db.engine.begin() as connection:
        insert_many(connection, Contact.__table__, [
            {"id": n, "kind": "person", "name": f"First{n} Last{n}", "name_key": f"first{n} last{n}",
             "first_name": f"First{n}", "last_name": f"Last{n}", "organisation_id": None, "job_title": "Clerk",
             "email": f"p{n}@example.org", "phone": f"+44 20 {n:07d}", "website": None, "country": "GB",
             "tags": "customer", "opt_out": False, "notes": None, "version": 1, "created_at": now,
             "updated_at": now, "updated_by": "test"} for n in range(1, people + 1)])
    out = tmp_path / "contacts.xlsx"
    tracemalloc.start()
    try:
        assert new_workbook(db, admin, "contacts", out)["People"] == people
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(read_sheet(out, "People")) == people + 1
    assert peak < 40 << 20, f"{peak / (1 << 20):.0f} MB"
