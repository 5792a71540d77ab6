"""contacts: no index on email, the primary address, which contact_emails indexes already

A contact's primary e-mail is kept twice, in contacts.email and as its primary entry in
contact_emails, and both columns were indexed. The one look-up by address (the duplicate
warning when a contact is added) goes through contact_emails.address now, so the index on
contacts.email only cost writes: e-mail addresses come in no particular order, so each of a
million new people's entries went to a page of its own, and it took the page cache from the
indexes that are used. A sync of 1,048,000 new people on SQLite took 61.2 s without it,
64.6 s with it (benchmarks/bench_scale.py's sync step, one run each, same machine).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contacts_email", table_name="contacts")


def downgrade() -> None:
    op.create_index("ix_contacts_email", "contacts", ["email"], unique=False)
