"""The books in Word, on a real SQLite file and a real PostgreSQL holding the demo's year of
books: the ledger's part of the monthly pack, the trial balance and a customer's statement.

Every figure is read back out of the .docx (its paragraphs and every table cell) and held
against the ledger's own query for it, written as the report writes it (`Formatter("en_GB")`):
whole tables row by row, so a figure in the wrong row or column fails too. A reader who may
not read the ledger gets a note in the pack and a refusal for the reports."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import docx
import pytest

from engine.config import Settings
from engine.contacts.services import add_contact
from engine.db.session import Database
from engine.demo import build_demo
from engine.errors import NotFound, PermissionDenied
from engine.ledger.invoices import AGE_BUCKETS, aging, open_invoices, statement
from engine.ledger.pack import section
from engine.ledger.queries import AmbiguousCustomer, find_customer
from engine.ledger.reports import balance_sheet, cash_at, profit_and_loss, trial_balance
from engine.office.locale import Formatter
from engine.office.report_body import Month
from engine.reports.render import write_report
from engine.security.roles import SYSTEM
from tests.conftest import actor_with, shared_database
from tests.templates import new_database

ALEX = actor_with("accountant", login="alex")
WES = actor_with("warehouse", login="wes")
MONTH = Month(2026, 11)             # the demo's last month (its books run 2025-11-28 to 2026-11-27)
fmt = Formatter("en_GB")
ZERO = D(0)


def build_books(db) -> None:
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session, only=("users", "contacts", "ledger"))


@pytest.fixture
def books(db):
    """The demo's books, for a test that adds to them."""
    build_books(db)
    return db


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def read_books(request, tmp_path_factory, pg_admin_engine) -> Iterator[Database]:
    """The demo's books, built once for the module on each database, for the tests that only
    write reports from them."""
    with shared_database(request.param, tmp_path_factory.mktemp("books"), pg_admin_engine) as database:
        build_books(database)
        yield database


def tables(path: Path) -> dict[str, list[list[list[str]]]]:
    """The document's tables by the title of their first column (several may share one)."""
    found: dict[str, list[list[list[str]]]] = {}
    for table in docx.Document(path).tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        found.setdefault(rows[0][0], []).append(rows)
    return found


def paragraphs(path: Path) -> str:
    return "\n".join(p.text for p in docx.Document(path).paragraphs)


def money(value: D | None) -> str:
    return "" if value is None else fmt.money(value)


def blank(value: D) -> str:
    """An amount a column shows only when there is one (a debit or a credit)."""
    return fmt.money(value) if value else ""


def figure(label: str, value: D, before: D, year: D | None) -> list[str]:
    return [label, fmt.money(value), fmt.money(before), fmt.change(value, before), money(year),
            fmt.change(value, year)]


def ages(rows, title: str) -> list[list[str]]:
    total = sum((r.total for r in rows), ZERO)
    names = ("Not yet due", "1–30 days overdue", "31–60 days overdue", "61–90 days overdue", "Over 90 days overdue")
    amounts = [sum((getattr(r, b) for r in rows), ZERO) for b in AGE_BUCKETS]
    return [[title, "Amount", "Share"],
            *([n, fmt.money(a), fmt.percent(a * 100 / total)] for n, a in zip(names, amounts, strict=True)),
            ["Total open", fmt.money(total), fmt.percent(100)]]


def test_the_packs_books_are_the_ledgers_own_figures(read_books, tmp_path):
    target = tmp_path / "pack.docx"
    with read_books.unit_of_work(ALEX) as session:
        write_report(session, ALEX, "pack", target, period=str(MONTH))
        before, year, next_end = MONTH.previous, MONTH.year_before, MONTH.shifted(1).end
        now = profit_and_loss(session, ALEX, MONTH.start, MONTH.end)
        then = profit_and_loss(session, ALEX, before.start, before.end)
        sheet = balance_sheet(session, ALEX, MONTH.end)
        receivables, payables = aging(session, ALEX, "sales", MONTH.end), aging(session, ALEX, "purchase", MONTH.end)
        owed = {day: sum((r.total for r in aging(session, ALEX, "sales", day)), ZERO)
                for day in (MONTH.end, before.end, year.end)}
        cash = {day: cash_at(session, ALEX, day) for day in (MONTH.end, before.end, year.end)}
        bills = open_invoices(session, ALEX, "purchase", MONTH.end)
        months = [MONTH.shifted(-n) for n in range(11, -1, -1)]
        by_month = [profit_and_loss(session, ALEX, m.start, m.end) for m in months]
    found, text = tables(target), paragraphs(target)
    assert "The books" in text and "Profit and loss for the month" in text and "Payables due" in text

    # Key figures: the books began on 2025-11-28, so a year before there are balances, but
    # no whole month of revenue to compare with.
    assert found["Key figure"][0][1:6] == [   # the books' five, then the other sections' figures
        figure("Revenue", now.total_income, then.total_income, None),
        figure("Expenses", now.total_expenses, then.total_expenses, None),
        figure("Profit", now.result, then.result, None),
        figure("Cash and bank", cash[MONTH.end], cash[before.end], cash[year.end]),
        figure("Owed by customers", owed[MONTH.end], owed[before.end], owed[year.end])]
    assert cash[MONTH.end] == sum((r.amount for r in sheet.assets if r.code in ("1100", "1110")), ZERO)

    # Profit and loss: income, expenses, the result; against the month before.
    income, expenses = found["Account"]
    previous = {r.code: r.amount for r in then.income + then.expenses}
    for shown, rows, label, total in ((income, now.income, "Total income", now.total_income),
                                      (expenses, now.expenses, "Total expenses", now.total_expenses)):
        assert shown[1:] == [[f"{r.code} {r.name}", fmt.money(r.amount), fmt.money(previous.get(r.code, ZERO)), ""]
                             for r in rows] + [[label, fmt.money(total), fmt.money(sum((r.previous for r in rows),
                                                                                       ZERO)), ""]]
    [result] = found[""]
    assert result[3] == ["Profit (a loss negative)", fmt.money(now.result), fmt.money(then.result), ""]

    # The balance sheet at the month's end.
    [assets] = found["Assets"]
    assert assets[1:] == [[f"{r.code} {r.name}", fmt.money(r.amount)] for r in sheet.assets] + [
        ["Total assets", fmt.money(sheet.total_assets)]]
    [claims] = found["Liabilities and equity"]
    assert claims[1:] == [[f"{r.code} {r.name}", fmt.money(r.amount)] for r in sheet.liabilities + sheet.equity] + [
        ["Result not yet closed", fmt.money(sheet.current_earnings)],
        ["Total liabilities and equity", fmt.money(sheet.total_liabilities_and_equity)]]
    assert sheet.total_assets == sheet.total_liabilities_and_equity

    # Receivables and payables by age; the customers most overdue; the bills falling due.
    assert found["Receivables by age at the month's end"] == [ages(receivables, "Receivables by age at the month's end")]
    assert found["Bills by age at the month's end"] == [ages(payables, "Bills by age at the month's end")]
    late = sorted((r for r in receivables if r.overdue), key=lambda r: (-r.overdue, r.contact))
    assert len(late) > 1
    [customers] = found["Customer"]
    assert customers[1:-1] == [[r.contact, *(fmt.money(getattr(r, b)) for b in AGE_BUCKETS[1:]),
                                fmt.money(r.overdue)] for r in late[:10]]
    assert customers[-1][0] == "All customers overdue" and customers[-1][-1] == fmt.money(sum(r.overdue for r in late))
    due = sorted((b for b in bills if b.due_on <= next_end), key=lambda b: (-b.open, b.due_on, b.number))
    assert due and sum(b.open for b in bills) == sum(r.total for r in payables)
    [suppliers] = found["Supplier"]
    assert suppliers[1:] == [[b.contact, b.number, fmt.date(b.due_on),
                              fmt.count(b.days_late) if b.days_late > 0 else "", fmt.money(b.open)]
                             for b in due[:10]] + [["All of them", "", "", "", fmt.money(sum(b.open for b in due))]]

    # A year of revenue and expenses, month by month, as profit and loss totals them.
    [year_table] = found["Month"]
    assert year_table[1:] == [[str(m), fmt.money(p.total_income), fmt.money(p.total_expenses), fmt.money(p.result)]
                              for m, p in zip(months, by_month, strict=True)] + [
        ["Total", fmt.money(sum(p.total_income for p in by_month)), fmt.money(sum(p.total_expenses for p in by_month)),
         fmt.money(sum(p.result for p in by_month))]]
    # the aging chart and the year's chart (the other sections the accountant reads bring theirs)
    assert len(docx.Document(target).inline_shapes) >= 2
    assert "Receivables by age at the month's end" in text and "Revenue and expenses of each month" in text


def test_a_year_before_is_compared_once_the_books_hold_that_whole_month(read_books):
    later = Month(2026, 12)                       # a year before: 2025-12, wholly in the books
    with read_books.unit_of_work(ALEX) as session:
        figures = {f.label: f for f in section(session, ALEX, later).figures}
        year = profit_and_loss(session, ALEX, date(2025, 12, 1), date(2025, 12, 31))
        cash = cash_at(session, ALEX, date(2025, 12, 31))
    assert (figures["Revenue"].value, figures["Revenue"].year_before) == (ZERO, year.total_income)
    assert figures["Profit"].year_before == year.result and year.total_income > 0
    assert figures["Cash and bank"].year_before == cash


def test_a_clerk_who_may_not_read_the_books_gets_a_note_instead_and_no_ledger_report(read_books, tmp_path):
    with read_books.unit_of_work(WES) as session:
        write_report(session, WES, "pack", tmp_path / "pack.docx", period=str(MONTH))
        for name, options in (("trial-balance", {"as_of": "2026-11-30"}),
                              ("statement", {"customer": "1", "period": str(MONTH)})):
            with pytest.raises(PermissionDenied):
                write_report(session, WES, name, tmp_path / f"{name}.docx", **options)
    text = paragraphs(tmp_path / "pack.docx")
    assert "The books is left out: your roles do not let you read ledger." in text
    assert "Profit and loss" not in text
    figures = [row[0] for found in tables(tmp_path / "pack.docx").get("Key figure", []) for row in found[1:]]
    assert not {"Revenue", "Expenses", "Profit", "Cash and bank", "Owed by customers"} & set(figures)
    assert "Stock value at month end" in figures      # (the sections the clerk may read bring theirs)
    assert not (tmp_path / "trial-balance.docx").exists() and not (tmp_path / "statement.docx").exists()


def test_the_trial_balance_shows_every_account_and_equal_totals(read_books, tmp_path):
    day = date(2026, 11, 30)
    with read_books.unit_of_work(ALEX) as session:
        write_report(session, ALEX, "trial-balance", tmp_path / "tb.docx", as_of=day.isoformat())
        found = trial_balance(session, ALEX, day)
    [shown] = tables(tmp_path / "tb.docx")["Code"]
    assert shown == [["Code", "Account", "Type", "Debit", "Credit"],
                     *([r.code, r.name, r.type, blank(r.debit), blank(r.credit)] for r in found.rows),
                     ["", "Total", "", fmt.money(found.total_debit), fmt.money(found.total_credit)]]
    assert len(found.rows) > 10 and found.total_debit == found.total_credit
    assert "as of 30 Nov 2026" in paragraphs(tmp_path / "tb.docx")


def _statement_expected(session, contact_id: int) -> tuple[str, list[list[str]], list[list[str]]]:
    sheet = statement(session, ALEX, contact_id, MONTH.start, MONTH.end)
    items = open_invoices(session, ALEX, "sales", MONTH.end, contact_id=contact_id)
    lines = [["Date", "Details", "Charged", "Paid", "Balance"],
             [fmt.date(MONTH.start), "Balance brought forward", "", "", fmt.money(sheet.opening)],
             *([fmt.date(x.entry_date), x.memo, blank(x.debit), blank(x.credit), fmt.money(x.balance)]
               for x in sheet.lines),
             [fmt.date(MONTH.end), "Totals and balance owed", fmt.money(sum(x.debit for x in sheet.lines)),
              fmt.money(sum(x.credit for x in sheet.lines)), fmt.money(sheet.closing)]]
    still_open = [["Invoice", "Dated", "Due", "Amount", "Open", "Days overdue"],
                  *([x.number, fmt.date(x.issued_on), fmt.date(x.due_on), fmt.money(x.gross), fmt.money(x.open),
                     fmt.count(x.days_late) if x.days_late > 0 else ""] for x in items),
                  ["Total open", "", "", "", fmt.money(sum(x.open for x in items)), ""]]
    assert sheet.lines and items
    return sheet.contact, lines, still_open


def test_a_customers_statement_by_name_or_number_is_the_ledgers_statement(books, tmp_path):
    with books.unit_of_work(ALEX) as session:
        # the customer owing most, with invoices and payments in the month
        owing = max(aging(session, ALEX, "sales", MONTH.end), key=lambda r: (r.total, r.contact_id))
        name, lines, still_open = _statement_expected(session, owing.contact_id)
        write_report(session, ALEX, "statement", tmp_path / "by-name.docx", customer=name, period=str(MONTH))
        write_report(session, ALEX, "statement", tmp_path / "by-number.docx", customer=str(owing.contact_id),
                     period=str(MONTH))
        assert find_customer(session, ALEX, f" {owing.contact_id} ") == (owing.contact_id, name)
        for unknown in ("No Such Customer Ltd", "999999", name.upper()):
            with pytest.raises(NotFound) as refused:
                write_report(session, ALEX, "statement", tmp_path / "unknown.docx", customer=unknown,
                             period=str(MONTH))
            assert refused.value.field == "customer" and refused.value.code == "not_found"
    for path in (tmp_path / "by-name.docx", tmp_path / "by-number.docx"):
        found = tables(path)
        assert found["Date"] == [lines] and found["Invoice"] == [still_open]
        assert f"{name} (contact {owing.contact_id}), November 2026" in paragraphs(path)
    assert still_open[-1][4] == fmt.money(owing.total)         # the open items are the aging's
    assert not (tmp_path / "unknown.docx").exists()

    with books.unit_of_work(ALEX) as session:                  # a second contact of the same name
        twin, _ = add_contact(session, ALEX, {"kind": "organisation", "name": name, "country": "GB"})
        with pytest.raises(AmbiguousCustomer, match=f"numbers {owing.contact_id}, {twin.id}") as refused:
            write_report(session, ALEX, "statement", tmp_path / "twin.docx", customer=name, period=str(MONTH))
        assert refused.value.field == "customer"


@pytest.mark.libreoffice
def test_libreoffice_prints_a_statements_figures(tmp_path):
    """LibreOffice reads files, not databases: one SQLite run is enough here."""
    from engine.office.docx import convert_to_pdf  # here: only this test converts
    from tests.libreoffice import soffice  # here: likewise

    soffice()   # fails clearly when LibreOffice is missing
    database = new_database(Settings(database_url=f"sqlite:///{tmp_path / 'lo.db'}"))
    try:
        build_books(database)
        with database.unit_of_work(ALEX) as session:
            owing = max(aging(session, ALEX, "sales", MONTH.end), key=lambda r: (r.total, r.contact_id))
            name, lines, _ = _statement_expected(session, owing.contact_id)
            write_report(session, ALEX, "statement", tmp_path / "statement.docx", customer=str(owing.contact_id),
                         period=str(MONTH))
    finally:
        database.dispose()
    pdf = convert_to_pdf(tmp_path / "statement.docx")
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(printed.split())
    for value in ("Statement of account", name, lines[-1][-1], "Balance brought forward"):
        assert value in text, f"{value!r} not in what LibreOffice printed"
