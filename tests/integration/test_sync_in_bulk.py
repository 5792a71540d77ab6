"""A workbook sync large enough to take the bulk paths (on PostgreSQL: COPY for the new rows
and their audit rows, a COPYed batch table for the version-guarded updates), on SQLite and
PostgreSQL: what is stored and audited is what the small syncs of the round-trip tests store."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.contacts import services
from engine.contacts.models import Contact
from engine.db import bulk, pg_copy
from engine.db.audit import AuditEntry
from engine.sheets.apply import ApplyConflict, apply_plan, load_rows
from engine.sheets.exporting import new_workbook
from engine.sheets.merge import SheetPlan, Update
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from tests.integration.conftest import column_letter, edit, read_sheet

NEW = 150        # more than both COPY thresholds


@pytest.fixture
def copies(monkeypatch) -> list[str]:
    """The tables each COPY went to, in order."""
    seen: list[str] = []
    real = pg_copy.copy_rows

    def spy(connection, table, names, rows, *driver):
        seen.append(table.name)
        return real(connection, table, names, rows, *driver)

    monkeypatch.setattr(pg_copy, "copy_rows", spy)
    return seen


def person(n: int) -> dict:
    return {"First name": f"Ann{n}", "Last name": f"O'Brien-Ångström {n}" if n % 9 == 0 else f"Bauer {n}",
            "Job title": None if n % 4 else "Buyer's clerk", "E-mail": f"ann{n}@example.org",
            "Country": "DE", "No mailings": n % 3 == 0}


def fill(path, sheet: str, first_row: int, values: list[dict]) -> None:
    """Type `values` (label -> value) into the rows from `first_row` on, in one save."""
    letters = {label: column_letter(path, sheet, label) for label in values[0]}
    edit(path, sheet, {f"{letters[label]}{first_row + n}": value
                       for n, row in enumerate(values) for label, value in row.items() if value is not None})


def people_by_name(db) -> dict[str, Contact]:
    with db.reading() as session:
        return {c.name: c for c in session.scalars(sa.select(Contact).where(Contact.name.like("Ann%")))}


def audit_rows(db, action: str) -> list[AuditEntry]:
    with db.reading() as session:
        return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action,
                                                                AuditEntry.source == "workbook",
                                                                AuditEntry.table_name == "contacts")
                                    .order_by(AuditEntry.id)))


@pytest.fixture
def synced(people_db, actor_for, settings, tmp_path, copies):
    """`NEW` people typed into a fresh contacts workbook and synced: (workbook, the sync's result)."""
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    fill(path, "People", len(read_sheet(path, "People")) + 1, [person(n) for n in range(NEW)])
    return path, RoundTrip(people_db, settings, actor_for("ada")).sync(path)


def test_a_large_sync_inserts_every_row_as_typed_and_audits_each(synced, people_db, copies):
    path, result = synced
    assert (result.status, result.inserted) == ("applied", NEW), result.as_json()
    if people_db.engine.dialect.name == "postgresql":
        assert copies[:2] == ["contacts", "audit_log"]
    stored = people_by_name(people_db)
    for n in range(NEW):
        typed = person(n)
        ann = stored[f"{typed['First name']} {typed['Last name']}"]
        assert (ann.kind, ann.first_name, ann.last_name, ann.job_title, ann.email, ann.country, ann.opt_out,
                ann.version, ann.updated_by) == (
            "person", typed["First name"], typed["Last name"], typed["Job title"], typed["E-mail"], "DE",
            typed["No mailings"], 1, "ada")
        assert ann.name_key and ann.created_at.tzinfo is not None
    inserted = audit_rows(people_db, "insert")
    assert sorted(e.record_id for e in inserted) == sorted(c.id for c in stored.values())
    assert {e.changes["email"][1] for e in inserted} == {person(n)["E-mail"] for n in range(NEW)}
    ids = {row[0] for row in read_sheet(path, "People")[1:]}
    assert {c.id for c in stored.values()} <= ids                    # the new ids written back


def test_a_large_sync_of_edits_updates_each_record_once_guarded_by_its_version(
        synced, people_db, actor_for, settings, copies):
    path, _ = synced
    rows = read_sheet(path, "People")
    header, body = rows[0], rows[1:]
    ours = [n for n, row in enumerate(body, start=2) if str(row[header.index("First name")]).startswith("Ann")]
    phone = column_letter(path, "People", "Phone")
    edit(path, "People", {f"{phone}{row}": f"+49 30 {row:05d}" for row in ours})
    copies.clear()
    result = RoundTrip(people_db, settings, actor_for("ada")).sync(path)
    assert (result.status, result.updated) == ("applied", len(ours)) and len(ours) == NEW, result.as_json()
    if people_db.engine.dialect.name == "postgresql":
        assert copies[0] == "bulk_contacts"                          # the updates' batch table
    stored = people_by_name(people_db)
    assert sorted(c.phone for c in stored.values()) == sorted(f"+49 30 {row:05d}" for row in ours)
    assert {c.version for c in stored.values()} == {2}
    updates = audit_rows(people_db, "update")
    assert len(updates) == NEW and all(e.changes["phone"][0] is None for e in updates)


def test_a_large_update_with_one_record_saved_in_between_is_a_conflict_and_saves_nothing(
        synced, people_db, actor_for, copies):
    """The merge read every record at version 1; one was saved since (version 2): the bulk
    update matches one row fewer than it sent, and the whole apply is refused and rolled back."""
    ada = actor_for("ada")
    stored = people_by_name(people_db)
    moved = min(c.id for c in stored.values())
    with people_db.unit_of_work(ada) as session:
        services.update_contact(session, ada, moved, 1, {"website": "https://moved.example"})
    before = len(audit_rows(people_db, "update"))
    spec = workbook_spec("contacts").sheet("People")
    plan = SheetPlan("People", updates=[Update(row=n + 2, record_id=c.id, version=1, changes={"phone": f"+1 {n}"})
                                        for n, c in enumerate(stored.values())])
    copies.clear()
    with pytest.raises(ApplyConflict, match="changed by someone else"), \
            people_db.unit_of_work(ada, source="workbook") as session:
        connection = session.connection()
        apply_plan(connection, spec, plan, load_rows(connection, spec), session.info["audit"])
    if people_db.engine.dialect.name == "postgresql":
        assert copies == ["bulk_contacts"] and len(plan.updates) >= bulk.COPY_UPDATES_FROM
    after = people_by_name(people_db)
    assert {c.phone for c in after.values()} == {None}
    assert {c.id: c.version for c in after.values()} == {c.id: 2 if c.id == moved else 1 for c in stored.values()}
    assert len(audit_rows(people_db, "update")) == before
