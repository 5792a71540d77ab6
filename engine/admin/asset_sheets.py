"""The asset register's sheets of the Office workbook: Assets (editable: new rows are added,
changed rows changed, a disposal typed in disposes of the asset), Assignments (the history:
a new row assigns an asset, a return date typed on the open one returns it) and Depreciation
(read-only: every month recorded, with each asset's book value after it).

Every write goes through the register's services (`engine.admin.assets`), one row at a time,
so the rules are theirs: one holder at a time, no leaver, how an asset is valued fixed once
its depreciation is recorded. The sheets hold no rule of their own: rows are checked by
`asset_rules` (the functions the services call) and a refusal is marked at the cell of its
problem's field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.admin import asset_queries, asset_rules, assets
from engine.admin.depreciation import accumulated_through
from engine.admin.models import DEPRECIATION_METHODS, Asset, AssetAssignment
from engine.contacts.models import Contact
from engine.sheets.labels import choices, labelled
from engine.sheets.posting import post_each, update_each
from engine.sheets.spec import Column, PerUser, ReportSheet, SheetSpec
from engine.staff.models import Employee

AREA = assets.AREA


def _asset_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Who has each asset now, its depreciation so far and its book value (today)."""
    found = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(list(rows))))} if rows else {}
    held = {e for e in (a.employee_id for a in found.values()) if e}
    people = dict(session.execute(select(Employee.id, Employee.employee_number).where(Employee.id.in_(held))).all()) \
        if held else {}
    today = date.today()
    details = {}
    for rid, a in found.items():
        accumulated = accumulated_through(assets.asset_schedule(a), today)
        details[rid] = {"holder": people.get(a.employee_id), "accumulated_depreciation": accumulated,
                        "book_value": a.cost - accumulated if a.disposed_on is None else None}
    return details


def _depreciation_rows(session: Session, actor) -> list[list[Any]]:
    return [[r["month"], r["tag"], r["description"], r["depreciation"], r["accumulated"], r["book_value"],
             "yes" if r["in_books"] else "no"] for r in asset_queries.depreciation_postings(session, actor)]


def _employee_choices(session: Session) -> list[Any]:
    """Employees by number and name ("E1001 Ann Test"); a purged leaver by number alone."""
    return choices(session.execute(select(Employee.id, Employee.employee_number, Contact.name)
                                   .outerjoin(Contact, Contact.id == Employee.contact_id)
                                   .order_by(Employee.employee_number)).all())


LOOKUPS = {
    "assets": labelled(lambda: select(Asset.id, Asset.tag, Asset.description).order_by(Asset.tag)),
    "employees": _employee_choices,
}


def asset_sheets() -> tuple[SheetSpec, ...]:
    register = SheetSpec(
        name="Assets", model=Asset, area=AREA, order_by=("tag",),
        post=post_each(assets.record_asset, default="tag"), update=update_each(assets.edit_asset),
        settled=lambda row: row.get("disposed_on") is not None,
        columns=(
            Column("tag", "Tag", required=True, unique=True, width=12),
            Column("description", "Description", required=True, width=26),
            Column("category", "Category", required=True, width=12),
            Column("purchased_on", "Bought", type="date", required=True, width=11),
            Column("cost", "Cost", type="money", required=True, width=12),
            Column("supplier_id", "Supplier", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=22),
            Column("location", "Location", width=14),
            Column("holder", "With", computed=True, width=10),
            Column("warranty_ends_on", "Warranty ends", type="date", width=12),
            Column("method", "Method", type="choice", choices=DEPRECIATION_METHODS, width=17),
            Column("useful_life_months", "Life (months)", type="integer", required=True, width=11),
            Column("residual_value", "Residual value", type="money", width=12),
            Column("declining_rate", "Yearly rate", type="decimal", number_format="percent", width=10),
            Column("accumulated_depreciation", "Depreciation so far", type="money", computed=True, width=14),
            Column("book_value", "Book value", type="money", computed=True, width=12),
            Column("disposed_on", "Disposed on", type="date", width=11),
            Column("disposal_proceeds", "Proceeds", type="money", width=11),
            Column("disposal_reason", "Disposal reason", width=20),
        ),
        derive=asset_rules.asset_defaults, rule=asset_rules.check_asset, computed=_asset_details,
    )
    history = SheetSpec(
        name="Assignments", model=AssetAssignment, area=AREA, order_by=("asset_id", "assigned_on", "id"),
        post=post_each(assets.record_assignment, default="asset_id"), update=update_each(assets.change_assignment),
        settled=lambda row: row.get("returned_on") is not None,
        columns=(
            Column("asset_id", "Asset", type="integer", required=True, lookup="assets", references="assets",
                   labels="assets", set_once=True, width=30),
            Column("employee_id", "Employee", type="integer", required=True, lookup="employees",
                   references="employees", labels="employees", set_once=True, width=24),
            Column("assigned_on", "Assigned", type="date", required=True, set_once=True, width=11),
            Column("returned_on", "Returned", type="date", width=11),
            Column("notes", "Notes", width=30),
        ),
    )
    return register, history


DEPRECIATION = ReportSheet(
    "Depreciation", AREA, (("Month", 9), ("Tag", 12), ("Description", 26), ("Depreciation", 13),
                           ("Accumulated", 13), ("Book value", 13), ("In the books", 11)),
    PerUser(_depreciation_rows), formats={"Depreciation": "money", "Accumulated": "money", "Book value": "money"})
