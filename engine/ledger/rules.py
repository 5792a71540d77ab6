"""The ledger's rules that need no database: what makes a journal entry, an invoice or a
payment acceptable whatever the books hold. Pure functions returning every `Problem` found
(never only the first), each with its field, a stable code and, for a line of an entry or an
invoice, its 1-based line.

The services (`services.py`, `invoices.py`) call them before they look anything up, and add
what only the database can say (an unknown account, a closed period, what is still open on
an invoice) as problems of the same form; the workbook's sheet checks call the same
functions, so no door has a rule of its own.

Fields and codes (doors branch on these, never on the message):

    entry (as a whole)    too_few_lines, unbalanced, closing_entry, reversed_already, not_found
                          (the Journal sheet's Entry column: an entry's own problems are shown there)
    account               required, reference, parent_account, account_closed
    debit, credit         negative, too_large, too_many_places; debit: one_side
    contact_id            reference
    entry_date            no_period, period_closed
    period                not_found, period_closed, period_open, out_of_order
    year                  invalid
    end                   before_start (a report's range)
    "" (the invoice)      too_few_lines, posted; invoice_id: not_found
    kind                  invalid
    due_on                before_issued
    issued_on             no_period, period_closed (when it is posted)
    quantity              not_positive, too_many_places
    unit_price            negative, too_many_places
    tax_rate              negative, invalid, too_many_places
    account_code          required, reference, parent_account, account_closed
    amount                not_positive, too_many_places
    settles               not_found, not_posted, mismatch, not_positive, overpaid, overallocated
    bank_account          reference, parent_account, account_closed
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.ledger.models import (
    AMOUNT,
    INVOICE_KINDS,
    PAYMENT_KINDS,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
)
from engine.limits import check_date, check_record, within_limits
from engine.problems import Problem

CENT = Decimal(1).scaleb(-AMOUNT)   # the smallest amount the books keep (4 places)
LIMIT = Decimal(10) ** 14           # far beyond any real amount, inside the 64-bit column at 4 places
QUANTITY_PLACES = 4                 # an invoice line's quantity and tax rate
ZERO = Decimal(0)


@dataclass(frozen=True)
class Line:
    """A line to post: an account by its code, and a debit or a credit."""

    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    contact_id: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    """What the rules need to know of an account a line names (looked up by the service)."""

    id: int
    code: str
    name: str
    active: bool
    has_children: bool


@dataclass(frozen=True)
class LineIn:
    """An invoice (or bill) line as typed."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    account_code: str
    tax_rate: Decimal = ZERO
    item_id: int | None = None


def _places(amount: Decimal, places: int) -> bool:
    """Whether `amount` has at most `places` decimals."""
    scaled = amount.scaleb(places)
    return scaled == scaled.to_integral_value()


# -- journal entries ----------------------------------------------------------------------

def check_lines(lines: Sequence[Line]) -> list[Problem]:
    """The problems an entry's lines have whatever the chart holds: two lines at least, an
    account on each, one side per line, amounts in range and to 4 places, debits equal to
    credits."""
    problems = [] if len(lines) >= 2 else [Problem("entry", "too_few_lines", "an entry needs at least two lines")]
    for n, line in enumerate(lines, start=1):
        if not (line.account or "").strip():
            problems.append(Problem("account", "required", "give the account (its code)", n))
        for side, amount in (("debit", line.debit), ("credit", line.credit)):
            if amount < 0:
                problems.append(Problem(side, "negative", f"a {side} cannot be below zero", n))
            elif amount >= LIMIT:
                problems.append(Problem(side, "too_large", f"{amount} is too large", n))
            elif amount != amount.quantize(CENT):
                problems.append(Problem(side, "too_many_places", f"{amount} has more than {AMOUNT} decimal places",
                                        n))
        if (line.debit > 0) == (line.credit > 0):
            problems.append(Problem("debit", "one_side", "give either a debit or a credit", n))
    debits, credits = sum((x.debit for x in lines), ZERO), sum((x.credit for x in lines), ZERO)
    if debits != credits:
        problems.append(Problem("entry", "unbalanced", f"the entry does not balance: debits {debits} and credits "
                                                       f"{credits} differ by {debits - credits}"))
    return problems


def check_accounts(lines: Sequence[Line], accounts: Mapping[str, AccountFacts], closing: bool = False,
                   field: str = "account") -> list[Problem]:
    """Each line's account exists, is open to postings and has no sub-accounts (`accounts`:
    the chart's facts by code, looked up by the caller). A closing entry may still empty an
    account closed to new postings. `field`: the name the caller's door knows it by."""
    problems = []
    for n, line in enumerate(lines, start=1):
        if not (line.account or "").strip():
            continue   # (check_lines: required)
        problems += account_problems(line.account, accounts.get(line.account), n, closing, field)
    return problems


def account_problems(code: str, account: AccountFacts | None, line: int | None = None, closing: bool = False,
                     field: str = "account") -> list[Problem]:
    """Why an account cannot take a posting (none: it can)."""
    if account is None:
        return [Problem(field, "reference", f"there is no account {code!r}", line)]
    if not account.active and not closing:
        return [Problem(field, "account_closed", f"account {code} is closed to postings", line)]
    if account.has_children:
        return [Problem(field, "parent_account", f"account {code} ({account.name}) has sub-accounts; "
                                                 "post to one of them", line)]
    return []


def check_entry(lines: Sequence[Line], accounts: Mapping[str, AccountFacts], closing: bool = False) -> list[Problem]:
    """Every problem of an entry's lines, the accounts given (see `check_accounts`)."""
    return check_accounts(lines, accounts, closing) + check_lines(lines)


def entry_limits(problems: list[Problem], entry_date: date | None, memo: str | None,
                 lines: Sequence[Line]) -> list[Problem]:
    """`problems` and what the entry's date, memo and lines' values break of their columns'
    limits (see engine.limits): a 100 KB memo, a tab in a description, the year 20026."""
    problems = within_limits(problems, JournalEntry, {"entry_date": entry_date, "memo": memo})
    for n, line in enumerate(lines, start=1):
        problems = within_limits(problems, JournalLine, {"description": line.description, "debit": line.debit,
                                                         "credit": line.credit}, n)
    return problems


def period_problems(on: date, period: object | None, field: str = "entry_date") -> list[Problem]:
    """Why nothing can be posted dated `on` (`period`: the fiscal period holding it, with its
    name and status, or None)."""
    if period is None:
        return [Problem(field, "no_period", f"there is no fiscal period for {on}; open the year first "
                                            f"(`backoffice ledger periods {on.year}`)")]
    if period.status == "closed":
        return [Problem(field, "period_closed", f"period {period.name} is closed: nothing can be posted dated "
                                                f"{on}; post it in an open period, or ask an accountant to reopen "
                                                "the period")]
    return []


def check_year(year: int) -> list[Problem]:
    if not 1900 <= year <= 9998:
        return [Problem("year", "invalid", f"{year} is not a year the books can be kept for")]
    return []


def check_range(start: date, end: date) -> list[Problem]:
    """A report's span of days: both days within the dates the books keep (a report also
    looks at the span before it), the start not after the end."""
    problems = check_date("start", start) + check_date("end", end)
    if not problems and start > end:
        return [Problem("end", "before_start", f"the start date {start} is after the end date {end}")]
    return problems


# -- invoices and bills -------------------------------------------------------------------

def check_invoice_header(kind: str | None, issued_on: date | None, due_on: date | None) -> list[Problem]:
    """What belongs to the invoice as a whole: its kind, and a due date not before its date."""
    problems = []
    if kind is not None and kind not in INVOICE_KINDS:
        problems.append(Problem("kind", "invalid", f"{kind!r} is not a kind of invoice: {' or '.join(INVOICE_KINDS)}"))
    if issued_on is not None and due_on is not None and due_on < issued_on:
        problems.append(Problem("due_on", "before_issued", "the due date comes before the invoice date"))
    return problems


def check_invoice_line(quantity: Decimal | None, unit_price: Decimal | None, tax_rate: Decimal | None,
                       account_code: str | None, kind: str | None = None, line: int | None = None) -> list[Problem]:
    """One line of an invoice (values not given are left to whoever requires them)."""
    problems = []
    if quantity is not None:
        if quantity <= 0:
            problems.append(Problem("quantity", "not_positive", "the quantity must be more than 0", line))
        elif not _places(quantity, QUANTITY_PLACES):
            problems.append(Problem("quantity", "too_many_places",
                                    f"{quantity} has more than {QUANTITY_PLACES} decimal places", line))
    if unit_price is not None:
        if unit_price < 0:
            problems.append(Problem("unit_price", "negative", "a price cannot be below zero", line))
        elif unit_price >= LIMIT:
            problems.append(Problem("unit_price", "too_large", f"{unit_price} is too large", line))
        elif not _places(unit_price, AMOUNT):
            problems.append(Problem("unit_price", "too_many_places",
                                    f"{unit_price} has more than {AMOUNT} decimal places", line))
    if tax_rate is not None:
        if tax_rate < 0:
            problems.append(Problem("tax_rate", "negative", "a tax rate cannot be below zero", line))
        elif tax_rate >= 1:
            problems.append(Problem("tax_rate", "invalid",
                                    f"{tax_rate} is not a tax rate: type 20% (or 0.2) for twenty percent", line))
        elif not _places(tax_rate, QUANTITY_PLACES):
            problems.append(Problem("tax_rate", "too_many_places",
                                    f"{tax_rate} has more than {QUANTITY_PLACES} decimal places", line))
    # A sheet's sales line without one is booked to sales (its derive fills it in); a bill's
    # line must say where it goes. Given but blank is missing at every door.
    blank = account_code is not None and not account_code.strip()
    if blank or (account_code is None and kind == "purchase"):
        where = "(an expense, or inventory)" if kind == "purchase" else "(an income account)"
        what = "a bill's line" if kind == "purchase" else "an invoice line"
        problems.append(Problem("account_code", "required", f"{what} needs the account it is booked to {where}", line))
    return problems


def check_invoice(kind: str, issued_on: date, due_on: date, lines: Sequence[LineIn]) -> list[Problem]:
    """Every problem of an invoice that needs no database."""
    problems = check_record(Invoice, {"issued_on": issued_on, "due_on": due_on})
    if not problems:
        problems = check_invoice_header(kind, issued_on, due_on)
    if not lines:
        problems.append(Problem("", "too_few_lines", "an invoice needs at least one line"))
    for n, line in enumerate(lines, start=1):
        problems = within_limits(
            problems + check_invoice_line(line.quantity, line.unit_price, line.tax_rate, line.account_code or "",
                                          kind, n),
            InvoiceLine, {"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price,
                          "tax_rate": line.tax_rate, "account_code": line.account_code}, n)
    return problems


def invoice_reference_limits(problems: list[Problem], reference: str | None) -> list[Problem]:
    return within_limits(problems, Invoice, {"reference": reference})


def payment_limits(problems: list[Problem], paid_on: date | None, reference: str | None) -> list[Problem]:
    return within_limits(problems, Payment, {"paid_on": paid_on, "reference": reference})


# -- payments -----------------------------------------------------------------------------

def check_payment(kind: str | None, amount: Decimal | None,
                  shares: Sequence[Decimal] = ()) -> list[Problem]:
    """A payment's own problems: its kind, an amount above zero, each share it settles above
    zero, and no more settled than was paid."""
    problems = []
    if kind is not None and kind not in PAYMENT_KINDS:
        problems.append(Problem("kind", "invalid", f"{kind!r} is not a kind of payment: {' or '.join(PAYMENT_KINDS)}"))
    if amount is not None:
        if amount <= 0:
            problems.append(Problem("amount", "not_positive", "a payment is more than 0"))
        elif amount >= LIMIT:
            problems.append(Problem("amount", "too_large", f"{amount} is too large"))
        elif not _places(amount, AMOUNT):
            problems.append(Problem("amount", "too_many_places", f"{amount} has more than {AMOUNT} decimal places"))
    for n, share in enumerate(shares, start=1):
        if share <= 0:
            problems.append(Problem("settles", "not_positive", f"the amount settled ({share}) must be more than 0", n))
        elif not _places(share, AMOUNT):
            problems.append(Problem("settles", "too_many_places", f"{share} has more than {AMOUNT} decimal places", n))
    if amount is not None and sum(shares, ZERO) > amount:
        problems.append(Problem("settles", "overallocated", "more is allocated to invoices than was paid"))
    return problems


def settlement_problems(number: str, share: Decimal, owed: Decimal, line: int | None = None) -> list[Problem]:
    """Settling `share` of an invoice on which `owed` is still open."""
    if owed <= 0:
        return [Problem("settles", "overpaid", f"{number}: nothing is open on it any more", line)]
    if share > owed:
        return [Problem("settles", "overpaid", f"{number}: {share} is more than is open ({owed})", line)]
    return []
