"""Inventory: items, locations, lots, stock movements, valuation, reorder points, stock takes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("inventory", needs=["contacts"], models="engine.inventory.models",
                    help="Stock: items, locations, lots, movements and their value.")
    registry.commands("stock", "engine.inventory.commands:stock_app",
                      "Stock: receive, issue, transfer, adjust and reverse; on hand, valuation, reorder list.",
                      server_routes={"receive": "POST /inventory/receipts", "issue": "POST /inventory/issues",
                                     "transfer": "POST /inventory/transfers", "adjust": "POST /inventory/adjustments",
                                     "reverse": "POST /inventory/movements/{id}/reverse"})
    registry.workbook("inventory", "engine.inventory.sheets:inventory_workbook")
    registry.api("engine.inventory.api:router")
    registry.demo_step("inventory", "engine.inventory.demo:seed_inventory", order=30)
    registry.pack_section("inventory", "engine.inventory.pack:section", title="Stock", order=20)
    registry.report("stock-valuation", "engine.inventory.pack:stock_valuation_report", template="reports/standard.docx",
                    options=("as_of",), help="The stock valuation (Word): every item's quantity, unit cost and value "
                                             "by its costing method at the end of a day, with the totals.")
