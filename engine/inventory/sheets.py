"""The Inventory workbook: Items, Locations and Lots (editable), Movements (new rows are
posted on sync, posted rows are locked), Stock take (a line per place holding stock: fill in
the counted quantity, sync posts the differences), and two read-only sheets, On hand and
Reorder.

A movement row goes through `batch.post_movements`, with the same check and the same costing
as `backoffice stock ...` (`services.post_movement`). Every row is checked by the module's
own rules (`rules`), the same functions the services call; a refused row (not enough stock,
a quarantined lot) is marked at the cell of the problem's field, never by reading its text,
and nothing in the workbook is posted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.sheets import contact_choices
from engine.errors import NotFound, ValidationFailed
from engine.inventory import queries, rules
from engine.inventory.batch import MovementsRefused, post_movements
from engine.inventory.models import (
    LOCATION_KINDS,
    LOT_STATUSES,
    MOVEMENT_KINDS,
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
from engine.sheets.labels import labelled
from engine.sheets.spec import (
    Column,
    PerUser,
    ReportSheet,
    RowsRefused,
    SheetSpec,
    WorkbookSpec,
    refusals_of,
)

AREA = "inventory"


# -- Items ---------------------------------------------------------------------------------

def _items_on_hand(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    # the items of `rows`' range of ids (an export hands them over a few thousand at a time)
    held = dict(session.execute(select(ItemCost.item_id, ItemCost.quantity)
                                .where(ItemCost.item_id.between(min(rows), max(rows)))).all()) if rows else {}
    return {rid: {"on_hand": held.get(rid, Decimal(0))} for rid in rows}


# -- Locations and lots ----------------------------------------------------------------------

def _derive_lot(row: dict[str, Any]) -> dict[str, Any]:
    """A lot typed here starts available; from then on its status is quality's decision
    (held for inspection on receipt, released, quarantined), shown but not typed."""
    row["status"] = row.get("status") or "available"
    return row


def _lot_status(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: {"status": values.get("status")} for rid, values in rows.items()}


# -- Movements -----------------------------------------------------------------------------

MOVEMENT_FIELDS = ("kind", "reason", "item_id", "quantity", "moved_on", "from_location_id", "to_location_id",
                   "lot_id", "unit_cost", "supplier_id", "customer_id", "cost_centre", "reference")


def post_movement_rows(session: Session, actor, sheet: str, rows: list[tuple[int, dict[str, Any]]]) -> list[int]:
    """New rows of the Movements sheet, posted as one batch (see SheetSpec.post); a refused
    row is marked at the cell of each problem's field. The rows have passed the sheet's rule,
    `rules.check_movement`, so the batch checks only what needs the database (`checked`)."""
    requests = [Movement(**{k: values.get(k) for k in MOVEMENT_FIELDS}) for _, values in rows]
    try:
        return post_movements(session, actor, requests, origins=[(sheet, row) for row, _ in rows], checked=True)
    except MovementsRefused as refused:
        raise RowsRefused([refusal for n, problems in sorted(refused.refused.items())
                           for refusal in refusals_of(rows[n][0], problems)]) from None


def _movement_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Computed column of Movements: the value the posting gave."""
    return {rid: {"value": v.get("value")} for rid, v in rows.items()}


# -- Stock take ----------------------------------------------------------------------------

def _offer_count_lines(session: Session) -> list[dict[str, Any]]:
    """One line to count per place holding stock, with what the system holds now."""
    today = date.today()
    query = (select(StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key, StockBalance.quantity)
             .join(Item, Item.id == StockBalance.item_id).join(Location, Location.id == StockBalance.location_id)
             .where(StockBalance.quantity > 0).order_by(Location.code, Item.sku, StockBalance.lot_key))
    return [{"counted_on": today, "item_id": item, "location_id": place, "lot_id": lot or None,
             "system_quantity": held}
            for item, place, lot, held in session.execute(query)]


# The stock take's counted adjustment, placed on the count's cells.
COUNT_COLUMNS = {"quantity": "counted", "from_location_id": "location_id", "to_location_id": "location_id"}


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
            refused += refusals_of(row, exc.problems, COUNT_COLUMNS, default="counted")
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return ids


def _count_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: {"system_quantity": v.get("system_quantity")} for rid, v in rows.items()}


# -- the read-only sheets -------------------------------------------------------------------

def _on_hand_rows(session: Session, actor) -> list[list[Any]]:
    return [[h.sku, h.item, h.location, h.lot, h.quantity, h.unit] for h in queries.on_hand(session, actor)]


def _reorder_rows(session: Session, actor) -> list[list[Any]]:
    return [[r.sku, r.item, r.on_hand, r.reorder_point, r.suggested, r.supplier]
            for r in queries.reorder_list(session, actor)]


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
            Column("preferred_supplier_id", "Supplier", type="integer", lookup="contacts",
                   references="contacts", labels="contacts", width=24),
            Column("active", "Active", type="bool", width=8),
            Column("lot_tracked", "Lots", type="bool", width=8),
            Column("on_hand", "On hand", type="decimal", computed=True, width=10),
        ),
        derive=rules.item_defaults, rule=rules.check_item, computed=_items_on_hand,
    )
    locations = SheetSpec(
        name="Locations", model=Location, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, width=12),
            Column("name", "Name", required=True, width=28),
            Column("kind", "Kind", type="choice", choices=LOCATION_KINDS, required=True, width=11),
            Column("warehouse_id", "Warehouse", type="integer", lookup="warehouses",
                   references="warehouses", labels="locations", width=24),
        ),
        rule=rules.check_location,
    )
    lots = SheetSpec(
        name="Lots", model=Lot, area=AREA, order_by=("item_id", "lot_number"),
        columns=(
            Column("item_id", "Item", type="integer", required=True, lookup="items", references="items",
                   labels="items", width=28),
            Column("lot_number", "Lot", required=True, width=14),
            Column("expires_on", "Expires", type="date", width=11),
            Column("status", "Status", type="choice", choices=LOT_STATUSES, computed=True, width=18),
        ),
        derive=_derive_lot, rule=rules.check_lot, computed=_lot_status,
    )
    movements = SheetSpec(
        name="Movements", model=StockMovement, area=AREA, can_update=False, post=post_movement_rows,
        order_by=("moved_on", "id"),
        columns=(
            Column("moved_on", "Date", type="date", required=True, width=11),
            Column("kind", "Kind", type="choice", choices=MOVEMENT_KINDS, required=True, width=11),
            Column("reason", "Reason", type="choice", choices=tuple(REASONS), required=True, width=10),
            Column("item_id", "Item", type="integer", required=True, lookup="items", references="items",
                   labels="items", width=28),
            Column("quantity", "Quantity", type="decimal", required=True, width=10),
            Column("from_location_id", "From", type="integer", lookup="locations", references="locations",
                   labels="locations", width=20),
            Column("to_location_id", "To", type="integer", lookup="locations", references="locations",
                   labels="locations", width=20),
            Column("lot_id", "Lot", type="integer", lookup="lots", references="lots", labels="lots", width=18),
            Column("unit_cost", "Unit cost", type="money", width=10),
            Column("supplier_id", "Supplier", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=22),
            Column("customer_id", "Customer", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=22),
            Column("cost_centre", "Cost centre", width=12),
            Column("reference", "Reference", width=20),
            Column("value", "Value", type="money", computed=True, width=12),
        ),
        rule=rules.check_movement, computed=_movement_details,
    )

    stock_take = SheetSpec(
        name="Stock take", model=StockCount, area=AREA, can_update=False, post=post_count_rows,
        prefill=_offer_count_lines, new_rows_need="counted", order_by=("counted_on", "id"),
        columns=(
            Column("counted_on", "Date", type="date", required=True, width=11),
            Column("item_id", "Item", type="integer", required=True, lookup="items", references="items",
                   labels="items", width=28),
            Column("location_id", "Location", type="integer", required=True, lookup="locations",
                   references="locations", labels="locations", width=20),
            Column("lot_id", "Lot", type="integer", lookup="lots", references="lots", labels="lots", width=18),
            Column("system_quantity", "System quantity", type="decimal", computed=True, width=12),
            Column("counted", "Counted", type="decimal", width=10),
        ),
        rule=lambda row: rules.check_count(row.get("counted")),
        computed=_count_details,
    )

    return WorkbookSpec(
        module="inventory", title="Inventory", sheets=(items, locations, lots, movements, stock_take),
        lookups={
            "items": labelled(lambda: select(Item.id, Item.sku, Item.name).order_by(Item.sku)),
            "locations": labelled(lambda: select(Location.id, Location.code, Location.name).order_by(Location.code)),
            # a lot by its number and its item's SKU: lot numbers are unique per item only
            "lots": labelled(lambda: select(Lot.id, Lot.lot_number, Item.sku).join(Item, Item.id == Lot.item_id)
                             .order_by(Item.sku, Lot.lot_number)),
            "contacts": contact_choices,
            "warehouses": labelled(lambda: select(Location.id, Location.code, Location.name)
                                   .where(Location.kind == "warehouse").order_by(Location.code)),
        },
        reports=(
            ReportSheet("On hand", AREA, (("SKU", 14), ("Item", 30), ("Location", 12), ("Lot", 14),
                                          ("Quantity", 11), ("Unit", 8)), PerUser(_on_hand_rows),
                        formats={"Quantity": "quantity"}),
            ReportSheet("Reorder", AREA, (("SKU", 14), ("Item", 30), ("On hand", 11), ("Reorder point", 13),
                                          ("Suggested", 11), ("Supplier", 28)), PerUser(_reorder_rows),
                        formats=dict.fromkeys(("On hand", "Reorder point", "Suggested"), "quantity")),
        ),
    )
