"""The Inventory workbook: Items, Locations and Lots (editable), Movements (new rows are
posted on sync, posted rows are locked), Stock take (a line per place holding stock: fill in
the counted quantity, sync posts the differences), and two read-only sheets, On hand and
Reorder.

A movement row goes through `services.post_movement`, exactly as `backoffice stock ...`
does: the same checks, the same locks, the same costing. A refused row (not enough stock, a
quarantined lot) is marked at its cell and nothing in the workbook is posted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, ValidationFailed
from engine.inventory import queries
from engine.inventory.batch import MovementsRefused, post_movements
from engine.inventory.models import (
    LOCATION_KINDS,
    LOT_STATUSES,
    MONEY,
    MOVEMENT_KINDS,
    QUANTITY,
    REASONS,
    VALUATION_METHODS,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockCount,
    StockMovement,
)
from engine.inventory.services import Count, Movement, post_stock_take
from engine.problems import Problem
from engine.sheets.spec import Column, ReportSheet, RowsRefused, SheetSpec, WorkbookSpec

AREA = "inventory"


def _places(values: dict[str, Any], fields: dict[str, int]) -> list[Problem]:
    """Numbers with more decimal places than the database keeps, or below zero."""
    problems = []
    for key, places in fields.items():
        value = values.get(key)
        if isinstance(value, Decimal) and value != value.quantize(Decimal(1).scaleb(-places)):
            problems.append(Problem(key, "type", f"{value} has more than {places} decimal places"))
    return problems


# -- Items ---------------------------------------------------------------------------------

def _derive_item(row: dict[str, Any]) -> dict[str, Any]:
    row["unit"] = row.get("unit") or "each"
    row["valuation"] = (row.get("valuation") or "fifo").lower()
    for key in ("standard_cost", "reorder_point", "reorder_quantity"):
        if row.get(key) is None:
            row[key] = Decimal(0)
    row["active"] = True if row.get("active") is None else bool(row["active"])
    row["lot_tracked"] = bool(row.get("lot_tracked"))
    return row


def _check_item(row: dict[str, Any]) -> list[Problem]:
    problems = _places(row, {"standard_cost": MONEY, "reorder_point": QUANTITY, "reorder_quantity": QUANTITY})
    for key in ("standard_cost", "reorder_point", "reorder_quantity"):
        if row.get(key) is not None and row[key] < 0:
            problems.append(Problem(key, "invalid", "cannot be below zero"))
    return problems


def _items_on_hand(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    held = dict(session.execute(select(ItemCost.item_id, ItemCost.quantity)).all())
    return {rid: {"on_hand": held.get(rid, Decimal(0))} for rid in rows}


# -- Locations and lots ----------------------------------------------------------------------

def _check_location(row: dict[str, Any]) -> list[Problem]:
    if row.get("kind") == "bin" and row.get("warehouse_id") is None:
        return [Problem("warehouse_id", "required", "a bin belongs to a warehouse: give its ID")]
    if row.get("kind") == "warehouse" and row.get("warehouse_id") is not None:
        return [Problem("warehouse_id", "invalid", "a warehouse does not belong to another one; leave it empty")]
    return []


def _derive_lot(row: dict[str, Any]) -> dict[str, Any]:
    row["status"] = row.get("status") or "available"
    return row


# -- Movements -----------------------------------------------------------------------------

MOVEMENT_FIELDS = ("kind", "reason", "item_id", "quantity", "moved_on", "from_location_id", "to_location_id",
                   "lot_id", "unit_cost", "supplier_id", "customer_id", "cost_centre", "reference")


def _check_movement(row: dict[str, Any]) -> list[Problem]:
    problems = _places(row, {"quantity": QUANTITY, "unit_cost": MONEY})
    reason, kind = row.get("reason"), row.get("kind")
    if reason and kind and REASONS.get(reason) != kind:
        fits = ", ".join(r for r, k in REASONS.items() if k == kind)
        problems.append(Problem("reason", "invalid", f"{reason!r} does not go with a {kind}; use one of: {fits}"))
    return problems


def post_movement_rows(session: Session, actor, sheet: str, rows: list[tuple[int, dict[str, Any]]]) -> list[int]:
    """New rows of the Movements sheet, posted as one batch (see SheetSpec.post)."""
    requests = [Movement(**{k: values.get(k) for k in MOVEMENT_FIELDS}) for _, values in rows]
    try:
        return post_movements(session, actor, requests, origins=[(sheet, row) for row, _ in rows])
    except MovementsRefused as refused:
        raise RowsRefused([(rows[n][0], _column_of(message), message)
                           for n, problems in sorted(refused.refused.items()) for message in problems]) from None


def _column_of(message: str) -> str | None:
    """The cell to mark for a refusal: the quantity when stock is short, the lot for lots."""
    if "not enough" in message:
        return "quantity"
    return "lot_id" if "lot" in message else None


def _movement_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Computed columns of Movements: the item's SKU and the value the posting gave."""
    skus = dict(session.execute(select(Item.id, Item.sku)).all())
    return {rid: {"sku": skus.get(v.get("item_id")), "value": v.get("value")} for rid, v in rows.items()}


# -- Stock take ----------------------------------------------------------------------------

def _offer_count_lines(session: Session) -> list[dict[str, Any]]:
    """One line to count per place holding stock, with what the system holds now."""
    today = date.today()
    query = (select(StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key, StockBalance.quantity,
                    Item.sku, Location.code)
             .join(Item, Item.id == StockBalance.item_id).join(Location, Location.id == StockBalance.location_id)
             .where(StockBalance.quantity > 0).order_by(Location.code, Item.sku, StockBalance.lot_key))
    return [{"counted_on": today, "item_id": item, "location_id": place, "lot_id": lot or None,
             "system_quantity": held, "sku": sku, "location": code}
            for item, place, lot, held, sku, code in session.execute(query)]


def post_count_rows(session: Session, actor, sheet: str, rows: list[tuple[int, dict[str, Any]]]) -> list[int]:
    """Counted lines of the Stock take sheet: recorded, and adjusted where they differ."""
    context, ids, refused = session.info["audit"], [], []
    for row, values in rows:
        count = Count(values["item_id"], values["location_id"], values["counted"], values.get("lot_id"))
        context.posting_row = (sheet, row)  # the audit rows name the workbook row
        try:
            [line] = post_stock_take(session, actor, [count], values["counted_on"], reference=f"stock take, row {row}")
            ids.append(line.id)
        except (ValidationFailed, NotFound) as exc:
            message = "; ".join(exc.problems) if isinstance(exc, ValidationFailed) else str(exc)
            refused.append((row, "counted", message))
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return ids


def _count_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    skus = dict(session.execute(select(Item.id, Item.sku)).all())
    codes = dict(session.execute(select(Location.id, Location.code)).all())
    return {rid: {"sku": skus.get(v.get("item_id")), "location": codes.get(v.get("location_id")),
                  "system_quantity": v.get("system_quantity")} for rid, v in rows.items()}


# -- the read-only sheets -------------------------------------------------------------------

def _on_hand_rows(session: Session) -> list[list[Any]]:
    return [[h.sku, h.item, h.location, h.lot, h.quantity, h.unit] for h in queries.on_hand(session)]


def _reorder_rows(session: Session) -> list[list[Any]]:
    return [[r.sku, r.item, r.on_hand, r.reorder_point, r.suggested, r.supplier] for r in queries.reorder_list(session)]


def inventory_workbook() -> WorkbookSpec:
    items = SheetSpec(
        name="Items", model=Item, area=AREA, order_by=("sku",),
        columns=(
            Column("sku", "SKU", required=True, unique=True, width=14),
            Column("name", "Name", required=True, width=30),
            Column("unit", "Unit", width=8),
            Column("category", "Category", width=14),
            Column("valuation", "Valuation", type="choice", choices=VALUATION_METHODS, width=10),
            Column("standard_cost", "Standard cost", type="money", width=12),
            Column("reorder_point", "Reorder point", type="decimal", width=12),
            Column("reorder_quantity", "Reorder quantity", type="decimal", width=12),
            Column("preferred_supplier_id", "Supplier ID", type="integer", lookup="contacts",
                   references="contacts", width=11),
            Column("active", "Active", type="bool", width=8),
            Column("lot_tracked", "Lots", type="bool", width=8),
            Column("on_hand", "On hand", type="decimal", computed=True, width=10),
        ),
        derive=_derive_item, rule=_check_item, computed=_items_on_hand,
    )
    locations = SheetSpec(
        name="Locations", model=Location, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, width=12),
            Column("name", "Name", required=True, width=28),
            Column("kind", "Kind", type="choice", choices=LOCATION_KINDS, required=True, width=11),
            Column("warehouse_id", "Warehouse ID", type="integer", lookup="warehouses",
                   references="warehouses", width=13),
        ),
        rule=_check_location,
    )
    lots = SheetSpec(
        name="Lots", model=Lot, area=AREA, order_by=("item_id", "lot_number"),
        columns=(
            Column("item_id", "Item ID", type="integer", required=True, lookup="items", references="items", width=9),
            Column("lot_number", "Lot", required=True, width=14),
            Column("expires_on", "Expires", type="date", width=11),
            Column("status", "Status", type="choice", choices=LOT_STATUSES, width=18),
        ),
        derive=_derive_lot,
    )
    movements = SheetSpec(
        name="Movements", model=StockMovement, area=AREA, can_update=False, post=post_movement_rows,
        order_by=("moved_on", "id"),
        columns=(
            Column("moved_on", "Date", type="date", required=True, width=11),
            Column("kind", "Kind", type="choice", choices=MOVEMENT_KINDS, required=True, width=11),
            Column("reason", "Reason", type="choice", choices=tuple(REASONS), required=True, width=10),
            Column("item_id", "Item ID", type="integer", required=True, lookup="items", references="items", width=9),
            Column("sku", "SKU", computed=True, width=12),
            Column("quantity", "Quantity", type="decimal", required=True, width=10),
            Column("from_location_id", "From ID", type="integer", lookup="locations", references="locations", width=9),
            Column("to_location_id", "To ID", type="integer", lookup="locations", references="locations", width=9),
            Column("lot_id", "Lot ID", type="integer", lookup="lots", references="lots", width=8),
            Column("unit_cost", "Unit cost", type="money", width=10),
            Column("supplier_id", "Supplier ID", type="integer", lookup="contacts", references="contacts", width=11),
            Column("customer_id", "Customer ID", type="integer", lookup="contacts", references="contacts", width=11),
            Column("cost_centre", "Cost centre", width=12),
            Column("reference", "Reference", width=20),
            Column("value", "Value", type="money", computed=True, width=12),
        ),
        rule=_check_movement, computed=_movement_details,
    )

    stock_take = SheetSpec(
        name="Stock take", model=StockCount, area=AREA, can_update=False, post=post_count_rows,
        prefill=_offer_count_lines, new_rows_need="counted", order_by=("counted_on", "id"),
        columns=(
            Column("counted_on", "Date", type="date", required=True, width=11),
            Column("item_id", "Item ID", type="integer", required=True, lookup="items", references="items", width=9),
            Column("sku", "SKU", computed=True, width=12),
            Column("location_id", "Location ID", type="integer", required=True, lookup="locations",
                   references="locations", width=11),
            Column("location", "Location", computed=True, width=10),
            Column("lot_id", "Lot ID", type="integer", lookup="lots", references="lots", width=8),
            Column("system_quantity", "System quantity", type="decimal", computed=True, width=12),
            Column("counted", "Counted", type="decimal", width=10),
        ),
        rule=lambda row: _places(row, {"counted": QUANTITY}),
        computed=_count_details,
    )

    def ids(model, *where):
        return lambda session: list(session.scalars(select(model.id).where(*where).order_by(model.id)))

    return WorkbookSpec(
        module="inventory", title="Inventory", sheets=(items, locations, lots, movements, stock_take),
        lookups={
            "items": ids(Item), "locations": ids(Location), "lots": ids(Lot), "contacts": ids(Contact),
            "warehouses": ids(Location, Location.kind == "warehouse"),
        },
        reports=(
            ReportSheet("On hand", AREA, (("SKU", 14), ("Item", 30), ("Location", 12), ("Lot", 14),
                                          ("Quantity", 11), ("Unit", 8)), _on_hand_rows),
            ReportSheet("Reorder", AREA, (("SKU", 14), ("Item", 30), ("On hand", 11), ("Reorder point", 13),
                                          ("Suggested", 11), ("Supplier", 28)), _reorder_rows),
        ),
    )
