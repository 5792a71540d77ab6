"""Questions about stock, for every door that asks them (CLI, workbook refresh, add-in,
reports): what is on hand, what it is worth on a date, what needs reordering, what a posted
movement was. Each takes the acting user and checks that they may read inventory, so no
door has to remember to.

On hand reads the maintained balances, so its cost does not grow with the history; value as
of a date adds up the movements' value changes up to that date (one indexed pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from engine.contacts.models import Contact
from engine.db.exact import Exact
from engine.errors import NotFound
from engine.inventory.models import (
    QUANTITY,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockMovement,
)
from engine.security.roles import Actor

AREA = "inventory"


@dataclass(frozen=True)
class OnHand:
    sku: str
    item: str
    location: str
    lot: str | None
    quantity: Decimal
    unit: str


def on_hand(session: Session, actor: Actor, sku: str | None = None, location: str | None = None) -> list[OnHand]:
    """Stock per item, location and lot (only places holding some), by SKU then location.
    An unknown SKU or location code is refused (`sku` / `location`, `not_found`): it is not
    an empty answer."""
    actor.require("read", AREA)
    query = (select(Item.sku, Item.name, Location.code, Lot.lot_number, StockBalance.quantity, Item.unit)
             .join(Item, Item.id == StockBalance.item_id)
             .join(Location, Location.id == StockBalance.location_id)
             .outerjoin(Lot, Lot.id == StockBalance.lot_key)
             .where(StockBalance.quantity > 0)
             .order_by(Item.sku, Location.code, Lot.lot_number))
    if sku is not None:
        query = query.where(Item.sku == sku)
    if location is not None:
        warehouse = select(Location.id).where(Location.code == location).scalar_subquery()
        query = query.where((Location.code == location) | (Location.warehouse_id == warehouse))
    rows = [OnHand(*row) for row in session.execute(query)]
    if not rows:  # nothing held: say so if what was asked for does not exist at all
        if sku is not None and session.scalar(select(Item.id).where(Item.sku == sku)) is None:
            raise NotFound(f"no item with SKU {sku!r}; `backoffice stock on-hand` lists the items in stock",
                           field="sku")
        if location is not None and session.scalar(select(Location.id).where(Location.code == location)) is None:
            raise NotFound(f"no location with code {location!r}", field="location")
    return rows


@dataclass(frozen=True)
class ItemValue:
    sku: str
    item: str
    valuation: str
    quantity: Decimal
    value: Decimal


def stock_value(session: Session, actor: Actor, as_of: date) -> list[ItemValue]:
    """Quantity and value of every item holding stock at the end of `as_of`."""
    actor.require("read", AREA)
    change = case((StockMovement.kind == "receipt", StockMovement.quantity),
                  (StockMovement.kind == "issue", -StockMovement.quantity),
                  (StockMovement.kind == "transfer", 0),
                  else_=StockMovement.quantity)
    totals = (select(StockMovement.item_id, func.sum(change, type_=Exact(QUANTITY)).label("quantity"),
                     func.sum(StockMovement.value).label("value"))
              .where(StockMovement.moved_on <= as_of).group_by(StockMovement.item_id).subquery())
    query = (select(Item.sku, Item.name, Item.valuation, totals.c.quantity, totals.c.value)
             .join(totals, totals.c.item_id == Item.id).order_by(Item.sku))
    # SUM and COALESCE of an exact column keep its type: the totals come back as Decimals.
    return [ItemValue(*row) for row in session.execute(query) if row.quantity != 0 or row.value != 0]


@dataclass(frozen=True)
class Reorder:
    sku: str
    item: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested: Decimal
    supplier: str | None


def reorder_list(session: Session, actor: Actor) -> list[Reorder]:
    """Active items at or below their reorder point, with how many to order and from whom:
    the reorder quantity, or more if that would still leave the item below its point."""
    actor.require("read", AREA)
    quantity = func.coalesce(ItemCost.quantity, Decimal(0))
    query = (select(Item, quantity, Contact.name)
             .outerjoin(ItemCost, ItemCost.item_id == Item.id)
             .outerjoin(Contact, Contact.id == Item.preferred_supplier_id)
             .where(Item.active.is_(True), Item.reorder_point > 0, quantity <= Item.reorder_point)
             .order_by(Item.sku))
    rows = []
    for item, held, supplier in session.execute(query):
        suggested = max(item.reorder_quantity, item.reorder_point - held)
        rows.append(Reorder(item.sku, item.name, held, item.reorder_point, suggested, supplier))
    return rows


@dataclass(frozen=True)
class MovementView:
    """A posted movement as people name things: SKU, location codes, lot number."""

    id: int
    moved_on: date
    kind: str
    reason: str
    sku: str
    item: str
    unit: str
    quantity: Decimal
    from_location: str | None
    to_location: str | None
    lot: str | None
    unit_cost: Decimal | None
    value: Decimal
    supplier_id: int | None
    customer_id: int | None
    cost_centre: str | None
    reference: str | None
    reverses_id: int | None
    posted_by: str | None


def movement(session: Session, actor: Actor, movement_id: int) -> MovementView:
    """One posted movement (refused as `movement_id` / `not_found` if there is none)."""
    actor.require("read", AREA)
    source, target = aliased(Location), aliased(Location)
    m = StockMovement
    found = session.execute(
        select(m.id, m.moved_on, m.kind, m.reason, Item.sku, Item.name, Item.unit, m.quantity, source.code,
               target.code, Lot.lot_number, m.unit_cost, m.value, m.supplier_id, m.customer_id, m.cost_centre,
               m.reference, m.reverses_id, m.updated_by)
        .join(Item, Item.id == m.item_id)
        .outerjoin(source, source.id == m.from_location_id)
        .outerjoin(target, target.id == m.to_location_id)
        .outerjoin(Lot, Lot.id == m.lot_id)
        .where(m.id == movement_id)).first()
    if found is None:
        raise NotFound(f"no stock movement {movement_id}", field="movement_id")
    return MovementView(*found)
