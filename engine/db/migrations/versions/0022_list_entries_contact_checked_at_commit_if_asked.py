"""a contact's e-mail addresses and phone numbers: the check of their contact may be deferred

The foreign keys from contact_emails and contact_phones to contacts become DEFERRABLE
INITIALLY IMMEDIATE: checked at once, as before, unless a transaction asks otherwise. A sync
of new people asks for it on PostgreSQL (`engine.contacts.channels.add_primaries`): their
primary entries name contacts inserted a moment before in the same transaction, and checking
each at the end of its COPY kept the client waiting (a million people's entries: about 7 s of
a 64 s sync); checked at commit, the server does it while the client writes the workbook.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_LISTS = (("contact_emails", "fk_contact_emails_contact_id_contacts"),
          ("contact_phones", "fk_contact_phones_contact_id_contacts"))


def _deferrable(deferrable: bool) -> None:
    for table, name in _LISTS:
        if op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(name, table, type_="foreignkey")
            op.create_foreign_key(name, table, "contacts", ["contact_id"], ["id"], ondelete="CASCADE",
                                  deferrable=deferrable or None, initially="IMMEDIATE" if deferrable else None)
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:   # SQLite: the table is made anew
            batch_op.drop_constraint(name, type_="foreignkey")
            batch_op.create_foreign_key(name, "contacts", ["contact_id"], ["id"], ondelete="CASCADE",
                                        deferrable=deferrable or None, initially="IMMEDIATE" if deferrable else None)


def upgrade() -> None:
    _deferrable(True)


def downgrade() -> None:
    _deferrable(False)
