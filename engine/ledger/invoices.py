"""Sales invoices, purchase bills and payments: each posts its journal entry through
`services.post_entry`, so the ledger's rules (balanced, open period, leaf accounts) hold
for them too.

    sales invoice   Dr receivables (gross, the customer)   Cr income (net)   Cr output tax
    purchase bill   Dr expense/stock (net)   Dr input tax   Cr payables (gross, the supplier)
    payment in      Dr bank   Cr receivables (the customer)
    payment out     Dr payables (the supplier)   Cr bank

An invoice is posted once: its row is locked while it is posted, so two people posting the
same draft at the same moment get one entry and one clear refusal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, ValidationFailed
from engine.ledger import rules
from engine.ledger.chart import ROLES
from engine.ledger.models import (
    Account,
    Allocation,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
)
from engine.ledger.rules import LineIn
from engine.ledger.services import AREA, Line, _next_number, account_facts, post_entry
from engine.problems import Problem
from engine.security.roles import Actor

__all__ = ["LineIn", "create_invoice", "post_invoice", "record_payment", "allocate", "open_balance", "aging",
           "open_invoices", "age_bucket", "statement", "line_amounts"]

CENT = Decimal("0.01")  # invoices are in whole cents: what a customer is asked to pay
PAYMENT_TERMS = timedelta(days=30)   # an invoice given no due date is due this long after its date


def create_invoice(session: Session, actor: Actor, kind: str, contact_id: int, issued_on: date,
                   due_on: date | None, lines: list[LineIn], reference: str | None = None) -> Invoice:
    """A draft invoice (or bill): checked, not yet in the ledger. Refused with every problem
    (see `engine.ledger.rules`): the contact must exist and each line's account take postings.
    Without a due date it is due `PAYMENT_TERMS` after its date."""
    actor.require("write", AREA)
    if due_on is None and issued_on is not None:
        due_on = issued_on + PAYMENT_TERMS
    # A sales line given no account is booked to sales: every line, not only the one typed
    # with the invoice's kind (a workbook's second row has none of its own).
    lines = [dataclasses.replace(x, account_code=ROLES["sales"]) if kind == "sales" and x.account_code is None else x
             for x in lines]
    problems = rules.invoice_reference_limits(rules.check_invoice(kind, issued_on, due_on, lines), reference)
    if contact_id is None or session.get(Contact, contact_id) is None:
        problems.insert(0, Problem("contact_id", "reference", f"there is no contact {contact_id}"))
    accounts = account_facts(session, {x.account_code for x in lines if (x.account_code or "").strip()})
    problems += [p for n, x in enumerate(lines, start=1) if (x.account_code or "").strip()
                 for p in rules.account_problems(x.account_code, accounts.get(x.account_code), n,
                                                 field="account_code")]
    if problems:
        raise ValidationFailed(sorted(problems, key=lambda p: (p.line is not None, p.line or 0)))
    invoice = Invoice(kind=kind, contact_id=contact_id, issued_on=issued_on, due_on=due_on, status="draft",
                      reference=reference, updated_by=actor.login)
    session.add(invoice)
    session.flush()
    session.add_all([InvoiceLine(invoice_id=invoice.id, line_number=n, description=x.description, quantity=x.quantity,
                                 unit_price=x.unit_price, tax_rate=x.tax_rate, account_code=x.account_code,
                                 item_id=x.item_id, updated_by=actor.login)
                     for n, x in enumerate(lines, start=1)])
    session.flush()
    return invoice


def _entry_refused(refused: ValidationFailed, date_field: str, fields: dict[str, str] | None = None) -> ValidationFailed:
    """The books' refusal of the entry an invoice or a payment posts, in the words of that
    invoice or payment: the entry's date is its date (`date_field`); a problem of an entry
    line (the entry's lines are not the invoice's) is one of the record as a whole."""
    fields = {"entry_date": date_field, **(fields or {})}
    return ValidationFailed([Problem(fields.get(p.field, ""), p.code, p.message) for p in refused.problems])


def line_amounts(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal) -> tuple[Decimal, Decimal]:
    """A line's net and tax, each rounded to the cent line by line, as the invoice prints them."""
    net = (quantity * unit_price).quantize(CENT)
    return net, (net * tax_rate).quantize(CENT)


def post_invoice(session: Session, actor: Actor, invoice_id: int) -> Invoice:
    """Number the invoice and post its entry; refused if it was posted already."""
    actor.require("write", AREA)
    invoice = session.scalars(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                              .execution_options(populate_existing=True)).first()
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}", field="invoice_id")
    if invoice.status == "posted":
        raise ValidationFailed([Problem("", "posted",
                                        f"invoice {invoice.number} is posted already; nothing was posted again")])
    lines = session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                            .order_by(InvoiceLine.line_number)).all()
    nets, taxes = zip(*(line_amounts(x.quantity, x.unit_price, x.tax_rate) for x in lines), strict=True)
    invoice.net, invoice.tax = sum(nets, Decimal(0)), sum(taxes, Decimal(0))
    invoice.gross = invoice.net + invoice.tax
    sales = invoice.kind == "sales"
    series = f"{'INV' if sales else 'BILL'}-{invoice.issued_on.year}"
    invoice.number = _next_number(session, series)
    text = f"{'invoice' if sales else 'bill'} {invoice.number}"
    entry_lines = [Line(x.account_code, **{"credit" if sales else "debit": net}, description=x.description)
                   for x, net in zip(lines, nets, strict=True) if net]
    if invoice.tax:
        entry_lines.append(Line(ROLES["output_tax" if sales else "input_tax"],
                                **{"credit" if sales else "debit": invoice.tax}, description=f"tax on {text}"))
    if invoice.gross:
        entry_lines.append(Line(ROLES["receivables" if sales else "payables"],
                                **{"debit" if sales else "credit": invoice.gross},
                                contact_id=invoice.contact_id, description=text))
    try:
        entry = post_entry(session, actor, invoice.issued_on, entry_lines, memo=text, source=invoice.kind)
    except ValidationFailed as refused:   # a closed period, say
        raise _entry_refused(refused, "issued_on") from None
    invoice.entry_id, invoice.status, invoice.updated_by = entry.id, "posted", actor.login
    session.flush()
    return invoice


def open_balance(session: Session, invoice: Invoice, as_of: date | None = None) -> Decimal:
    """What is still owed on a posted invoice (by payments made up to `as_of`)."""
    query = select(func.coalesce(func.sum(Allocation.amount), Decimal(0))).join(
        Payment, Payment.id == Allocation.payment_id).where(Allocation.invoice_id == invoice.id)
    if as_of is not None:
        query = query.where(Payment.paid_on <= as_of)
    return invoice.gross - session.scalar(query)


def record_payment(session: Session, actor: Actor, kind: str, contact_id: int, paid_on: date, amount: Decimal,
                   allocations: list[tuple[int | str, Decimal]], bank_account: str = ROLES["bank"],
                   reference: str | None = None) -> Payment:
    """Post a payment and settle invoices with it (partly or wholly); what is not allocated
    stays on the contact's account, as a credit to use later. `allocations`: (invoice id or
    number, amount settled). Refused with every problem; those of an allocation carry its
    1-based place in `allocations` as their line."""
    actor.require("write", AREA)
    problems = rules.payment_limits(rules.check_payment(kind, amount, [share for _, share in allocations]),
                                    paid_on, reference)
    if contact_id is None or session.get(Contact, contact_id) is None:
        problems.insert(0, Problem("contact_id", "reference", f"there is no contact {contact_id}"))
    bank = account_facts(session, {bank_account})
    problems += rules.account_problems(bank_account, bank.get(bank_account), field="bank_account")
    wanted = "sales" if kind == "received" else "purchase"
    settled = []
    for n, (key, share) in enumerate(allocations, start=1):
        invoice = _invoice(session, key)
        if invoice is None:
            problems.append(Problem("settles", "not_found", f"there is no invoice {key}", n))
        elif invoice.status != "posted":
            problems.append(Problem("settles", "not_posted", f"invoice {key} is a draft: post it first", n))
        elif invoice.kind != wanted or invoice.contact_id != contact_id:
            problems.append(Problem("settles", "mismatch",
                                    f"{invoice.number} is not a {wanted} invoice of contact {contact_id}", n))
        elif share > 0:
            problems += rules.settlement_problems(invoice.number, share, open_balance(session, invoice), n)
        settled.append(invoice.id if invoice is not None else None)
    if problems:
        raise ValidationFailed(problems)
    party = ROLES["receivables" if kind == "received" else "payables"]
    lines = ([Line(bank_account, debit=amount), Line(party, credit=amount, contact_id=contact_id)] if kind == "received"
             else [Line(party, debit=amount, contact_id=contact_id), Line(bank_account, credit=amount)])
    try:
        entry = post_entry(session, actor, paid_on, lines, memo=f"payment {kind} {reference or ''}".strip(),
                           source="payment")
    except ValidationFailed as refused:   # a closed period, say
        raise _entry_refused(refused, "paid_on") from None
    payment = Payment(kind=kind, contact_id=contact_id, paid_on=paid_on, amount=amount, bank_account=bank_account,
                      reference=reference, entry_id=entry.id, updated_by=actor.login)
    session.add(payment)
    session.flush()
    session.add_all([Allocation(payment_id=payment.id, invoice_id=i, amount=share, updated_by=actor.login)
                     for i, (_, share) in zip(settled, allocations, strict=True)])
    session.flush()
    return payment


def _invoice(session: Session, key: int | str) -> Invoice | None:
    """An invoice by id or number, locked: what is open on it is read and settled at once."""
    where = Invoice.id == key if isinstance(key, int) else Invoice.number == key.strip().upper()
    return session.scalars(select(Invoice).where(where).with_for_update()).first()


def allocate(session: Session, actor: Actor, kind: str, contact_id: int, amount: Decimal,
             named: list[str] = ()) -> list[tuple[int, Decimal]]:  # type: ignore[assignment]
    """What a payment of `amount` settles: the invoices `named` (by number), in that order,
    or else the contact's oldest open invoices first; each is filled up to what is open on
    it, and what is left stays on account. (invoice id, amount) for `record_payment`."""
    actor.require("read", AREA)
    wanted = "sales" if kind == "received" else "purchase"
    if named:
        found = {i.number: i for i in session.scalars(select(Invoice).where(Invoice.number.in_(named)))}
        problems = [Problem("settles", "not_found", f"there is no posted invoice {n}", line)
                    for line, n in enumerate(named, start=1) if n not in found]
        problems += [Problem("settles", "mismatch", f"{n} is not a {wanted} invoice of contact {contact_id}", line)
                     for line, n in enumerate(named, start=1)
                     if n in found and (found[n].kind != wanted or found[n].contact_id != contact_id)]
        if problems:
            raise ValidationFailed(problems)
        candidates = [found[n] for n in named]
    else:
        candidates = list(session.scalars(select(Invoice).where(
            Invoice.kind == wanted, Invoice.contact_id == contact_id, Invoice.status == "posted")
            .order_by(Invoice.due_on, Invoice.id)))
    left, shares = amount, []
    for invoice in candidates:
        if left <= 0:
            break
        owed = open_balance(session, invoice)
        if owed > 0:
            shares.append((invoice.id, min(owed, left)))
            left -= min(owed, left)
    if named and not shares:
        raise ValidationFailed([Problem("settles", "overpaid", f"{', '.join(named)}: nothing is open on it any more")])
    return shares


@dataclass(frozen=True)
class AgingRow:
    contact_id: int
    contact: str
    current: Decimal       # not yet due
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    @property
    def overdue(self) -> Decimal:
        """What is past its due date: everything but `current`."""
        return self.total - self.current


AGE_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


def age_bucket(days_late: int) -> int:
    """The place in `AGE_BUCKETS` of an invoice `days_late` days past its due date (0 or
    less: not yet due)."""
    return 0 if days_late <= 0 else 1 if days_late <= 30 else 2 if days_late <= 60 else 3 if days_late <= 90 else 4


@dataclass(frozen=True)
class OpenInvoice:
    """A posted invoice (or bill) with something still open on it on a day."""

    id: int
    number: str
    contact_id: int
    contact: str
    issued_on: date
    due_on: date
    gross: Decimal
    open: Decimal          # what is still owed on it that day
    days_late: int         # days past its due date that day (0 or less: not yet due)


def open_invoices(session: Session, actor: Actor, kind: str, as_of: date,
                  contact_id: int | None = None) -> list[OpenInvoice]:
    """Posted invoices (kind "sales") or bills ("purchase") issued by `as_of` with something
    open on them that day (payments made by then taken off), by contact name and due date;
    one contact's only, given `contact_id`. The aging and a statement's open items are
    these, so they always agree."""
    actor.require("read", AREA)
    mine = [Invoice.kind == kind, Invoice.status == "posted", Invoice.issued_on <= as_of]
    if contact_id is not None:
        mine.append(Invoice.contact_id == contact_id)
    # What was paid on each invoice by then, in one read (not one per invoice: the add-in asks
    # for every customer's total at once).
    paid = dict(session.execute(
        select(Allocation.invoice_id, func.sum(Allocation.amount)).join(Payment, Payment.id == Allocation.payment_id)
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(*mine, Payment.paid_on <= as_of)
        .group_by(Allocation.invoice_id)).all())
    found = []
    for invoice, name in session.execute(
            select(Invoice, Contact.name).join(Contact, Contact.id == Invoice.contact_id).where(*mine)
            .order_by(Contact.name, Invoice.contact_id, Invoice.due_on, Invoice.id)):
        owed = invoice.gross - (paid.get(invoice.id) or Decimal(0))
        if owed:
            found.append(OpenInvoice(invoice.id, invoice.number, invoice.contact_id, name, invoice.issued_on,
                                     invoice.due_on, invoice.gross, owed, (as_of - invoice.due_on).days))
    return found


def aging(session: Session, actor: Actor, kind: str, as_of: date) -> list[AgingRow]:
    """Open balances of posted invoices (kind "sales": receivables; "purchase": payables) by
    how many days past their due date they are on `as_of` (`age_bucket`)."""
    buckets: dict[int, list[Decimal]] = {}
    names = {}
    for item in open_invoices(session, actor, kind, as_of):
        row = buckets.setdefault(item.contact_id, [Decimal(0)] * len(AGE_BUCKETS))
        row[age_bucket(item.days_late)] += item.open
        names[item.contact_id] = item.contact
    return [AgingRow(cid, names[cid], *row) for cid, row in buckets.items()]


@dataclass(frozen=True)
class StatementLine:
    entry_date: date
    number: str
    memo: str
    debit: Decimal     # what was charged (an invoice)
    credit: Decimal    # what was paid or credited
    balance: Decimal   # owed after this line


@dataclass(frozen=True)
class Statement:
    contact: str
    start: date
    end: date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def statement(session: Session, actor: Actor, contact_id: int, start: date, end: date) -> Statement:
    """A customer's statement: what they owed at the start, every invoice and payment posted
    to their receivable in the span, and what they owe at the end. Read from the ledger
    itself, so it always agrees with the books."""
    actor.require("read", AREA)
    problems = rules.check_range(start, end)
    if problems:
        raise ValidationFailed(problems)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"there is no contact {contact_id}", field="contact_id")
    account = session.scalar(select(Account.id).where(Account.code == ROLES["receivables"]))
    mine = (JournalLine.account_id == account) & (JournalLine.contact_id == contact_id)
    debits, credits = session.execute(  # two sums: each keeps its column's exact type
        select(func.coalesce(func.sum(JournalLine.debit), Decimal(0)),
               func.coalesce(func.sum(JournalLine.credit), Decimal(0)))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(mine, JournalEntry.entry_date < start)).one()
    opening = debits - credits
    balance, lines = opening, []
    for entry_date, number, memo, debit, credit in session.execute(
            select(JournalEntry.entry_date, JournalEntry.number, JournalEntry.memo, JournalLine.debit,
                   JournalLine.credit)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(mine, JournalEntry.entry_date >= start, JournalEntry.entry_date <= end)
            .order_by(JournalEntry.entry_date, JournalEntry.number)):
        balance += debit - credit
        lines.append(StatementLine(entry_date, number, memo, debit, credit, balance))
    return Statement(contact.name, start, end, opening, lines, balance)
