"""workbook receipts: what a sync created for each new row (engine.sheets.receipts)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workbook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workbook_id', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('sheet', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workbook_receipts'))
    )
    with op.batch_alter_table('workbook_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workbook_receipts_workbook_id'), ['workbook_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workbook_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workbook_receipts_workbook_id'))
    op.drop_table('workbook_receipts')
