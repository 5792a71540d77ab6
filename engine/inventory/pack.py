"""Inventory's part of the monthly pack, and the stock valuation report (Word).

Both are built from inventory's own queries (`engine.inventory.queries`), as at the end of a
day: what the stock was worth at the month's end and a month and a year before, where that
value sits (by category), the stock that has not moved out for 90 days (money tied up), the
items at or below their reorder point, and a year of month-end values as a line. Values go
in raw (Decimals, dates); the layout writes them in the organisation's locale.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy.orm import Session

from engine.inventory import queries
from engine.office import charts
from engine.office.locale import of_reader
from engine.office.report_body import (
    Column,
    Figure,
    Heading,
    Month,
    Section,
    Table,
    Text,
    report_context,
)
from engine.security.roles import Actor

SLOW_DAYS = 90     # no stock out for this many days up to the month's end: a slow mover
TOP = 10           # rows of a list in the pack: the ones that matter most
METHODS = {"fifo": "FIFO", "average": "Average"}


def total_value(session: Session, actor: Actor, as_of: date) -> Decimal:
    """The stock's value at the end of `as_of` (`queries.stock_value`, added up)."""
    return sum((v.value for v in queries.stock_value(session, actor, as_of)), Decimal(0))


def section(session: Session, actor: Actor, month: Month) -> Section:
    """Stock at the end of `month`: its value against the month and year before, by
    category, the value month by month, the slow movers and the items to reorder."""
    fmt = of_reader(session)
    end, day = month.end, fmt.date(month.end)
    value = total_value(session, actor, end)
    found = Section("Stock", figures=[Figure("Stock value at month end", value,
                                             total_value(session, actor, month.previous.end),
                                             total_value(session, actor, month.year_before.end))])
    by_category = queries.value_by_category(session, actor, end)
    found.add(Heading(f"Stock value by category on {day}"),
              Table([Column("Category"), Column("Items in stock", "count"), Column("Value", "money")],
                    [[c.category, c.items, c.value] for c in by_category],
                    total=["Total", sum(c.items for c in by_category), value] if by_category else None,
                    empty="No stock was held at the month's end."))
    months = [month.shifted(n) for n in range(-11, 1)]
    found.add(charts.line(f"Stock value at each month end, {months[0]} to {month}",
                          [format_date(m.start, "MMM yy", locale=fmt.locale) for m in months],
                          {"Stock value": [total_value(session, actor, m.end) for m in months]}))
    slow = queries.slow_movers(session, actor, end, SLOW_DAYS)
    found.add(Heading(f"Slow movers: in stock, nothing out in the {SLOW_DAYS} days to {day}"),
              Table([Column("SKU"), Column("Item"), Column("On hand", "quantity"),
                     Column("Value", "money"), Column("Last out", "date")],
                    [[s.sku, s.item, s.quantity, s.value, s.last_out or "never"] for s in slow[:TOP]],
                    total=[f"All {len(slow)}", "", None, sum((s.value for s in slow), Decimal(0)), None]
                    if slow else None,
                    empty=f"Every item in stock went out in the {SLOW_DAYS} days to the month's end."))
    if len(slow) > TOP:
        found.add(Text(f"The {TOP} most valuable of {len(slow)} slow movers; the total is of them all.", note=True))
    # the emptiest first: on hand as a share of the reorder point
    reorder = sorted(queries.reorder_list(session, actor, as_of=end),
                     key=lambda r: (r.on_hand / r.reorder_point, r.sku))
    found.add(Heading(f"At or below their reorder point on {day}: {len(reorder)} items"),
              Table([Column("SKU"), Column("Item"), Column("On hand", "quantity"), Column("Reorder point", "quantity"),
                     Column("To order", "quantity"), Column("Supplier")],
                    [[r.sku, r.item, r.on_hand, r.reorder_point, r.suggested, r.supplier or ""] for r in reorder[:TOP]],
                    empty="No item was at or below its reorder point."))
    if len(reorder) > TOP:
        found.add(Text(f"The {TOP} emptiest of {len(reorder)} (on hand against the reorder point); "
                       "`backoffice stock reorder` lists them all as they are today.", note=True))
    return found


def stock_valuation_report(session: Session, actor: Actor, as_of: date) -> dict[str, Any]:
    """Every item's stock at the end of `as_of`: quantity, unit cost and value by its costing
    method, category by category with their totals, and the totals by method and in all."""
    lines = queries.stock_valuation(session, actor, as_of)
    total = sum((v.value for v in lines), Decimal(0))
    summary = Section("Totals").add(
        Table([Column("Method"), Column("Items", "count"), Column("Value", "money")],
              [[METHODS.get(m, m), len(of), sum((v.value for v in of), Decimal(0))]
               for m in sorted({v.valuation for v in lines}) if (of := [v for v in lines if v.valuation == m])],
              total=["Total", len(lines), total] if lines else None, empty="No stock was held."),
        Table([Column("Category"), Column("Items", "count"), Column("Value", "money")],
              [[c.category, c.items, c.value] for c in queries.value_by_category(session, actor, as_of)],
              total=["Total", len(lines), total] if lines else None, empty="No stock was held."),
        Text("Unit cost: the value held over the quantity held, by the item's method (FIFO: what is left of its "
             "receipts; moving average: its average). Values are kept to 0.0001 and shown to the cent, so a "
             "column may differ from its total by a cent.", note=True))
    items = Section("Items by category")
    for category in sorted({v.category or queries.NO_CATEGORY for v in lines}):
        of = [v for v in lines if (v.category or queries.NO_CATEGORY) == category]
        items.add(Heading(category), Table(
            [Column("SKU"), Column("Item (unit)"), Column("Method"), Column("Quantity", "quantity"),
             Column("Unit cost", "money"), Column("Value", "money")],
            [[v.sku, f"{v.item} ({v.unit})", METHODS.get(v.valuation, v.valuation), v.quantity, v.unit_cost, v.value]
             for v in of],
            total=[f"{len(of)} items", "", "", None, None, sum((v.value for v in of), Decimal(0))]))
    return report_context(session, actor, "Stock valuation",
                          f"Stock held at the end of {of_reader(session).date(as_of)}", [summary, items])
