"""The demo's books, built on SQLite and PostgreSQL: a year of sales invoices, supplier bills,
payments and payroll-like entries that the services accepted, posted and numbered in calendar
order; a trial balance at zero; closed months that refuse postings and open months that take
them; and customers who still owe money (some of it long overdue, some of it the rest of a
part payment), their open invoices adding up to the receivables in the ledger."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.demo import build_demo
from engine.errors import ValidationFailed
from engine.ledger.chart import ROLES
from engine.ledger.demo import (
    DUE_DAYS,
    END,
    START,
    Entry,
    InvoiceToPost,
    PaymentToRecord,
    plan_year,
)
from engine.ledger.invoices import aging, open_balance
from engine.ledger.models import (
    Account,
    Allocation,
    FiscalPeriod,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
)
from engine.ledger.services import Line, balances, post_entry
from engine.security.roles import SYSTEM

CUSTOMERS = [(10 + n, f"customer {n}") for n in range(12)]
SUPPLIERS = [(40 + n, f"supplier {n}") for n in range(8)]


def _plan(seed="test"):
    return plan_year(random.Random(seed), CUSTOMERS, SUPPLIERS)


def test_the_plan_pays_only_invoices_planned_before_and_never_more_than_they_ask():
    plan = _plan()
    assert plan == _plan() and plan != _plan("another seed")   # seeded: the same books every run
    assert all(START <= item.on <= END for item in plan.items)
    ordered = [item.on for _, item in plan.in_date_order()]
    assert ordered == sorted(ordered) and ordered[0] == START

    invoices = {i: x for i, x in enumerate(plan.items) if isinstance(x, InvoiceToPost)}
    kinds = {x.kind for x in invoices.values()}
    assert kinds == {"sales", "purchase"}
    for invoice in invoices.values():
        assert 1 <= len(invoice.lines) <= 3 and invoice.due_on == invoice.on + timedelta(days=DUE_DAYS)
        assert all(x.tax_rate == D("0.20") and x.unit_price == x.unit_price.quantize(D("0.01"))
                   for x in invoice.lines)
        expected = {ROLES["sales"]} if invoice.kind == "sales" else {"5100", "6300", "6400", "6500"}
        assert {x.account_code for x in invoice.lines} <= expected

    settled: dict[int, list[D]] = defaultdict(list)
    for _, payment in plan.in_date_order():
        if not isinstance(payment, PaymentToRecord):
            continue
        for index, share in payment.settles:
            invoice = invoices[index]
            assert invoice.on < payment.on and invoice.contact_id == payment.contact_id
            assert (invoice.kind, payment.kind) in {("sales", "received"), ("purchase", "paid")}
            assert share > 0 and share == share.quantize(D("0.01"))
            settled[index].append(share)
    assert all(sum(shares) <= invoices[i].gross for i, shares in settled.items())
    sales = [i for i, x in invoices.items() if x.kind == "sales"]
    assert sum(1 for i in sales if i not in settled) >= 5                        # never paid
    assert sum(1 for i in sales if len(settled[i]) == 2) >= 5                    # paid in two parts
    assert sum(1 for i in sales if settled[i] and sum(settled[i]) < invoices[i].gross) >= 1   # the rest to come
    assert {x.memo.split()[0] for x in plan.items if isinstance(x, Entry)} == {
        "share", "rent", "wages", "bank", "VAT"}


def test_the_demo_books_balance_close_the_old_months_and_leave_customers_owing(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        created = build_demo(session).created
    assert 80 <= created["invoices"] <= 160 and 30 <= created["bills"] <= 90
    invoiced = created["invoices"] + created["bills"]
    assert invoiced // 2 <= created["payments"] <= invoiced + created["invoices"]   # some in two parts, some never
    assert 200 <= created["journal entries"] <= 800

    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(JournalEntry.id))) == created["journal entries"]
        first, last = session.execute(sa.select(sa.func.min(JournalEntry.entry_date),
                                                sa.func.max(JournalEntry.entry_date))).one()
        assert first == START and START <= last <= END
        assert sum(balances(session, END).values(), D(0)) == 0
        _entries_are_numbered_in_calendar_order(session)
        _invoices_and_bills_are_posted_and_numbered(session, created)
        _payments_settle_invoices_of_their_contact(session, created)
        _customers_owe_what_their_open_invoices_say(session)
        _vat_still_owed_is_the_tax_of_this_quarters_invoices(session)
        statuses = dict(session.execute(sa.select(FiscalPeriod.name, FiscalPeriod.status)).all())
        assert statuses["2026-07"] == "closed" and statuses["2026-08"] == statuses["2026-11"] == "open"

    rent = [Line("6200", debit=D("10")), Line(ROLES["bank"], credit=D("10"))]
    with pytest.raises(ValidationFailed, match="period 2026-07 is closed"):
        with db.unit_of_work(SYSTEM) as session:
            post_entry(session, SYSTEM, date(2026, 7, 15), rent)
    with db.unit_of_work(SYSTEM) as session:
        post_entry(session, SYSTEM, date(2026, 8, 15), rent)


def _entries_are_numbered_in_calendar_order(session):
    """Every entry but the month closings (posted last, dated at each month's end)."""
    for year in (START.year, END.year):
        dates = session.scalars(sa.select(JournalEntry.entry_date)
                                .where(JournalEntry.number.like(f"JE-{year}-%"), JournalEntry.source != "close")
                                .order_by(JournalEntry.number)).all()
        assert dates and dates == sorted(dates)
    sources = dict(session.execute(sa.select(JournalEntry.source, sa.func.count())
                                   .group_by(JournalEntry.source)).all())
    assert sources.keys() == {"demo", "sales", "purchase", "payment", "close"}


def _invoices_and_bills_are_posted_and_numbered(session, created):
    rows = session.execute(sa.select(Invoice, JournalEntry.entry_date, JournalEntry.source)
                           .join(JournalEntry, JournalEntry.id == Invoice.entry_id)
                           .where(Invoice.status == "posted")).all()
    assert len(rows) == created["invoices"] + created["bills"]
    # The rest are the CRM demo's drafts, made from won opportunities for an accountant to check.
    drafts = session.execute(sa.select(Invoice.status, Invoice.reference).where(Invoice.status != "posted")).all()
    assert all(status == "draft" and reference.startswith("opportunity #") for status, reference in drafts)
    assert sum(1 for invoice, _, _ in rows if invoice.kind == "sales") == created["invoices"]
    for invoice, entry_date, source in rows:
        prefix = "INV" if invoice.kind == "sales" else "BILL"
        assert invoice.number.startswith(f"{prefix}-{invoice.issued_on.year}-")
        assert (entry_date, source) == (invoice.issued_on, invoice.kind)
        assert invoice.due_on == invoice.issued_on + timedelta(days=DUE_DAYS)
        # VAT at 20%, rounded to the cent line by line
        assert invoice.gross == invoice.net + invoice.tax and abs(invoice.tax - invoice.net / 5) <= D("0.015")
    by_number = sorted(rows, key=lambda row: row[0].number)
    for series in {x.number[:-6] for x, _, _ in rows}:
        issued = [x.issued_on for x, _, _ in by_number if x.number.startswith(series)]
        assert issued == sorted(issued)


def _payments_settle_invoices_of_their_contact(session, created):
    payments = session.scalars(sa.select(Payment)).all()
    assert len(payments) == created["payments"]
    shares = defaultdict(list)
    for payment, invoice, share in session.execute(
            sa.select(Payment, Invoice, Allocation.amount).join(Allocation, Allocation.payment_id == Payment.id)
            .join(Invoice, Invoice.id == Allocation.invoice_id)):
        assert payment.contact_id == invoice.contact_id and invoice.issued_on < payment.paid_on
        assert (invoice.kind, payment.kind) in {("sales", "received"), ("purchase", "paid")}
        shares[payment.id].append(share)
        assert invoice.number in payment.reference
    assert {p.id: p.amount for p in payments} == {p: sum(s, D(0)) for p, s in shares.items()}
    partial = session.execute(sa.select(Allocation.invoice_id).join(Invoice, Invoice.id == Allocation.invoice_id)
                              .where(Invoice.kind == "sales", Allocation.amount < Invoice.gross)).scalars().all()
    assert len(set(partial)) >= 5                          # some customers paid part of an invoice


def _ledger_balances(session, role):
    """Contact -> debits minus credits on the account of `role`, at END."""
    totals = session.execute(
        sa.select(JournalLine.contact_id, sa.func.sum(JournalLine.debit), sa.func.sum(JournalLine.credit))
        .join(Account, Account.id == JournalLine.account_id).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(Account.code == ROLES[role], JournalEntry.entry_date <= END).group_by(JournalLine.contact_id))
    return {contact: debit - credit for contact, debit, credit in totals if debit != credit}


def _open_invoices(session, kind):
    """Contact -> what their posted invoices of `kind` still have open at END."""
    owed = defaultdict(D)
    for invoice in session.scalars(sa.select(Invoice).where(Invoice.kind == kind, Invoice.status == "posted")):
        owed[invoice.contact_id] += open_balance(session, invoice, END)
    return {contact: amount for contact, amount in owed.items() if amount}


def _customers_owe_what_their_open_invoices_say(session):
    receivables, payables = _open_invoices(session, "sales"), _open_invoices(session, "purchase")
    assert receivables == _ledger_balances(session, "receivables") and None not in receivables
    assert {c: -x for c, x in payables.items()} == _ledger_balances(session, "payables") and payables
    codes = dict(session.execute(sa.select(Account.code, Account.id)).all())
    assert sum(receivables.values()) == balances(session, END)[codes[ROLES["receivables"]]]

    owing = aging(session, SYSTEM, "sales", END)
    assert {row.contact_id: row.total for row in owing} == receivables
    assert len(owing) >= 5
    assert sum(1 for row in owing if row.days_31_60 + row.days_61_90 + row.over_90 > 0) >= 3
    assert {row.contact_id: row.total for row in aging(session, SYSTEM, "purchase", END)} == payables


def _vat_still_owed_is_the_tax_of_this_quarters_invoices(session):
    """The settlements cleared every earlier quarter: what stays on the VAT accounts is the tax
    of the invoices and bills issued since the quarter began."""
    quarter = date(END.year, (END.month - 1) // 3 * 3 + 1, 1)
    codes = dict(session.execute(sa.select(Account.code, Account.id)).all())
    totals = balances(session, END)
    for kind, role, sign in (("sales", "output_tax", -1), ("purchase", "input_tax", 1)):
        tax = session.scalar(sa.select(sa.func.sum(Invoice.tax)).where(Invoice.kind == kind,
                                                                         Invoice.issued_on >= quarter))
        assert sign * totals[codes[ROLES[role]]] == tax
