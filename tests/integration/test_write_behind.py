"""Writing behind (engine.db.write_behind): a large sync's rows stored by a thread of their own,
in the sync's one transaction and in the order they were written; on both databases."""

from __future__ import annotations

import sys
import threading
import time

import pytest
import sqlalchemy as sa

from engine.db import bulk, pg_copy
from engine.db.audit import AuditContext, AuditEntry, write_audit
from engine.db.audit_chain import verify_chain
from engine.db.write_behind import behind, writing_behind
from engine.sheets.apply import allocate_ids
from tests.integration import test_bulk_writes
from tests.integration.test_bulk_writes import CORE_ID, PROBE, TEXTS, probe_rows, stored_text

CONTEXT = AuditContext("ada", "workbook", workbook_id="wb-1")
probe = test_bulk_writes.probe     # the fixture: `bulk_probe` made in the test's own schema


@pytest.fixture
def writers(monkeypatch) -> list[str]:
    """The threads that ran the bulk writes (SQLite's executemany or PostgreSQL's COPY), in order;
    SQLite's written behind four rows a statement, so a few rows go in groups and a rest."""
    seen: list[str] = []
    real_many, real_copy = bulk._executemany, pg_copy.copy_rows

    def many(connection, driver, statement, rows):
        seen.append(threading.current_thread().name)
        return real_many(connection, driver, statement, rows)

    def copy(connection, table, names, rows, *driver):
        seen.append(threading.current_thread().name)
        return real_copy(connection, table, names, rows, *driver)

    monkeypatch.setattr(bulk, "_executemany", many)
    monkeypatch.setattr(pg_copy, "copy_rows", copy)
    monkeypatch.setattr(bulk, "ROWS_A_STATEMENT_BEHIND", 4)
    return seen


def bulk_rows(count: int) -> list[dict]:
    """`probe_rows` with every column given (SQLite's bulk path leaves a missing default to Core)."""
    return [{**row, "flag": row["id"] % 2 == 0} for row in probe_rows(count)]


def audit_rows(ids) -> list[dict]:
    return [{"table_name": "bulk_probe", "record_id": n, "action": "insert", "sheet": "People", "row_number": n + 1,
             "changes": {"name": (None, TEXTS[n % len(TEXTS)]), "n": (None, n)}} for n in ids]


def test_rows_written_behind_are_stored_as_core_stores_them_by_the_writer_thread(probe, writers):
    """Rows given as dicts and as tuples, and audit rows in two batches (the second linked to
    the first's last hash, kept by the writer, not read back): stored as Core stores the same
    rows, chained, and every bulk write run by the writer thread, not the sync's."""
    rows = bulk_rows(3 * len(TEXTS) + 3)
    keys = ("name", "id", "count", "notes")
    same = {"version": 1, "updated_at": rows[0]["updated_at"], "updated_by": "ada", "changes": {"a": 1}}
    ids = [r["id"] for r in rows]
    with probe.engine.begin() as connection, writing_behind(connection) as writer:
        bulk.insert_many(connection, PROBE, rows)
        bulk.insert_rows(connection, PROBE, keys, [tuple({**r, "id": CORE_ID + r["id"]}[k] for k in keys) for r in rows],
                         same)
        write_audit(connection, CONTEXT, audit_rows(ids[:5]))
        head = writer.head
        write_audit(connection, CONTEXT, audit_rows(ids[5:]))
        assert head is not None and writer.head != head
    assert writers and set(writers) == {"write-behind"}
    with probe.engine.begin() as connection:   # the same rows by Core
        connection.execute(sa.insert(PROBE), [{**r, "id": 2 * CORE_ID + r["id"]} for r in rows])
        connection.execute(sa.insert(PROBE), [{**{k: r[k] for k in keys}, **same, "id": 3 * CORE_ID + r["id"]}
                                              for r in rows])
    with probe.engine.connect() as connection:
        behind_dicts, behind_tuples, core_dicts, core_tuples = (
            stored_text(connection, PROBE, [by + n for n in ids]) for by in (0, CORE_ID, 2 * CORE_ID, 3 * CORE_ID))
        assert behind_dicts == core_dicts and behind_tuples == core_tuples and len(behind_dicts) == len(rows)
        assert connection.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == len(ids)
        assert verify_chain(connection, AuditEntry.__table__)["intact"]


def test_a_statement_the_sync_runs_waits_for_the_rows_queued_before_it(probe):
    rows = bulk_rows(30)
    with probe.engine.begin() as connection, writing_behind(connection) as writer:
        writer.queue(lambda _driver: time.sleep(0.3))   # the writer still busy when the rows are queued
        bulk.insert_many(connection, PROBE, rows)
        assert connection.scalar(sa.select(sa.func.count()).select_from(PROBE)) == len(rows)


@pytest.mark.parametrize("raised_by", ["settle", "the next statement"])
def test_what_a_queued_write_met_is_raised_and_what_came_after_it_is_dropped(probe, writers, raised_by):
    """A refusal met behind is raised by `settle`, or by the next statement the sync runs
    (which is then not run: PostgreSQL's transaction is aborted until its savepoint is rolled
    back); the writes queued after it are not run; rolled back, the transaction goes on."""
    rows = bulk_rows(30)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows[:1])
    with probe.engine.begin() as connection, writing_behind(connection) as writer:
        savepoint = connection.begin_nested()
        bulk.insert_many(connection, PROBE, rows)                                     # id 1 again: refused
        bulk.insert_many(connection, PROBE, [{**r, "id": CORE_ID + r["id"]} for r in rows])
        with pytest.raises(sa.exc.IntegrityError):
            writer.settle() if raised_by == "settle" else connection.execute(sa.select(PROBE.c.id))
        assert writers == ["write-behind"]                                            # the second never ran
        savepoint.rollback()
        bulk.insert_many(connection, PROBE, rows[1:3])
    with probe.engine.connect() as connection:
        assert connection.scalars(sa.select(PROBE.c.id).order_by(PROBE.c.id)).all() == [1, 2, 3]


def test_a_rollback_or_a_write_of_the_syncs_own_forgets_the_chain_head_and_the_next_ids(probe):
    """What the writer keeps instead of reading it back (the chain's head, SQLite's next id)
    is read again after a savepoint's rollback, or a statement that may write: audit rows
    written after either still link to the last row stored, and ids follow the largest."""
    rows = bulk_rows(12)
    sqlite = probe.engine.dialect.name == "sqlite"
    with probe.engine.begin() as connection, writing_behind(connection) as writer:
        assert allocate_ids(connection, PROBE, 3) == [1, 2, 3]
        bulk.insert_many(connection, PROBE, rows[:3])
        write_audit(connection, CONTEXT, audit_rows([1, 2, 3]))
        assert writer.head is not None and (writer.next_id("bulk_probe") == 4 or not sqlite)
        savepoint = connection.begin_nested()
        bulk.insert_many(connection, PROBE, rows[3:6])
        write_audit(connection, CONTEXT, audit_rows([4, 5, 6]))
        savepoint.rollback()
        assert writer.head is None and writer.next_id("bulk_probe") is None
        write_audit(connection, CONTEXT, audit_rows([7]))
        assert writer.head is not None
        connection.execute(sa.insert(PROBE), [{**rows[7], "id": 8}])              # the sync's own write
        assert writer.head is None and writer.next_id("bulk_probe") is None
        if sqlite:
            assert allocate_ids(connection, PROBE, 2) == [9, 10]                    # after the largest, read again
        write_audit(connection, CONTEXT, audit_rows([8]))
    with probe.engine.connect() as connection:
        entries = AuditEntry.__table__
        assert connection.scalars(sa.select(entries.c.record_id).order_by(entries.c.id)).all() == [1, 2, 3, 7, 8]
        assert verify_chain(connection, entries)["intact"]


def test_the_writer_is_gone_and_threads_switch_as_before_when_the_block_fails(probe):
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="stop"), probe.engine.begin() as connection:
        with writing_behind(connection):
            assert sys.getswitchinterval() < before
            bulk.insert_many(connection, PROBE, bulk_rows(30))
            raise RuntimeError("stop")
    assert sys.getswitchinterval() == before
    assert not [t for t in threading.enumerate() if t.name == "write-behind"]
    with probe.engine.connect() as connection:
        assert behind(connection) is None
        assert connection.scalar(sa.select(sa.func.count()).select_from(PROBE)) == 0
