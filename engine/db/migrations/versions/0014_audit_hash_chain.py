"""audit hash chain: each audit row carries the hash of the one before it

Existing rows are hashed in id order, so `backoffice audit verify` checks the whole log.
The append-only triggers are lifted for the time of the migration (it is the one writer
allowed to fill the new columns) and put back before it ends, in the same transaction.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base
from engine.db.append_only import protect_audit_log, unprotect_audit_log
from engine.db.audit_chain import GENESIS, row_hash, rows_in_order

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()), sa.column("at", engine.db.base.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String()), sa.column("source", sa.String()), sa.column("table_name", sa.String()),
    sa.column("record_id", sa.Integer()), sa.column("action", sa.String()), sa.column("changes", sa.JSON()),
    sa.column("workbook_id", sa.String()), sa.column("sheet", sa.String()), sa.column("row_number", sa.Integer()),
    sa.column("prev_hash", sa.String()), sa.column("row_hash", sa.String()),
)


def upgrade() -> None:
    unprotect_audit_log()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    update = AUDIT.update().where(AUDIT.c.id == sa.bindparam("rid")).values(
        prev_hash=sa.bindparam("p"), row_hash=sa.bindparam("h"))
    previous, pending = GENESIS, []
    for row in rows_in_order(connection, AUDIT):
        digest = row_hash(previous, row)
        pending.append({"rid": row["id"], "p": previous, "h": digest})
        previous = digest
        if len(pending) >= 5000:
            connection.execute(update, pending)
            pending = []
    if pending:
        connection.execute(update, pending)
    protect_audit_log()


def downgrade() -> None:
    unprotect_audit_log()
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
    protect_audit_log()
