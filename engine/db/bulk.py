"""INSERT and UPDATE many rows at once: the bulk path of a workbook sync.

Values are converted by each column's own bind processor (the dialect's, exactly what Core
and the ORM would use) and handed to the driver as plain tuples: Core's executemany builds
and processes a parameter dictionary per row, which costs more than the insert itself for
100,000 rows. No SQL is written by hand: statements are SQLAlchemy's, or COPY with names
from our own table metadata (`engine.db.pg_copy`).

Rows come as dicts (`insert_many`), tuples (`insert_rows`) or columns (`insert_columns`);
the last two take the values every row shares (a batch's time stamp, author, version) once,
so they are converted once and no dict is built per row. A caller that converts its own
values as it builds each row hands them to SQLite's executemany as they are (`rows_inserter`).

- SQLite: the compiled INSERT through the driver's executemany, a hundred rows a statement
  (`_sqlite_rows`: Core's many-row INSERT; the rest of the rows one a statement), a thousand
  while a sync writes behind (`engine.db.write_behind`: its writer thread then runs them).
- PostgreSQL: COPY from `COPY_FROM` rows up (below, a COPY's fixed cost is more than it
  saves); Core's executemany for fewer rows, or when a missing column's default is
  computed in Python (Core would call it; COPY cannot). While a sync writes behind, its
  writer thread runs the COPY.
- Version-guarded updates (`update_many`): Core's executemany, one UPDATE ... WHERE id AND
  version per row; on PostgreSQL from `COPY_UPDATES_FROM` rows up, the rows are copied into
  a temporary table and applied by one UPDATE ... FROM it, which counts matches the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, MetaData, Table, bindparam, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import TextClause

from engine.db.write_behind import behind

_UNSET = object()
# Rows from which COPY beats an executemany on PostgreSQL (benchmarks/bench_pg_bulk.py
# --threshold: inserts break even at about 20 rows, version-guarded updates at about 100).
COPY_FROM = 20
COPY_UPDATES_FROM = 100


def insert_many(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, all columns of `table`)."""
    if not rows:
        return
    keys = tuple(rows[0])
    if not _in_bulk(connection, table, keys, len(rows)):
        connection.execute(insert(table), rows)
        return
    _insert_columns(connection, table, {key: list(map(itemgetter(key), rows)) for key in keys}, {}, len(rows))


def insert_rows(connection: Connection, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]],
                same: Mapping[str, Any] | None = None) -> None:
    """Insert `rows`, each a tuple of the values of `keys` in that order, and each also given
    the values of `same` (column key -> the one value every row has): what `insert_many` of
    the same rows as dicts stores, without a dict per row. On SQLite, where no column of
    `keys` converts its values (integers, text), the rows go to the driver as they are, the
    shared values converted once and added to each, not turned into columns and back."""
    if not rows:
        return
    if len(rows[0]) != len(keys):
        raise ValueError(f"{table.name}: rows of {len(rows[0])} values for {len(keys)} keys")
    same = same or {}
    dialect = connection.dialect
    insert = rows_inserter(connection, table, (*keys, *same))
    if insert is not None and not any(_processor(table, key, dialect) for key in keys):
        # (SQLite, the rows as the driver takes them): the shared values converted once, added to each
        tail = tuple(_one(dialect, table, key, value) for key, value in same.items())
        insert(list(map(tuple.__add__, map(tuple, rows), repeat(tail))))
        return
    insert_columns(connection, table, dict(zip(keys, zip(*rows, strict=True), strict=True)), same)


def insert_columns(connection: Connection, table: Table, columns: Mapping[str, Iterable[Any]],
                   same: Mapping[str, Any] | None = None, count: int | None = None) -> None:
    """Insert rows given column by column (column key -> its values, one a row), each row
    also given the values of `same`: as `insert_rows`, for a caller that builds its rows'
    values a column at a time. A shared value (a batch's time stamp, author, door) is
    converted once, not once a row. A column may be an iterator (then `count` says how many
    rows): by COPY, its values are taken as the rows are sent, while the server stores the
    ones before."""
    same = same or {}
    if count is None:
        count = len(next(iter(columns.values()))) if columns else 0
    if count == 0:
        return
    if not _in_bulk(connection, table, (*columns, *same), count):
        keys = list(columns)
        connection.execute(insert(table), [{**dict(zip(keys, row, strict=True)), **same}
                                           for row in zip(*columns.values(), strict=True)])
        return
    _insert_columns(connection, table, columns, same, count)


def rows_inserter(connection: Connection, table: Table, keys: Sequence[str]) -> Callable[[list[tuple]], None] | None:
    """Where rows go by the driver's executemany of the plain compiled INSERT (SQLite): a
    function inserting rows already in the driver's form (each value converted by its
    column's bind processor, see `converter`), each a tuple of the values of `keys` in that
    order, with nothing more done per row. For a caller building every row anyway (the audit
    log's), that saves turning its rows into columns and back (a fifth of writing 200,000
    audit rows). None elsewhere: PostgreSQL's COPY converts values its own way
    (`insert_columns` does)."""
    dialect = connection.dialect
    keys = tuple(keys)
    statement, order = _compiled(table, keys, dialect) if dialect.name == "sqlite" else (None, [])
    if statement is None:
        return None
    if order == list(keys):
        return lambda rows: _sqlite_rows(connection, table, keys, statement, rows) if rows else None
    pick = itemgetter(*(keys.index(key) for key in order))
    return lambda rows: _sqlite_rows(connection, table, tuple(order), statement, list(map(pick, rows))) if rows else None


def converter(connection: Connection, table: Table, key: str) -> Callable[[Any], Any]:
    """The column's bind processor on this connection's dialect (what Core applies to each of
    its values before the driver has them), or the values as they are where it has none."""
    return _processor(table, key, connection.dialect) or _as_is


def _as_is(value: Any) -> Any:
    return value


def _in_bulk(connection: Connection, table: Table, keys: tuple[str, ...], count: int) -> bool:
    """Whether these rows go by our bulk path (COPY, or the driver's executemany) rather than
    Core's executemany: COPY from `COPY_FROM` rows up when COPY can add the missing columns'
    defaults as Core would; SQLite when the compiled INSERT is the plain one expected. While a
    sync writes behind, COPY whatever the count: its writer sends them, not the sync."""
    dialect = connection.dialect
    if dialect.name == "postgresql":
        many = count >= COPY_FROM or behind(connection) is not None
        return many and _copy_defaults(table, keys, dialect) is not None
    return dialect.name == "sqlite" and _compiled(table, keys, dialect)[0] is not None


def _insert_columns(connection: Connection, table: Table, columns: Mapping[str, Iterable[Any]],
                    same: Mapping[str, Any], count: int) -> None:
    """The bulk path chosen by `_in_bulk`, for rows given column by column (and `same`)."""
    dialect = connection.dialect
    if dialect.name == "postgresql":
        defaults = _copy_defaults(table, (*columns, *same), dialect) or {}
        _copy(connection, table, columns, {**same, **defaults}, count)
        return
    statement, order = _compiled(table, (*columns, *same), dialect)
    bound = [_column(dialect, table, key, columns[key]) if key in columns
             else repeat(_one(dialect, table, key, same[key]), count) for key in order]
    _sqlite_rows(connection, table, tuple(order), statement, list(zip(*bound, strict=True)))


# Rows an INSERT takes on SQLite (`_sqlite_rows`), fewer where the values would pass the
# connection's limit of parameters in one statement; more while a sync writes behind, so that
# its writer thread asks for Python's lock less often (see engine.db.write_behind)
ROWS_A_STATEMENT = 100
ROWS_A_STATEMENT_BEHIND = 1000


def _sqlite_rows(connection: Connection, table: Table, order: tuple[str, ...], statement: str,
                 rows: list[tuple]) -> None:
    """Rows in the driver's form (each the values of `order`) inserted on SQLite a hundred
    at a time, by one INSERT of that many rows (Core's compiled INSERT ... VALUES of many
    rows), the rest by `statement`, the one-row INSERT. The values bound are the same, but
    the statement runs once for a hundred rows, not once a row: 300,000 audit rows went
    into a database with its indexes in 2.8 us each against 3.3 us. While the sync writes
    behind, its writer runs them (`ROWS_A_STATEMENT_BEHIND` rows a statement)."""
    writer = behind(connection)
    group = _rows_a_statement(connection, len(order), ROWS_A_STATEMENT if writer is None else ROWS_A_STATEMENT_BEHIND)
    full = len(rows) - len(rows) % group
    many = _compiled_rows(table, order, connection.dialect, group) if full else None
    flat = chain.from_iterable
    statements = [(statement, rows)] if many is None else [
        (many, [tuple(flat(rows[at:at + group])) for at in range(0, full, group)]),
        *([(statement, rows[full:])] if full < len(rows) else [])]
    for sql, values in statements:
        if writer is None:
            connection.exec_driver_sql(sql, values)
        else:
            writer.queue(lambda driver, sql=sql, values=values: _executemany(connection, driver, sql, values))


def run_in_turn(connection: Connection, statement: TextClause) -> None:
    """Run a statement without parameters (SET CONSTRAINTS, say) after the rows written
    before it: by the writer, while a sync writes behind, so as not to wait for them."""
    writer = behind(connection)
    if writer is None:
        connection.execute(statement)
    else:
        writer.queue(lambda driver: driver.execute(statement.text))


def insert_selected(connection: Connection, statement: Insert, expected: int) -> None:
    """Run an INSERT ... SELECT (Core's) that must insert `expected` rows, or raise
    RuntimeError (the caller's transaction is then rolled back). While a sync writes behind
    on SQLite, its writer runs it: its parameters must then need no conversion (plain numbers
    and text, as `converter` gives them), being sent to the driver as compiled."""
    writer = behind(connection)
    if writer is None or connection.dialect.name != "sqlite":
        _counted(statement, connection.execute(statement).rowcount, expected)
        return
    compiled = statement.compile(dialect=connection.dialect)
    given = compiled.construct_params()
    values = tuple(given[name] for name in compiled.positiontup or ())

    def run(driver: sqlite3.Connection) -> None:
        try:
            inserted = driver.execute(compiled.string, values).rowcount
        except sqlite3.Error as exc:
            raise DBAPIError.instance(compiled.string, None, exc, sqlite3.Error, hide_parameters=True,
                                      dialect=connection.dialect) from exc
        _counted(statement, inserted, expected)

    writer.queue(run)


def _counted(statement: Insert, inserted: int, expected: int) -> None:
    if inserted != expected:
        raise RuntimeError(f"{statement.table.name}: {expected} rows to insert, {inserted} inserted")


def _executemany(connection: Connection, driver: sqlite3.Connection, statement: str, rows: list[tuple]) -> None:
    """The driver's executemany, run by a writer thread: what it raises, as Core raises it."""
    try:
        driver.executemany(statement, rows)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error, hide_parameters=True,
                                  dialect=connection.dialect) from exc


def _rows_a_statement(connection: Connection, width: int, most: int = ROWS_A_STATEMENT) -> int:
    limit = connection.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(most, limit // width))


_COMPILED_ROWS: dict[tuple, str | None] = {}


def _compiled_rows(table: Table, order: tuple[str, ...], dialect, count: int) -> str | None:
    """Core's INSERT of `count` rows of the columns `order`, its parameters row after row in
    that order; None if Core would compile it otherwise (then rows go one a statement)."""
    cache_key = (table, order, dialect.name, count)
    if cache_key not in _COMPILED_ROWS:
        names = [[f"r{n}_{i}" for i in range(len(order))] for n in range(count)]
        statement = insert(table).values([{key: bindparam(name) for key, name in zip(order, row, strict=True)}
                                          for row in names])
        compiled = statement.compile(dialect=dialect)
        expected = [name for row in names for name in row]
        plain = list(compiled.positiontup or ()) == expected and "RETURNING" not in compiled.string.upper()
        _COMPILED_ROWS[cache_key] = compiled.string if plain else None
    return _COMPILED_ROWS[cache_key]


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
    _copy(connection, batch, {key: list(map(itemgetter(key), rows)) for key in ("_id", "_version", *keys)}, {},
          len(rows))
    statement = update(table).where(table.c.id == batch.c._id, table.c.version == batch.c._version)
    statement = statement.values(version=batch.c._version + 1, **stamp, **{k: batch.c[k] for k in keys})
    matched = connection.execute(statement).rowcount
    connection.execute(DropTable(batch))
    return matched


def _copy(connection: Connection, table: Table, columns: Mapping[str, Iterable[Any]], same: Mapping[str, Any],
          count: int) -> None:
    """The rows (`columns`, and `same`: values every row has, the defaults Core would add for
    missing columns among them) by COPY."""
    from engine.db import pg_copy  # here: psycopg is loaded only on PostgreSQL

    dialect = connection.dialect
    bound = [_column(dialect, table, key, values, copy=True) for key, values in columns.items()]
    bound += [repeat(_one(dialect, table, key, value, copy=True), count) for key, value in same.items()]
    names = [table.c[k].name for k in (*columns, *same)]
    writer = behind(connection)
    if writer is None:
        pg_copy.copy_rows(connection, table, names, zip(*bound, strict=True))
    else:   # (the rows taken now: a caller may reuse what it gave once this returns)
        rows = list(zip(*bound, strict=True))
        writer.queue(lambda driver: pg_copy.copy_rows(connection, table, names, rows, driver))


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


def _processor(table: Table, key: str, dialect, copy: bool = False) -> Callable[[Any], Any] | None:
    """The column's bind processor. For COPY, which sends every value as text, a JSON column's
    gives its text (the dialect's serializer's, exactly what psycopg's adapter sends for the
    wrapper Core's processor would give), and a time stamp its text (`_as_copied`)."""
    impl = table.c[key].type.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if copy and isinstance(impl, sqltypes.JSON):
        as_text = sqltypes.JSON.bind_processor(impl, dialect)   # None: no serializer of the engine's own
        return as_text or process
    if copy and process is not None and isinstance(getattr(impl, "impl", impl), sqltypes.DateTime):
        return lambda value: _as_copied(process(value))   # (the type's own, or the one it decorates)
    return process


def _as_copied(value: Any) -> Any:
    """A time stamp as the text COPY sends for it (psycopg's text form of a datetime is
    `str()`): written here once for the one stamp a batch's rows share (`_converted`), it is
    not written again for each row (1.4 us each, nine a new person on PostgreSQL)."""
    return str(value) if type(value) is datetime else value


def _column(dialect, table: Table, key: str, values: Iterable[Any], copy: bool = False) -> Iterable[Any]:
    """A column's values converted by its bind processor (as they are, if it has none), as
    they are taken."""
    process = _processor(table, key, dialect, copy)
    return values if process is None else _converted(values, process)


def _one(dialect, table: Table, key: str, value: Any, copy: bool = False) -> Any:
    """One value converted by its column's bind processor."""
    process = _processor(table, key, dialect, copy)
    return value if process is None else process(value)


def _converted(values: Iterable[Any], process: Callable[[Any], Any]) -> Iterator[Any]:
    """`process` applied to every value as it is taken, converting a repeated value only
    once: a sync stamps every row with the same time stamp object, and a column of flags
    holds two objects. (A list whose first two values differ, as JSON documents do, is
    mapped straight.)"""
    if isinstance(values, Sequence) and len(values) > 1 and values[0] is not values[1]:
        return map(process, values)
    return _each_converted_once(values, process)


def _each_converted_once(values: Iterable[Any], process: Callable[[Any], Any]) -> Iterator[Any]:
    last, last_out = _UNSET, None
    for value in values:
        if value is not last:
            last, last_out = value, process(value)
        yield last_out
