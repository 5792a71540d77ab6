"""crm and office administration: contacts' lists of e-mail addresses and phone numbers,
interactions and opportunities, tasks, the asset register with its assignments and the
depreciation posted

Each contact's e-mail address and phone number become the primary entries of its lists.
Costs and values are stored as whole numbers of 1/10,000 (see engine.db.exact).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import engine.db.base
from engine.db.append_only import allow_repointing, forbid_repointing

# (as migrations 0006 and 0004 worded them)
POSTED = "posted journal entries are append-only: post a reversing entry instead"
MOVEMENTS_MESSAGE = "stock movements are append-only: post a reversing movement instead"

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_emails',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('work', 'home', 'other')", name=op.f('ck_contact_emails_kind')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_emails_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_emails')),
    sa.UniqueConstraint('contact_id', 'address', name=op.f('uq_contact_emails_contact_id_address'))
    )
    with op.batch_alter_table('contact_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_emails_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_emails_contact_id'), ['contact_id'], unique=False)

    op.create_table('contact_phones',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('digits', sa.String(length=40), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('work', 'mobile', 'home', 'fax', 'other')", name=op.f('ck_contact_phones_kind')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_phones_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_phones')),
    sa.UniqueConstraint('contact_id', 'number', name=op.f('uq_contact_phones_contact_id_number'))
    )
    with op.batch_alter_table('contact_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_phones_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_phones_digits'), ['digits'], unique=False)

    op.create_table('interactions',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('mail_run_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('call', 'meeting', 'letter', 'email', 'note')", name=op.f('ck_interactions_kind')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_interactions_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['mail_run_id'], ['mail_runs.id'], name=op.f('fk_interactions_mail_run_id_mail_runs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner'], ['users.login'], name=op.f('fk_interactions_owner_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
    sa.UniqueConstraint('message_id', name=op.f('uq_interactions_message_id'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_follow_up_on'), ['follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_mail_run_id'), ['mail_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_occurred_on'), ['occurred_on'], unique=False)

    op.create_table('assets',
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('purchased_on', sa.Date(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=100), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('warranty_ends_on', sa.Date(), nullable=True),
    sa.Column('method', sa.String(length=17), nullable=False),
    sa.Column('useful_life_months', sa.Integer(), nullable=False),
    sa.Column('residual_value', sa.BigInteger(), nullable=False),
    sa.Column('declining_rate', sa.BigInteger(), nullable=True),
    sa.Column('disposed_on', sa.Date(), nullable=True),
    sa.Column('disposal_proceeds', sa.BigInteger(), nullable=True),
    sa.Column('disposal_reason', sa.String(length=200), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('disposal_entry_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("method IN ('straight_line', 'declining_balance')", name=op.f('ck_assets_method')),
    sa.CheckConstraint('cost >= 0', name=op.f('ck_assets_cost_not_negative')),
    sa.CheckConstraint('residual_value >= 0 AND residual_value <= cost', name=op.f('ck_assets_residual_within_cost')),
    sa.CheckConstraint('useful_life_months > 0', name=op.f('ck_assets_useful_life_positive')),
    sa.ForeignKeyConstraint(['disposal_entry_id'], ['journal_entries.id'], name=op.f('fk_assets_disposal_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_assets_employee_id_employees'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_assets_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['contacts.id'], name=op.f('fk_assets_supplier_id_contacts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('tag', name=op.f('uq_assets_tag'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('opportunities',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_on', sa.Date(), nullable=True),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('lost_reason', sa.String(length=400), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint('value >= 0', name=op.f('ck_opportunities_value_not_negative')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_opportunities_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_opportunities_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner'], ['users.login'], name=op.f('fk_opportunities_owner_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_opportunities_invoice_id'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunities_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_stage'), ['stage'], unique=False)

    op.create_table('asset_assignments',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_on', sa.Date(), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.String(length=400), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint('returned_on IS NULL OR returned_on >= assigned_on', name=op.f('ck_asset_assignments_returned_after')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_assignments_asset_id_assets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_asset_assignments_employee_id_employees'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_assignments'))
    )
    with op.batch_alter_table('asset_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_assignments_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_assignments_employee_id'), ['employee_id'], unique=False)

    op.create_table('depreciation_postings',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_depreciation_postings_asset_id_assets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_depreciation_postings_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_depreciation_postings')),
    sa.UniqueConstraint('asset_id', 'month', name=op.f('uq_depreciation_postings_asset_id_month'))
    )
    with op.batch_alter_table('depreciation_postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_depreciation_postings_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_depreciation_postings_month'), ['month'], unique=False)

    op.create_table('tasks',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=9), nullable=False),
    sa.Column('priority', sa.String(length=6), nullable=False),
    sa.Column('recurrence', sa.String(length=7), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('next_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('ncr_id', sa.Integer(), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high')", name=op.f('ck_tasks_priority')),
    sa.CheckConstraint("recurrence IN ('none', 'monthly', 'yearly')", name=op.f('ck_tasks_recurrence')),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_tasks_status')),
    sa.CheckConstraint('(CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN invoice_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN asset_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN ncr_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN employee_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) <= 1', name=op.f('ck_tasks_one_link')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_tasks_asset_id_assets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_tasks_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_tasks_employee_id_employees'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_tasks_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ncr_id'], ['nonconformances.id'], name=op.f('fk_tasks_ncr_id_nonconformances'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['next_id'], ['tasks.id'], name=op.f('fk_tasks_next_id_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_tasks_opportunity_id_opportunities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner'], ['users.login'], name=op.f('fk_tasks_owner_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('next_id', name=op.f('uq_tasks_next_id'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_ncr_id'), ['ncr_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_owner'), ['owner'], unique=False)
        batch_op.create_index('ix_tasks_status_due_on', ['status', 'due_on'], unique=False)

    _primary_entries_from_contacts()
    # Merging two contacts re-points the contact a posted line or movement names (nothing else of it).
    allow_repointing("journal_lines", POSTED, ("contact_id",))
    allow_repointing("stock_movements", MOVEMENTS_MESSAGE, ("supplier_id", "customer_id"))


def _primary_entries_from_contacts() -> None:
    """Each contact's e-mail address and phone number, as its primary entries."""
    connection = op.get_bind()
    contacts = sa.table("contacts", sa.column("id"), sa.column("email"), sa.column("phone"))
    common = {"is_primary": True, "version": 1, "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
              "updated_by": "system", "kind": "work"}
    emails, phones = [], []
    for contact_id, email, phone in connection.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.phone)):
        if email:
            emails.append({**common, "contact_id": contact_id, "address": email})
        if phone:
            phones.append({**common, "contact_id": contact_id, "number": phone, "digits": _digits(phone)})
    stamp = engine.db.base.UTCDateTime()

    def columns() -> list[sa.ColumnClause]:
        return [*map(sa.column, ("contact_id", "kind", "version", "updated_by")), sa.column("is_primary", sa.Boolean()),
                sa.column("created_at", stamp), sa.column("updated_at", stamp)]

    if emails:
        table = sa.table("contact_emails", *columns(), sa.column("address"))
        connection.execute(table.insert(), emails)
    if phones:
        table = sa.table("contact_phones", *columns(), sa.column("number"), sa.column("digits"))
        connection.execute(table.insert(), phones)


def _digits(number: str) -> str:
    """As engine.contacts.rules.phone_digits: digits only, a leading 00 (international) dropped."""
    digits = re.sub(r"\D", "", number)
    return digits[2:] if digits.startswith("00") else digits


def downgrade() -> None:
    forbid_repointing("stock_movements", MOVEMENTS_MESSAGE)
    forbid_repointing("journal_lines", POSTED)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_status_due_on')
        batch_op.drop_index(batch_op.f('ix_tasks_owner'))
        batch_op.drop_index(batch_op.f('ix_tasks_opportunity_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_ncr_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_employee_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_contact_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_asset_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('depreciation_postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_depreciation_postings_month'))
        batch_op.drop_index(batch_op.f('ix_depreciation_postings_asset_id'))

    op.drop_table('depreciation_postings')
    with op.batch_alter_table('asset_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_assignments_employee_id'))
        batch_op.drop_index(batch_op.f('ix_asset_assignments_asset_id'))

    op.drop_table('asset_assignments')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunities_stage'))
        batch_op.drop_index(batch_op.f('ix_opportunities_contact_id'))

    op.drop_table('opportunities')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_assets_employee_id'))
        batch_op.drop_index(batch_op.f('ix_assets_category'))

    op.drop_table('assets')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_interactions_mail_run_id'))
        batch_op.drop_index(batch_op.f('ix_interactions_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_interactions_contact_id'))

    op.drop_table('interactions')
    with op.batch_alter_table('contact_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_phones_digits'))
        batch_op.drop_index(batch_op.f('ix_contact_phones_contact_id'))

    op.drop_table('contact_phones')
    with op.batch_alter_table('contact_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_emails_contact_id'))
        batch_op.drop_index(batch_op.f('ix_contact_emails_address'))

    op.drop_table('contact_emails')
