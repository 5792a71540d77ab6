"""The Contacts workbook: Organisations, People and Addresses sheets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from engine.contacts import rules
from engine.contacts.models import ADDRESS_KINDS, Address, Contact
from engine.sheets.labels import labelled
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


# What every workbook's contact columns offer and show: contacts by name (two of the same
# name are told apart by their ID, see engine.sheets.labels), in alphabetical order.
contact_choices = labelled(lambda: select(Contact.id, Contact.name).order_by(Contact.name, Contact.id))
organisation_choices = labelled(lambda: select(Contact.id, Contact.name).where(Contact.kind == "organisation")
                                .order_by(Contact.name, Contact.id))


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
            Column("organisation_id", "Organisation", type="integer", lookup="organisations",
                   references="organisations", labels="organisations", width=28),
            Column("job_title", "Job title", width=22),
            EMAIL, PHONE, COUNTRY, TAGS, OPT_OUT,
        ),
        rule=rules.check_contact, derive=_derive_contact, search_keys=_contact_keys,
        order_by=("last_name", "first_name", "id"),
    )
    addresses = SheetSpec(
        name="Addresses", model=Address, area="contacts", can_delete=True,
        columns=(
            Column("contact_id", "Contact", type="integer", required=True, lookup="contacts",
                   references="contacts", labels="contacts", width=28),
            Column("kind", "Kind", type="choice", choices=ADDRESS_KINDS, required=True, width=10),
            Column("line1", "Street", required=True, width=30),
            Column("line2", "Street (2)", width=20),
            Column("city", "City", required=True),
            Column("postcode", "Postcode", width=11),
            Column("region", "Region"),
            COUNTRY,
        ),
        rule=rules.check_address, derive=_derive_address,
        order_by=("contact_id", "id"),
    )
    return WorkbookSpec(
        module="contacts", title="Contacts", sheets=(organisations, people, addresses),
        lookups={
            "countries": lambda session: rules.country_codes(),
            "organisations": organisation_choices,
            "contacts": contact_choices,
        },
    )
