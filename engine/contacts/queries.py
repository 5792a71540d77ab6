"""Contact look-ups for the doors: each takes the acting user, checks they may read contacts,
and hands out only what the policy gate lets them see."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.contacts import channels, services
from engine.errors import NotFound, PermissionDenied
from engine.security import gate
from engine.security.roles import Actor


def contact(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """One contact with its addresses, as `actor` may see it."""
    actor.require("read", "contacts")
    return gate.project_one(session, actor, "contacts", services.as_dict(services.get_contact(session, contact_id)))


def entry(session: Session, actor: Actor, which: str, entry_id: int, contact_id: int | None = None) -> dict[str, Any]:
    """One entry of a contact's list of e-mail addresses or phone numbers ("email", "phone")."""
    actor.require("read", "contacts")
    ch = channels.channel(which)
    found = channels.get_entry(session, which, entry_id, contact_id)
    return gate.project_one(session, actor, ch.model.__tablename__, channels.entry_dict(ch, found))


def contacts(session: Session, actor: Actor, **filters: str | None) -> list[dict[str, Any]]:
    """The contacts matching `filters` (kind, search, tag), as `actor` may see them."""
    return gate.project(session, actor, "contacts",
                        [services.as_dict(c) for c in services.list_contacts(session, actor, **filters)])


# The fields a contact answers by name (`Directory.value`): its own, its organisation's name, and who changed it last.
FIELDS = ("id", "version", *services.CONTACT_FIELDS, "organisation", "updated_at", "updated_by")


@dataclass(frozen=True)
class Directory:
    """Every contact as the actor may see them, read once and asked many times: a sheet of
    10,000 `=BO_CONTACT(...)` formulas is one read of the contacts (three queries), not 10,000.
    Built from `directory` locally, or from the `/contacts` route's rows remotely (the
    server's gate has already left out what the caller may not see)."""

    by_id: dict[int, dict[str, Any]]
    by_name: dict[str, list[int]] = dataclasses.field(default_factory=dict)   # casefolded name -> ids

    def __post_init__(self) -> None:
        for cid, record in self.by_id.items():
            self.by_name.setdefault(str(record.get("name") or "").casefold(), []).append(cid)

    def find(self, contact: int | str) -> dict[str, Any]:
        """A contact by id, or by its exact name (any case) when that names exactly one."""
        if isinstance(contact, int):
            found = self.by_id.get(contact)
            if found is None:
                raise NotFound(f"there is no contact #{contact}; `backoffice contacts list` shows them",
                               field="contact_id")
            return found
        named = self.by_name.get(contact.strip().casefold(), [])
        if len(named) != 1:
            how = "more than one contact is" if named else "no contact is"
            raise NotFound(f"{how} named {contact!r}; give the contact's id instead", field="contact_id")
        return self.by_id[named[0]]

    def value(self, contact: int | str, field: str) -> Any:
        """One field of a contact. A field the actor's role may not see is absent from what
        the gate handed out: refused as `permission` naming it, never shown; a name that is
        no field is refused as `not_found`."""
        record = self.find(contact)
        name = field.strip().lower()
        if name not in FIELDS:
            raise NotFound(f"a contact has no field {field!r}; use one of {', '.join(FIELDS)}", field="field")
        if name not in record:
            raise PermissionDenied(f"your role may not see a contact's {name.replace('_', ' ')}", field=name)
        return record[name]


def directory(session: Session, actor: Actor) -> Directory:
    """Every contact as `actor` may see them (see `contacts`), by id."""
    return Directory({c["id"]: c for c in contacts(session, actor)})
