"""`backoffice stock ...`: post stock movements, and ask what is on hand, what it is worth and
what to reorder.

Thin, like every command group: parse what the clerk typed, resolve SKUs and location codes,
call `engine.inventory.services` (which checks permissions and stock levels) or `queries`,
print the result. Numbers are parsed straight from the text into Decimals: a float would make
0.1 + 0.2 of stock differ from 0.3, and a value the database cannot hold exactly would only
fail at the end as an "internal error", so it is refused here, naming the option.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Literal

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from engine.cli_support import JsonOption, UserOption, acting_as, handles_errors, out, print_json
from engine.contacts.models import Contact
from engine.errors import BackofficeError, NotFound
from engine.formats import exact_money as money_text
from engine.formats import money as cents
from engine.formats import parse_date, parse_number
from engine.formats import quantity_text as plain_quantity
from engine.inventory import queries
from engine.inventory.models import MONEY, QUANTITY, Item, Location, Lot, StockMovement
from engine.inventory.services import (
    AREA,
    Movement,
    find_item,
    find_location,
    find_lot,
    post_movement,
    reverse_movement,
)
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
def _check_contact(session: Session, contact_id: int | None, option: str) -> None:
    """The contact must exist: the database would refuse it only as an internal error."""
    if contact_id is not None and session.get(Contact, contact_id) is None:
        raise NotFound(f"{option} {contact_id}: no contact with that id; `backoffice contacts list` shows them")


def _lot_id(session: Session, item: Item, lot: str | None, **receipt) -> int | None:
    found = find_lot(session, item, lot, **receipt)
    return found.id if found else None


def movement_as_dict(session: Session, m: StockMovement) -> dict:
    item = session.get(Item, m.item_id)
    lot = session.get(Lot, m.lot_id) if m.lot_id else None

    def code(location_id: int | None) -> str | None:
        return session.get(Location, location_id).code if location_id else None

    return {
        "id": m.id, "moved_on": m.moved_on.isoformat(), "kind": m.kind, "reason": m.reason,
        "sku": item.sku, "item": item.name, "unit": item.unit, "quantity": plain_quantity(m.quantity),
        "from_location": code(m.from_location_id), "to_location": code(m.to_location_id),
        "lot": lot.lot_number if lot else None, "unit_cost": money_text(m.unit_cost), "value": money_text(m.value),
        "supplier_id": m.supplier_id, "customer_id": m.customer_id, "cost_centre": m.cost_centre,
        "reference": m.reference, "reverses_id": m.reverses_id, "posted_by": m.updated_by,
    }


def _post(user: str | None, as_json: bool, build: Callable[[Session, Actor], StockMovement]) -> None:
    """Post one movement in one unit of work (all or nothing) and report it."""
    with acting_as(user) as (_db, actor, session):
        result = movement_as_dict(session, build(session, actor))
    if as_json:
        print_json(result)
        return
    places = "".join(f" {word} {result[key]}" for word, key in (("from", "from_location"), ("to", "to_location"))
                     if result[key])
    unit = "" if result["unit"] == "each" else f" {result['unit']} of"
    lot = f" (lot {result['lot']})" if result["lot"] else ""
    undoes = f", reverses #{result['reverses_id']}" if result["reverses_id"] else ""
    out.print(f"posted movement #{result['id']} on {result['moved_on']}: {result['kind']} ({result['reason']}) "
              f"{result['quantity']}{unit} {result['sku']}{lot}{places}, value {cents(result['value'])}{undoes}",
              soft_wrap=True)


@stock_app.command("receive")
@handles_errors
def receive(
    sku: Sku,
    quantity: Quantity,
    to: Place,
    unit_cost: Annotated[str, typer.Option(help="Purchase price of one unit.")],
    lot: LotOption = None,
    expires: Annotated[str | None, typer.Option(help="Expiry date of a new lot, YYYY-MM-DD.")] = None,
    supplier: Annotated[int | None, typer.Option(help="Contact id of the supplier.")] = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Receive stock into a location at its purchase cost (a new lot number creates the lot)."""
    count, cost = parse_number(quantity, "QUANTITY", QUANTITY), parse_number(unit_cost, "--unit-cost", MONEY)
    moved_on = parse_date(on, "--date")
    if expires is not None and not lot:
        raise BackofficeError("--expires is the expiry date of a lot: give --lot too")
    expires_on = parse_date(expires, "--expires") if expires is not None else None

    def build(session: Session, actor: Actor) -> StockMovement:
        item = find_item(session, sku)
        _check_contact(session, supplier, "--supplier")
        return post_movement(session, actor, Movement(
            "receipt", "received", item.id, count, moved_on, to_location_id=find_location(session, to).id,
            lot_id=_lot_id(session, item, lot, create_for_receipt=True, expires_on=expires_on),
            unit_cost=cost, supplier_id=supplier, reference=reference))

    _post(user, as_json, build)


@stock_app.command("issue")
@handles_errors
def issue(
    sku: Sku,
    quantity: Quantity,
    from_: FromPlace,
    lot: LotOption = None,
    customer: Annotated[int | None, typer.Option(help="Contact id of the customer (a sale).")] = None,
    cost_centre: Annotated[str | None, typer.Option(help="Who consumes it internally.")] = None,
    reason: Annotated[Literal["issued", "sold", "consumed"] | None, typer.Option(
        help="Default: sold with --customer, consumed with --cost-centre, else issued.")] = None,
    on: DateOption = None, reference: Reference = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Issue stock from a location, costed by the item's method (FIFO or moving average)."""
    count, moved_on = parse_number(quantity, "QUANTITY", QUANTITY), parse_date(on, "--date")
    if customer is not None and cost_centre:
        raise BackofficeError("give --customer (a sale) or --cost-centre (internal use), not both")
    why = reason or ("sold" if customer is not None else "consumed" if cost_centre else "issued")

    def build(session: Session, actor: Actor) -> StockMovement:
        item = find_item(session, sku)
        _check_contact(session, customer, "--customer")
        return post_movement(session, actor, Movement(
            "issue", why, item.id, count, moved_on, from_location_id=find_location(session, from_).id,
            lot_id=_lot_id(session, item, lot), customer_id=customer, cost_centre=cost_centre,
            reference=reference))

    _post(user, as_json, build)


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

    def build(session: Session, actor: Actor) -> StockMovement:
        item = find_item(session, sku)
        return post_movement(session, actor, Movement(
            "transfer", "moved", item.id, count, moved_on, from_location_id=find_location(session, from_).id,
            to_location_id=find_location(session, to).id, lot_id=_lot_id(session, item, lot), reference=reference))

    _post(user, as_json, build)


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
    if cost is not None and delta < 0:
        raise BackofficeError("--unit-cost is for stock coming in; stock going out leaves at its recorded cost")

    def build(session: Session, actor: Actor) -> StockMovement:
        item = find_item(session, sku)
        place = find_location(session, at).id
        return post_movement(session, actor, Movement(
            "adjustment", reason, item.id, delta, moved_on, from_location_id=place if delta < 0 else None,
            to_location_id=place if delta > 0 else None, lot_id=_lot_id(session, item, lot),
            unit_cost=cost, reference=reference))

    _post(user, as_json, build)


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
    with acting_as(user) as (_db, actor, session):
        actor.require("read", AREA)
        if item is not None:
            find_item(session, item)  # an unknown SKU is an error, not an empty list
        if location is not None:
            find_location(session, location)
        rows = [{"sku": h.sku, "item": h.item, "location": h.location, "lot": h.lot,
                 "quantity": plain_quantity(h.quantity), "unit": h.unit}
                for h in queries.on_hand(session, item, location)]
    if as_json:
        print_json(rows)
        return
    table = Table("SKU", "item", "location", "lot", "quantity", "unit")
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
    with acting_as(user) as (_db, actor, session):
        actor.require("read", AREA)
        values = queries.stock_value(session, day)
    items = [{"sku": v.sku, "item": v.item, "method": v.valuation, "quantity": plain_quantity(v.quantity),
              "value": money_text(v.value)} for v in values]
    total = money_text(sum((v.value for v in values), Decimal(0)))
    if as_json:
        print_json({"as_of": day.isoformat(), "items": items, "total": total})
        return
    methods = {"fifo": "FIFO", "average": "moving average"}
    table = Table("SKU", "item", "method", "quantity", "value", title=f"Stock value at the end of {day.isoformat()}")
    for r in items:
        table.add_row(r["sku"], r["item"], methods.get(r["method"], r["method"]), r["quantity"], cents(r["value"]))
    table.add_section()
    table.add_row("total", "", "", "", cents(total))
    out.print(table)


@stock_app.command("reorder")
@handles_errors
def reorder(as_json: JsonOption = False, user: UserOption = None) -> None:
    """Items at or below their reorder point, how many to order and from whom."""
    with acting_as(user) as (_db, actor, session):
        actor.require("read", AREA)
        rows = [{"sku": r.sku, "item": r.item, "on_hand": plain_quantity(r.on_hand),
                 "reorder_point": plain_quantity(r.reorder_point), "suggested": plain_quantity(r.suggested),
                 "supplier": r.supplier} for r in queries.reorder_list(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("nothing to reorder: every item is above its reorder point")
        return
    table = Table("SKU", "item", "on hand", "reorder point", "order", "supplier")
    for r in rows:
        table.add_row(r["sku"], r["item"], r["on_hand"], r["reorder_point"], r["suggested"], r["supplier"] or "")
    out.print(table)
