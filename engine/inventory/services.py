"""Stock operations: receive, issue, transfer, adjust, reverse and count. Every door (the CLI,
a workbook sync, later the add-in and the API) posts stock through `post_movement`, inside
the caller's unit of work.

Posting a movement, in one transaction:
1. lock the item's cost row, then the balance rows it touches (always in that order, so two
   postings of the same item queue up instead of deadlocking);
2. refuse it if any balance would go below zero, or a lot that is not available would be
   issued, with a message naming the item, the place and what is there;
3. cost it (FIFO layers or the moving average, see `valuation`), update the balances, the
   item's quantity and value, and the FIFO layers;
4. add the movement row (audited like every ORM change).

On PostgreSQL the locks are row locks (SELECT ... FOR UPDATE); on SQLite every writer holds
the database's write lock from its first statement (BEGIN IMMEDIATE), which serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.inventory import valuation
from engine.inventory.hooks import stock_moved
from engine.inventory.models import (
    REASONS,
    CostLayer,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockCount,
    StockMovement,
)
from engine.security.roles import Actor

AREA = "inventory"
LOSSES = ("damaged", "scrapped", "expired")  # adjustment reasons that only take stock away


@dataclass(frozen=True)
class Movement:
    """A movement to post, as any door hands it over (ids resolved, quantities Decimal).

    `quantity` is positive, except for adjustments, where it is the signed change.
    """

    kind: str
    reason: str
    item_id: int
    quantity: Decimal
    moved_on: date
    from_location_id: int | None = None
    to_location_id: int | None = None
    lot_id: int | None = None
    unit_cost: Decimal | None = None
    supplier_id: int | None = None
    customer_id: int | None = None
    cost_centre: str | None = None
    reference: str | None = None
    reverses_id: int | None = None
    value: Decimal | None = None    # a reversal's exact value; otherwise worked out when posting


# -- looking things up by the names people use --------------------------------------------

def find_item(session: Session, sku: str) -> Item:
    item = session.scalars(select(Item).where(Item.sku == sku)).first()
    if item is None:
        raise NotFound(f"no item with SKU {sku!r}; `backoffice stock on-hand` lists the items in stock")
    return item


def find_location(session: Session, code: str) -> Location:
    location = session.scalars(select(Location).where(Location.code == code)).first()
    if location is None:
        raise NotFound(f"no location with code {code!r}")
    return location


def find_lot(session: Session, item: Item, lot_number: str | None, *, create_for_receipt: bool = False,
             expires_on: date | None = None) -> Lot | None:
    """The item's lot by number; a receipt of a new lot number creates it (awaiting inspection
    when the item's lots are inspected on arrival is a quality decision: it starts available)."""
    if not lot_number:
        return None
    lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.lot_number == lot_number)).first()
    if lot is None and create_for_receipt:
        lot = Lot(item_id=item.id, lot_number=lot_number, expires_on=expires_on, status="available")
        session.add(lot)
        session.flush()
    elif lot is not None and expires_on is not None and lot.expires_on != expires_on:
        raise ValidationFailed([f"lot {lot_number} of {item.sku} expires on {lot.expires_on or 'no date'}, "
                                f"not {expires_on}: leave the expiry out, or give the lot another number"])
    if lot is None:
        raise NotFound(f"item {item.sku} has no lot {lot_number!r}")
    return lot


# -- posting -------------------------------------------------------------------------------

def post_movement(session: Session, actor: Actor, request: Movement) -> StockMovement:
    """Post one movement (see the module docstring); raises ValidationFailed, nothing posted."""
    actor.require("write", AREA)
    item = session.get(Item, request.item_id)
    if item is None:
        raise NotFound(f"no item with id {request.item_id}")
    problems = check_movement(session, item, request)
    if problems:
        raise ValidationFailed(problems)
    cost = _lock(session, ItemCost, {"item_id": item.id}, select(ItemCost).where(ItemCost.item_id == item.id))
    changes = balance_changes(request)
    balances = {key: _balance(session, item.id, *key) for key in sorted(changes)}
    short = [(key, balances[key].quantity, -delta) for key, delta in changes.items()
             if balances[key].quantity + delta < 0]
    if short:
        raise ValidationFailed([shortage(session, item, key, on_hand, wanted) for key, on_hand, wanted in short])

    inbound = sum(changes.values(), Decimal(0))
    try:
        value = _value(session, item, cost, request, inbound)
    except valuation.NotEnoughStock as exc:
        raise ValidationFailed([f"{item.sku}: the cost records hold less than the balances ({exc}); "
                                "ask an administrator to check the item's movements"]) from None
    for key, delta in changes.items():
        balances[key].quantity += delta
    cost.quantity += inbound
    cost.value += value
    movement = StockMovement(
        moved_on=request.moved_on, kind=request.kind, reason=request.reason, item_id=item.id,
        quantity=request.quantity, from_location_id=request.from_location_id,
        to_location_id=request.to_location_id, lot_id=request.lot_id, unit_cost=request.unit_cost,
        value=value, supplier_id=request.supplier_id, customer_id=request.customer_id,
        cost_centre=request.cost_centre, reference=request.reference, reverses_id=request.reverses_id,
        updated_by=actor.login,
    )
    session.add(movement)
    session.flush()
    # A reversal is booked against the account its original was (a returned receipt clears
    # goods received not invoiced, not stock adjustments).
    booked_as = request.kind if request.reverses_id is None else session.get(StockMovement, request.reverses_id).kind
    stock_moved.announce(session, [(request.moved_on, booked_as, value)])
    if item.valuation == "fifo" and inbound > 0:  # free stock too: it must be issuable
        session.add(CostLayer(item_id=item.id, movement_id=movement.id, received_on=request.moved_on,
                              remaining=inbound, unit_cost=_unit_cost_in(value, inbound)))
        session.flush()
    return movement


def check_movement(session: Session, item: Item, m: Movement) -> list[str]:
    """Every problem of the request itself (stock levels are checked under the locks)."""
    problems = []
    if REASONS.get(m.reason) != m.kind:
        expected = ", ".join(r for r, k in REASONS.items() if k == m.kind)
        problems.append(f"reason {m.reason!r} does not go with a {m.kind}; use one of: {expected}")
    if m.kind == "adjustment":
        if m.quantity == 0:
            problems.append("an adjustment changes the quantity: it cannot be 0")
        elif m.reason in LOSSES and m.quantity > 0:
            problems.append(f"{m.reason} stock is a loss: the change must be below 0 (it is {m.quantity})")
        elif m.reason == "found" and m.quantity < 0:
            problems.append(f"found stock is a gain: the change must be above 0 (it is {m.quantity})")
    elif m.quantity <= 0:
        problems.append(f"the quantity of a {m.kind} must be more than 0 (it is {m.quantity})")
    needs_from = m.kind in ("issue", "transfer") or (m.kind == "adjustment" and m.quantity < 0)
    needs_to = m.kind in ("receipt", "transfer") or (m.kind == "adjustment" and m.quantity > 0)
    if needs_from and m.from_location_id is None:
        problems.append(f"a {m.kind} needs the location the stock leaves")
    if needs_to and m.to_location_id is None:
        problems.append(f"a {m.kind} needs the location the stock goes to")
    if m.kind == "transfer" and m.from_location_id == m.to_location_id:
        problems.append("a transfer moves stock between two different locations")
    if m.kind == "receipt" and (m.unit_cost is None or m.unit_cost < 0):
        problems.append("a receipt needs the unit cost (0 or more)")
    if m.kind == "receipt" and not item.active:
        problems.append(f"item {item.sku} is no longer active: it cannot be received")
    if item.lot_tracked and m.lot_id is None:
        problems.append(f"item {item.sku} is tracked by lot: give the lot number")
    if m.lot_id is not None:
        lot = session.get(Lot, m.lot_id)
        if lot is None or lot.item_id != item.id:
            problems.append(f"that lot does not belong to item {item.sku}")
        elif m.kind == "issue" and lot.status != "available":
            problems.append(f"lot {lot.lot_number} of {item.sku} is {lot.status}: it cannot be issued")
        elif m.kind == "issue" and lot.expires_on is not None and lot.expires_on < m.moved_on:
            problems.append(f"lot {lot.lot_number} of {item.sku} expired on {lot.expires_on}: it cannot be "
                            "issued; write it off with reason expired")
    return problems


def balance_changes(m: Movement) -> dict[tuple[int, int], Decimal]:
    """(location id, lot key) -> change of quantity there."""
    lot_key = m.lot_id or 0
    if m.kind == "receipt":
        return {(m.to_location_id, lot_key): m.quantity}
    if m.kind == "issue":
        return {(m.from_location_id, lot_key): -m.quantity}
    if m.kind == "transfer":
        return {(m.from_location_id, lot_key): -m.quantity, (m.to_location_id, lot_key): m.quantity}
    location = m.to_location_id if m.quantity > 0 else m.from_location_id
    return {(location, lot_key): m.quantity}


def _value(session: Session, item: Item, cost: ItemCost, m: Movement, change: Decimal) -> Decimal:
    """The movement's change of inventory value (FIFO layers are consumed here). Taking the
    last units takes exactly the value left, so no rounding residue stays in stock."""
    if change == 0:  # a transfer
        return Decimal(0)
    if m.value is not None and change > 0:
        return m.value
    if m.value is not None and item.valuation == "fifo":
        return _take_own_layer(session, item, m, -change)
    if m.value is not None and change < 0:
        return m.value
    if change > 0:
        unit = m.unit_cost if m.unit_cost is not None else inbound_cost(session, item, cost)
        return valuation.money(change * unit)
    if item.valuation == "average":
        return -valuation.average_issue(cost.quantity, cost.value, -change)
    layers = list(session.scalars(
        select(CostLayer).where(CostLayer.item_id == item.id, CostLayer.remaining > 0)
        .order_by(CostLayer.received_on, CostLayer.id).with_for_update()))
    spent, taken = valuation.fifo_issue(
        [valuation.Layer(layer.id, layer.remaining, layer.unit_cost) for layer in layers], -change)
    by_id = {layer.id: layer for layer in layers}
    for key, units in taken:
        by_id[key].remaining -= units
    return -cost.value if cost.quantity + change == 0 else -spent


def _take_own_layer(session: Session, item: Item, m: Movement, quantity: Decimal) -> Decimal:
    """Reversing a FIFO receipt takes the stock out of that receipt's own layer, at its value."""
    layer = session.scalars(select(CostLayer).where(CostLayer.movement_id == m.reverses_id)
                            .with_for_update().execution_options(populate_existing=True)).first()
    if layer is None or layer.remaining < quantity:
        raise ValidationFailed([f"part of what movement {m.reverses_id} received has been issued already; "
                                "it cannot be reversed: post an adjustment for what is left instead"])
    layer.remaining -= quantity
    return m.value


def inbound_cost(session: Session, item: Item, cost: ItemCost) -> Decimal:
    """Unit cost of stock coming in without a purchase price (found, counted, a returned
    issue): the moving average, else the newest FIFO layer's cost, else the standard cost."""
    if item.valuation == "average" and cost.quantity > 0:
        return valuation.average_cost(cost.quantity, cost.value)
    newest = session.scalars(select(CostLayer.unit_cost).where(CostLayer.item_id == item.id)
                             .order_by(CostLayer.received_on.desc(), CostLayer.id.desc())).first()
    return newest if newest is not None and item.valuation == "fifo" else item.standard_cost


def _unit_cost_in(value: Decimal, quantity: Decimal) -> Decimal:
    return valuation.money(value / quantity)


def _balance(session: Session, item_id: int, location_id: int, lot_key: int) -> StockBalance:
    return _lock(session, StockBalance, {"item_id": item_id, "location_id": location_id, "lot_key": lot_key},
                 select(StockBalance).where(StockBalance.item_id == item_id, StockBalance.location_id == location_id,
                                            StockBalance.lot_key == lot_key))


def _lock(session: Session, model, key: dict, query):
    """The row with `key`, created (empty) if missing, locked for this transaction.

    INSERT ... ON CONFLICT DO NOTHING first, so two postings creating the same row at once
    do not fail: the second finds the first's row and waits for its lock.
    """
    # populate_existing: after waiting for another writer's lock, read what it committed.
    locked = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(locked).first()
    if row is not None:
        return row
    table = model.__table__
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(**key).on_conflict_do_nothing())
    return session.scalars(locked).one()


def shortage(session: Session, item: Item, key: tuple[int, int], on_hand: Decimal, wanted: Decimal) -> str:
    location = session.get(Location, key[0])
    where = location.code if location else f"location {key[0]}"
    lot = session.get(Lot, key[1]) if key[1] else None
    lot_text = f" (lot {lot.lot_number})" if lot else ""
    return (f"not enough {item.sku} at {where}{lot_text}: {_plain(on_hand)} on hand, {_plain(wanted)} wanted; "
            "stock never goes below zero")


def _plain(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


# -- the operations, by their business names ----------------------------------------------

def reverse_movement(session: Session, actor: Actor, movement_id: int, moved_on: date,
                     reference: str | None = None) -> StockMovement:
    """Post the mirror of a movement (a mistake is never edited away)."""
    original = session.get(StockMovement, movement_id)
    if original is None:
        raise NotFound(f"no stock movement {movement_id}")
    if original.reverses_id is not None or original.reason == "reversed":
        raise ValidationFailed([f"movement {movement_id} is itself a reversal; post a new movement instead"])
    already = session.scalars(select(StockMovement.id).where(StockMovement.reverses_id == movement_id)).first()
    if already is not None:
        raise ValidationFailed([f"movement {movement_id} was already reversed by movement {already}"])
    text = reference or f"reverses movement {movement_id}"
    if original.kind == "transfer":
        request = Movement("transfer", "moved", original.item_id, original.quantity, moved_on,
                           from_location_id=original.to_location_id, to_location_id=original.from_location_id,
                           lot_id=original.lot_id, reference=text, reverses_id=original.id)
        return post_movement(session, actor, request)
    change = {"receipt": original.quantity, "issue": -original.quantity}.get(original.kind, original.quantity)
    location = original.to_location_id if change > 0 else original.from_location_id
    # The mirror carries the original's value exactly: stock coming back in at what it cost
    # when it left, stock going out at what it cost when it came (its own FIFO layer).
    request = Movement("adjustment", "reversed", original.item_id, -change, moved_on,
                       from_location_id=location if change > 0 else None,
                       to_location_id=location if change < 0 else None,
                       lot_id=original.lot_id,
                       unit_cost=valuation.money(abs(original.value) / abs(change)) if change < 0 else None,
                       reference=text, reverses_id=original.id, value=-original.value)
    return post_movement(session, actor, request)


@dataclass(frozen=True)
class Count:
    """One line of a stock take: what was counted at a place (lot_id None: no lot)."""

    item_id: int
    location_id: int
    counted: Decimal
    lot_id: int | None = None


def post_stock_take(session: Session, actor: Actor, counts: list[Count], counted_on: date,
                    reference: str = "stock take") -> list[StockCount]:
    """Record every counted line, and post a `counted` adjustment where the count differs
    from the system quantity. The system quantity is read under the item's lock, so a
    movement posted meanwhile by someone else is never counted twice."""
    actor.require("write", AREA)
    problems = [f"a count cannot be below zero (item id {c.item_id})" for c in counts if c.counted < 0]
    if problems:
        raise ValidationFailed(problems)
    recorded = []
    for count in sorted(counts, key=lambda c: (c.item_id, c.location_id, c.lot_id or 0)):
        _lock(session, ItemCost, {"item_id": count.item_id}, select(ItemCost).where(ItemCost.item_id == count.item_id))
        system = _balance(session, count.item_id, count.location_id, count.lot_id or 0).quantity
        difference = count.counted - system
        movement = None
        if difference != 0:
            movement = post_movement(session, actor, Movement(
                "adjustment", "counted", count.item_id, difference, counted_on,
                from_location_id=count.location_id if difference < 0 else None,
                to_location_id=count.location_id if difference > 0 else None,
                lot_id=count.lot_id, reference=reference))
        line = StockCount(counted_on=counted_on, item_id=count.item_id, location_id=count.location_id,
                          lot_id=count.lot_id, system_quantity=system, counted=count.counted,
                          movement_id=movement.id if movement else None, updated_by=actor.login)
        session.add(line)
        session.flush()
        recorded.append(line)
    return recorded
