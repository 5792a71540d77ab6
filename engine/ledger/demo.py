"""Sample books for the demo: a year of a small trading business, so the trial balance, the
general ledger, profit and loss, the balance sheet and the aging report have something real
to show.

Sales are real sales invoices and purchases real supplier bills, each created and posted
through `engine.ledger.invoices` (as the system), and customers and suppliers pay them through
`record_payment`, so the books are built exactly as a person working in the back office would
build them, and every invariant the services guard holds: each invoice has its entry and its
number, each payment its allocations, and a customer's receivable is what their invoices still
have open. Rent, wages, bank charges, the share capital and the quarterly VAT settlement are
plain journal entries (`post_entry`), as an accountant posts them.

The year is planned first, without the database, and then posted in date order, so entry and
invoice numbers follow the calendar; a payment names the invoices it settles by their place in
the plan, since their ids exist only once they are posted earlier in the run. Customers pay most
invoices in full within weeks; some pay part, and the rest later (or not yet); some never pay.
Invoices fall due 30 days after issue, so the unpaid ones issued more than two months before the
demo's "today" are more than 30 days overdue: the aging report finds them, and the recent bills
not yet paid leave payables open too. Months more than three months old are closed, as an
accountant keeping up would have done. Dates end on a fixed day and the draws are seeded
(`engine.demo.SEED`), so every run posts the same books. The draws only choose: every amount is
a Decimal built from whole cents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.demo import SEED, DemoSummary
from engine.ledger.chart import ROLES, install_chart
from engine.ledger.invoices import (
    CENT,
    LineIn,
    create_invoice,
    line_amounts,
    post_invoice,
    record_payment,
)
from engine.ledger.models import FiscalPeriod, Invoice, JournalEntry, Payment
from engine.ledger.services import Line, close_period, open_year, post_entry
from engine.security.roles import SYSTEM

END = date(2026, 11, 27)            # the demo's "today" (the same day as the stock's)
START = END - timedelta(days=364)   # a year of books, END included
CLOSED_BEFORE = date(2026, 8, 27)   # three months before END: every month ending earlier is closed
VAT = Decimal("0.20")
DUE_DAYS = 30                       # invoices and bills fall due 30 days after issue
CAPITAL = Decimal("150000.00")
RENT = Decimal("2400.00")
WAGES = Decimal("9000.00")
BANK_CHARGES = Decimal("18.50")
# What the business sells (and buys in for resale); a sales line's unit price range, in cents.
GOODS = ("office chairs", "standing desks", "desk lamps", "filing cabinets", "shelving units",
         "whiteboards", "meeting tables", "delivery and installation")
SALE_PRICE = (5_000, 45_000)
# Purchases on credit: (expense account, what is bought, net range of a bill in cents).
PURCHASES = [("5100", GOODS, 800_000, 2_200_000),
             ("6400", ("printer paper", "toner", "stationery"), 3_000, 40_000),
             ("6300", ("electricity", "water"), 20_000, 90_000),
             ("6500", ("train fares", "hotel nights", "mileage"), 8_000, 120_000)]
UNPAID = 0.10      # share of sales a customer never pays
PART_PAID = 0.12   # share of sales paid in two parts, the rest one to three months after the first


@dataclass(frozen=True)
class Entry:
    """A plain journal entry: share capital, rent, wages, bank charges, a VAT settlement."""

    on: date
    memo: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class InvoiceToPost:
    """A sales invoice (kind "sales") or a supplier's bill ("purchase"), posted on its issue day."""

    on: date
    kind: str
    contact_id: int
    lines: tuple[LineIn, ...]

    @property
    def due_on(self) -> date:
        return self.on + timedelta(days=DUE_DAYS)

    @property
    def tax(self) -> Decimal:
        return sum((line_amounts(x.quantity, x.unit_price, x.tax_rate)[1] for x in self.lines), Decimal(0))

    @property
    def gross(self) -> Decimal:
        return sum((sum(line_amounts(x.quantity, x.unit_price, x.tax_rate)) for x in self.lines), Decimal(0))


@dataclass(frozen=True)
class PaymentToRecord:
    """Money in from a customer (kind "received") or out to a supplier ("paid"), settling
    invoices named by their index in the plan: (index, amount)."""

    on: date
    kind: str
    contact_id: int
    settles: tuple[tuple[int, Decimal], ...]

    @property
    def amount(self) -> Decimal:
        return sum((share for _, share in self.settles), Decimal(0))


PlanItem = Entry | InvoiceToPost | PaymentToRecord


@dataclass
class Plan:
    """What to post, in the order it was planned, with the VAT of each quarter kept for its
    settlement. Nothing dated after END is planned."""

    items: list[PlanItem] = field(default_factory=list)
    vat: dict[tuple[int, int], list[Decimal]] = field(default_factory=dict)   # (year, quarter) -> [output, input]

    def add(self, item: PlanItem) -> int | None:
        """Plan an item; its index (what a payment names an invoice by), None if after END."""
        if item.on > END:
            return None
        self.items.append(item)
        return len(self.items) - 1

    def entry(self, on: date, memo: str, *lines: Line) -> None:
        self.add(Entry(on, memo, lines))

    def tax(self, on: date, output: Decimal = Decimal(0), paid: Decimal = Decimal(0)) -> None:
        totals = self.vat.setdefault((on.year, (on.month - 1) // 3), [Decimal(0), Decimal(0)])
        totals[0] += output
        totals[1] += paid

    def in_date_order(self) -> list[tuple[int, PlanItem]]:
        """(index, item) by date; items of one day keep the order they were planned in."""
        return sorted(enumerate(self.items), key=lambda pair: pair[1].on)


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


def _running_costs(plan: Plan) -> None:
    """The capital paid in on the first day, then each full month's rent, wages (paid three
    days after the month ends) and bank charges."""
    bank = ROLES["bank"]
    plan.entry(START, "share capital paid in", Line(bank, debit=CAPITAL), Line("3100", credit=CAPITAL))
    for first in _month_starts()[1:]:   # the first, partial month has only the capital and trade
        month_end = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        plan.entry(first, f"rent {first:%B %Y}", Line("6200", debit=RENT), Line(bank, credit=RENT))
        plan.entry(month_end, f"wages {first:%B %Y}", Line("6100", debit=WAGES), Line("2300", credit=WAGES))
        plan.entry(month_end + timedelta(days=3), f"wages paid for {first:%B %Y}",
                   Line("2300", debit=WAGES), Line(bank, credit=WAGES))
        plan.entry(month_end, f"bank charges {first:%B %Y}", Line("6900", debit=BANK_CHARGES),
                   Line(bank, credit=BANK_CHARGES))


def _sale_lines(rng: random.Random) -> tuple[LineIn, ...]:
    return tuple(LineIn(what, Decimal(rng.randint(1, 12)), _cents(rng, *SALE_PRICE), ROLES["sales"], VAT)
                 for what in rng.sample(GOODS, rng.randint(1, 3)))


def _bill_lines(rng: random.Random) -> tuple[LineIn, ...]:
    account, things, low, high = rng.choice(PURCHASES)
    count = rng.randint(1, min(3, len(things)))
    return tuple(LineIn(what, Decimal(1), _cents(rng, low // count, high // count), account, VAT)
                 for what in rng.sample(things, count))


def _customer_pays(rng: random.Random, plan: Plan, index: int, sale: InvoiceToPost) -> None:
    """Most customers pay in full within weeks; some pay part, and the rest a month or two
    later; some never pay."""
    draw = rng.random()
    if draw < UNPAID:
        return
    first = sale.on + timedelta(days=rng.randint(7, 50))
    if draw < UNPAID + PART_PAID:
        part = (sale.gross * rng.randint(30, 70) / 100).quantize(CENT)
        plan.add(PaymentToRecord(first, "received", sale.contact_id, ((index, part),)))
        rest = first + timedelta(days=rng.randint(30, 90))
        plan.add(PaymentToRecord(rest, "received", sale.contact_id, ((index, sale.gross - part),)))
    else:
        plan.add(PaymentToRecord(first, "received", sale.contact_id, ((index, sale.gross),)))


def _trade(rng: random.Random, plan: Plan, customers: list[tuple[int, str]],
           suppliers: list[tuple[int, str]]) -> None:
    """Each working day: perhaps a sale to a customer, perhaps a bill from a supplier (paid in
    full 20 to 40 days later), with their payments."""
    day = START
    while day <= END:
        if day.weekday() < 5 and rng.random() < 0.45:
            sale = InvoiceToPost(day, "sales", rng.choice(customers)[0], _sale_lines(rng))
            plan.tax(day, output=sale.tax)
            index = plan.add(sale)
            _customer_pays(rng, plan, index, sale)
        if day.weekday() < 5 and rng.random() < 0.25:
            bill = InvoiceToPost(day, "purchase", rng.choice(suppliers)[0], _bill_lines(rng))
            plan.tax(day, paid=bill.tax)
            index = plan.add(bill)
            plan.add(PaymentToRecord(day + timedelta(days=rng.randint(20, 40)), "paid", bill.contact_id,
                                     ((index, bill.gross),)))
        day += timedelta(days=1)


def _vat_settlements(plan: Plan) -> None:
    """Each quarter's output tax less its input tax, settled with the bank on the 20th after
    the quarter."""
    for (year, quarter), (output, paid) in sorted(plan.vat.items()):
        on = date(year + (quarter == 3), (quarter * 3 + 3) % 12 + 1, 20)
        due = output - paid
        plan.entry(on, f"VAT settlement Q{quarter + 1} {year}", Line(ROLES["output_tax"], debit=output),
                   Line(ROLES["input_tax"], credit=paid),
                   Line(ROLES["bank"], credit=due) if due > 0 else Line(ROLES["bank"], debit=-due))


def plan_year(rng: random.Random, customers: list[tuple[int, str]], suppliers: list[tuple[int, str]]) -> Plan:
    """The year's entries, invoices, bills and payments, before any is posted (pure: the
    contacts are passed in)."""
    plan = Plan()
    _running_costs(plan)
    _trade(rng, plan, customers, suppliers)
    _vat_settlements(plan)
    return plan


def post_plan(session: Session, plan: Plan) -> None:
    """Post every item in date order; a payment settles the invoices posted for its indexes."""
    posted: dict[int, Invoice] = {}
    for index, item in plan.in_date_order():
        if isinstance(item, Entry):
            post_entry(session, SYSTEM, item.on, list(item.lines), memo=item.memo, source="demo")
        elif isinstance(item, InvoiceToPost):
            draft = create_invoice(session, SYSTEM, item.kind, item.contact_id, item.on, item.due_on,
                                   list(item.lines))
            posted[index] = post_invoice(session, SYSTEM, draft.id)
        else:
            settled = [(posted[i], share) for i, share in item.settles]
            record_payment(session, SYSTEM, item.kind, item.contact_id, item.on, item.amount,
                           [(invoice.id, share) for invoice, share in settled],
                           reference=", ".join(invoice.number for invoice, _ in settled))


def seed_ledger(session: Session, summary: DemoSummary) -> None:
    """Install the chart, open the years, post the year, close the older months."""

    install_chart(session, SYSTEM)
    for year in range(START.year, END.year + 1):
        open_year(session, SYSTEM, year)
    customers, suppliers = _contacts(session, "customer"), _contacts(session, "supplier")
    if not customers or not suppliers:
        return   # no contacts to trade with: the chart and periods alone
    post_plan(session, plan_year(random.Random(f"ledger-{SEED}"), customers, suppliers))
    for name in session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.ends_on < CLOSED_BEFORE)
                                .order_by(FiscalPeriod.starts_on)).all():
        close_period(session, SYSTEM, name, ROLES["retained_earnings"])
    invoices = select(func.count(Invoice.id))
    summary.created["invoices"] = session.scalar(invoices.where(Invoice.kind == "sales"))
    summary.created["bills"] = session.scalar(invoices.where(Invoice.kind == "purchase"))
    summary.created["payments"] = session.scalar(select(func.count(Payment.id)))
    summary.created["journal entries"] = session.scalar(select(func.count(JournalEntry.id)))
