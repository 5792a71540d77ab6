"""Shared fixtures: every database test runs on a real SQLite file and a real PostgreSQL.

PostgreSQL comes from BACKOFFICE_TEST_PG_URL; each test gets a fresh schema, dropped after.
With CI=true an unreachable or unset PostgreSQL fails the run instead of skipping it.

A new database is the migrated template's copy: tests/templates.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine import app
from engine.config import Settings
from engine.db.session import Database
from engine.security.roles import SYSTEM, Actor, load_roles
from tests import templates
from tests.templates import new_database

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
def _templates(tmp_path_factory) -> Iterator[None]:
    """This process's migrated templates (tests/templates.py) live in the run's temporary
    folder and are removed when the run ends."""
    templates.FOLDER = tmp_path_factory.mktemp("template")
    yield
    templates.remove()


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


@contextmanager
def shared_database(kind: str, folder, pg_admin_engine: sa.Engine | None, file: str = "backoffice.db") -> Iterator[Database]:
    """A database of `kind` ("sqlite" in `folder`, or a fresh PostgreSQL schema) for the tests
    of one module to build once and read together, removed afterwards: for data only read
    (a demo a report is written from), where building it for each test would cost minutes."""
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{folder / file}"
    else:
        if pg_admin_engine is None:
            _postgres_unavailable("BACKOFFICE_TEST_PG_URL is not set")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with pg_admin_engine.begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema))
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    database = new_database(Settings(database_url=url))
    try:
        yield database
    finally:
        database.dispose()
        if schema is not None:
            with pg_admin_engine.begin() as conn:
                conn.execute(sa.schema.DropSchema(schema, cascade=True))


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def db(settings) -> Iterator[Database]:
    """A new database, made the way `backoffice db upgrade` and `demo` make one (the only
    ways a SQLite file is created; every other command refuses a file that does not exist):
    by the migrations, run on this process's template (tests/templates.py)."""
    database = new_database(settings)
    yield database
    database.dispose()




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
