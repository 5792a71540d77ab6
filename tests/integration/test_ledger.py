"""The ledger on a real SQLite file and a real PostgreSQL: posting, refusals, reversals,
periods, closing and reopening, and property tests of the double-entry invariants."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import PermissionDenied, ValidationFailed
from engine.ledger.chart import ROLES
from engine.ledger.models import Account, FiscalPeriod, JournalEntry, JournalLine
from engine.ledger.services import (
    Line,
    balances,
    close_period,
    post_entry,
    reopen_period,
    reverse_entry,
)
from engine.security.roles import Actor, Role
from tests.conftest import actor_with
from tests.integration.conftest import ACCOUNTANT, post_lines

ALEX = ACCOUNTANT
WES = actor_with("warehouse", login="wes")
MIA = actor_with("manager", login="mia")


post = post_lines  # one entry, posted by the accountant (see tests/integration/conftest.py)


def total_balance(db, on=date(2026, 12, 31)):
    with db.reading() as session:
        return sum(balances(session, on).values(), D(0))


def test_a_balanced_entry_is_posted_numbered_and_audited(books):
    first = post(books, date(2026, 3, 1), Line("1100", debit=D("1000.00")), Line("3100", credit=D("1000.00")))
    post(books, date(2026, 3, 2), Line("6200", debit=D("450")), Line("1100", credit=D("450")))
    with books.reading() as session:
        assert session.get(JournalEntry, first).number == "JE-2026-00001"
        assert session.scalar(sa.select(sa.func.count()).select_from(JournalLine)) == 4
    assert total_balance(books) == 0


def test_every_problem_of_an_entry_is_reported_and_nothing_is_posted(books):
    with pytest.raises(ValidationFailed) as refused:
        post(books, date(2026, 3, 1), Line("1100", debit=D("10")), Line("9999", credit=D("9")),
             Line("1000", debit=D("1")), Line("4100", debit=D("1"), credit=D("1")))
    problems = refused.value.problems
    assert any("no account '9999'" in str(p) for p in problems)
    assert any("1000 (Assets) has sub-accounts" in str(p) for p in problems)
    assert any("either a debit or a credit" in str(p) for p in problems)
    assert any("does not balance" in str(p) for p in problems)
    with books.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0


def test_only_roles_that_write_the_ledger_may_post(books):
    with pytest.raises(PermissionDenied):
        with books.unit_of_work(WES) as session:
            post_entry(session, WES, date(2026, 3, 1), [Line("1100", debit=D(1)), Line("3100", credit=D(1))])


def test_a_posted_entry_cannot_be_changed_and_a_reversal_mirrors_it_once(books):
    entry = post(books, date(2026, 3, 1), Line("6200", debit=D("450")), Line("1100", credit=D("450")))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with books.engine.begin() as conn:
            conn.execute(sa.text("UPDATE journal_lines SET debit = 1"))
    with books.unit_of_work(ALEX) as session:
        mirror = reverse_entry(session, ALEX, entry, date(2026, 3, 5))
        assert mirror.memo == "reverses JE-2026-00001"
    with books.reading() as session:
        assert all(v == 0 for v in balances(session, date(2026, 3, 5)).values())
    with pytest.raises(ValidationFailed, match="already reversed"):
        with books.unit_of_work(ALEX) as session:
            reverse_entry(session, ALEX, entry)


def test_closing_a_period_moves_the_result_to_retained_earnings_and_locks_it(books):
    post(books, date(2026, 1, 10), Line("1100", debit=D("1200")), Line("4100", credit=D("1200")))
    post(books, date(2026, 1, 20), Line("6200", debit=D("500")), Line("1100", credit=D("500")))
    with books.unit_of_work(ALEX) as session:
        close_period(session, ALEX, "2026-01", ROLES["retained_earnings"])
    with books.reading() as session:
        totals = balances(session, date(2026, 1, 31))
        by_code = {code: totals.get(i, D(0)) for i, code in session.execute(sa.select(Account.id, Account.code))}
    assert (by_code["4100"], by_code["6200"], by_code["3200"]) == (0, 0, D(-700))
    with pytest.raises(ValidationFailed, match="period 2026-01 is closed"):
        post(books, date(2026, 1, 31), Line("6200", debit=D("1")), Line("1100", credit=D("1")))
    with pytest.raises(ValidationFailed, match="close the periods in order"):
        with books.unit_of_work(ALEX) as session:
            close_period(session, ALEX, "2026-03", ROLES["retained_earnings"])


def test_reopening_needs_the_reopen_capability_and_undoes_the_closing_entry(books):
    """Writing the ledger is not enough: the role must be able to `reopen-periods` (roles.toml
    gives it to accountants and admins), whatever the role is called."""
    post(books, date(2026, 1, 10), Line("1100", debit=D("100")), Line("4100", credit=D("100")))
    with books.unit_of_work(ALEX) as session:
        close_period(session, ALEX, "2026-01", ROLES["retained_earnings"])
    bookkeeper = Role("bookkeeper", "", frozenset({"ledger"}), frozenset({"ledger"}), frozenset())
    controller = dataclasses.replace(bookkeeper, name="controller", can=frozenset({"reopen-periods"}))
    for refused in (MIA, Actor("kim", (bookkeeper,))):
        with pytest.raises(PermissionDenied, match="reopen a closed fiscal period.*accountant"):
            with books.unit_of_work(refused) as session:
                reopen_period(session, refused, "2026-01")
    with books.unit_of_work(Actor("lou", (controller,))) as session:
        reopen_period(session, Actor("lou", (controller,)), "2026-01")
    post(books, date(2026, 1, 31), Line("6200", debit=D("1")), Line("1100", credit=D("1")))
    with books.reading() as session:
        assert session.scalars(sa.select(FiscalPeriod.status).where(FiscalPeriod.name == "2026-01")).one() == "open"
    assert total_balance(books) == 0


def test_a_date_outside_any_period_is_refused(books):
    with pytest.raises(ValidationFailed, match="no fiscal period for 2027-01-01"):
        post(books, date(2027, 1, 1), Line("1100", debit=D(1)), Line("3100", credit=D(1)))


LEAVES = ["1100", "1200", "1300", "2100", "2200", "3100", "4100", "5100", "6100", "6200"]
amounts = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)


@st.composite
def balanced_entries(draw):
    """2-6 lines on random leaf accounts whose debits equal their credits."""
    debits = draw(st.lists(amounts, min_size=1, max_size=3))
    total = sum(debits, D(0))
    cuts = [] if total <= D("0.01") else sorted(draw(st.lists(
        st.decimals(min_value=D("0.01"), max_value=total - D("0.01"), places=2), max_size=2, unique=True)))
    credits = [b - a for a, b in zip([D(0), *cuts], [*cuts, total], strict=True)]
    lines = [Line(draw(st.sampled_from(LEAVES)), debit=d) for d in debits]
    lines += [Line(draw(st.sampled_from(LEAVES)), credit=c) for c in credits if c > 0]
    return draw(st.permutations(lines))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(balanced_entries(), min_size=1, max_size=4))
def test_property_valid_entries_keep_the_trial_balance_at_zero(books, entries):
    before = total_balance(books)
    for lines in entries:
        post(books, date(2026, 6, 15), *lines)
    assert before == 0 and total_balance(books) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=balanced_entries(), skew=amounts)
def test_property_an_unbalanced_entry_is_refused_and_changes_nothing(books, lines, skew):
    with books.reading() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(JournalLine))
    broken = [*lines[:-1], Line(lines[-1].account, debit=lines[-1].debit + (skew if lines[-1].debit else 0),
                                credit=lines[-1].credit + (skew if lines[-1].credit else 0))]
    with pytest.raises(ValidationFailed, match="does not balance"):
        post(books, date(2026, 6, 15), *broken)
    with books.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(JournalLine)) == count


def test_a_period_closed_reopened_and_closed_again_ends_with_its_result_closed_once(books):
    post(books, date(2026, 1, 10), Line("1100", debit=D("100")), Line("4100", credit=D("100")))
    for step in (close_period, reopen_period, close_period):
        with books.unit_of_work(ALEX) as session:
            if step is close_period:
                step(session, ALEX, "2026-01", ROLES["retained_earnings"])
            else:
                step(session, ALEX, "2026-01")
    with books.reading() as session:
        totals = balances(session, date(2026, 1, 31))
        by_code = {code: totals.get(i, D(0)) for i, code in session.execute(sa.select(Account.id, Account.code))}
    assert (by_code["4100"], by_code["3200"]) == (0, D(-100))


def test_a_closing_entry_is_undone_only_by_reopening_its_period(books):
    post(books, date(2026, 1, 10), Line("1100", debit=D("100")), Line("4100", credit=D("100")))
    with books.unit_of_work(ALEX) as session:
        closing = close_period(session, ALEX, "2026-01", ROLES["retained_earnings"]).closing_entry_id
    with pytest.raises(ValidationFailed, match="reopen the period instead"):
        with books.unit_of_work(ALEX) as session:
            reverse_entry(session, ALEX, closing, date(2026, 2, 1))
    with pytest.raises(ValidationFailed, match="no contact 999"):
        post(books, date(2026, 2, 1), Line("1200", debit=D(1), contact_id=999), Line("4100", credit=D(1)))
