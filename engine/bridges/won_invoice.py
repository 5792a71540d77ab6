"""Won opportunities become draft invoices (a bridge: it needs the CRM and the ledger, and
neither imports the other).

The CRM announces `engine.crm.hooks.opportunity_won`; when the person winning it asked for an
invoice (`backoffice crm opportunity win ID --invoice`), this makes a draft sales invoice to
the opportunity's contact through the ledger's invoice services, in the same transaction:
one line, the opportunity's title, quantity 1 at its value, booked to the ledger's default
income account (sales) with no tax (the draft is for an accountant to check, add the tax
and post), dated the day it was won and due after the ledger's payment terms. It is made in
the name of whoever won the opportunity, so they need to be allowed to write the ledger (an
accountant, an administrator): a draft invoice is the ledger's record. The ledger keeps one
base currency: an opportunity in another currency is refused, naming its currency, and
nothing is saved (the opportunity stays open).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.config import LedgerSettings
from engine.crm.services import attach_invoice
from engine.errors import ValidationFailed
from engine.ledger.invoices import CENT, LineIn, create_invoice
from engine.problems import Problem
from engine.security.roles import Actor


def invoice_won(session: Session, actor: Actor, opportunity_id: int, *, contact_id: int, title: str,
                value: Decimal, currency: str, won_on: date, invoice_wanted: bool) -> None:
    """Make the won opportunity a draft sales invoice, if one is wanted (see the module's docstring)."""
    if not invoice_wanted:
        return
    base = (session.info.get("ledger") or LedgerSettings()).base_currency
    problems = []
    if currency != base:
        problems.append(Problem("currency", "not_base_currency",
                                f"the opportunity is in {currency}, the books in {base} (ledger.base_currency): "
                                "an invoice is made only of an opportunity in the base currency"))
    if value != value.quantize(CENT):
        problems.append(Problem("value", "places", f"an invoice is in whole cents: {value} is not"))
    if problems:
        raise ValidationFailed(problems)
    invoice = create_invoice(session, actor, "sales", contact_id, won_on, None,
                             [LineIn(title[:200], Decimal(1), value, None)],  # type: ignore[arg-type]
                             reference=f"opportunity #{opportunity_id}")
    attach_invoice(session, opportunity_id, invoice.id)
