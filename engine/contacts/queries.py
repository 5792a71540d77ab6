"""Contact look-ups for the doors: each takes the acting user, checks they may read contacts,
and hands out only what the policy gate lets them see."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.contacts import services
from engine.security import gate
from engine.security.roles import Actor


def contact(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """One contact with its addresses, as `actor` may see it."""
    actor.require("read", "contacts")
    return gate.project_one(session, actor, "contacts", services.as_dict(services.get_contact(session, contact_id)))


def contacts(session: Session, actor: Actor, **filters: str | None) -> list[dict[str, Any]]:
    """The contacts matching `filters` (kind, search, tag), as `actor` may see them."""
    return gate.project(session, actor, "contacts",
                        [services.as_dict(c) for c in services.list_contacts(session, actor, **filters)])
