"""Quality's part in merging two contacts (`engine.contacts.hooks.merging`).

The foreign-key walk re-points `supplier_id` everywhere; what it cannot see is
`supplier_key`, the supplier's id (or 0) that makes a plan, and a plan's switching state, one
per supplier: inspection plans (item, supplier_key) and switching states (plan,
supplier_key). They follow the supplier to the kept contact. When both suppliers have a plan
for the same item, or a switching state under the same plan, which one holds is a quality
decision (their sampling, their history), so the merge is refused, naming them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.merge import MergePlan, repoint
from engine.contacts.models import Contact
from engine.inventory.models import Item
from engine.quality.models import InspectionPlan, SwitchingState
from engine.security.roles import Actor


def merging(session: Session, actor: Actor, keep: Contact, drop: Contact, plan: MergePlan) -> None:
    plans, states = InspectionPlan.__table__, SwitchingState.__table__
    items = _shared(session, InspectionPlan.item_id, InspectionPlan.supplier_key, keep.id, drop.id)
    if items:
        skus = session.scalars(select(Item.sku).where(Item.id.in_(items)).order_by(Item.sku))
        plan.refuse("inspection_plans.supplier_key", "unique",
                    f"#{keep.id} and #{drop.id} each have an inspection plan for {', '.join(skus)}: keep one "
                    "plan per item (deactivate or change the other) first")
    shared_plans = _shared(session, SwitchingState.plan_id, SwitchingState.supplier_key, keep.id, drop.id)
    if shared_plans:
        codes = session.scalars(select(InspectionPlan.code).where(InspectionPlan.id.in_(shared_plans))
                                .order_by(InspectionPlan.code))
        plan.refuse("switching_states.supplier_key", "unique",
                    f"#{keep.id} and #{drop.id} each have a switching state under plan {', '.join(codes)}: "
                    "which one's inspection history holds is for quality to decide")
    for table in (plans, states):
        rows = session.scalar(select(func.count()).select_from(table).where(table.c.supplier_key == drop.id)) or 0
        plan.change(table.name, "supplier_key", rows,
                    lambda table=table: repoint(session, actor, table, table.c.supplier_key, drop.id, keep.id))


def _shared(session: Session, grouped: Any, key: Any, keep: int, drop: int) -> list[Any]:
    """The values of `grouped` found with both `keep` and `drop` as `key`."""
    return list(session.scalars(select(grouped).where(key.in_((keep, drop))).group_by(grouped)
                                .having(func.count(func.distinct(key)) == 2)))
