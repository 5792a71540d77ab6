"""Office administration's part in erasing a person (the `erasing` hook of contacts, a bridge).

Tasks linked to the person, or to their opportunities, are about them (their titles and
notes name them): they are deleted, and a recurring task made from one no longer points to
it. An asset the person supplied stays in the register, referring to the contact by its
number (said as kept by the contacts module).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.admin.models import Task
from engine.crm.models import Opportunity
from engine.security.roles import Actor


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    theirs = select(Opportunity.id).where(Opportunity.contact_id == plan.contact_id)
    tasks = list(session.scalars(select(Task.id).where(
        or_(Task.contact_id == plan.contact_id, Task.opportunity_id.in_(theirs))).order_by(Task.id)))
    if not tasks:
        return
    # Carried out in reverse order: the links to them go before the tasks.
    plan.delete(Task.__table__, tasks, "tasks linked to the person or their opportunities")
    following = [t for t in session.scalars(select(Task.id).where(Task.next_id.in_(tasks))) if t not in tasks]
    plan.blank(Task.__table__, following, {"next_id": None}, "links of recurring tasks to the tasks removed")
