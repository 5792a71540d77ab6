"""Questions about stock, for every door that asks them (CLI, workbook refresh, add-in,
reports): what is on hand, what it is worth on a date, what needs reordering, what a posted
movement was. Each takes the acting user and checks that they may read inventory, so no
door has to remember to.

On hand reads the maintained balances, so its cost does not grow with the history; value as
of a date adds up the movements' value changes up to that date (one indexed pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from engine.contacts.models import Contact
from engine.db.exact import Exact
from engine.errors import NotFound
from engine.formats import exact_money, quantity_text
from engine.inventory import services, valuation
from engine.inventory.models import (
    QUANTITY,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockMovement,
)
from engine.security import gate
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

    @property
    def unit_cost(self) -> Decimal | None:
        """What a unit of the stock held costs by the item's method: the moving average, or
        (FIFO) the layers' value over their units; None with nothing on hand."""
        return valuation.average_cost(self.quantity, self.value)


def _held_as_of(as_of: date):
    """Each item's quantity and value at the end of `as_of`, from the movements up to it
    (one indexed pass): a subquery of item_id, quantity, value."""
    change = case((StockMovement.kind == "receipt", StockMovement.quantity),
                  (StockMovement.kind == "issue", -StockMovement.quantity),
                  (StockMovement.kind == "transfer", 0),
                  else_=StockMovement.quantity)
    return (select(StockMovement.item_id, func.sum(change, type_=Exact(QUANTITY)).label("quantity"),
                   func.sum(StockMovement.value).label("value"))
            .where(StockMovement.moved_on <= as_of).group_by(StockMovement.item_id).subquery())


def stock_value(session: Session, actor: Actor, as_of: date) -> list[ItemValue]:
    """Quantity and value of every item holding stock at the end of `as_of`."""
    actor.require("read", AREA)
    totals = _held_as_of(as_of)
    query = (select(Item.sku, Item.name, Item.valuation, totals.c.quantity, totals.c.value)
             .join(totals, totals.c.item_id == Item.id).order_by(Item.sku))
    # SUM and COALESCE of an exact column keep its type: the totals come back as Decimals.
    return [ItemValue(*row) for row in session.execute(query) if row.quantity != 0 or row.value != 0]


@dataclass(frozen=True)
class ValuedItem:
    """An item's stock at the end of a day as a valuation lists it: `stock_value`'s figures
    with the item's category and unit."""

    sku: str
    item: str
    category: str | None
    unit: str
    valuation: str
    quantity: Decimal
    unit_cost: Decimal | None
    value: Decimal


def stock_valuation(session: Session, actor: Actor, as_of: date) -> list[ValuedItem]:
    """Every item holding stock at the end of `as_of` (`stock_value`), by SKU, with its
    category, unit and unit cost."""
    values = stock_value(session, actor, as_of)
    details = {sku: (category, unit) for sku, category, unit in session.execute(
        select(Item.sku, Item.category, Item.unit).where(Item.sku.in_([v.sku for v in values])))}
    return [ValuedItem(v.sku, v.item, *details[v.sku], v.valuation, v.quantity, v.unit_cost, v.value)
            for v in values]


@dataclass(frozen=True)
class CategoryValue:
    category: str
    items: int
    value: Decimal


NO_CATEGORY = "(no category)"


def value_by_category(session: Session, actor: Actor, as_of: date) -> list[CategoryValue]:
    """Stock value at the end of `as_of` per item category, the most valuable first."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for v in stock_valuation(session, actor, as_of):
        count, value = totals.get(v.category or NO_CATEGORY, (0, Decimal(0)))
        totals[v.category or NO_CATEGORY] = (count + 1, value + v.value)
    return sorted((CategoryValue(name, count, value) for name, (count, value) in totals.items()),
                  key=lambda c: (-c.value, c.category))


@dataclass(frozen=True)
class SlowMover:
    sku: str
    item: str
    quantity: Decimal
    unit: str
    value: Decimal
    last_out: date | None       # the last day stock of it went out (issued, sold, used), if ever


def slow_movers(session: Session, actor: Actor, as_of: date, days: int = 90) -> list[SlowMover]:
    """Items holding stock at the end of `as_of` of which none went out (no issue: sold,
    consumed, issued or returned) in the `days` days up to it, the most valuable first:
    stock that ties up money without being used."""
    since = as_of - timedelta(days=days - 1)
    held = [v for v in stock_valuation(session, actor, as_of) if v.quantity > 0]
    last_out = dict(session.execute(
        select(Item.sku, func.max(StockMovement.moved_on)).join(Item, Item.id == StockMovement.item_id)
        .where(StockMovement.kind == "issue", StockMovement.moved_on <= as_of).group_by(Item.sku)).all())
    slow = [SlowMover(v.sku, v.item, v.quantity, v.unit, v.value, last_out.get(v.sku))
            for v in held if last_out.get(v.sku) is None or last_out[v.sku] < since]
    return sorted(slow, key=lambda s: (-s.value, s.sku))


@dataclass(frozen=True)
class Reorder:
    sku: str
    item: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested: Decimal
    supplier: str | None


def reorder_list(session: Session, actor: Actor, as_of: date | None = None) -> list[Reorder]:
    """Active items at or below their reorder point, with how many to order and from whom:
    the reorder quantity, or more if that would still leave the item below its point. With
    `as_of`, by the stock held at the end of that day (a month-end report), against the
    items' reorder points and suppliers as they are now."""
    actor.require("read", AREA)
    if as_of is None:
        held = ItemCost
        quantity = func.coalesce(ItemCost.quantity, Decimal(0))
    else:
        held = _held_as_of(as_of)
        quantity = func.coalesce(held.c.quantity, Decimal(0))
    query = (select(Item, quantity, Contact.name)
             .outerjoin(held, held.item_id == Item.id if as_of is None else held.c.item_id == Item.id)
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


def _movements_query():
    source, target = aliased(Location), aliased(Location)
    m = StockMovement
    return (select(m.id, m.moved_on, m.kind, m.reason, Item.sku, Item.name, Item.unit, m.quantity, source.code,
                   target.code, Lot.lot_number, m.unit_cost, m.value, m.supplier_id, m.customer_id, m.cost_centre,
                   m.reference, m.reverses_id, m.updated_by)
            .join(Item, Item.id == m.item_id)
            .outerjoin(source, source.id == m.from_location_id)
            .outerjoin(target, target.id == m.to_location_id)
            .outerjoin(Lot, Lot.id == m.lot_id))


def movement(session: Session, actor: Actor, movement_id: int) -> MovementView:
    """One posted movement (refused as `movement_id` / `not_found` if there is none)."""
    actor.require("read", AREA)
    found = session.execute(_movements_query().where(StockMovement.id == movement_id)).first()
    if found is None:
        raise NotFound(f"no stock movement {movement_id}", field="movement_id")
    return MovementView(*found)


def movements(session: Session, actor: Actor, sku: str | None = None, location: str | None = None,
              kind: str | None = None, since: date | None = None, until: date | None = None) -> list[MovementView]:
    """Posted movements by date, then as posted: of one item, into or out of one location (a
    warehouse includes its bins), of one kind, between two days (both included). An unknown
    SKU or location code is refused (`sku` / `location`, `not_found`), as by `on_hand`."""
    actor.require("read", AREA)
    m = StockMovement
    query = _movements_query().order_by(m.moved_on, m.id)
    if sku is not None:
        item_id = session.scalar(select(Item.id).where(Item.sku == sku))
        if item_id is None:
            raise NotFound(f"no item with SKU {sku!r}; `backoffice stock on-hand` lists the items in stock",
                           field="sku")
        query = query.where(m.item_id == item_id)
    if location is not None:
        place = session.scalar(select(Location.id).where(Location.code == location))
        if place is None:
            raise NotFound(f"no location with code {location!r}", field="location")
        places = select(Location.id).where((Location.id == place) | (Location.warehouse_id == place))
        query = query.where(m.from_location_id.in_(places) | m.to_location_id.in_(places))
    if kind is not None:
        query = query.where(m.kind == kind)
    if since is not None:
        query = query.where(m.moved_on >= since)
    if until is not None:
        query = query.where(m.moved_on <= until)
    return [MovementView(*row) for row in session.execute(query)]


# -- items and locations, as the actor may see them -------------------------------------------

def _as_dict(record: Item | Location) -> dict[str, Any]:
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


def items(session: Session, actor: Actor, search: str | None = None, category: str | None = None,
          active: bool | None = None) -> list[dict[str, Any]]:
    """Items by SKU, each with its quantity on hand in all places: those whose SKU or name
    holds `search` (any case), of one `category`, active or not."""
    actor.require("read", AREA)
    query = (select(Item, func.coalesce(ItemCost.quantity, Decimal(0)))
             .outerjoin(ItemCost, ItemCost.item_id == Item.id).order_by(Item.sku))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(Item.sku).like(pattern) | func.lower(Item.name).like(pattern))
    if category is not None:
        query = query.where(Item.category == category)
    if active is not None:
        query = query.where(Item.active.is_(active))
    return gate.project(session, actor, "items", [{**_as_dict(i), "on_hand": held} for i, held in session.execute(query)])


def item(session: Session, actor: Actor, item_id: int) -> dict[str, Any]:
    """One item with its quantity on hand (refused as `item_id` / `not_found` if there is none)."""
    actor.require("read", AREA)
    found = services.get_item(session, item_id)
    held = session.scalar(select(ItemCost.quantity).where(ItemCost.item_id == item_id))
    return gate.project_one(session, actor, "items", {**_as_dict(found), "on_hand": held or Decimal(0)})


def locations(session: Session, actor: Actor, kind: str | None = None,
              warehouse: str | None = None) -> list[dict[str, Any]]:
    """Locations by code, each with its warehouse's code: of one kind, or a warehouse (by its
    code) and its bins."""
    actor.require("read", AREA)
    house = aliased(Location)
    query = select(Location, house.code).outerjoin(house, house.id == Location.warehouse_id).order_by(Location.code)
    if kind is not None:
        query = query.where(Location.kind == kind)
    if warehouse is not None:
        query = query.where((Location.code == warehouse) | (house.code == warehouse))
    return gate.project(session, actor, "locations",
                        [{**_as_dict(place), "warehouse": code} for place, code in session.execute(query)],
                        derived={"warehouse": "warehouse_id"})


def location(session: Session, actor: Actor, location_id: int) -> dict[str, Any]:
    """One location (refused as `location_id` / `not_found` if there is none)."""
    actor.require("read", AREA)
    found = services.get_location(session, location_id)
    house = session.get(Location, found.warehouse_id) if found.warehouse_id is not None else None
    return gate.project_one(session, actor, "locations", {**_as_dict(found), "warehouse": house.code if house else None},
                            derived={"warehouse": "warehouse_id"})


# -- the answers as every door hands them out (the CLI's --json, the API's bodies) ------------

def movement_record(m: MovementView) -> dict[str, Any]:
    return {
        "id": m.id, "moved_on": m.moved_on.isoformat(), "kind": m.kind, "reason": m.reason,
        "sku": m.sku, "item": m.item, "unit": m.unit, "quantity": quantity_text(m.quantity),
        "from_location": m.from_location, "to_location": m.to_location,
        "lot": m.lot, "unit_cost": exact_money(m.unit_cost), "value": exact_money(m.value),
        "supplier_id": m.supplier_id, "customer_id": m.customer_id, "cost_centre": m.cost_centre,
        "reference": m.reference, "reverses_id": m.reverses_id, "posted_by": m.posted_by,
    }


def on_hand_record(h: OnHand) -> dict[str, Any]:
    return {"sku": h.sku, "item": h.item, "location": h.location, "lot": h.lot,
            "quantity": quantity_text(h.quantity), "unit": h.unit}


def valuation_report(values: list[ItemValue], as_of: date) -> dict[str, Any]:
    """Stock value at the end of `as_of`: each item (`method`: fifo or average) and the total."""
    return {"as_of": as_of.isoformat(),
            "items": [{"sku": v.sku, "item": v.item, "method": v.valuation, "quantity": quantity_text(v.quantity),
                       "value": exact_money(v.value)} for v in values],
            "total": exact_money(sum((v.value for v in values), Decimal(0)))}


def reorder_record(r: Reorder) -> dict[str, Any]:
    return {"sku": r.sku, "item": r.item, "on_hand": quantity_text(r.on_hand),
            "reorder_point": quantity_text(r.reorder_point), "suggested": quantity_text(r.suggested),
            "supplier": r.supplier}


# -- stock levels for a door that asks many times (the add-in's BO_ONHAND, BO_VALUE) ----------

@dataclass(frozen=True)
class StockLevels:
    """Every item's stock per location, read once and asked many times: a sheet of 10,000
    `=BO_ONHAND(...)` formulas is one read of the items, the locations and the balances, not
    10,000. It answers what `on_hand` answers: a warehouse includes its bins; an unknown SKU
    or location is refused (`sku` / `location`, `not_found`); a known item holding nothing is 0.
    Built from `stock_levels` locally, or from the `/inventory` routes' rows remotely."""

    items: frozenset[str]
    warehouses: dict[str, str | None]             # location code -> its warehouse's code
    held: dict[str, dict[str, Decimal]]           # sku -> location code -> quantity, all lots

    @classmethod
    def build(cls, skus: Any, locations: Any, held: Any) -> StockLevels:
        """From SKUs, (location code, warehouse code) pairs and (sku, location, quantity) rows."""
        totals: dict[str, dict[str, Decimal]] = {}
        for sku, place, quantity in held:
            places = totals.setdefault(sku, {})
            places[place] = places.get(place, Decimal(0)) + Decimal(quantity)
        return cls(frozenset(skus), dict(locations), totals)

    def on_hand(self, sku: str, location: str | None = None) -> Decimal:
        if sku not in self.items:
            raise NotFound(f"no item with SKU {sku!r}; `backoffice stock on-hand` lists the items in stock",
                           field="sku")
        if location is not None and location not in self.warehouses:
            raise NotFound(f"no location with code {location!r}", field="location")
        return sum((quantity for place, quantity in self.held.get(sku, {}).items()
                    if location is None or place == location or self.warehouses.get(place) == location),
                   Decimal(0))

    def value(self, sku: str, values: dict[str, Decimal]) -> Decimal:
        """An item's value from `stock_value`'s answer by SKU (0 for a known item not in it)."""
        if sku not in self.items:
            raise NotFound(f"no item with SKU {sku!r}", field="sku")
        return values.get(sku, Decimal(0))


def stock_levels(session: Session, actor: Actor) -> StockLevels:
    """`StockLevels` of every item and location, in three reads whatever is asked of it."""
    actor.require("read", AREA)
    return StockLevels.build(
        session.scalars(select(Item.sku)),
        [(place["code"], place["warehouse"]) for place in locations(session, actor)],
        [(h.sku, h.location, h.quantity) for h in on_hand(session, actor)])
