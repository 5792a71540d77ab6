"""Database triggers that make a table append-only, for SQLite and PostgreSQL.

Used by migrations, for the audit log, the stock movement ledger and the journal. The contact
a posted line or movement names may be re-pointed when two contacts are merged
(`allow_repointing`); nothing else of it changes. With these in place an
UPDATE, DELETE (or, on PostgreSQL, TRUNCATE) of their rows fails inside the database,
whoever sends it: history is corrected by new rows, never rewritten.
"""

import sqlalchemy as sa
from alembic import op

AUDIT_MESSAGE = "audit_log is append-only: audit rows cannot be changed or deleted"


def _sqlite(table: str, message: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END""",
    ]


def _postgres(table: str, message: str) -> list[str]:
    return [
        f"""CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege'; END $$""",
        f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()""",
    ]


def make_append_only(table: str, message: str) -> None:
    """(Migration step.) `table` and `message` are fixed texts of the migration, never input."""
    dialect = op.get_bind().dialect.name
    for statement in _postgres(table, message) if dialect == "postgresql" else _sqlite(table, message):
        op.execute(statement)


def allow_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
        op.execute(f"DROP FUNCTION {table}_refuse_change()")
    else:
        op.execute(f"DROP TRIGGER {table}_no_update")
        op.execute(f"DROP TRIGGER {table}_no_delete")


# Besides the columns re-pointed, a re-pointed row's own bookkeeping changes with them.
BOOKKEEPING = ("version", "updated_at", "updated_by")


def allow_repointing(table: str, message: str, columns: tuple[str, ...]) -> None:
    """(Migration step.) Let `columns` of an append-only table, references to a contact, be
    re-pointed when two contacts are merged (engine.contacts.merge); an UPDATE of any other
    column, and any DELETE, is still refused. `table`, `message` and `columns` are fixed
    texts of the migration, never input."""
    connection = op.get_bind()
    allowed = set(columns) | set(BOOKKEEPING)
    others = ", ".join(c["name"] for c in sa.inspect(connection).get_columns(table) if c["name"] not in allowed)
    if connection.dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
        op.execute(f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""")
        op.execute(f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {others} ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""")
    else:
        op.execute(f"DROP TRIGGER {table}_no_update")
        op.execute(f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {others} ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END""")


def forbid_repointing(table: str, message: str) -> None:
    """(Migration step.) Undo `allow_repointing`: the table is wholly append-only again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_update ON {table}")
        op.execute(f"DROP TRIGGER {table}_no_delete ON {table}")
        op.execute(f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""")
    else:
        op.execute(f"DROP TRIGGER {table}_no_update")
        op.execute(f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END""")


def protect_audit_log() -> None:
    make_append_only("audit_log", AUDIT_MESSAGE)


def unprotect_audit_log() -> None:
    allow_changes("audit_log")
