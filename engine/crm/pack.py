"""The CRM's part of the monthly management pack: the open pipeline and what was won and lost.

Every figure is the CRM's own query (`queries.pipeline`, `queries.won_lost`), values kept in
their currencies (never added across them). The key figures are in the base currency of the
books; the tables hold every currency. The CRM keeps no history of stages, so the pipeline
is as it stands when the pack is made, while won and lost count the opportunities closed in
the month.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from engine.crm import queries
from engine.crm.services import base_currency
from engine.office.report_body import Column, Figure, Heading, Month, Section, Table, Text
from engine.security.roles import Actor

TITLE = "Sales pipeline"


def won_value(session: Session, actor: Actor, month: Month, currency: str) -> Decimal:
    """The value of the opportunities won in `month`, in `currency`."""
    found = queries.won_lost(session, actor, month.start, month.end)
    return next((row["won_value"] for row in found["by_currency"] if row["currency"] == currency), Decimal(0))


def win_rate_percent(rate: Decimal | None) -> Decimal | None:
    """`won_lost`'s rate (0.6667) in percent (66.67), as the layout writes percentages."""
    return None if rate is None else rate * 100


def section(session: Session, actor: Actor, month: Month) -> Section:
    """The pipeline by stage and currency, its totals, and the month's won and lost with the
    win rate; key figures: the weighted pipeline and the value won in the month."""
    base = base_currency(session)
    stages = queries.pipeline(session, actor)
    closed = queries.won_lost(session, actor, month.start, month.end)
    currencies = sorted({row["currency"] for row in stages})

    def total(currency: str, key: str):
        return sum((row[key] for row in stages if row["currency"] == currency), Decimal(0) if key != "count" else 0)

    found = Section(TITLE)
    found.figures = [
        Figure(f"Weighted pipeline ({base})", total(base, "weighted"), kind="money"),
        Figure(f"Won in the month ({base})", won_value(session, actor, month, base),
               won_value(session, actor, month.previous, base), won_value(session, actor, month.year_before, base)),
    ]
    found.add(Heading("Open pipeline by stage"), Table(
        [Column("Stage"), Column("Probability", "percent"), Column("Currency"), Column("Number", "count"),
         Column("Value", "money"), Column("Weighted value", "money")],
        [[row["stage"].capitalize(), row["probability"], row["currency"], row["count"], row["value"],
          row["weighted"]] for row in stages],
        empty="No opportunity is open."))
    if len(currencies) > 1:
        found.add(Table([Column("Total by currency"), Column("Opportunities", "count"), Column("Value", "money"),
                         Column("Weighted value", "money")],
                        [[c, total(c, "count"), total(c, "value"), total(c, "weighted")] for c in currencies]))
    found.add(Text("The open pipeline as it stands on the day the pack is made; the weighted value is the value "
                   "times the stage's probability. Amounts in different currencies are never added up.", note=True))
    found.add(Heading("Won and lost in the month"), Table(
        [Column("Currency"), Column("Won", "count"), Column("Won value", "money"), Column("Lost", "count"),
         Column("Lost value", "money")],
        [[row["currency"], row["won_count"], row["won_value"], row["lost_count"], row["lost_value"]]
         for row in closed["by_currency"]],
        empty="No opportunity was won or lost in the month."))
    if closed["win_rate"] is not None:
        found.add(Table([Column("Closed in the month"), Column("Won", "count"), Column("Lost", "count"),
                         Column("Win rate", "percent")],
                        [["Opportunities", closed["won"], closed["lost"], win_rate_percent(closed["win_rate"])]]))
    return found
