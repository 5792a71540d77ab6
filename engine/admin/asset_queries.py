"""The asset register's reads for the doors and the management pack: each takes the acting
user and checks they may read admin. Depreciation counted "on a date" is the schedule's
months that ended by then (`depreciation.accumulated_through`), recorded or not: the
register's own figure, which the books equal once `assets depreciate` has run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.admin.assets import AREA, asset_schedule, asset_tagged
from engine.admin.depreciation import ZERO, accumulated_through, cents
from engine.admin.models import Asset, AssetAssignment, DepreciationPosting
from engine.contacts.models import Contact
from engine.security.roles import Actor
from engine.staff.models import Employee


def _cents(value: Decimal | None) -> Decimal | None:
    """Money as the register keeps it, in cents: 1200.00, not the column's 1200.0000."""
    return None if value is None else cents(value)


def _plain(value: Decimal | None) -> Decimal | None:
    """A rate as typed: 0.25, not 0.2500 (the column's places)."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def _read(actor: Actor) -> None:
    actor.require("read", AREA)


def _people(session: Session, employee_ids: set[int]) -> dict[int, tuple[str, str]]:
    """{employee id: (number, name)}."""
    if not employee_ids:
        return {}
    return {i: (number, name or "(purged)") for i, number, name in session.execute(
        select(Employee.id, Employee.employee_number, Contact.name).outerjoin(Contact, Contact.id == Employee.contact_id)
        .where(Employee.id.in_(employee_ids)))}


def _record(asset: Asset, supplier: str | None, people: dict[int, tuple[str, str]], on: date) -> dict[str, Any]:
    accumulated = accumulated_through(asset_schedule(asset), on)
    holder = people.get(asset.employee_id) if asset.employee_id else None
    return {"id": asset.id, "version": asset.version, "tag": asset.tag, "description": asset.description,
            "category": asset.category, "purchased_on": asset.purchased_on, "cost": _cents(asset.cost),
            "supplier_id": asset.supplier_id, "supplier": supplier, "location": asset.location,
            "employee": holder[0] if holder else None, "employee_name": holder[1] if holder else None,
            "warranty_ends_on": asset.warranty_ends_on, "method": asset.method,
            "useful_life_months": asset.useful_life_months, "residual_value": _cents(asset.residual_value),
            "declining_rate": _plain(asset.declining_rate), "accumulated_depreciation": accumulated,
            "book_value": ZERO if asset.disposed_on and asset.disposed_on <= on else _cents(asset.cost - accumulated),
            "disposed_on": asset.disposed_on, "disposal_proceeds": _cents(asset.disposal_proceeds),
            "disposal_reason": asset.disposal_reason}


def _rows(session: Session, query, on: date) -> list[dict[str, Any]]:
    supplier = aliased(Contact)
    found = list(session.execute(query.add_columns(supplier.name).outerjoin(supplier, supplier.id == Asset.supplier_id)))
    people = _people(session, {a.employee_id for a, _ in found if a.employee_id})
    return [_record(a, name, people, on) for a, name in found]


def find_asset(session: Session, actor: Actor, tag: str) -> Asset:
    """An asset by its tag, for a reader of admin (a change names it so)."""
    _read(actor)
    return asset_tagged(session, tag)


def assets(session: Session, actor: Actor, category: str | None = None, employee: str | None = None,
           disposed: bool = False, on: date | None = None) -> list[dict[str, Any]]:
    """The assets by tag (those disposed of only with `disposed`), with their depreciation
    and book value on `on` (default: today)."""
    _read(actor)
    query = select(Asset).order_by(Asset.tag)
    if category:
        query = query.where(Asset.category == category)
    if employee:
        query = query.join(Employee, Employee.id == Asset.employee_id).where(Employee.employee_number == employee)
    if not disposed:
        query = query.where(Asset.disposed_on.is_(None))
    return _rows(session, query, on or date.today())


def asset(session: Session, actor: Actor, tag: str, on: date | None = None) -> dict[str, Any]:
    """One asset in full: its record and its assignments, oldest first."""
    _read(actor)
    found = asset_tagged(session, tag)
    record = _rows(session, select(Asset).where(Asset.id == found.id), on or date.today())[0]
    history = list(session.scalars(select(AssetAssignment).where(AssetAssignment.asset_id == found.id)
                                   .order_by(AssetAssignment.assigned_on, AssetAssignment.id)))
    people = _people(session, {h.employee_id for h in history})
    record["assignments"] = [{"employee": people[h.employee_id][0], "employee_name": people[h.employee_id][1],
                              "assigned_on": h.assigned_on, "returned_on": h.returned_on, "notes": h.notes}
                             for h in history]
    return record


def schedule(session: Session, actor: Actor, tag: str) -> dict[str, Any]:
    """An asset's depreciation month by month, each month saying whether it is recorded."""
    _read(actor)
    found = asset_tagged(session, tag)
    recorded = dict(session.execute(select(DepreciationPosting.month, DepreciationPosting.entry_id)
                                    .where(DepreciationPosting.asset_id == found.id)).all())
    return {"tag": found.tag, "description": found.description, "method": found.method, "cost": _cents(found.cost),
            "residual_value": _cents(found.residual_value), "useful_life_months": found.useful_life_months,
            "declining_rate": _plain(found.declining_rate), "disposed_on": found.disposed_on,
            "months": [{"month": m.month.strftime("%Y-%m"), "depreciation": m.depreciation,
                        "accumulated": m.accumulated, "book_value": m.book_value, "recorded": m.month in recorded,
                        "in_books": recorded.get(m.month) is not None} for m in asset_schedule(found)]}


def value(session: Session, actor: Actor, on: date | None = None) -> dict[str, Any]:
    """The register's value on `on` (default: today), by category and in total: the assets
    bought by then and not yet disposed of, their cost, depreciation and net book value."""
    _read(actor)
    on = on or date.today()
    sums: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO, ZERO])
    held = select(Asset).where(Asset.purchased_on <= on) \
        .where((Asset.disposed_on.is_(None)) | (Asset.disposed_on > on)).order_by(Asset.category)
    for a in session.scalars(held):
        counted = sums[a.category]
        counted[0] += 1
        counted[1] += _cents(a.cost)
        counted[2] += accumulated_through(asset_schedule(a), on)

    def row(n: int, cost: Decimal, accumulated: Decimal) -> dict[str, Any]:
        return {"assets": n, "cost": cost, "accumulated_depreciation": accumulated, "book_value": cost - accumulated}

    categories = [{"category": c, **row(*v)} for c, v in sorted(sums.items())]
    total = row(sum(v[0] for v in sums.values()), sum((v[1] for v in sums.values()), ZERO),
                sum((v[2] for v in sums.values()), ZERO))
    return {"on": on, "categories": categories, "total": total}


def assets_to_return(session: Session, employee_id: int, items: list[dict[str, Any]]) -> None:
    """A leaver's checklist (staff's `leaving_checklist` hook): each asset they have."""
    for tag, description in session.execute(select(Asset.tag, Asset.description)
                                            .where(Asset.employee_id == employee_id).order_by(Asset.tag)):
        items.append({"module": "admin", "item": f"return asset {tag} ({description})"})


def depreciation_postings(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every month of depreciation recorded, by month and tag, with each asset's accumulated
    depreciation and book value after it, and whether it is in the books."""
    _read(actor)
    rows, running = [], defaultdict(lambda: ZERO)
    for p, tag, description, cost in session.execute(
            select(DepreciationPosting, Asset.tag, Asset.description, Asset.cost)
            .join(Asset, Asset.id == DepreciationPosting.asset_id)
            .order_by(DepreciationPosting.month, Asset.tag)):
        running[p.asset_id] += _cents(p.amount)
        rows.append({"month": p.month.strftime("%Y-%m"), "tag": tag, "description": description,
                     "depreciation": _cents(p.amount), "accumulated": running[p.asset_id],
                     "book_value": _cents(cost - running[p.asset_id]), "in_books": p.entry_id is not None})
    return rows
