"""Workbooks people can read and print: number formats, header cells, print set-up, posted
rows locked, a Delete column that works under protection, and `_lists` kept very hidden,
also after LibreOffice saved the file."""

from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, find_row, read_sheet
from tests.libreoffice import save_with_libreoffice


def _printed(sheet) -> None:
    """Landscape, one page wide, the header row on every page, sheet and page in the footer."""
    assert sheet.page_setup.orientation == "landscape", sheet.title
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth in (1, None), sheet.title
    assert sheet.page_setup.fitToHeight == 0, sheet.title
    assert sheet.print_title_rows == "$1:$1", sheet.title
    footer = sheet.oddFooter
    assert footer.left.text == "&A" and "&P" in footer.right.text, sheet.title


def _header_cells_styled(sheet) -> None:
    first = sheet.cell(1, 1)
    assert first.font.b and first.fill.fgColor.rgb.endswith("D9E1F2"), sheet.title


def _inventory(db):
    from engine.inventory.models import Item, Location
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor

    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        session.add_all([Location(code="MAIN", name="Main", kind="warehouse"),
                         Item(sku="BOLT-8", name="Bolt M8", reorder_point=Decimal(10), standard_cost=Decimal("74324.3"))])
    with db.reading() as session:
        return resolve_actor(session, "wes")


def test_every_sheet_prints_with_formats_and_header_cells_after_export_and_sync(db, settings, tmp_path):
    wes = _inventory(db)
    path = tmp_path / "inventory.xlsx"
    new_workbook(db, wes, "inventory", path)
    book = openpyxl.load_workbook(path)
    for name in ("Items", "Movements", "On hand", "Reorder"):
        _printed(book[name])
        _header_cells_styled(book[name])
    items = book["Items"]
    cost = [c.column for c in items[1] if c.value == "Standard cost"][0]
    assert items.cell(2, cost).number_format == "#,##0.00"          # 74,324.30, not 74324.3
    reorder = [c.column for c in items[1] if c.value == "Reorder point"][0]
    assert items.cell(2, reorder).number_format == "#,##0.0###"

    row = len(read_sheet(path, "Movements")) + 1
    edit_by_label(path, "Movements", row, {"Date": date(2026, 3, 2), "Kind": "receipt", "Reason": "received",
                                           "Item": "BOLT-8 Bolt M8", "Quantity": 4, "To": "MAIN Main", "Unit cost": 0.5})
    assert RoundTrip(db, settings, wes).sync(path).status == "applied"
    book = openpyxl.load_workbook(path)
    for name in ("On hand", "Reorder", "Movements"):   # rewritten or patched by the sync
        _printed(book[name])
        _header_cells_styled(book[name])
    on_hand = book["On hand"]
    assert on_hand["E2"].value == 4 and on_hand["E2"].number_format == "#,##0.0###"


def test_posted_rows_are_locked_in_the_file_and_rows_posted_by_a_sync_too(db, settings, tmp_path):
    wes = _inventory(db)
    path = tmp_path / "inventory.xlsx"
    new_workbook(db, wes, "inventory", path)
    row = len(read_sheet(path, "Movements")) + 1
    edit_by_label(path, "Movements", row, {"Date": date(2026, 3, 2), "Kind": "receipt", "Reason": "received",
                                           "Item": "BOLT-8 Bolt M8", "Quantity": 4, "To": "MAIN Main", "Unit cost": 0.5})
    header = read_sheet(path, "Movements")[0]
    assert RoundTrip(db, settings, wes).sync(path).status == "applied"
    movements = openpyxl.load_workbook(path)["Movements"]
    assert movements.protection.sheet
    for label in ("Date", "Kind", "Quantity", "Unit cost"):
        assert movements.cell(row, header.index(label) + 1).protection.locked, label

    again = tmp_path / "again.xlsx"   # exported afresh: the posted row is locked there too
    new_workbook(db, wes, "inventory", again)
    movements = openpyxl.load_workbook(again)["Movements"]
    assert movements.cell(2, header.index("Quantity") + 1).protection.locked
    items = openpyxl.load_workbook(again)["Items"]   # an ordinary sheet: saved rows stay editable
    assert items.cell(2, 4).protection.locked is False


@pytest.mark.libreoffice
def test_delete_column_deletes_an_address_after_a_libreoffice_save(people_db, actor_for, settings, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    header = read_sheet(path, "Addresses")[0]
    assert header[-1] == "Delete" and "Delete" not in read_sheet(path, "People")[0]
    leeds = find_row(path, "Addresses", "City", "Leeds")
    york = find_row(path, "Addresses", "City", "York")
    edit_by_label(path, "Addresses", leeds, {"Delete": "yes"})
    save_with_libreoffice(path, tmp_path)

    denied = RoundTrip(people_db, settings, actor_for("stef")).sync(path)   # may not delete contacts
    assert denied.status == "rejected" and [p.code for p in denied.problems] == ["permission"]

    done = RoundTrip(people_db, settings, actor_for("ada")).sync(path)
    assert (done.status, done.deleted) == ("applied", 1)
    rows = read_sheet(path, "Addresses")
    assert [r[header.index("City")] for r in rows[1:] if r[0] != ""] == ["York"]
    assert rows[leeds - 1][header.index("Delete")] == ""
    assert find_row(path, "Addresses", "City", "York") == york


@pytest.mark.libreoffice
def test_lists_is_very_hidden_again_after_a_libreoffice_save_and_its_drop_downs_still_work(
        people_db, actor_for, settings, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    assert openpyxl.load_workbook(path)["_lists"].sheet_state == "veryHidden"
    save_with_libreoffice(path, tmp_path)
    assert openpyxl.load_workbook(path)["_lists"].sheet_state == "hidden"   # what LibreOffice does

    assert RoundTrip(people_db, settings, actor_for("ada")).sync(path).status == "unchanged"
    book = openpyxl.load_workbook(path)
    assert book["_lists"].sheet_state == "veryHidden"
    assert book["_backoffice"].sheet_state == "veryHidden"
    sources = [v.formula1 for v in book["People"].data_validations.dataValidation if v.formula1]
    assert any("_lists" in source for source in sources)
    _printed(book["People"])   # LibreOffice kept the print set-up

    save_with_libreoffice(path, tmp_path)
    RoundTrip(people_db, settings, actor_for("ada")).refresh(path)
    assert openpyxl.load_workbook(path)["_lists"].sheet_state == "veryHidden"
