"""Writing behind: a large sync's rows stored by a thread of their own while the sync goes on.

Why: storing rows is the database's own work, done without Python's lock (sqlite3 lets go of
it while SQLite stores a statement's rows; psycopg while PostgreSQL takes a COPY), and the
sync meanwhile has the next rows to read, check and build, which needs the lock. One after
the other they add up; on two cores they overlap. A million new people (benchmarks/
bench_scale.py): the sync's own thread spent 19 s of its 70 s waiting for SQLite to store
rows and 22 s of 76 s waiting for PostgreSQL at the end of its COPYs, at 107% of one core.

How the transaction stays one, and in order:

- The writer uses the sync's own connection, in its transaction, and runs what is queued in
  the order it was queued (`WriteBehind.queue`).
- Every statement the sync runs on that connection itself (SQLAlchemy's `before_cursor_execute`)
  first waits until the queue is done, so the connection is never used by two threads at once
  and whatever the sync reads sees every row queued before it.
- What a queued write met (a duplicate, a full disk) is raised by `settle`, which the sync
  calls where it decides a chunk's save, so the refusal belongs to that chunk, or else by the
  next statement the sync runs, which is then not run (PostgreSQL would refuse it anyway: its
  transaction is aborted until the savepoint is rolled back). What is queued after a failure
  is dropped, as the transaction (or its savepoint) is then rolled back.
- What the sync would otherwise read back right after queuing its writes is kept here instead:
  the audit chain's head (the hash of the last audit row queued, see `engine.db.audit_chain`)
  and, on SQLite, each table's next id (after its largest, see `engine.sheets.apply.allocate_ids`).
  Both are forgotten at a rollback (of the transaction or a savepoint) and at any statement the
  sync runs itself that may write (a service's INSERT, say), and read again when next needed.

Python switches threads every 5 ms by default: the writer, wanting the lock back for a moment
after each statement, would wait that long each time while the sync's thread runs Python. So
while rows are written behind, the interval is 0.5 ms, and SQLite takes a thousand rows a
statement (`engine.db.bulk`): measured with a thread busy in Python beside it, 300,000 rows
went in 17 s at 5 ms and a hundred rows a statement, in 0.9 s at 0.5 ms and a thousand.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

SWITCH_SECONDS = 0.0005
# Statements the sync runs that cannot change what is kept here (the head, the next ids)
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "SET CONSTRAINTS", "PRAGMA")
_KEY = "write_behind"

Job = Callable[[Any], None]     # given the driver's connection


class WriteBehind:
    """The writer of one connection while a sync writes behind (see the module's docstring)."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._failed: BaseException | None = None
        self.head: str | None = None            # the audit chain's head, when known
        self._next_ids: dict[str, int] = {}     # table -> its next id (SQLite), when known
        self._thread = threading.Thread(target=self._work, name="write-behind", daemon=True)
        self._thread.start()

    def queue(self, job: Job) -> None:
        """Run `job(driver connection)` after what is queued before it."""
        self._jobs.put(job)

    def settle(self) -> None:
        """Wait until every queued write is done; raise what one of them met."""
        self.wait()
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed

    def wait(self) -> None:
        """Wait until every queued write is done (what one met is kept for `settle`)."""
        self._jobs.join()

    def dismiss(self) -> None:
        """Forget what a queued write met: what it was part of is rolled back."""
        self._failed = None

    def next_id(self, table: str) -> int | None:
        return self._next_ids.get(table)

    def took_ids(self, table: str, next_id: int) -> None:
        self._next_ids[table] = next_id

    def forget(self) -> None:
        """What was kept may no longer be so: read it again when next needed."""
        self.head = None
        self._next_ids.clear()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._failed is None:     # (after a failure, the rest is dropped)
                    job(self._driver)
            except BaseException as exc:   # noqa: BLE001  (kept for settle, raised in the sync's thread)
                self._failed = exc
            finally:
                self._jobs.task_done()

    def _stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()


def behind(connection: Connection) -> WriteBehind | None:
    """The writer of `connection`, while its sync writes behind."""
    return connection.info.get(_KEY)


def settle(connection: Connection) -> None:
    """`WriteBehind.settle` of `connection`'s writer, if it has one."""
    writer = behind(connection)
    if writer is not None:
        writer.settle()


@contextmanager
def writing_behind(connection: Connection) -> Iterator[WriteBehind]:
    """Write `connection`'s bulk rows behind while the block runs; on leaving it, wait for
    them and raise what they met (unless the block raised: then that is what goes on)."""
    if behind(connection) is not None:
        raise RuntimeError("rows are written behind on this connection already")
    writer = WriteBehind(connection.connection.driver_connection)

    def before_statement(_conn, _cursor, statement: str, *_rest) -> None:
        if statement.lstrip().upper().startswith("ROLLBACK"):   # (what failed is being undone)
            writer.wait()
        else:
            writer.settle()
        if not statement.lstrip().upper().startswith(_READS):
            writer.forget()

    def after_rollback(*_args) -> None:
        writer.wait()
        writer.forget()
        writer.dismiss()

    def before_commit(*_args) -> None:
        writer.settle()

    listeners = (("before_cursor_execute", before_statement), ("rollback", after_rollback),
                 ("rollback_savepoint", after_rollback), ("commit", before_commit))
    for name, listener in listeners:
        event.listen(connection, name, listener)
    connection.info[_KEY] = writer
    _switch_often()
    try:
        yield writer
        writer.settle()
    finally:
        writer.wait()
        connection.info.pop(_KEY, None)
        for name, listener in listeners:
            event.remove(connection, name, listener)
        writer._stop()
        _switch_as_before()


# How many syncs write behind in this process, and the switch interval from before the first
_switching = threading.Lock()
_writing: list[float] = []


def _switch_often() -> None:
    with _switching:
        _writing.append(sys.getswitchinterval())
        sys.setswitchinterval(min(SWITCH_SECONDS, _writing[0]))


def _switch_as_before() -> None:
    with _switching:
        first = _writing[0]
        _writing.pop()
        if not _writing:
            sys.setswitchinterval(first)
