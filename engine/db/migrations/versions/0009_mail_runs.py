"""mail runs and their messages

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_runs',
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('selection', sa.String(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('transport', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('printed_file', sa.String(length=400), nullable=True),
    sa.Column('finished_at', engine.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("status IN ('running', 'finished')", name=op.f('ck_mail_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_runs'))
    )
    op.create_table('mail_messages',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('permanent', sa.Boolean(), nullable=False),
    sa.Column('sent_at', engine.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'letter')", name=op.f('ck_mail_messages_channel')),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'printed', 'dropped')", name=op.f('ck_mail_messages_state')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_mail_messages_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['run_id'], ['mail_runs.id'], name=op.f('fk_mail_messages_run_id_mail_runs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_messages_message_id')),
    sa.UniqueConstraint('run_id', 'contact_id', name=op.f('uq_mail_messages_run_id_contact_id'))
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_messages_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_messages_run_id'))

    op.drop_table('mail_messages')
    op.drop_table('mail_runs')
