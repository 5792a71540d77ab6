"""audit rows in one's own name: on PostgreSQL a person's login may add audit rows only as itself

A person's login may INSERT into the audit log (every change they make writes its rows), so
with a plain database client they could add a row naming someone else, correctly chained.
This trigger refuses any audit row whose actor is not the login adding it, unless the login
is the tables' owner role (or a member of it) or a superuser: those act for others by design
(administration, the HTTP server, which takes each request's identity from its token).
SQLite has no logins: its file's permissions guard it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION audit_log_own_name() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE owner name;
        BEGIN
            SELECT tableowner INTO owner FROM pg_tables
             WHERE tablename = TG_TABLE_NAME AND schemaname = TG_TABLE_SCHEMA;
            IF NEW.actor IS DISTINCT FROM session_user::text
               AND NOT pg_has_role(session_user, owner, 'MEMBER') THEN
                RAISE EXCEPTION 'audit rows are written in one''s own name: % may not add a row for %',
                    session_user, NEW.actor USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("""CREATE TRIGGER audit_log_own_name BEFORE INSERT ON audit_log
                  FOR EACH ROW EXECUTE FUNCTION audit_log_own_name()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_log_own_name ON audit_log")
    op.execute("DROP FUNCTION audit_log_own_name()")
