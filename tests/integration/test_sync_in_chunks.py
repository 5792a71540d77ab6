"""A sheet too large to keep whole is synced a chunk of rows at a time (workbook.chunk_rows).

Here the chunk is two rows, so the contacts workbook's few rows already span several chunks:
the same sync, with the same outcome, as a workbook read whole; all or nothing still.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from engine.contacts import services
from engine.contacts.models import Address, Contact
from engine.db.audit import AuditEntry
from engine.db.installation import seal
from engine.sheets.exporting import new_workbook
from engine.sheets.read import read_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from tests.integration.conftest import edit, edit_by_label, find_row, read_meta, read_sheet

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


def test_validate_rehearses_every_chunk_and_saves_nothing(exported, trip, people_db):
    type_people(exported, [("Ann", "One"), ("Ben", "Two"), ("Cat", "Three")])
    before = names(people_db)
    result = trip().validate(exported)
    assert result.status == "unchanged" and not result.problems
    assert names(people_db) == before


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
