"""The customers fixture (contacts with overdue invoices on AS_OF) of test_mail_recipients.py, test_mail_runs.py and test_mail_merge_fields.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.contacts import services as contacts
from engine.ledger.invoices import LineIn, create_invoice, post_invoice, record_payment
from tests.integration.conftest import ACCOUNTANT

ALEX = ACCOUNTANT
AS_OF = date(2026, 5, 4)


def _contact(session, name, country, email=None, address=True, **more):
    kind = more.pop("kind", "organisation")
    data = {"kind": kind, "country": country, "email": email, **more}
    if kind == "person":
        data["first_name"], data["last_name"] = name.split(" ", 1)
    else:
        data["name"] = name
    places = {"GB": ("1 High St", "Leeds", "LS1 4AP"), "DE": ("Hauptstraße 5", "Berlin", "10115"),
              "FR": ("3 rue de la Paix", "Paris", "75002"), "US": ("502 S Spring St", "Springfield", "62706")}
    line1, city, postcode = places[country]
    addresses = [{"kind": "billing", "line1": line1, "city": city, "postcode": postcode, "country": country}]
    contact, _ = contacts.add_contact(session, ALEX, data, addresses if address else [])
    return contact.id


def _invoice(session, contact_id, due, amount="100", kind="sales", post=True, issued=None):
    invoice = create_invoice(session, ALEX, kind, contact_id, issued or date(2026, 1, 5), due,
                             [LineIn("Widgets", D(1), D(amount), "4100" if kind == "sales" else "6100")])
    return post_invoice(session, ALEX, invoice.id) if post else invoice


@pytest.fixture
def customers(books):
    """Customers and their invoices on 4 May 2026:
    Acme (GB): 1200.50 due 1 March (64 days late), 300 due 1 April half paid in April (33 days
        late; the other half paid after 4 May), 50 due 1 February paid in full;
    Bolt (DE): 400 due 29 April (5 days late);   Cog (FR, opted out): 250 due 1 March;
    Dana Wong (US person, no e-mail): 75.25 due 1 March;   Eve Ltd (no e-mail, no address): 10 due 1 March;
    Fox (GB): a purchase bill due 1 March and a draft invoice due 1 March, neither a sales invoice owed."""
    ids = {}
    with books.unit_of_work(ALEX) as session:
        ids["acme"] = _contact(session, "Acme Ltd", "GB", "accounts@acme.example", tags="customer, vip")
        ids["bolt"] = _contact(session, "Bolt GmbH", "DE", "buchhaltung@bolt.example", tags="customer")
        ids["cog"] = _contact(session, "Cog SARL", "FR", "compta@cog.example", opt_out=True, tags="vip")
        ids["dana"] = _contact(session, "Dana Wong", "US", None, kind="person", tags="vip")
        ids["eve"] = _contact(session, "Eve Ltd", "GB", None, address=False)
        ids["fox"] = _contact(session, "Fox Supplies", "GB", "sales@fox.example", tags="vipers")

        acme_1 = _invoice(session, ids["acme"], date(2026, 3, 1), "1000.42")          # 1200.50 with 20% tax? no tax
        acme_2 = _invoice(session, ids["acme"], date(2026, 4, 1), "300", issued=date(2026, 3, 2))
        acme_3 = _invoice(session, ids["acme"], date(2026, 2, 1), "50")
        record_payment(session, ALEX, "received", ids["acme"], date(2026, 4, 10), D("200"),
                       [(acme_2.id, D("150")), (acme_3.id, D("50"))])
        record_payment(session, ALEX, "received", ids["acme"], date(2026, 5, 20), D("150"), [(acme_2.id, D("150"))])
        _invoice(session, ids["bolt"], date(2026, 4, 29), "400")
        _invoice(session, ids["cog"], date(2026, 3, 1), "250")
        _invoice(session, ids["dana"], date(2026, 3, 1), "75.25")
        _invoice(session, ids["eve"], date(2026, 3, 1), "10")
        _invoice(session, ids["fox"], date(2026, 3, 1), "99", kind="purchase")
        _invoice(session, ids["fox"], date(2026, 3, 1), "98", post=False)
        _invoice(session, ids["fox"], date(2026, 6, 30), "97", issued=date(2026, 6, 1))   # issued after 4 May
        ids["acme_invoices"] = [acme_1.number, acme_2.number]
    return books, ids
