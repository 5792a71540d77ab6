"""`INSERT ... ON CONFLICT DO NOTHING` on whichever database the session is bound to.

Counters, balances and cost rows are created on first use by whichever writer gets there
first; the loser's insert does nothing instead of failing. Only the dialect in use is
imported (the PostgreSQL one, with its asyncio driver support, costs a command's start-up
some 30 ms on SQLite, where it is never needed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def insert_missing(session: Session, table: Table, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Insert `rows` into `table`, leaving alone any that a unique key says exist already."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # here: only on PostgreSQL (see above)
    else:
        from sqlalchemy.dialects.sqlite import insert  # here: only on SQLite (see above)
    statement = insert(table).values(rows).on_conflict_do_nothing()
    session.execute(statement)
