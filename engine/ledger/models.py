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
import engine.inventory.models  # noqa: F401  (invoice lines may name an item)
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


INVOICE_KINDS = ("sales", "purchase")      # a sales invoice we send, a purchase bill we receive
INVOICE_STATUSES = ("draft", "posted")
PAYMENT_KINDS = ("received", "paid")        # from a customer, to a supplier


class Invoice(Record, Base):
    """A sales invoice or a purchase bill. Posting it numbers it and posts its journal entry;
    a posted invoice is never changed (a credit note corrects it)."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(f"kind IN {INVOICE_KINDS}", name="kind"),
        CheckConstraint(f"status IN {INVOICE_STATUSES}", name="status"),
        CheckConstraint("due_on >= issued_on", name="due_after_issue"),
    )

    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)        # given when posted
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), nullable=False, index=True)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="draft")
    reference: Mapped[str | None] = mapped_column(String(64))                  # e.g. the supplier's bill number
    net: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    gross: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False, default=Decimal(0))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True)


class InvoiceLine(Record, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "line_number"),
        CheckConstraint("quantity > 0 AND unit_price >= 0 AND tax_rate >= 0", name="not_negative"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False)
    line_number: Mapped[int] = mapped_column(nullable=False)
    description: Mapped[str] = mapped_column(String(400), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Exact(4), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Exact(4), nullable=False, default=Decimal(0))   # 0.2000 = 20%
    account_code: Mapped[str] = mapped_column(String(16), nullable=False)    # income (sales) or expense/stock
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"))


class Payment(Record, Base):
    """Money received from a customer or paid to a supplier, posted when recorded."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint(f"kind IN {PAYMENT_KINDS}", name="kind"),
                      CheckConstraint("amount > 0", name="positive"))

    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), nullable=False, index=True)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False)
    bank_account: Mapped[str] = mapped_column(String(16), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(64))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"), nullable=False,
                                          unique=True)


class Allocation(Record, Base):
    """How much of a payment settles which invoice (a payment may settle several)."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Exact(AMOUNT), nullable=False)
