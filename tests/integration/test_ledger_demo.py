"""The demo's books, built on SQLite and PostgreSQL: a year of entries that the services
accepted, a trial balance at zero, closed months that refuse postings, open months that take
them, and customers who still owe money (some of it long overdue)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.demo import build_demo
from engine.errors import ValidationFailed
from engine.ledger.chart import ROLES
from engine.ledger.demo import END, START
from engine.ledger.models import Account, FiscalPeriod, JournalEntry, JournalLine
from engine.ledger.services import Line, balances, post_entry
from engine.security.roles import SYSTEM


def test_the_demo_books_balance_close_the_old_months_and_leave_customers_owing(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        created = build_demo(session).created
    assert 200 <= created["journal entries"] <= 800

    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(JournalEntry.id))) == created["journal entries"]
        first, last = session.execute(sa.select(sa.func.min(JournalEntry.entry_date),
                                                sa.func.max(JournalEntry.entry_date))
                                      .where(JournalEntry.source == "demo")).one()
        assert first == START and START <= last <= END
        assert sum(balances(session, END).values(), D(0)) == 0
        statuses = dict(session.execute(sa.select(FiscalPeriod.name, FiscalPeriod.status)).all())
        assert statuses["2026-07"] == "closed" and statuses["2026-08"] == statuses["2026-11"] == "open"
        receivable = (sa.select(JournalLine.contact_id, sa.func.sum(JournalLine.debit - JournalLine.credit))
                      .join(Account, Account.id == JournalLine.account_id)
                      .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                      .where(Account.code == ROLES["receivables"]).group_by(JournalLine.contact_id))
        owing = {c: balance for c, balance in session.execute(receivable) if balance}
        assert len(owing) >= 5 and None not in owing
        # owing more than was sold to them in the last 60 days: the aging report's overdue
        recent = dict(session.execute(
            receivable.with_only_columns(JournalLine.contact_id, sa.func.sum(JournalLine.debit))
            .where(JournalEntry.entry_date > END - timedelta(days=60))).all())
        assert sum(1 for c, balance in owing.items() if balance > recent.get(c, 0)) >= 3

    rent = [Line("6200", debit=D("10")), Line(ROLES["bank"], credit=D("10"))]
    with pytest.raises(ValidationFailed, match="period 2026-07 is closed"):
        with db.unit_of_work(SYSTEM) as session:
            post_entry(session, SYSTEM, date(2026, 7, 15), rent)
    with db.unit_of_work(SYSTEM) as session:
        post_entry(session, SYSTEM, date(2026, 8, 15), rent)
