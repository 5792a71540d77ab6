"""Staff tables: departments, employees, contracts, leave types and leave requests.

An employee is a person in contacts (name and address typed once) with an employment record
beside it. Fields such as salary, bank account, national id, date of birth and a leave
request's medical reason are sensitive: which role may see each is declared once, in
`config/policies.toml`, and every door (workbook, command line, reports) asks the policy
(`engine.security.gate`), never the column list of its own.

A purged leaver keeps a row here without anything that identifies them (see
`services.purge_employee`), so headcount and cost per department and month still add up;
what their contracts cost is kept in `StaffCost` before the salaries are removed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (employees are people in contacts)
from engine.db.base import Base, Record, UTCDateTime
from engine.db.exact import Exact

CONTRACT_KINDS = ("permanent", "fixed-term", "casual")
LEAVE_STATUSES = ("requested", "approved", "rejected")
MONEY = 4


class Department(Record, Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT",
                                                              use_alter=True), index=True)


class Employee(Record, Base):
    """Employment record of a person. `login` links it to a user of Backoffice, so a manager
    signing in sees their own team."""

    __tablename__ = "employees"
    __table_args__ = (CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),)

    employee_number: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), unique=True)
    login: Mapped[str | None] = mapped_column(String(64), unique=True)
    job_title: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), nullable=False,
                                               index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), index=True)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    work_email: Mapped[str | None] = mapped_column(String(254))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    national_id: Mapped[str | None] = mapped_column(String(32))
    bank_account: Mapped[str | None] = mapped_column(String(34))        # an IBAN is at most 34 characters
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contract(Record, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(f"kind IN {CONTRACT_KINDS}", name="kind"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("weekly_hours > 0", name="hours"),   # (stored scaled: the upper bound is the service's)
    )

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), nullable=False,
                                             index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    weekly_hours: Mapped[Decimal] = mapped_column(Exact(2), nullable=False)
    salary: Mapped[Decimal | None] = mapped_column(Exact(MONEY))      # a year's gross pay; None once purged
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)


class LeaveType(Record, Base):
    """Annual, sick, unpaid...: how many days a year, whether requests are held to a balance,
    and how many unused days carry over into the next year."""

    __tablename__ = "leave_types"

    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    yearly_allowance: Mapped[Decimal] = mapped_column(Exact(1), nullable=False, default=Decimal(0))
    needs_balance: Mapped[bool] = mapped_column(nullable=False, default=False)
    carry_over_days: Mapped[Decimal] = mapped_column(Exact(1), nullable=False, default=Decimal(0))


class LeaveRequest(Record, Base):
    """Days off asked for. `days` counts working days (Monday to Friday), a half day at either
    end counting a half. A medical reason is special-category data: only roles whose policy
    allows it see it, and every read of it is audited."""

    __tablename__ = "leave_requests"
    __table_args__ = (
        CheckConstraint(f"status IN {LEAVE_STATUSES}", name="status"),
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
    )

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), nullable=False,
                                             index=True)
    leave_type_id: Mapped[int] = mapped_column(ForeignKey("leave_types.id", ondelete="RESTRICT"), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    half_day_start: Mapped[bool] = mapped_column(nullable=False, default=False)
    half_day_end: Mapped[bool] = mapped_column(nullable=False, default=False)
    days: Mapped[Decimal] = mapped_column(Exact(1), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="requested")
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(400))
    medical_reason: Mapped[str | None] = mapped_column(Text)


class StaffCost(Record, Base):
    """What a purged leaver's contracts cost, per department and month: kept so the totals of
    past months do not change when a leaver's salary is removed."""

    __tablename__ = "staff_costs"
    __table_args__ = (UniqueConstraint("department_id", "month", "employee_id"),)

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), nullable=False)
    month: Mapped[date] = mapped_column(Date, nullable=False)          # the first of the month
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="RESTRICT"), nullable=False)
    cost: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False)
