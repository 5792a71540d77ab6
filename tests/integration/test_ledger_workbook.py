"""The Ledger workbook on SQLite and PostgreSQL: journal entries, invoices and payments typed
as rows are posted on sync through the ledger's services; an unbalanced entry is shown at its
rows with the difference; posted rows and account codes are locked; the read-only Trial
balance and Aging sheets follow the books."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.contacts.services import add_contact
from engine.db.audit import AuditEntry
from engine.ledger.chart import ROLES
from engine.ledger.invoices import open_balance
from engine.ledger.models import Account, Invoice, JournalEntry, JournalLine, Payment
from engine.ledger.services import Line, close_period, open_year
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import (
    ACCOUNTANT,
    edit_by_label,
    find_row,
    post_lines,
    problems_of,
    read_sheet,
    rehearsed,
)

TODAY = date.today()


@pytest.fixture
def ledger(books):
    """The books with a customer, a supplier, one rent payment posted, and users alex
    (accountant) and sam (sales: reads the ledger, may not write it)."""
    with books.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        open_year(session, SYSTEM, TODAY.year)   # the sheets' reports are as of today
    with books.unit_of_work(ACCOUNTANT) as session:
        customer, _ = add_contact(session, ACCOUNTANT, {"kind": "organisation", "name": "Acme Ltd", "country": "GB"})
        supplier, _ = add_contact(session, ACCOUNTANT, {"kind": "organisation", "name": "Bolt GmbH", "country": "DE"})
        ids = {"customer": customer.id, "supplier": supplier.id}
    post_lines(books, date(2026, 3, 1), Line("6200", debit=D("1200")), Line(ROLES["bank"], credit=D("1200")),
               memo="rent March")
    return ids


def export(db, login, path):
    with db.reading() as session:
        new_workbook(db, resolve_actor(session, login), "ledger", path)
    return path


def sync(db, settings, login, path, dry_run=False):
    with db.reading() as session:
        return RoundTrip(db, settings, resolve_actor(session, login)).sync(path, dry_run=dry_run)


def validate(db, settings, login, path):
    with db.reading() as session:
        return RoundTrip(db, settings, resolve_actor(session, login)).validate(path)


def type_rows(path, sheet, rows):
    """Type rows (dicts by column label) into the first empty rows of a sheet; their numbers."""
    first = len(read_sheet(path, sheet)) + 1
    for n, values in enumerate(rows):
        edit_by_label(path, sheet, first + n, values)
    return list(range(first, first + len(rows)))


def column(path, sheet, label):
    rows = read_sheet(path, sheet)
    index = rows[0].index(label)
    return [row[index] for row in rows[1:]]


def count(db, model):
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_workbook_shows_the_chart_the_journal_and_the_trial_balance(ledger, books, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    rent = find_row(path, "Accounts", "Code", "6200")
    accounts = read_sheet(path, "Accounts")
    assert accounts[rent - 1][accounts[0].index("Balance")] == 1200.0
    assert accounts[rent - 1][accounts[0].index("Parent")].startswith("6000 ")   # its code and name
    journal = read_sheet(path, "Journal")
    header = journal[0]
    assert [row[header.index("Entry")] for row in journal[1:3]] == ["JE-2026-00001"] * 2
    assert [row[header.index("Account")] for row in journal[1:3]] == ["6200", ROLES["bank"]]
    assert journal[1][header.index("Memo")] == "rent March" and journal[1][header.index("Account name")] == "Rent"
    assert read_sheet(path, "Trial balance")[-1] == ["", "Total", "", 1200.0, 1200.0]


def test_entries_typed_as_rows_are_posted_on_sync_and_take_their_numbers(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    rows = type_rows(path, "Journal", [
        {"Entry": "A", "Date": date(2026, 3, 5), "Memo": "owner's loan", "Account": ROLES["bank"], "Debit": 5000},
        {"Entry": "A", "Account": "2400", "Credit": 5000},
        {"Entry": "B", "Date": date(2026, 3, 6), "Memo": "stationery", "Account": "6400", "Debit": 30},
        {"Entry": "B", "Account": ROLES["input_tax"], "Debit": 6, "Description": "VAT"},
        {"Entry": "B", "Date": date(2026, 3, 6), "Account": "1110", "Credit": 36},
    ])
    result = sync(books, settings, "alex", path)
    assert (result.status, result.inserted) == ("applied", 5), result.as_json()
    with books.reading() as session:
        entries = session.execute(sa.select(JournalEntry.number, JournalEntry.entry_date, JournalEntry.memo)
                                  .order_by(JournalEntry.id)).all()
        lines = session.execute(sa.select(JournalLine.entry_id, Account.code, JournalLine.debit, JournalLine.credit)
                                .join(Account, Account.id == JournalLine.account_id)
                                .order_by(JournalLine.id)).all()
        audited = session.scalars(sa.select(AuditEntry.row_number).where(
            AuditEntry.table_name == "journal_entries", AuditEntry.source == "workbook")).all()
    assert entries[1:] == [("JE-2026-00002", date(2026, 3, 5), "owner's loan"),
                           ("JE-2026-00003", date(2026, 3, 6), "stationery")]
    assert [(code, debit, credit) for _, code, debit, credit in lines[-3:]] == [
        ("6400", D(30), D(0)), (ROLES["input_tax"], D(6), D(0)), ("1110", D(0), D(36))]
    assert sorted(audited) == [rows[0], rows[2]]     # each entry names the row that began it
    journal = read_sheet(path, "Journal")
    header = journal[0]
    assert [journal[r - 1][header.index("Entry")] for r in rows] == ["JE-2026-00002"] * 2 + ["JE-2026-00003"] * 3
    assert journal[rows[3] - 1][header.index("Account name")] == "VAT receivable"
    assert all(journal[r - 1][0] for r in rows)                              # ids written back
    assert read_sheet(path, "Trial balance")[-1][3:] == [5036.0, 5036.0]   # the bank nets 5000 - 1200
    assert sync(books, settings, "alex", path).status == "unchanged"


def test_an_unbalanced_entry_is_shown_at_each_of_its_rows_with_the_difference(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    good = type_rows(path, "Journal", [
        {"Entry": "A", "Date": date(2026, 3, 5), "Account": ROLES["bank"], "Debit": 10},
        {"Entry": "A", "Account": "4900", "Credit": 10}])
    bad = type_rows(path, "Journal", [
        {"Entry": "B", "Date": date(2026, 3, 6), "Account": "6400", "Debit": "30.00"},
        {"Entry": "B", "Date": date(2026, 3, 7), "Account": "1110", "Credit": "29.50"}])
    checked = validate(books, settings, "alex", path)
    assert checked.status == "invalid"
    out = [p for p in checked.problems if "does not balance" in p.message]
    assert sorted(int(p.cell[1:]) for p in out) == bad
    assert all("differ by 0.50" in p.message and p.column == "Entry" for p in out)
    [date_problem] = [p for p in checked.problems if p.column == "Date"]
    assert date_problem.cell.endswith(str(bad[1])) and "already has the date 2026-03-06" in date_problem.message

    before = count(books, JournalLine)
    result = sync(books, settings, "alex", path)
    assert result.status == "rejected" and count(books, JournalLine) == before   # A is not posted either
    assert "differ by 0.50" in str(read_sheet(path, "Issues"))
    kept = read_sheet(path, "Journal")                                             # the user's rows stay
    assert [kept[r - 1][kept[0].index("Entry")] for r in good + bad] == ["A", "A", "B", "B"]


def test_posted_rows_are_locked_and_a_closed_period_is_refused_at_the_date(ledger, books, settings, tmp_path):
    with books.unit_of_work(ACCOUNTANT) as session:
        close_period(session, ACCOUNTANT, "2026-01", ROLES["retained_earnings"])
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    posted = find_row(path, "Journal", "Account", "6200")
    edit_by_label(path, "Journal", posted, {"Account": "6300"})
    late = type_rows(path, "Journal", [
        {"Entry": "A", "Date": date(2026, 1, 20), "Account": "6300", "Debit": 80},
        {"Entry": "A", "Account": ROLES["bank"], "Credit": 80}])
    result = sync(books, settings, "alex", path)
    assert result.status == "rejected"
    # One pass: the edit of the posted row, and the new entry's closed period beside it.
    assert [(p.code, p.column, p.cell[1:]) for p in result.problems] == [
        ("posted", "Account", str(posted)), ("period_closed", "Date", str(late[0]))]

    edit_by_label(path, "Journal", posted, {"Account": "6200"})
    with books.reading() as session:
        told = rehearsed(RoundTrip(books, settings, resolve_actor(session, "alex")), path)   # validate tells the truth
    result = sync(books, settings, "alex", path)
    assert result.status == "rejected" and problems_of(result) == told
    [closed] = result.problems + result.conflicts
    assert closed.column == "Date" and closed.cell.endswith(str(late[0]))
    assert "period 2026-01 is closed" in closed.message
    assert count(books, JournalEntry) == 1     # the rent (January had nothing to close)


def test_a_new_row_cannot_add_lines_to_a_posted_entry(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    rows = type_rows(path, "Journal", [
        {"Entry": "JE-2026-00001", "Date": date(2026, 3, 1), "Account": "6200", "Debit": 1},
        {"Entry": "JE-2026-00001", "Account": ROLES["bank"], "Credit": 1}])
    result = sync(books, settings, "alex", path)
    assert result.status == "rejected"
    assert sorted(int(p.cell[1:]) for p in result.problems) == rows
    assert all("JE-2026-00001 is a posted entry" in p.message for p in result.problems)


def test_an_invoice_typed_as_lines_is_posted_and_a_payment_settles_it(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    issued = TODAY - timedelta(days=45)
    rows = type_rows(path, "Invoices", [
        {"Invoice": "new", "Kind": "sales", "Contact": "Acme Ltd", "Date": issued,
         "Description": "Bolts M8", "Quantity": 100, "Unit price": "0.25", "Tax rate": "0.2"},
        {"Invoice": "new", "Description": "Delivery", "Quantity": 1, "Unit price": 15, "Tax rate": "0.2",
         "Account": "4200"},
    ])
    result = sync(books, settings, "alex", path)
    assert (result.status, result.inserted) == ("applied", 2), result.as_json()
    with books.reading() as session:
        invoice = session.scalars(sa.select(Invoice)).one()
        assert (invoice.status, invoice.due_on, invoice.gross) == ("posted", issued + timedelta(days=30), D("48.00"))
    sheet = read_sheet(path, "Invoices")
    header = sheet[0]
    assert [sheet[r - 1][header.index("Invoice")] for r in rows] == [invoice.number] * 2
    assert [sheet[r - 1][header.index("Net")] for r in rows] == [25.0, 15.0]
    assert sheet[rows[0] - 1][header.index("Open")] == 48.0
    [owed] = [r for r in read_sheet(path, "Aging")[1:] if r[1] == "Acme Ltd"]
    assert owed[0] == "receivable" and owed[3] == 48.0 and owed[-1] == 48.0   # 15 days overdue

    [paid] = type_rows(path, "Payments", [{"Date": TODAY, "Kind": "received", "Contact": "Acme Ltd",
                                           "Amount": 30}])
    result = sync(books, settings, "alex", path)
    assert (result.status, result.inserted) == ("applied", 1), result.as_json()
    with books.reading() as session:
        payment = session.scalars(sa.select(Payment)).one()
        assert open_balance(session, session.get(Invoice, invoice.id)) == D(18)
        assert payment.bank_account == ROLES["bank"]
    payments = read_sheet(path, "Payments")
    assert payments[paid - 1][payments[0].index("Settles")] == invoice.number
    assert payments[paid - 1][payments[0].index("Entry")].startswith("JE-")
    assert read_sheet(path, "Invoices")[rows[0] - 1][header.index("Open")] == 18.0


def test_a_payment_naming_another_customers_invoice_is_refused_at_settles(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    type_rows(path, "Invoices", [{"Invoice": "x", "Kind": "purchase", "Contact": "Bolt GmbH",
                                  "Date": date(2026, 3, 2), "Description": "screws", "Quantity": 1,
                                  "Unit price": 10, "Account": "6400"}])
    assert sync(books, settings, "alex", path).status == "applied"
    with books.reading() as session:
        bill = session.scalars(sa.select(Invoice.number)).one()
    [row] = type_rows(path, "Payments", [{"Date": date(2026, 3, 3), "Kind": "received",
                                          "Contact": "Acme Ltd", "Amount": 10, "Settles": bill}])
    result = sync(books, settings, "alex", path)
    assert result.status == "rejected"
    [refused] = result.conflicts + result.problems
    assert refused.column == "Settles" and refused.cell.endswith(str(row))
    assert f"{bill} is not a sales invoice of contact {ledger['customer']}" in refused.message
    assert count(books, Payment) == 0


def test_a_bill_line_needs_its_account_and_a_rate_typed_as_a_whole_number_is_caught(ledger, books, settings,
                                                                                       tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    rows = type_rows(path, "Invoices", [
        {"Invoice": "b1", "Kind": "purchase", "Contact": "Bolt GmbH", "Date": date(2026, 3, 2),
         "Description": "paper", "Quantity": 2, "Unit price": 4, "Tax rate": 20}])
    result = validate(books, settings, "alex", path)
    assert sorted((p.column, p.cell[1:]) for p in result.problems) == [("Account", str(rows[0])),
                                                                       ("Tax rate", str(rows[0]))]
    assert count(books, Invoice) == 0


def test_accounts_are_added_and_renamed_but_a_code_once_saved_is_locked(ledger, books, settings, tmp_path):
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    [new] = type_rows(path, "Accounts", [{"Code": "6700", "Name": "Insurance", "Type": "expense",
                                          "Parent": "6000"}])      # the code alone is understood
    edit_by_label(path, "Accounts", find_row(path, "Accounts", "Code", "6200"), {"Name": "Rent and rates"})
    assert sync(books, settings, "alex", path).status == "applied"
    with books.reading() as session:
        assert session.scalars(sa.select(Account.name).where(Account.code.in_(["6200", "6700"]))
                               .order_by(Account.code)).all() == ["Rent and rates", "Insurance"]
    assert read_sheet(path, "Accounts")[new - 1][read_sheet(path, "Accounts")[0].index("Parent")].startswith("6000 ")

    receivables = find_row(path, "Accounts", "Code", ROLES["receivables"])
    edit_by_label(path, "Accounts", receivables, {"Code": "1250"})
    result = sync(books, settings, "alex", path)
    [locked] = result.problems
    assert (result.status, locked.code, locked.cell[1:]) == ("rejected", "set-once", str(receivables))


def test_a_role_that_only_reads_the_ledger_cannot_post_from_the_workbook(ledger, books, settings, tmp_path):
    path = export(books, "sam", tmp_path / "ledger.xlsx")
    type_rows(path, "Journal", [
        {"Entry": "A", "Date": date(2026, 3, 5), "Account": ROLES["bank"], "Debit": 10},
        {"Entry": "A", "Account": "4900", "Credit": 10}])
    result = sync(books, settings, "sam", path)
    assert result.status == "rejected" and {p.code for p in result.problems} == {"permission"}
    assert count(books, JournalEntry) == 1


def test_a_problem_in_one_line_holds_back_its_entry_and_other_entries_are_still_checked(
        ledger, books, settings, tmp_path):
    """One pass: entry A's line with a misspelt account is a problem at its cell and its other
    line is held back with it (no made-up 'unbalanced'); entry B, in a closed period, is still
    reported, at its date, in the same run."""
    with books.unit_of_work(ACCOUNTANT) as session:
        close_period(session, ACCOUNTANT, "2026-01", ROLES["retained_earnings"])
    path = export(books, "alex", tmp_path / "ledger.xlsx")
    a = type_rows(path, "Journal", [
        {"Entry": "A", "Date": date(2026, 3, 20), "Account": "6300", "Debit": 80},
        {"Entry": "A", "Account": "99999", "Credit": 80}])
    b = type_rows(path, "Journal", [
        {"Entry": "B", "Date": date(2026, 1, 20), "Account": "6300", "Debit": 30},
        {"Entry": "B", "Account": ROLES["bank"], "Credit": 30}])
    with books.reading() as session:
        told = rehearsed(RoundTrip(books, settings, resolve_actor(session, "alex")), path)
    result = sync(books, settings, "alex", path)
    assert problems_of(result) == told
    at = {(p.cell[1:], p.column): p for p in result.problems}
    assert set(at) == {(str(a[1]), "Account"), (str(b[0]), "Date")}, result.as_json()
    assert "period 2026-01 is closed" in at[(str(b[0]), "Date")].message
    assert count(books, JournalEntry) == 1
