"""Costing a movement, once, for every posting: one movement (`services.post_movement`) and a
batch of them (`batch.post_movements`) both call `apply`.

`apply` works on one item's figures as the posting holds them, behind the small `Figures`
interface: the rows locked in the database for one movement, the figures held in memory for
a batch. It

1. refuses the movement if any balance it touches would go below zero (`Short`);
2. works out its change of value: stock coming in at its unit cost (or, without one, at the
   item's current cost), stock going out at its FIFO layers or at the moving average (see
   `valuation`); the last units take exactly the value left, so no rounding residue stays
   in stock; a reversal carries its original's value, and a reversed FIFO receipt takes the
   stock out of that receipt's own layer;
3. updates the balances, the item's quantity and value, and its FIFO layers.

No database here: the callers load and lock what the interface hands over, and write back
what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from engine.inventory import valuation
from engine.problems import Problem


class Held(Protocol):
    quantity: Decimal           # on hand at one place (item, location, lot)


class OpenLayer(Protocol):
    remaining: Decimal          # what is left of one FIFO receipt
    unit_cost: Decimal


class Figures(Protocol):
    """One item's figures, as a posting holds them (locked)."""

    quantity: Decimal           # the item's stock in all places
    value: Decimal              # and its value

    def balance(self, key: tuple[int, int]) -> Held: ...      # (location id, lot key 0 for none)

    def open_layers(self) -> list[OpenLayer]: ...             # FIFO layers holding stock, oldest first

    def newest_unit_cost(self) -> Decimal | None: ...          # the newest FIFO layer's, spent or not

    def own_layer(self, movement_id: int) -> OpenLayer | None: ...   # a FIFO receipt's own layer

    def add_layer(self, received_on: date, remaining: Decimal, unit_cost: Decimal) -> None: ...


class Costed(Protocol):
    """The item's costing facts (an `Item` row will do)."""

    sku: str
    valuation: str
    standard_cost: Decimal


class Request(Protocol):
    """The movement being posted (a `services.Movement` will do)."""

    kind: str
    quantity: Decimal
    moved_on: date
    from_location_id: int | None
    to_location_id: int | None
    lot_id: int | None
    unit_cost: Decimal | None
    reverses_id: int | None
    value: Decimal | None


@dataclass(frozen=True)
class Place:
    key: tuple[int, int]        # (location id, lot key)
    on_hand: Decimal
    wanted: Decimal


class Short(Exception):
    """The movement would take a balance below zero: every place short of stock."""

    def __init__(self, places: list[Place]):
        self.places = places
        super().__init__(f"{len(places)} places short of stock")


class Uncostable(Exception):
    """The movement cannot be costed (its problem says why); nothing was changed."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.message)


def balance_changes(m: Request) -> dict[tuple[int, int], Decimal]:
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


def apply(item: Costed, figures: Figures, m: Request) -> Decimal:
    """Post `m` onto `figures` (see the module docstring); returns its change of value.
    Raises `Short` or `Uncostable` having changed nothing."""
    changes = balance_changes(m)
    if len(changes) == 1:  # all but transfers: one place, the shortest way (100,000 rows a sync)
        [(key, inbound)] = changes.items()
        place = figures.balance(key)
        if place.quantity + inbound < 0:
            raise Short([Place(key, place.quantity, -inbound)])
        value = movement_value(item, figures, m, inbound)
        place.quantity += inbound
    else:
        # in key order: where the balances are locked as they are reached, always the same order
        held = {key: figures.balance(key) for key in sorted(changes)}
        short = [Place(key, held[key].quantity, -delta) for key, delta in changes.items()
                 if held[key].quantity + delta < 0]
        if short:
            raise Short(short)
        inbound = sum(changes.values(), Decimal(0))
        value = movement_value(item, figures, m, inbound)
        for key, delta in changes.items():
            held[key].quantity += delta
    figures.quantity += inbound
    figures.value += value
    if inbound > 0 and item.valuation == "fifo":  # free stock too: it must be issuable
        figures.add_layer(m.moved_on, inbound, valuation.money(value / inbound))
    return value


def movement_value(item: Costed, figures: Figures, m: Request, change: Decimal) -> Decimal:
    """The change of inventory value of a movement changing the item's stock by `change`
    (FIFO layers are consumed here)."""
    if change == 0:  # a transfer
        return Decimal(0)
    if m.value is not None:  # a reversal: its original's value, exactly
        if change < 0 and item.valuation == "fifo":
            _take_own_layer(figures, m, -change)
        return m.value
    if change > 0:
        unit = m.unit_cost if m.unit_cost is not None else inbound_cost(item, figures)
        return valuation.money(change * unit)
    if item.valuation == "average":
        try:
            return -valuation.average_issue(figures.quantity, figures.value, -change)
        except valuation.NotEnoughStock as exc:
            raise Uncostable(_inconsistent(item, exc)) from None
    layers = figures.open_layers()
    try:
        spent, taken = valuation.fifo_issue(
            [valuation.Layer(n, layer.remaining, layer.unit_cost) for n, layer in enumerate(layers)], -change)
    except valuation.NotEnoughStock as exc:
        raise Uncostable(_inconsistent(item, exc)) from None
    for n, units in taken:
        layers[n].remaining -= units
    return -figures.value if figures.quantity + change == 0 else -spent


def inbound_cost(item: Costed, figures: Figures) -> Decimal:
    """Unit cost of stock coming in without a purchase price (found, counted, a returned
    issue): the moving average, else the newest FIFO layer's cost, else the standard cost."""
    if item.valuation == "average" and figures.quantity > 0:
        return valuation.average_cost(figures.quantity, figures.value)
    if item.valuation == "fifo":
        newest = figures.newest_unit_cost()
        if newest is not None:
            return newest
    return item.standard_cost


def _take_own_layer(figures: Figures, m: Request, quantity: Decimal) -> None:
    """Reversing a FIFO receipt takes the stock out of that receipt's own layer."""
    layer = figures.own_layer(m.reverses_id) if m.reverses_id is not None else None
    if layer is None or layer.remaining < quantity:
        raise Uncostable(Problem("reverses_id", "consumed", f"part of what movement {m.reverses_id} received has "
                                 "been issued already; it cannot be reversed: post an adjustment for what is left "
                                 "instead"))
    layer.remaining -= quantity


def _inconsistent(item: Costed, exc: Exception) -> Problem:
    return Problem("quantity", "inconsistent", f"{item.sku}: the cost records hold less than the balances ({exc}); "
                                               "ask an administrator to check the item's movements")
