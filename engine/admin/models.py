"""Office administration tables: tasks and reminders, and the register of the office's
assets (who has each, and what it is worth as it depreciates).

A task may be linked to one record of another module (a contact, an invoice, an asset, a
nonconformance, an employee or an opportunity): each link is a real foreign key, so the
database refuses a link to a record that does not exist, and merging or erasing a contact
finds its tasks the way it finds everything else that refers to it.

An asset is assigned to at most one employee at a time: `assets.employee_id` is who has it
now, and `asset_assignments` the history (the open assignment, `returned_on` empty, is the
current one). `depreciation_postings` holds each month's depreciation of each asset once it
has been posted, so running the monthly posting twice posts nothing twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (suppliers and linked contacts)
import engine.crm.models  # noqa: F401  (tasks linked to opportunities)
import engine.ledger.models  # noqa: F401  (tasks linked to invoices; the entries depreciation posts)
import engine.quality.models  # noqa: F401  (tasks linked to nonconformances)
import engine.security.models  # noqa: F401  (owners are users)
import engine.staff.models  # noqa: F401  (assets are assigned to employees)
from engine.db.base import Base, Record
from engine.db.exact import Exact

TASK_STATUSES = ("open", "done", "cancelled")
TASK_PRIORITIES = ("low", "normal", "high")
RECURRENCES = ("none", "monthly", "yearly")
# What a task may be linked to: the name people use -> the task's column.
TASK_LINKS = {"contact": "contact_id", "invoice": "invoice_id", "asset": "asset_id", "ncr": "ncr_id",
              "employee": "employee_id", "opportunity": "opportunity_id"}
DEPRECIATION_METHODS = ("straight_line", "declining_balance")
MONEY = 4      # decimal places kept of costs and book values
RATE = 4       # decimal places of a declining-balance rate (0.2500 is 25 % a year)


class Task(Record, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"status IN {TASK_STATUSES}", name="status"),
        CheckConstraint(f"priority IN {TASK_PRIORITIES}", name="priority"),
        CheckConstraint(f"recurrence IN {RECURRENCES}", name="recurrence"),
        CheckConstraint(" + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in TASK_LINKS.values())
                        + " <= 1", name="one_link"),
        Index("ix_tasks_status_due_on", "status", "due_on"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    owner: Mapped[str] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(9), nullable=False, default="open")
    priority: Mapped[str] = mapped_column(String(6), nullable=False, default="normal")
    recurrence: Mapped[str] = mapped_column(String(7), nullable=False, default="none")
    notes: Mapped[str | None] = mapped_column(Text)
    done_on: Mapped[date | None] = mapped_column(Date)
    # The next task a recurring one made when it was done.
    next_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), unique=True)
    # The linked record: at most one of these.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), index=True)
    ncr_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id", ondelete="RESTRICT"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id", ondelete="RESTRICT"),
                                                       index=True)


class Asset(Record, Base):
    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint(f"method IN {DEPRECIATION_METHODS}", name="method"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        CheckConstraint("residual_value >= 0 AND residual_value <= cost", name="residual_within_cost"),
        CheckConstraint("useful_life_months > 0", name="useful_life_positive"),
    )

    tag: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    purchased_on: Mapped[date] = mapped_column(Date, nullable=False)
    cost: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    location: Mapped[str | None] = mapped_column(String(100))
    # Who has it now (the open row of asset_assignments), kept in step by the services.
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), index=True)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(17), nullable=False, default="straight_line")
    useful_life_months: Mapped[int] = mapped_column(nullable=False)
    residual_value: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False, default=Decimal(0))
    declining_rate: Mapped[Decimal | None] = mapped_column(Exact(RATE))   # a year's rate, declining balance only
    disposed_on: Mapped[date | None] = mapped_column(Date)
    disposal_proceeds: Mapped[Decimal | None] = mapped_column(Exact(MONEY))
    disposal_reason: Mapped[str | None] = mapped_column(String(200))
    # The journal entry that put the asset in the books, when depreciation is posted.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"))
    disposal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"))


class AssetAssignment(Record, Base):
    __tablename__ = "asset_assignments"
    __table_args__ = (CheckConstraint("returned_on IS NULL OR returned_on >= assigned_on", name="returned_after"),)

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), nullable=False, index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), nullable=False,
                                             index=True)
    assigned_on: Mapped[date] = mapped_column(Date, nullable=False)
    returned_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(400))


class DepreciationPosting(Record, Base):
    """One month's depreciation of one asset, once posted (to the books, when the bridge to
    the ledger is on: `entry_id`)."""

    __tablename__ = "depreciation_postings"
    __table_args__ = (UniqueConstraint("asset_id", "month"),)

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), nullable=False, index=True)
    month: Mapped[date] = mapped_column(Date, nullable=False, index=True)   # the first day of the month
    amount: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"))
