"""mail messages record the kind of their failure (refused, data, configuration, transient),
which decides whether a resumed run tries them again; failures recorded before are given
theirs (an empty mail.sender was recorded as permanent: it is configuration)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SENDER_MISSING = "set mail.sender %"


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure", sa.String(length=13), nullable=True))
        batch_op.create_check_constraint(op.f("ck_mail_messages_failure"),
                                         "failure IN ('refused', 'data', 'configuration', 'transient')")
    messages = sa.table("mail_messages", sa.column("state", sa.String), sa.column("error", sa.Text),
                        sa.column("permanent", sa.Boolean), sa.column("failure", sa.String))
    failed = messages.c.state == "failed"
    op.execute(messages.update().where(failed, messages.c.error.like(SENDER_MISSING))
               .values(failure="configuration", permanent=False))
    op.execute(messages.update().where(failed, messages.c.failure.is_(None), messages.c.permanent.is_(True))
               .values(failure="refused"))
    op.execute(messages.update().where(failed, messages.c.failure.is_(None)).values(failure="transient"))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_mail_messages_failure"), type_="check")
        batch_op.drop_column("failure")
