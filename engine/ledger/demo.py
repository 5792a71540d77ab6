"""Sample books for the demo: a year of a small trading business, so the trial balance, the
general ledger, profit and loss and the balance sheet have something real to show.

Every entry goes through `post_entry` (as the system), so the books are built exactly as a
person posting them would build them, and every invariant the services guard holds. The year
is planned first and posted in date order, so entry numbers follow the calendar. Customers
pay most sales within weeks, but some never pay: those sales are more than 60 days old at the
demo's "today", so the receivables hold overdue balances for the aging report to find.
Months more than three months old are closed, as an accountant keeping up would have done.
Dates end on a fixed day and the draws are seeded (`engine.demo.SEED`), so every run posts
the same books.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.ledger.chart import ROLES, install_chart
from engine.ledger.models import FiscalPeriod, JournalEntry
from engine.ledger.services import Line, close_period, open_year, post_entry
from engine.security.roles import SYSTEM

if TYPE_CHECKING:
    from engine.demo import DemoSummary

END = date(2026, 11, 27)            # the demo's "today" (the same day as the stock's)
START = END - timedelta(days=364)   # a year of books, END included
CLOSED_BEFORE = date(2026, 8, 27)   # three months before END: every month ending earlier is closed
VAT = Decimal("0.20")
CAPITAL = Decimal("150000.00")
RENT = Decimal("2400.00")
WAGES = Decimal("9000.00")
BANK_CHARGES = Decimal("18.50")
# Purchases on credit: (expense account, what, net range in cents).
PURCHASES = [("5100", "goods for resale", 800_000, 2_200_000), ("6400", "office supplies", 3_000, 40_000),
             ("6300", "electricity and water", 20_000, 90_000), ("6500", "travel", 8_000, 120_000)]
UNPAID = 0.12   # share of sales a customer never pays


@dataclass
class _Plan:
    """Entries to post, with the VAT of each quarter kept for its settlement."""

    entries: list[tuple[date, str, list[Line]]] = field(default_factory=list)
    vat: dict[tuple[int, int], list[Decimal]] = field(default_factory=dict)   # (year, quarter) -> [output, input]

    def add(self, on: date, memo: str, *lines: Line) -> None:
        if on <= END:
            self.entries.append((on, memo, list(lines)))

    def tax(self, on: date, output: Decimal = Decimal(0), paid: Decimal = Decimal(0)) -> None:
        totals = self.vat.setdefault((on.year, (on.month - 1) // 3), [Decimal(0), Decimal(0)])
        totals[0] += output
        totals[1] += paid


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-2)


def _month_starts() -> list[date]:
    first, months = date(START.year, START.month, 1), []
    while first <= END:
        months.append(first)
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return months


def _contacts(session: Session, tag: str) -> list[tuple[int, str]]:
    return list(session.execute(select(Contact.id, Contact.name).where(
        Contact.kind == "organisation", Contact.tags.like(f"%{tag}%")).order_by(Contact.id)).all())


def plan_year(rng: random.Random, customers: list[tuple[int, str]], suppliers: list[tuple[int, str]]) -> _Plan:
    """The year's entries, before any is posted (pure: contacts are passed in)."""
    bank, receivable, payable = ROLES["bank"], ROLES["receivables"], ROLES["payables"]
    plan = _Plan()
    plan.add(START, "share capital paid in", Line(bank, debit=CAPITAL), Line("3100", credit=CAPITAL))
    for first in _month_starts()[1:]:   # the first, partial month has only the capital and trade
        month_end = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        plan.add(first, f"rent {first:%B %Y}", Line("6200", debit=RENT), Line(bank, credit=RENT))
        plan.add(month_end, f"wages {first:%B %Y}", Line("6100", debit=WAGES), Line("2300", credit=WAGES))
        plan.add(month_end + timedelta(days=3), f"wages paid for {first:%B %Y}",
                 Line("2300", debit=WAGES), Line(bank, credit=WAGES))
        plan.add(month_end, f"bank charges {first:%B %Y}", Line("6900", debit=BANK_CHARGES),
                 Line(bank, credit=BANK_CHARGES))
    day, invoice, bill = START, 0, 0
    while day <= END:
        if day.weekday() < 5 and rng.random() < 0.45:
            invoice += 1
            who, name = rng.choice(customers)
            net = _cents(rng, 80_000, 600_000)
            tax = (net * VAT).quantize(Decimal("0.01"))
            plan.tax(day, output=tax)
            ref = f"sale S{invoice:04d} to {name}"
            plan.add(day, ref, Line(receivable, debit=net + tax, contact_id=who),
                     Line(ROLES["sales"], credit=net), Line(ROLES["output_tax"], credit=tax))
            if rng.random() >= UNPAID:
                paid = day + timedelta(days=rng.randint(7, 50))
                plan.add(paid, f"payment for {ref}", Line(bank, debit=net + tax),
                         Line(receivable, credit=net + tax, contact_id=who))
        if day.weekday() < 5 and rng.random() < 0.25:
            bill += 1
            who, name = rng.choice(suppliers)
            account, what, low, high = rng.choice(PURCHASES)
            net = _cents(rng, low, high)
            tax = (net * VAT).quantize(Decimal("0.01"))
            plan.tax(day, paid=tax)
            ref = f"purchase P{bill:04d} from {name}: {what}"
            plan.add(day, ref, Line(account, debit=net), Line(ROLES["input_tax"], debit=tax),
                     Line(payable, credit=net + tax, contact_id=who))
            plan.add(day + timedelta(days=rng.randint(20, 40)), f"payment for {ref}",
                     Line(payable, debit=net + tax, contact_id=who), Line(bank, credit=net + tax))
        day += timedelta(days=1)
    for (year, quarter), (output, paid) in sorted(plan.vat.items()):   # settled on the 20th after the quarter
        on = date(year + (quarter == 3), (quarter * 3 + 3) % 12 + 1, 20)
        due = output - paid
        plan.add(on, f"VAT settlement Q{quarter + 1} {year}", Line(ROLES["output_tax"], debit=output),
                 Line(ROLES["input_tax"], credit=paid),
                 Line(bank, credit=due) if due > 0 else Line(bank, debit=-due))
    plan.entries.sort(key=lambda entry: entry[0])   # stable: same-day entries keep their order
    return plan


def seed_ledger(session: Session, summary: DemoSummary) -> None:
    """Install the chart, open the years, post the year, close the older months."""
    from engine.demo import SEED  # here, not at the top: engine.demo imports this module

    install_chart(session, SYSTEM)
    for year in range(START.year, END.year + 1):
        open_year(session, SYSTEM, year)
    customers, suppliers = _contacts(session, "customer"), _contacts(session, "supplier")
    if not customers or not suppliers:
        return   # no contacts to trade with: the chart and periods alone
    for on, memo, lines in plan_year(random.Random(f"ledger-{SEED}"), customers, suppliers).entries:
        post_entry(session, SYSTEM, on, lines, memo=memo, source="demo")
    for name in session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.ends_on < CLOSED_BEFORE)
                                .order_by(FiscalPeriod.starts_on)).all():
        close_period(session, SYSTEM, name, ROLES["retained_earnings"])
    summary.created["journal entries"] = session.scalar(select(func.count(JournalEntry.id)))
