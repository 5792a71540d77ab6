"""INSERT and UPDATE many rows at once: the bulk path of a workbook sync.

Values are converted by each column's own bind processor (the dialect's, exactly what Core
and the ORM would use) and handed to the driver as plain tuples: Core's executemany builds
and processes a parameter dictionary per row, which costs more than the insert itself for
100,000 rows. No SQL is written by hand: statements are SQLAlchemy's, or COPY with names
from our own table metadata (`engine.db.pg_copy`).

- SQLite: the compiled INSERT through the driver's executemany.
- PostgreSQL: COPY from `COPY_FROM` rows up (below, a COPY's fixed cost is more than it
  saves); Core's executemany for fewer rows, or when a missing column's default is
  computed in Python (Core would call it; COPY cannot).
- Version-guarded updates (`update_many`): Core's executemany, one UPDATE ... WHERE id AND
  version per row; on PostgreSQL from `COPY_UPDATES_FROM` rows up, the rows are copied into
  a temporary table and applied by one UPDATE ... FROM it, which counts matches the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, MetaData, Table, bindparam, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable, DropTable

_UNSET = object()
# Rows from which COPY beats an executemany on PostgreSQL (benchmarks/bench_pg_bulk.py
# --threshold: inserts break even at about 20 rows, version-guarded updates at about 100).
COPY_FROM = 20
COPY_UPDATES_FROM = 100


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, all columns of `table`)."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        defaults = _copy_defaults(table, tuple(rows[0]), dialect)
        if defaults is not None:
            _copy(connection, table, list(rows[0]), rows, defaults)
            return
    if dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    statement, order = _compiled(table, tuple(rows[0]), dialect)
    if statement is None:
        connection.execute(insert(table), rows)  # not the plain statement expected: play safe
        return
    columns = _bound(dialect, table, order, rows)
    connection.exec_driver_sql(statement, list(zip(*columns, strict=True)))


def update_many(connection: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]],
                stamp: Mapping[str, Any]) -> int:
    """Update the columns `keys` of records, each only at the version it was read at; returns
    how many matched (fewer than `rows`: someone else saved one in between).

    Each row holds `_id`, `_version` and a value for each of `keys`; every updated record
    also gets `stamp` (who, when) and its version raised by one."""
    if not rows:
        return 0
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_UPDATES_FROM:
        return _update_from_copy(connection, table, keys, rows, stamp)
    statement = update(table).where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
    statement = statement.values(version=bindparam("_version") + 1, **stamp, **{k: bindparam(k) for k in keys})
    if connection.dialect.supports_sane_multi_rowcount:
        return connection.execute(statement, rows).rowcount
    return sum(connection.execute(statement, row).rowcount for row in rows)  # the driver cannot count


def _update_from_copy(connection: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]],
                      stamp: Mapping[str, Any]) -> int:
    """`update_many` on PostgreSQL: the rows COPYed into a temporary table made of the
    table's own column types (dropped at the end, and at commit whatever happens), then one
    UPDATE ... FROM it, matching id and version as the executemany does row by row."""
    batch = Table(f"bulk_{table.name}", MetaData(),
                  Column("_id", table.c.id.type), Column("_version", table.c.version.type),
                  *(Column(table.c[k].name, table.c[k].type, key=k) for k in keys),
                  prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    connection.execute(CreateTable(batch))
    _copy(connection, batch, ["_id", "_version", *keys], rows, {})
    statement = update(table).where(table.c.id == batch.c._id, table.c.version == batch.c._version)
    statement = statement.values(version=batch.c._version + 1, **stamp, **{k: batch.c[k] for k in keys})
    matched = connection.execute(statement).rowcount
    connection.execute(DropTable(batch))
    return matched


def _copy(connection: Connection, table: Table, keys: list[str], rows: Sequence[dict[str, Any]],
          defaults: dict[str, Any]) -> None:
    """The rows (and `defaults`, the scalar defaults Core would add for missing columns) by COPY."""
    from engine.db import pg_copy  # here: psycopg is loaded only on PostgreSQL

    dialect = connection.dialect
    columns = _bound(dialect, table, keys, rows)
    for key, value in defaults.items():
        process = _processor(table, key, dialect)
        columns.append([process(value) if process else value] * len(rows))
    names = [table.c[k].name for k in (*keys, *defaults)]
    pg_copy.copy_rows(connection, table, names, zip(*columns, strict=True))


_DEFAULTS: dict[tuple, dict[str, Any] | None] = {}


def _copy_defaults(table: Table, keys: tuple[str, ...], dialect) -> dict[str, Any] | None:
    """The defaults Core's INSERT of these keys adds in Python for the columns left out
    (column key -> value), or None where COPY cannot do as Core does: a default computed by
    a function, an SQL expression or a sequence (COPY leaves the column to the server), or a
    key that is not a column (Core refuses it with its own error)."""
    cache_key = (table, keys, dialect.name)
    if cache_key not in _DEFAULTS:
        missing = [c for c in table.c if c.key not in keys]
        found: dict[str, Any] | None = None
        if set(keys) <= set(table.c.keys()) and all(c.default is None or c.default.is_scalar for c in missing):
            found = {c.key: c.default.arg for c in missing if c.default is not None}
        _DEFAULTS[cache_key] = found
    return _DEFAULTS[cache_key]


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


def _processor(table: Table, key: str, dialect) -> Callable[[Any], Any] | None:
    return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)


def _bound(dialect, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The rows' values column by column, each converted by its column's bind processor."""
    columns = [list(map(itemgetter(key), rows)) for key in keys]
    for n, key in enumerate(keys):
        process = _processor(table, key, dialect)
        if process is not None:
            columns[n] = _converted(columns[n], process)
    return columns


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
