"""Inventory's rules as pure functions: every problem of a movement, an item, a location, a
lot or a stock count as typed, each with its field and a stable code. No database: the
services call these first and then check what needs the database (that the records named
exist, what is on hand) the same way; the workbook's sheets call the very same functions on
each row, so no door has a rule of its own.

Fields are the stored fields (`quantity`, `lot_id`, `from_location_id`, ...), or the service's
argument where there is no column (`expires_on` of a lot typed with a receipt). The codes:

    required        a value the record needs is missing
    invalid         not one of the allowed values (a kind, a reason that does not go with it)
    places          more decimal places than the database keeps
    too_large       beyond any real quantity or amount
    not_positive    a receipt, issue or transfer moves more than 0
    zero            an adjustment that changes nothing
    wrong_sign      a loss that adds stock, found stock that takes some away
    negative        a cost, reorder figure or count below zero
    not_allowed     a value that does not belong (a unit cost on stock going out)
    same_location   a transfer to where the stock already is
    conflict        two values that contradict each other
    inactive        receiving an item that is no longer active
    lot_unavailable issuing or transferring out of a lot that is not available (awaiting
                    inspection, quarantined; a rejected lot may only go back to its supplier)
    lot_expired     issuing from a lot past its expiry date
    reference       (services) a record named that does not exist, or not of this item
    insufficient_stock  (services) more than is on hand at that place
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from engine.inventory.models import (
    BOTH_WAYS,
    LOCATION_KINDS,
    LOT_STATUSES,
    MONEY,
    MOVEMENT_KINDS,
    QUANTITY,
    REASONS,
    VALUATION_METHODS,
    Item,
    Location,
    Lot,
    StockMovement,
)
from engine.limits import within_limits
from engine.problems import Problem

LOSSES = ("damaged", "scrapped", "expired")  # adjustment reasons that only take stock away
GAINS = ("found",)                            # adjustment reasons that only add stock
LIMIT = Decimal(10) ** 12                     # far beyond any real stock or amount
_STEP = {QUANTITY: Decimal(1).scaleb(-QUANTITY), MONEY: Decimal(1).scaleb(-MONEY)}
_NUMBER = (Decimal, int)
_QUANTITY_STEP = _STEP[QUANTITY]
_BELOW_LIMIT, _ZERO = -LIMIT, Decimal(0)


class ItemFacts(Protocol):
    """What the movement rules need to know of its item (an `Item` row will do)."""

    sku: str
    active: bool
    lot_tracked: bool


class LotFacts(Protocol):
    """What the movement rules need to know of its lot (a `Lot` row will do)."""

    item_id: int
    lot_number: str
    status: str
    expires_on: date | None


def check_number(field: str, value: Any, places: int, *, below_zero: bool = True) -> list[Problem]:
    """A Decimal the database can hold: at most `places` decimals, not absurdly large, and
    (unless `below_zero`) not negative."""
    if value.__class__ is not Decimal:
        return []
    if not value.is_finite() or not -LIMIT < value < LIMIT:
        return [Problem(field, "too_large", f"{value} is too large")]
    step = _STEP.get(places) or Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        return [Problem(field, "places", f"{value} has more than {places} decimal places")]
    if not below_zero and value < 0:
        return [Problem(field, "negative", f"cannot be below zero (it is {value})")]
    return []


# -- movements --------------------------------------------------------------------------------

def direction(kind: str | None, quantity: Any) -> tuple[bool, bool]:
    """Whether a movement takes stock out of a place, and whether it brings stock into one
    (a transfer does both; an adjustment one or the other, by its sign)."""
    if kind == "adjustment":
        signed = quantity if isinstance(quantity, _NUMBER) else 0
        return signed < 0, signed > 0
    return kind == "issue" or kind == "transfer", kind == "receipt" or kind == "transfer"


def default_reason(kind: str, customer_id: int | None = None, cost_centre: str | None = None) -> str | None:
    """The reason of a movement typed without one: a sale to a customer, internal use by a
    cost centre, else a plain issue; a receipt is received and a transfer moved."""
    if kind == "issue":
        return "sold" if customer_id is not None else "consumed" if cost_centre else "issued"
    return {"receipt": "received", "transfer": "moved"}.get(kind)


def check_movement(m: Mapping[str, Any], item: ItemFacts | None = None,
                   lot: LotFacts | None = None) -> list[Problem]:
    """Every problem of a movement as typed (`m`: its stored fields). With its `item` and
    `lot` (as loaded by the caller) the rules that depend on them are checked too.

    Run twice for each of a workbook's 100,000 rows (the sheet's rule, then the posting's),
    so a movement with nothing wrong takes the shortest way through."""
    problems: list[Problem] = []
    get = m.get
    kind, reason, quantity, moved_on = get("kind"), get("reason"), get("quantity"), get("moved_on")
    if kind is None or reason is None or quantity is None or moved_on is None or get("item_id") is None:
        problems += [Problem(field, "required", f"a movement needs its {_NAMES[field]}")
                     for field in ("moved_on", "kind", "reason", "item_id", "quantity") if get(field) is None]
    if kind is not None and kind not in MOVEMENT_KINDS:
        problems.append(Problem("kind", "invalid", f"{kind!r} is not a kind of movement; use one of: "
                                                   f"{', '.join(MOVEMENT_KINDS)}"))
        kind = None
    if reason is not None:
        fits_kind = REASONS.get(reason)
        if fits_kind is None:
            problems.append(Problem("reason", "invalid", f"{reason!r} is not a reason; use one of: "
                                                         f"{', '.join(REASONS)}"))
        elif kind is not None and fits_kind != kind and kind not in BOTH_WAYS.get(reason, ()):
            fits = ", ".join(r for r, k in REASONS.items() if k == kind or kind in BOTH_WAYS.get(r, ()))
            problems.append(Problem("reason", "invalid", f"{reason!r} does not go with a {kind}; use one of: {fits}"))

    number = quantity.__class__ is Decimal or quantity.__class__ is int
    if number:
        if quantity.__class__ is Decimal and (not quantity.is_finite() or not _BELOW_LIMIT < quantity < LIMIT
                                              or quantity != quantity.quantize(_QUANTITY_STEP)):
            problems += check_number("quantity", quantity, QUANTITY)
        if kind == "adjustment":
            if quantity == 0:
                problems.append(Problem("quantity", "zero", "an adjustment changes the quantity: it cannot be 0"))
            elif reason in LOSSES and quantity > 0:
                problems.append(Problem("quantity", "wrong_sign",
                                        f"{reason} stock is a loss: the change must be below 0 (it is {quantity})"))
            elif reason in GAINS and quantity < 0:
                problems.append(Problem("quantity", "wrong_sign",
                                        f"{reason} stock is a gain: the change must be above 0 (it is {quantity})"))
        elif kind is not None and quantity <= _ZERO:
            problems.append(Problem("quantity", "not_positive",
                                    f"the quantity of a {kind} must be more than 0 (it is {quantity})"))

    if kind == "adjustment":
        out, into = number and quantity < _ZERO, number and quantity > _ZERO
    else:
        out, into = kind == "issue" or kind == "transfer", kind == "receipt" or kind == "transfer"
    source, target = get("from_location_id"), get("to_location_id")
    if out and source is None:
        problems.append(Problem("from_location_id", "required", f"a {kind} needs the location the stock leaves"))
    if into and target is None:
        problems.append(Problem("to_location_id", "required", f"a {kind} needs the location the stock goes to"))
    if kind == "transfer" and source is not None and source == target:
        problems.append(Problem("to_location_id", "same_location",
                                "a transfer moves stock between two different locations"))

    unit_cost = get("unit_cost")
    if unit_cost is None:
        if kind == "receipt":
            problems.append(Problem("unit_cost", "required", "a receipt needs the unit cost (0 or more)"))
    else:
        problems += check_number("unit_cost", unit_cost, MONEY, below_zero=False)
        if out and (kind == "issue" or kind == "adjustment"):
            problems.append(Problem("unit_cost", "not_allowed", "a unit cost is for stock coming in; stock going "
                                                                "out leaves at its recorded cost"))
    if kind == "issue" and reason == "returned":
        if get("supplier_id") is None:
            problems.append(Problem("supplier_id", "required", "returned stock goes back to its supplier: give the "
                                                               "supplier"))
        if get("customer_id") is not None:
            problems.append(Problem("customer_id", "not_allowed", "returned stock goes back to its supplier, not to a "
                                                                  "customer; a sale is issued with reason sold"))
    elif kind == "issue" and get("cost_centre") and get("customer_id") is not None:
        problems.append(Problem("cost_centre", "conflict", "an issue is a sale to a customer or internal use by a "
                                                           "cost centre: give one of them, not both"))

    if item is not None:
        problems += check_item_and_lot(m, item, lot)
    return within_limits(problems, StockMovement, m)


def check_item_and_lot(m: Mapping[str, Any], item: ItemFacts, lot: LotFacts | None = None) -> list[Problem]:
    """The rules of a movement that depend on its item and lot (part of `check_movement`)."""
    problems = []
    kind = m.get("kind")
    if kind == "receipt" and not item.active:
        problems.append(Problem("item_id", "inactive", f"item {item.sku} is no longer active: it cannot be received"))
    if item.lot_tracked and m.get("lot_id") is None:
        problems.append(Problem("lot_id", "required", f"item {item.sku} is tracked by lot: give the lot number"))
    if lot is not None and kind == "issue":
        problems += check_lot_issue(lot, item.sku, m.get("moved_on"), m.get("reason"))
    elif lot is not None and kind == "transfer" and lot.status != "available":
        problems.append(Problem("lot_id", "lot_unavailable", f"lot {lot.lot_number} of {item.sku} is {lot.status}: "
                                                             f"it cannot be transferred out {_UNTIL[lot.status]}"))
    return problems


_NAMES = {"moved_on": "date", "kind": "kind (receipt, issue, transfer or adjustment)", "reason": "reason",
          "item_id": "item", "quantity": "quantity"}


# What has to happen before stock of a lot that is not available may leave.
_UNTIL = {"awaiting inspection": "until it has passed its inspection or quality releases it",
          "quarantined": "until quality releases it",
          "rejected": "(quality rejected it: it can only be returned to its supplier or scrapped)"}


def check_lot_issue(lot: LotFacts, sku: str, on: date | None, reason: str | None = None) -> list[Problem]:
    """A lot stock may be issued from: available, and not expired on the day of the issue;
    or a rejected lot, going back to its supplier (reason returned)."""
    if lot.status == "rejected" and reason == "returned":
        return []
    if lot.status != "available":
        return [Problem("lot_id", "lot_unavailable", f"lot {lot.lot_number} of {sku} is {lot.status}: it cannot be "
                                                     f"issued {_UNTIL.get(lot.status, '')}".rstrip())]
    if reason == "returned":
        return []
    if lot.expires_on is not None and on is not None and lot.expires_on < on:
        return [Problem("lot_id", "lot_expired", f"lot {lot.lot_number} of {sku} expired on {lot.expires_on}: it "
                                                 "cannot be issued; write it off with reason expired")]
    return []


def check_lot_given(lot_number: str | None, expires_on: date | None) -> list[Problem]:
    """An expiry date typed with a receipt is its lot's: it needs the lot number too."""
    if expires_on is not None and not lot_number:
        return [Problem("expires_on", "required", "an expiry date is a lot's: give the lot number too")]
    return within_limits([], Lot, {"lot_number": lot_number, "expires_on": expires_on})


# -- items, locations, lots, counts -----------------------------------------------------------

def item_defaults(row: dict[str, Any]) -> dict[str, Any]:
    """An item as stored from what was typed: the unit `each`, FIFO, zero costs and reorder
    figures, active, not lot-tracked, where left empty (the Items sheet and the item
    services both store an item through this)."""
    row["unit"] = row.get("unit") or "each"
    row["valuation"] = (row.get("valuation") or "fifo").lower()
    for key in ("standard_cost", "reorder_point", "reorder_quantity"):
        if row.get(key) is None:
            row[key] = Decimal(0)
    row["active"] = True if row.get("active") is None else bool(row["active"])
    row["lot_tracked"] = bool(row.get("lot_tracked"))
    return row


def check_item(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"an item needs its {f.upper() if f == 'sku' else f}")
                for f in ("sku", "name") if not values.get(f)]
    valuation = values.get("valuation")
    if valuation is not None and valuation not in VALUATION_METHODS:
        problems.append(Problem("valuation", "invalid", f"{valuation!r} is not a valuation method; use one of: "
                                                        f"{', '.join(VALUATION_METHODS)}"))
    problems += check_number("standard_cost", values.get("standard_cost"), MONEY, below_zero=False)
    for key in ("reorder_point", "reorder_quantity"):
        problems += check_number(key, values.get(key), QUANTITY, below_zero=False)
    return within_limits(problems, Item, values)


def check_location(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"a location needs its {f}") for f in ("code", "name") if not values.get(f)]
    kind = values.get("kind")
    if kind is not None and kind not in LOCATION_KINDS:
        problems.append(Problem("kind", "invalid", f"{kind!r} is not a kind of location; use one of: "
                                                   f"{', '.join(LOCATION_KINDS)}"))
    elif kind == "bin" and values.get("warehouse_id") is None:
        problems.append(Problem("warehouse_id", "required", "a bin belongs to a warehouse: give its ID"))
    elif kind == "warehouse" and values.get("warehouse_id") is not None:
        problems.append(Problem("warehouse_id", "invalid", "a warehouse does not belong to another one; leave it "
                                                           "empty"))
    return within_limits(problems, Location, values)


def check_lot(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"a lot needs its {_LOT_NAMES[f]}")
                for f in ("item_id", "lot_number") if not values.get(f)]
    status = values.get("status")
    if status is not None and status not in LOT_STATUSES:
        problems.append(Problem("status", "invalid", f"{status!r} is not a lot status; use one of: "
                                                     f"{', '.join(LOT_STATUSES)}"))
    return within_limits(problems, Lot, values)


_LOT_NAMES = {"item_id": "item", "lot_number": "number"}


def check_count(counted: Any) -> list[Problem]:
    """A counted quantity of a stock take."""
    if counted is None:
        return [Problem("counted", "required", "a count needs the quantity counted")]
    return check_number("counted", counted, QUANTITY, below_zero=False)
