"""INSERT many rows at once: the bulk path of a workbook sync.

On SQLite the statement is compiled by SQLAlchemy (no SQL is written by hand), each column's
own bind processor (the dialect's, exactly what the ORM would use) converts its values, and
the rows go to the driver's executemany as plain tuples: Core's executemany builds and
processes a parameter dictionary per row, which costs more than the insert itself for
100,000 rows. Other databases use Core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

_UNSET = object()


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, all columns of `table`)."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    statement, order = _compiled(table, tuple(rows[0]), dialect)
    if statement is None:
        connection.execute(insert(table), rows)  # not the plain statement expected: play safe
        return
    columns = [list(map(itemgetter(name), rows)) for name in order]
    for n, name in enumerate(order):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            columns[n] = _converted(columns[n], process)
    connection.exec_driver_sql(statement, list(zip(*columns, strict=True)))


_COMPILED: dict[tuple, tuple[str | None, list[str]]] = {}


def _compiled(table: Table, keys: tuple[str, ...], dialect) -> tuple[str | None, list[str]]:
    """The INSERT's SQL and its parameter order, compiled once per table and set of columns
    (every audited flush inserts audit rows: compiling each time was a tenth of a posting)."""
    cache_key = (table, keys, dialect.name)
    if cache_key not in _COMPILED:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        order = list(compiled.positiontup or ())
        plain = sorted(order) == sorted(keys) and "RETURNING" not in compiled.string.upper()
        _COMPILED[cache_key] = (compiled.string if plain else None, order)
    return _COMPILED[cache_key]


def _converted(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """`process` applied to every value, converting a repeated value only once: a sync stamps
    every row with the same time stamp object, and a column of flags holds two objects."""
    out = []
    last, last_out = _UNSET, None
    for value in values:
        if value is not last:
            last, last_out = value, process(value)
        out.append(last_out)
    return out
