"""The Contacts workbook: Organisations, People and Addresses sheets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts import rules
from engine.contacts.models import ADDRESS_KINDS, Address, Contact
from engine.sheets.spec import Column, SheetSpec, WorkbookSpec

COUNTRY = Column("country", "Country", required=True, lookup="countries", width=9)  # checked by the rule
EMAIL = Column("email", "E-mail", width=28)
PHONE = Column("phone", "Phone", width=18)
TAGS = Column("tags", "Tags", width=20)
OPT_OUT = Column("opt_out", "No mailings", type="bool", width=11)


def _derive_contact(row: dict[str, Any]) -> dict[str, Any]:
    """The contact as stored: the same normalisation as `prepare_contact` (cells are already
    trimmed by the reader)."""
    values = rules.normalise_contact(row)  # a fresh dict from the caller: tidied in place
    values["opt_out"] = bool(values.get("opt_out"))
    return values


def _contact_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"name_key": rules.name_key(values.get("name") or "")}


def _derive_address(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("country"):
        row["country"] = row["country"].upper()
    return row


def _names_by_id(session: Session, ids: set[int]) -> dict[int, str]:
    """Names of the contacts with these ids (one query, whatever the number of ids)."""
    if not ids:
        return {}
    names = {i: n for i, n in session.execute(select(Contact.id, Contact.name))}
    return {i: names[i] for i in ids if i in names}


def _organisation_names(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Computed column of People: the name of the organisation a person belongs to."""
    names = _names_by_id(session, {v.get("organisation_id") for v in rows.values()} - {None})
    return {rid: {"organisation_name": names.get(v.get("organisation_id"))} for rid, v in rows.items()}


def _address_owner_names(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Computed column of Addresses: the name of the contact an address belongs to."""
    names = _names_by_id(session, {v.get("contact_id") for v in rows.values()} - {None})
    return {rid: {"contact_name": names.get(v.get("contact_id"))} for rid, v in rows.items()}


def contacts_workbook() -> WorkbookSpec:
    organisations = SheetSpec(
        name="Organisations", model=Contact, area="contacts", scope={"kind": "organisation"},
        columns=(
            Column("name", "Name", required=True, width=32),
            EMAIL, PHONE, Column("website", "Website", width=26), COUNTRY, TAGS, OPT_OUT,
            Column("notes", "Notes", width=30),
        ),
        rule=rules.check_contact, derive=_derive_contact, search_keys=_contact_keys, order_by=("name", "id"),
    )
    people = SheetSpec(
        name="People", model=Contact, area="contacts", scope={"kind": "person"},
        columns=(
            Column("first_name", "First name"),
            Column("last_name", "Last name", required=True),
            Column("organisation_id", "Organisation ID", type="integer", lookup="organisations",
                   references="organisations", width=14),
            Column("organisation_name", "Organisation", computed=True, width=28),
            Column("job_title", "Job title", width=22),
            EMAIL, PHONE, COUNTRY, TAGS, OPT_OUT,
        ),
        rule=rules.check_contact, derive=_derive_contact, search_keys=_contact_keys, computed=_organisation_names,
        order_by=("last_name", "first_name", "id"),
    )
    addresses = SheetSpec(
        name="Addresses", model=Address, area="contacts", can_delete=True,
        columns=(
            Column("contact_id", "Contact ID", type="integer", required=True, lookup="contacts",
                   references="contacts", width=11),
            Column("contact_name", "Contact", computed=True, width=28),
            Column("kind", "Kind", type="choice", choices=ADDRESS_KINDS, required=True, width=10),
            Column("line1", "Street", required=True, width=30),
            Column("line2", "Street (2)", width=20),
            Column("city", "City", required=True),
            Column("postcode", "Postcode", width=11),
            Column("region", "Region"),
            COUNTRY,
        ),
        rule=rules.check_address, derive=_derive_address, computed=_address_owner_names,
        order_by=("contact_id", "id"),
    )
    return WorkbookSpec(
        module="contacts", title="Contacts", sheets=(organisations, people, addresses),
        lookups={
            "countries": lambda session: rules.country_codes(),
            "organisations": lambda session: list(session.scalars(
                select(Contact.id).where(Contact.kind == "organisation").order_by(Contact.id))),
            "contacts": lambda session: list(session.scalars(select(Contact.id).order_by(Contact.id))),
        },
    )
