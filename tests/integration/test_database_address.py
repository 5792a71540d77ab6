"""Database addresses (issue 13): a mistyped SQLite path is refused, not made into a new empty
database (only `db upgrade` and `demo` create one); an unreachable PostgreSQL, a wrong role or
database, or an address that is no database is refused with exit 2 naming the setting, the
password masked; no error message shows SQL or its parameters (BACKOFFICE_DEBUG=1 does)."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from engine.cli import app as cli
from engine.cli_support import handles_errors
from engine.config import Settings
from engine.db.session import Database
from engine.errors import DatabaseUnavailable
from tests.conftest import PG_URL, _postgres_unavailable

PASSWORD = "S3cret-pw"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def refused(result, *words: str) -> str:
    """The refusal's message: exit 2, naming the setting and each of `words`, no password."""
    assert result.exit_code == 2, result.output
    message = result.stderr if result.stderr else result.output
    for word in ("database_url", "BACKOFFICE_DATABASE_URL", *words):
        assert word in message, message
    assert PASSWORD not in message and "internal error" not in message
    return message


def test_a_sqlite_file_that_does_not_exist_is_refused_and_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "var" / "backofice.db"            # a typo of backoffice.db
    url = f"sqlite:///{missing}"
    for command in (["users", "list", "--user", "ada"], ["db", "status"], ["audit", "--user", "ada"],
                    ["contacts", "list", "--user", "ada"]):
        refused(run("--database-url", url, *command), str(missing), "backoffice db upgrade", "backoffice demo")
    as_json = run("--database-url", url, "users", "list", "--json", "--user", "ada")
    problem = json.loads(as_json.stderr)["problems"][0]
    assert (problem["field"], problem["code"]) == ("database_url", "database_unavailable")
    assert not missing.exists() and not missing.parent.exists()
    with pytest.raises(DatabaseUnavailable):
        Database.open(Settings(database_url=url))
    assert not missing.exists()

    made = run("--database-url", url, "db", "upgrade")          # the way to make one
    assert made.exit_code == 0, made.output
    assert missing.exists()
    status = run("--database-url", url, "db", "status", "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["state"] == "up to date"


@pytest.mark.parametrize("address", ["mysql://ada:S3cret-pw@dbhost/books", "not a database address",
                                     "postgresql+nodriver://ada:S3cret-pw@dbhost/books",
                                     "oracle://ada:S3cret-pw@dbhost:1521/books"])
def test_an_address_that_is_no_supported_database_is_refused(address):
    refused(run("--database-url", address, "users", "list", "--user", "ada"))
    refused(run("db", "status", env={"BACKOFFICE_DATABASE_URL": address}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]         # closed again: nothing listens there


@pytest.fixture
def pg_url() -> sa.URL:
    if not PG_URL:
        _postgres_unavailable("BACKOFFICE_TEST_PG_URL is not set")
    return make_url(PG_URL)


def test_postgresql_where_nothing_listens_is_refused_naming_the_setting(pg_url):
    address = pg_url.set(port=_free_port(), password=PASSWORD).render_as_string(hide_password=False)
    message = refused(run("--database-url", address, "users", "list", "--user", "ada"), "***")
    assert "refused" in message.lower()
    refused(run("db", "upgrade", env={"BACKOFFICE_DATABASE_URL": address}))


def test_postgresql_with_a_database_or_role_that_does_not_exist_is_refused(pg_url):
    no_database = pg_url.set(database="no_such_backoffice_db").render_as_string(hide_password=False)
    refused(run("--database-url", no_database, "contacts", "list", "--user", "ada"), "no_such_backoffice_db")
    no_role = pg_url.set(username="no_such_backoffice_role", password=PASSWORD).render_as_string(hide_password=False)
    refused(run("--database-url", no_role, "db", "status"), "no_such_backoffice_role")


SECRET_VALUE = "value-nobody-may-see"


@handles_errors
def _failing_statement(db: Database) -> None:
    """A statement the database refuses, as a bug in a command would run it."""
    with db.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (login, name) VALUES (:login, NULL)"), {"login": SECRET_VALUE})


def test_an_internal_error_prints_neither_sql_nor_its_parameters(db, capsys, monkeypatch):
    import typer

    monkeypatch.delenv("BACKOFFICE_DEBUG", raising=False)
    with pytest.raises(typer.Exit) as stopped:
        _failing_statement(db)
    assert stopped.value.exit_code == 3
    said = capsys.readouterr().err
    assert "internal error" in said and "IntegrityError" in said
    assert "INSERT" not in said and "SQL" not in said and SECRET_VALUE not in said


def test_with_backoffice_debug_the_trace_keeps_the_statement(database_url, capsys, monkeypatch):
    import typer

    monkeypatch.setenv("BACKOFFICE_DEBUG", "1")
    db = Database.open(Settings(database_url=database_url), create=True)
    try:
        with pytest.raises(typer.Exit):
            _failing_statement(db)
    finally:
        db.dispose()
    said = capsys.readouterr().err
    assert "INSERT INTO users" in said and SECRET_VALUE in said
