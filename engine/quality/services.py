"""Quality operations on plans and lots, each inside the caller's unit of work (one
transaction): plans and their characteristics, the hold of a received lot, and looking lots
up. Inspections are `inspections`, dispositions `dispositions`.

How a lot goes through quality:
1. stock of an item with an active plan is received into a lot: `hold_for_inspection` (it
   listens to inventory's `lots_received`) sets the lot `awaiting inspection`;
2. `inspections.inspection_task` says what to measure: the plan's characteristics on a
   sample whose size, acceptance and rejection numbers come from the lot size and the plan
   (ISO 2859-1 tables at the severity the supplier's record has earned, or a fixed size);
3. `inspections.inspect_lot` takes every measurement, refuses the inspection if one is
   missing, decides it (`rules.decide`), stores it, sets the lot `available` (accepted) or
   `quarantined`, and moves the supplier's switching state on (original inspections only);
4. a held lot is disposed of by the quality role (`dispositions.dispose`): released,
   reworked (inspected again), scrapped or returned to its supplier; the last two post the
   stock movement.

Inventory refuses to issue or transfer stock out of a lot that is not available, at every
door: the lot's status is the one place the hold lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.db.base import apply_changes, require_version
from engine.errors import NotFound, ValidationFailed
from engine.inventory.models import Item, Lot, StockBalance, StockMovement
from engine.problems import Problem
from engine.quality import rules
from engine.quality.models import (
    Characteristic,
    InspectionPlan,
)
from engine.security.roles import Actor

AREA = "quality"
PLAN_FIELDS = ("code", "item_id", "supplier_id", "sampling", "level", "aql", "sample_size", "accept_number",
               "switching", "active", "notes")
CHARACTERISTIC_FIELDS = ("plan_id", "name", "kind", "unit", "nominal", "lower_limit", "upper_limit", "defect_class")


# -- plans -------------------------------------------------------------------------------------

def add_plan(session: Session, actor: Actor, values: Mapping[str, Any],
             characteristics: Sequence[Mapping[str, Any]] = ()) -> InspectionPlan:
    """A plan for an item (and optionally one supplier), with its characteristics."""
    actor.require("write", AREA)
    row = rules.plan_defaults({k: values.get(k) for k in PLAN_FIELDS})
    problems = rules.check_plan(row) + check_plan_records(session, row)
    typed = [rules.characteristic_defaults({**{k: c.get(k) for k in CHARACTERISTIC_FIELDS}, "plan_id": -1})
             for c in characteristics]
    for n, c in enumerate(typed, 1):
        problems += [Problem(p.field, p.code, f"characteristic {n}: {p.message}") for p in rules.check_characteristic(c)]
    names = [c["name"] for c in typed if c.get("name")]
    if len(set(names)) != len(names):
        problems.append(Problem("name", "duplicate", "each characteristic of a plan has a name of its own"))
    if problems:
        raise ValidationFailed(problems)
    plan = InspectionPlan(**row, updated_by=actor.login)
    session.add(plan)
    session.flush()
    session.add_all([Characteristic(**{**c, "plan_id": plan.id}, updated_by=actor.login) for c in typed])
    session.flush()
    return plan


def update_plan(session: Session, actor: Actor, plan_id: int, expected_version: int | None,
                changes: Mapping[str, Any]) -> InspectionPlan:
    """Change a plan; what was decided by it before stays as it was decided."""
    actor.require("write", AREA)
    plan = session.get(InspectionPlan, plan_id)
    if plan is None:
        raise NotFound(f"there is no inspection plan #{plan_id}", "id")
    require_version(plan, expected_version, f"inspection plan {plan.code}")
    row = rules.plan_defaults({f: getattr(plan, f) for f in PLAN_FIELDS} | {k: v for k, v in changes.items()
                                                                            if k in PLAN_FIELDS})
    problems = rules.check_plan(row) + check_plan_records(session, {**row, "id": plan.id})
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, plan, {f: row.get(f) for f in (*PLAN_FIELDS, "supplier_key")}, actor.login)
    return plan


def add_characteristic(session: Session, actor: Actor, values: Mapping[str, Any]) -> Characteristic:
    actor.require("write", AREA)
    row = rules.characteristic_defaults({k: values.get(k) for k in CHARACTERISTIC_FIELDS})
    problems = rules.check_characteristic(row)
    if row.get("plan_id") and session.get(InspectionPlan, row["plan_id"]) is None:
        problems.append(Problem("plan_id", "reference", f"there is no inspection plan #{row['plan_id']}"))
    else:
        problems += _name_taken(session, row)
    if problems:
        raise ValidationFailed(problems)
    characteristic = Characteristic(**row, updated_by=actor.login)
    session.add(characteristic)
    session.flush()
    return characteristic


def update_characteristic(session: Session, actor: Actor, characteristic_id: int, expected_version: int | None,
                          changes: Mapping[str, Any]) -> Characteristic:
    """Change a characteristic (its limits, say); measurements taken before keep the
    decision they were given. It stays with its plan."""
    actor.require("write", AREA)
    found = session.get(Characteristic, characteristic_id)
    if found is None:
        raise NotFound(f"there is no characteristic #{characteristic_id}", "id")
    require_version(found, expected_version, f"characteristic {found.name}")
    row = rules.characteristic_defaults({f: getattr(found, f) for f in CHARACTERISTIC_FIELDS}
                                        | {k: v for k, v in changes.items() if k in CHARACTERISTIC_FIELDS})
    problems = rules.check_characteristic(row)
    if row.get("plan_id") != found.plan_id:
        problems.append(Problem("plan_id", "not_allowed", "a characteristic stays with its plan: add it to the "
                                                          "other plan instead"))
    elif row.get("name") != found.name:
        problems += _name_taken(session, row)
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, found, {f: row.get(f) for f in CHARACTERISTIC_FIELDS}, actor.login)
    return found


def _name_taken(session: Session, row: Mapping[str, Any]) -> list[Problem]:
    if row.get("plan_id") and row.get("name") in {c.name for c in characteristics_of(session, row["plan_id"])}:
        return [Problem("name", "duplicate", f"the plan has a characteristic {row['name']!r} already")]
    return []


def check_plan_records(session: Session, row: Mapping[str, Any]) -> list[Problem]:
    """What a plan needs of the database: a code of its own, an item tracked by lot
    (inspection and quarantine are per lot), a supplier on record, and no other plan for the
    same item and supplier."""
    problems = []
    item = session.get(Item, row["item_id"]) if row.get("item_id") else None
    if row.get("item_id") and item is None:
        problems.append(Problem("item_id", "reference", f"there is no item #{row['item_id']}"))
    elif item is not None and not item.lot_tracked:
        problems.append(Problem("item_id", "not_lot_tracked", f"item {item.sku} is not tracked by lot: lots are what "
                                                              "is inspected and held, so track it by lot first"))
    if row.get("code") and session.scalars(select(InspectionPlan.id).where(
            InspectionPlan.code == row["code"], InspectionPlan.id != (row.get("id") or 0))).first() is not None:
        problems.append(Problem("code", "duplicate", f"there is a plan {row['code']} already: give this one a "
                                                     "code of its own"))
    supplier = row.get("supplier_id")
    if supplier is not None and session.get(Contact, supplier) is None:
        problems.append(Problem("supplier_id", "reference", f"there is no contact #{supplier}"))
    if item is not None:
        other = session.scalars(select(InspectionPlan.code).where(
            InspectionPlan.item_id == item.id, InspectionPlan.supplier_key == (row.get("supplier_id") or 0),
            InspectionPlan.id != (row.get("id") or 0))).first()
        if other is not None:
            whose = "this supplier" if row.get("supplier_id") else "every supplier"
            problems.append(Problem("supplier_id", "duplicate", f"item {item.sku} has a plan for {whose} already: "
                                                                f"{other}"))
    return problems


def item_named(session: Session, sku: str) -> Item:
    item = session.scalars(select(Item).where(Item.sku == sku)).first()
    if item is None:
        raise NotFound(f"no item with SKU {sku!r}; `backoffice stock on-hand` lists the items", "item_id")
    return item


def plan_named(session: Session, code: str) -> InspectionPlan:
    plan = session.scalars(select(InspectionPlan).where(InspectionPlan.code == code)).first()
    if plan is None:
        raise NotFound(f"there is no inspection plan {code!r}; `backoffice quality plan list` shows them", "plan_id")
    return plan


def characteristics_of(session: Session, plan_id: int) -> list[Characteristic]:
    return list(session.scalars(select(Characteristic).where(Characteristic.plan_id == plan_id)
                                .order_by(Characteristic.id)))


# -- the hold on receipt -----------------------------------------------------------------------

def plan_for_lot(session: Session, lot: Lot, supplier_id: int | None) -> InspectionPlan | None:
    """The active plan of the lot's item for its supplier, else the item's general plan."""
    plans = {p.supplier_key: p for p in session.scalars(select(InspectionPlan).where(
        InspectionPlan.item_id == lot.item_id, InspectionPlan.active.is_(True)))}
    return plans.get(supplier_id or 0) or plans.get(0)


def hold_for_inspection(session: Session, lots: Sequence[tuple[int, int | None]]) -> None:
    """(Listens to inventory's `lots_received`.) Each received lot of an item with an active
    plan waits for inspection; a lot held already, or rejected, stays as it is."""
    planned = set(session.scalars(select(InspectionPlan.item_id).where(InspectionPlan.active.is_(True))))
    for lot_id, _supplier in lots:
        lot = session.get(Lot, lot_id)
        if lot is not None and lot.item_id in planned and lot.status == "available":
            lot.status = "awaiting inspection"
    session.flush()


def lot_supplier(session: Session, lot_id: int) -> int | None:
    """The supplier of a lot: the one its first receipt names."""
    return session.scalars(select(StockMovement.supplier_id).where(
        StockMovement.lot_id == lot_id, StockMovement.kind == "receipt", StockMovement.reverses_id.is_(None))
        .order_by(StockMovement.moved_on, StockMovement.id)).first()


def lot_on_hand(session: Session, lot_id: int) -> Decimal:
    return session.scalar(select(func.coalesce(func.sum(StockBalance.quantity), 0)).where(
        StockBalance.lot_key == lot_id)) or Decimal(0)


def find_lot(session: Session, lot_number: str, sku: str | None = None) -> Lot:
    """A lot by its number (and its item's SKU where two items have a lot of that number)."""
    query = select(Lot).join(Item, Item.id == Lot.item_id).where(Lot.lot_number == lot_number)
    if sku:
        query = query.where(Item.sku == sku)
    found = list(session.scalars(query))
    if not found:
        of = f" of {sku}" if sku else ""
        raise NotFound(f"there is no lot {lot_number!r}{of}; `backoffice quality lots` lists the lots held", "lot_id")
    if len(found) > 1:
        raise NotFound(f"{len(found)} items have a lot {lot_number!r}: give the item's SKU too", "lot_id")
    return found[0]
