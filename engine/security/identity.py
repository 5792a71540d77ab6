"""Who may claim to be whom: in direct mode on PostgreSQL the identity is the database login.

`--user` (or BACKOFFICE_USER) names the acting user, and on a SQLite file that is taken on
trust: the file is one person's (or one machine's), guarded by its permissions. On
PostgreSQL each person connects with their own login role, named exactly as their
Backoffice login (`backoffice users add ada ...` creates the role `ada`), and that login is
who they are: naming someone else is refused, naming nobody means themselves.

Two kinds of connection may still act for anyone with `--user`: the owner role (the role
that owns the tables, used for `db upgrade` and administration; the HTTP server connects as
it and takes each request's identity from its API token) and a superuser. They can change
anything anyway; the guarantee is for everyone else. `resolve_actor` asks here first, so
every door gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from engine.db.base import Base
from engine.errors import PermissionDenied

# Fixed text, no input. `tableowner` is the owner role of this installation's tables (the
# schema on the search path); membership in it counts as being it.
_WHO = text("""
    SELECT session_user AS login, r.rolsuper AS superuser,
           COALESCE((SELECT pg_has_role(session_user, t.tableowner, 'MEMBER') FROM pg_tables t
                     WHERE t.tablename = 'audit_log' AND t.schemaname = current_schema()), false) AS owner
    FROM pg_roles r WHERE r.rolname = session_user
""")


@dataclass(frozen=True)
class DatabaseLogin:
    login: str
    privileged: bool        # the owner role or a superuser: may act for anyone


def database_login(session: Session) -> DatabaseLogin | None:
    """The PostgreSQL login of `session`'s connection (None on SQLite: no logins there)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    row = connection.execute(_WHO).one()
    return DatabaseLogin(row.login, bool(row.superuser or row.owner))


def claimed_login(session: Session, claimed: str | None) -> str | None:
    """The login to act as: `claimed` on SQLite, or for the owner role and superusers; on
    PostgreSQL for anyone else their own database login, and a claim to be someone else is
    refused (field `user`)."""
    found = database_login(session)
    if found is None or found.privileged:
        return claimed
    if claimed and claimed != found.login:
        raise PermissionDenied(
            f"you are connected to the database as {found.login!r}, so you act as {found.login}: --user (or "
            f"BACKOFFICE_USER) {claimed!r} names someone else. Leave it out, or connect with {claimed}'s own "
            "database login.", field="user")
    return found.login


# -- loading records through a login that may not read every column --------------------------
#
# A person's database role may not SELECT the sensitive columns their Backoffice roles do not
# see (column privileges, `engine.security.db_roles`), but the modules load whole records and
# hand them to the policy gate, which drops those fields. So, on such a connection, every ORM
# load of a whole record defers the columns the login may not read and fills them with None:
# the database is never asked for them, and the gate leaves them out of whatever is shown, as
# before (the acting user is that login, whose roles do not see them).

# Fixed text, no input: the columns of this schema's tables the login may read only part of.
_UNREADABLE = text("""
    SELECT t.relname AS table_name, a.attname AS column_name FROM pg_class t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE t.relnamespace = CAST(current_schema() AS regnamespace) AND t.relkind = 'r'
      AND has_any_column_privilege(t.oid, 'SELECT') AND NOT has_column_privilege(t.oid, a.attnum, 'SELECT')
""")


def unreadable_columns(connection: Any) -> dict[str, set[str]]:
    """{table: columns} this connection's login may not SELECT ({} on SQLite, and for the
    owner role). Asked once per pooled connection: its login does not change."""
    if connection.dialect.name != "postgresql":
        return {}
    unreadable = connection.info.get("backoffice_unreadable")
    if unreadable is None:
        unreadable = {}
        for row in connection.execute(_UNREADABLE):
            unreadable.setdefault(row.table_name, set()).add(row.column_name)
        connection.info["backoffice_unreadable"] = unreadable
    return unreadable


def _restricted(session: Session) -> dict[Any, list[str]]:
    """{mapper: attributes} this connection's login may not read ({} for none); the mappers
    are looked at each time, as a command imports a module's models only when it needs them."""
    unreadable = unreadable_columns(session.connection())
    found = {}
    if unreadable:
        for mapper in Base.registry.mappers:
            hidden = unreadable.get(mapper.local_table.name) if mapper.local_table is not None else None
            attrs = [p.key for p in mapper.column_attrs if hidden and any(c.name in hidden for c in p.columns)]
            if attrs:
                found[mapper] = attrs
    session.info["restricted_columns"] = found
    return found


@event.listens_for(Session, "do_orm_execute")
def _defer_unreadable(state: ORMExecuteState) -> None:
    if not state.is_select:
        return
    restricted = _restricted(state.session)
    if not restricted:
        return
    # Whole records loaded (not single columns, which a query names on purpose).
    entities = {d["entity"] for d in state.statement.column_descriptions
                if d.get("entity") is not None and d.get("expr") is d["entity"]}
    options = [defer(getattr(mapper.class_, key)) for mapper, keys in restricted.items()
               if mapper.class_ in entities for key in keys]
    if options:
        state.statement = state.statement.options(*options)


@event.listens_for(Mapper, "load")
def _fill_unreadable(target: Any, context: Any) -> None:
    restricted = context.session.info.get("restricted_columns") if context.session is not None else None
    if not restricted:
        return
    state = inspect(target)
    for key in restricted.get(state.mapper, ()):
        if key not in state.dict:
            set_committed_value(target, key, None)
