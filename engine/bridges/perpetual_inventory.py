"""Perpetual inventory (a bridge: it needs inventory and the ledger, and neither imports the
other, as Tryton's account_stock_continental): the value of every stock movement posted to the books as it happens,
when `ledger.perpetual_inventory` is on. The inventory account then equals the stock
valuation on any date.

    receipt      Dr inventory          Cr goods received, not invoiced (the bill clears it)
    issue        Dr cost of goods      Cr inventory
    adjustment   Dr inventory          Cr stock adjustments (or the other way round for a loss)
    transfer     nothing: the stock's value does not change
    reversal     the mirror of its original's entry (against the original's account)

Movements of one day are posted as one entry (a 100,000-row workbook makes a few hundred
entries, not 100,000). The engine posts these entries itself, as the system, on the clerk's
behalf: a warehouse role need not be allowed to write the ledger, and the audit log still
names the clerk whose movements they are.

Inventory announces posted movements on `engine.inventory.hooks.stock_moved`; the composition
root connects `post_stock_value` to it when both modules are switched on (declared in
`engine.ledger.register`), and it acts when the setting `ledger.perpetual_inventory` is on
(read per unit of work, from `session.info`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.ledger.chart import ROLES
from engine.ledger.services import Line, post_entry
from engine.security.roles import SYSTEM

COUNTER_ACCOUNT = {"receipt": "received_not_invoiced", "issue": "cost_of_goods", "adjustment": "stock_adjustments"}


def post_stock_value(session: Session, movements: Iterable[tuple[date, str, Decimal]]) -> None:
    """Post (date, kind, value change) of movements to the books, if the books want them."""
    ledger = session.info.get("ledger")
    if ledger is None or not ledger.perpetual_inventory:
        return
    by_day: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for moved_on, kind, value in movements:
        if value == 0 or kind not in COUNTER_ACCOUNT:
            continue
        nets = by_day[moved_on]  # account -> debit (negative: credit)
        nets[ROLES["inventory"]] += value
        nets[ROLES[COUNTER_ACCOUNT[kind]]] -= value
    for moved_on, nets in sorted(by_day.items()):
        lines = [Line(code, debit=n) if n > 0 else Line(code, credit=-n) for code, n in sorted(nets.items()) if n]
        if lines:
            post_entry(session, SYSTEM, moved_on, lines, memo=f"stock movements of {moved_on}", source="stock")

