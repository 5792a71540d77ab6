"""Contact operations. Each runs inside the caller's unit of work (one transaction).

Services take the acting user, check the role, validate every field, and either make the
change or raise `ValidationFailed` with all the problems found. A possible duplicate is a
warning, not an error: it is returned so the door it came through can show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.contacts import channels, rules
from engine.contacts.models import Address, Contact, ContactEmail
from engine.db.base import flush_guarded
from engine.errors import NotFound, StaleRecordError, ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor

CONTACT_FIELDS = (
    "kind", "name", "first_name", "last_name", "organisation_id", "job_title", "email",
    "phone", "website", "country", "tags", "opt_out", "notes",
)
ADDRESS_FIELDS = ("kind", "line1", "line2", "city", "postcode", "region", "country")
WITH_LISTS = (selectinload(Contact.emails), selectinload(Contact.phones))


@dataclass(frozen=True)
class Duplicate:
    """An existing contact that looks like the one being created, and why."""

    contact_id: int
    name: str
    reason: str


def prepare_contact(data: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise input: trim text, upper-case the country, tidy tags, derive a person's name."""
    clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
    return rules.normalise_contact(clean)


def find_duplicates(
    session: Session,
    *,
    name: str,
    email: str | None,
    postcodes: list[str],
    exclude_id: int | None = None,
) -> list[Duplicate]:
    """Contacts with the same normalised name and postcode, or the same (primary) e-mail,
    found through contact_emails' index on address (contacts.email has none of its own)."""
    key = rules.name_key(name)
    wanted = {rules.postcode_key(p) for p in postcodes if p}
    found: dict[int, Duplicate] = {}
    if email:
        same = (select(Contact).join(ContactEmail, ContactEmail.contact_id == Contact.id)
                .where(ContactEmail.address == email.lower(), ContactEmail.is_primary))
        for contact in session.scalars(same):
            found[contact.id] = Duplicate(contact.id, contact.name, f"same e-mail {email.lower()}")
    if wanted:
        query = select(Contact).where(Contact.name_key == key).options(selectinload(Contact.addresses))
        for contact in session.scalars(query):
            shared = wanted & {rules.postcode_key(a.postcode) for a in contact.addresses}
            if shared and contact.id not in found:
                found[contact.id] = Duplicate(
                    contact.id, contact.name, f"same name and postcode {sorted(shared)[0]}"
                )
    found.pop(exclude_id, None)  # type: ignore[arg-type]
    return sorted(found.values(), key=lambda d: d.contact_id)


def add_contact(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    addresses: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
) -> tuple[Contact, list[Duplicate]]:
    actor.require("write", "contacts")
    values = prepare_contact({k: v for k, v in data.items() if k in CONTACT_FIELDS})
    address_values = [prepare_contact(a) for a in addresses]
    problems = rules.check_contact(values)
    for n, address in enumerate(address_values, 1):
        problems += [Problem(f"addresses[{n}].{p.field}", p.code, f"address {n}: {p.message}")
                     for p in rules.check_address(address)]
    if values.get("organisation_id") and not any(p.field == "organisation_id" for p in problems):
        org = session.get(Contact, values["organisation_id"])
        if org is None or org.kind != "organisation":
            problems.append(Problem("organisation_id", "reference",
                                    f"there is no organisation #{values['organisation_id']}"))
    if problems:
        raise ValidationFailed(problems)

    duplicates = find_duplicates(
        session, name=values["name"], email=values.get("email"),
        postcodes=[a.get("postcode") for a in address_values],
    )
    contact = Contact(**values, name_key=rules.name_key(values["name"]), updated_by=actor.login)
    contact.addresses = [Address(**a, updated_by=actor.login) for a in address_values]
    channels.follow_all(contact, actor.login)   # its e-mail and phone become its lists' primaries
    session.add(contact)
    session.flush()
    return contact, duplicates


def update_contact(
    session: Session,
    actor: Actor,
    contact_id: int,
    expected_version: int,
    changes: Mapping[str, Any],
) -> Contact:
    """Apply field changes made from version `expected_version` of the contact."""
    actor.require("write", "contacts")
    contact = get_contact(session, contact_id)
    if contact.version != expected_version:
        raise StaleRecordError(contact.label(), expected_version, contact.version)
    contact.emails, contact.phones  # noqa: B018 (loaded before any field changes: a lazy load would flush them)
    merged = {f: getattr(contact, f) for f in CONTACT_FIELDS} | dict(changes)
    values = prepare_contact(merged)
    problems = rules.check_contact(values)
    if problems:
        raise ValidationFailed(problems)
    for field in CONTACT_FIELDS:
        if getattr(contact, field) != values.get(field):
            setattr(contact, field, values.get(field))
    contact.name_key = rules.name_key(values["name"])
    contact.updated_by = actor.login
    channels.follow_all(contact, actor.login)   # a changed e-mail or phone changes the primary entry
    flush_guarded(session, contact, expected_version)
    return contact


def delete_contact(session: Session, actor: Actor, contact_id: int, expected_version: int) -> None:
    actor.require("write", "contacts")
    contact = get_contact(session, contact_id)
    if contact.version != expected_version:
        raise StaleRecordError(contact.label(), expected_version, contact.version)
    members = session.scalar(select(Contact.id).where(Contact.organisation_id == contact_id).limit(1))
    if members is not None:
        raise ValidationFailed([Problem("", "in_use", f"{contact.name} has people belonging to it; "
                                        "move or delete them first")])
    session.delete(contact)
    flush_guarded(session, contact, expected_version)


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id, options=[selectinload(Contact.addresses), *WITH_LISTS])
    if contact is None:
        raise NotFound(f"there is no contact #{contact_id}; `backoffice contacts list` shows them.")
    return contact


def contacts_query(kind: str | None = None, search: str | None = None, tag: str | None = None) -> Select:
    # Each contact is shown with its addresses and its organisation's name: loaded in two
    # more queries, not two for every contact (a list of a few hundred took 0.1 s over a network).
    query = (select(Contact).order_by(Contact.name, Contact.id)
             .options(selectinload(Contact.addresses), selectinload(Contact.organisation), *WITH_LISTS))
    if kind:
        query = query.where(Contact.kind == kind)
    # What people type is matched as it is: % and _ are escaped (autoescape), not wildcards.
    if search:
        query = query.where(or_(Contact.name_key.contains(rules.name_key(search), autoescape=True),
                                Contact.email.contains(search.lower(), autoescape=True)))
    if tag:
        query = query.where(Contact.tags.contains(tag.lower(), autoescape=True))
    return query


def list_contacts(session: Session, actor: Actor, **filters: str | None) -> list[Contact]:
    actor.require("read", "contacts")
    return list(session.scalars(contacts_query(**filters)))


def as_dict(contact: Contact) -> dict[str, Any]:
    data = {f: getattr(contact, f) for f in ("id", "version", *CONTACT_FIELDS)}
    data["organisation"] = contact.organisation.name if contact.organisation else None
    data["addresses"] = [
        {"id": a.id, **{f: getattr(a, f) for f in ADDRESS_FIELDS}} for a in contact.addresses
    ]
    data["emails"] = [channels.entry_dict(channels.EMAIL, e) for e in contact.emails]
    data["phones"] = [channels.entry_dict(channels.PHONE, p) for p in contact.phones]
    data["updated_at"] = contact.updated_at.isoformat()
    data["updated_by"] = contact.updated_by
    return data
