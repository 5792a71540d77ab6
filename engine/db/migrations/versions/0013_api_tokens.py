"""api tokens and kept replies: the server's identities and its requests done once

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("expires_at", engine.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", engine.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", engine.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_tokens_digest")),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.create_index(batch.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
    op.create_table(
        "idempotent_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_replies")),
        sa.UniqueConstraint("login", "key", name=op.f("uq_idempotent_replies_login_key")),
    )


def downgrade() -> None:
    op.drop_table("idempotent_replies")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_user_id"))
    op.drop_table("api_tokens")
