"""`/inventory`: items, locations and stock movements over HTTP, as `backoffice stock` has them.

Each route parses, calls the inventory services or queries with the caller, and renders; the
rules, the stock levels and the permissions are the services', the field policy the gate's.
A stock action (receipt, issue, transfer, adjustment, reversal) posts through the same
`post_typed` / `reverse_movement` as the command line, so a refusal carries the same fields
and codes (`quantity` / `insufficient_stock`, ...), and answers the same movement as
`backoffice stock ... --json`. Actions and creates accept an `Idempotency-Key`: a retried
issue after a lost answer issues nothing twice. Bodies are typed loosely (text where the
command line takes text, Decimal for quantities and money given as a JSON string or number)
so that a value the rules refuse is refused by the rules, with their codes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.api.support import (
    BodyId,
    CallerDep,
    Cursor,
    Day,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    IfMatch,
    JSONReply,
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    page,
    update,
    with_etag,
)
from engine.inventory import queries, services

router = APIRouter(prefix="/inventory", tags=["inventory"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
Code = Annotated[Text | None, Query(max_length=200)]


# -- bodies ----------------------------------------------------------------------------------

class ItemChange(BaseModel):
    """The fields of an item; in an update, only those sent are changed."""

    sku: Words = None
    name: Words = None
    unit: Words = None
    category: Words = None
    valuation: Words = Field(default=None, max_length=2000, description="fifo or average")
    standard_cost: Decimal | None = None
    reorder_point: Decimal | None = None
    reorder_quantity: Decimal | None = None
    preferred_supplier_id: BodyId | None = None
    active: bool | None = None
    lot_tracked: bool | None = None


class LocationChange(BaseModel):
    """The fields of a location; in an update, only those sent are changed."""

    code: Words = None
    name: Words = None
    kind: Words = Field(default=None, max_length=2000, description="warehouse or bin")
    warehouse_id: BodyId | None = Field(default=None, description="A bin's warehouse.")


class Posting(BaseModel):
    """What every stock action has: the item's SKU, how many, when, and a free reference."""

    sku: Text = Field(max_length=2000, description="The item's SKU.")
    quantity: Decimal = Field(description="How many, e.g. \"12\" or \"2.5\".")
    lot: Words = None
    moved_on: Day | None = Field(default=None, description="The day of the movement (default: today).")
    reference: Words = None


class ReceiptIn(Posting):
    to_location: Words = Field(default=None, max_length=2000, description="Location code the stock goes to.")
    unit_cost: Decimal | None = Field(default=None, description="Purchase price of one unit (a receipt needs it).")
    expires_on: Day | None = Field(default=None, description="Expiry date of a new lot.")
    supplier_id: BodyId | None = None


class IssueIn(Posting):
    from_location: Words = Field(default=None, max_length=2000, description="Location code the stock leaves.")
    customer_id: BodyId | None = Field(default=None, description="Contact id of the customer (a sale).")
    cost_centre: Words = None
    supplier_id: BodyId | None = Field(default=None, description="Contact id of the supplier the stock goes back "
                                       "to (reason returned).")
    reason: Words = Field(default=None, max_length=2000, description="issued, sold, consumed or returned (to "
                         "the supplier; default: sold with a customer, consumed with a cost centre, else issued).")


class TransferIn(Posting):
    from_location: Words = Field(default=None, max_length=2000, description="Location code the stock leaves.")
    to_location: Words = Field(default=None, max_length=2000, description="Location code the stock goes to.")


class AdjustmentIn(Posting):
    quantity: Decimal = Field(description="The signed change, e.g. \"-3\" or \"2\".")
    at: Words = Field(default=None, max_length=2000, description="Location code of the stock corrected.")
    reason: Words = Field(default=None, max_length=2000, description="counted, damaged, scrapped, expired or found.")
    unit_cost: Decimal | None = Field(default=None, description="Cost of one unit coming in (default: the item's "
                                      "current cost).")


class ReversalIn(BaseModel):
    moved_on: Day | None = Field(default=None, description="The day of the reversal (default: today).")
    reference: Words = None


# -- items -----------------------------------------------------------------------------------

@router.get("/items", summary="Items with their quantity on hand, filtered, sorted and a page at a time")
def list_items(request: Request, who: CallerDep,
               search: Annotated[Text | None, Query(max_length=200, description="Part of a SKU or name.")] = None,
               category: Code = None, active: bool | None = None,
               sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.items(session, who.actor, search=search, category=category, active=active)
    return page(rows, request, sort, cursor, limit)


@router.get("/items/{item_id}", summary="One item; its ETag is its version")
def read_item(who: CallerDep, item_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.item(session, who.actor, item_id))


@router.post("/items", status_code=201, summary="Add an item")
def add_item(request: Request, who: CallerDep, body: ItemChange, key: IdempotencyKey = None,
             digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        item = services.add_item(session, who.actor, body.model_dump(exclude_unset=True))
        return queries.item(session, who.actor, item.id)

    return create(request, who, key, digest, make)


@router.patch("/items/{item_id}", summary="Change an item's fields (needs If-Match)")
def change_item(request: Request, who: CallerDep, item_id: RecordId, body: ItemChange,
                if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.update_item(
                      session, who.actor, item_id, version, body.model_dump(exclude_unset=True)),
                  lambda session: queries.item(session, who.actor, item_id))


# -- locations -------------------------------------------------------------------------------

@router.get("/locations", summary="Warehouses and bins, filtered, sorted and a page at a time")
def list_locations(request: Request, who: CallerDep,
                   kind: Annotated[Text | None, Query(max_length=20, description="warehouse or bin")] = None,
                   warehouse: Annotated[Text | None, Query(max_length=200, description="A warehouse's code: it "
                                                          "and its bins.")] = None,
                   sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.locations(session, who.actor, kind=kind, warehouse=warehouse)
    return page(rows, request, sort, cursor, limit)


@router.get("/locations/{location_id}", summary="One location; its ETag is its version")
def read_location(who: CallerDep, location_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.location(session, who.actor, location_id))


@router.post("/locations", status_code=201, summary="Add a warehouse, or a bin in one")
def add_location(request: Request, who: CallerDep, body: LocationChange, key: IdempotencyKey = None,
                 digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        location = services.add_location(session, who.actor, body.model_dump(exclude_unset=True))
        return queries.location(session, who.actor, location.id)

    return create(request, who, key, digest, make)


@router.patch("/locations/{location_id}", summary="Change a location's fields (needs If-Match)")
def change_location(request: Request, who: CallerDep, location_id: RecordId, body: LocationChange,
                    if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.update_location(
                      session, who.actor, location_id, version, body.model_dump(exclude_unset=True)),
                  lambda session: queries.location(session, who.actor, location_id))


# -- stock actions ---------------------------------------------------------------------------

def _post(request: Request, who: Any, key: str | None, digest: str,
          build: Callable[[Session], Any]) -> Response:
    """Post one movement, once per Idempotency-Key; the answer is the movement as posted
    (`backoffice stock ... --json`)."""
    return create(request, who, key, digest,
                  lambda session: queries.movement_record(queries.movement(session, who.actor, build(session).id)))


def _typed(who: Any, kind: str, body: Posting, **fields: Any) -> Callable[[Session], Any]:
    typed = services.TypedMovement(kind, body.sku, body.quantity, body.moved_on or date.today(), lot=body.lot,
                                   reference=body.reference, **fields)
    return lambda session: services.post_typed(session, who.actor, typed)


@router.post("/receipts", status_code=201, summary="Receive stock into a location at its purchase cost")
def receive(request: Request, who: CallerDep, body: ReceiptIn, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
    return _post(request, who, key, digest, _typed(
        who, "receipt", body, to_location=body.to_location, unit_cost=body.unit_cost, expires_on=body.expires_on,
        supplier_id=body.supplier_id))


@router.post("/issues", status_code=201, summary="Issue stock from a location (FIFO or moving average cost)")
def issue(request: Request, who: CallerDep, body: IssueIn, key: IdempotencyKey = None,
          digest: Digest = "") -> Response:
    return _post(request, who, key, digest, _typed(
        who, "issue", body, from_location=body.from_location, customer_id=body.customer_id,
        cost_centre=body.cost_centre, supplier_id=body.supplier_id, reason=body.reason))


@router.post("/transfers", status_code=201, summary="Move stock between two locations")
def transfer(request: Request, who: CallerDep, body: TransferIn, key: IdempotencyKey = None,
             digest: Digest = "") -> Response:
    return _post(request, who, key, digest, _typed(
        who, "transfer", body, from_location=body.from_location, to_location=body.to_location))


@router.post("/adjustments", status_code=201, summary="Correct the stock at a location (minus: gone, plus: found)")
def adjust(request: Request, who: CallerDep, body: AdjustmentIn, key: IdempotencyKey = None,
           digest: Digest = "") -> Response:
    return _post(request, who, key, digest, _typed(
        who, "adjustment", body, at=body.at, reason=body.reason, unit_cost=body.unit_cost))


@router.post("/movements/{movement_id}/reverse", status_code=201,
             summary="Undo a posted movement with its mirror image")
def reverse(request: Request, who: CallerDep, movement_id: RecordId, body: ReversalIn | None = None,
            key: IdempotencyKey = None, digest: Digest = "") -> Response:
    body = body or ReversalIn()
    return _post(request, who, key, digest, lambda session: services.reverse_movement(
        session, who.actor, movement_id, body.moved_on or date.today(), body.reference))


# -- reads -----------------------------------------------------------------------------------

@router.get("/movements", summary="Posted movements by date, filtered, sorted and a page at a time")
def list_movements(request: Request, who: CallerDep,
                   item: Annotated[Text | None, Query(max_length=200, description="Only this SKU.")] = None,
                   location: Annotated[Text | None, Query(max_length=200, description="Only into or out of this "
                                                         "location (a warehouse includes its bins).")] = None,
                   kind: Annotated[Text | None, Query(max_length=20, description="receipt, issue, transfer or "
                                                     "adjustment")] = None,
                   since: Day | None = None, until: Day | None = None,
                   sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = [queries.movement_record(m) for m in queries.movements(
            session, who.actor, sku=item, location=location, kind=kind, since=since, until=until)]
    return page(rows, request, sort, cursor, limit)


@router.get("/movements/{movement_id}", summary="One posted movement (movements are never edited)")
def read_movement(who: CallerDep, movement_id: RecordId) -> Response:
    with who.work() as session:
        return JSONReply(queries.movement_record(queries.movement(session, who.actor, movement_id)))


@router.get("/on-hand", summary="What is on hand, per item, location and lot (`backoffice stock on-hand`)")
def on_hand(who: CallerDep,
            item: Annotated[Text | None, Query(max_length=200, description="Only this SKU.")] = None,
            location: Annotated[Text | None, Query(max_length=200, description="Only this location (a warehouse "
                                                  "includes its bins).")] = None) -> Response:
    with who.work() as session:
        rows = [queries.on_hand_record(h) for h in queries.on_hand(session, who.actor, item, location)]
    return JSONReply({"items": rows})


@router.get("/valuation", summary="What the stock was worth at the end of a day (`backoffice stock valuation`)")
def valuation(who: CallerDep, as_of: Day | None = None) -> Response:
    day = as_of or date.today()
    with who.work() as session:
        return JSONReply(queries.valuation_report(queries.stock_value(session, who.actor, day), day))


@router.get("/reorder", summary="Items at or below their reorder point (`backoffice stock reorder`)")
def reorder(who: CallerDep) -> Response:
    with who.work() as session:
        return JSONReply({"items": [queries.reorder_record(r) for r in queries.reorder_list(session, who.actor)]})
