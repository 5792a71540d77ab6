"""A contact's lists of e-mail addresses and phone numbers ("channels"), and their primaries.

What holds at every door (services here, `add_contact`/`update_contact`, the workbook):

- `contacts.email` is the address of the contact's primary e-mail entry (None when it has
  none); `contacts.phone` the number of its primary phone entry. Every other module (the
  mail merge, letters, invoices) keeps reading those two fields.
- A list has at most one primary entry; the first entry added is primary; removing the
  primary makes the oldest remaining entry primary (or leaves none).
- An address (in any case) or a number (in any punctuation) is on a contact's list once.

A door that sets `contacts.email`/`phone` directly (a contact's form, its workbook row)
changes the primary entry with it (`follow`): a new value replaces the primary entry's
value (or becomes primary if the contact had it already), an emptied one removes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, literal, select, text
from sqlalchemy.orm import Session, selectinload

from engine.contacts import rules
from engine.contacts.models import EMAIL_KINDS, PHONE_KINDS, Contact, ContactEmail, ContactPhone
from engine.db.audit import write_audit_entries
from engine.db.base import require_version, utcnow
from engine.db.bulk import converter, insert_rows, insert_selected, run_in_turn
from engine.errors import NotFound, ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor
from engine.sheets.apply import allocate_ids


@dataclass(frozen=True)
class Channel:
    """One of the two lists: its table, the entry's value field, the contact's field."""

    name: str            # "email" or "phone"
    model: type
    value: str           # the entry's field: "address" or "number"
    field: str           # the contact's field holding the primary value
    kinds: tuple[str, ...]
    what: str            # in messages

    def entries(self, contact: Contact) -> list[Any]:
        return contact.emails if self.name == "email" else contact.phones

    def check(self, values: Mapping[str, Any]) -> list[Problem]:
        return (rules.check_email_entry if self.name == "email" else rules.check_phone_entry)(values)

    def tidy(self, value: str | None) -> str | None:
        value = (value or "").strip() or None
        return value.lower() if value and self.name == "email" else value

    def key(self, value: str | None) -> str:
        return rules.channel_key(self.name, value)

    def set_value(self, entry: Any, value: str) -> None:
        setattr(entry, self.value, value)
        if self.name == "phone":
            entry.digits = rules.phone_digits(value)

    def new_rows(self, ids: Sequence[int], entries: Sequence[tuple[int, str]]) -> tuple[tuple[str, ...], list[tuple]]:
        """New entries (contact id, value) with their `ids`, for a bulk insert: (columns,
        rows), each row its id, contact and value, and a phone's digits too (`set_value`
        gives the ORM's the same); what all of them share (kind, primary...) goes beside."""
        if self.name == "phone":
            return (("id", "contact_id", self.value, "digits"),
                    [(new_id, contact_id, value, rules.phone_digits(value))
                     for new_id, (contact_id, value) in zip(ids, entries, strict=True)])
        return (("id", "contact_id", self.value),
                [(new_id, contact_id, value) for new_id, (contact_id, value) in zip(ids, entries, strict=True)])


EMAIL = Channel("email", ContactEmail, "address", "email", EMAIL_KINDS, "e-mail address")
PHONE = Channel("phone", ContactPhone, "number", "phone", PHONE_KINDS, "phone number")
CHANNELS = {"email": EMAIL, "phone": PHONE}
DEFAULT_KIND = "work"


def channel(name: str) -> Channel:
    if name not in CHANNELS:
        raise ValidationFailed([Problem("channel", "invalid", "the list must be email or phone")])
    return CHANNELS[name]


# -- the invariant, on a contact loaded with its lists ---------------------------------------

def _order(entries: Iterable[Any]) -> list[Any]:
    """Oldest first; entries not yet saved come last, in the order they were added."""
    return sorted(entries, key=lambda e: (e.id is None, e.id or 0))


def settle(contact: Contact, ch: Channel, login: str) -> None:
    """Make the list and the contact's field agree: one primary (the one marked, else the
    oldest entry), and the contact's field holding its value."""
    entries = _order(ch.entries(contact))
    chosen = next((e for e in entries if e.is_primary), entries[0] if entries else None)
    for entry in entries:
        if entry.is_primary != (entry is chosen):
            entry.is_primary = entry is chosen
            entry.updated_by = login
    value = getattr(chosen, ch.value) if chosen is not None else None
    if getattr(contact, ch.field) != value:
        setattr(contact, ch.field, value)
        contact.updated_by = login


def follow(contact: Contact, ch: Channel, login: str) -> None:
    """The contact's field was set by a contact door: its primary entry follows it."""
    value = getattr(contact, ch.field)
    entries = ch.entries(contact)
    primary = next((e for e in _order(entries) if e.is_primary), None)
    if primary is not None and getattr(primary, ch.value) == value:
        return
    if value is None:
        if primary is not None:
            entries.remove(primary)     # (delete-orphan: the entry is deleted)
    else:
        same = next((e for e in entries if ch.key(getattr(e, ch.value)) == ch.key(value)), None)
        if same is not None and same is not primary:
            if primary is not None:
                entries.remove(primary)
            for entry in entries:
                entry.is_primary = entry is same
            ch.set_value(same, value)
            same.updated_by = login
        elif primary is not None:
            ch.set_value(primary, value)
            primary.updated_by = login
        else:
            entry = ch.model(kind=DEFAULT_KIND, is_primary=True, updated_by=login)
            ch.set_value(entry, value)
            for other in entries:
                other.is_primary = False
            entries.append(entry)
    settle(contact, ch, login)


def clear_lists(contact: Contact) -> None:
    """Remove every entry of both lists, and so the contact's e-mail and phone (a person
    forgotten)."""
    for ch in CHANNELS.values():
        ch.entries(contact).clear()     # (delete-orphan: the entries are deleted)
        setattr(contact, ch.field, None)


def follow_all(contact: Contact, login: str) -> None:
    for ch in CHANNELS.values():
        follow(contact, ch, login)


# -- the services of the list doors (CLI, API, the E-mails and Phones sheets) ---------------

def _contact(session: Session, contact_id: Any) -> Contact:
    """The contact, locked for the change, with its lists as they are now."""
    found = session.scalar(select(Contact).where(Contact.id == contact_id).with_for_update()
                           .options(selectinload(Contact.emails), selectinload(Contact.phones))
                           .execution_options(populate_existing=True))
    if found is None:
        raise ValidationFailed([Problem("contact_id", "not_found",
                                        f"there is no contact #{contact_id}; `backoffice contacts list` shows them")])
    return found


def _entry(session: Session, ch: Channel, entry_id: int, of_contact: int | None = None) -> tuple[Contact, Any]:
    """The entry and its contact (locked); `of_contact`: the contact it must belong to."""
    contact_id = session.scalar(select(ch.model.contact_id).where(ch.model.id == entry_id))
    if contact_id is None or of_contact not in (None, contact_id):
        raise NotFound(f"there is no {ch.what} #{entry_id}; `backoffice contacts show CONTACT` lists them")
    contact = _contact(session, contact_id)
    return contact, next(e for e in ch.entries(contact) if e.id == entry_id)


def find_entry(session: Session, actor: Actor, which: str, contact_id: int, value: str) -> Any:
    """The entry of a contact's list holding `value` (an address in any case, a number in
    any punctuation)."""
    actor.require("read", "contacts")
    ch = channel(which)
    contact = _contact(session, contact_id)
    found = next((e for e in ch.entries(contact) if ch.key(getattr(e, ch.value)) == ch.key(value)), None)
    if found is None:
        raise NotFound(f"contact #{contact_id} has no {ch.what} {value}", field=ch.value)
    return found


def _checked(ch: Channel, contact: Contact, values: dict[str, Any], other_than: Any = None) -> None:
    problems = ch.check(values)
    value = values.get(ch.value)
    if value and not any(p.field == ch.value for p in problems):
        taken = {ch.key(getattr(e, ch.value)) for e in ch.entries(contact) if e is not other_than}
        problems += rules.check_once(ch.name, value, ch.value, taken)
    if problems:
        raise ValidationFailed(problems)


def add_entry(session: Session, actor: Actor, which: str, contact_id: int, value: str | None,
              kind: str | None = None, primary: bool = False) -> Any:
    """Add an address or number to a contact's list (primary if asked, or if it is the first)."""
    actor.require("write", "contacts")
    ch = channel(which)
    contact = _contact(session, contact_id)
    values = {ch.value: ch.tidy(value), "kind": (kind or DEFAULT_KIND).strip().lower()}
    _checked(ch, contact, values)
    entry = ch.model(kind=values["kind"], is_primary=False, updated_by=actor.login)
    ch.set_value(entry, values[ch.value])
    entries = ch.entries(contact)
    if primary:
        for other in entries:
            other.is_primary = False
        entry.is_primary = True
    entries.append(entry)
    settle(contact, ch, actor.login)
    session.flush()
    return entry


def change_entry(session: Session, actor: Actor, which: str, entry_id: int, expected_version: int | None,
                 changes: Mapping[str, Any], of_contact: int | None = None) -> Any:
    """Change an entry's value, kind or primary mark (`is_primary` true makes it the
    primary; false on the primary makes the oldest other entry primary)."""
    actor.require("write", "contacts")
    ch = channel(which)
    contact, entry = _entry(session, ch, entry_id, of_contact)
    require_version(entry, expected_version)
    if "contact_id" in changes and changes["contact_id"] != contact.id:
        raise ValidationFailed([Problem("contact_id", "set_once", "an entry stays with its contact: "
                                        "remove it and add it to the other contact")])
    values = {ch.value: ch.tidy(changes[ch.value]) if ch.value in changes else getattr(entry, ch.value),
              "kind": (changes.get("kind") or "").strip().lower() or None if "kind" in changes else entry.kind}
    _checked(ch, contact, values, other_than=entry)
    if getattr(entry, ch.value) != values[ch.value]:
        ch.set_value(entry, values[ch.value])
    entry.kind = values["kind"]
    if "is_primary" in changes and bool(changes["is_primary"]) != entry.is_primary:
        entries = _order(ch.entries(contact))
        if changes["is_primary"]:
            for other in entries:
                other.is_primary = other is entry
        else:
            entry.is_primary = False
            successor = next((e for e in entries if e is not entry), None)
            if successor is not None:
                successor.is_primary = True
            else:
                entry.is_primary = True   # the only entry stays primary
    entry.updated_by = actor.login
    settle(contact, ch, actor.login)
    session.flush()
    return entry


def make_primary(session: Session, actor: Actor, which: str, entry_id: int,
                 expected_version: int | None = None, of_contact: int | None = None) -> Any:
    return change_entry(session, actor, which, entry_id, expected_version, {"is_primary": True}, of_contact)


def remove_entry(session: Session, actor: Actor, which: str, entry_id: int,
                 expected_version: int | None = None, of_contact: int | None = None) -> Contact:
    """Remove an entry; if it was the primary, the oldest remaining one becomes primary."""
    actor.require("write", "contacts")
    ch = channel(which)
    contact, entry = _entry(session, ch, entry_id, of_contact)
    require_version(entry, expected_version)
    ch.entries(contact).remove(entry)
    settle(contact, ch, actor.login)
    session.flush()
    return contact


def get_entry(session: Session, which: str, entry_id: int, of_contact: int | None = None) -> Any:
    return _entry(session, channel(which), entry_id, of_contact)[1]


def entry_dict(ch: Channel, entry: Any) -> dict[str, Any]:
    return {"id": entry.id, "version": entry.version, "contact_id": entry.contact_id, "kind": entry.kind,
            ch.value: getattr(entry, ch.value), "primary": entry.is_primary}


# -- the workbook: contacts saved in bulk, entries removed in bulk --------------------------

Changed = dict[str, list[int]]   # table name -> ids of the records changed (SheetSpec.after)


def settle_contacts(session: Session, login: str, contact_ids: Iterable[int]) -> Changed:
    """`settle` both lists of these contacts (after entries were saved or deleted in bulk)."""
    contacts = _loaded(session, contact_ids)
    for contact in contacts.values():
        for ch in CHANNELS.values():
            settle(contact, ch, login)
    session.flush()
    return _records_of(contacts.values())


def follow_contacts(session: Session, login: str, contact_ids: Iterable[int]) -> Changed:
    """`follow` both fields of these contacts (after they were updated in bulk)."""
    contacts = _loaded(session, contact_ids)
    for contact in contacts.values():
        follow_all(contact, login)
    session.flush()
    return _records_of(contacts.values())


def _records_of(contacts: Iterable[Contact]) -> Changed:
    """The contacts and their entries, by table."""
    contacts = list(contacts)
    return {"contacts": [c.id for c in contacts],
            **{ch.model.__tablename__: [e.id for c in contacts for e in ch.entries(c)] for ch in CHANNELS.values()}}


def _loaded(session: Session, contact_ids: Iterable[int]) -> dict[int, Contact]:
    ids = sorted(set(contact_ids))
    found: dict[int, Contact] = {}
    for start in range(0, len(ids), 1000):
        query = (select(Contact).where(Contact.id.in_(ids[start:start + 1000]))
                 .options(selectinload(Contact.emails), selectinload(Contact.phones))
                 .execution_options(populate_existing=True))
        found.update((c.id, c) for c in session.scalars(query))
    return found


def add_primaries(session: Session, rows: Sequence[Mapping[str, Any]]) -> Changed:
    """The primary entries of new contacts (`rows`: their stored values, with id) saved in
    bulk with their audit rows: a sheet of 10,000 new people is three inserts, not 30,000.

    Each entry goes as one tuple, its version, time stamps and author given once for all
    (`insert_rows`), and its audit row as a tuple too (`write_audit_entries`). Both lists'
    ids are taken before either is written: while a sync writes behind, taking ids on
    PostgreSQL waits for the rows queued before (engine.db.write_behind), once, not twice."""
    context = session.info["audit"]
    sheet = context.posting_row[0] if context.posting_row else None
    now = utcnow()
    connection = session.connection()
    added: Changed = {}
    if connection.dialect.name == "postgresql" and rows:
        _contacts_checked_at_commit(connection)
    entries = {ch: [(row["id"], row[ch.field]) for row in rows if row.get(ch.field)] for ch in CHANNELS.values()}
    taken = {ch: allocate_ids(connection, ch.model.__table__, len(new)) for ch, new in entries.items() if new}
    for ch, ids in taken.items():
        new = entries[ch]
        table = ch.model.__table__
        name = ch.model.__tablename__
        added[name] = ids
        # each a primary entry of the default kind, saved now by the sync's user
        shared = {"kind": DEFAULT_KIND, "is_primary": True, "version": 1, "created_at": now, "updated_at": now,
                  "updated_by": context.actor}
        if not _copied_from_contacts(connection, ch, ids, new, rows, shared):
            insert_rows(connection, table, *ch.new_rows(ids, new), same=shared)
        write_audit_entries(connection, context, [
            (name, new_id, "insert", {"contact_id": (None, contact_id), "kind": (None, DEFAULT_KIND),
                                      ch.value: (None, value), "is_primary": (None, True)}, sheet, None)
            for new_id, (contact_id, value) in zip(ids, new, strict=True)])
    return added


def _contacts_checked_at_commit(connection: Any) -> None:
    """On PostgreSQL, the lists' foreign keys to contacts checked at the end of this
    transaction, not at the end of each COPY (migration 0022 made them deferrable): the new
    entries name contacts inserted a moment before in the same transaction, and the server
    checks them while the sync writes its workbook and commits, instead of keeping it
    waiting at every chunk (about 7 s of a million people's sync). Nothing else this
    transaction adds to the lists comes without being checked first by the services."""
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(fk.constraint.name) for ch in CHANNELS.values() for fk in ch.model.__table__.foreign_keys
                      if fk.column.table is Contact.__table__)
    run_in_turn(connection, text(f"SET CONSTRAINTS {names} DEFERRED"))   # (names from our own metadata)


def _copied_from_contacts(connection: Any, ch: Channel, ids: Sequence[int], new: Sequence[tuple[int, str]],
                          rows: Sequence[Mapping[str, Any]], shared: Mapping[str, Any]) -> bool:
    """On SQLite, the primary e-mail entries of new contacts (`new`: contact id and address,
    in the order of `rows`, the contacts just stored) copied by one INSERT ... SELECT from
    the contacts table, where their addresses were just stored, instead of sent again row
    by row: a million entries took 1.9 s that way, 3.4 s by executemany, which binds every
    value of every row holding Python's lock. Returns whether it did.

    Only where the entries' ids can be counted off in the contacts' order: `rows` are the
    contacts of one run of ids (every contact in it new now), and `ids` one run too (on
    SQLite they always are); then the k-th contact with an address in id order gets the k-th
    id, as `new_rows` gives it. A phone entry also holds its digits, worked out in Python, so
    phones go row by row. Fewer or more entries than `new` (which cannot happen while `rows`
    are the contacts as stored) raise, and the sync's transaction is rolled back."""
    if ch is not EMAIL or connection.dialect.name != "sqlite" or not new:
        return False
    first, count = rows[0]["id"], len(rows)
    if ids[-1] - ids[0] != len(ids) - 1 or list(map(itemgetter("id"), rows)) != list(range(first, first + count)):
        return False
    contacts, table = Contact.__table__, ContactEmail.__table__
    number = func.row_number().over(order_by=contacts.c.id)
    # (each shared value as the driver takes it, converted here by its column's own type)
    values = [literal(converter(connection, table, key)(value)) for key, value in shared.items()]
    source = (select(bindparam("before", ids[0] - 1, Integer) + number, contacts.c.id, contacts.c.email, *values)
              .where(contacts.c.id.between(first, first + count - 1), contacts.c.email.is_not(None),
                     contacts.c.email != ""))
    insert_selected(connection, insert(table).from_select(["id", "contact_id", "address", *shared], source), len(new))
    return True
