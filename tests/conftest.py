"""Shared fixtures: every database test runs on a real SQLite file and a real PostgreSQL.

PostgreSQL comes from BACKOFFICE_TEST_PG_URL; each test gets a fresh schema, dropped after.
With CI=true an unreachable or unset PostgreSQL fails the run instead of skipping it.

Running the migrations takes about a second a database, and most tests want a new migrated
one: each test process (xdist worker) runs them once per kind of database, on a template, and
`new_database` copies that template for each test (a file copy for SQLite; for PostgreSQL the
template schema's pg_dump replayed into the test's own schema), then gives the copy an
installation identity of its own, as the migrations give every new database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine import app
from engine.config import Settings
from engine.db.installation import new_workbook_key
from engine.db.session import Database
from engine.security.roles import SYSTEM, Actor, load_roles

PG_URL = os.environ.get("BACKOFFICE_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session", autouse=True)
def application():
    """The application with every module switched on (the composition root, as `backoffice`
    starts it); a test that switches modules off uses `engine.app.started([...])`."""
    registry = app.start(app.configured_modules())
    yield registry
    app.stop()


@pytest.fixture(scope="session", autouse=True)
def _template_removed() -> Iterator[None]:
    """This process's migrated template (see `new_database`) is removed when the run ends."""
    yield
    _TEMPLATE.remove()


def _postgres_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = sa.create_engine(PG_URL)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, pg_admin_engine) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backoffice.db'}"
        return
    if pg_admin_engine is None:
        _postgres_unavailable("BACKOFFICE_TEST_PG_URL is not set")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        with pg_admin_engine.begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema))
    except sa.exc.OperationalError as exc:
        _postgres_unavailable(f"cannot reach PostgreSQL at BACKOFFICE_TEST_PG_URL: {exc}")
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def db(settings) -> Iterator[Database]:
    """A new database, made the way `backoffice db upgrade` and `demo` make one (the only
    ways a SQLite file is created; every other command refuses a file that does not exist):
    by the migrations, run on this process's template (see the module's docstring)."""
    database = new_database(settings)
    yield database
    database.dispose()


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
            path = Path(tempfile.mkdtemp(prefix="backoffice-template-")) / "template.db"
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
                    self._pg = name, _pg_dump(name)
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


def actor_with(*roles: str, login: str = "tester") -> Actor:
    known = load_roles()
    return Actor(login, tuple(known[r] for r in roles))


@pytest.fixture
def admin() -> Actor:
    return actor_with("admin", login="admin")


@pytest.fixture
def system() -> Actor:
    return SYSTEM


def at_once(call, times: int = 2, refusal: type[Exception] = Exception) -> list[str]:
    """Run `call` in `times` threads released together (each with its own connection);
    returns what each gave: its result as text, or the message it was refused with."""
    import threading

    barrier, outcomes = threading.Barrier(times), []

    def run():
        barrier.wait()
        try:
            outcomes.append(str(call()))
        except refusal as refused:
            outcomes.append(str(refused))

    workers = [threading.Thread(target=run) for _ in range(times)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return sorted(outcomes)
