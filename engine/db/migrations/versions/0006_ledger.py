"""ledger: chart of accounts, fiscal periods, journal entries and lines (append-only), and
the counters that number entries

Amounts are stored as whole numbers of 1/10,000 (see engine.db.exact).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import engine.db.base
from engine.db.append_only import allow_changes, make_append_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

POSTED = "posted journal entries are append-only: post a reversing entry instead"


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("type IN ('asset', 'liability', 'equity', 'income', 'expense')", name=op.f('ck_accounts_type')),
    sa.ForeignKeyConstraint(['parent_id'], ['accounts.id'], name=op.f('fk_accounts_parent_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_accounts_code'))
    )
    op.create_index(op.f('ix_accounts_parent_id'), 'accounts', ['parent_id'], unique=False)
    op.create_table('journal_entries',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('memo', sa.String(length=400), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['reverses_id'], ['journal_entries.id'], name=op.f('fk_journal_entries_reverses_id_journal_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('number', name=op.f('uq_journal_entries_number')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_journal_entries_reverses_id'))
    )
    op.create_index('ix_journal_entries_entry_date', 'journal_entries', ['entry_date'], unique=False)
    op.create_table('ledger_counters',
    sa.Column('series', sa.String(length=16), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', name=op.f('pk_ledger_counters'))
    )
    op.create_table('fiscal_periods',
    sa.Column('name', sa.String(length=7), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('closing_entry_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_fiscal_periods_status')),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_fiscal_periods_dates_in_order')),
    sa.ForeignKeyConstraint(['closing_entry_id'], ['journal_entries.id'], name=op.f('fk_fiscal_periods_closing_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_periods')),
    sa.UniqueConstraint('name', name=op.f('uq_fiscal_periods_name')),
    sa.UniqueConstraint('starts_on', name=op.f('uq_fiscal_periods_starts_on'))
    )
    op.create_table('journal_lines',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('debit', sa.BigInteger(), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0) AND debit + credit > 0', name=op.f('ck_journal_lines_one_side')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_journal_lines_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_journal_lines_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_journal_lines_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_lines')),
    sa.UniqueConstraint('entry_id', 'line_number', name=op.f('uq_journal_lines_entry_id_line_number'))
    )
    op.create_index('ix_journal_lines_account_entry', 'journal_lines', ['account_id', 'entry_id'], unique=False)
    op.create_index(op.f('ix_journal_lines_contact_id'), 'journal_lines', ['contact_id'], unique=False)
    make_append_only("journal_entries", POSTED)
    make_append_only("journal_lines", POSTED)


def downgrade() -> None:
    allow_changes("journal_lines")
    allow_changes("journal_entries")
    op.drop_index(op.f('ix_journal_lines_contact_id'), table_name='journal_lines')
    op.drop_index('ix_journal_lines_account_entry', table_name='journal_lines')
    op.drop_table('journal_lines')
    op.drop_table('fiscal_periods')
    op.drop_table('ledger_counters')
    op.drop_index('ix_journal_entries_entry_date', table_name='journal_entries')
    op.drop_table('journal_entries')
    op.drop_index(op.f('ix_accounts_parent_id'), table_name='accounts')
    op.drop_table('accounts')
