"""Stock operations: receive, issue, transfer, adjust, reverse and count. Every door (the CLI,
a workbook sync, later the add-in and the API) posts stock through `post_movement` (ids) or
`post_typed` (the SKU, location codes and lot number a person types), inside the caller's
unit of work; a batch goes through `batch.post_movements`, with the same check
(`check_request`) and the same costing (`costing.apply`).

Posting a movement, in one transaction:
1. check it: the rules of `rules.check_movement`, and that the records it names exist; every
   problem is reported at once, each with its field and code (`ValidationFailed`);
2. lock the item's cost row, then the balance rows it touches (always in that order, so two
   postings of the same item queue up instead of deadlocking);
3. refuse it if any balance would go below zero (`quantity` / `insufficient_stock`, naming
   the item, the place and what is there);
4. cost it (`costing.apply`: FIFO layers or the moving average), update the balances, the
   item's quantity and value, and the FIFO layers;
5. add the movement row (audited like every ORM change).

On PostgreSQL the locks are row locks (SELECT ... FOR UPDATE); on SQLite every writer holds
the database's write lock from its first statement (BEGIN IMMEDIATE), which serialises them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.db.base import apply_changes
from engine.db.upsert import insert_missing
from engine.errors import NotFound, StaleRecordError, ValidationFailed
from engine.inventory import costing, rules, valuation
from engine.inventory.costing import balance_changes
from engine.inventory.hooks import lots_received, stock_moved
from engine.inventory.models import (
    LOCATION_KINDS,
    CostLayer,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockCount,
    StockMovement,
)
from engine.problems import Problem
from engine.security.roles import Actor

AREA = "inventory"

__all__ = ["AREA", "ITEM_FIELDS", "LOCATION_FIELDS", "Count", "Known", "Movement", "TypedMovement", "add_item",
           "add_location", "balance_changes", "check_request", "get_item", "get_location", "post_movement",
           "post_stock_take", "post_typed", "reverse_movement", "shortage", "update_item", "update_location"]


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


@dataclass(frozen=True)
class TypedMovement:
    """A movement as a person types it: the item's SKU, location codes and a lot number.

    `at` is an adjustment's location (the stock leaves it when the change is below 0, and
    arrives there when it is above). A receipt of a new lot number creates the lot, with
    `expires_on`; `reason` left out is the kind's usual one (`rules.default_reason`).
    """

    kind: str
    sku: str
    quantity: Decimal
    moved_on: date
    reason: str | None = None
    from_location: str | None = None
    to_location: str | None = None
    at: str | None = None
    lot: str | None = None
    expires_on: date | None = None
    unit_cost: Decimal | None = None
    supplier_id: int | None = None
    customer_id: int | None = None
    cost_centre: str | None = None
    reference: str | None = None


# -- checking a movement -------------------------------------------------------------------

class Known:
    """The records a movement may name, looked up in the session as they are asked for (a
    batch hands over what it loaded at once instead: `batch._Loaded`)."""

    def __init__(self, session: Session):
        self.session = session

    def lot(self, lot_id: int) -> Lot | None:
        return self.session.get(Lot, lot_id)

    def location(self, location_id: int) -> bool:
        return self._exists(Location, location_id)

    def contact(self, contact_id: int) -> bool:
        return self._exists(Contact, contact_id)

    def _exists(self, model, record_id: int) -> bool:
        """Whether the record exists; one found is remembered for the rest of the unit of work
        (postings of one sync or stock take name the same few places again and again, and the
        foreign key still guards the rare one deleted meanwhile)."""
        seen = self.session.info.setdefault(("inventory", "seen"), set())
        if (model, record_id) in seen:
            return True
        if self.session.get(model, record_id) is None:
            return False
        seen.add((model, record_id))
        return True


def check_request(known: Known, item: Item | None, m: Movement, *, checked: bool = False) -> list[Problem]:
    """Every problem of a movement before it is posted: the rules, and that the item,
    locations, lot and contacts it names exist (stock levels are checked under the locks).
    The one check of a movement, for single and batch postings alike. `checked`: the
    movement as typed has passed `rules.check_movement` already (a workbook row, checked by
    the sheet's rule with that very function): only what needs its records is checked."""
    problems = []
    if item is None:
        problems.append(Problem("item_id", "reference", f"there is no item #{m.item_id}"))
    lot = None
    if m.lot_id is not None:
        lot = known.lot(m.lot_id)
        if lot is None or (item is not None and lot.item_id != item.id):
            problems.append(Problem("lot_id", "reference", f"lot #{m.lot_id} is not a lot of item "
                                                           f"{item.sku if item else m.item_id}"))
            lot = None
    for field, place in (("from_location_id", m.from_location_id), ("to_location_id", m.to_location_id)):
        if place is not None and not known.location(place):
            problems.append(Problem(field, "reference", f"there is no location #{place}"))
    for field, contact in (("supplier_id", m.supplier_id), ("customer_id", m.customer_id)):
        if contact is not None and not known.contact(contact):
            problems.append(Problem(field, "reference", f"there is no contact #{contact}; `backoffice contacts "
                                                        "list` shows them"))
    if not checked:
        return problems + rules.check_movement(vars(m), item, lot)
    return problems + rules.check_item_and_lot(vars(m), item, lot) if item is not None else problems


def shortage(session: Session, item: Item, place: costing.Place) -> Problem:
    """The refusal of a movement taking more than is at a place, saying what is there."""
    location = session.get(Location, place.key[0])
    where = location.code if location else f"location {place.key[0]}"
    lot = session.get(Lot, place.key[1]) if place.key[1] else None
    lot_text = f" (lot {lot.lot_number})" if lot else ""
    return Problem("quantity", "insufficient_stock",
                   f"not enough {item.sku} at {where}{lot_text}: {_plain(place.on_hand)} on hand, "
                   f"{_plain(place.wanted)} wanted; stock never goes below zero")


def _plain(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


# -- posting -------------------------------------------------------------------------------

def post_movement(session: Session, actor: Actor, request: Movement) -> StockMovement:
    """Post one movement (see the module docstring); raises ValidationFailed, nothing posted."""
    actor.require("write", AREA)
    item = session.get(Item, request.item_id)
    problems = check_request(Known(session), item, request)
    if problems:
        raise ValidationFailed(problems)
    cost = _lock(session, ItemCost, {"item_id": item.id}, select(ItemCost).where(ItemCost.item_id == item.id))
    figures = _Stored(session, item, cost)
    try:
        value = costing.apply(item, figures, request)
    except costing.Short as short:
        raise ValidationFailed([shortage(session, item, place) for place in short.places]) from None
    except costing.Uncostable as refused:
        raise ValidationFailed([refused.problem]) from None
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
    if request.kind == "receipt" and request.lot_id is not None and request.reverses_id is None:
        lots_received.announce(session, [(request.lot_id, request.supplier_id)])
    if figures.new_layers:
        session.add_all([CostLayer(item_id=item.id, movement_id=movement.id, received_on=on, remaining=remaining,
                                   unit_cost=unit_cost) for on, remaining, unit_cost in figures.new_layers])
        session.flush()
    return movement


def post_typed(session: Session, actor: Actor, typed: TypedMovement) -> StockMovement:
    """Post a movement named as a person types it (see `TypedMovement`). Every problem is
    reported at once: names that match nothing (`item_id`, `from_location_id`,
    `to_location_id`, `lot_id` / `reference`) together with the movement's rules."""
    actor.require("write", AREA)
    problems = rules.check_lot_given(typed.lot, typed.expires_on)
    unknown: set[str] = set()
    item = session.scalars(select(Item).where(Item.sku == typed.sku)).first()
    if item is None:
        problems.append(Problem("item_id", "reference", f"no item with SKU {typed.sku!r}; `backoffice stock on-hand` "
                                                        "lists the items in stock"))
        unknown.add("item_id")
    out, into = rules.direction(typed.kind, typed.quantity)
    codes = {"from_location_id": typed.at if out else None, "to_location_id": typed.at if into else None} \
        if typed.kind == "adjustment" else {"from_location_id": typed.from_location, "to_location_id": typed.to_location}
    places: dict[str, int | None] = {}
    for field, code in codes.items():
        places[field] = None if code is None else session.scalars(select(Location.id).where(Location.code == code)).first()
        if code is not None and places[field] is None:
            problems.append(Problem(field, "reference", f"no location with code {code!r}"))
            unknown.add(field)
    lot, new_lot = None, False
    if item is not None and typed.lot:
        lot = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.lot_number == typed.lot)).first()
        if lot is None and typed.kind == "receipt":
            new_lot = True
        elif lot is None:
            problems.append(Problem("lot_id", "reference", f"item {item.sku} has no lot {typed.lot!r}"))
            unknown.add("lot_id")
        elif typed.expires_on is not None and lot.expires_on != typed.expires_on:
            problems.append(Problem("expires_on", "conflict", f"lot {typed.lot} of {item.sku} expires on "
                                    f"{lot.expires_on or 'no date'}, not {typed.expires_on}: leave the expiry out, "
                                    "or give the lot another number"))
    reason = typed.reason or rules.default_reason(typed.kind, typed.customer_id, typed.cost_centre)
    values = {"kind": typed.kind, "reason": reason, "item_id": item.id if item else 0, "quantity": typed.quantity,
              "moved_on": typed.moved_on, **{f: 0 if f in unknown else p for f, p in places.items()},
              "lot_id": lot.id if lot else (0 if new_lot or "lot_id" in unknown else None),
              "unit_cost": typed.unit_cost, "supplier_id": typed.supplier_id, "customer_id": typed.customer_id,
              "cost_centre": typed.cost_centre, "reference": typed.reference}
    problems += [p for p in rules.check_movement(values, item, lot) if p.field not in unknown]
    if problems:
        raise ValidationFailed(problems)
    if new_lot:  # a receipt of a new lot number: it starts available
        lot = Lot(item_id=item.id, lot_number=typed.lot, expires_on=typed.expires_on, status="available")
        session.add(lot)
        session.flush()
    values["lot_id"] = lot.id if lot else None
    return post_movement(session, actor, Movement(**values))


class _Stored:
    """One item's figures in the database, for posting one movement (see costing.Figures):
    its cost row (locked by the caller), its balances and FIFO layers, locked as reached."""

    def __init__(self, session: Session, item: Item, cost: ItemCost):
        self.session, self.item, self.cost = session, item, cost
        self.new_layers: list[tuple[date, Decimal, Decimal]] = []

    @property
    def quantity(self) -> Decimal:
        return self.cost.quantity

    @quantity.setter
    def quantity(self, value: Decimal) -> None:
        self.cost.quantity = value

    @property
    def value(self) -> Decimal:
        return self.cost.value

    @value.setter
    def value(self, value: Decimal) -> None:
        self.cost.value = value

    def balance(self, key: tuple[int, int]) -> StockBalance:
        return _balance(self.session, self.item.id, *key)

    def open_layers(self) -> list[CostLayer]:
        return list(self.session.scalars(
            select(CostLayer).where(CostLayer.item_id == self.item.id, CostLayer.remaining > 0)
            .order_by(CostLayer.received_on, CostLayer.id).with_for_update()))

    def newest_unit_cost(self) -> Decimal | None:
        return self.session.scalars(select(CostLayer.unit_cost).where(CostLayer.item_id == self.item.id)
                                    .order_by(CostLayer.received_on.desc(), CostLayer.id.desc())).first()

    def own_layer(self, movement_id: int) -> CostLayer | None:
        return self.session.scalars(select(CostLayer).where(CostLayer.movement_id == movement_id)
                                    .with_for_update().execution_options(populate_existing=True)).first()

    def add_layer(self, received_on: date, remaining: Decimal, unit_cost: Decimal) -> None:
        self.new_layers.append((received_on, remaining, unit_cost))


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
    insert_missing(session, table, dict(key))
    return session.scalars(locked).one()


# -- the operations, by their business names ----------------------------------------------

def reverse_movement(session: Session, actor: Actor, movement_id: int, moved_on: date,
                     reference: str | None = None) -> StockMovement:
    """Post the mirror of a movement (a mistake is never edited away). Refusals name the
    field `reverses_id`: `not_found`, `reversal` (it is one itself), `already_reversed`."""
    actor.require("write", AREA)
    original = session.get(StockMovement, movement_id)
    if original is None:
        raise NotFound(f"no stock movement {movement_id}", field="reverses_id")
    if original.reverses_id is not None or original.reason == "reversed":
        raise ValidationFailed([Problem("reverses_id", "reversal", f"movement {movement_id} is itself a reversal; "
                                                                   "post a new movement instead")])
    already = session.scalars(select(StockMovement.id).where(StockMovement.reverses_id == movement_id)).first()
    if already is not None:
        raise ValidationFailed([Problem("reverses_id", "already_reversed",
                                        f"movement {movement_id} was already reversed by movement {already}")])
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
    problems = []
    for n, count in enumerate(counts, start=1):
        found = rules.check_count(count.counted)
        if session.get(Item, count.item_id) is None:
            found.append(Problem("item_id", "reference", f"there is no item #{count.item_id}"))
        if session.get(Location, count.location_id) is None:
            found.append(Problem("location_id", "reference", f"there is no location #{count.location_id}"))
        problems += [Problem(p.field, p.code, p.message, n if len(counts) > 1 else None) for p in found]
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


# -- items and locations ---------------------------------------------------------------------
# The Items and Locations sheets keep these too (the generic round trip, with the same rule
# functions: `rules.item_defaults`, `rules.check_item`, `rules.check_location`); these
# services are the one-record way for the other doors (the HTTP API).

ITEM_FIELDS = ("sku", "name", "unit", "category", "valuation", "standard_cost", "reorder_point", "reorder_quantity",
               "preferred_supplier_id", "active", "lot_tracked")
LOCATION_FIELDS = ("code", "name", "kind", "warehouse_id")


def _trimmed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Text as a person meant it: surrounding blanks dropped, blank text as nothing."""
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}


def _item_problems(session: Session, values: dict[str, Any], item_id: int | None) -> list[Problem]:
    """The rules of an item, then what needs the database: its SKU unused by another item
    (as the sheet's unique column, whatever the case), its supplier an existing contact."""
    problems = rules.check_item(values)
    fields = {p.field for p in problems}
    sku = values.get("sku")
    if sku and "sku" not in fields:
        other = session.scalars(select(Item.id).where(func.lower(Item.sku) == sku.lower(), Item.id != (item_id or 0))
                                ).first()
        if other is not None:
            problems.append(Problem("sku", "duplicate", f"SKU {sku!r} is already used by item #{other}; "
                                                        "it must be unique"))
    supplier = values.get("preferred_supplier_id")
    if supplier is not None and "preferred_supplier_id" not in fields and session.get(Contact, supplier) is None:
        problems.append(Problem("preferred_supplier_id", "reference", f"there is no contact #{supplier}; "
                                                                      "`backoffice contacts list` shows them"))
    return problems


def add_item(session: Session, actor: Actor, data: Mapping[str, Any]) -> Item:
    """A new item (see `rules.check_item`); ValidationFailed with every problem, nothing saved."""
    actor.require("write", AREA)
    values = rules.item_defaults(_trimmed({k: v for k, v in data.items() if k in ITEM_FIELDS}))
    problems = _item_problems(session, values, None)
    if problems:
        raise ValidationFailed(problems)
    item = Item(**values, updated_by=actor.login)
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, actor: Actor, item_id: int, expected_version: int,
                changes: Mapping[str, Any]) -> Item:
    """Apply field changes made from version `expected_version` of the item."""
    actor.require("write", AREA)
    item = get_item(session, item_id)
    if item.version != expected_version:
        raise StaleRecordError(item.label(), expected_version, item.version)
    values = rules.item_defaults({f: getattr(item, f) for f in ITEM_FIELDS}
                                 | _trimmed({k: v for k, v in changes.items() if k in ITEM_FIELDS}))
    problems = _item_problems(session, values, item.id)
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, item, values, actor.login, expected_version)
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item #{item_id}", field="item_id")
    return item


def _location_problems(session: Session, values: dict[str, Any], location_id: int | None) -> list[Problem]:
    """The rules of a location, then what needs the database: its code unused by another
    location, its warehouse an existing warehouse (the sheet's unique column and drop-down)."""
    problems = rules.check_location(values)
    if values.get("kind") is None:
        problems.append(Problem("kind", "required", f"a location needs its kind: one of {', '.join(LOCATION_KINDS)}"))
    fields = {p.field for p in problems}
    code = values.get("code")
    if code and "code" not in fields:
        other = session.scalars(select(Location.id).where(func.lower(Location.code) == code.lower(),
                                                          Location.id != (location_id or 0))).first()
        if other is not None:
            problems.append(Problem("code", "duplicate", f"location code {code!r} is already used by location "
                                                         f"#{other}; it must be unique"))
    warehouse = values.get("warehouse_id")
    if warehouse is not None and "warehouse_id" not in fields:
        found = session.get(Location, warehouse)
        if found is None or found.kind != "warehouse":
            problems.append(Problem("warehouse_id", "reference", f"there is no warehouse #{warehouse}"))
    return problems


def add_location(session: Session, actor: Actor, data: Mapping[str, Any]) -> Location:
    """A new warehouse, or a bin in one (see `rules.check_location`)."""
    actor.require("write", AREA)
    values = _trimmed({k: v for k, v in data.items() if k in LOCATION_FIELDS})
    problems = _location_problems(session, values, None)
    if problems:
        raise ValidationFailed(problems)
    location = Location(**values, updated_by=actor.login)
    session.add(location)
    session.flush()
    return location


def update_location(session: Session, actor: Actor, location_id: int, expected_version: int,
                    changes: Mapping[str, Any]) -> Location:
    """Apply field changes made from version `expected_version` of the location."""
    actor.require("write", AREA)
    location = get_location(session, location_id)
    if location.version != expected_version:
        raise StaleRecordError(location.label(), expected_version, location.version)
    values = {f: getattr(location, f) for f in LOCATION_FIELDS} | _trimmed(
        {k: v for k, v in changes.items() if k in LOCATION_FIELDS})
    problems = _location_problems(session, values, location.id)
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, location, values, actor.login, expected_version)
    return location


def get_location(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"no location #{location_id}", field="location_id")
    return location
