"""A sync saves each typed row exactly once, even when its workbook cannot be written back
(open in Excel on Windows, read-only) after the records were committed: the refreshed copy
is kept beside the file, and syncing the old file again matches its new rows to the records
already saved (engine.sheets.receipts) instead of inserting them a second time. SQLite and
PostgreSQL; the same after a kill between commit and write-back is in tests/e2e."""

from __future__ import annotations

import shutil
import zlib

import orjson
import pytest
import sqlalchemy as sa

from engine.contacts.models import Contact
from engine.sheets import roundtrip
from engine.sheets.exporting import new_workbook
from engine.sheets.receipts import WorkbookReceipt
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, find_row, read_sheet, refuse_to_replace

NEW = [{"First name": "Ann", "Last name": "Bauer", "Country": "de"},
       {"First name": "Bo", "Last name": "Chan", "Country": "gb"},
       {"First name": "Bo", "Last name": "Chan", "Country": "gb"}]     # twice on purpose: two people


@pytest.fixture
def exported(people_db, actor_for, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


def trip(people_db, actor_for, settings):
    return RoundTrip(people_db, settings, actor_for("ada"))


def type_new_people(path) -> list[int]:
    first = len(read_sheet(path, "People")) + 1
    for n, values in enumerate(NEW):
        edit_by_label(path, "People", first + n, values)
    return list(range(first, first + len(NEW)))


def people(db) -> list[tuple[str, str]]:
    with db.reading() as session:
        return sorted(tuple(r) for r in session.execute(sa.select(Contact.first_name, Contact.last_name)
                                      .where(Contact.kind == "person")).all())


def receipts(db) -> int:
    """How many new rows the database keeps receipts of."""
    with db.reading() as session:
        return sum(len(orjson.loads(zlib.decompress(packed))) for packed in session.scalars(sa.select(WorkbookReceipt.rows)))


def test_a_workbook_that_cannot_be_replaced_keeps_a_synced_copy_and_syncing_it_again_adds_nothing(
        people_db, actor_for, settings, exported, monkeypatch):
    rows = type_new_people(exported)
    before, typed = people(people_db), exported.read_bytes()
    refuse_to_replace(monkeypatch)
    result = trip(people_db, actor_for, settings).sync(exported)
    assert (result.status, result.inserted) == ("applied", 3)
    assert "could not be replaced (Permission denied)" in result.warning and "the records are saved" in result.warning
    copy = exported.parent / result.written_to.rsplit("/", 1)[-1]
    assert copy.exists() and copy.name.startswith("contacts (synced ") and exported.read_bytes() == typed
    assert [r[:2] for r in read_sheet(copy, "People")[rows[0] - 1:]] == [
        [c.id, 1] for c in _people_named(people_db, "Ann", "Bo", "Bo")]
    assert len(people(people_db)) == len(before) + 3 and receipts(people_db) == 3

    monkeypatch.undo()                         # the file is closed: sync the old one again
    again = trip(people_db, actor_for, settings).sync(exported)
    assert (again.status, again.inserted, again.recovered) == ("unchanged", 0, 3), again.as_json()
    assert len(people(people_db)) == len(before) + 3
    ids = [r[0] for r in read_sheet(exported, "People")[rows[0] - 1:]]
    assert ids == [c.id for c in _people_named(people_db, "Ann", "Bo", "Bo")]
    assert trip(people_db, actor_for, settings).sync(exported).status == "unchanged"


def test_a_workbook_that_cannot_be_written_as_its_records_are_committed_is_matched_at_the_next_sync(
        people_db, actor_for, settings, exported, monkeypatch):
    """The refreshed workbook is written while the commit runs (engine.db.commit): a full
    disk then leaves the records saved, the file as the user left it, and no half-written
    file; syncing it again adds nothing."""
    rows = type_new_people(exported)
    before, typed = people(people_db), exported.read_bytes()

    def disk_full(book, sheets, meta, dst, **_kw):
        dst.write_bytes(b"PK half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(roundtrip.annotate, "write_refresh", disk_full)
    result = trip(people_db, actor_for, settings).sync(exported)
    assert (result.status, result.inserted) == ("applied", 3)
    assert "could not be written beside contacts.xlsx (No space left on device)" in result.warning
    assert "the records are saved" in result.warning and result.written_to is None
    assert exported.read_bytes() == typed
    assert [p.name for p in exported.parent.iterdir() if p.name.endswith(".xlsx")] == ["contacts.xlsx"]
    assert not list(exported.parent.glob(f".contacts{roundtrip.TEMP_MARK}*"))
    assert len(people(people_db)) == len(before) + 3 and receipts(people_db) == 3

    monkeypatch.undo()
    again = trip(people_db, actor_for, settings).sync(exported)
    assert (again.status, again.inserted, again.recovered) == ("unchanged", 0, 3), again.as_json()
    assert len(people(people_db)) == len(before) + 3
    ids = [r[0] for r in read_sheet(exported, "People")[rows[0] - 1:]]
    assert ids == [c.id for c in _people_named(people_db, "Ann", "Bo", "Bo")]


def test_a_row_edited_after_a_lost_write_back_is_matched_to_nothing_and_others_still_are(
        people_db, actor_for, settings, exported, monkeypatch):
    """Rows are matched by what was typed: the two unchanged rows are the records already
    saved; the one changed since is taken for a new person (matching it by its position could
    give it another row's record, in a copy of the file or after rows were inserted above)."""
    rows = type_new_people(exported)
    refuse_to_replace(monkeypatch)
    trip(people_db, actor_for, settings).sync(exported)
    monkeypatch.undo()
    edit_by_label(exported, "People", rows[0], {"First name": "Anna"})
    again = trip(people_db, actor_for, settings).sync(exported)
    assert (again.status, again.inserted, again.recovered) == ("applied", 1, 2)
    names = [f"{f} {ln}" for f, ln in people(people_db)]
    assert names.count("Bo Chan") == 2 and names.count("Ann Bauer") == 1 and names.count("Anna Bauer") == 1


def test_a_later_generation_proves_the_write_back_arrived_and_its_receipts_are_dropped(
        people_db, actor_for, settings, exported):
    type_new_people(exported)
    stale = exported.with_name("stale.xlsx")
    shutil.copy(exported, stale)               # the file as it was before the sync
    assert trip(people_db, actor_for, settings).sync(exported).inserted == 3
    assert receipts(people_db) == 3            # kept until a later generation shows up
    row = len(read_sheet(exported, "People")) + 1
    edit_by_label(exported, "People", row, {"First name": "Cy", "Last name": "Dee", "Country": "fr"})
    assert trip(people_db, actor_for, settings).sync(exported).inserted == 1
    assert receipts(people_db) == 1            # generation 1's receipts dropped; generation 2's kept
    # The stale copy (generation 0) is now matched to nothing: its rows are new again, as
    # they would be in any other copy of an old file.
    assert trip(people_db, actor_for, settings).sync(stale, dry_run=True).inserted == 3


def test_a_killed_syncs_temporary_file_is_removed_by_the_next_sync(people_db, actor_for, settings, exported):
    abandoned = exported.parent / f".contacts{roundtrip.TEMP_MARK}999999999-x1.xlsx"
    running = exported.parent / f".contacts{roundtrip.TEMP_MARK}{__import__('os').getpid()}-x2.xlsx"
    for temp in (abandoned, running):
        temp.write_bytes(b"partial")
    trip(people_db, actor_for, settings).sync(exported)
    assert not abandoned.exists() and running.exists()     # another sync of this process may be writing it


def _people_named(db, *firsts):
    with db.reading() as session:
        found = session.scalars(sa.select(Contact).where(Contact.first_name.in_(firsts)).order_by(Contact.id)).all()
    return [c for c in found if c.first_name in firsts]


# -- `workbook new` never destroys work ----------------------------------------------------------

def test_a_new_workbook_never_replaces_a_file_that_is_not_ours(people_db, actor_for, tmp_path):
    import openpyxl

    from engine.errors import UnusableInput

    theirs = tmp_path / "budget.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "my own budget"
    book.save(theirs)
    notes = tmp_path / "notes.xlsx"
    notes.write_text("not even a workbook")
    for path in (theirs, notes):
        before = path.read_bytes()
        for force in (False, True):
            with pytest.raises(UnusableInput, match="is not a Backoffice workbook, so it is not replaced"):
                new_workbook(people_db, actor_for("ada"), "contacts", path, force=force)
            assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "xlsx" in p.name) == ["budget.xlsx", "notes.xlsx"]


def test_a_new_workbook_replaces_ours_only_without_unsynced_edits_or_with_force(
        people_db, actor_for, exported):
    from engine.errors import UnusableInput

    new_workbook(people_db, actor_for("ada"), "contacts", exported)        # nothing typed: replaced
    row = find_row(exported, "Organisations", "Name", "Acme Ltd")
    edit_by_label(exported, "Organisations", row, {"Phone": "+44 1"})
    type_new_people(exported)
    edited = exported.read_bytes()
    with pytest.raises(UnusableInput, match="holds 4 unsynced changes; sync it first"):
        new_workbook(people_db, actor_for("ada"), "contacts", exported)
    assert exported.read_bytes() == edited
    new_workbook(people_db, actor_for("ada"), "contacts", exported, force=True)
    assert "+44 1" not in str(read_sheet(exported, "Organisations"))


def test_an_export_that_fails_half_way_leaves_the_old_file_and_no_half_file(
        people_db, actor_for, exported, monkeypatch):
    from engine.sheets import exporting

    old = exported.read_bytes()

    def dies_half_way(path, *args, **kwargs):
        path.write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt    # as a Ctrl+C (or a kill) in the middle of writing

    monkeypatch.setattr(exporting, "write_workbook", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        new_workbook(people_db, actor_for("ada"), "contacts", exported)
    assert exported.read_bytes() == old
    assert [p.name for p in exported.parent.iterdir() if "xlsx" in p.name] == ["contacts.xlsx"]
