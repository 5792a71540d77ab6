"""Read functions of the ledger for every door: the chart, the periods, posted entries,
invoices and payments.

Each takes the acting user and checks that they may read the ledger, so a door (the CLI,
the API) only asks and renders. The `*_records` functions hand out plain dicts through the
policy gate (`engine.security.gate.project`), as the HTTP API shows them: a field policy
added to a ledger table later applies there without touching a route. The reports are in
`reports.py`, invoices' aging and statements in `invoices.py`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine.contacts.models import Contact
from engine.errors import BackofficeError, NotFound
from engine.ledger.invoices import aging, open_balance
from engine.ledger.models import (
    Account,
    Allocation,
    FiscalPeriod,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
)
from engine.ledger.reports import trial_balance
from engine.ledger.services import AREA, find_entry
from engine.security import gate
from engine.security.roles import Actor


@dataclass(frozen=True)
class ChartRow:
    code: str
    name: str
    type: str
    parent: str | None     # the parent account's code
    active: bool
    postable: bool         # takes postings: it has no sub-accounts
    depth: int             # 0 for a top-level account
    id: int = 0
    version: int = 0


def chart(session: Session, actor: Actor) -> list[ChartRow]:
    """The chart of accounts in code order, each with its place in the tree."""
    actor.require("read", AREA)
    accounts = list(session.scalars(select(Account).order_by(Account.code)))
    codes = {a.id: a.code for a in accounts}
    parents = {a.code: codes.get(a.parent_id) for a in accounts}
    headings = set(parents.values())

    def depth(code: str | None) -> int:
        return 0 if parents.get(code) is None else 1 + depth(parents[code])

    return [ChartRow(a.code, a.name, a.type, parents[a.code], a.active, a.code not in headings, depth(a.code),
                     a.id, a.version)
            for a in accounts]


@dataclass(frozen=True)
class PeriodRow:
    name: str
    starts_on: date
    ends_on: date
    status: str
    closing_entry: str | None   # the number of its closing entry, once closed
    id: int = 0
    version: int = 0


def periods(session: Session, actor: Actor) -> list[PeriodRow]:
    """Every fiscal period, in order, with its status and closing entry."""
    actor.require("read", AREA)
    return [PeriodRow(p.name, p.starts_on, p.ends_on, p.status, number, p.id, p.version)
            for p, number in session.execute(
                select(FiscalPeriod, JournalEntry.number)
                .outerjoin(JournalEntry, JournalEntry.id == FiscalPeriod.closing_entry_id)
                .order_by(FiscalPeriod.starts_on))]


@dataclass(frozen=True)
class EntryLineView:
    line: int
    account: str
    name: str
    debit: Decimal
    credit: Decimal
    contact_id: int | None
    description: str | None


@dataclass(frozen=True)
class EntryView:
    id: int
    number: str
    entry_date: date
    memo: str | None
    source: str
    reverses: str | None     # the number of the entry it reverses
    posted_by: str
    lines: list[EntryLineView]
    version: int = 0


def entry_view(session: Session, actor: Actor, entry_id: int) -> EntryView:
    """A posted entry with its lines, their accounts named."""
    actor.require("read", AREA)
    entry = session.get(JournalEntry, entry_id)
    rows = session.execute(select(JournalLine, Account.code, Account.name)
                           .join(Account, Account.id == JournalLine.account_id)
                           .where(JournalLine.entry_id == entry.id).order_by(JournalLine.line_number)).all()
    reverses = session.get(JournalEntry, entry.reverses_id).number if entry.reverses_id else None
    return EntryView(entry.id, entry.number, entry.entry_date, entry.memo, entry.source, reverses,
                     entry.updated_by,
                     [EntryLineView(x.line_number, code, name, x.debit, x.credit, x.contact_id, x.description)
                      for x, code, name in rows], entry.version)


# -- records as the HTTP API hands them out (plain dicts, through the policy gate) ---------------

def account_records(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The chart of accounts (see `chart`), one dict per account."""
    return gate.project(session, actor, "accounts", [asdict(r) for r in chart(session, actor)])


def account_record(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """One account of the chart by its code."""
    found = [r for r in account_records(session, actor) if r["code"] == code.strip()]
    if not found:
        raise NotFound(f"there is no account {code!r}", field="account")
    return found[0]


def period_records(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The fiscal periods (see `periods`), one dict per period."""
    return gate.project(session, actor, "fiscal_periods", [asdict(p) for p in periods(session, actor)])


def period_record(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    found = [p for p in period_records(session, actor) if p["name"] == name.strip()]
    if not found:
        raise NotFound(f"there is no period {name!r} (periods are named like 2026-03)", field="period")
    return found[0]


def entry_records(session: Session, actor: Actor, start: date | None = None, end: date | None = None,
                  account: str | None = None, source: str | None = None,
                  contact_id: int | None = None) -> list[dict[str, Any]]:
    """Posted entries in date and number order, without their lines (each with its total,
    what it reverses and what reversed it), narrowed to those dated in [start, end], with a
    line on `account` (a code) or on `contact_id`, or from `source` (manual, reversal, close,
    sales, purchase, payment, ...)."""
    actor.require("read", AREA)
    reverses, reversal = aliased(JournalEntry), aliased(JournalEntry)
    totals = (select(JournalLine.entry_id, func.sum(JournalLine.debit).label("total"))
              .group_by(JournalLine.entry_id).subquery())
    query = (select(JournalEntry, reverses.number, reversal.number, totals.c.total)
             .join(totals, totals.c.entry_id == JournalEntry.id)
             .outerjoin(reverses, reverses.id == JournalEntry.reverses_id)
             .outerjoin(reversal, reversal.reverses_id == JournalEntry.id)
             .order_by(JournalEntry.entry_date, JournalEntry.number))
    if start is not None:
        query = query.where(JournalEntry.entry_date >= start)
    if end is not None:
        query = query.where(JournalEntry.entry_date <= end)
    if source:
        query = query.where(JournalEntry.source == source.strip())
    if account:
        query = query.where(JournalEntry.id.in_(
            select(JournalLine.entry_id).join(Account, Account.id == JournalLine.account_id)
            .where(Account.code == account.strip())))
    if contact_id is not None:
        query = query.where(JournalEntry.id.in_(select(JournalLine.entry_id)
                                                .where(JournalLine.contact_id == contact_id)))
    rows = [{"id": e.id, "number": e.number, "entry_date": e.entry_date, "memo": e.memo, "source": e.source,
             "reverses": reversed_number, "reversed_by": reversal_number, "total": total,
             "posted_by": e.updated_by, "created_at": e.created_at, "version": e.version}
            for e, reversed_number, reversal_number, total in session.execute(query)]
    return gate.project(session, actor, "journal_entries", rows)


def entry_record(session: Session, actor: Actor, entry: int | str) -> dict[str, Any]:
    """One posted entry, by id or number, with its lines (see `entry_view`) and what
    reversed it, if anything."""
    found = find_entry(session, actor, entry)
    view = asdict(entry_view(session, actor, found.id))
    lines = gate.project(session, actor, "journal_lines", view.pop("lines"), record_id=lambda r: None)
    reversal = session.scalars(select(JournalEntry.number).where(JournalEntry.reverses_id == found.id)).first()
    return {**gate.project_one(session, actor, "journal_entries", view), "reversed_by": reversal, "lines": lines}


def _invoice_dict(session: Session, invoice: Invoice, number_of_entry: str | None) -> dict[str, Any]:
    return {"id": invoice.id, "kind": invoice.kind, "number": invoice.number, "status": invoice.status,
            "contact_id": invoice.contact_id, "issued_on": invoice.issued_on, "due_on": invoice.due_on,
            "reference": invoice.reference, "net": invoice.net, "tax": invoice.tax, "gross": invoice.gross,
            "open_amount": open_balance(session, invoice) if invoice.status == "posted" else None,
            "entry": number_of_entry, "version": invoice.version}


def invoice_records(session: Session, actor: Actor, kind: str | None = None, status: str | None = None,
                    contact_id: int | None = None, start: date | None = None,
                    end: date | None = None) -> list[dict[str, Any]]:
    """Invoices and bills (drafts too) by date, narrowed by kind (sales, purchase), status
    (draft, posted), contact and date span; each with what is still open on it once posted."""
    actor.require("read", AREA)
    query = (select(Invoice, JournalEntry.number).outerjoin(JournalEntry, JournalEntry.id == Invoice.entry_id)
             .order_by(Invoice.issued_on, Invoice.id))
    for column, value in ((Invoice.kind, kind), (Invoice.status, status), (Invoice.contact_id, contact_id)):
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(Invoice.issued_on >= start)
    if end is not None:
        query = query.where(Invoice.issued_on <= end)
    return gate.project(session, actor, "invoices",
                        [_invoice_dict(session, i, number) for i, number in session.execute(query)])


def invoice_record(session: Session, actor: Actor, invoice_id: int) -> dict[str, Any]:
    """One invoice or bill with its lines."""
    actor.require("read", AREA)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}", field="invoice_id")
    number = session.scalar(select(JournalEntry.number).where(JournalEntry.id == invoice.entry_id)) \
        if invoice.entry_id else None
    lines = [{"id": x.id, "line": x.line_number, "description": x.description, "quantity": x.quantity,
              "unit_price": x.unit_price, "tax_rate": x.tax_rate, "account_code": x.account_code,
              "item_id": x.item_id}
             for x in session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                      .order_by(InvoiceLine.line_number))]
    return {**gate.project_one(session, actor, "invoices", _invoice_dict(session, invoice, number)),
            "lines": gate.project(session, actor, "invoice_lines", lines)}


def payment_record(session: Session, actor: Actor, payment_id: int) -> dict[str, Any]:
    """One payment with the invoices it settles."""
    actor.require("read", AREA)
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}", field="payment_id")
    entry = session.scalar(select(JournalEntry.number).where(JournalEntry.id == payment.entry_id))
    settles = [{"invoice_id": invoice_id, "invoice": number, "amount": amount}
               for invoice_id, number, amount in session.execute(
                   select(Allocation.invoice_id, Invoice.number, Allocation.amount)
                   .join(Invoice, Invoice.id == Allocation.invoice_id)
                   .where(Allocation.payment_id == payment.id).order_by(Allocation.id))]
    record = {"id": payment.id, "kind": payment.kind, "contact_id": payment.contact_id, "paid_on": payment.paid_on,
              "amount": payment.amount, "bank_account": payment.bank_account, "reference": payment.reference,
              "entry": entry, "version": payment.version}
    return {**gate.project_one(session, actor, "payments", record),
            "settles": gate.project(session, actor, "allocations", settles, record_id=lambda r: None)}


# -- balances for a door that asks many times (the add-in's BO_BALANCE) -----------------------

@dataclass(frozen=True)
class AccountBalances:
    """Every account's balance at the end of a day, read once and asked many times: a sheet
    of `=BO_BALANCE(...)` formulas is one trial balance and one chart, not one read a cell.

    A balance is debits minus credits, as `backoffice ledger account` and the trial balance
    show it (a credit balance is negative); a heading account's is the sum of its
    sub-accounts'. An unknown code is refused (`account`, `not_found`). Built from
    `account_balances` locally, or from `/ledger/accounts` and `/ledger/trial-balance` remotely."""

    totals: dict[str, Decimal]         # account code -> its balance, its sub-accounts' included

    @classmethod
    def build(cls, chart_rows: Any, trial_rows: Any) -> AccountBalances:
        """From (code, parent code) pairs and (code, debit, credit) rows of a trial balance."""
        parents = dict(chart_rows)
        totals = dict.fromkeys(parents, Decimal(0))
        for code, debit, credit in trial_rows:
            account: str | None = code
            while account is not None and account in totals:   # the account, then each heading above it
                totals[account] += Decimal(debit) - Decimal(credit)
                account = parents[account]
        return cls(totals)

    def balance(self, code: str) -> Decimal:
        code = code.strip()
        if code not in self.totals:
            raise NotFound(f"there is no account {code!r}; `backoffice ledger chart` lists them", field="account")
        return self.totals[code]


def account_balances(session: Session, actor: Actor, as_of: date) -> AccountBalances:
    """`AccountBalances` at the end of `as_of`: the chart and the trial balance, two reads."""
    rows = trial_balance(session, actor, as_of).rows
    return AccountBalances.build([(r.code, r.parent) for r in chart(session, actor)],
                                 [(r.code, r.debit, r.credit) for r in rows])


def amounts_owing(session: Session, actor: Actor, as_of: date) -> dict[int, Decimal]:
    """What each customer owes at the end of `as_of`, by contact id: the total of the
    receivables aging (posted sales invoices less what was paid on them by then); a contact
    owing nothing is not in it. The add-in's BO_OWING asks it once per recalculation."""
    return {row.contact_id: row.total for row in aging(session, actor, "sales", as_of)}


# -- whom a report is about --------------------------------------------------------------------

class AmbiguousCustomer(BackofficeError):
    """A name that more than one contact bears: the contact number says which."""

    code = "ambiguous"
    field = "customer"


def find_customer(session: Session, actor: Actor, key: str) -> tuple[int, str]:
    """(contact number, name) of the customer a report is asked about: by their contact
    number (as `backoffice ledger statement` takes it) or their exact name. Refused naming
    `customer` when no contact is so numbered or named, or several are so named."""
    actor.require("read", AREA)
    key = key.strip()
    if key.isdigit():
        found = session.execute(select(Contact.id, Contact.name).where(Contact.id == int(key))).all()
    else:
        found = session.execute(select(Contact.id, Contact.name).where(Contact.name == key)
                                .order_by(Contact.id)).all()
    if not found:
        raise NotFound(f"there is no customer {key!r}: give their contact number or exact name "
                       "(`backoffice contacts list` shows both)", field="customer")
    if len(found) > 1:
        numbers = ", ".join(str(i) for i, _ in found)
        raise AmbiguousCustomer(f"more than one contact is named {key!r} (numbers {numbers}): give the contact number")
    return found[0][0], found[0][1]
