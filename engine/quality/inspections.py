"""Inspections of held lots, each operation inside the caller's unit of work: what an
inspection takes (the sample by the plan and the supplier's switching state), recording and
deciding one, and the switching state it moves on (ISO 2859-1 clause 9, `sampling`).

A decision is never typed: `inspect_lot` takes every measurement the sample needs, refuses
the inspection if one is missing (nothing saved), decides it by `rules.decide`, and sets the
lot `available` or `quarantined`. Only a lot's first inspection moves the switching state;
one after rework does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.inventory.models import Item, Lot
from engine.problems import Problem
from engine.quality import rules, sampling
from engine.quality.models import (
    Characteristic,
    Inspection,
    InspectionPlan,
    Measurement,
    SwitchingState,
)
from engine.quality.rules import Found
from engine.quality.services import (
    AREA,
    characteristics_of,
    lot_on_hand,
    lot_supplier,
    plan_for_lot,
)
from engine.security.roles import Actor

# -- inspections -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """What one inspection of a lot takes: the sample and its characteristics."""

    lot: Lot
    plan: InspectionPlan
    supplier_id: int | None
    lot_size: Decimal
    severity: str
    code_letter: str | None
    sample_size: int
    accept: int
    reject: int
    characteristics: list[Characteristic]
    original: bool

    def characteristic_named(self, name: str) -> Characteristic | None:
        """The plan's characteristic of that name, in any case, as a person types it."""
        wanted = name.strip().casefold()
        return next((c for c in self.characteristics if c.name.casefold() == wanted), None)

    @property
    def names(self) -> str:
        return ", ".join(c.name for c in self.characteristics)


def inspection_task(session: Session, actor: Actor, lot_id: int) -> Task:
    actor.require("read", AREA)
    return task_for(session, lot_id)


def task_for(session: Session, lot_id: int) -> Task:
    """What inspecting the lot takes (a read: whoever calls it has checked the reader)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"there is no lot #{lot_id}", "lot_id")
    supplier = lot_supplier(session, lot.id)
    plan = plan_for_lot(session, lot, supplier)
    item = session.get(Item, lot.item_id)
    if plan is None:
        raise ValidationFailed([Problem("lot_id", "no_plan", f"item {item.sku} has no active inspection plan: "
                                                             "add one with `backoffice quality plan add`")])
    characteristics = characteristics_of(session, plan.id)
    if not characteristics:   # else every lot would pass, with nothing measured
        raise ValidationFailed([Problem("lot_id", "no_characteristics", f"plan {plan.code} says nothing to check: "
                                        "add its characteristics before inspecting by it")])
    size = lot_on_hand(session, lot.id)
    if size <= 0:
        raise ValidationFailed([Problem("lot_id", "empty", f"lot {lot.lot_number} of {item.sku} holds no stock: "
                                                           "there is nothing to inspect")])
    units = math.ceil(size)
    state = _state(session, plan, supplier)
    if plan.sampling == "fixed":
        severity, letter = "normal", None
        n, ac = min(plan.sample_size, units), plan.accept_number
        re = ac + 1
    else:
        found = sampling.plan_for(state, units, plan.level, plan.aql)
        severity, letter, n, ac, re = state.severity, found.code_letter, found.sample_size, found.accept, found.reject
    original = session.scalar(select(func.count()).select_from(Inspection).where(Inspection.lot_id == lot.id)) == 0
    return Task(lot, plan, supplier, size, severity, letter, n, ac, re, characteristics, original)


def tasks_waiting(session: Session) -> list[Task]:
    """The inspections waiting to be done: one per lot awaiting inspection that can be
    inspected now (its item has an active plan, it holds stock), by item and lot number.
    A read, like `task_for`."""
    lots = session.scalars(select(Lot.id).join(Item, Item.id == Lot.item_id)
                           .where(Lot.status == "awaiting inspection").order_by(Item.sku, Lot.lot_number))
    tasks = []
    for lot_id in list(lots):
        try:
            tasks.append(task_for(session, lot_id))
        except ValidationFailed:
            continue   # no plan any more, or nothing left to inspect: `held_lots` still lists it
    return tasks


def inspect_lot(session: Session, actor: Actor, lot_id: int, found: Sequence[Found], inspected_on: date) -> Inspection:
    """Record an inspection of a lot awaiting it and decide it (see the module docstring)."""
    actor.require("write", AREA)
    task = inspection_task(session, actor, lot_id)
    lot = task.lot
    if lot.status != "awaiting inspection":
        raise ValidationFailed([Problem("lot_id", "not_held", f"lot {lot.lot_number} is {lot.status}: only a lot "
                                                              "awaiting inspection is inspected")])
    if task.severity == "discontinued":
        raise ValidationFailed([Problem("lot_id", "discontinued", f"inspection by plan {task.plan.code} of this "
                                        "supplier's lots is discontinued (5 lots rejected on tightened inspection): "
                                        "no lot is accepted by sampling until the supplier has acted; then resume "
                                        f"it (`backoffice quality resume {task.plan.code}`), or dispose of the lot")])
    problems = rules.check_measurements(task.sample_size, task.characteristics, found)
    if problems:
        raise ValidationFailed(problems)
    decision = rules.decide(task.accept, task.characteristics, found)
    inspection = Inspection(
        lot_id=lot.id, plan_id=task.plan.id, supplier_id=task.supplier_id, inspected_on=inspected_on,
        inspector=actor.login, original=task.original, lot_size=task.lot_size, severity=task.severity,
        code_letter=task.code_letter, sample_size=task.sample_size, accept_number=task.accept,
        reject_number=task.reject, nonconforming=decision.nonconforming, critical=decision.critical,
        accepted=decision.accepted, updated_by=actor.login)
    session.add(inspection)
    session.flush()
    session.add_all([Measurement(inspection_id=inspection.id, sample_number=f.sample_number,
                                 characteristic_id=f.characteristic_id, value=f.value, passed=f.passed,
                                 conforms=decision.conforms[(f.sample_number, f.characteristic_id)],
                                 updated_by=actor.login) for f in found])
    lot.status = "available" if decision.accepted else "quarantined"
    lot.updated_by = actor.login
    if task.original and task.plan.sampling == "standard" and task.plan.switching:
        _switch(session, task, decision)
    session.flush()
    return inspection


def severity_now(session: Session, plan: InspectionPlan) -> str:
    """How the plan's next lot from its own supplier (or, for a general plan, a lot without
    one) is inspected: normal, tightened, reduced, or discontinued (not accepted at all)."""
    return "normal" if plan.sampling == "fixed" else _state(session, plan, plan.supplier_id).severity


def _state(session: Session, plan: InspectionPlan, supplier: int | None) -> sampling.SwitchingState:
    row = _state_row(session, plan, supplier)
    if row is None or not plan.switching:
        return sampling.SwitchingState()
    return sampling.SwitchingState(row.severity, tuple(c == "A" for c in row.recent), row.score,
                                   row.not_accepted_on_tightened)


def _state_row(session: Session, plan: InspectionPlan, supplier: int | None) -> SwitchingState | None:
    return session.scalars(select(SwitchingState).where(SwitchingState.plan_id == plan.id,
                                                        SwitchingState.supplier_key == (supplier or 0))).first()


def _switch(session: Session, task: Task, decision: rules.Decision) -> None:
    """Move the supplier's switching state on by this lot's original inspection."""
    before = _state(session, task.plan, task.supplier_id)
    after = sampling.switch(before, accepted=decision.accepted, nonconforming=decision.nonconforming + decision.critical,
                            lot_size=math.ceil(task.lot_size), level=task.plan.level, aql=task.plan.aql)
    row = _state_row(session, task.plan, task.supplier_id)
    if row is None:
        row = SwitchingState(plan_id=task.plan.id, supplier_key=task.supplier_id or 0)
        session.add(row)
    row.severity, row.recent = after.severity, "".join("A" if ok else "R" for ok in after.recent)[-16:]
    row.score, row.not_accepted_on_tightened = after.score, after.not_accepted_on_tightened
    row.updated_by = "system"


def resume_inspection(session: Session, actor: Actor, plan_id: int, supplier_id: int | None) -> SwitchingState:
    """After the supplier's corrective action, inspection discontinued resumes at tightened."""
    actor.require("write", AREA)
    plan = session.get(InspectionPlan, plan_id)
    row = _state_row(session, plan, supplier_id) if plan else None
    if row is None or row.severity != "discontinued":
        raise ValidationFailed([Problem("plan_id", "not_discontinued", "inspection of this supplier's lots is not "
                                                                       "discontinued: there is nothing to resume")])
    after = sampling.resume(_state(session, plan, supplier_id))
    row.severity, row.recent, row.score = after.severity, "", after.score
    row.not_accepted_on_tightened = after.not_accepted_on_tightened
    row.updated_by = actor.login
    session.flush()
    return row
