"""The ledger's mail-merge selection, registered with mail (`engine.ledger.register`), so
mail merge knows no invoice:

    overdue   customers with posted sales invoices more than `days` days past due on `as_of`
              (default today): one recipient per customer, with those invoices
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import BackofficeError
from engine.ledger.invoices import open_balance
from engine.ledger.models import Invoice
from engine.security.roles import Actor


def overdue_customers(session: Session, actor: Actor, days: int = 0, as_of: date | str | None = None,
                      currency: str = "EUR") -> tuple[list[tuple[int, dict[str, Any]]], list]:
    """(contact id, {invoices, total_overdue, currency, as_of, days}) by the customer's name;
    nobody is left out here (mail leaves out who opted out or cannot be reached)."""
    actor.require("read", "ledger")
    days = int(days)
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    if days < 0:
        raise BackofficeError(f"days {days}: the number of days overdue cannot be below 0")
    as_of = as_of or date.today()
    latest_due = as_of - timedelta(days=days + 1)      # more than `days` days past due on as_of
    query = (select(Invoice)
             .where(Invoice.kind == "sales", Invoice.status == "posted", Invoice.issued_on <= as_of,
                    Invoice.due_on <= latest_due)
             .order_by(Invoice.contact_id, Invoice.due_on, Invoice.number))
    by_contact: dict[int, list[dict[str, Any]]] = {}
    for invoice in session.scalars(query):
        owed = open_balance(session, invoice, as_of)
        if owed <= 0:
            continue
        by_contact.setdefault(invoice.contact_id, []).append({
            "number": invoice.number, "issued_on": invoice.issued_on, "due_on": invoice.due_on,
            "gross": invoice.gross, "open_amount": owed, "days_overdue": (as_of - invoice.due_on).days,
        })
    names = {}
    ids = list(by_contact)
    for start in range(0, len(ids), 500):           # (a database takes only so many parameters)
        chunk = ids[start:start + 500]
        names.update((i, n) for i, n in session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(chunk))))
    picked = []
    for contact_id in sorted(by_contact, key=lambda i: (names.get(i, "").casefold(), i)):
        invoices = by_contact[contact_id]
        picked.append((contact_id, {
            "invoices": invoices, "total_overdue": sum((i["open_amount"] for i in invoices), Decimal(0)),
            "currency": currency, "as_of": as_of, "days": days,
        }))
    return picked, []
