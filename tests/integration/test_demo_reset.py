"""`demo --reset` (issue 13) on SQLite and PostgreSQL: it deletes everything, the audit log
included, so it needs an administrator, a typed confirmation (or --yes), and a database that
holds the demo's data and nothing else; otherwise nothing is deleted. The demo here is that of
the contacts module alone (the whole demo takes a minute on PostgreSQL; what marks a database
as demo data is the same)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app
from engine.cli import app as cli
from engine.db.audit import AuditContext, write_audit
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.e2e.conftest import CHECKOUT


def run(url: str, *args: str):
    return CliRunner().invoke(cli, ["--database-url", url, *args])


def counts(db) -> tuple[int, int, int]:
    with db.reading() as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(sa.table(t)))
                     for t in ("contacts", "users", "audit_log"))


@pytest.fixture
def demo_db(db, tmp_path, monkeypatch):
    """The contacts demo built by `backoffice demo`; the url and the database."""
    monkeypatch.chdir(tmp_path)
    with app.started(["contacts"]):
        url = db.engine.url.render_as_string(hide_password=False)
        built = run(url, "demo", "--json")
        assert built.exit_code == 0, built.output
        yield url, db


def test_reset_needs_an_administrator_and_a_confirmation(demo_db):
    url, db = demo_db
    before = counts(db)
    nobody = run(url, "demo", "--reset", "--yes")
    assert nobody.exit_code == 2 and "--user" in nobody.output
    manager = run(url, "demo", "--reset", "--yes", "--user", "mia")
    assert manager.exit_code == 2 and "can reset-demo (admin)" in manager.output
    unconfirmed = run(url, "demo", "--reset", "--user", "admin")           # no terminal to ask on
    assert unconfirmed.exit_code == 2 and "add --yes" in unconfirmed.output
    as_json = run(url, "demo", "--reset", "--user", "admin", "--json")
    assert as_json.exit_code == 2 and json.loads(as_json.stderr)["exit_code"] == 2
    assert counts(db) == before                                             # nothing deleted
    done = run(url, "demo", "--reset", "--yes", "--user", "admin", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["already_present"] is False
    assert counts(db)[:2] == before[:2]                                     # the same demo again
    again = run(url, "demo", "--reset", "--yes", "--user", "admin")         # a rebuilt demo may be reset again
    assert again.exit_code == 0, again.output


def test_reset_is_refused_once_anyone_changed_the_demo_data(demo_db):
    url, db = demo_db
    added = run(url, "contacts", "add", "--kind", "organisation", "--name", "Real Customer Ltd", "--country", "GB",
                "--user", "mia")
    assert added.exit_code == 0, added.output
    before = counts(db)
    refused = run(url, "demo", "--reset", "--yes", "--user", "admin")
    assert refused.exit_code == 2 and "holds more than the demo's data" in refused.output
    assert counts(db) == before


def test_reset_is_refused_on_a_database_the_demo_did_not_build(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "admin", "Ada", ["admin"], None)
    url = db.engine.url.render_as_string(hide_password=False)
    before = counts(db)
    refused = run(url, "demo", "--reset", "--yes", "--user", "admin")
    assert refused.exit_code == 2 and "not built by `backoffice demo`" in refused.output
    assert counts(db) == before


def test_reset_is_refused_naming_who_else_changed_it_and_reads_do_not_count(demo_db):
    url, db = demo_db
    with db.engine.begin() as connection:      # HR opening a medical reason: a read changes nothing
        write_audit(connection, AuditContext("hana", "cli"), [
            {"table_name": "leave_requests", "record_id": 1, "action": "read", "changes": {"fields_read": ["x"]}}])
    assert run(url, "demo", "--reset", "--yes", "--user", "admin").exit_code == 0
    with db.engine.begin() as connection:
        write_audit(connection, AuditContext("ola", "workbook"), [
            {"table_name": "contacts", "record_id": 1, "action": "update", "changes": {"phone": ["1", "2"]}}])
    before = counts(db)
    refused = run(url, "demo", "--reset", "--yes", "--user", "admin")
    assert refused.exit_code == 2 and "1 change(s) audited after the demo was built by ola" in refused.output
    assert counts(db) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("typed", "code"), [("reset", 0), ("yes", 2)])
def test_on_a_terminal_reset_asks_to_type_reset(demo_db, tmp_path, typed, code):
    """The process on a terminal (a pseudo-terminal), as a person runs it."""
    url, db = demo_db
    before = counts(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {"BACKOFFICE_MODULES": "contacts", "PYTHONPATH": str(CHECKOUT), "COLUMNS": "200", "NO_COLOR": "1"}
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "engine.cli", "--database-url", url, "demo", "--reset",
                                    "--user", "admin"], stdin=follower, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd=tmp_path, env=env)
        os.write(leader, f"{typed}\n".encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    said = err.decode()
    assert "Type reset to go on" in said and "audit rows" in said
    assert process.returncode == code, said
    if code:
        assert "not confirmed" in said and counts(db) == before
    else:
        assert "Demo data in" in out.decode()
