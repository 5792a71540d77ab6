"""Quality's reads for the doors and the reports: each takes the acting user and checks they
may read quality. Rejection rates and first-pass yield count lots on their original
inspection (a lot inspected again after rework is not a second lot); process capability
reads a characteristic's measurements in the order they were taken.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from engine.contacts.models import Contact
from engine.errors import NotFound
from engine.formats import quantity_text
from engine.inventory.models import Item, Lot, StockMovement
from engine.quality import capability as spc
from engine.quality.inspections import Task
from engine.quality.models import (
    Action,
    Characteristic,
    Disposition,
    Inspection,
    InspectionPlan,
    Measurement,
    Nonconformance,
    SwitchingState,
)
from engine.quality.services import AREA, item_named, lot_on_hand, lot_supplier, plan_named
from engine.security.roles import Actor


def _read(actor: Actor) -> None:
    actor.require("read", AREA)


def plain(value: Decimal | None) -> Decimal | None:
    """A stored decimal as it was typed: 2.5 and 9.95, not 2.500 and 9.950000 (the column's
    places), and 500, not 5E+2."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


# -- plans and lots ----------------------------------------------------------------------------

def plans(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every plan, by code, as `quality plan list --json` prints it."""
    _read(actor)
    return _plan_rows(session)


def _plan_rows(session: Session, plan_id: int | None = None) -> list[dict[str, Any]]:
    supplier = aliased(Contact)
    query = (select(InspectionPlan, Item.sku, supplier.name).join(Item, Item.id == InspectionPlan.item_id)
             .outerjoin(supplier, supplier.id == InspectionPlan.supplier_id).order_by(InspectionPlan.code))
    counts = select(Characteristic.plan_id, func.count()).group_by(Characteristic.plan_id)
    if plan_id is not None:
        query, counts = query.where(InspectionPlan.id == plan_id), counts.where(Characteristic.plan_id == plan_id)
    counted = dict(session.execute(counts).all())
    return [{"id": p.id, "code": p.code, "sku": sku, "supplier": name, "sampling": p.sampling, "level": p.level,
             "aql": plain(p.aql), "sample_size": p.sample_size, "accept_number": p.accept_number, "switching": p.switching,
             "active": p.active, "characteristics": counted.get(p.id, 0)}
            for p, sku, name in session.execute(query)]


def plan_record(session: Session, actor: Actor, plan_id: int) -> dict[str, Any]:
    """One plan as a row of `plans` (what `quality plan add --json` prints)."""
    _read(actor)
    found = _plan_rows(session, plan_id)
    if not found:
        raise NotFound(f"there is no inspection plan #{plan_id}", "plan_id")
    return found[0]


def find_plan(session: Session, actor: Actor, code: str) -> InspectionPlan:
    """A plan by its code, for a reader of quality."""
    _read(actor)
    return plan_named(session, code.strip())


def find_item(session: Session, actor: Actor, sku: str) -> Item:
    """An item by its SKU, for a reader of quality (a plan or a capability names one so)."""
    _read(actor)
    return item_named(session, sku.strip())


def plan(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """One plan in full: its row of `plans`, its version (an ETag), its item, supplier and notes,
    and each characteristic with its id (the id or the name is what an inspection names)."""
    found = find_plan(session, actor, code)
    characteristics = session.scalars(select(Characteristic).where(Characteristic.plan_id == found.id)
                                      .order_by(Characteristic.id))
    return {**_plan_rows(session, found.id)[0], "version": found.version, "item_id": found.item_id,
            "supplier_id": found.supplier_id, "notes": found.notes,
            "characteristics": [{"id": c.id, **characteristic_record(c)} for c in characteristics]}


def characteristic_record(c: Characteristic) -> dict[str, Any]:
    """A characteristic as an inspection task lists it: what is checked and its limits."""
    return {"name": c.name, "kind": c.kind, "unit": c.unit, "nominal": plain(c.nominal),
            "lower_limit": plain(c.lower_limit), "upper_limit": plain(c.upper_limit), "defect_class": c.defect_class}


def task_record(task: Task) -> dict[str, Any]:
    """What an inspection of a lot takes (`quality inspect LOT --json` without measurements):
    the lot, the plan, the sample's size, code letter, Ac and Re, and the characteristics."""
    return {"lot": task.lot.lot_number, "lot_id": task.lot.id, "status": task.lot.status, "plan": task.plan.code,
            "lot_size": quantity_text(task.lot_size), "severity": task.severity, "code_letter": task.code_letter,
            "sample_size": task.sample_size, "accept": task.accept, "reject": task.reject,
            "characteristics": [characteristic_record(c) for c in task.characteristics]}


def inspection_record(task: Task, inspection: Inspection) -> dict[str, Any]:
    """An inspection as decided (`quality inspect LOT --measure ... --json`): the task it was
    done by (read before it), the decision, and the lot's status after it."""
    return {**task_record(task), "inspection_id": inspection.id, "nonconforming": inspection.nonconforming,
            "critical": inspection.critical, "accepted": inspection.accepted, "status": task.lot.status}


def disposition_record(session: Session, disposition: Disposition) -> dict[str, Any]:
    """A disposition as `quality disposition --json` prints it, with its lot's status after it."""
    lot = session.get(Lot, disposition.lot_id)
    return {"id": disposition.id, "lot": lot.lot_number, "decision": disposition.decision,
            "reason": disposition.reason, "status_before": disposition.status_before, "status": lot.status,
            "quantity": quantity_text(disposition.quantity), "decided_on": disposition.decided_on}


def resume_record(plan_code: str, supplier_id: int | None, state: SwitchingState) -> dict[str, Any]:
    """Inspection resumed (`quality resume --json`): the plan, the supplier, the severity now."""
    return {"plan": plan_code, "supplier_id": supplier_id, "severity": state.severity}


def held_lots(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Lots awaiting inspection or quarantined, longest held first, with what they hold and
    since when: the day of what put them there (the receipt, the inspection that rejected
    them, or the disposition that sent them back to inspection)."""
    _read(actor)
    query = (select(Lot, Item.sku).join(Item, Item.id == Lot.item_id)
             .where(Lot.status.in_(("awaiting inspection", "quarantined"))))
    rows = []
    for lot, sku in session.execute(query):
        events = [session.scalar(select(func.min(StockMovement.moved_on)).where(
                      StockMovement.lot_id == lot.id, StockMovement.kind == "receipt")),
                  session.scalar(select(func.max(Inspection.inspected_on)).where(Inspection.lot_id == lot.id)),
                  session.scalar(select(func.max(Disposition.decided_on)).where(Disposition.lot_id == lot.id))]
        since = max((d for d in events if d is not None), default=None)
        rows.append({"lot_id": lot.id, "lot": lot.lot_number, "sku": sku, "status": lot.status,
                     "on_hand": plain(lot_on_hand(session, lot.id)), "supplier_id": lot_supplier(session, lot.id),
                     "since": since.isoformat() if since else None})
    return sorted(rows, key=lambda r: (r["since"] or "", r["lot_id"]))


# -- rates -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    """Lots inspected (original inspections) and how they went, for one item or supplier."""

    key: str
    inspected: int
    rejected: int
    accepted_first_time: int

    @property
    def rejection_rate(self) -> Decimal:
        return (Decimal(self.rejected) / self.inspected).quantize(Decimal("0.0001")) if self.inspected else Decimal(0)

    @property
    def first_pass_yield(self) -> Decimal:
        return (Decimal(self.accepted_first_time) / self.inspected).quantize(Decimal("0.0001")) \
            if self.inspected else Decimal(0)


def rates(session: Session, actor: Actor, by: str = "supplier", since: date | None = None,
          until: date | None = None) -> list[Rate]:
    """Rejection rate and first-pass yield per supplier (or per item: `by="item"`)."""
    _read(actor)
    if by not in ("supplier", "item"):
        raise NotFound(f"rates are by supplier or by item, not {by!r}", "by")
    key = (func.coalesce(Contact.name, "(no supplier)") if by == "supplier" else Item.sku).label("key")
    query = (select(key, func.count(), func.sum(case((Inspection.accepted.is_(False), 1), else_=0)),
                    func.sum(case((Inspection.accepted.is_(True), 1), else_=0)))
             .select_from(Inspection).join(Lot, Lot.id == Inspection.lot_id).join(Item, Item.id == Lot.item_id)
             .outerjoin(Contact, Contact.id == Inspection.supplier_id)
             .where(Inspection.original.is_(True)).group_by(Contact.id if by == "supplier" else Item.id, key)
             .order_by(key))
    if since:
        query = query.where(Inspection.inspected_on >= since)
    if until:
        query = query.where(Inspection.inspected_on <= until)
    return [Rate(k, n, int(rejected or 0), int(accepted or 0)) for k, n, rejected, accepted in session.execute(query)]


def rate_record(rate: Rate, by: str = "supplier") -> dict[str, Any]:
    """A row of `quality rates --json`: the supplier's name (or the item's SKU, `by="item"`),
    lots inspected and rejected, the rejection rate and the first-pass yield."""
    return {by: rate.key, "inspected": rate.inspected, "rejected": rate.rejected,
            "rejection_rate": rate.rejection_rate, "first_pass_yield": rate.first_pass_yield}


# -- nonconformances ---------------------------------------------------------------------------

AGE_BANDS = ((30, "0-30 days"), (60, "31-60 days"), (90, "61-90 days"), (None, "over 90 days"))


def ncrs(session: Session, actor: Actor, status: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    _read(actor)
    query = select(Nonconformance).order_by(Nonconformance.opened_on, Nonconformance.id)
    if status:
        query = query.where(Nonconformance.status == status)
    if open_only:
        query = query.where(Nonconformance.status != "closed")
    found = list(session.scalars(query))
    return [ncr_record(n, names=names) for n, names in zip(found, _names(session, found), strict=True)]


def _names(session: Session, found: Sequence[Nonconformance]) -> list[dict[str, str | None]]:
    """What each nonconformance is about, by name: the lot's number, the item's SKU, the
    supplier's and the customer's names (read in three queries for the whole list)."""
    lots = dict(session.execute(select(Lot.id, Lot.lot_number).where(
        Lot.id.in_({n.lot_id for n in found if n.lot_id}))).all())
    skus = dict(session.execute(select(Item.id, Item.sku).where(Item.id.in_({n.item_id for n in found if n.item_id}))).all())
    people = dict(session.execute(select(Contact.id, Contact.name).where(
        Contact.id.in_({c for n in found for c in (n.supplier_id, n.customer_id) if c}))).all())
    return [{"lot": lots.get(n.lot_id), "sku": skus.get(n.item_id), "supplier": people.get(n.supplier_id),
             "customer": people.get(n.customer_id)} for n in found]


def ncr(session: Session, actor: Actor, ncr_id: int) -> dict[str, Any]:
    """One nonconformance with its actions."""
    _read(actor)
    found = session.get(Nonconformance, ncr_id)
    if found is None:
        raise NotFound(f"there is no nonconformance #{ncr_id}; `backoffice quality ncr list` shows them", "ncr_id")
    actions = session.scalars(select(Action).where(Action.ncr_id == ncr_id).order_by(Action.id))
    return ncr_record(found, list(actions), _names(session, [found])[0])


def ncr_record(ncr: Nonconformance, actions: Sequence[Action] | None = None,
               names: dict[str, str | None] | None = None) -> dict[str, Any]:
    record = {f: getattr(ncr, f) for f in ("id", "version", "title", "description", "severity", "status",
                                           "opened_on", "owner", "lot_id", "item_id", "supplier_id", "customer_id",
                                           "containment", "root_cause_method", "cause_category", "root_cause",
                                           "verifier", "closed_on")}
    record |= names or {}
    if actions is not None:
        record["actions"] = [{f: getattr(a, f) for f in ("id", "kind", "description", "owner", "due_on", "status",
                                                         "done_on")} for a in actions]
    return record


def action_record(action: Action) -> dict[str, Any]:
    """An action as added (`quality ncr action --json`)."""
    return {"id": action.id, "ncr_id": action.ncr_id, "kind": action.kind, "description": action.description,
            "owner": action.owner, "due_on": action.due_on, "status": action.status}


def action_done_record(action: Action) -> dict[str, Any]:
    """An action marked done (`quality ncr done --json`)."""
    return {"id": action.id, "ncr_id": action.ncr_id, "status": action.status, "done_on": action.done_on}


def open_ncrs_by_age(session: Session, actor: Actor, as_of: date) -> dict[str, list[dict[str, Any]]]:
    """Nonconformances open on `as_of` (opened by then, not closed by then), grouped by how
    long they had been open that day."""
    _read(actor)
    query = (select(Nonconformance).where(Nonconformance.opened_on <= as_of,
                                          Nonconformance.closed_on.is_(None) | (Nonconformance.closed_on > as_of))
             .order_by(Nonconformance.opened_on, Nonconformance.id))
    found = list(session.scalars(query))
    bands: dict[str, list[dict[str, Any]]] = {label: [] for _, label in AGE_BANDS}
    for ncr in [ncr_record(n, names=names) for n, names in zip(found, _names(session, found), strict=True)]:
        age = (as_of - ncr["opened_on"]).days
        label = next(label for limit, label in AGE_BANDS if limit is None or age <= limit)
        bands[label].append({**ncr, "age_days": age})
    return bands


def overdue_actions(session: Session, actor: Actor, as_of: date) -> list[dict[str, Any]]:
    """Actions open on `as_of` (not done by then) and past their due date, the most overdue
    first."""
    _read(actor)
    still_open = (Action.status == "open") | (Action.done_on > as_of)
    query = (select(Action, Nonconformance.title).join(Nonconformance, Nonconformance.id == Action.ncr_id)
             .where(still_open, Action.due_on < as_of).order_by(Action.due_on, Action.id))
    return [{"id": a.id, "ncr_id": a.ncr_id, "ncr": title, "kind": a.kind, "description": a.description,
             "owner": a.owner, "due_on": a.due_on, "days_overdue": (as_of - a.due_on).days}
            for a, title in session.execute(query)]


# -- process capability ------------------------------------------------------------------------

@dataclass(frozen=True)
class CharacteristicCapability:
    sku: str
    characteristic: str
    unit: str | None
    supplier: str | None
    limits: spc.Limits
    capability: spc.Capability
    chart: spc.ControlChart


def capability(session: Session, actor: Actor, sku: str, characteristic: str | None = None,
               supplier_id: int | None = None, plan: str | None = None, since: date | None = None,
               until: date | None = None) -> list[CharacteristicCapability]:
    """Cp, Cpk and a control chart for each measured characteristic of an item's plans (or
    the one named), from the measurements of its inspections in the order taken: X-bar/R
    with each inspection a subgroup when every sample has the same size of 2 to 10,
    individuals otherwise. With `supplier_id`, that supplier's lots only; with `plan` (its
    code), that plan's characteristics only; with `since`/`until`, the inspections of those
    days only (both included)."""
    _read(actor)
    item = session.scalars(select(Item).where(Item.sku == sku)).first()
    if item is None:
        raise NotFound(f"no item with SKU {sku!r}", "item_id")
    query = (select(Characteristic, InspectionPlan.supplier_id).join(InspectionPlan,
                                                                     InspectionPlan.id == Characteristic.plan_id)
             .where(InspectionPlan.item_id == item.id, Characteristic.kind == "measured")
             .order_by(InspectionPlan.code, Characteristic.id))
    if characteristic:
        query = query.where(Characteristic.name == characteristic)
    if plan:
        query = query.where(InspectionPlan.code == plan)
    found = []
    for c, _plan_supplier in session.execute(query):
        values = (select(Measurement.inspection_id, Measurement.value).join(Inspection,
                                                                              Inspection.id == Measurement.inspection_id)
                  .where(Measurement.characteristic_id == c.id, Measurement.value.is_not(None),
                         Inspection.original.is_(True))   # a reworked lot's parts are another process
                  .order_by(Inspection.inspected_on, Inspection.id, Measurement.sample_number))
        if supplier_id is not None:
            values = values.where(Inspection.supplier_id == supplier_id)
        if since is not None:
            values = values.where(Inspection.inspected_on >= since)
        if until is not None:
            values = values.where(Inspection.inspected_on <= until)
        groups: dict[int, list[Decimal]] = defaultdict(list)
        for inspection, value in session.execute(values):
            groups[inspection].append(value)
        subgroups = list(groups.values())
        sizes = {len(g) for g in subgroups}
        if not (len(sizes) == 1 and 2 <= next(iter(sizes)) <= 10 and len(subgroups) >= 2):
            subgroups = [[v] for g in subgroups for v in g]
        if sum(len(g) for g in subgroups) < 2:
            continue
        limits = spc.Limits(c.lower_limit, c.upper_limit)
        supplier = session.get(Contact, supplier_id).name if supplier_id and session.get(Contact, supplier_id) else None
        found.append(CharacteristicCapability(sku, c.name, c.unit, supplier, limits,
                                              spc.capability(subgroups, limits), spc.control_chart(subgroups)))
    if characteristic and not found:
        raise NotFound(f"item {sku} has no measured characteristic {characteristic!r} with measurements",
                       "characteristic")
    return found


@dataclass(frozen=True)
class Measured:
    """A measured characteristic of a plan and how many values were measured of it."""

    sku: str
    plan: str
    characteristic: str
    unit: str | None
    measurements: int


def most_measured(session: Session, actor: Actor, since: date, until: date) -> Measured | None:
    """The measured characteristic with the most values measured on original inspections
    between `since` and `until` (both included): the process a report charts. Ties go to the
    plan and characteristic first by code and name; None if nothing was measured."""
    _read(actor)
    count = func.count(Measurement.id)
    query = (select(Item.sku, InspectionPlan.code, Characteristic.name, Characteristic.unit, count)
             .select_from(Measurement).join(Characteristic, Characteristic.id == Measurement.characteristic_id)
             .join(InspectionPlan, InspectionPlan.id == Characteristic.plan_id).join(Item, Item.id == InspectionPlan.item_id)
             .join(Inspection, Inspection.id == Measurement.inspection_id)
             .where(Characteristic.kind == "measured", Measurement.value.is_not(None), Inspection.original.is_(True),
                    Inspection.inspected_on >= since, Inspection.inspected_on <= until)
             .group_by(Characteristic.id, Item.sku, InspectionPlan.code, Characteristic.name, Characteristic.unit)
             .order_by(count.desc(), InspectionPlan.code, Characteristic.name).limit(1))
    found = session.execute(query).first()
    return Measured(*found) if found else None


THREE = Decimal("0.001")


def _three(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(THREE))


def capability_record(found: CharacteristicCapability) -> dict[str, Any]:
    """A characteristic's capability as `quality capability --json` prints it: Cp, Cpk, Pp,
    Ppk, mean and sigmas to 3 places, and the control chart's points out of control."""
    c, chart = found.capability, found.chart
    return {"sku": found.sku, "characteristic": found.characteristic, "unit": found.unit, "supplier": found.supplier,
            "lower_limit": found.limits.lower, "upper_limit": found.limits.upper, "count": c.count,
            "mean": _three(c.mean), "sigma_within": _three(c.sigma_within), "sigma_overall": _three(c.sigma_overall),
            "cp": _three(c.cp), "cpk": _three(c.cpk), "pp": _three(c.pp), "ppk": _three(c.ppk),
            "chart": {"kind": chart.kind, "centre": _three(chart.centre), "lower": _three(chart.lower),
                      "upper": _three(chart.upper),
                      "out_of_control": [{"point": p.index, "value": _three(p.value), "rules": list(p.rules)}
                                         for p in chart.out_of_control]}}


def supplier_quality(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Per supplier: lots inspected, rejected, the rejection rate, open nonconformances, and
    the lowest Cpk of the measured characteristics of its lots (the one to worry about)."""
    _read(actor)
    per_supplier = {r.key: r for r in rates(session, actor, by="supplier")}
    open_ncrs = dict(session.execute(
        select(Contact.name, func.count()).join(Nonconformance, Nonconformance.supplier_id == Contact.id)
        .where(Nonconformance.status != "closed").group_by(Contact.name)).all())
    suppliers = dict(session.execute(select(Contact.name, Contact.id).join(
        Inspection, Inspection.supplier_id == Contact.id).distinct()).all())
    items = {}
    for name, supplier_id in suppliers.items():
        skus = session.scalars(select(Item.sku).join(Lot, Lot.item_id == Item.id).join(
            Inspection, Inspection.lot_id == Lot.id).where(Inspection.supplier_id == supplier_id).distinct())
        items[name] = (supplier_id, sorted(skus))
    rows = []
    for name in sorted(set(per_supplier) | set(open_ncrs)):
        rate = per_supplier.get(name)
        lowest = None
        supplier_id, skus = items.get(name, (None, []))
        for sku in skus:
            for found in capability(session, actor, sku, supplier_id=supplier_id):
                cpk = found.capability.cpk
                if cpk is not None and (lowest is None or cpk < lowest):
                    lowest = cpk
        rows.append({"supplier": name, "inspected": rate.inspected if rate else 0,
                     "rejected": rate.rejected if rate else 0,
                     "rejection_rate": rate.rejection_rate if rate else Decimal(0),
                     "open_ncrs": open_ncrs.get(name, 0), "lowest_cpk": lowest})
    return rows
