"""workbook key: the installation's secret that signs what each workbook carries about itself

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("installation") as batch:
        batch.add_column(sa.Column("workbook_key", sa.String(length=64), nullable=True))
    installation = sa.table("installation", sa.column("id", sa.Integer()), sa.column("workbook_key", sa.String()))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(installation.c.id)).all():
        connection.execute(installation.update().where(installation.c.id == row_id)
                           .values(workbook_key=secrets.token_hex(32)))
    with op.batch_alter_table("installation") as batch:
        batch.alter_column("workbook_key", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("installation") as batch:
        batch.drop_column("workbook_key")
