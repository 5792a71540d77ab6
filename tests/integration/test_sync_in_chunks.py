"""A sheet too large to keep whole is synced a chunk of rows at a time (workbook.chunk_rows).

Here the chunk is two rows, so the contacts workbook's few rows already span several chunks:
the same sync, with the same outcome, as a workbook read whole; all or nothing still.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from engine.contacts import channels, services
from engine.contacts.models import Address, Contact
from engine.db import bulk, pg_copy
from engine.db.audit import AuditEntry
from engine.db.installation import seal
from engine.sheets import roundtrip
from engine.sheets.exporting import new_workbook
from engine.sheets.read import SheetInput, read_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from tests.integration.conftest import (
    edit,
    edit_by_label,
    find_row,
    read_meta,
    read_sheet,
    refuse_to_replace,
)

CHUNK = 2


@pytest.fixture
def chunked(settings):
    return replace(settings, workbook=replace(settings.workbook, chunk_rows=CHUNK))


@pytest.fixture
def exported(people_db, actor_for, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


@pytest.fixture
def trip(people_db, actor_for, chunked):
    return lambda login="ada": RoundTrip(people_db, chunked, actor_for(login))


def names(db) -> list[str]:
    with db.reading() as session:
        return sorted(session.scalars(sa.select(Contact.name)))


def audit_count(db) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count(AuditEntry.id)))


def type_people(path, people: list[tuple[str, str]]) -> list[int]:
    """New People rows (first, last) after the saved ones; their row numbers."""
    first = len([r for r in read_sheet(path, "People") if any(v not in ("", None) for v in r)]) + 1
    for n, (given, family) in enumerate(people):
        edit_by_label(path, "People", first + n, {"First name": given, "Last name": family, "Country": "GB"})
    return list(range(first, first + len(people)))


def test_a_sheet_over_the_chunk_size_is_read_in_chunks_and_a_small_one_whole(exported, people_db, chunked):
    with people_db.reading() as session:
        book = read_workbook(exported, workbook_spec, chunked.workbook, seal(session))
    assert not book.sheets["People"].kept_whole           # its table's spare rows make it large
    sizes = [len(chunk) for chunk in book.sheets["Organisations"].chunks(CHUNK)]
    assert sizes and max(sizes) <= CHUNK and sum(sizes) == 3


def test_new_rows_in_every_chunk_are_saved_and_get_their_ids(exported, trip, people_db):
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three"), ("Dan", "Four"), ("Eve", "Five")])
    result = trip().sync(exported)
    assert (result.status, result.inserted) == ("applied", 5), result.as_json()
    assert {"Ann One", "Ben Two", "Cat Three", "Dan Four", "Eve Five"} <= set(names(people_db))
    sheet = read_sheet(exported, "People")
    ids = [sheet[row - 1][0] for row in rows]
    assert all(isinstance(i, float) and i > 0 for i in ids) and len(set(ids)) == 5
    base = read_meta(exported, people_db).base["People"]
    assert {int(i) for i in ids} <= set(base.rows)
    again = trip().sync(exported)
    assert again.status == "unchanged" and names(people_db).count("Ann One") == 1


def test_a_problem_in_a_later_chunk_saves_nothing_of_the_earlier_ones(exported, trip, people_db):
    before, audited = names(people_db), audit_count(people_db)
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three"), ("Dan", "Four")])
    edit_by_label(exported, "People", rows[-1], {"Last name": None})      # required
    result = trip().sync(exported)
    assert result.status == "rejected"
    assert [(p.code, p.column) for p in result.problems] == [("required", "Last name")]
    assert names(people_db) == before and audit_count(people_db) == audited
    assert read_sheet(exported, "People")[rows[0] - 1][0] in ("", None)   # no id written back


def test_validate_checks_every_chunk_and_saves_nothing(exported, trip, people_db):
    type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    before = names(people_db)
    result = trip().validate(exported)
    assert result.status == "unchanged" and not result.problems
    assert names(people_db) == before


def test_validate_finds_the_problems_of_a_sheet_in_chunks_without_writing_its_rows(exported, trip, people_db,
                                                                                    monkeypatch):
    """A sheet read in chunks is saved in bulk: validate checks it without writing its rows
    (writing a million rows to roll them back was most of its time); the sync writes them."""
    written: list[str] = []
    real = roundtrip.apply_plan
    monkeypatch.setattr(roundtrip, "apply_plan", lambda c, sheet, *a, **k: written.append(sheet.name) or real(c, sheet, *a, **k))
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    edit_by_label(exported, "People", rows[1], {"Country": "XX"})                       # not a country
    edit_by_label(exported, "People", rows[2], {"E-mail": "not an address"})
    result = trip().validate(exported)
    assert result.status == "invalid" and written == []
    assert sorted((p.cell[:1], p.code) for p in result.problems) == [("G", "invalid"), ("I", "invalid")]
    edit_by_label(exported, "People", rows[1], {"Country": "GB"})
    edit_by_label(exported, "People", rows[2], {"E-mail": "cat@three.example"})
    assert trip().validate(exported).status == "unchanged" and written == []
    assert trip().sync(exported).status == "applied" and "People" in written


def test_the_same_id_in_two_chunks_is_refused_at_the_second(exported, trip, people_db):
    smith = find_row(exported, "People", "Last name", "Smith")
    last = len(read_sheet(exported, "People"))
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    sheet = read_sheet(exported, "People")
    edit(exported, "People", {f"A{rows[-1]}": sheet[smith - 1][0], f"B{rows[-1]}": sheet[smith - 1][1]})
    assert rows[-1] > last
    result = trip().sync(exported)
    assert result.status == "rejected"
    assert [p.code for p in result.problems] == ["duplicate-id"]
    assert result.problems[0].cell == f"A{rows[-1]}"


@pytest.mark.parametrize("typed", [1e30, -1e30, 2.0 ** 63])
@pytest.mark.parametrize("chunk_rows", [CHUNK, 50_000], ids=["in chunks", "whole"])
def test_an_id_no_record_can_have_is_refused_at_its_cell(exported, people_db, actor_for, settings, typed, chunk_rows):
    """A number no database can hold as an ID (found by the reader fuzz test, in chunks: it
    was looked up, and SQLite cannot be asked for it) is a problem at its cell, like any
    edit of an ID."""
    smith = find_row(exported, "People", "Last name", "Smith")
    edit(exported, "People", {f"A{smith}": typed})
    before = audit_count(people_db)
    trip = RoundTrip(people_db, replace(settings, workbook=replace(settings.workbook, chunk_rows=chunk_rows)),
                     actor_for("ada"))
    for result in (trip.validate(exported, annotate_file=False), trip.sync(exported)):
        assert result.status in ("invalid", "rejected"), result.as_json()
        # (and Smith's record, which no row shows any more, is taken for one to delete)
        assert ("read-only", f"A{smith}") in [(p.code, p.cell) for p in result.problems]
    assert audit_count(people_db) == before


def test_an_edit_and_a_deletion_across_chunks_are_saved(exported, trip, people_db):
    bolt = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", bolt, {"Phone": "+49 555"})
    gone = int(read_sheet(exported, "Addresses")[1][0])     # the first address
    edit_by_label(exported, "Addresses", find_row(exported, "Addresses", "ID", gone), {"Delete": "yes"})
    result = trip().sync(exported)
    assert (result.status, result.updated, result.deleted) == ("applied", 1, 1), result.as_json()
    with people_db.reading() as session:
        assert session.scalar(sa.select(Contact.phone).where(Contact.name == "Bolt GmbH")) == "+49 555"
        assert session.get(Address, gone) is None


def test_records_others_added_are_appended_after_the_last_row(exported, trip, people_db, actor_for):
    with people_db.unit_of_work(actor_for("ada")) as session:
        services.add_contact(session, actor_for("ada"), {"kind": "person", "first_name": "Zed", "last_name": "Added",
                                                          "country": "GB"}, [])
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    assert trip().sync(exported).status == "applied"
    sheet = read_sheet(exported, "People")
    last_names = [row[sheet[0].index("Last name")] for row in sheet]
    assert last_names.index("Added") + 1 > rows[-1]


def test_a_dry_run_lists_every_change_of_every_chunk_and_saves_nothing(exported, trip, people_db):
    type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    before = names(people_db)
    result = trip().sync(exported, dry_run=True)
    assert (result.status, result.inserted) == ("unchanged", 3)
    assert sorted(c["values"]["Last name"] for c in result.changes if c["action"] == "insert") == ["One", "Three", "Two"]
    assert names(people_db) == before


def passes_over(monkeypatch) -> dict[str, int]:
    """How many times each sheet is read a chunk at a time (SheetInput.chunks), from now on."""
    passes: dict[str, int] = {}
    real = SheetInput.chunks

    def counted(self, size):
        passes[self.spec.name] = passes.get(self.spec.name, 0) + 1
        return real(self, size)

    monkeypatch.setattr(SheetInput, "chunks", counted)
    return passes


def test_a_sync_refreshes_each_chunk_as_it_is_saved_reading_the_sheet_once(exported, trip, people_db, monkeypatch):
    passes = passes_over(monkeypatch)
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    edit_by_label(exported, "People", rows[0], {"E-mail": "ANN@One.Example"})          # stored in its tidy form
    assert trip().sync(exported).status == "applied"
    assert passes["People"] == 1
    sheet = read_sheet(exported, "People")
    header = sheet[0]
    assert sheet[rows[0] - 1][header.index("E-mail")] == "ann@one.example"
    assert all(isinstance(sheet[row - 1][0], float) for row in rows)
    assert trip().sync(exported).status == "unchanged"


def test_a_later_sheet_changing_the_records_of_a_sheet_in_chunks_has_it_read_again(people_db, actor_for, chunked,
                                                                                     tmp_path, monkeypatch):
    """In the CRM workbook, switching Acme's primary e-mail on the E-mails sheet changes Acme's
    E-mail on the Organisations sheet, saved (and refreshed) before it: it is read again."""
    with people_db.unit_of_work(actor_for("ada")) as session:
        channels.add_entry(session, actor_for("ada"), "email", 1, "sales@acme.example", "work")
    path = tmp_path / "crm.xlsx"
    new_workbook(people_db, actor_for("sam"), "crm", path)
    edit_by_label(path, "E-mails", find_row(path, "E-mails", "E-mail", "sales@acme.example"), {"Primary": True})
    passes = passes_over(monkeypatch)
    result = RoundTrip(people_db, chunked, actor_for("sam")).sync(path)
    assert (result.status, result.problems) == ("applied", [])
    organisations = read_sheet(path, "Organisations")
    acme = find_row(path, "Organisations", "Name", "Acme Ltd")
    assert organisations[acme - 1][organisations[0].index("E-mail")] == "sales@acme.example"
    assert passes["Organisations"] == 2


def test_rows_saved_by_a_sync_whose_write_back_was_lost_are_matched_in_every_chunk(exported, trip, people_db,
                                                                                     monkeypatch):
    """The receipts of a sync whose file could not be replaced match its new rows, chunk by
    chunk, when the old file is synced again: nothing is added twice, the IDs are written."""
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Ben", "Two"), ("Dan", "Four")])
    before, typed = names(people_db), exported.read_bytes()
    refuse_to_replace(monkeypatch)
    assert trip().sync(exported).inserted == 4 and exported.read_bytes() == typed
    monkeypatch.undo()
    again = trip().sync(exported)
    assert (again.status, again.inserted, again.recovered) == ("unchanged", 0, 4), again.as_json()
    assert len(names(people_db)) == len(before) + 4
    ids = [read_sheet(exported, "People")[row - 1][0] for row in rows]
    assert all(isinstance(i, float) for i in ids) and len(set(ids)) == 4
    assert trip().sync(exported).status == "unchanged"


@pytest.mark.parametrize("operation", ["validate", "dry run", "sync"])
def test_a_row_removed_from_a_sheet_in_chunks_deletes_its_record(exported, trip, people_db, operation):
    """A record of the base that no row shows any more (its row cleared) is deleted after the
    last chunk, by validate's and the dry run's rehearsal as by the sync."""
    gone = int(read_sheet(exported, "Addresses")[1][0])     # the first address
    row = find_row(exported, "Addresses", "ID", gone)
    width = len(read_sheet(exported, "Addresses")[0])
    edit(exported, "Addresses", {f"{chr(ord('A') + n)}{row}": None for n in range(width)})

    def exists() -> bool:
        with people_db.reading() as session:
            return session.get(Address, gone) is not None

    if operation == "validate":
        result = trip().validate(exported)
        assert (result.status, result.problems) == ("unchanged", []) and exists()
    elif operation == "dry run":
        result = trip().sync(exported, dry_run=True)
        assert (result.status, result.deleted) == ("unchanged", 1) and exists()
        assert [c["action"] for c in result.changes] == ["delete"]
    else:
        result = trip().sync(exported)
        assert (result.status, result.deleted) == ("applied", 1), result.as_json()
        assert not exists()
        assert gone not in read_meta(exported, people_db).base["Addresses"].rows
        assert trip().sync(exported).status == "unchanged"


def test_a_refusal_met_by_rows_written_behind_refuses_the_sync_on_its_sheet(exported, trip, people_db, monkeypatch):
    """Rows of a sheet in chunks are written behind (engine.db.write_behind), so what the
    database refuses of them (here a rule of its own that no check of ours knows) is found
    after the chunk was handed over: the sync is still refused, with the problem on its sheet,
    the later chunks still checked, and nothing saved."""
    refused_in: list[str] = []     # the threads whose writes the database refused

    def noting_refusals(real):
        def spy(*args):
            try:
                return real(*args)
            except sa.exc.IntegrityError:
                refused_in.append(threading.current_thread().name)
                raise
        return spy

    for module, name in ((bulk, "_executemany"), (pg_copy, "copy_rows")):
        monkeypatch.setattr(module, name, noting_refusals(getattr(module, name)))
    with people_db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("CREATE TRIGGER no_boom BEFORE INSERT ON contacts WHEN NEW.last_name = 'Boom' "
                                       "BEGIN SELECT RAISE(ABORT, 'no Boom'); END")
        else:
            connection.exec_driver_sql("ALTER TABLE contacts ADD CONSTRAINT no_boom CHECK (last_name <> 'Boom')")
    before, audited = names(people_db), audit_count(people_db)
    rows = type_people(exported, [("Ann", "One"), ("Ben", "Boom"), ("Cat", "Three"), ("Dan", "Four"), ("Eve", "Five")])
    edit_by_label(exported, "People", rows[-1], {"Country": "XX"})      # a problem of its own, in a later chunk
    result = trip().sync(exported)
    assert result.status == "rejected"
    assert sorted((p.code, p.sheet, p.column) for p in result.problems) == [
        ("duplicate", "People", None), ("invalid", "People", "Country")]
    assert refused_in == ["write-behind"]
    assert names(people_db) == before and audit_count(people_db) == audited
    assert read_sheet(exported, "People")[rows[0] - 1][0] in ("", None)  # no id written back


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_large_sync_has_postgresql_analyze_the_tables_it_filled(exported, trip, people_db, monkeypatch):
    """Right after a large load, PostgreSQL's planner still judges the tables by what they
    held before (a look-up of a thousand ids became a scan of the whole table): a sync that
    added `ANALYZE_FROM` rows or more to a table has it analyzed before it commits; a smaller
    one leaves that to autovacuum."""
    from sqlalchemy import event

    from engine.db import engine as db_engine

    analyzed: list[str] = []

    def seen(_conn, _cursor, statement, *_rest):
        if statement.startswith("ANALYZE"):
            analyzed.append(statement)

    monkeypatch.setattr(db_engine, "ANALYZE_FROM", 3)
    event.listen(people_db.engine, "before_cursor_execute", seen)
    try:
        rows = type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
        for n, row in enumerate(rows):
            edit_by_label(exported, "People", row, {"E-mail": f"person{n}@example.org"})
        assert trip().sync(exported).status == "applied"
        assert analyzed == ["ANALYZE contact_emails", "ANALYZE contacts"]
        with people_db.engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")) >= 5
        analyzed.clear()
        type_people(exported, [("Dan", "Four"), ("Eve", "Five")])
        assert trip().sync(exported).status == "applied"
        assert analyzed == []
    finally:
        event.remove(people_db.engine, "before_cursor_execute", seen)
