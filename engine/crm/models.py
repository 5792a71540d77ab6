"""CRM tables: what passed between us and a contact (interactions), and the sales we hope
to make (opportunities).

An interaction is typed by a person (a call, a meeting, a note) or logged by the mail merge
for each letter and e-mail it sent, with the run and the Message-ID, so a contact's history
shows what they were sent without anyone copying it in. An opportunity's stage is one of the
configured stages (`crm.stages`), each with the probability its value is weighted by in the
pipeline; a won opportunity may become a draft invoice (`invoice_id`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (both refer to contacts)
import engine.ledger.models  # noqa: F401  (a won opportunity's draft invoice)
import engine.mailmerge.models  # noqa: F401  (the mail run that sent a logged letter)
import engine.security.models  # noqa: F401  (owners are users)
from engine.db.base import Base, Record
from engine.db.exact import Exact

INTERACTION_KINDS = ("call", "meeting", "letter", "email", "note")
AMOUNT = 4   # decimal places kept of an opportunity's value


class Interaction(Record, Base):
    __tablename__ = "interactions"
    __table_args__ = (CheckConstraint(f"kind IN {INTERACTION_KINDS}", name="kind"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Set on the interactions the mail merge logs: its run, and the message's Message-ID.
    mail_run_id: Mapped[int | None] = mapped_column(ForeignKey("mail_runs.id", ondelete="RESTRICT"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True)


class Opportunity(Record, Base):
    __tablename__ = "opportunities"
    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    stage: Mapped[str] = mapped_column(String(32), nullable=False, index=True)   # one of crm.stages
    value: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"), nullable=False)
    lost_reason: Mapped[str | None] = mapped_column(String(400))
    closed_on: Mapped[date | None] = mapped_column(Date)          # when it was won or lost
    # The draft invoice a won opportunity became (the ledger's, through a bridge).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True)
