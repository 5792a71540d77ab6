"""Ledger reports on a real SQLite file and a real PostgreSQL, checked against a small month
worked out by hand, and against beancount: the books are exported, loaded by beancount's
own loader and checker, and its balances compared with our trial balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from beancount import loader
from beancount.core import account as bc_account
from beancount.core import data, realization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import Settings
from engine.errors import NotFound, ValidationFailed
from engine.ledger.beancount import account_names, export_beancount
from engine.ledger.models import Account
from engine.ledger.reports import (
    Row,
    balance_sheet,
    general_ledger,
    previous_period,
    profit_and_loss,
    trial_balance,
)
from engine.ledger.services import (
    Line,
    close_period,
    reopen_period,
    reverse_entry,
)
from tests.integration.conftest import ACCOUNTANT, post_lines

ALEX = ACCOUNTANT
LEDGER = Settings().ledger
EUR, RETAINED = LEDGER.base_currency, LEDGER.retained_earnings
SALE_MEMO = 'Sale to "Müller & Söhne" \\ invoice 7'


post = post_lines  # one entry, posted by the accountant (see tests/integration/conftest.py)


def dr(code, amount):
    return Line(code, debit=D(amount))


def cr(code, amount):
    return Line(code, credit=D(amount))


@pytest.fixture
def month(books):
    """February sets the scene (result -200.00), March is the month reported (result 787.65)."""
    post(books, date(2026, 2, 1), dr("1100", "10000"), cr("3100", "10000"), memo="capital paid in")
    post(books, date(2026, 2, 10), dr("1300", "3000"), cr("2100", "3000"), memo="stock bought on credit")
    post(books, date(2026, 2, 20), dr("1200", "1500"), cr("4100", "1500"), memo="sale")
    post(books, date(2026, 2, 20), dr("5100", "900"), cr("1300", "900"), memo="cost of the sale")
    post(books, date(2026, 2, 27), dr("6200", "800"), cr("1100", "800"), memo="rent February")
    post(books, date(2026, 3, 2), dr("1300", "4000"), cr("2100", "4000"), memo="stock bought on credit")
    post(books, date(2026, 3, 3), dr("1200", "6050"), cr("4100", "5000"), cr("2200", "1050"), memo=SALE_MEMO)
    post(books, date(2026, 3, 3), dr("5100", "3000"), cr("1300", "3000"), memo="cost of the sale")
    post(books, date(2026, 3, 5), dr("6200", "800"), cr("1100", "800"), memo="rent March")
    post(books, date(2026, 3, 10), dr("1100", "1500"), cr("1200", "1500"), memo="customer pays")
    wrong = post(books, date(2026, 3, 12), dr("6400", "120.50"), cr("1100", "120.50"), memo="supplies (wrong)")
    with books.unit_of_work(ALEX) as session:
        reverse_entry(session, ALEX, wrong, date(2026, 3, 13))
    post(books, date(2026, 3, 15), dr("4100", "400"), dr("2200", "84"), cr("1200", "484"),
         memo="credit note: part of the sale returned")
    post(books, date(2026, 3, 20), dr("2100", "3000"), cr("1100", "3000"), memo="supplier paid")
    post(books, date(2026, 3, 31), dr("6900", "12.35"), cr("1100", "12.35"), memo="bank charges")
    return books


def close(db, *names):
    with db.unit_of_work(ALEX) as session:
        for name in names:
            close_period(session, ALEX, name, RETAINED)


MARCH = (date(2026, 3, 1), date(2026, 3, 31))
EXPECTED_BALANCES = {"1100": D("6887.65"), "1200": D("5566"), "1300": D("3100"), "2100": D("-4000"),
                     "2200": D("-966"), "3100": D("-10000"), "4100": D("-6100"), "5100": D("3900"),
                     "6200": D("1600"), "6400": D(0), "6900": D("12.35")}


def test_the_trial_balance_matches_the_month_worked_out_by_hand(month):
    with month.reading() as session:
        tb = trial_balance(session, ALEX, date(2026, 3, 31))
        february = trial_balance(session, ALEX, date(2026, 2, 28))
    assert {r.code: r.debit - r.credit for r in tb.rows} == EXPECTED_BALANCES
    assert all(r.debit >= 0 and r.credit >= 0 and not (r.debit and r.credit) for r in tb.rows)
    assert [r.code for r in tb.rows] == sorted(EXPECTED_BALANCES)
    assert tb.total_debit == tb.total_credit == D("21066.00")
    assert {r.code: (r.debit, r.credit) for r in february.rows}["1100"] == (D("9200"), D(0))
    assert february.total_debit == february.total_credit == D("14500")


def test_the_general_ledger_carries_the_opening_balance_and_runs_the_balance(month):
    with month.reading() as session:
        bank = general_ledger(session, ALEX, "1100", *MARCH)
        mid = general_ledger(session, ALEX, "1100", date(2026, 3, 11), date(2026, 3, 13))
        with pytest.raises(NotFound):
            general_ledger(session, ALEX, "9999", *MARCH)
        with pytest.raises(ValidationFailed):
            general_ledger(session, ALEX, "1100", date(2026, 3, 31), date(2026, 3, 1))
    assert (bank.code, bank.name, bank.opening) == ("1100", "Bank", D("9200"))
    assert [x.balance for x in bank.lines] == [D("8400"), D("9900"), D("9779.50"), D("9900"), D("6900"),
                                               D("6887.65")]
    assert [x.entry_date.day for x in bank.lines] == [5, 10, 12, 13, 20, 31]
    assert bank.lines[3].memo == "reverses JE-2026-00011" and bank.lines[3].debit == D("120.50")
    assert bank.closing == D("6887.65") == bank.lines[-1].balance
    assert (mid.opening, mid.closing, len(mid.lines)) == (D("9900"), D("9900"), 2)


def test_previous_period_is_the_previous_month_or_the_same_number_of_days():
    assert previous_period(*MARCH) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_period(date(2026, 1, 1), date(2026, 1, 31)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert previous_period(date(2026, 4, 1), date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert previous_period(date(2026, 3, 11), date(2026, 3, 20)) == (date(2026, 3, 1), date(2026, 3, 10))


def assert_march_pnl(db):
    with db.reading() as session:
        pnl = profit_and_loss(session, ALEX, *MARCH)
    assert (pnl.previous_start, pnl.previous_end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert [(r.code, r.amount, r.previous) for r in pnl.income] == [("4100", D("4600"), D("1500"))]
    assert [(r.code, r.amount, r.previous) for r in pnl.expenses] == [
        ("5100", D("3000"), D("900")), ("6200", D("800"), D("800")), ("6400", D(0), D(0)),
        ("6900", D("12.35"), D(0))]
    assert (pnl.total_income, pnl.total_expenses) == (D("4600"), D("3812.35"))
    assert (pnl.result, pnl.previous_result) == (D("787.65"), D("-200"))


def test_profit_and_loss_shows_the_month_beside_the_previous_one_closed_or_not(month):
    assert_march_pnl(month)
    close(month, "2026-01", "2026-02", "2026-03")
    assert_march_pnl(month)
    with month.unit_of_work(ALEX) as session:
        reopen_period(session, ALEX, "2026-03")
    assert_march_pnl(month)


def sheet(db, on=MARCH[1]):
    with db.reading() as session:
        bs = balance_sheet(session, ALEX, on)
    assert bs.total_assets == bs.total_liabilities_and_equity
    return bs


def test_the_balance_sheet_balances_before_and_after_closing(month):
    before = sheet(month)
    assert [(r.code, r.amount) for r in before.assets] == [("1100", D("6887.65")), ("1200", D("5566")),
                                                          ("1300", D("3100"))]
    assert [(r.code, r.amount) for r in before.liabilities] == [("2100", D("4000")), ("2200", D("966"))]
    assert [(r.code, r.amount) for r in before.equity] == [("3100", D("10000"))]
    assert (before.current_earnings, before.total_assets) == (D("587.65"), D("15553.65"))
    assert sheet(month, date(2026, 2, 28)).current_earnings == D("-200")

    close(month, "2026-01", "2026-02", "2026-03")
    after = sheet(month)
    assert [(r.code, r.amount) for r in after.equity] == [("3100", D("10000")), ("3200", D("587.65"))]
    assert (after.current_earnings, after.total_assets) == (D(0), D("15553.65"))
    assert sheet(month, date(2026, 2, 28)).equity[-1] == Row("3200", "Retained earnings", D("-200"))
    with month.unit_of_work(ALEX) as session:
        reopen_period(session, ALEX, "2026-03")
    reopened = sheet(month)
    assert (reopened.current_earnings, reopened.equity[-1].amount) == (D("787.65"), D("-200"))


def beancount_balances(path, currency=EUR):
    """Beancount's own account balances (via its realization) of a file it loaded cleanly."""
    entries, errors, options = loader.load_file(str(path))
    assert errors == []
    assert options["operating_currency"] == [currency]
    root = realization.realize(entries)
    balances = {}
    for real in realization.iter_children(root):
        balances[real.account] = real.balance.get_currency_units(currency).number
    return entries, balances


def assert_beancount_agrees(db, path):
    with db.reading() as session:
        written = export_beancount(session, ALEX, path, EUR)
        tb = trial_balance(session, ALEX, date(2026, 12, 31))
        names = account_names(list(session.scalars(sa.select(Account))))
    entries, theirs = beancount_balances(path)
    transactions = [e for e in entries if isinstance(e, data.Transaction)]
    assert len(transactions) == written
    ours = {names[r.code]: r.debit - r.credit for r in tb.rows}
    assert {a: b for a, b in theirs.items() if b} == {a: b for a, b in ours.items() if b}
    assert set(names.values()) <= {e.account for e in entries if isinstance(e, data.Open)}
    return transactions


def test_beancount_loads_the_export_cleanly_and_agrees_with_the_trial_balance(month, tmp_path):
    transactions = assert_beancount_agrees(month, tmp_path / "books.beancount")
    sale = next(t for t in transactions if t.meta["number"] == "JE-2026-00007")
    assert sale.narration == SALE_MEMO and sale.date == date(2026, 3, 3)
    assert [(p.account, p.units.number) for p in sale.postings] == [
        ("Assets:A1200-Accounts-receivable", D("6050")),
        ("Income:I4100-Sales", D("-5000")), ("Liabilities:L2200-VAT-payable", D("-1050"))]
    close(month, "2026-01", "2026-02", "2026-03")
    assert_beancount_agrees(month, tmp_path / "closed.beancount")
    with month.reading() as session:
        export_beancount(session, ALEX, tmp_path / "again.beancount", EUR)
    assert (tmp_path / "closed.beancount").read_bytes() == (tmp_path / "again.beancount").read_bytes()


def test_beancount_names_are_valid_and_unique_whatever_the_codes_and_names():
    accounts = [Account(code="11.0", name="Über/Öl & Co", type="asset"),
                Account(code="11-0", name="Über Öl Co", type="asset"),
                Account(code="7", name="***", type="expense"),
                Account(code="E1", name="ÿ", type="equity")]
    names = account_names(accounts)
    assert names["11-0"] == "Assets:A11-0-Uber-Ol-Co" and names["11.0"] == "Assets:A11-0-Uber-Ol-Co-2"
    assert names["7"] == "Expenses:E7"
    assert len(set(names.values())) == len(accounts)
    assert all(bc_account.is_valid(name) for name in names.values())


LEAVES = ["1100", "1200", "1300", "1400", "2100", "2200", "3100", "4100", "5100", "6200", "6900"]
amounts = st.decimals(min_value=D("0.0001"), max_value=D("99999.9999"), places=4)


@st.composite
def balanced_entries(draw):
    """2-6 lines on random leaf accounts whose debits equal their credits, to the 4th place."""
    debits = draw(st.lists(amounts, min_size=1, max_size=3))
    total = sum(debits, D(0))
    cuts = sorted(set(draw(st.lists(st.decimals(min_value=D("0.0001"), max_value=total, places=4),
                                    max_size=2))) - {total})
    credits = [b - a for a, b in zip([D(0), *cuts], [*cuts, total], strict=True)]
    lines = [Line(draw(st.sampled_from(LEAVES)), debit=d) for d in debits]
    lines += [Line(draw(st.sampled_from(LEAVES)), credit=c) for c in credits]
    return draw(st.dates(date(2026, 1, 1), date(2026, 12, 31))), draw(st.permutations(lines))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=st.lists(balanced_entries(), min_size=1, max_size=4))
def test_property_beancount_balances_equal_our_trial_balance(books, tmp_path, entries):
    for on, lines in entries:
        post(books, on, *lines, memo='random "entry"')
    assert_beancount_agrees(books, tmp_path / "random.beancount")
    with books.reading() as session:
        tb = trial_balance(session, ALEX, date(2026, 12, 31))
        year = profit_and_loss(session, ALEX, date(2026, 1, 1), date(2026, 12, 31))
        bs = sheet(books, date(2026, 12, 31))
    assert tb.total_debit == tb.total_credit
    assert bs.current_earnings == year.result
