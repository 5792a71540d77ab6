"""Mail runs and their messages: what makes a merge idempotent and resumable.

A run stores its template, transport and selection, and one message row per recipient
(keyed by run and contact). The merge context (a customer's overdue invoices) is worked out
again when the message is sent, so a resumed run does not remind a customer of an invoice
paid in the meantime; one no longer selected at all is `dropped`, with the reason. Before a message is handed to
a transport its row is set to `sending` with its Message-ID and committed; once the
transport took it, `sent`. A resumed run therefore skips what was sent, and knows which
message an interrupted send was (and its Message-ID, so the outbox and Exchange can tell
whether they already hold it).

A failed message records the kind of its reason (`failure`), which decides whether a resumed
run tries it again:

    refused         the recipient's server refused it for good (an unknown address): never
    data            the recipient's data cannot go into the message (a name holding a line
                    break): only once the contact was corrected since
    configuration   a setting, a login or a permission (`mail.sender` empty): always
    transient       a server down or busy, for now: always
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (messages go to contacts)
from engine.db.base import Base, Record, UTCDateTime

RUN_STATUSES = ("running", "finished")
MESSAGE_STATES = ("pending", "sending", "sent", "failed", "printed", "dropped")
CHANNELS = ("email", "letter")
FAILURES = ("refused", "data", "configuration", "transient")
PERMANENT = ("refused", "data")      # not tried again by itself (data: once the contact changed)


class MailRun(Record, Base):
    __tablename__ = "mail_runs"
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATUSES}", name="status"),)

    template: Mapped[str] = mapped_column(String(100), nullable=False)
    selection: Mapped[str] = mapped_column(String(200), nullable=False)     # as typed: "overdue --days 30"
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    transport: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="running")
    started_by: Mapped[str] = mapped_column(String(64), nullable=False)
    skipped: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)   # [{contact_id, name, reason}]
    printed_file: Mapped[str | None] = mapped_column(String(400))                     # the letters to print
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailMessage(Record, Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("run_id", "contact_id"),
        CheckConstraint(f"state IN {MESSAGE_STATES}", name="state"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint(f"failure IN {FAILURES}", name="failure"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("mail_runs.id", ondelete="RESTRICT"), nullable=False, index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    address: Mapped[str | None] = mapped_column(String(254))      # the e-mail address as selected
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False, default="pending")
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    permanent: Mapped[bool] = mapped_column(nullable=False, default=False)   # a failure retrying will not mend
    failure: Mapped[str | None] = mapped_column(String(13))       # the kind of the last failure (FAILURES)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
