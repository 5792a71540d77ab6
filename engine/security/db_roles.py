"""PostgreSQL login roles for people, with grants that follow their Backoffice roles.

In direct mode on PostgreSQL (see `engine.security.identity`) each person connects with a
login role of their own, named as their Backoffice login. The tables belong to the owner
role; a person's role gets only grants, derived from `config/roles.toml` and
`config/policies.toml` the same way the policy gate reads them (`grant_plan`):

- SELECT on the tables of the areas their roles read, INSERT, UPDATE and DELETE on those of
  the areas they write (`engine.security.gate.table_areas`); the staff tables a manager's
  team is drawn from are granted to roles that read or write `team` (which of the rows, the
  product decides);
- on a table with sensitive columns whose class none of their roles `sees`, SELECT, INSERT
  and UPDATE of the other columns only: a plain database client gets a salary no more than
  the product gives it;
- everyone: SELECT on `users`, `installation` and `alembic_version` (every command reads
  them), SELECT, INSERT, UPDATE and DELETE on `workbook_receipts` (a workbook sync's
  receipt), and on `audit_log` INSERT plus SELECT of `id` and `row_hash` (to link new rows
  to the chain), all of it only to audit readers; never UPDATE, DELETE or TRUNCATE;
- USAGE on the id sequences of the tables they may insert into.

Not being owners, these roles cannot ALTER a table or disable its triggers. Role names and
columns are quoted by psycopg (`sql.Identifier`), a password passed as a literal: no SQL is
made by pasting strings. The grants are an outer bound: the product still checks every
action and every row (a manager's own team) itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from psycopg import errors, sql
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.db.base import Base
from engine.errors import BackofficeError, PermissionDenied
from engine.security.gate import table_areas
from engine.security.identity import database_login
from engine.security.policies import active_policies
from engine.security.roles import Actor, check_role_names, load_roles

Plan = dict[str, dict[str, tuple[str, ...] | None]]   # table -> privilege -> columns (None: the whole table)

EVERYONE_READS = ("users", "installation", "alembic_version")
CHAIN_COLUMNS = ("id", "row_hash")
WRITES = ("INSERT", "UPDATE", "DELETE")


def grant_plan(role_names: Iterable[str]) -> Plan:
    """What a person with these Backoffice roles is granted, table by table (no database)."""
    known = load_roles()
    actor = Actor("-", tuple(known[r] for r in role_names if r in known))
    policies = active_policies()
    plan: Plan = {t: {"SELECT": None} for t in EVERYONE_READS}
    plan["workbook_receipts"] = {p: None for p in ("SELECT", *WRITES)}
    for table, (area, records) in table_areas().items():
        if table == "audit_log":
            continue
        reads = actor.may("read", area) or bool(records and actor.may("read", "team"))
        writes = actor.may("write", area) or bool(records and actor.may("write", "team"))
        privileges = (["SELECT"] if reads or writes else []) + (list(WRITES) if writes else [])
        if not privileges:
            continue
        hidden = policies.hidden_from(actor, table)
        columns = None
        if hidden:
            columns = tuple(c.name for c in Base.metadata.tables[table].columns if c.name not in hidden)
        plan[table] = {p: (None if p == "DELETE" else columns) for p in privileges}
    plan["audit_log"] = {"INSERT": None, "SELECT": None if actor.may("read", "audit") else CHAIN_COLUMNS}
    return plan


def _execute(session: Session, statement: sql.Composable) -> None:
    """Run quoted DDL in the session's transaction (psycopg's own cursor: it quotes)."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        cursor.execute(statement)


def _schema(session: Session) -> str:
    return session.connection().execute(text("SELECT current_schema()")).scalar_one()


def _sequences(session: Session, tables: Iterable[str]) -> list[str]:
    """The id sequences owned by `tables` (in the current schema)."""
    found = session.connection().execute(text("""
        SELECT s.relname FROM pg_class s
        JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE s.relkind = 'S' AND t.relname = ANY(:tables) AND t.relnamespace = CAST(current_schema() AS regnamespace)
    """), {"tables": list(tables)}).scalars().all()
    return sorted(found)


def apply_grants(session: Session, login: str, role_names: Iterable[str]) -> Plan:
    """Replace whatever `login`'s database role was granted on this installation's tables by
    what its Backoffice roles call for (`grant_plan`); returns the plan applied."""
    plan = grant_plan(role_names)
    role, schema = sql.Identifier(login), sql.Identifier(_schema(session))
    existing = set(session.connection().execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
    try:
        _execute(session, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
        _execute(session, sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema, role))
        _execute(session, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        for table, privileges in plan.items():
            if table not in existing:
                continue
            for privilege, columns in privileges.items():
                what = sql.SQL(privilege)   # one of the fixed words above, never input
                if columns is not None:
                    what = sql.SQL("{} ({})").format(what, sql.SQL(", ").join(map(sql.Identifier, columns)))
                _execute(session, sql.SQL("GRANT {} ON TABLE {} TO {}").format(what, sql.Identifier(table), role))
        inserting = [t for t, p in plan.items() if "INSERT" in p and t in existing]
        for sequence in _sequences(session, inserting):
            _execute(session, sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.Identifier(sequence), role))
    except errors.InsufficientPrivilege as exc:
        raise _not_owner(exc) from None
    return plan


def revoke_all(session: Session, login: str) -> Plan:
    """Take every grant on this installation's tables from `login` (a deactivated user)."""
    role, schema = sql.Identifier(login), sql.Identifier(_schema(session))
    try:
        for kind in ("TABLES", "SEQUENCES"):
            _execute(session, sql.SQL("REVOKE ALL ON ALL {} IN SCHEMA {} FROM {}").format(sql.SQL(kind), schema, role))
    except errors.InsufficientPrivilege as exc:
        raise _not_owner(exc) from None
    return {}


def provision_login(session: Session, login: str, role_names: list[str], password: str | None) -> Plan:
    """Create (or keep) the PostgreSQL login role `login`, set its password if one is given,
    and grant what its Backoffice roles call for. A role that is a superuser or owns the
    tables is refused: a person's login must be a role of their own."""
    check_role_names(role_names)
    found = session.connection().execute(text(
        "SELECT rolsuper FROM pg_roles WHERE rolname = :login"), {"login": login}).first()
    if found is not None and (found.rolsuper or _owns_tables(session, login)):
        raise BackofficeError(f"the database role {login!r} is a superuser or owns Backoffice's tables; a person's "
                              "login must be a role of their own, with grants only")
    role = sql.Identifier(login)
    try:
        if found is None:
            statement = sql.SQL("CREATE ROLE {} LOGIN").format(role)
            _execute(session, statement + sql.SQL(" PASSWORD {}").format(sql.Literal(password))
                     if password else statement)
        elif password:
            _execute(session, sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
    except errors.InsufficientPrivilege as exc:
        raise _not_owner(exc) from None
    return apply_grants(session, login, role_names)


def _owns_tables(session: Session, login: str) -> bool:
    return bool(session.connection().execute(text(
        "SELECT pg_has_role(:login, tableowner, 'MEMBER') FROM pg_tables "
        "WHERE tablename = 'audit_log' AND schemaname = current_schema()"), {"login": login}).scalar())


def wants_login_role(session: Session, asked: bool | None) -> bool:
    """Whether `users add` makes a database role: as asked; by default on PostgreSQL when
    connected as the owner role (a superuser session, such as the test suite's, adds only
    the Backoffice user unless asked). On SQLite there are no logins to make."""
    login = database_login(session)
    if login is None:
        if asked:
            raise BackofficeError("--database-role: a SQLite database has no logins; its file's permissions "
                                  "decide who may use it")
        return False
    return asked if asked is not None else _owns_tables(session, login.login) and not _is_superuser(session)


def _is_superuser(session: Session) -> bool:
    return bool(session.connection().execute(text(
        "SELECT rolsuper FROM pg_roles WHERE rolname = session_user")).scalar())


def _not_owner(exc: Exception) -> PermissionDenied:
    reason = (str(exc).strip().splitlines() or [""])[0]
    return PermissionDenied(f"the database refused to create the login or grant on the tables ({reason}): connect as "
                            "the owner role (it owns the tables and has CREATEROLE) to manage people's logins",
                            field="user")


def describe(plan: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan as rows for a listing: table, privilege, columns (None: all)."""
    return [{"table": t, "privilege": p, "columns": list(c) if c is not None else None}
            for t, privileges in sorted(plan.items()) for p, c in privileges.items()]
