"""Read functions of the ledger for every door: the chart, the periods, a posted entry.

Each takes the acting user and checks that they may read the ledger, so a door (the CLI,
later the API) only asks and renders. The reports are in `reports.py`, invoices' aging and
statements in `invoices.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.ledger.models import Account, FiscalPeriod, JournalEntry, JournalLine
from engine.ledger.services import AREA
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


def chart(session: Session, actor: Actor) -> list[ChartRow]:
    """The chart of accounts in code order, each with its place in the tree."""
    actor.require("read", AREA)
    accounts = list(session.scalars(select(Account).order_by(Account.code)))
    codes = {a.id: a.code for a in accounts}
    parents = {a.code: codes.get(a.parent_id) for a in accounts}
    headings = set(parents.values())

    def depth(code: str | None) -> int:
        return 0 if parents.get(code) is None else 1 + depth(parents[code])

    return [ChartRow(a.code, a.name, a.type, parents[a.code], a.active, a.code not in headings, depth(a.code))
            for a in accounts]


@dataclass(frozen=True)
class PeriodRow:
    name: str
    starts_on: date
    ends_on: date
    status: str
    closing_entry: str | None   # the number of its closing entry, once closed


def periods(session: Session, actor: Actor) -> list[PeriodRow]:
    """Every fiscal period, in order, with its status and closing entry."""
    actor.require("read", AREA)
    return [PeriodRow(p.name, p.starts_on, p.ends_on, p.status, number)
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
                      for x, code, name in rows])
