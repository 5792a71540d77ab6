"""Leave as the database holds it: balances per year with carry-over, and the requests that
overlap given dates. Working days and the rules a request must pass on its own are pure
functions in `engine.staff.rules` (re-exported here: `leave.working_days`, `leave.shown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from engine.staff.models import Employee, LeaveRequest, LeaveType
from engine.staff.rules import HALF, shown, working_days  # noqa: F401  (pure: kept with the rules)

COUNTED = ("requested", "approved")   # a rejected request takes nothing


@dataclass(frozen=True)
class Balance:
    year: int
    allowance: Decimal
    carried_over: Decimal
    taken: Decimal       # approved
    requested: Decimal   # waiting for a decision

    @property
    def remaining(self) -> Decimal:
        """What can still be asked for: pending requests are counted as if approved."""
        return self.allowance + self.carried_over - self.taken - self.requested


def balance(session: Session, employee: Employee, kind: LeaveType, year: int) -> Balance:
    """The year's balance of one leave type. Unused days of each year carry over into the
    next, up to the type's `carry_over_days`, from the year the employee started on. One
    query: every year's days by status, worked through in order."""
    days: dict[tuple[int, str], Decimal] = {}
    for on_year, status, total in session.execute(
            select(extract("year", LeaveRequest.starts_on), LeaveRequest.status, func.sum(LeaveRequest.days))
            .where(LeaveRequest.employee_id == employee.id, LeaveRequest.leave_type_id == kind.id,
                   LeaveRequest.starts_on <= date(year, 12, 31), LeaveRequest.status.in_(COUNTED))
            .group_by(extract("year", LeaveRequest.starts_on), LeaveRequest.status)):
        days[(int(on_year), status)] = total or Decimal(0)
    carried = Decimal(0)
    for earlier in range(employee.start_date.year, year):
        unused = kind.yearly_allowance + carried - days.get((earlier, "approved"), Decimal(0))
        carried = min(max(unused, Decimal(0)), kind.carry_over_days)
    return Balance(year, kind.yearly_allowance, carried, days.get((year, "approved"), Decimal(0)),
                   days.get((year, "requested"), Decimal(0)))


def overlapping(session: Session, employee_id: int, starts_on: date, ends_on: date,
                leaving_out: int | None = None) -> list[LeaveRequest]:
    """The employee's requested or approved leave that shares a day with the dates."""
    query = select(LeaveRequest).where(
        LeaveRequest.employee_id == employee_id, LeaveRequest.status.in_(COUNTED),
        LeaveRequest.starts_on <= ends_on, LeaveRequest.ends_on >= starts_on)
    if leaving_out is not None:
        query = query.where(LeaveRequest.id != leaving_out)
    return list(session.scalars(query.order_by(LeaveRequest.starts_on)))
