"""Sample quality records for the demo: inspection plans for the items tracked by lot (about a
quarter of the items), a year of inspections of the lots received, the rejected lots disposed
of, and nonconformance reports with their corrective and preventive actions.

Quality works inside the inventory demo's year, as it does in production: an item's plan
exists before its first delivery, and each lot waits for its inspection before any of it is
issued. The year announces two demo hooks (`engine.inventory.hooks`) and the bridge
`demo_inspections` (declared in `engine/quality/__init__.py`) listens: `plan_inspections`
adds the plans before the first delivery, `inspect_the_day` inspects the lots waiting and
disposes of the rejected ones on the lab's days. The demo step `seed_quality`, once the year
is posted, opens the nonconformances and counts what was made.

What the records show: about one lot in twenty rejected (sample units out of their limits,
or failing a pass/fail check), most of them returned, scrapped, reworked and inspected again
or released with a reason; from mid-year one supplier's bar diameter drifts upward (`DRIFT`),
so its control chart breaks the Western Electric rules in the later months, its Cpk falls
below 1 and its last rejected lot waits in quarantine for its corrective action, while another
supplier's tube stays well inside its limits (Cpk above 1.33); the lots delivered in the last
days still wait for inspection; and several nonconformances are open with actions overdue.

Everything goes through the services as the demo's quality officer (`quinn`); the stock is
received as the inventory demo posts it. The measurements are drawn from normal
distributions around the nominal (`random.Random(f"quality-{SEED}")`), so every run builds
the same records.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.demo import SEED, DemoSummary
from engine.inventory.demo import END
from engine.inventory.models import Item, Lot, StockMovement
from engine.quality import dispositions, inspections, services
from engine.quality.models import Action, Disposition, Inspection, InspectionPlan, Nonconformance
from engine.quality.ncr import add_action, add_ncr, advance_ncr, update_action
from engine.quality.rules import Found
from engine.security.models import User
from engine.security.roles import Actor
from engine.security.users import resolve_actor

INSPECTOR = "quinn"
KEY = "quality demo"        # where the year's quality keeps its state: session.info[KEY]
BAD_LOTS = 0.04             # lots a supplier delivers with a defect the sample finds
# The two items measured on fixed samples of 5 for X-bar/R charts: their preferred suppliers'
# processes, one only just capable (its limits 3 sigma from the nominal: Cp 1) and drifting
# upward from DRIFT_FROM, by DRIFT_SIGMAS at END; the other very capable (6 sigma: Cp 2).
DRIFT = ("STR-32", "Diameter")
STEADY = ("SST-40X2", "Outside diameter")
SPREAD = {DRIFT: 3, STEADY: 6}   # the others: 5 sigma, Cp 1.67
DRIFT_FROM = date(2026, 6, 1)
DRIFT_SIGMAS = Decimal(3)
HOLD_FROM = date(2026, 10, 15)   # the drifting supplier's lots rejected from then on wait in quarantine
LAB_DAYS = (1, 3)                # the lab inspects on Tuesdays and Thursdays


@dataclass(frozen=True)
class Spec:
    """A characteristic as planned, and how the supplier's process spreads it (sigma)."""

    name: str
    kind: str = "measured"
    unit: str | None = None
    nominal: Decimal | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None
    defect_class: str = "major"
    places: int = 2
    spread: int = 5          # how many sigmas the nearer limit is from the nominal (see SPREAD)

    @property
    def sigma(self) -> Decimal:
        gaps = [abs(limit - self.nominal) for limit in (self.lower, self.upper) if limit is not None]
        return min(gaps) / self.spread


def _d(value: float | str) -> Decimal:
    return Decimal(str(value))


def _measured(name: str, unit: str | None, nominal, tolerance, places: int = 2) -> Spec:
    nominal, tolerance = _d(nominal), _d(tolerance)
    return Spec(name, "measured", unit, nominal, nominal - tolerance, nominal + tolerance, "major", places)


def _one_sided(name: str, unit: str, nominal, lower=None, upper=None, places: int = 2) -> Spec:
    return Spec(name, "measured", unit, _d(nominal), None if lower is None else _d(lower),
                None if upper is None else _d(upper), "major", places)


def _check(name: str, defect_class: str = "major") -> Spec:
    return Spec(name, "attribute", defect_class=defect_class)


SEALED = _check("Container sealed and labelled")


def _specs(prefix: str, name: str) -> tuple[str, list[Spec]]:
    """(AQL, characteristics) of an item's plan, from its family and the sizes in its name."""
    sizes = [Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", name)]
    first = sizes[0] if sizes else Decimal(0)
    match prefix:
        case "STF":
            return "1.0", [_measured("Thickness", "mm", sizes[1], "0.3" if sizes[1] <= 5 else "0.5"),
                           _measured("Width", "mm", first, "0.5" if first <= 40 else "0.8"),
                           _check("Surface free of cracks and laps", "critical")]
        case "STR":
            return "1.0", [_measured("Diameter", "mm", first, "0.1" if first <= 20 else "0.15", 3),
                           _check("Mill certificate matches the heat")]
        case "ALS":
            return "2.5", [_measured("Thickness", "mm", first, "0.05" if first <= 2 else "0.08", 3),
                           _check("Surface free of scratches", "minor")]
        case "ALP":
            return "2.5", [_measured("Width", "mm", first, "0.15", 3), _check("Anodising free of scratches", "minor")]
        case "CUW":
            return "2.5", [_measured("Conductor diameter", "mm", first, "0.006" if first < 1 else "0.012", 4),
                           _check("Enamel free of pinholes", "critical")]
        case "PPG":
            return "2.5", [_measured("Melt flow index", "g/10 min", 12, 2, 1),
                           _one_sided("Moisture", "%", "0.04", upper="0.10", places=3),
                           _check("Free of contamination", "critical")]
        case "SST":
            return "1.0", [_measured("Outside diameter", "mm", first, "0.1" if first <= 25 else "0.15", 3),
                           _measured("Wall thickness", "mm", sizes[1], sizes[1] / 10, 3)]
        case "ADH":
            return "2.5", [_measured("Viscosity", "Pa·s", 30, 5, 1), _one_sided("Lap shear strength", "MPa", 22, lower=18),
                           SEALED]
        case "PWC":
            return "2.5", [_one_sided("Colour difference", "ΔE", "0.4", upper="1.0"), _measured("Gloss 60°", "GU", 80, 10, 0),
                           _check("Colour matches the RAL card")]
        case "GRS":
            return "4.0", [_measured("Worked penetration", "0.1 mm", 280, 15, 0), SEALED]
        case "OIL":
            return "4.0", [_measured("Density at 15 °C", "g/ml", "0.88", "0.02", 3), SEALED]
        case "SIL":
            return "4.0", [_measured("Skin time", "min", 15, 5, 0), _check("Cartridge and nozzle undamaged", "minor")]
        case "DGR":
            return "4.0", [_measured("pH", None, 11, 1, 1), SEALED]
        case "TLK":
            low = 30 if "high" in name else 20
            return "2.5", [_one_sided("Breakaway torque", "N·m", low + 7, lower=low, places=1),
                           _check("Tamper seal intact", "critical")]
    raise ValueError(f"the demo has no inspection plan for items {prefix}-...")


# -- the year: plans before the first delivery, then each day's inspections --------------------

def plan_inspections(session: Session, items: list[Item]) -> None:
    """(Listens to the demo's `demo_year_starting`.) A plan for every item tracked by lot."""
    if session.scalar(select(User.id).where(User.login == INSPECTOR)) is None:
        return   # the demo without its users: no quality officer to act
    session.info[KEY] = _Year(session, resolve_actor(session, INSPECTOR), items)


def inspect_the_day(session: Session, day: date, post_queued: Callable[[], None]) -> None:
    """(Listens to the demo's `demo_day_starting`.) On the lab's days, the lots received since
    its last day are inspected and the rejected lots decided on."""
    year = session.info.get(KEY)
    if year is not None and day.weekday() in LAB_DAYS:
        post_queued()
        year.day(day)


@dataclass
class _Lot:
    """What the demo decided of a lot: whether the supplier's lot is defective, and once
    rejected, when and what its disposition is."""

    item: Item
    bad: bool
    failed: Spec | None = None        # the characteristic a bad lot fails on
    rejected_on: date | None = None
    decision: str | None = None


@dataclass
class _Year:
    session: Session
    actor: Actor
    items: list[Item]
    rng: random.Random = field(default_factory=lambda: random.Random(f"quality-{SEED}"))
    plans: dict[int, tuple[InspectionPlan, dict[int, Spec]]] = field(default_factory=dict)   # item id ->
    lots: dict[int, _Lot] = field(default_factory=dict)
    drifting: int | None = None      # the supplier whose DRIFT characteristic drifts

    def __post_init__(self) -> None:
        self.by_id = {item.id: item for item in self.items}
        for item in (i for i in self.items if i.lot_tracked):
            prefix = item.sku.split("-")[0]
            aql, specs = _specs(prefix, item.name)
            specs = [replace(s, spread=SPREAD.get((item.sku, s.name), s.spread)) for s in specs]
            fixed = item.sku in (DRIFT[0], STEADY[0])
            values = {"code": f"QP-{item.sku}", "item_id": item.id, "sampling": "fixed" if fixed else "standard",
                      "level": "II", "aql": None if fixed else Decimal(aql), "sample_size": 5 if fixed else None,
                      "accept_number": 0 if fixed else None,
                      "notes": "X-bar/R charted: five bars of every lot measured" if fixed else None}
            plan = services.add_plan(self.session, self.actor, values, [
                {"name": s.name, "kind": s.kind, "unit": s.unit, "nominal": s.nominal, "lower_limit": s.lower,
                 "upper_limit": s.upper, "defect_class": s.defect_class} for s in specs])
            by_id = {c.id: next(s for s in specs if s.name == c.name)
                     for c in services.characteristics_of(self.session, plan.id)}
            self.plans[item.id] = (plan, by_id)
            if item.sku == DRIFT[0]:
                self.drifting = item.preferred_supplier_id

    def day(self, day: date) -> None:
        held = self.session.execute(select(Lot.id, Lot.item_id).where(Lot.status == "awaiting inspection")
                                    .order_by(Lot.id)).all()
        for lot_id, item_id in held:
            if lot_id not in self.lots:
                self.lots[lot_id] = _Lot(self.by_id[item_id], bad=self.rng.random() < BAD_LOTS)
            self._inspect(lot_id, day)
        self._dispose(day)

    def _inspect(self, lot_id: int, day: date) -> None:
        lot = self.lots[lot_id]
        task = inspections.inspection_task(self.session, self.actor, lot_id)
        _, specs = self.plans[lot.item.id]
        shift = self._drift(lot.item, task.supplier_id, day) if task.original else Decimal(0)   # sorted
        found = [Found(n, c.id, **self._value(specs[c.id], shift if c.name == DRIFT[1] else Decimal(0)))
                 for n in range(1, task.sample_size + 1) for c in task.characteristics]
        if lot.bad and task.original:
            found = self._defective(lot, found, task, specs)
        inspection = inspections.inspect_lot(self.session, self.actor, lot_id, found, day)
        if not inspection.accepted:
            lot.rejected_on = day
            lot.decision = self._decision(lot, task, day)

    def _drift(self, item: Item, supplier: int | None, day: date) -> Decimal:
        """How far the drifting supplier's mean has moved by `day`, in sigmas."""
        if item.sku != DRIFT[0] or supplier != self.drifting or day < DRIFT_FROM:
            return Decimal(0)
        return DRIFT_SIGMAS * (day - DRIFT_FROM).days / (END - DRIFT_FROM).days

    def _value(self, spec: Spec, shift: Decimal) -> dict[str, Any]:
        if spec.kind == "attribute":
            return {"passed": True}
        value = spec.nominal + spec.sigma * (shift + _d(round(self.rng.gauss(0, 1), 4)))
        return {"value": max(value, Decimal(0)).quantize(Decimal(1).scaleb(-spec.places))}

    def _defective(self, lot: _Lot, found: list[Found], task: inspections.Task, specs: dict[int, Spec]) -> list[Found]:
        """A bad lot: one characteristic fails on enough sample units to reject it."""
        characteristic = self.rng.choice(task.characteristics)
        spec = lot.failed = specs[characteristic.id]
        failing = 1 if spec.defect_class == "critical" else min(task.accept + 1, task.sample_size)
        units = set(self.rng.sample(range(1, task.sample_size + 1), failing))
        changed = []
        for f in found:
            if f.characteristic_id == characteristic.id and f.sample_number in units:
                if spec.kind == "attribute":
                    f = Found(f.sample_number, f.characteristic_id, passed=False)
                else:
                    over = spec.sigma * _d(round(self.rng.uniform(0.3, 2), 4))
                    value = spec.upper + over if spec.upper is not None else spec.lower - over
                    f = Found(f.sample_number, f.characteristic_id, value=value.quantize(Decimal(1).scaleb(-spec.places)))
            changed.append(f)
        return changed

    def _decision(self, lot: _Lot, task: inspections.Task, day: date) -> str:
        """What becomes of a rejected lot: a critical defect is never accepted, a minor one is
        (by concession); measured units out of their limits are sorted out where the lot can
        be (rework, then inspected again), else the lot goes back."""
        if lot.item.sku == DRIFT[0] and task.supplier_id == self.drifting and day >= HOLD_FROM:
            return "wait"   # held for the supplier's corrective action (see the nonconformance)
        chemical = lot.item.category == "Chemicals"
        failed = lot.failed or next(s for s in self.plans[lot.item.id][1].values() if s.name == DRIFT[1])
        if failed.defect_class == "critical":
            return "scrap" if chemical else "return"
        if failed.defect_class == "minor":
            return "release"
        if failed.kind == "attribute":
            return self.rng.choice(["return", "release"])
        return self.rng.choice(["scrap", "return"] if chemical else ["return", "rework"])

    def _dispose(self, day: date) -> None:
        """Each rejected lot is decided a few working days after its inspection."""
        for lot_id, lot in self.lots.items():
            if lot.rejected_on is None or lot.decision in (None, "wait") or day < lot.rejected_on + timedelta(days=4):
                continue
            dispositions.dispose(self.session, self.actor, lot_id, lot.decision, REASONS[lot.decision], day)
            lot.rejected_on, lot.decision = None, None


REASONS = {
    "return": "Rejected at incoming inspection: returned to the supplier for credit",
    "scrap": "Rejected at incoming inspection: not usable, disposed of as waste",
    "rework": "Sorted 100% by the warehouse, nonconforming units set aside: inspect again",
    "release": "Concession: the defect does not affect use, production accepts the lot as it is",
}


# -- after the year: the nonconformances, and the count ----------------------------------------

def seed_quality(session: Session, summary: DemoSummary) -> None:
    year = session.info.pop(KEY, None)
    if year is None:
        return   # no year of stock was built (or no quality officer to act): nothing to show
    ncrs = _nonconformances(session, year)
    count = {"inspection plans": select(func.count()).select_from(InspectionPlan),
             "inspections": select(func.count()).select_from(Inspection),
             "dispositions": select(func.count()).select_from(Disposition)}
    for name, query in count.items():
        summary.created[name] = session.scalar(query) or 0
    summary.created["nonconformances"] = ncrs
    summary.created["ncr actions"] = session.scalar(select(func.count()).select_from(Action)) or 0
    disposed = select(func.count()).select_from(StockMovement).where(StockMovement.reference.like("quality disposition #%"))
    summary.created["stock movements"] = summary.created.get("stock movements", 0) + (session.scalar(disposed) or 0)


def _nonconformances(session: Session, year: _Year) -> int:
    """Nonconformance reports in each state, their actions owned by the demo users: one closed
    (owned by the warehouse, verified by quality), one waiting for verification, the drifting
    supplier's with actions overdue, a customer's complaint being investigated, and the last
    rejected lot's, just opened. Dated in the year; the overdue actions are due before its end
    (so before the real today too)."""
    rejected = session.execute(
        select(Inspection.lot_id, Inspection.inspected_on, Inspection.supplier_id, Lot.lot_number, Item.id, Item.sku)
        .join(Lot, Lot.id == Inspection.lot_id).join(Item, Item.id == Lot.item_id)
        .where(Inspection.accepted.is_(False), Inspection.original.is_(True))
        .order_by(Inspection.inspected_on, Inspection.id)).all()
    drift = [r for r in rejected if r.sku == DRIFT[0] and r.supplier_id == year.drifting]
    others = [r for r in rejected if r not in drift]
    made = 0
    ncr = _Reports(session, year.actor)
    if len(others) >= 3:
        first, middle, last = others[0], others[len(others) // 2], others[-1]
        closed = ncr.open(first, "wes", "the delivery was stored unchecked in the goods-in bay for a week")
        ncr.advance(closed, "5 whys", "Goods-in had no rule for checking a delivery's paperwork before storing it")
        ncr.action(closed, "corrective", "Check the certificate of every delivery at goods-in before storing it",
                   "wes", first.inspected_on + timedelta(days=21), done=first.inspected_on + timedelta(days=14))
        ncr.step(closed, "verification")
        ncr.step(closed, "closed", closed_on=first.inspected_on + timedelta(days=35))   # verified by quinn
        checking = ncr.open(middle, INSPECTOR, "the supplier's replacement lot inspected on arrival")
        ncr.advance(checking, "fishbone", "The supplier's packing let the goods move in transit", "method")
        ncr.action(checking, "corrective", "Supplier to change its packing and send photographs of the new one",
                   "wes", middle.inspected_on + timedelta(days=20), done=middle.inspected_on + timedelta(days=18))
        ncr.step(checking, "verification")
        recent = ncr.open(last, INSPECTOR)   # just opened
        ncr.action(recent, "corrective", "Ask the supplier for its inspection records of this lot", "wes",
                   min(last.inspected_on + timedelta(days=5), END - timedelta(days=1)))
        made += 3
    if drift:
        supplier = session.get(Contact, year.drifting).name
        drifting = add_ncr(session, year.actor, {
            "title": f"{DRIFT[1]} of {DRIFT[0]} from {supplier} drifting above its limit"[:200],
            "description": f"The X-bar chart of {DRIFT[1].lower()} has risen since June: lots rejected from "
                           f"{drift[0].inspected_on:%d %B} on, Cpk below 1 (`backoffice quality capability {DRIFT[0]}`)",
            "severity": "major", "opened_on": drift[0].inspected_on, "owner": INSPECTOR, "lot_id": drift[-1].lot_id,
            "supplier_id": year.drifting})
        drift_ncr = drifting.id
        ncr.step(drift_ncr, "investigating", containment=f"Lots of {DRIFT[0]} from {supplier} held in "
                 "quarantine until sorted; stock on hand from earlier lots measured: within limits")
        ncr.advance(drift_ncr, "fishbone", "Wear of the supplier's drawing die is not monitored: it is changed on a "
                    "fixed count, which the higher output of this year outran", "machine")
        opened = drift[0].inspected_on
        ncr.action(drift_ncr, "corrective", "Supplier to replace the drawing die and send a capability study of the "
                   "next 25 bars", INSPECTOR, opened + timedelta(days=30))
        ncr.action(drift_ncr, "corrective", "Sort the quarantined bars 100% and return the oversize ones", "wes",
                   END - timedelta(days=14))
        ncr.action(drift_ncr, "preventive", "Ask every bar supplier for control chart data with each delivery", "mia",
                   END + timedelta(days=49))
        made += 1
    customer = session.scalars(select(Contact.id).where(Contact.tags.like("%customer%"), Contact.kind == "organisation")
                               .order_by(Contact.id)).first()
    coating = session.scalars(select(Item.id).where(Item.sku.like("PWC-%"), Item.lot_tracked).order_by(Item.sku)).first()
    if customer is not None:
        opened = END - timedelta(days=25)
        complaint = add_ncr(session, year.actor, {
            "title": "Customer complaint: powder-coated brackets chipping at the edges",
            "description": "The customer found the coating chipping on brackets of their last two deliveries",
            "severity": "minor", "opened_on": opened, "owner": INSPECTOR, "customer_id": customer, "item_id": coating})
        ncr.step(complaint, "investigating", containment="Replacement brackets sent; the customer's stock of the "
                 "two deliveries set aside for collection")
        ncr.action(complaint, "corrective", "Agree the credit note and the collection with the customer", "sam",
                   opened + timedelta(days=14))
        made += 1
    return made


class _Reports:
    """Nonconformances moved through their workflow by the demo's quality officer."""

    def __init__(self, session: Session, actor: Actor):
        self.session, self.actor = session, actor

    def open(self, rejected: Any, owner: str, containment: str | None = None) -> int:
        """A nonconformance for a rejected lot (contained, and so investigated, if `containment`)."""
        supplier = self.session.get(Contact, rejected.supplier_id) if rejected.supplier_id else None
        of = f" from {supplier.name}" if supplier else ""
        ncr = add_ncr(self.session, self.actor, {
            "title": f"Lot {rejected.lot_number} of {rejected.sku}{of} rejected at incoming inspection"[:200],
            "description": "Sample units found nonconforming: see the lot's inspection", "severity": "major",
            "opened_on": rejected.inspected_on, "owner": owner, "lot_id": rejected.lot_id,
            "supplier_id": rejected.supplier_id})
        if containment:
            self.step(ncr.id, "investigating", containment=containment.capitalize())
        return ncr.id

    def step(self, ncr: int | Nonconformance, to: str, **changes: Any) -> None:
        advance_ncr(self.session, self.actor, ncr if isinstance(ncr, int) else ncr.id, to, **changes)

    def advance(self, ncr: int | Nonconformance, method: str, cause: str, category: str | None = None) -> None:
        """To action, with the root cause found."""
        self.step(ncr, "action", root_cause_method=method, root_cause=cause, cause_category=category)

    def action(self, ncr: int | Nonconformance, kind: str, description: str, owner: str, due: date,
               done: date | None = None) -> None:
        action = add_action(self.session, self.actor, {"ncr_id": ncr if isinstance(ncr, int) else ncr.id,
                                                      "kind": kind, "description": description, "owner": owner,
                                                      "due_on": due})
        if done is not None:
            update_action(self.session, self.actor, action.id, None, {"status": "done", "done_on": done})
