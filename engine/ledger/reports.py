"""Ledger reports: trial balance, general ledger, profit and loss, balance sheet.

Pure queries (nothing is written) returning frozen dataclasses, each for an acting user who
must be allowed to read the ledger (checked here, so no door can forget it), so the CLI, the workbooks
and later the API all show the same numbers. Amounts are the exact Decimals of the books
(4 places); rounding to cents is left to whoever displays them, so totals never drift from
the sum of their rows.

Every figure comes from one aggregate, `_net` (debits minus credits per account over a date
range), so the reports cannot disagree with each other: the balance sheet balances because
every entry balances, not because a plug figure is added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.errors import NotFound, ValidationFailed
from engine.formats import exact_money
from engine.ledger import rules
from engine.ledger.chart import CASH_ROLES, ROLES
from engine.ledger.models import DEBIT_NORMAL, Account, JournalEntry, JournalLine
from engine.security.roles import Actor

AREA = "ledger"

ZERO = Decimal(0)


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


@dataclass(frozen=True)
class LedgerLine:
    entry_date: date
    number: str
    memo: str
    description: str | None
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass(frozen=True)
class GeneralLedger:
    code: str
    name: str
    opening: Decimal
    lines: list[LedgerLine]
    closing: Decimal


@dataclass(frozen=True)
class PnLRow:
    code: str
    name: str
    amount: Decimal
    previous: Decimal


@dataclass(frozen=True)
class ProfitAndLoss:
    start: date
    end: date
    previous_start: date
    previous_end: date
    income: list[PnLRow]
    expenses: list[PnLRow]
    total_income: Decimal
    total_expenses: Decimal
    result: Decimal
    previous_result: Decimal


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    amount: Decimal


@dataclass(frozen=True)
class BalanceSheet:
    as_of: date
    assets: list[Row]
    liabilities: list[Row]
    equity: list[Row]
    current_earnings: Decimal
    total_assets: Decimal
    total_liabilities_and_equity: Decimal


def _net(session: Session, start: date | None = None, end: date | None = None,
         without_closing: bool = False) -> dict[int, Decimal]:
    """Account id -> debits minus credits of the entries dated in [start, end] (open ends
    allowed). `without_closing` leaves out closing entries and the reversals that undo them
    on reopening, because a P&L must show what a period earned, not that it was closed."""
    query = (select(JournalLine.account_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
             .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
             .group_by(JournalLine.account_id))
    if start is not None:
        query = query.where(JournalEntry.entry_date >= start)
    if end is not None:
        query = query.where(JournalEntry.entry_date <= end)
    if without_closing:
        reversed_entry = aliased(JournalEntry)
        query = (query.outerjoin(reversed_entry, reversed_entry.id == JournalEntry.reverses_id)
                 .where(JournalEntry.source != "close",
                        or_(reversed_entry.id.is_(None), reversed_entry.source != "close")))
    return {account: (debit or ZERO) - (credit or ZERO) for account, debit, credit in session.execute(query)}


def _accounts(session: Session) -> dict[int, Account]:
    return {a.id: a for a in session.scalars(select(Account).order_by(Account.code))}


def _shown(account: Account, net: Decimal) -> Decimal:
    """A balance on the side that increases the account, so normal balances are positive."""
    return net if account.type in DEBIT_NORMAL else -net


def trial_balance(session: Session, actor: Actor, as_of: date) -> TrialBalance:
    """Every account with a posting up to `as_of` (inclusive), its balance in the debit or
    the credit column. Closing entries are included: this is the books as they stand."""
    actor.require("read", AREA)
    accounts, net = _accounts(session), _net(session, end=as_of)
    rows = [TrialBalanceRow(a.code, a.name, a.type, debit=max(net[i], ZERO), credit=max(-net[i], ZERO))
            for i, a in accounts.items() if i in net]
    return TrialBalance(rows, total_debit=sum((r.debit for r in rows), ZERO),
                        total_credit=sum((r.credit for r in rows), ZERO))


def general_ledger(session: Session, actor: Actor, account_code: str, start: date, end: date) -> GeneralLedger:
    """The postings of one account between `start` and `end` (inclusive) with a running
    balance (debits minus credits) carried from everything posted before `start`."""
    actor.require("read", AREA)
    _check_range(start, end)
    account = session.scalars(select(Account).where(Account.code == account_code)).first()
    if account is None:
        raise NotFound(f"there is no account {account_code!r}", field="account")
    opening = _net(session, end=start - timedelta(days=1)).get(account.id, ZERO)
    postings = session.execute(
        select(JournalEntry.entry_date, JournalEntry.number, JournalEntry.memo, JournalLine.description,
               JournalLine.debit, JournalLine.credit)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id == account.id, JournalEntry.entry_date >= start,
               JournalEntry.entry_date <= end)
        .order_by(JournalEntry.entry_date, JournalEntry.number, JournalLine.line_number))
    lines, balance = [], opening
    for on, number, memo, description, debit, credit in postings:
        balance += debit - credit
        lines.append(LedgerLine(on, number, memo, description, debit, credit, balance))
    return GeneralLedger(account.code, account.name, opening, lines, closing=balance)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before `start`. Whole calendar months compare with
    as many whole months before (March with February, a quarter with the quarter before),
    which equal day counts would not give; any other range with the same number of days."""
    _check_range(start, end)
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    return start - timedelta(days=(end - start).days + 1), start - timedelta(days=1)


def profit_and_loss(session: Session, actor: Actor, start: date, end: date) -> ProfitAndLoss:
    """Income and expenses of [start, end] beside those of the previous period. Closing
    entries (and their reversals on reopening) are left out, so a closed month still shows
    what it earned. Income and expenses are both shown positive; result = income - expenses."""
    actor.require("read", AREA)
    previous_start, previous_end = previous_period(start, end)
    accounts = _accounts(session)
    now = _net(session, start, end, without_closing=True)
    before = _net(session, previous_start, previous_end, without_closing=True)
    sections: dict[str, list[PnLRow]] = {"income": [], "expense": []}
    for i, account in accounts.items():
        if account.type in sections and (i in now or i in before):
            sections[account.type].append(PnLRow(account.code, account.name, _shown(account, now.get(i, ZERO)),
                                                 _shown(account, before.get(i, ZERO))))
    income, expenses = sections["income"], sections["expense"]
    total_income = sum((r.amount for r in income), ZERO)
    total_expenses = sum((r.amount for r in expenses), ZERO)
    previous_result = sum((r.previous for r in income), ZERO) - sum((r.previous for r in expenses), ZERO)
    return ProfitAndLoss(start, end, previous_start, previous_end, income, expenses, total_income,
                         total_expenses, result=total_income - total_expenses, previous_result=previous_result)


def balance_sheet(session: Session, actor: Actor, as_of: date) -> BalanceSheet:
    """Assets against liabilities and equity at `as_of` (inclusive), closing entries included.

    `current_earnings` is what income and expense accounts still hold (credits minus debits):
    the result not yet closed into retained earnings. Since every entry's debits equal its
    credits, the balances of all accounts sum to zero, hence assets = liabilities + equity +
    current earnings with no adjustment; accounts whose balance is zero are not listed.
    """
    actor.require("read", AREA)
    accounts, net = _accounts(session), _net(session, end=as_of)
    sections: dict[str, list[Row]] = {"asset": [], "liability": [], "equity": []}
    current_earnings = ZERO
    for i, balance in net.items():
        account = accounts[i]
        if account.type in sections:
            if balance:
                sections[account.type].append(Row(account.code, account.name, _shown(account, balance)))
        else:
            current_earnings -= balance
    for rows in sections.values():
        rows.sort(key=lambda r: r.code)
    assets, liabilities, equity = sections["asset"], sections["liability"], sections["equity"]
    return BalanceSheet(as_of, assets, liabilities, equity, current_earnings,
                        total_assets=sum((r.amount for r in assets), ZERO),
                        total_liabilities_and_equity=sum((r.amount for r in liabilities + equity), ZERO)
                        + current_earnings)


@dataclass(frozen=True)
class PeriodResult:
    """Income, expenses and their result over one span, as `profit_and_loss` totals them."""

    start: date
    end: date
    income: Decimal
    expenses: Decimal

    @property
    def result(self) -> Decimal:
        return self.income - self.expenses


def results_by_period(session: Session, actor: Actor, spans: list[tuple[date, date]]) -> list[PeriodResult]:
    """Total income and expenses of each span (the months of a chart), closing entries left
    out as in `profit_and_loss`, whose totals these are."""
    actor.require("read", AREA)
    accounts, found = _accounts(session), []
    for start, end in spans:
        _check_range(start, end)
        totals = {"income": ZERO, "expense": ZERO}
        for i, net in _net(session, start, end, without_closing=True).items():
            if accounts[i].type in totals:
                totals[accounts[i].type] += _shown(accounts[i], net)
        found.append(PeriodResult(start, end, totals["income"], totals["expense"]))
    return found


def books_start(session: Session, actor: Actor) -> date | None:
    """The date of the first entry in the books (None while they are empty): a comparison
    with a month before it has nothing to compare with."""
    actor.require("read", AREA)
    return session.scalar(select(func.min(JournalEntry.entry_date)))


def cash_at(session: Session, actor: Actor, as_of: date) -> Decimal:
    """The money held at the end of `as_of`: the balance of the bank and cash accounts
    (`chart.CASH_ROLES`), closing entries included, as the balance sheet shows them."""
    actor.require("read", AREA)
    codes = {ROLES[role] for role in CASH_ROLES}
    accounts, net = _accounts(session), _net(session, end=as_of)
    return sum((balance for i, balance in net.items() if accounts[i].code in codes), ZERO)


def _check_range(start: date, end: date) -> None:
    problems = rules.check_range(start, end)
    if problems:
        raise ValidationFailed(problems)


def exact(data: Any) -> Any:
    """Report data as JSON-ready values for the doors that answer in JSON (the CLI's --json,
    the HTTP API): every amount an exact string to the 4 places kept, so both show the same
    text for the same number and a script never sees a float."""
    if is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    if isinstance(data, dict):
        return {k: exact(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [exact(v) for v in data]
    return exact_money(data) if isinstance(data, Decimal) else data
