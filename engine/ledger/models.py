"""Ledger tables: the chart of accounts, fiscal periods, and journal entries with their lines.

Double entry: every entry's debits equal its credits, so the trial balance always sums to
zero. Posted entries are never edited or deleted (the database refuses it): a correction is
a reversing entry, which keeps the history readable by an auditor. Amounts are exact
decimals in the base currency (`engine.db.exact.Exact`, 4 places; reports round to cents).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (lines may name a contact)
from engine.db.base import Base, Record
from engine.db.exact import Exact

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
# Which side increases an account of each type (for balances shown as positive numbers).
DEBIT_NORMAL = ("asset", "expense")
PERIOD_STATUSES = ("open", "closed")
AMOUNT = 4  # decimal places kept


class Account(Record, Base):
    """An account of the chart. Only leaf accounts (no children) take postings."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(f"type IN {ACCOUNT_TYPES}", name="type"),)

    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(12), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)


class FiscalPeriod(Record, Base):
    """A month of the books; postings dated in a closed period are refused at every door."""

    __tablename__ = "fiscal_periods"
    __table_args__ = (
        CheckConstraint(f"status IN {PERIOD_STATUSES}", name="status"),
        CheckConstraint("starts_on <= ends_on", name="dates_in_order"),
    )

    name: Mapped[str] = mapped_column(String(7), nullable=False, unique=True)   # "2026-03"
    starts_on: Mapped[date] = mapped_column(Date, nullable=False, unique=True)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    closing_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"))


class JournalEntry(Record, Base):
    """A posted journal entry. Append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_entry_date", "entry_date"),)

    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    memo: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")   # manual, invoice, close...
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"),
                                                    unique=True)


class JournalLine(Record, Base):
    """One line of an entry: a debit or a credit (never both) to one account. Append-only,
    and audited line by line like every record."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0) AND debit + credit > 0",
                        name="one_side"),
        Index("ix_journal_lines_account_entry", "account_id", "entry_id"),
        UniqueConstraint("entry_id", "line_number"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"), nullable=False)
    line_number: Mapped[int] = mapped_column(nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    debit: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str | None] = mapped_column(String(400))


class LedgerCounter(Base):
    """The last number used in a series (JE-2026, INV-2026...), locked while a number is taken."""

    __tablename__ = "ledger_counters"

    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(nullable=False, default=0)
