"""The audit log's hash chain, on SQLite and PostgreSQL: `backoffice audit verify` passes on
an intact log and names, by id, a row removed or changed by someone who went round the
append-only triggers; rows written at once by several writers still form one chain; the
migration hashes the rows it finds."""

from __future__ import annotations

import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from engine.cli import app
from engine.contacts import services
from engine.db.audit import AuditContext, AuditEntry, write_audit
from engine.db.audit_chain import ENTRY, GENESIS, link_rows, linked
from engine.db.base import utcnow
from engine.db.migrate import alembic_config
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.conftest import at_once


def verify(db):
    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, "audit", "verify", "--json", "--user", "ada"])
    return result.exit_code, json.loads(result.stdout) if result.stdout else result.output


def some_history(db, contacts: int = 5):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "ada", "Ada", ["admin"], None)
    for n in range(contacts):
        with db.unit_of_work(SYSTEM) as session:
            services.add_contact(session, SYSTEM, {"kind": "organisation", "name": f"Firm {n}", "country": "GB"})


def tamper(db, *statements: str) -> None:
    """What someone with the file or the owner role could do: lift the triggers, edit, put them back."""
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        for statement in statements:
            connection.exec_driver_sql(statement)
        if db.engine.dialect.name != "sqlite":
            connection.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")


def test_verify_passes_on_an_intact_log(db):
    some_history(db)
    code, report = verify(db)
    assert code == 0, report
    assert report["intact"] and report["problems"] == [] and report["rows"] >= 6
    with db.engine.connect() as connection:
        last = connection.execute(sa.text("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1")).one()
    assert (report["last_id"], report["last_hash"]) == tuple(last)


def test_verify_finds_a_row_removed_and_a_row_changed_by_id(db):
    some_history(db)
    tamper(db, "DELETE FROM audit_log WHERE id = 3",
           "UPDATE audit_log SET actor = 'mallory' WHERE id = 5")
    code, report = verify(db)
    assert code == 1 and not report["intact"]
    found = {(p["problem"], p["id"]) for p in report["problems"]}
    assert found == {("removed", 4), ("changed", 5)}, report["problems"]
    assert "#3 removed" in next(p["message"] for p in report["problems"] if p["problem"] == "removed")


def test_verify_finds_a_row_written_round_backoffice(db):
    some_history(db, contacts=1)
    tamper(db, "INSERT INTO audit_log (at, actor, source, table_name, record_id, action, changes) "
               "VALUES ('2026-01-01 00:00:00', 'mallory', 'cli', 'contacts', 1, 'update', '{}')")
    code, report = verify(db)
    assert code == 1
    assert [p["problem"] for p in report["problems"]] == ["unchained"]


def test_verify_prints_a_summary_and_exits_1_when_broken(db):
    some_history(db, contacts=2)
    url = db.engine.url.render_as_string(hide_password=False)
    intact = CliRunner().invoke(app, ["--database-url", url, "audit", "verify", "--user", "ada"])
    assert intact.exit_code == 0 and "audit log intact" in intact.stdout
    tamper(db, "DELETE FROM audit_log WHERE id = 2")
    broken = CliRunner().invoke(app, ["--database-url", url, "audit", "verify", "--user", "ada"])
    assert broken.exit_code == 1 and "BROKEN" in broken.stdout and "#2 removed" in broken.stdout


def test_writers_at_once_still_form_one_chain(db):
    some_history(db, contacts=1)

    def add():
        for n in range(5):
            with db.unit_of_work(SYSTEM) as session:
                services.add_contact(session, SYSTEM, {"kind": "organisation", "name": f"Busy {n}", "country": "GB"})
        return "done"

    assert at_once(add, times=4) == ["done"] * 4
    code, report = verify(db)
    assert code == 0, report["problems"]
    assert report["rows"] >= 2 + 20


def test_the_migration_hashes_the_rows_it_finds(db):
    some_history(db, contacts=3)
    config = alembic_config(db.engine)
    command.downgrade(config, "0012")        # the log as it was before the chain: no hashes
    command.upgrade(config, "head")
    code, report = verify(db)
    assert code == 0 and report["rows"] >= 4, report
    with db.unit_of_work(SYSTEM) as session:     # and new rows link on
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "After", "country": "GB"})
    assert verify(db)[0] == 0


def test_audit_without_verify_still_lists_the_log(db):
    some_history(db, contacts=1)
    url = db.engine.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(app, ["--database-url", url, "audit", "--table", "contacts", "--json", "--user", "ada"])
    assert listed.exit_code == 0, listed.output
    assert [r["table"] for r in json.loads(listed.stdout)] == ["contacts"]


def test_rows_linked_as_tuples_get_the_hashes_rows_linked_as_dicts_get(db):
    """`linked` (the bulk writes' way) and `link_rows` (one dict a row) chain the same rows alike."""
    shared = {"at": utcnow(), "actor": "ada", "source": "workbook", "workbook_id": "wb-1"}
    entries = [("contacts", 1, "insert", {"price": (Decimal("0.10"), Decimal("19.99")), "when": (None, utcnow()),
                                          "z": (None, "Zoë"), "a": (None, True)}, "People", 2),
               ("contacts", 2, "update", {"name": ["a\tb", "c\nd"]}, None, None),
               ("contact_emails", 3, "delete", {}, "People", None)]
    table = AuditEntry.__table__
    some_history(db, contacts=1)
    with db.engine.begin() as connection:
        prev_hashes, row_hashes = zip(*linked(connection, table, shared, entries), strict=True)
        rows = [{**shared, **dict(zip(ENTRY, entry, strict=True))} for entry in entries]
        link_rows(connection, table, rows)
    assert list(prev_hashes) == [r["prev_hash"] for r in rows] and list(row_hashes) == [r["row_hash"] for r in rows]
    assert prev_hashes[1:] == row_hashes[:-1] and prev_hashes[0] != GENESIS


def test_audit_rows_of_another_shape_are_written_as_given(db):
    """A row with a column of its own (here its actor) keeps it, and the chain holds."""
    some_history(db, contacts=1)
    with db.engine.begin() as connection:
        write_audit(connection, AuditContext("ada", "cli"), [
            {"table_name": "contacts", "record_id": 1, "action": "update", "changes": {"name": ["a", "b"]}},
            {"table_name": "contacts", "record_id": 1, "action": "update", "changes": {"name": ["b", "c"]},
             "actor": "grace"}])
    with db.engine.connect() as connection:
        actors = connection.execute(sa.text("SELECT actor FROM audit_log ORDER BY id DESC LIMIT 2")).scalars().all()
    assert actors == ["grace", "ada"]
    assert verify(db)[0] == 0
