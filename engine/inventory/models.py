"""Inventory tables: items, locations, lots, the append-only movement ledger and the
balances and cost layers the movements maintain.

Every change of stock is a `StockMovement` row with a reason code (as in InvenTree); rows are
never edited or deleted (the database refuses it), and a mistake is put right by a reversing
movement. `StockBalance` (per item, location and lot) and `ItemCost` (per item: quantity and
value) are kept up to date by the same transaction that posts a movement, so "how many are
on hand" never needs to read the history; `CostLayer` holds what is left of each FIFO
receipt.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.contacts.models  # noqa: F401  (items and movements refer to contacts)
from engine.db.base import Base, Record
from engine.db.exact import Exact

VALUATION_METHODS = ("fifo", "average")
LOCATION_KINDS = ("warehouse", "bin")
LOT_STATUSES = ("available", "awaiting inspection", "quarantined", "rejected")
MOVEMENT_KINDS = ("receipt", "issue", "transfer", "adjustment")
# Why stock moved: a fixed list, so reports can group by it.
REASONS = {
    "received": "receipt", "returned": "receipt",
    "issued": "issue", "sold": "issue", "consumed": "issue",
    "moved": "transfer",
    "counted": "adjustment", "damaged": "adjustment", "scrapped": "adjustment",
    "expired": "adjustment", "found": "adjustment", "reversed": "adjustment",
}
# "returned" goes both ways: a customer's goods coming back (a receipt), or goods going back
# to their supplier (an issue: a rejected lot returned, an over-delivery sent back).
BOTH_WAYS = {"returned": ("receipt", "issue")}

QUANTITY = 4   # decimal places of quantities (0.0001 of a unit)
MONEY = 4      # decimal places of costs and values (rounded to cents only for display)


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Item(Record, Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(_one_of("valuation", VALUATION_METHODS), name="valuation"),
        CheckConstraint("reorder_point >= 0 AND reorder_quantity >= 0 AND standard_cost >= 0", name="not_negative"),
    )

    sku: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(16), nullable=False, default="each")
    category: Mapped[str | None] = mapped_column(String(64))
    valuation: Mapped[str] = mapped_column(String(8), nullable=False, default="fifo")
    standard_cost: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False, default=Decimal(0))
    reorder_point: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False, default=Decimal(0))
    reorder_quantity: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False, default=Decimal(0))
    preferred_supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    lot_tracked: Mapped[bool] = mapped_column(nullable=False, default=False)


class Location(Record, Base):
    """A warehouse, or a bin inside one (the tree is two levels deep)."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint(_one_of("kind", LOCATION_KINDS), name="kind"),
        CheckConstraint("(kind = 'warehouse' AND warehouse_id IS NULL) OR (kind = 'bin' AND warehouse_id IS NOT NULL)",
                        name="bins_belong_to_a_warehouse"),
    )

    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False, default="warehouse")
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"), index=True)


class Lot(Record, Base):
    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("item_id", "lot_number"),
        CheckConstraint(_one_of("status", LOT_STATUSES), name="status"),
    )

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False)
    lot_number: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="available")


class StockMovement(Record, Base):
    """One posted change of stock. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MOVEMENT_KINDS), name="kind"),
        CheckConstraint(_one_of("reason", REASONS), name="reason"),
        CheckConstraint("quantity <> 0", name="moves_something"),
        Index("ix_stock_movements_item_moved_on", "item_id", "moved_on"),
    )

    moved_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    reason: Mapped[str] = mapped_column(String(12), nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False)
    # Positive, except for adjustments (found: +, damaged: -).
    quantity: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False)
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), index=True)
    unit_cost: Mapped[Decimal | None] = mapped_column(Exact(MONEY))      # receipts (and found stock)
    # The change of inventory value: + for stock in, - for stock out at its cost, 0 for a transfer.
    value: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False, default=Decimal(0))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    cost_centre: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(200))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id", ondelete="RESTRICT"), unique=True)


class StockBalance(Base):
    """On hand per item, location and lot (lot_key 0: no lot), kept by every posting."""

    __tablename__ = "stock_balances"
    __table_args__ = (
        UniqueConstraint("item_id", "location_id", "lot_key"),
        CheckConstraint("quantity >= 0", name="never_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"), nullable=False, index=True)
    lot_key: Mapped[int] = mapped_column(nullable=False, default=0, index=True)   # the lot's id, or 0
    quantity: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False, default=Decimal(0))


class ItemCost(Base):
    """An item's stock in all locations and its value: the moving average is value / quantity."""

    __tablename__ = "item_costs"
    __table_args__ = (CheckConstraint("quantity >= 0", name="never_negative"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False, default=Decimal(0))
    value: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False, default=Decimal(0))


class CostLayer(Base):
    """What is left of one FIFO receipt; issues take from the oldest layer first."""

    __tablename__ = "cost_layers"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="never_negative"),
        Index("ix_cost_layers_item_open", "item_id", "received_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movements.id", ondelete="RESTRICT"), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    remaining: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False)
    unit_cost: Mapped[Decimal] = mapped_column(Exact(MONEY), nullable=False)


class StockCount(Record, Base):
    """One line of a stock take as counted, with what the system held at that moment and the
    `counted` adjustment it posted (none when the count agreed)."""

    __tablename__ = "stock_counts"
    __table_args__ = (CheckConstraint("counted >= 0", name="not_negative"),)

    counted_on: Mapped[date] = mapped_column(Date, nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"), nullable=False)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    system_quantity: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False)
    counted: Mapped[Decimal] = mapped_column(Exact(QUANTITY), nullable=False)
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id", ondelete="RESTRICT"))
