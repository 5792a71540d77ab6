"""An inspection certificate: what was found when a lot was inspected and what was decided,
read back from the inspection as it was stored (the sample size, Ac and Re it was decided
by, every measurement), so a plan changed since does not rewrite it.

A certificate speaks of a decision: a lot never inspected, one reworked and waiting to be
inspected again, or one rejected and waiting in quarantine for its disposition has none, and
is refused (`rules.check_certifiable`). A lot is named by its number; where lots of two
items share the number, as `SKU/LOT`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import NotFound, ValidationFailed
from engine.inventory.models import Item, Lot
from engine.quality import rules
from engine.quality.models import (
    Characteristic,
    Disposition,
    Inspection,
    InspectionPlan,
    Measurement,
)
from engine.quality.queries import plain
from engine.quality.services import AREA, lot_supplier
from engine.security.roles import Actor


@dataclass(frozen=True)
class Result:
    """One characteristic as inspected: its specification and what the sample showed."""

    name: str
    kind: str                       # measured or attribute
    unit: str | None
    nominal: Decimal | None
    lower_limit: Decimal | None
    upper_limit: Decimal | None
    defect_class: str
    checked: int                    # sample units checked
    nonconforming: int
    lowest: Decimal | None          # measured: the smallest and largest value and the mean
    highest: Decimal | None
    mean: Decimal | None
    values: dict[int, Decimal | bool | None]   # sample number -> value (measured) or passed (attribute)


@dataclass(frozen=True)
class Certificate:
    sku: str
    item: str
    unit: str
    lot: str
    supplier: str | None
    plan: str
    sampling: str                   # "standard: level II, AQL 1.0" or "fixed"
    severity: str
    code_letter: str | None
    lot_size: Decimal
    sample_size: int
    accept_number: int
    reject_number: int
    nonconforming: int
    critical: int
    accepted: bool
    inspector: str
    inspected_on: date
    results: list[Result]
    disposition: Disposition | None     # what was decided for a lot the inspection rejected
    earlier: list[Inspection]           # inspections before this one (a reworked lot's first)


def lot_named(session: Session, text: str) -> Lot:
    """The lot `text` names: its number, or `SKU/LOT` where two items have lots of that number."""
    found = list(session.scalars(select(Lot).where(Lot.lot_number == text)))
    if len(found) != 1 and "/" in text:
        sku, number = text.split("/", 1)
        found = list(session.scalars(select(Lot).join(Item, Item.id == Lot.item_id)
                                     .where(Item.sku == sku.strip(), Lot.lot_number == number.strip())))
    if not found:
        raise NotFound(f"there is no lot {text!r}; write its lot number (SKU/LOT where two items have lots of "
                       "that number)", field="lot")
    if len(found) > 1:
        skus = sorted(session.scalars(select(Item.sku).where(Item.id.in_([lot.item_id for lot in found]))))
        raise NotFound(f"{len(found)} items have a lot {text!r} ({', '.join(skus[:5])}"
                       f"{', ...' if len(skus) > 5 else ''}): write it as SKU/LOT, e.g. {skus[0]}/{text}", field="lot")
    return found[0]


def certificate(session: Session, actor: Actor, lot_text: str) -> Certificate:
    """The certificate of the lot `lot_text` names, from its last inspection; refused (field
    `lot`) for an unknown lot, or one whose inspection has not been decided."""
    actor.require("read", AREA)
    lot = lot_named(session, lot_text.strip())
    item = session.get(Item, lot.item_id)
    inspections = list(session.scalars(select(Inspection).where(Inspection.lot_id == lot.id)
                                       .order_by(Inspection.inspected_on, Inspection.id)))
    last = inspections[-1] if inspections else None
    disposition = None
    if last is not None and not last.accepted:
        disposition = session.scalars(select(Disposition).where(
            Disposition.lot_id == lot.id, Disposition.decided_on >= last.inspected_on)
            .order_by(Disposition.decided_on.desc(), Disposition.id.desc())).first()
    problems = rules.check_certifiable(f"{item.sku}/{lot.lot_number}", lot.status,
                                       last.inspected_on if last else None,
                                       None if last is None else last.accepted,
                                       disposition.decision if disposition else None)
    if problems:
        raise ValidationFailed(problems)
    plan = session.get(InspectionPlan, last.plan_id)
    supplier_id = last.supplier_id or lot_supplier(session, lot.id)
    supplier = session.scalar(select(Contact.name).where(Contact.id == supplier_id)) if supplier_id else None
    sampling = (f"standard (ISO 2859-1), level {plan.level}, AQL {plain(plan.aql)}" if plan.sampling == "standard"
                else "fixed sample")
    return Certificate(item.sku, item.name, item.unit, lot.lot_number, supplier, plan.code, sampling, last.severity,
                       last.code_letter, plain(last.lot_size), last.sample_size, last.accept_number,
                       last.reject_number, last.nonconforming, last.critical, last.accepted, last.inspector,
                       last.inspected_on, results(session, last), disposition, inspections[:-1])


def results(session: Session, inspection: Inspection) -> list[Result]:
    """Each characteristic the inspection checked, in the plan's order, with every value."""
    rows = session.execute(select(Characteristic, Measurement).join(
        Measurement, Measurement.characteristic_id == Characteristic.id)
        .where(Measurement.inspection_id == inspection.id).order_by(Characteristic.id, Measurement.sample_number))
    found: dict[int, tuple[Characteristic, list[Measurement]]] = {}
    by_characteristic: dict[int, list[Measurement]] = defaultdict(list)
    for characteristic, measurement in rows:
        found.setdefault(characteristic.id, (characteristic, by_characteristic[characteristic.id]))
        by_characteristic[characteristic.id].append(measurement)
    made = []
    for characteristic, measured in found.values():
        numbers = [plain(m.value) for m in measured if m.value is not None]
        made.append(Result(
            characteristic.name, characteristic.kind, characteristic.unit, plain(characteristic.nominal),
            plain(characteristic.lower_limit), plain(characteristic.upper_limit), characteristic.defect_class,
            len(measured), sum(1 for m in measured if not m.conforms),
            min(numbers) if numbers else None, max(numbers) if numbers else None,
            sum(numbers, Decimal(0)) / len(numbers) if numbers else None,
            {m.sample_number: plain(m.value) if characteristic.kind == "measured" else m.passed for m in measured}))
    return made

