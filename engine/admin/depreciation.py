"""Depreciation schedules, month by month: pure functions on Decimals, no database.

Conventions (the register, its value report and the postings to the books all use these):

- **Months.** An asset is depreciated from the month after the month it was bought (a
  laptop bought on 12 March is first depreciated in April) for `useful_life_months` months.
  The month it is disposed of is not depreciated: disposal stops the schedule at the month
  before it. Each month's depreciation is counted (and posted) at the month's last day.
- **Straight line.** (cost - residual value) / useful life in months, rounded to cents; the
  last month of the life takes what the rounding left, so the book value ends exactly at the
  residual value. 1,200.00 over 36 months: 35 months of 33.33 and a last one of 33.45.
- **Declining balance.** The common practice (as in most fixed-asset registers and the tax
  rules that use it): the yearly rate on the book value at the start of each year of the
  asset's life (its first year starts with its first depreciated month), that year's amount
  spread evenly over its twelve months (rounded to cents, the year's last month taking the
  rounding). The book value never goes below the residual value (a year that would cross it
  takes only what is left above it), and the last month of the life brings it down to the
  residual value. 10,000.00 at 25 % with residual 1,000.00 over 60 months: 2,500.00 in year
  one (208.33 a month, 208.37 in its twelfth), 1,875.00 in year two, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(month: date, n: int) -> date:
    """The first day of the month `n` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return date.fromordinal(add_months(month, 1).toordinal() - 1)


@dataclass(frozen=True)
class Month:
    """One month of a schedule: its depreciation, and the totals at the month's end."""

    month: date               # the first day of the month
    depreciation: Decimal
    accumulated: Decimal
    book_value: Decimal


def first_month(purchased_on: date) -> date:
    """The first month depreciated: the month after the purchase."""
    return add_months(month_of(purchased_on), 1)


def schedule(cost: Decimal, residual: Decimal, life_months: int, purchased_on: date,
             method: str = "straight_line", rate: Decimal | None = None,
             disposed_on: date | None = None) -> list[Month]:
    """Every month's depreciation of an asset (see the conventions above), stopping before
    the month of its disposal."""
    cost, residual = cents(Decimal(cost)), cents(Decimal(residual))
    if method == "declining_balance":
        amounts = _declining(cost, residual, life_months, Decimal(rate or 0))
    else:
        amounts = _straight_line(cost, residual, life_months)
    start = first_month(purchased_on)
    stop = month_of(disposed_on) if disposed_on is not None else None
    months, accumulated = [], ZERO
    for n, amount in enumerate(amounts):
        month = add_months(start, n)
        if stop is not None and month >= stop:
            break
        accumulated += amount
        months.append(Month(month, amount, accumulated, cost - accumulated))
    return months


def _straight_line(cost: Decimal, residual: Decimal, life: int) -> list[Decimal]:
    total = cost - residual
    monthly = cents(total / life)
    return [monthly] * (life - 1) + [total - monthly * (life - 1)]


def _declining(cost: Decimal, residual: Decimal, life: int, rate: Decimal) -> list[Decimal]:
    amounts: list[Decimal] = []
    book = cost
    for year_start in range(0, life, 12):
        months = min(12, life - year_start)
        year = min(cents(book * rate * months / 12), book - residual)
        monthly = cents(year / months)
        chunk = [monthly] * (months - 1) + [year - monthly * (months - 1)]
        amounts += chunk
        book -= year
    amounts[-1] += book - residual       # the life's last month: down to the residual value
    return amounts


def accumulated_through(months: list[Month], day: date) -> Decimal:
    """Depreciation counted by `day`: the months whose last day is on or before it."""
    return sum((m.depreciation for m in months if month_end(m.month) <= day), ZERO)
