"""`backoffice stock ...`: post stock movements, and ask what is on hand, what it is worth and
what to reorder.

Thin, like every command group: parse what the clerk typed, call `engine.inventory.services`
(which checks permissions, the rules and stock levels, and resolves SKUs, location codes and
lot numbers) or `queries` (which check the reader's permission) with the acting user, print
the result. Numbers are parsed straight from the text into Decimals: a float would make
0.1 + 0.2 of stock differ from 0.3, and a value the database cannot hold exactly would only
fail at the end as an "internal error", so it is refused here, naming the option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import typer
from sqlalchemy.orm import Session

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.formats import money, parse_date, parse_number
from engine.inventory import queries
from engine.inventory.models import MONEY, QUANTITY, StockMovement
from engine.inventory.services import TypedMovement, post_typed, reverse_movement
from engine.security.roles import Actor

stock_app = typer.Typer(
    help="Stock: receive, issue, transfer, adjust and reverse; on hand, valuation, reorder list.",
    no_args_is_help=True,
)

Sku = Annotated[str, typer.Argument(metavar="SKU", help="The item's SKU.")]
Quantity = Annotated[str, typer.Argument(metavar="QUANTITY", help="How many, e.g. 12 or 2.5.")]
Place = Annotated[str, typer.Option(metavar="LOCATION", help="Location code (a warehouse or a bin).")]
FromPlace = Annotated[str, typer.Option("--from", metavar="LOCATION", help="Location the stock leaves.")]
LotOption = Annotated[str | None, typer.Option("--lot", help="Lot number (lot-tracked items need one).")]
DateOption = Annotated[str | None, typer.Option("--date", help="Date of the movement, YYYY-MM-DD (default: today).")]
Reference = Annotated[str | None, typer.Option(help="Free text, e.g. a delivery note or order number.")]


def _post(user: str | None, as_json: bool, build: Callable[[Session, Actor], StockMovement]) -> None:
    """Post one movement in one unit of work (all or nothing) and report it."""
    with acting_as(user) as (_db, actor, session):
        result = queries.movement_record(queries.movement(session, actor, build(session, actor).id))
    if as_json:
        print_json(result)
        return
    places = "".join(f" {word} {result[key]}" for word, key in (("from", "from_location"), ("to", "to_location"))
                     if result[key])
    unit = "" if result["unit"] == "each" else f" {result['unit']} of"
    lot = f" (lot {result['lot']})" if result["lot"] else ""
    undoes = f", reverses #{result['reverses_id']}" if result["reverses_id"] else ""
    out.print(f"posted movement #{result['id']} on {result['moved_on']}: {result['kind']} ({result['reason']}) "
              f"{result['quantity']}{unit} {result['sku']}{lot}{places}, value {money(result['value'])}{undoes}",
              soft_wrap=True)


def _typed(typed: TypedMovement) -> Callable[[Session, Actor], StockMovement]:
    return lambda session, actor: post_typed(session, actor, typed)


@stock_app.command("receive")
@handles_errors
def receive(
    sku: Sku,
    quantity: Quantity,
    to: Place,
    unit_cost: Annotated[str | None, typer.Option(help="Purchase price of one unit (a receipt needs it).")] = None,
    lot: LotOption = None,
    expires: Annotated[str | None, typer.Option(help="Expiry date of a new lot, YYYY-MM-DD.")] = None,
    supplier: Annotated[int | None, typer.Option(help="Contact id of the supplier.")] = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Receive stock into a location at its purchase cost (a new lot number creates the lot)."""
    count = parse_number(quantity, "QUANTITY", QUANTITY)
    cost = parse_number(unit_cost, "--unit-cost", MONEY) if unit_cost is not None else None
    moved_on = parse_date(on, "--date")
    expires_on = parse_date(expires, "--expires") if expires is not None else None
    _post(user, as_json, _typed(TypedMovement(
        "receipt", sku, count, moved_on, to_location=to, lot=lot, expires_on=expires_on, unit_cost=cost,
        supplier_id=supplier, reference=reference)))


@stock_app.command("issue")
@handles_errors
def issue(
    sku: Sku,
    quantity: Quantity,
    from_: FromPlace,
    lot: LotOption = None,
    customer: Annotated[int | None, typer.Option(help="Contact id of the customer (a sale).")] = None,
    cost_centre: Annotated[str | None, typer.Option(help="Who consumes it internally.")] = None,
    supplier: Annotated[int | None, typer.Option(
        help="Contact id of the supplier the stock goes back to (with --reason returned).")] = None,
    reason: Annotated[Literal["issued", "sold", "consumed", "returned"] | None, typer.Option(
        help="Default: sold with --customer, consumed with --cost-centre, else issued; returned: back to "
             "--supplier.")] = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Issue stock from a location, costed by the item's method (FIFO or moving average)."""
    count, moved_on = parse_number(quantity, "QUANTITY", QUANTITY), parse_date(on, "--date")
    _post(user, as_json, _typed(TypedMovement(
        "issue", sku, count, moved_on, reason=reason, from_location=from_, lot=lot, customer_id=customer,
        cost_centre=cost_centre, supplier_id=supplier, reference=reference)))


@stock_app.command("transfer")
@handles_errors
def transfer(
    sku: Sku,
    quantity: Quantity,
    from_: FromPlace,
    to: Place,
    lot: LotOption = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Move stock between two locations (its value does not change)."""
    count, moved_on = parse_number(quantity, "QUANTITY", QUANTITY), parse_date(on, "--date")
    _post(user, as_json, _typed(TypedMovement(
        "transfer", sku, count, moved_on, from_location=from_, to_location=to, lot=lot, reference=reference)))


# ignore_unknown_options: lets a negative CHANGE such as -3 through as the argument it is.
@stock_app.command("adjust", context_settings={"ignore_unknown_options": True})
@handles_errors
def adjust(
    sku: Sku,
    change: Annotated[str, typer.Argument(metavar="CHANGE", help="Signed change, e.g. -3 or +2.")],
    at: Place,
    reason: Annotated[Literal["counted", "damaged", "scrapped", "expired", "found"], typer.Option(
        help="Why the stock changed.")],
    unit_cost: Annotated[str | None, typer.Option(
        help="Cost of one unit coming in (default: the item's current cost).")] = None,
    lot: LotOption = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Correct the stock at a location: minus for stock gone, plus for stock found."""
    delta, moved_on = parse_number(change, "CHANGE", QUANTITY), parse_date(on, "--date")
    cost = parse_number(unit_cost, "--unit-cost", MONEY) if unit_cost is not None else None
    _post(user, as_json, _typed(TypedMovement(
        "adjustment", sku, delta, moved_on, reason=reason, at=at, lot=lot, unit_cost=cost, reference=reference)))


@stock_app.command("reverse")
@handles_errors
def reverse(
    movement_id: Annotated[int, typer.Argument(metavar="MOVEMENT_ID")],
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Undo a posted movement with its mirror image (posted movements are never edited)."""
    moved_on = parse_date(on, "--date")
    _post(user, as_json, lambda session, actor: reverse_movement(session, actor, movement_id, moved_on, reference))


@stock_app.command("on-hand")
@handles_errors
def on_hand(
    item: Annotated[str | None, typer.Option(metavar="SKU", help="Only this item.")] = None,
    location: Annotated[str | None, typer.Option(
        metavar="CODE", help="Only this location (a warehouse includes its bins).")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """What is on hand, per item, location and lot."""
    rows = fetch(user, lambda session, actor: {"items": [queries.on_hand_record(h) for h in
                                                         queries.on_hand(session, actor, item, location)]},
                 ("/inventory/on-hand", {"item": item, "location": location}))["items"]
    if as_json:
        print_json(rows)
        return
    table = new_table("SKU", "item", "location", "lot", "quantity", "unit")
    for r in rows:
        table.add_row(r["sku"], r["item"], r["location"], r["lot"] or "", r["quantity"], r["unit"])
    out.print(table)
    out.print(f"{len(rows)} lines")


@stock_app.command("valuation")
@handles_errors
def valuation(
    as_of: Annotated[str | None, typer.Option(help="Value at the end of this day, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """What the stock was worth at the end of a day, per item and in total."""
    day = parse_date(as_of, "--as-of")
    report = fetch(user, lambda session, actor: queries.valuation_report(queries.stock_value(session, actor, day), day),
                   ("/inventory/valuation", {"as_of": day.isoformat()}))
    items, total = report["items"], report["total"]
    if as_json:
        print_json(report)
        return
    methods = {"fifo": "FIFO", "average": "moving average"}
    table = new_table("SKU", "item", "method", "quantity", "value", title=f"Stock value at the end of {day.isoformat()}")
    for r in items:
        table.add_row(r["sku"], r["item"], methods.get(r["method"], r["method"]), r["quantity"], money(r["value"]))
    table.add_section()
    table.add_row("total", "", "", "", money(total))
    out.print(table)


@stock_app.command("reorder")
@handles_errors
def reorder(as_json: JsonOption = False, user: UserOption = None) -> None:
    """Items at or below their reorder point, how many to order and from whom."""
    rows = fetch(user, lambda session, actor: {"items": [queries.reorder_record(r)
                                                         for r in queries.reorder_list(session, actor)]},
                 ("/inventory/reorder", None))["items"]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("nothing to reorder: every item is above its reorder point")
        return
    table = new_table("SKU", "item", "on hand", "reorder point", "order", "supplier")
    for r in rows:
        table.add_row(r["sku"], r["item"], r["on_hand"], r["reorder_point"], r["suggested"], r["supplier"] or "")
    out.print(table)
