"""contacts: index organisation_id only where a contact belongs to an organisation

The index on contacts.organisation_id held an entry for every contact, most of them for no
organisation at all (organisations themselves, and people on their own). It is only looked
up by an organisation's id (its members; whether it may be deleted, which both databases
check through it), and such a look-up never wants the empty ones, so both databases use
the partial index for it. A sync of a million new people wrote a million entries for
nothing: about a tenth of the writes' time on SQLite (benchmarks/bench_scale.py's "written"
rows, 300,000 people: 7.5-7.9 s with the full index, 6.9-7.1 s with the partial one).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_BELONGS = "organisation_id IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_contacts_organisation_id", table_name="contacts")
    op.create_index("ix_contacts_organisation_id", "contacts", ["organisation_id"], unique=False,
                    sqlite_where=sa.text(_BELONGS), postgresql_where=sa.text(_BELONGS))


def downgrade() -> None:
    op.drop_index("ix_contacts_organisation_id", table_name="contacts")
    op.create_index("ix_contacts_organisation_id", "contacts", ["organisation_id"], unique=False)
