"""The default chart of accounts shipped for a small trading business (and the demo).

Codes follow the common convention: 1 assets, 2 liabilities, 3 equity, 4 income, 5-7
expenses. Headings (codes ending in 000) group the accounts under them and take no postings
themselves. The accounts the engine posts to on its own (receivables, payables, tax,
inventory, cost of goods, retained earnings) are named in `ROLES`, so a business with its
own chart can point them elsewhere.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.ledger.models import Account
from engine.security.roles import Actor

# (code, name, type, parent code)
DEFAULT_CHART = [
    ("1000", "Assets", "asset", None),
    ("1100", "Bank", "asset", "1000"),
    ("1110", "Cash", "asset", "1000"),
    ("1200", "Accounts receivable", "asset", "1000"),
    ("1300", "Inventory", "asset", "1000"),
    ("1400", "VAT receivable", "asset", "1000"),
    ("1500", "Equipment", "asset", "1000"),
    ("1590", "Accumulated depreciation", "asset", "1000"),
    ("2000", "Liabilities", "liability", None),
    ("2100", "Accounts payable", "liability", "2000"),
    ("2150", "Goods received, not invoiced", "liability", "2000"),
    ("2160", "Assets bought or sold, not invoiced", "liability", "2000"),
    ("2200", "VAT payable", "liability", "2000"),
    ("2300", "Wages payable", "liability", "2000"),
    ("2400", "Loans", "liability", "2000"),
    ("3000", "Equity", "equity", None),
    ("3100", "Share capital", "equity", "3000"),
    ("3200", "Retained earnings", "equity", "3000"),
    ("4000", "Income", "income", None),
    ("4100", "Sales", "income", "4000"),
    ("4200", "Services", "income", "4000"),
    ("4900", "Other income", "income", "4000"),
    ("4950", "Gain or loss on disposal of assets", "income", "4000"),
    ("5000", "Cost of sales", "expense", None),
    ("5100", "Cost of goods sold", "expense", "5000"),
    ("5200", "Inventory adjustments", "expense", "5000"),
    ("6000", "Operating expenses", "expense", None),
    ("6100", "Wages and salaries", "expense", "6000"),
    ("6200", "Rent", "expense", "6000"),
    ("6300", "Utilities", "expense", "6000"),
    ("6400", "Office and supplies", "expense", "6000"),
    ("6500", "Travel", "expense", "6000"),
    ("6600", "Depreciation", "expense", "6000"),
    ("6900", "Bank charges", "expense", "6000"),
]

ROLES = {
    "bank": "1100", "cash": "1110", "receivables": "1200", "inventory": "1300", "input_tax": "1400",
    "payables": "2100", "received_not_invoiced": "2150", "output_tax": "2200",
    "retained_earnings": "3200", "sales": "4100", "cost_of_goods": "5100", "stock_adjustments": "5200",
}
# The accounts whose balance is the money the business holds (`reports.cash_at`).
CASH_ROLES = ("bank", "cash")


def install_chart(session: Session, actor: Actor, chart: list[tuple[str, str, str, str | None]] = DEFAULT_CHART) -> int:
    """Add the chart's accounts that are missing (by code); returns how many were added."""
    actor.require("write", "ledger")
    known = {code: i for i, code in session.execute(select(Account.id, Account.code))}
    added = 0
    for code, name, kind, parent in chart:
        if code in known:
            continue
        account = Account(code=code, name=name, type=kind, parent_id=known.get(parent) if parent else None,
                          updated_by=actor.login)
        session.add(account)
        session.flush()
        known[code] = account.id
        added += 1
    return added
