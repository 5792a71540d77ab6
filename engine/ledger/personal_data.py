"""The ledger's part in erasing a person (the `erasing` hook of contacts, a bridge).

Refused while the person's account is not settled: a draft invoice, a posted invoice with
something still open on it, a payment not wholly allocated. The books must be kept
`ledger.retention_years` after the end of their year: while a posted invoice, payment or
journal line naming the person is within that time, their name and billing address stay on
the contact. The records of the books themselves (amounts, dates, numbers) stay in any case,
referring to the contact by its number.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.ledger.invoices import CENT, open_balance
from engine.ledger.models import Allocation, Invoice, JournalEntry, JournalLine, Payment
from engine.security.roles import Actor


def end_of_retention(day: date, years: int) -> date:
    """The last day the books of `day`'s year must be kept."""
    return date(day.year + years, 12, 31)


def _refusals(session: Session, plan: Any) -> None:
    invoices = list(session.scalars(select(Invoice).where(Invoice.contact_id == plan.contact_id)
                                    .order_by(Invoice.id)))
    for invoice in invoices:
        if invoice.status == "draft":
            plan.refuse("invoices", "draft_invoice", f"draft {invoice.kind} invoice #{invoice.id} of "
                        f"{invoice.issued_on} names the person: post it or delete it first")
        elif (owed := open_balance(session, invoice)) != 0:
            plan.refuse("invoices", "open_invoice", f"{invoice.number} still has {owed.quantize(CENT)} open: settle it first")
    allocated = (select(Allocation.payment_id, func.sum(Allocation.amount).label("amount"))
                 .group_by(Allocation.payment_id).subquery())
    for payment_id, paid_on, amount, settled in session.execute(
            select(Payment.id, Payment.paid_on, Payment.amount, func.coalesce(allocated.c.amount, Decimal(0)))
            .outerjoin(allocated, allocated.c.payment_id == Payment.id)
            .where(Payment.contact_id == plan.contact_id).order_by(Payment.id)):
        if amount != settled:
            plan.refuse("payments", "unallocated_payment", f"payment #{payment_id} of {paid_on} has "
                        f"{(amount - settled).quantize(CENT)} not allocated to an invoice: allocate or refund it first")


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    _refusals(session, plan)
    cid, years = plan.contact_id, plan.retention_years
    named: list[tuple[date, str, str, int]] = []     # (kept until, what, table, id)
    for row in session.execute(select(Invoice.id, Invoice.number, Invoice.issued_on)
                               .where(Invoice.contact_id == cid, Invoice.status == "posted")):
        named.append((end_of_retention(row.issued_on, years), f"invoice {row.number}", "invoices", row.id))
    for row in session.execute(select(Payment.id, Payment.paid_on).where(Payment.contact_id == cid)):
        named.append((end_of_retention(row.paid_on, years), f"payment #{row.id} of {row.paid_on}", "payments",
                      row.id))
    for row in session.execute(select(JournalLine.id, JournalEntry.number, JournalEntry.entry_date)
                               .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                               .where(JournalLine.contact_id == cid)):
        named.append((end_of_retention(row.entry_date, years), f"journal entry {row.number}", "journal_lines",
                      row.id))
    if not named:
        return
    until, what, _, _ = max(named, key=lambda n: (n[0], n[2] == "invoices"))
    if plan.today <= until:
        plan.hold_name(f"named on {what}, kept until {until} under the retention of the books "
                       f"(ledger.retention_years = {years})", until)
    for table in ("invoices", "payments", "journal_lines"):
        ids = [n[3] for n in named if n[2] == table]
        if ids:
            plan.keep(table, f"{table.replace('_', ' ')} of the books", "records of the books (amounts, dates, "
                      "numbers), which refer to the contact by its number and name no one once it is anonymised",
                      (), ids)
