"""Posting to the ledger: journal entries, reversals, fiscal periods, closing and reopening.

Every door (CLI, workbook, invoices, stock postings, later the add-in and API) posts through
`post_entry`, inside the caller's unit of work. An entry is posted only if it balances, its
accounts exist, are active and take postings (leaf accounts), and its date falls in an open
period; otherwise `ValidationFailed` lists every problem and nothing is written. Each problem
carries its field, a stable code and the line it is about (`engine.ledger.rules` lists them):
the rules that need no database are there, the checks that do (accounts, contacts, periods,
what was reversed) here, reported the same way, so every door places a refusal alike.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.db.upsert import insert_missing
from engine.errors import NotFound, ValidationFailed
from engine.ledger import rules
from engine.ledger.models import (
    Account,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    LedgerCounter,
)
from engine.ledger.rules import AccountFacts, Line
from engine.problems import Problem
from engine.security.roles import Actor

AREA = "ledger"


def post_entry(session: Session, actor: Actor, entry_date: date, lines: list[Line], memo: str = "",
               source: str = "manual", reverses_id: int | None = None) -> JournalEntry:
    """Post a balanced entry; returns it (numbered JE-YYYY-NNNNN). Refused with
    `ValidationFailed` naming every problem (field, code, line: see `engine.ledger.rules`)."""
    actor.require("write", AREA)
    accounts = account_facts(session, {line.account for line in lines})
    problems = rules.entry_limits(rules.check_entry(lines, accounts, closing=source == "close"), entry_date, memo,
                                  lines)
    problems += contact_problems(session, lines)
    if not any(p.field == "entry_date" for p in problems):    # (a date out of range has no period)
        problems += rules.period_problems(entry_date, period_of(session, entry_date))
    if problems:
        raise ValidationFailed(_in_line_order(problems))
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


def _in_line_order(problems: list[Problem]) -> list[Problem]:
    """Problems of the lines first, by line, then those of the entry as a whole."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def contact_problems(session: Session, lines: list[Line]) -> list[Problem]:
    """Lines naming a contact that does not exist."""
    wanted = {x.contact_id for x in lines if x.contact_id is not None}
    known = set(session.scalars(select(Contact.id).where(Contact.id.in_(wanted)))) if wanted else set()
    return [Problem("contact_id", "reference", f"there is no contact {x.contact_id}", n)
            for n, x in enumerate(lines, start=1) if x.contact_id is not None and x.contact_id not in known]


def account_facts(session: Session, codes: set[str]) -> dict[str, AccountFacts]:
    """The accounts of these codes (those that exist), with whether each has sub-accounts."""
    found = list(session.scalars(select(Account).where(Account.code.in_(codes)))) if codes else []
    parents = set(session.scalars(select(Account.parent_id).where(Account.parent_id.in_([a.id for a in found]))))
    return {a.code: AccountFacts(a.id, a.code, a.name, a.active, a.id in parents) for a in found}


def period_of(session: Session, on: date) -> FiscalPeriod | None:
    return session.scalars(select(FiscalPeriod).where(FiscalPeriod.starts_on <= on, FiscalPeriod.ends_on >= on)
                           .with_for_update(read=True)).first()


def _next_number(session: Session, series: str) -> str:
    """The next number of a series, under a row lock: two postings never share a number."""
    insert_missing(session, LedgerCounter.__table__, {"series": series, "last": 0})
    counter = session.scalars(select(LedgerCounter).where(LedgerCounter.series == series).with_for_update()
                              .execution_options(populate_existing=True)).one()
    counter.last += 1
    return f"{series}-{counter.last:05d}"


def find_entry(session: Session, actor: Actor, entry: int | str) -> JournalEntry:
    """A journal entry by its id or its number (JE-2026-00017, any case)."""
    actor.require("read", AREA)
    found = (session.get(JournalEntry, entry) if isinstance(entry, int) else
             session.scalars(select(JournalEntry).where(JournalEntry.number == entry.strip().upper())).first())
    if found is None:
        raise NotFound(f"there is no journal entry {entry!r} (entries are numbered like JE-2026-00017)",
                       field="entry")
    return found


def reverse_entry(session: Session, actor: Actor, entry_id: int | str, entry_date: date | None = None,
                  memo: str | None = None) -> JournalEntry:
    """Post the mirror of an entry (debits and credits swapped), dated `entry_date` (default:
    the original's date). The entry is given by id or number. Each entry is reversed at
    most once; a closing entry only by reopening its period."""
    actor.require("write", AREA)
    original = find_entry(session, actor, entry_id)
    if original.source == "close":   # reversed here, its period would stay closed and could not be reopened
        raise ValidationFailed([Problem("entry", "closing_entry", f"{original.number} is a closing entry: reopen the "
                                        "period instead (`backoffice ledger reopen`), which reverses it")])
    already = session.scalars(select(JournalEntry.number).where(JournalEntry.reverses_id == original.id)).first()
    if already is not None:
        raise ValidationFailed([Problem("entry", "reversed_already",
                                        f"{original.number} was already reversed by {already}")])
    return post_entry(session, actor, entry_date or original.entry_date, _mirror_lines(session, original.id),
                      memo=memo or f"reverses {original.number}", source="reversal", reverses_id=original.id)


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
    problems = rules.check_year(year)
    if problems:
        raise ValidationFailed(problems)
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
        raise ValidationFailed([Problem("period", "period_closed", f"{name} is closed already")])
    earlier = session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.ends_on < period.starts_on,
                                                              FiscalPeriod.status == "open")
                              .order_by(FiscalPeriod.starts_on)).first()
    if earlier is not None:
        raise ValidationFailed([Problem("period", "out_of_order",
                                        f"{earlier} is still open: close the periods in order")])
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
        raise ValidationFailed([Problem("period", "period_open", f"{name} is open already")])
    later = session.scalars(select(FiscalPeriod.name).where(FiscalPeriod.starts_on > period.ends_on,
                                                            FiscalPeriod.status == "closed")
                            .order_by(FiscalPeriod.starts_on.desc())).first()
    if later is not None:
        raise ValidationFailed([Problem("period", "out_of_order", f"{later} is closed after it: reopen that first")])
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
        raise NotFound(f"there is no period {name!r} (periods are named like 2026-03)", field="period")
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
