"""What stock costs when it leaves: FIFO cost layers and the weighted moving average.

Pure functions over plain values, so the textbook examples in the tests run without a
database. The services load the item's layers (or its quantity and value), ask here what an
issue costs, and store the answer.

- FIFO: an issue takes from the oldest receipt still holding stock, then the next.
- Moving average: each receipt re-weighs the average (value / quantity); an issue costs its
  share of the value on hand, so issuing the last unit takes exactly the value left and no
  rounding residue is ever stranded in stock.

Values are kept to 4 decimal places (`engine.inventory.models.MONEY`), rounded half-even.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

PLACES = Decimal("0.0001")


def money(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)


class NotEnoughStock(ValueError):
    """More was asked for than the layers (or the item) hold."""


@dataclass
class Layer:
    """The rest of one receipt: `remaining` units at `unit_cost`."""

    key: int            # the layer's id (or any label the caller needs back)
    remaining: Decimal
    unit_cost: Decimal


def fifo_issue(layers: list[Layer], quantity: Decimal) -> tuple[Decimal, list[tuple[int, Decimal]]]:
    """Cost of issuing `quantity` from `layers` (oldest first), and what each layer gives.

    Returns (cost, [(layer key, units taken)]); the layers themselves are not changed.
    """
    if quantity <= 0:
        raise ValueError("an issue takes a positive quantity")
    wanted, cost, taken = quantity, Decimal(0), []
    for layer in layers:
        if wanted == 0:
            break
        take = min(layer.remaining, wanted)
        if take > 0:
            taken.append((layer.key, take))
            cost += take * layer.unit_cost
            wanted -= take
    if wanted > 0:
        raise NotEnoughStock(f"{quantity} wanted, {quantity - wanted} in the cost layers")
    return money(cost), taken


def average_issue(on_hand: Decimal, value: Decimal, quantity: Decimal) -> Decimal:
    """Cost of issuing `quantity` at the moving average of `value` over `on_hand` units."""
    if quantity <= 0:
        raise ValueError("an issue takes a positive quantity")
    if quantity > on_hand:
        raise NotEnoughStock(f"{quantity} wanted, {on_hand} on hand")
    if quantity == on_hand:
        return value
    return money(value * quantity / on_hand)


def average_cost(on_hand: Decimal, value: Decimal) -> Decimal | None:
    """The moving average unit cost, or None with nothing on hand."""
    return money(value / on_hand) if on_hand > 0 else None
