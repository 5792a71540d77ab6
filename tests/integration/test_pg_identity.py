"""Identity that cannot be claimed, on PostgreSQL: the tables belong to an owner role, each
person connects with a login role of their own that `backoffice users add` creates, and that
login is who they are. A plain database client gets no more than the product: no salary, no
change to the audit log, no disabling its triggers. Every role made here is dropped after,
whatever happens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from engine.cli import app
from engine.db import bulk, pg_copy
from engine.security.db_roles import grant_plan
from tests.conftest import PG_URL, _postgres_unavailable
from tests.integration.conftest import edit_by_label, find_row, read_sheet


class Install:
    """A Backoffice schema owned by its own owner role, and people's logins (suffixed: roles
    are the whole cluster's, shared by tests running at once)."""

    def __init__(self, suffix: str, schema: str):
        self.suffix, self.schema = suffix, schema
        self.owner = f"owner_{suffix}"

    def login(self, name: str) -> str:
        return f"{name}_{self.suffix}"

    def url(self, role: str) -> str:
        return make_url(PG_URL).set(username=role, password=None).update_query_dict(
            {"options": f"-csearch_path={self.schema}"}).render_as_string(hide_password=False)

    def cli(self, role: str, *args: str):
        return CliRunner().invoke(app, ["--database-url", self.url(role), *args])

    def connect(self, role: str) -> psycopg.Connection:
        """A plain client, as a person could open one with psql."""
        base = make_url(PG_URL)
        return psycopg.connect(host=base.host, port=base.port or 5432, dbname=base.database, user=role,
                               options=f"-csearch_path={self.schema}", autocommit=True)


@pytest.fixture
def install(pg_admin_engine) -> Iterator[Install]:
    if pg_admin_engine is None:
        _postgres_unavailable("BACKOFFICE_TEST_PG_URL is not set")
    suffix = uuid.uuid4().hex[:8]
    inst = Install(suffix, f"test_{suffix}")
    with pg_admin_engine.connect() as c:
        raw = c.connection.driver_connection
        raw.autocommit = True
        raw.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(inst.owner)))
        raw.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(inst.schema),
                                                                         sql.Identifier(inst.owner)))
    try:
        yield inst
    finally:
        with pg_admin_engine.connect() as c:
            raw = c.connection.driver_connection
            raw.autocommit = True
            raw.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(inst.schema)))
            made = [r[0] for r in raw.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                              (f"%\\_{suffix}",))]
            for role in sorted(made, key=lambda r: r == inst.owner):     # people first, the owner last
                raw.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                raw.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def office(install) -> Install:
    """As the owner: the schema, an admin, an HR officer, a manager and a salesperson, each
    with their login role; HR hires Ann (bank account, salary) into the manager's team."""
    ada, hana, mo, sam = (install.login(n) for n in ("ada", "hana", "mo", "sam"))
    owner = install.owner
    assert install.cli(owner, "db", "upgrade").exit_code == 0
    for login, role, by in ((ada, "admin", None), (hana, "hr", ada), (mo, "manager", ada), (sam, "sales", ada)):
        added = install.cli(owner, "users", "add", login, "--name", login, "--role", role,
                            *(("--user", by) if by else ()))
        assert added.exit_code == 0, added.output
    for args in (("staff", "department", "add", "OPS", "Operations"),
                 ("staff", "hire", "--first-name", "Mo", "--last-name", "Boss", "--country", "GB", "--number", "E1",
                  "--department", "OPS", "--start", "2026-01-01", "--login", mo),
                 ("staff", "hire", "--first-name", "Ann", "--last-name", "Lee", "--country", "GB", "--number", "E2",
                  "--department", "OPS", "--start", "2026-01-01", "--manager", "E1", "--bank-account", "GB29X1"),
                 ("staff", "contract", "E2", "--kind", "permanent", "--hours", "40", "--salary", "36000",
                  "--from", "2026-01-01")):
        done = install.cli(hana, *args)       # HR, through their own login
        assert done.exit_code == 0, done.output
    return install


def refused(connection: psycopg.Connection, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        connection.execute(statement)
    return str(caught.value)


def test_a_plain_client_on_a_persons_login_gets_no_more_than_the_product(office):
    with office.connect(office.login("mo")) as manager:
        assert refused(manager, "SELECT salary FROM contracts")
        assert refused(manager, "SELECT bank_account FROM employees")
        assert manager.execute("SELECT kind FROM contracts").fetchall() == [("permanent",)]
        assert "permission denied" in refused(manager, "UPDATE audit_log SET actor = 'x'")
        assert refused(manager, "DELETE FROM audit_log")
        assert "must be owner" in refused(manager, "ALTER TABLE audit_log DISABLE TRIGGER ALL")
        assert refused(manager, "DROP TRIGGER audit_log_no_change ON audit_log")
    with office.connect(office.login("sam")) as sales:
        assert refused(sales, "SELECT employee_number FROM employees")     # sales reads no staff at all
        assert refused(sales, "SELECT changes FROM audit_log")             # nor the log, but its chain
    with office.connect(office.login("hana")) as hr:
        assert hr.execute("SELECT salary FROM contracts").fetchone()[0] is not None
        assert refused(hr, "UPDATE audit_log SET actor = 'x'")


def test_a_plain_client_cannot_add_an_audit_row_in_someone_elses_name(office):
    mo, ada = office.login("mo"), office.login("ada")
    row = ("INSERT INTO audit_log (at, actor, source, table_name, record_id, action, changes) "
           "VALUES (now(), %s, 'cli', 'contacts', 1, 'update', '{}')")
    with office.connect(mo) as manager:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="in one's own name"):
            manager.execute(row, (ada,))
    with office.connect(office.owner) as owner:       # the owner acts for others by design
        owner.execute(row, (ada,))


def test_the_command_line_acts_as_the_login_and_refuses_another_user(office):
    sam, ada = office.login("sam"), office.login("ada")
    claimed = office.cli(sam, "contacts", "list", "--json", "--user", ada)
    assert claimed.exit_code == 2 and claimed.stdout == ""
    [problem] = json.loads(claimed.stderr)["problems"]
    assert problem["field"] == "user" and problem["code"] == "permission"
    assert f"connected to the database as {sam!r}" in problem["message"]
    env_claim = CliRunner().invoke(app, ["--database-url", office.url(sam), "contacts", "list"],
                                   env={"BACKOFFICE_USER": ada})
    assert env_claim.exit_code == 2
    added = office.cli(sam, "contacts", "add", "--kind", "organisation", "--name", "Acme Ltd", "--country", "GB")
    assert added.exit_code == 0, added.output
    assert office.cli(sam, "contacts", "list", "--user", sam).exit_code == 0      # naming oneself is fine
    log = office.cli(office.owner, "audit", "--table", "contacts", "--json", "--user", ada)
    assert [r["actor"] for r in json.loads(log.stdout) if r["changes"].get("name") == [None, "Acme Ltd"]] == [sam]


def test_a_manager_reads_their_team_through_the_product_without_the_hidden_columns(office):
    shown = office.cli(office.login("mo"), "staff", "show", "E2", "--json")
    assert shown.exit_code == 0, shown.output
    assert "GB29X1" not in shown.stdout and "36000" not in shown.stdout and "Ann" in shown.stdout
    hr = office.cli(office.login("hana"), "staff", "show", "E2", "--json")
    assert "GB29X1" in hr.stdout


def test_a_manager_on_their_own_login_exports_and_syncs_their_team_workbook(office, tmp_path):
    """The round trip reads whole tables: on a login without the salary and bank account
    columns it leaves them out (the manager's workbook never has them) and works."""
    import openpyxl

    from tests.integration.conftest import edit_by_label, find_row

    mo, path = office.login("mo"), tmp_path / "team.xlsx"
    made = office.cli(mo, "workbook", "new", "team", "--out", str(path))
    assert made.exit_code == 0, made.output
    text = " ".join(str(c.value) for ws in openpyxl.load_workbook(path) for r in ws.iter_rows() for c in r)
    assert "Ann" in text and "GB29X1" not in text and "36000" not in text
    assert office.cli(mo, "sync", str(path)).exit_code == 0           # read back whole, nothing to save
    row = find_row(path, "Team", "First name", "Ann")
    edit_by_label(path, "Team", row, {"Job title": "Buyer"})
    synced = office.cli(mo, "sync", str(path), "--json")
    assert synced.exit_code == 1, synced.output                      # refused by the rules, not the database
    assert [(p["column"], p["code"]) for p in json.loads(synced.stdout)["problems"]] == [("Job title", "read-only")]


def test_audit_verify_finds_a_row_removed_by_the_owner(office):
    ada = office.login("ada")
    assert office.cli(ada, "audit", "verify").exit_code == 0
    with office.connect(office.owner) as owner:      # the owner may lift the trigger: the chain still tells
        owner.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        # (a row in the middle: rows cut off the end leave no trace but a shorter chain, see the README)
        victim = owner.execute("SELECT min(id) FROM audit_log WHERE table_name = 'employees'").fetchone()[0]
        owner.execute("DELETE FROM audit_log WHERE id = %s", (victim,))
        owner.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    checked = office.cli(ada, "audit", "verify", "--json")
    assert checked.exit_code == 1
    assert [p["problem"] for p in json.loads(checked.stdout)["problems"]] == ["removed"]
    assert f"#{victim} removed" in json.loads(checked.stdout)["problems"][0]["message"]


def test_users_grants_reapplies_a_logins_grants(office):
    shown = office.cli(office.owner, "users", "grants", office.login("mo"), "--json", "--user", office.login("ada"))
    assert shown.exit_code == 0, shown.output
    grants = {(g["table"], g["privilege"]): g["columns"] for g in json.loads(shown.stdout)}
    assert "salary" not in grants[("contracts", "SELECT")] and "kind" in grants[("contracts", "SELECT")]
    refused_here = office.cli(office.login("sam"), "users", "grants", office.login("mo"))
    assert refused_here.exit_code == 2           # sales may not write users


def test_the_grant_plan_never_lets_anyone_change_the_audit_log():
    for roles in (["admin"], ["hr"], ["manager"], ["accountant"], ["warehouse"], ["sales"], ["staff"]):
        plan = grant_plan(roles)
        assert set(plan["audit_log"]) == {"INSERT", "SELECT"}, roles
    assert grant_plan(["hr"])["contracts"]["SELECT"] is None                      # every column
    assert "salary" not in grant_plan(["manager"])["contracts"]["SELECT"]
    assert "medical_reason" not in grant_plan(["manager"])["leave_requests"]["SELECT"]
    assert "employees" not in grant_plan(["sales"])
    assert grant_plan(["sales"])["audit_log"]["SELECT"] == ("id", "row_hash")


def test_identity_rules_leave_a_superuser_free_to_act_for_anyone(pg_admin_engine, database_url):
    """The test suite's own connections (a superuser) keep --user: administration, migrations."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    assert pg_admin_engine is not None
    from engine.config import Settings
    from engine.db.session import Database
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor

    db = Database.open(Settings(database_url=database_url), create=True)
    try:
        with db.unit_of_work(SYSTEM, source="system") as session:
            add_user(session, SYSTEM, "ada", "Ada", ["admin"], None)
        with db.reading() as session:
            assert resolve_actor(session, "ada").login == "ada"
        with db.engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = 'ada'")).scalar() == 0
    finally:
        db.dispose()


def test_a_persons_own_login_saves_a_sync_by_copy_with_its_grants_only(office, tmp_path, monkeypatch):
    """The bulk paths (COPY into the table and the audit log, a temporary batch table for the
    version-guarded updates) need nothing a person's login lacks, and the audit rows they
    write are in its own name (the database's check holds for COPY as for INSERT)."""
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    monkeypatch.setattr(bulk, "COPY_UPDATES_FROM", 1)
    copies, real = [], pg_copy.copy_rows
    monkeypatch.setattr(pg_copy, "copy_rows", lambda c, table, names, rows, *driver: (
        copies.append(table.name), real(c, table, names, rows, *driver)))
    sam, path = office.login("sam"), tmp_path / "contacts.xlsx"
    assert office.cli(sam, "workbook", "new", "contacts", "--out", str(path)).exit_code == 0
    edit_by_label(path, "Organisations", len(read_sheet(path, "Organisations")) + 1,
                  {"Name": "Copy Ltd", "Country": "GB"})
    added = office.cli(sam, "sync", str(path), "--json")
    assert added.exit_code == 0, added.output
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Copy Ltd"), {"Phone": "+44 1"})
    changed = office.cli(sam, "sync", str(path), "--json")
    assert changed.exit_code == 0, changed.output
    assert {"contacts", "audit_log", "bulk_contacts"} <= set(copies)
    with office.connect(office.owner) as owner:
        saved = owner.execute("SELECT id, phone, version, updated_by FROM contacts WHERE name = 'Copy Ltd'").fetchone()
        actors = owner.execute("SELECT DISTINCT actor FROM audit_log WHERE table_name = 'contacts' "
                               "AND record_id = %s", (saved[0],)).fetchall()
    assert saved[1:] == ("+44 1", 2, sam) and actors == [(sam,)]
