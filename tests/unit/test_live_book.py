"""A workbook open in Excel as the round trip sees it (engine/sheets/live.py): its cells read
as a file's are, and the write-back as changes with a JSON form for the server's answer."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office.xlsx_comments import note_fingerprint
from engine.office.xlsx_owned import OwnedSheet
from engine.office.xlsx_patch import UNCHANGED, CellPatch, SheetPatch
from engine.sheets.live import LIVE_MARK, BookChanges, BookSnapshot


def test_blank_cells_read_as_a_file_reads_them_and_errors_are_kept_by_cell():
    book = BookSnapshot.of_values("stock.xlsx", {"Items": [["ID", "SKU", "On hand"], [1.0, "BOLT-8", "#DIV/0!"],
                                                           [None, None, None]]}, {"_backoffice": "veryHidden"})
    assert book.rows("Items") == [["ID", "SKU", "On hand"], [1.0, "BOLT-8", ""]], "a blank last row is dropped"
    assert [(c.ref, c.kind, c.text) for c in book.special("Items")] == [("C2", "error", "#DIV/0!")]
    assert book.hidden == {"_backoffice": "veryHidden"}


def test_the_snapshot_and_the_changes_travel_as_json_with_exact_values():
    book = BookSnapshot.of_values("ledger.xlsx", {"Entries": [["Date", "Amount"], [dt.datetime(2026, 3, 31), 12.5]]}, {})
    again = BookSnapshot.from_json(json.loads(json.dumps(book.as_json())))
    assert again.sheets == book.sheets and again.name == "ledger.xlsx"
    changes = BookChanges(
        sheets={"Entries": SheetPatch({"B2": CellPatch(Decimal("12.50"), mark="problem", note="check"),
                                       "C2": CellPatch(lock=True), "A3": CellPatch(dt.date(2026, 4, 1))},
                                      table_last_row=103)},
        owned={"Issues": OwnedSheet(rows=[["Sheet", "Cell"], ["Entries", "B2"]], links={"B2": "'Entries'!B2"},
                                    column_widths={1: 16.0}, bold_first_row=True, placement="first")},
        clear_marks={"Entries": ["D7"]}, clear_notes={"Entries": ["abc"]}, very_hidden=["_lists"])
    back = BookChanges.from_json(json.loads(json.dumps(changes.as_json())))
    assert back.sheets["Entries"].cells["B2"] == CellPatch(Decimal("12.50"), mark="problem", note="check")
    assert back.sheets["Entries"].cells["C2"].value is UNCHANGED and back.sheets["Entries"].cells["C2"].lock
    assert back.sheets["Entries"].cells["A3"].value == dt.date(2026, 4, 1)
    assert back == changes


@pytest.mark.parametrize("garbage", [{}, {"name": "x", "sheets": {"A": [[{"formula": "=1"}]]}},
                                     {"name": "x", "sheets": {"A": [[[1, 2]]]}}, {"name": "x", "sheets": []}])
def test_a_snapshot_that_is_not_one_is_refused(garbage):
    with pytest.raises(ValueError, match="not a workbook snapshot"):
        BookSnapshot.from_json(garbage)


def test_a_snapshot_holding_more_text_than_a_file_may_is_refused():
    book = BookSnapshot.of_values("big.xlsx", {"People": [["x" * 600] for _ in range(10)]}, {})
    book.check_size(WorkbookLimits(max_text_bytes=6000))
    with pytest.raises(UnusableInput, match="max_text_bytes"):
        book.check_size(WorkbookLimits(max_text_bytes=5999))


def test_the_write_back_names_the_old_marks_and_notes_to_take_off_and_records_the_new():
    book = BookSnapshot.of_values(str(Path("c.xlsx")), {"People": [["ID"]], "Issues": []}, {})
    patches = {"People": SheetPatch({(7, 3): CellPatch(mark="problem", note="bad e-mail"),
                                     "D9": CellPatch(mark=None)}, clear_marks=True)}
    result = book.record(patches, {"Issues": OwnedSheet(rows=[["x"]])}, {"People": {"C4": 12, "D9": 3}},
                         lambda done: {"_backoffice": OwnedSheet(rows=[[str(done.marks)]], state="veryHidden")},
                         ("_lists",), {"People": ["old"]})
    assert book.changes.clear_marks == {"People": ["C4", "D9"]} and book.changes.clear_notes == {"People": ["old"]}
    assert result.marks == {"People": {"C7": LIVE_MARK}}
    assert result.notes == {"People": [note_fingerprint("bad e-mail")]}
    assert set(book.changes.owned) == {"Issues", "_backoffice"}, "the meta sheet is written after the marks are known"
    assert book.changes.very_hidden == [], "only sheets the workbook has"
