"""Posting to the ledger: journal entries, reversals, fiscal periods, closing and reopening.

Every door (CLI, workbook, invoices, stock postings, later the add-in and API) posts through
`post_entry`, inside the caller's unit of work. An entry is posted only if it balances, its
accounts exist, are active and take postings (leaf accounts), and its date falls in an open
period; otherwise `ValidationFailed` lists every problem and nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, ValidationFailed
from engine.ledger.models import (
    AMOUNT,
    Account,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    LedgerCounter,
)
from engine.security.roles import Actor

AREA = "ledger"
CENT = Decimal(1).scaleb(-AMOUNT)
LIMIT = Decimal(10) ** 14  # far beyond any real amount, inside the 64-bit column at 4 places


@dataclass(frozen=True)
class Line:
    """A line to post: an account by its code, and a debit or a credit."""

    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    contact_id: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class EntryProblem:
    """One reason an entry is refused, with the line (1-based; None: the entry as a whole)
    and the field it is about, so a workbook can mark the very cell."""

    message: str
    line: int | None = None
    field: str | None = None    # account, debit, credit, contact_id or entry_date

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class EntryRefused(ValidationFailed):
    """`post_entry` refused an entry; `found` holds every problem with its line and field."""

    def __init__(self, found: list[EntryProblem]):
        self.found = found
        super().__init__([str(p) for p in found])


def post_entry(session: Session, actor: Actor, entry_date: date, lines: list[Line], memo: str = "",
               source: str = "manual", reverses_id: int | None = None) -> JournalEntry:
    """Post a balanced entry; returns it (numbered JE-YYYY-NNNNN)."""
    actor.require("write", AREA)
    accounts = _accounts(session, {line.account for line in lines})
    contacts = {x.contact_id for x in lines if x.contact_id is not None}
    known = set(session.scalars(select(Contact.id).where(Contact.id.in_(contacts)))) if contacts else set()
    problems = [EntryProblem(f"there is no contact {x.contact_id}", n, "contact_id")
                for n, x in enumerate(lines, start=1) if x.contact_id is not None and x.contact_id not in known]
    problems += check_entry(lines, accounts, closing=source == "close") + _period_problems(session, entry_date)
    if problems:
        raise EntryRefused(problems)
    entry = JournalEntry(number=_next_number(session, f"JE-{entry_date.year}"), entry_date=entry_date, memo=memo,
                         source=source, reverses_id=reverses_id, updated_by=actor.login)
    session.add(entry)
    session.flush()
    session.add_all([
        JournalLine(entry_id=entry.id, line_number=n, account_id=accounts[line.account].id, debit=line.debit,
                    credit=line.credit, contact_id=line.contact_id, description=line.description,
                    updated_by=actor.login)
        for n, line in enumerate(lines, start=1)])
    session.flush()
    return entry


def check_entry(lines: list[Line], accounts: dict[str, Account], closing: bool = False) -> list[EntryProblem]:
    """Every problem of an entry's lines (pure: the accounts are looked up by the caller).
    A closing entry may still empty an account closed to new postings."""
    problems = []
    for n, line in enumerate(lines, start=1):
        account = accounts.get(line.account)
        if account is None:
            problems.append(EntryProblem(f"there is no account {line.account!r}", n, "account"))
        elif not account.active and not closing:
            problems.append(EntryProblem(f"account {line.account} is closed to postings", n, "account"))
        elif getattr(account, "has_children", False):
            problems.append(EntryProblem(f"account {line.account} ({account.name}) has sub-accounts; "
                                         "post to one of them", n, "account"))
    return problems + check_lines(lines)


def check_lines(lines: list[Line]) -> list[EntryProblem]:
    """The problems an entry's lines have whatever the chart holds: two lines at least, one
    side per line, amounts in range and in cents (to 4 places), debits equal to credits."""
    problems = [] if len(lines) >= 2 else [EntryProblem("an entry needs at least two lines")]
    for n, line in enumerate(lines, start=1):
        for side, amount in (("debit", line.debit), ("credit", line.credit)):
            if amount < 0:
                problems.append(EntryProblem(f"a {side} cannot be below zero", n, side))
            elif amount >= LIMIT:
                problems.append(EntryProblem(f"{amount} is too large", n, side))
            elif amount != amount.quantize(CENT):
                problems.append(EntryProblem(f"{amount} has more than {AMOUNT} decimal places", n, side))
        if (line.debit > 0) == (line.credit > 0):
            problems.append(EntryProblem("give either a debit or a credit", n, "debit"))
    debits, credits = sum((x.debit for x in lines), Decimal(0)), sum((x.credit for x in lines), Decimal(0))
    if debits != credits:
        problems.append(EntryProblem(f"the entry does not balance: debits {debits} and credits {credits} "
                                     f"differ by {debits - credits}"))
    return problems


def _accounts(session: Session, codes: set[str]) -> dict[str, Account]:
    found = {a.code: a for a in session.scalars(select(Account).where(Account.code.in_(codes)))}
    parents = set(session.scalars(select(Account.parent_id).where(Account.parent_id.in_([a.id for a in found.values()]))))
    for account in found.values():
        account.has_children = account.id in parents  # (not a column: looked up with the accounts)
    return found


def _period_problems(session: Session, on: date) -> list[EntryProblem]:
    period = period_of(session, on)
    if period is None:
        return [EntryProblem(f"there is no fiscal period for {on}; open the year first "
                             f"(`backoffice ledger periods {on.year}`)", field="entry_date")]
    if period.status == "closed":
        return [EntryProblem(f"period {period.name} is closed: nothing can be posted dated {on}; "
                             "post it in an open period, or ask an accountant to reopen the period",
                             field="entry_date")]
    return []


def period_of(session: Session, on: date) -> FiscalPeriod | None:
    return session.scalars(select(FiscalPeriod).where(FiscalPeriod.starts_on <= on, FiscalPeriod.ends_on >= on)
                           .with_for_update(read=True)).first()


def _next_number(session: Session, series: str) -> str:
    """The next number of a series, under a row lock: two postings never share a number."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(LedgerCounter.__table__).values(series=series, last=0).on_conflict_do_nothing())
    counter = session.scalars(select(LedgerCounter).where(LedgerCounter.series == series).with_for_update()
                              .execution_options(populate_existing=True)).one()
    counter.last += 1
    return f"{series}-{counter.last:05d}"


def reverse_entry(session: Session, actor: Actor, entry_id: int, entry_date: date | None = None,
                  memo: str | None = None) -> JournalEntry:
    """Post the mirror of an entry (debits and credits swapped), dated `entry_date` (default:
    the original's date). Each entry is reversed at most once."""
    actor.require("write", AREA)
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise NotFound(f"no journal entry {entry_id}")
    if original.source == "close":
        raise ValidationFailed([f"entry {original.number} closes a period: reopen the period instead "
                                "(`backoffice ledger reopen`), which reverses it"])
    already = session.scalars(select(JournalEntry.number).where(JournalEntry.reverses_id == entry_id)).first()
    if already is not None:
        raise ValidationFailed([f"entry {original.number} was already reversed by {already}"])
    return post_entry(session, actor, entry_date or original.entry_date, _mirror_lines(session, entry_id),
                      memo=memo or f"reverses {original.number}", source="reversal", reverses_id=entry_id)


def _mirror_lines(session: Session, entry_id: int) -> list[Line]:
    """An entry's lines with debits and credits swapped: what undoes it."""
    codes = dict(session.execute(select(Account.id, Account.code)).all())
    return [Line(codes[x.account_id], debit=x.credit, credit=x.debit, contact_id=x.contact_id,
                 description=x.description)
            for x in session.scalars(select(JournalLine).where(JournalLine.entry_id == entry_id)
                                     .order_by(JournalLine.line_number))]


# -- periods ------------------------------------------------------------------------------

def open_year(session: Session, actor: Actor, year: int) -> list[FiscalPeriod]:
    """Create the twelve monthly periods of `year` (those missing), open."""
    actor.require("write", AREA)
    if not 1900 <= year <= 9998:
        raise ValidationFailed([f"{year} is not a year the books can be kept for"])
    existing = set(session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.name.like(f"{year}-%"))))
    made = []
    for month in range(1, 13):
        name = f"{year}-{month:02d}"
        if name in existing:
            continue
        start = date(year, month, 1)
        end = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        made.append(FiscalPeriod(name=name, starts_on=start, ends_on=end, status="open", updated_by=actor.login))
    session.add_all(made)
    session.flush()
    return made


def close_period(session: Session, actor: Actor, name: str, retained_earnings: str) -> FiscalPeriod:
    """Post the closing entry (the period's income and expenses into retained earnings) and
    close the period. Earlier periods must be closed first, so the books close in order."""
    actor.require("write", AREA)
    period = _period(session, name)
    if period.status == "closed":
        raise ValidationFailed([f"period {name} is closed already"])
    earlier = session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.ends_on < period.starts_on,
                                                              FiscalPeriod.status == "open")
                              .order_by(FiscalPeriod.starts_on)).first()
    if earlier is not None:
        raise ValidationFailed([f"period {earlier} is still open: close the periods in order"])
    lines = _closing_lines(session, period, retained_earnings)
    if lines:
        entry = post_entry(session, actor, period.ends_on, lines, memo=f"closing {name}", source="close")
        period.closing_entry_id = entry.id
    period.status = "closed"
    period.updated_by = actor.login
    session.flush()
    return period


def _closing_lines(session: Session, period: FiscalPeriod, retained_earnings: str) -> list[Line]:
    """Lines that bring every income and expense account of the period to zero."""
    totals = session.execute(
        select(Account.code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalLine, JournalLine.account_id == Account.id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(Account.type.in_(("income", "expense")), JournalEntry.entry_date >= period.starts_on,
               JournalEntry.entry_date <= period.ends_on)  # an earlier closing was reversed on reopening
        .group_by(Account.code).order_by(Account.code)).all()
    lines, net = [], Decimal(0)
    for code, debit, credit in totals:
        balance = (debit or Decimal(0)) - (credit or Decimal(0))
        if balance > 0:
            lines.append(Line(code, credit=balance, description="closing"))
        elif balance < 0:
            lines.append(Line(code, debit=-balance, description="closing"))
        net += balance
    if not lines:
        return []
    lines.append(Line(retained_earnings, debit=net, description="result of the period") if net > 0 else
                 Line(retained_earnings, credit=-net, description="result of the period"))
    return [x for x in lines if x.debit or x.credit]


def _reverse_closing(session: Session, actor: Actor, period: FiscalPeriod) -> None:
    """The one way a closing entry is undone (reverse_entry refuses it): by reopening."""
    entry = session.get(JournalEntry, period.closing_entry_id)
    post_entry(session, actor, entry.entry_date, _mirror_lines(session, entry.id), memo=f"reopening {period.name}",
               source="reversal", reverses_id=entry.id)


def reopen_period(session: Session, actor: Actor, name: str) -> FiscalPeriod:
    """Reopen a closed period (a role that `can` reopen-periods: accountant, admin): its
    closing entry is reversed, and later periods must be reopened first. Audited like every
    change."""
    actor.require_capability("reopen-periods")
    period = _period(session, name)
    if period.status != "closed":
        raise ValidationFailed([f"period {name} is open already"])
    later = session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.starts_on > period.ends_on,
                                                            FiscalPeriod.status == "closed")
                            .order_by(FiscalPeriod.starts_on.desc())).first()
    if later is not None:
        raise ValidationFailed([f"period {later} is closed after it: reopen that first"])
    period.status = "open"
    period.updated_by = actor.login
    session.flush()
    if period.closing_entry_id is not None:
        _reverse_closing(session, actor, period)
        period.closing_entry_id = None
    session.flush()
    return period


def _period(session: Session, name: str) -> FiscalPeriod:
    period = session.scalars(select(FiscalPeriod).where(FiscalPeriod.name == name).with_for_update()).first()
    if period is None:
        raise NotFound(f"there is no period {name!r} (periods are named like 2026-03)")
    return period


def balances(session: Session, as_of: date) -> dict[int, Decimal]:
    """Account id -> debits minus credits of every entry up to `as_of` (inclusive)."""
    rows = session.execute(
        select(JournalLine.account_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.entry_date <= as_of).group_by(JournalLine.account_id)).all()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for account, debit, credit in rows:
        totals[account] = (debit or Decimal(0)) - (credit or Decimal(0))
    return dict(totals)
