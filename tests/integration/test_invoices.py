"""Invoices, bills and payments on SQLite and PostgreSQL: the entries they post, posting once
(even when two people post the same draft at the same moment), partial payments, open
balances and receivables aging."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.contacts import services as contacts
from engine.errors import ValidationFailed
from engine.ledger.invoices import (
    LineIn,
    aging,
    create_invoice,
    open_balance,
    post_invoice,
    record_payment,
    statement,
)
from engine.ledger.models import Invoice, JournalEntry, JournalLine
from engine.ledger.reports import trial_balance
from tests.conftest import at_once
from tests.integration.conftest import ACCOUNTANT

ALEX = ACCOUNTANT


@pytest.fixture
def invoicing(books):
    """The books, a customer and a supplier."""
    with books.unit_of_work(ALEX) as session:
        customer, _ = contacts.add_contact(session, ALEX, {"kind": "organisation", "name": "Acme Ltd", "country": "GB"})
        supplier, _ = contacts.add_contact(session, ALEX, {"kind": "organisation", "name": "Bolt GmbH", "country": "DE"})
        ids = {"customer": customer.id, "supplier": supplier.id}
    return books, ids


def draft(db, contact, kind="sales", lines=None, issued=date(2026, 3, 1), due=date(2026, 3, 31)):
    lines = lines or [LineIn("Widgets", D(3), D("19.99"), "4100", tax_rate=D("0.2")),
                      LineIn("Delivery", D(1), D("5"), "4200", tax_rate=D("0.2"))]
    with db.unit_of_work(ALEX) as session:
        return create_invoice(session, ALEX, kind, contact, issued, due, lines).id


def test_posting_a_sales_invoice_posts_receivable_income_and_tax(invoicing):
    db, ids = invoicing
    invoice_id = draft(db, ids["customer"])
    with db.unit_of_work(ALEX) as session:
        invoice = post_invoice(session, ALEX, invoice_id)
        assert (invoice.number, invoice.net, invoice.tax, invoice.gross) == (
            "INV-2026-00001", D("64.97"), D("12.99"), D("77.96"))
    with db.reading() as session:
        lines = session.execute(sa.select(JournalLine.debit, JournalLine.credit, JournalLine.contact_id)
                                .join(JournalEntry).where(JournalEntry.source == "sales")
                                .order_by(JournalLine.line_number)).all()
        assert [(d, c) for d, c, _ in lines] == [(0, D("59.97")), (0, D("5")), (0, D("12.99")), (D("77.96"), 0)]
        assert lines[-1][2] == ids["customer"]
        balance = trial_balance(session, ALEX, date(2026, 3, 31))
        assert balance.total_debit == balance.total_credit


def test_an_invoice_is_posted_once(invoicing):
    db, ids = invoicing
    invoice_id = draft(db, ids["customer"])
    with db.unit_of_work(ALEX) as session:
        post_invoice(session, ALEX, invoice_id)
    with pytest.raises(ValidationFailed, match="posted already"):
        with db.unit_of_work(ALEX) as session:
            post_invoice(session, ALEX, invoice_id)


def test_the_same_invoice_posted_twice_at_once_is_posted_once(invoicing):
    """Two real connections post the same draft at the same moment: one entry, one refusal."""
    db, ids = invoicing
    invoice_id = draft(db, ids["customer"])

    def post():
        with db.unit_of_work(ALEX) as session:
            return post_invoice(session, ALEX, invoice_id).number

    outcomes = at_once(post, refusal=ValidationFailed)
    assert outcomes == ["INV-2026-00001", "invoice INV-2026-00001 is posted already; nothing was posted again"]
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).where(JournalEntry.source == "sales")) == 1


def test_partial_payments_settle_invoices_and_the_rest_ages(invoicing):
    db, ids = invoicing
    first, second = draft(db, ids["customer"]), draft(db, ids["customer"], issued=date(2026, 1, 5), due=date(2026, 1, 20))
    with db.unit_of_work(ALEX) as session:
        post_invoice(session, ALEX, first)
        post_invoice(session, ALEX, second)
        record_payment(session, ALEX, "received", ids["customer"], date(2026, 3, 10), D("100"),
                       [(first, D("77.96")), (second, D("20"))])
    with db.reading() as session:
        assert open_balance(session, session.get(Invoice, first)) == 0
        assert open_balance(session, session.get(Invoice, second)) == D("57.96")
        [row] = aging(session, ALEX, "sales", date(2026, 3, 31))
    assert (row.contact, row.days_61_90, row.total) == ("Acme Ltd", D("57.96"), D("57.96"))
    with pytest.raises(ValidationFailed, match="more than is open"):
        with db.unit_of_work(ALEX) as session:
            record_payment(session, ALEX, "received", ids["customer"], date(2026, 3, 11), D("100"), [(second, D("60"))])


def test_a_purchase_bill_and_its_payment_clear_the_payable(invoicing):
    db, ids = invoicing
    bill = draft(db, ids["supplier"], kind="purchase",
                 lines=[LineIn("Stock", D(10), D("4.5"), "1300", tax_rate=D("0.19"))])
    with db.unit_of_work(ALEX) as session:
        posted = post_invoice(session, ALEX, bill)
        assert (posted.number, posted.gross) == ("BILL-2026-00001", D("53.55"))
        record_payment(session, ALEX, "paid", ids["supplier"], date(2026, 3, 20), D("53.55"), [(bill, D("53.55"))])
    with db.reading() as session:
        rows = {r.code: r for r in trial_balance(session, ALEX, date(2026, 3, 31)).rows}
    assert (rows["1300"].debit, rows["1400"].debit, rows["2100"].debit + rows["2100"].credit) == (
        D("45"), D("8.55"), 0)
    assert rows["1100"].credit == D("53.55")


def test_a_customer_statement_agrees_with_the_books(invoicing):
    db, ids = invoicing
    early, late = draft(db, ids["customer"], issued=date(2026, 1, 5), due=date(2026, 2, 4)), draft(db, ids["customer"])
    with db.unit_of_work(ALEX) as session:
        post_invoice(session, ALEX, early)
        post_invoice(session, ALEX, late)
        record_payment(session, ALEX, "received", ids["customer"], date(2026, 3, 10), D("50"), [(late, D("50"))])
    with db.reading() as session:
        sheet = statement(session, ALEX, ids["customer"], date(2026, 2, 1), date(2026, 3, 31))
    assert (sheet.contact, sheet.opening, sheet.closing) == ("Acme Ltd", D("77.96"), D("105.92"))
    assert [(x.number, x.debit, x.credit, x.balance) for x in sheet.lines] == [
        ("JE-2026-00002", D("77.96"), 0, D("155.92")), ("JE-2026-00003", 0, D("50"), D("105.92"))]
