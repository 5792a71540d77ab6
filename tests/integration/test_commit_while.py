"""A large sync commits while its workbook is written (engine.db.commit): the two overlap, a
failed commit saves nothing whatever the work did, and work that fails after the commit
leaves the records saved. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engine.contacts import services
from engine.contacts.models import Contact
from engine.db.commit import commit_while
from tests.conftest import actor_with

ADMIN = actor_with("admin")
WAIT = 10   # seconds: far more than either side takes; a test that waits this long has failed


def add_acme(session) -> None:
    services.add_contact(session, ADMIN, {"kind": "organisation", "name": "Acme Ltd", "country": "GB"}, [])


def names(db) -> list[str]:
    with db.reading() as session:
        return list(session.scalars(sa.select(Contact.name)))


def test_the_commit_runs_while_the_work_does(db):
    """Each side waits for the other to have started: run one after the other, both would
    give up waiting."""
    working, committing = threading.Event(), threading.Event()
    seen = {}

    def commit_started(_connection) -> None:
        committing.set()
        seen["work running at the commit"] = working.wait(WAIT)

    def work() -> None:
        working.set()
        seen["commit running during the work"] = committing.wait(WAIT)

    sa.event.listen(db.engine, "commit", commit_started)
    try:
        with db.unit_of_work(ADMIN) as session:
            add_acme(session)
            assert commit_while(session, work) is None
    finally:
        sa.event.remove(db.engine, "commit", commit_started)
    assert seen == {"work running at the commit": True, "commit running during the work": True}
    assert names(db) == ["Acme Ltd"]


def disk_full() -> None:
    raise OSError(28, "No space left on device")


def test_a_failed_commit_is_raised_and_saves_nothing_whatever_the_work_did(db):
    def refuse(_connection) -> None:
        raise RuntimeError("the disk is gone")

    sa.event.listen(db.engine, "commit", refuse)
    try:
        for work in (lambda: None, disk_full):
            with pytest.raises(RuntimeError, match="the disk is gone"), db.unit_of_work(ADMIN) as session:
                add_acme(session)
                commit_while(session, work, tolerate=OSError)
    finally:
        sa.event.remove(db.engine, "commit", refuse)
    assert names(db) == []


def test_work_that_fails_as_tolerated_is_returned_and_the_records_stay_saved(db):
    with db.unit_of_work(ADMIN) as session:
        add_acme(session)
        failed = commit_while(session, disk_full, tolerate=OSError)
    assert isinstance(failed, OSError) and failed.errno == 28
    assert names(db) == ["Acme Ltd"]


def test_work_that_fails_otherwise_is_raised_once_the_commit_is_done(db):
    def work() -> None:
        raise ValueError("a fault in the writer")

    with pytest.raises(ValueError, match="a fault in the writer"), db.unit_of_work(ADMIN) as session:
        add_acme(session)
        commit_while(session, work, tolerate=OSError)
    assert names(db) == ["Acme Ltd"]     # committed before the fault was raised


def test_what_goes_first_runs_in_the_commits_thread_in_its_transaction_and_if_it_fails_nothing_is_saved(db):
    """`first` (a large sync's ANALYZE on PostgreSQL) runs on the commit's thread, before the
    commit and beside the work, and sees the transaction's rows; failing, it saves nothing."""
    seen = {}

    def first() -> None:
        seen["thread"] = threading.current_thread().name
        seen["names"] = [n for (n,) in connection.execute(sa.select(Contact.name))]

    with db.unit_of_work(ADMIN) as session:
        add_acme(session)
        connection = session.connection()
        assert commit_while(session, lambda: None, first=first) is None
    assert seen["thread"].startswith("commit") and seen["names"] == ["Acme Ltd"]
    assert names(db) == ["Acme Ltd"]

    def refuse() -> None:
        raise RuntimeError("no statistics")

    with pytest.raises(RuntimeError, match="no statistics"), db.unit_of_work(ADMIN) as session:
        services.add_contact(session, ADMIN, {"kind": "organisation", "name": "Beta plc", "country": "GB"}, [])
        commit_while(session, lambda: None, first=refuse)
    assert names(db) == ["Acme Ltd"]
