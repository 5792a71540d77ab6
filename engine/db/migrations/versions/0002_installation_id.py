"""installation id: every workbook carries it, so foreign workbooks are refused

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import uuid

import sqlalchemy as sa
from alembic import op

import engine.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", engine.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
        sa.UniqueConstraint("installation_id", name=op.f("uq_installation_installation_id")),
    )
    op.bulk_insert(table, [{"id": 1, "installation_id": str(uuid.uuid4()), "created_at": engine.db.base.utcnow()}])


def downgrade() -> None:
    op.drop_table("installation")
