"""The Contacts workbook: Organisations, People and Addresses sheets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from engine.contacts import channels, rules
from engine.contacts.models import ADDRESS_KINDS, Address, Contact
from engine.sheets.labels import labelled
from engine.sheets.posting import post_each, update_each
from engine.sheets.spec import Column, Saved, SheetSpec, WorkbookSpec

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


def _keep_lists(session: Any, actor: Any, sheet: str, saved: Saved) -> channels.Changed:
    """Contacts saved in bulk: the primary entries of their lists follow their E-mail and
    Phone cells (new contacts get theirs in bulk too)."""
    changed = channels.add_primaries(session, saved.inserted)
    edited = [after["id"] for before, after in saved.updated
              if before.get("email") != after.get("email") or before.get("phone") != after.get("phone")]
    if edited:
        for table, ids in channels.follow_contacts(session, actor.login, edited).items():
            changed[table] = changed.get(table, []) + ids
    return changed


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
        rule=rules.check_contact, rule_of_rows=rules.check_contacts, derive=_derive_contact, search_keys=_contact_keys, order_by=("name", "id"),
        after=_keep_lists,
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
        rule=rules.check_contact, rule_of_rows=rules.check_contacts, derive=_derive_contact, search_keys=_contact_keys,
        order_by=("last_name", "first_name", "id"), after=_keep_lists,
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


def _entries_sheet(ch: channels.Channel, name: str, label: str, width: float) -> SheetSpec:
    """One of a contact's lists as a sheet: each row an entry, through the list services
    (a new row is added, a changed one changed, a ticked Primary makes it the primary); a
    deleted row is removed, the oldest remaining entry then becoming primary."""
    def derive(row: dict[str, Any]) -> dict[str, Any]:
        row[ch.value] = ch.tidy(row.get(ch.value))
        row["kind"] = (row.get("kind") or channels.DEFAULT_KIND).lower()
        row["is_primary"] = bool(row.get("is_primary"))
        return row

    def add(session: Any, actor: Any, values: dict[str, Any]) -> Any:
        return channels.add_entry(session, actor, ch.name, values["contact_id"], values.get(ch.value),
                                  values.get("kind"), bool(values.get("is_primary")))

    # The versions the merge saw were checked (and the records locked) before any row went
    # through a service: ticking Primary on one row changes the others of its list.
    def change(session: Any, actor: Any, entry_id: int, _version: int, changes: dict[str, Any]) -> Any:
        return channels.change_entry(session, actor, ch.name, entry_id, None, changes)

    def remove(session: Any, actor: Any, sheet: str, deletes: list[Any]) -> None:
        for gone in deletes:
            channels.remove_entry(session, actor, ch.name, gone.record_id)

    def shown_again(session: Any, actor: Any, sheet: str, saved: Saved) -> channels.Changed:
        """The contacts whose lists changed, and their entries, for the refresh."""
        touched = {row["contact_id"] for row in (*saved.inserted, *saved.deleted)}
        touched.update(after["contact_id"] for _before, after in saved.updated)
        return channels.settle_contacts(session, actor.login, touched)

    return SheetSpec(
        name=name, model=ch.model, area="contacts", can_delete=True,
        columns=(
            Column("contact_id", "Contact", type="integer", required=True, lookup="contacts",
                   references="contacts", labels="contacts", width=28, set_once=True,
                   locked_because="an entry stays with its contact: delete the row and add one to the other contact"),
            Column("kind", "Kind", type="choice", choices=ch.kinds, required=True, width=10),
            Column(ch.value, label, required=True, width=width),
            Column("is_primary", "Primary", type="bool", width=9),
        ),
        rule=ch.check, derive=derive, post=post_each(add, ch.value), update=update_each(change), delete=remove,
        after=shown_again, order_by=("contact_id", "id"),
    )


def email_phone_sheets() -> tuple[SheetSpec, SheetSpec]:
    """The sheets "E-mails" and "Phones" of the CRM workbook: every contact's addresses and
    numbers, one row each. (Not in the Contacts workbook: a clerk adding 10,000 people there
    would wait for 20,000 list rows to be written back into their file.)

    Two sheets, not one: the round trip keeps one table per sheet (each row is a record of
    it, with its id and version), and the two lists are two tables."""
    return (_entries_sheet(channels.EMAIL, "E-mails", "E-mail", 32),
            _entries_sheet(channels.PHONE, "Phones", "Phone", 20))
