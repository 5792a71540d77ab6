"""Opening the central database: SQLite file by default, PostgreSQL by URL.

SQLite is set up for several people at once: foreign keys enforced, WAL so readers never
block the writer, a busy timeout, and every writing transaction started with BEGIN IMMEDIATE so two
writers queue for the lock instead of one failing half-way with "database is locked".

Opening refuses, with exit code 2 and a message naming the setting (`database_url`,
BACKOFFICE_DATABASE_URL) and the address with its password masked: a SQLite file that does
not exist (a mistyped path would otherwise quietly create a new, empty database: only `db
upgrade` and `demo` create one, with `create=True`), an address that is not a database URL
or names a database this program does not support, and a server that cannot be reached or
refuses the role, password or database. The driver's own words are kept (its first line
only: no SQL, no parameters).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, StatementError

from engine.db.json_values import dump_json
from engine.errors import DatabaseUnavailable

SETTING = "database_url (BACKOFFICE_DATABASE_URL, or --database-url)"
SUPPORTED = ("sqlite", "postgresql")
CREATED_BY = "`backoffice db upgrade` (an empty database) or `backoffice demo` (sample data)"

# Execution option marking connections of read-only sessions.
READ_ONLY = "backoffice_read_only"


def database_address(url: str | URL, password: str | None = None) -> URL:
    """The parsed address, with `password` (BACKOFFICE_DATABASE_PASSWORD) where it has none;
    refused unless it is a SQLite or PostgreSQL URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"{SETTING}: {_masked_text(str(url))!r} is not a database address; write "
                                  "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/name") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseUnavailable(f"{SETTING}: {shown(parsed)} names a {parsed.get_backend_name()!r} database; "
                                  "Backoffice keeps its data in SQLite (sqlite:///path/to/file.db) or PostgreSQL "
                                  "(postgresql+psycopg://user@host:5432/name)")
    if password and parsed.get_backend_name() != "sqlite" and parsed.password is None:
        parsed = parsed.set(password=password)
    return parsed


def _masked_text(text: str) -> str:
    """An address that does not parse, its password (user:password@) masked all the same."""
    return re.sub(r"(://[^/@:]*:)[^@/]*@", r"\1********@", text)


def shown(url: str | URL) -> str:
    """An address as messages show it: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database address)"


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite address names (None: an in-memory database, or not SQLite)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return Path(url.database)


def refuse_missing_file(url: URL) -> None:
    """A SQLite file that does not exist is refused: only `db upgrade` and `demo` create one."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseUnavailable(f"{SETTING}: there is no database file {path} ({shown(url)}); check the path "
                                  f"(relative paths start in the current folder), or create it with {CREATED_BY}")


def check_reachable(engine: Engine) -> None:
    """Connect once, turning a connection failure into a message naming the setting."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise unreachable(engine.url, exc) from None


def unreachable(url: URL, exc: DBAPIError) -> DatabaseUnavailable:
    reason = (str(exc.orig).strip().splitlines() or ["no reason given"])[0]
    return DatabaseUnavailable(f"{SETTING}: cannot open the database {shown(url)}: {reason}; check the host, "
                               "port, database name, user and password (BACKOFFICE_DATABASE_PASSWORD), and that "
                               "the server is running")


def failure_text(exc: BaseException) -> str:
    """What an unexpected failure prints: its type and message, but of a database error only
    the driver's first line, never the SQL statement or its parameters (SQLAlchemy appends
    both; they may hold anyone's data). BACKOFFICE_DEBUG=1 prints the whole trace."""
    if isinstance(exc, StatementError):
        cause = exc.orig if exc.orig is not None else exc
        first = (str(cause).strip().splitlines() or [""])[0]
        if cause is exc:     # SQLAlchemy's own text: cut before the [SQL: ...] it appends
            first = first.split("[SQL:")[0].strip()
        return f"{type(exc).__name__} ({type(cause).__name__}): {first}"
    return f"{type(exc).__name__}: {exc}"


def connection_lost(exc: BaseException) -> DatabaseUnavailable | None:
    """The connection to the database server lost during a command, as a refusal naming the
    setting (None: some other failure)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable(f"{SETTING}: the connection to the database was lost ({failure_text(exc)}); "
                                   "nothing more was saved: check that the server is running and try again")
    return None


def create_db_engine(url: str | URL, busy_timeout_seconds: float = 30, *, create: bool = True,
                     password: str | None = None) -> Engine:
    """An engine for `url` (`password`: for an address without one); with `create=False` a
    SQLite file that does not exist is refused."""
    parsed = database_address(url, password)
    try:
        return _engine(parsed, busy_timeout_seconds, create)
    except NoSuchModuleError:
        raise DatabaseUnavailable(f"{SETTING}: {shown(parsed)} needs a database driver that is not installed; "
                                  "use postgresql+psycopg:// for PostgreSQL") from None


def _hide_values() -> bool:
    """A failed statement's values are left out of its error (they may be anyone's data);
    BACKOFFICE_DEBUG=1 keeps them for whoever is debugging."""
    return not os.environ.get("BACKOFFICE_DEBUG")


# The page size of a new SQLite database: 16 KB, not SQLite's 4 KB. A large sync writes its
# gigabytes in one transaction, each page going through the write-ahead log and back: the rows
# a sync of a million new people writes took 39 s raw with 16 KB pages, 44-47 s with 4 KB
# (benchmarks/bench_scale.py, "written"). It is fixed when the file gets its first page.
NEW_PAGE_BYTES = 16384


def _engine(parsed: URL, busy_timeout_seconds: float, create: bool) -> Engine:
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, json_serializer=dump_json, hide_parameters=_hide_values())

    path = sqlite_file(parsed)
    if not create:
        refuse_missing_file(parsed)
    elif path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread off: a sync commits in a thread of its own while its workbook is
    # written (engine.db.commit); the pool still hands a connection to one user at a time.
    engine = create_engine(parsed, connect_args={"timeout": busy_timeout_seconds, "check_same_thread": False},
                           json_serializer=dump_json,
                           hide_parameters=_hide_values())
    timeout_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if create:   # (a file with pages already keeps its size: the pragma does nothing there)
            cursor.execute(f"PRAGMA page_size = {NEW_PAGE_BYTES:d}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {timeout_ms:d}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # Writers take the write lock up front; readers (see READ_ONLY) never block anyone.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# SQLite's page cache while a large sheet is saved (see `large_write_cache`); its default is 2 MB.
LARGE_WRITE_CACHE_MB = 64


@contextmanager
def large_write_cache(connection: Connection, megabytes: int = LARGE_WRITE_CACHE_MB) -> Iterator[None]:
    """A larger page cache for this SQLite connection while a large sheet is saved, its own
    size again afterwards (no-op on PostgreSQL, whose server keeps its own buffers).

    A million new contacts are inserted into indexes on e-mail and name in no particular
    order: with the default 2 MB cache nearly every insert reads an index page back from
    the file (a million random index entries took 19 s with it, 12 s with 64 MB). Set for the
    one transaction only, so the connections a pool keeps stay small."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = {-int(megabytes) * 1024:d}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {before:d}")


# Rows a large sync must have added to a table for PostgreSQL's statistics of it to be
# refreshed before it commits (see `statistics_refreshed`)
ANALYZE_FROM = 10_000


def statistics_refreshed(connection: Connection, added: dict[str, int]) -> None:
    """On PostgreSQL, ANALYZE the tables a large sync added `ANALYZE_FROM` rows or more to
    (table name -> rows added), in its transaction, before it commits.

    Why: the planner judges a query by its statistics of the table, which the server's
    autovacuum refreshes only some time after a large load. Right after a sync of 104,800
    new people, the next sync's look-up of its records a thousand ids at a time was planned
    as a scan of the whole table each time (20 ms a thousand, against under 2 ms by the
    index): its re-sync took 8.9 s, 6.5 s once the tables were analyzed. Sampling a table
    costs a fraction of a second, once. A person whose login does not own the tables gets a
    warning from the server instead, and the statistics wait for autovacuum as before.
    No-op on SQLite, whose planner takes a look-up by id by its key whatever it knows."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in sorted(name for name, count in added.items() if count >= ANALYZE_FROM):
        connection.execute(text(f"ANALYZE {quote(table)}"))   # (a name from our own metadata)
