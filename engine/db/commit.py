"""Committing while other work goes on: a large sync's commit beside the writing of its workbook.

Why: committing a large sync is the database's own work, done without Python's lock (SQLite
writes the rest of the transaction into its write-ahead log and copies the log into the
file: 9 s for a million new people; PostgreSQL flushes its log), and writing the refreshed
workbook needs no database (7 s for the same million rows). One after the other they add
up; on two cores they overlap.

What was saved stays saved either way: a workbook that could not be written after its
records were committed is the case `engine.sheets.receipts` exists for (the next sync of
the old file matches its new rows to their records), the same as a sync killed between its
commit and its write-back.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E", bound=BaseException)


def commit_while(session: Session, work: Callable[[], None],
                 tolerate: type[E] | tuple[type[E], ...] = (), first: Callable[[], None] | None = None) -> E | None:
    """Commit `session` in a thread of its own while `work` runs in this one; return once both
    are done. The session is left to the commit meanwhile: `work` must not use it. `first`:
    what the thread does in the session's transaction before committing (PostgreSQL's ANALYZE
    of the tables a large sync filled, `engine.db.engine.statistics_refreshed`); if it fails,
    nothing is committed.

    The commit's failure is raised (nothing was saved), whatever `work` did. Otherwise what
    `work` raised of `tolerate` is returned (the records are saved; the caller says what was
    not done), and anything else it raised is raised once the commit is done."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit") as pool:
        committing = pool.submit(_committed, session, first)
        failed: E | None = None
        try:
            work()
        except tolerate as exc:
            failed = exc
        finally:
            committing.result()     # (raises the commit's failure, with the work's as its context)
    return failed


def _committed(session: Session, first: Callable[[], None] | None) -> None:
    if first is not None:
        first()
    session.commit()
