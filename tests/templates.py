"""A new migrated database for each test, without running the migrations for each.

Running the migrations takes about a second a database, and most tests want a new migrated
one: each test process (xdist worker) runs them once per kind of database, on a template, and
`new_database` copies that template for each test (a file copy for SQLite; for PostgreSQL the
template schema's pg_dump replayed into the test's own schema), then gives the copy an
installation identity of its own, as the migrations give every new database. A template is
made fresh in each run, so it is always the current migrations' result.

One module (imported as `tests.templates` by every conftest) so a process has one template.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine.config import Settings
from engine.db.installation import new_workbook_key
from engine.db.session import Database

PG_URL = os.environ.get("BACKOFFICE_TEST_PG_URL")
FOLDER: Path | None = None  # where the SQLite template goes (the run's temporary folder)


def new_database(settings: Settings) -> Database:
    """`Database.open(settings, create=True)` on the empty database at `settings.database_url`
    (a SQLite file not yet there, or a test schema `database_url` made), with the migrations'
    result copied from this process's template instead of running them again. A database
    that is not empty, or not one of those, is opened as it is (and migrated if need be)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if url.database and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_TEMPLATE.sqlite_file(), path)  # a new file, as SQLite makes one
            with closing(sqlite3.connect(path)) as conn, conn:
                conn.execute(_NEW_IDENTITY, _new_identity())
    elif (schema := _search_path(url)) is not None:
        _TEMPLATE.fill_postgresql(schema)
    return Database.open(settings, create=True)


def _search_path(url) -> str | None:
    option = url.query.get("options")
    prefix = "-csearch_path="
    if isinstance(option, str) and option.startswith(prefix) and "," not in option and " " not in option:
        return option[len(prefix):]
    return None


# A copy gets an installation id and workbook key of its own, as migrations 0002 and 0012
# give each new database.
_NEW_IDENTITY = "UPDATE installation SET installation_id = :id, workbook_key = :key"


def _new_identity() -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "key": new_workbook_key()}


class _Template:
    """This process's migrated databases, made on first use: a SQLite file, and the pg_dump of
    a PostgreSQL schema (the schema itself is dropped as soon as it is dumped)."""

    def __init__(self):
        self._sqlite: Path | None = None
        self._pg: tuple[str, str] | None = None  # (template schema's name, its dump)

    def sqlite_file(self) -> Path:
        if self._sqlite is None:
            folder = FOLDER if FOLDER is not None else Path(tempfile.mkdtemp(prefix="backoffice-template-"))
            path = folder / "template.db"
            Database.open(Settings(database_url=f"sqlite:///{path}"), create=True).dispose()
            assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not checkpointed"
            self._sqlite = path
        return self._sqlite

    def remove(self) -> None:
        if self._sqlite is not None:
            shutil.rmtree(self._sqlite.parent, ignore_errors=True)
        self._sqlite = self._pg = None

    def fill_postgresql(self, schema: str) -> None:
        """The template's tables and rows, made in `schema` if it exists and is still empty."""
        from psycopg import sql  # here: PostgreSQL's driver, only when a PostgreSQL test runs

        name, dump = self._postgresql()
        if not dump:
            return
        with _raw_pg() as conn, conn.transaction():
            empty = conn.execute("SELECT NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n "
                                 "ON n.oid = c.relnamespace WHERE n.nspname = %s)", (schema,)).fetchone()
            if not empty or not empty[0]:
                return
            conn.execute(dump.replace(name, schema))
            conn.execute(sql.SQL("UPDATE {}.installation SET installation_id = %(id)s, workbook_key = %(key)s")
                         .format(sql.Identifier(schema)), _new_identity())

    def _postgresql(self) -> tuple[str, str]:
        if self._pg is None:
            name = f"template_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
            try:
                with admin.begin() as conn:
                    conn.execute(sa.schema.CreateSchema(name))
                try:
                    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
                    Database.open(Settings(database_url=url.render_as_string(hide_password=False)),
                                  create=True).dispose()
                    try:
                        self._pg = name, _pg_dump(name)
                    except (OSError, subprocess.SubprocessError):  # no pg_dump, or one older than the server
                        self._pg = name, ""  # each test's schema is then migrated, as before
                finally:
                    with admin.begin() as conn:
                        conn.execute(sa.schema.DropSchema(name, cascade=True))
            finally:
                admin.dispose()
        return self._pg


def _libpq(url) -> tuple[list[str], dict[str, str]]:
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--dbname", url.database or ""]
    if url.username:
        args += ["--username", url.username]
    env = os.environ | ({"PGPASSWORD": url.password} if url.password else {})
    return args, env


def _pg_dump(schema: str) -> str:
    """The schema's definition and rows as one SQL script (COPY blocks and psql's
    meta-commands left out: rows are dumped as INSERTs), its own CREATE SCHEMA removed."""
    args, env = _libpq(make_url(PG_URL))
    done = subprocess.run(["pg_dump", *args, "--schema", schema, "--inserts", "--no-comments", "--no-owner"],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    lines = [line for line in done.stdout.splitlines()
             if not line.startswith("\\") and line.strip() not in (f"CREATE SCHEMA {schema};",)
             and not line.startswith(f"ALTER SCHEMA {schema} OWNER")]
    return "\n".join(lines)


def _raw_pg():
    import psycopg  # here: PostgreSQL's driver, only when a PostgreSQL test runs

    url = make_url(PG_URL)
    return psycopg.connect(host=url.host or "localhost", port=url.port or 5432, dbname=url.database,
                           user=url.username, password=url.password)


_TEMPLATE = _Template()


def remove() -> None:
    """The SQLite template's folder removed (the PostgreSQL one is dropped once dumped)."""
    _TEMPLATE.remove()
