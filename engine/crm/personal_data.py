"""CRM's part in erasing a person (the `erasing` hook of contacts, a bridge).

An open opportunity (not won or lost) is refused: someone must close it first. Otherwise
every interaction with the person (its summary says what passed between us) and every
closed opportunity is deleted; a won opportunity's invoice stays in the books.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.crm.models import Interaction, Opportunity
from engine.security.roles import Actor

CLOSED = ("won", "lost")


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    cid = plan.contact_id
    opportunities = session.execute(select(Opportunity.id, Opportunity.stage).where(Opportunity.contact_id == cid)
                                    .order_by(Opportunity.id)).all()
    for oid, stage in opportunities:
        if stage not in CLOSED:
            plan.refuse("opportunities", "open_opportunity",
                        f"opportunity #{oid} is open (stage {stage}): mark it won or lost first")
    interactions = list(session.scalars(select(Interaction.id).where(Interaction.contact_id == cid)))
    plan.delete(Interaction.__table__, interactions, "interactions and their summaries")
    plan.delete(Opportunity.__table__, [oid for oid, _ in opportunities], "opportunities")
