"""a contact's e-mail addresses and phone numbers: no second index on contact_id

Each list had an index on contact_id beside its unique constraint on (contact_id, address)
and (contact_id, number), whose index starts with contact_id and serves every look-up by
contact the same way. The second index only cost writes and space: a sync of a million new
people inserts a million entries into each list, and the second index added 0.2-0.5 s to each
list's million inserts on SQLite (the rows of benchmarks/bench_scale.py's "written", twice
with and twice without).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_emails_contact_id"))
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_phones_contact_id"))


def downgrade() -> None:
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_phones_contact_id"), ["contact_id"], unique=False)
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_emails_contact_id"), ["contact_id"], unique=False)
