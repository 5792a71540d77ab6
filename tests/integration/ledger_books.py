"""The ledger's cross-door fixture (`ledger_db`: the books, alex, an invoice), its customer and a 100 KB memo, for test_cross_door_ledger.py and test_limits_at_doors.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.contacts.services import add_contact
from engine.ledger.chart import ROLES
from engine.ledger.invoices import LineIn, create_invoice, post_invoice, record_payment
from engine.ledger.services import Line, close_period, post_entry, reverse_entry
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.integration.conftest import ACCOUNTANT

CUSTOMER = 1          # the fixture's only contact
CUSTOMER_NAME = "Acme Ltd"   # as the workbook's drop-down offers it
MEMO_100_KB = "Rent for March, with every detail of the lease. " * 2100   # 102,900 characters


@pytest.fixture
def ledger_db(books):
    """The books (2026 open, January closed) kept by accountant alex; sam (sales) reads them.
    Customer 1 has invoice INV-2026-00001, paid in full; JE-2026-00001 (rent) is reversed."""
    with books.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
    with books.unit_of_work(ACCOUNTANT) as session:
        customer, _ = add_contact(session, ACCOUNTANT, {"kind": "organisation", "name": "Acme Ltd", "country": "GB"})
        assert customer.id == CUSTOMER
        rent = post_entry(session, ACCOUNTANT, date(2026, 3, 1), [Line("6200", debit=D(1200)),
                                                                   Line(ROLES["bank"], credit=D(1200))])
        reverse_entry(session, ACCOUNTANT, rent.id, date(2026, 3, 2))
        invoice = create_invoice(session, ACCOUNTANT, "sales", CUSTOMER, date(2026, 3, 2), date(2026, 4, 1),
                                 [LineIn("Bolts", D(1), D(10), "4100")])
        post_invoice(session, ACCOUNTANT, invoice.id)
        record_payment(session, ACCOUNTANT, "received", CUSTOMER, date(2026, 3, 3), D(10), [(invoice.id, D(10))])
        close_period(session, ACCOUNTANT, "2026-01", ROLES["retained_earnings"])
    return books
