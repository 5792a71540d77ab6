"""The ribbon's round trip on a workbook open in Excel (the headless xlwings engine) against
`backoffice sync` on the file: the same edits give the same database, the same audit rows
and the same marks and notes. Two twin databases, filled alike, one per door."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from addin import excel_api, ribbon
from engine.contacts import services
from engine.db.audit import AuditEntry
from engine.db.session import Database
from engine.office.xlsx_styles import MARK_FILLS
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.addin_support import (
    acting_in_addin,
    find_row_in,
    header,
    open_in_excel,
    type_row,
)
from tests.integration.conftest import (
    edit_by_label,
    fill_people,
    find_row,
    read_sheet,
    second_database,
)
from tests.integration.doors import actor

KIND_OF_FILL = {argb: kind for kind, argb in MARK_FILLS.items()}


@pytest.fixture
def twin(database_url, tmp_path, pg_admin_engine) -> Iterator[Database]:
    """A second database of the same kind as `db`, filled alike (people_db's records)."""
    with second_database(database_url, pg_admin_engine, tmp_path) as database:
        yield fill_people(database)


def marks_and_notes(path: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """Every cell wearing our mark or a note: (sheet, cell) -> (mark, note text)."""
    book = openpyxl.load_workbook(path)
    found = {}
    for sheet in book.worksheets:
        if sheet.title.startswith("_"):
            continue
        for row in sheet.iter_rows():
            for cell in row:
                kind = KIND_OF_FILL.get(str(cell.fill.fgColor.rgb or "").upper()) if cell.fill.fill_type == "solid" else None
                note = cell.comment.text if cell.comment else None
                if kind or note:
                    found[(sheet.title, cell.coordinate)] = (kind, note)
    return found


def contacts_table(db: Database) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, version, kind, name, email, country, website FROM contacts ORDER BY id"))]


def audit_rows(db: Database) -> list[tuple[Any, ...]]:
    """The audit log without what differs between any two runs (time, ids, hashes, workbook id)."""
    with db.reading() as session:
        return [(a.actor, a.source, a.table_name, a.record_id, a.action, a.changes, a.sheet, a.row_number)
                for a in session.scalars(sa.select(AuditEntry).where(AuditEntry.source != "system")
                                         .order_by(AuditEntry.id))]


def _id_of(db: Database, name: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM contacts WHERE name = :n"), {"n": name}).scalar_one()


def _issues(path: Path) -> list[list[Any]]:
    return [row[:5] for row in read_sheet(path, "Issues")]


def test_the_same_edits_through_the_ribbon_and_the_command_line_end_alike(people_db, twin, settings, tmp_path,
                                                                           excel_engine):
    by_file, in_excel = tmp_path / "file.xlsx", tmp_path / "excel.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", by_file)
    new_workbook(twin, actor(twin, "sam"), "contacts", in_excel)
    cli = RoundTrip(people_db, settings, actor(people_db, "sam"))
    bolt = find_row(by_file, "Organisations", "Name", "Bolt GmbH")
    new = len(read_sheet(by_file, "Organisations")) + 1
    wrong = ({"E-mail": "not an address", "Country": "XX"}, {"Name": None, "Country": "GB", "Website": "x"})
    right = ({"E-mail": "sales@bolt.example", "Country": "DE"}, {"Name": "Cog SARL", "Country": "FR"})

    # 1. Problems: nothing saved, the same cells marked with the same notes, the same Issues.
    edit_by_label(by_file, "Organisations", bolt, wrong[0])
    edit_by_label(by_file, "Organisations", new, wrong[1])
    refused = cli.sync(by_file)
    with open_in_excel(in_excel, save=True, engine=excel_engine) as book, acting_in_addin(twin, "sam"):
        sheet = book.sheets["Organisations"]
        assert type_row(sheet, wrong[0], find=("Name", "Bolt GmbH")) == bolt
        assert type_row(sheet, wrong[1]) == new
        answer = ribbon.sync()
    assert refused.status == answer["status"] == "rejected"
    assert answer["exit_code"] == refused.exit_code == 1
    assert [p.as_json() for p in refused.problems] == answer["problems"]
    assert marks_and_notes(in_excel) == marks_and_notes(by_file) != {}
    assert _issues(in_excel) == _issues(by_file)
    assert contacts_table(twin) == contacts_table(people_db)

    # 2. Fixed: saved alike, audited alike, marks gone alike, the new row's id written in.
    edit_by_label(by_file, "Organisations", bolt, right[0])
    edit_by_label(by_file, "Organisations", new, right[1])
    saved = cli.sync(by_file)
    with open_in_excel(in_excel, save=True, engine=excel_engine) as book, acting_in_addin(twin, "sam"):
        type_row(book.sheets["Organisations"], right[0], row=bolt)
        type_row(book.sheets["Organisations"], right[1], row=new)
        answer = ribbon.sync()
        assert answer["message"].startswith("Saved: 1 added, 1 changed")
        if excel_engine == "headless":   # what the person was shown: the message box and the status bar
            assert book.app.impl.alerts[-1]["prompt"] == answer["message"]
            assert book.app.status_bar == answer["message"]
    assert (saved.status, saved.inserted, saved.updated) == (answer["status"], answer["inserted"],
                                                             answer["updated"]) == ("applied", 1, 1)
    assert contacts_table(twin) == contacts_table(people_db)
    assert audit_rows(twin) == audit_rows(people_db) != []
    assert marks_and_notes(in_excel) == marks_and_notes(by_file) == {}
    assert read_sheet(in_excel, "Organisations") == read_sheet(by_file, "Organisations")

    # 3. Synced again: nothing to do through either door.
    with open_in_excel(in_excel, engine=excel_engine) as book, acting_in_addin(twin, "sam"):
        assert ribbon.sync()["status"] == cli.sync(by_file).status == "unchanged"


def test_refresh_and_dry_run_in_the_open_workbook(people_db, settings, tmp_path, excel_engine):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", path)
    with people_db.unit_of_work(actor(people_db, "ada")) as session:   # someone else renames Bolt
        session.execute(sa.text("UPDATE contacts SET name = 'Bolt AG', version = version + 1 WHERE name = 'Bolt GmbH'"))
    with open_in_excel(path, save=True, engine=excel_engine) as book, acting_in_addin(people_db, "sam"):
        sheet = book.sheets["Organisations"]
        acme = type_row(sheet, {"Website": "acme.example"}, find=("Name", "Acme Ltd"))
        preview = ribbon.sync_dry_run()
        assert preview["status"] == "unchanged" and preview["changes"][0]["action"] == "update"
        preview_sheet = book.sheets["Sync preview"]
        rows = preview_sheet.range((1, 1), (2, 7)).value
        assert rows[0][:4] == ["Sheet", "Row or cell", "Record", "Action"] and rows[1][3] == "update"
        assert contacts_table(people_db)[0][1] == 1, "a dry run saves nothing"
        refreshed = ribbon.refresh()
        assert refreshed["status"] == "refreshed" and refreshed["refreshed"]["updated"] == 1
        labels = header(sheet)
        bolt = find_row_in(sheet, "ID", bolt_id := _id_of(people_db, "Bolt AG"))
        assert sheet.range((bolt, labels.index("Name") + 1)).value == "Bolt AG", "the database's change is brought in"
        assert sheet.range((acme, labels.index("Website") + 1)).value == "acme.example", "the unsynced edit stays"
    assert bolt_id


def test_new_workbook_opens_beside_and_never_over_one_that_is_open(people_db, tmp_path, excel_engine, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_OUTPUT_DIR", str(tmp_path))
    mine = tmp_path / "contacts-sam.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", mine)
    with open_in_excel(mine, engine=excel_engine) as book, acting_in_addin(people_db, "sam"):
        type_row(book.sheets["Organisations"], {"Website": "unsynced.example"}, find=("Name", "Acme Ltd"))
        before = mine.read_bytes()
        answer = ribbon.new_workbook("contacts")
        assert answer["status"] == "open" and "is open already" in answer["message"]
        assert mine.read_bytes() == before, "the open workbook's file is not written over"
        answer = ribbon.new_workbook("staff")      # sales does not read staff records
        assert answer["status"] == "refused" and answer["error"]["problems"][0]["code"] == "permission"
        answer = ribbon.new_workbook("inventory")
        assert answer["message"] == "Opened inventory-sam.xlsx: your inventory records. Edit, then Sync."
        assert {b.name for b in book.app.books} == {"contacts-sam.xlsx", "inventory-sam.xlsx"}


def test_text_brought_into_the_open_workbook_stays_text_never_a_formula_or_a_number(people_db, tmp_path,
                                                                                   excel_engine):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", path)
    with people_db.unit_of_work(actor(people_db, "ada")) as session:   # added by someone else meanwhile
        services.add_contact(session, actor(people_db, "ada"), {
            "kind": "organisation", "name": '=HYPERLINK("http://evil.example","Click")', "country": "GB",
            "phone": "0123 456", "tags": "007"})
    with open_in_excel(path, save=True, engine=excel_engine) as book, acting_in_addin(people_db, "sam"):
        assert ribbon.refresh()["refreshed"]["added"] == 1
        sheet = book.sheets["Organisations"]
        labels = header(sheet)
        row = find_row_in(sheet, "Name", '=HYPERLINK("http://evil.example","Click")')
        assert sheet.range((row, labels.index("Phone") + 1)).value == "0123 456"
        assert sheet.range((row, labels.index("Tags") + 1)).value == "007"
        assert ribbon.sync()["status"] == "unchanged", "what was brought in reads back as it is stored"
    rows = read_sheet(path, "Organisations")
    saved = next(r for r in rows if r[rows[0].index("Name")] == '=HYPERLINK("http://evil.example","Click")')
    assert (saved[rows[0].index("Phone")], saved[rows[0].index("Tags")]) == ("0123 456", "007")
    assert not any(c.data_type == "f" for r in openpyxl.load_workbook(path)["Organisations"].iter_rows() for c in r)


def test_posted_movements_are_saved_and_locked_alike_through_the_ribbon_and_the_command_line(
        db, database_url, pg_admin_engine, tmp_path, settings):
    """Inventory: two movements typed into the Movements sheet, synced through each door into
    twin databases: the same movements, the same audit rows, the same cells written and locked."""
    from tests.integration.stock_records import fill_stock, row

    fill_stock(db)
    before = len(_movements(db))
    by_file, in_excel = tmp_path / "file.xlsx", tmp_path / "excel.xlsx"
    typed = [row("issue", "issued", quantity=2, frm=1).values, row("receipt", "received", quantity=4, to=2, cost=0.25).values]
    with second_database(database_url, pg_admin_engine, tmp_path) as twin:
        fill_stock(twin)
        new_workbook(db, actor(db, "wes"), "inventory", by_file)
        new_workbook(twin, actor(twin, "wes"), "inventory", in_excel)
        first = len(read_sheet(by_file, "Movements")) + 1
        for n, values in enumerate(typed):
            edit_by_label(by_file, "Movements", first + n, values)
        saved = RoundTrip(db, settings, actor(db, "wes")).sync(by_file)
        with open_in_excel(in_excel, save=True) as book, acting_in_addin(twin, "wes"):
            sheet = book.sheets["Movements"]
            for values in typed:
                type_row(sheet, values)
            labels = header(sheet)
            cells = [sheet.range((first + n, labels.index(label) + 1)) for n, values in enumerate(typed)
                     for label in values]
            assert not any(excel_api.is_locked(cell) for cell in cells), "typed into open cells"
            answer = ribbon.sync()
            assert all(excel_api.is_locked(cell) for cell in cells), "posted: locked in the open workbook"
        assert (saved.status, saved.inserted) == (answer["status"], answer["inserted"]) == ("applied", 2), answer
        assert _movements(twin) == _movements(db) and len(_movements(db)) == before + 2   # the two typed
        assert audit_rows(twin) == audit_rows(db)
        assert read_sheet(in_excel, "Movements") == read_sheet(by_file, "Movements")
        for path in (by_file, in_excel):   # posted movements are final: every cell typed is locked now
            assert _unlocked(path, "Movements", first, typed) == set(), path.name


def _movements(db: Database) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, kind, reason, item_id, quantity, from_location_id, to_location_id, unit_cost "
            "FROM stock_movements ORDER BY id"))]


def _unlocked(path: Path, sheet: str, first: int, typed: list[dict[str, Any]]) -> set[str]:
    """The cells typed into rows `first`... that are not locked (a cell's own format, or its
    column's: a cell without one is locked unless its column is formatted unlocked)."""
    book = openpyxl.load_workbook(path)[sheet]
    labels = [c.value for c in book[1]]
    found = set()
    for n, values in enumerate(typed):
        for label in values:
            cell = book.cell(row=first + n, column=labels.index(label) + 1)
            if not cell.protection.locked:
                found.add(cell.coordinate)
    return found
