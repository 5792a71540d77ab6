"""audit rows in one's own name, checked once per statement: a sync's million rows, one check

Revision 0015's trigger ran for each audit row, reading the catalogue each time: 1.5 s for
100,000 rows, most of the cost of the audit rows a large sync writes by COPY on PostgreSQL.
The same rule is now checked once for each INSERT or COPY, over the rows it added (a
transition table): any row whose actor is not the login adding it, unless the login is the
tables' owner role (or a member of it) or a superuser, refuses the whole statement, as before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_log_own_name ON audit_log")
    op.execute("DROP FUNCTION audit_log_own_name()")
    op.execute("""
        CREATE FUNCTION audit_log_own_name() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE owner name; other text;
        BEGIN
            SELECT actor INTO other FROM added WHERE actor IS DISTINCT FROM session_user::text LIMIT 1;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            SELECT tableowner INTO owner FROM pg_tables
             WHERE tablename = TG_TABLE_NAME AND schemaname = TG_TABLE_SCHEMA;
            IF NOT pg_has_role(session_user, owner, 'MEMBER') THEN
                RAISE EXCEPTION 'audit rows are written in one''s own name: % may not add a row for %',
                    session_user, other USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""CREATE TRIGGER audit_log_own_name AFTER INSERT ON audit_log
                  REFERENCING NEW TABLE AS added
                  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_own_name()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_log_own_name ON audit_log")
    op.execute("DROP FUNCTION audit_log_own_name()")
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
