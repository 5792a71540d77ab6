"""Merging two contacts: every reference to the dropped one, in every module, moves to the
kept one in one transaction, and the dropped one is deleted.

The references are found, not listed: every foreign key to `contacts.id` in the schema of the
modules switched on (`references`), the self-reference `contacts.organisation_id` (an
organisation's people) included. A module switched off takes no part: if its tables still
refer to the dropped contact, the merge is refused (its records would be left pointing at
nothing, and its own rules, which run only when it is on, could not take part). What no
foreign key shows (quality's `supplier_key`, the contact ids in a mail run's JSON) is the
owning module's: it listens to `hooks.merging` (see there) and adds its conflicts and changes
to the plan.

The contact's own lists move deduplicated: an e-mail address, a phone number (compared by its
last digits) or a postal address the kept contact already has is removed, and the dropped
contact's primary e-mail or phone becomes a secondary one when the kept contact has its own.
The kept contact keeps its values (the dropped one's that differ are listed in the plan as
`not_kept`, for the person merging to see first); its empty fields are filled from the dropped one; it is
opted out if either was (never write to someone who asked not to be written to); tags are
united and notes joined.

Refused, with nothing changed, when a person must decide (`MergePlan.conflicts`): two kinds,
two people of different organisations, two countries (a contact's country decides its tax,
currency and the form of its letters: which one is right is not the merge's to guess), a row
per contact that both have (an employee record each; a message each in one mail run), a
contact and one of its own people, a contact and itself.

Re-pointing is one UPDATE per column (a supplier with 50,000 stock movements is one
statement), bumping the version of each row and auditing it ({column: [drop, keep]}); one
more audit row on the kept contact records the merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, UniqueConstraint, delete, func, select, update
from sqlalchemy.orm import Session

from engine import registry
from engine.contacts import hooks, rules
from engine.contacts.duplicates import phone_key
from engine.contacts.models import Address, Contact, ContactEmail, ContactPhone
from engine.db.audit import write_audit
from engine.db.base import Base, utcnow
from engine.errors import NotFound, ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor

# Filled on the kept contact from the dropped one when empty.
FILLED = ("first_name", "last_name", "organisation_id", "job_title", "email", "phone", "website")
LISTS = ("addresses", "contact_emails", "contact_phones")
TAGS_LIMIT = Contact.__table__.c.tags.type.length


@dataclass(frozen=True)
class Reference:
    """A column referring to contacts.id, and the module whose table it is ("" for the kernel)."""

    table: Table
    column: Column
    module: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


@dataclass
class Change:
    """Rows of a table that the merge changes: re-pointed, moved or removed."""

    table: str
    column: str
    rows: int
    action: str = "re-pointed"
    apply: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "rows": self.rows, "action": self.action}


@dataclass
class MergePlan:
    """What merging `drop` into `keep` would do; listeners of `hooks.merging` add to it."""

    keep: int
    drop: int
    keep_name: str = ""
    drop_name: str = ""
    conflicts: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    filled: dict[str, Any] = field(default_factory=dict)   # the kept contact's fields that change
    # The dropped contact's values that differ from the kept one's and are not kept:
    # {field: [dropped value, kept value]}, for the person deciding to see before they merge.
    not_kept: dict[str, list[Any]] = field(default_factory=dict)
    done: bool = False

    def refuse(self, field: str, code: str, message: str) -> None:
        """A conflict a person must decide: the merge is refused, naming `field`."""
        self.conflicts.append(Problem(field, code, message))

    def change(self, table: str, column: str, rows: int, apply: Callable[[], Any],
               action: str = "re-pointed") -> None:
        """Rows that change; `apply` makes the change (not called on a dry run)."""
        if rows:
            self.changes.append(Change(table, column, rows, action, apply))

    def as_dict(self) -> dict[str, Any]:
        return {"keep": {"id": self.keep, "name": self.keep_name}, "drop": {"id": self.drop, "name": self.drop_name},
                "merged": self.done, "changes": [c.as_dict() for c in self.changes], "filled": dict(self.filled),
                "not_kept": dict(self.not_kept),
                "rows": sum(c.rows for c in self.changes)}


# -- the references in the schema ------------------------------------------------------------

def references(reg: registry.Registry | None = None) -> tuple[list[Reference], list[Reference]]:
    """Every column with a foreign key to contacts.id: (those of the modules switched on, and
    of the kernel; those of the modules switched off). Every module's tables are loaded first."""
    reg = reg or registry.current()
    modules = {**(reg.off.modules if reg.off else {}), **reg.modules}
    owner = {m.models: m.name for m in modules.values() if m.models}
    for path in owner:
        registry.load(path)
    table_module = {mapper.local_table.name: owner.get(mapper.class_.__module__, "")
                    for mapper in Base.registry.mappers if mapper.local_table is not None}
    contacts_id = Contact.__table__.c.id
    on, off = [], []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column is contacts_id:
                module = table_module.get(table.name, "")
                (on if not module or reg.is_on(module) else off).append(Reference(table, key.parent, module))
    return sorted(on, key=_named), sorted(off, key=_named)


def _named(ref: Reference) -> tuple[str, str]:
    return ref.table.name, ref.column.name


def unique_sets(table: Table, column: Column) -> list[tuple[Column, ...]]:
    """The column sets of `table` that must be unique and include `column`."""
    sets = {tuple(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)}
    sets |= {tuple(i.columns) for i in table.indexes if i.unique}
    if column.unique:
        sets.add((column,))
    return sorted((s for s in sets if column in s), key=lambda s: [c.name for c in s])


# -- the plan ------------------------------------------------------------------------------------

def plan_merge(session: Session, actor: Actor, keep_id: int, drop_id: int) -> MergePlan:
    """What merging `drop_id` into `keep_id` would change, and the conflicts; changes nothing."""
    actor.require("write", "contacts")
    if keep_id == drop_id:
        raise ValidationFailed([Problem("drop", "same_contact", f"#{keep_id} cannot be merged with itself")])
    keep, drop = _locked(session, keep_id, drop_id)
    plan = MergePlan(keep.id, drop.id, keep.name, drop.name)
    _check_the_two(plan, keep, drop)
    on, off = references()
    _check_switched_off(session, plan, off)
    for ref in on:
        if ref.table.name in LISTS:
            continue
        _check_unique(session, plan, ref, keep, drop)
        rows = _count(session, ref.column, drop.id)
        plan.change(ref.table.name, ref.column.name, rows,
                    lambda ref=ref: repoint(session, actor, ref.table, ref.column, drop.id, keep.id))
    _plan_lists(session, actor, plan, keep, drop)
    plan.filled = _filled(plan, keep, drop)
    plan.not_kept = _not_kept(keep, drop)
    hooks.merging.announce(session, actor, keep, drop, plan)
    return plan


def merge_contacts(session: Session, actor: Actor, keep_id: int, drop_id: int, dry_run: bool = False) -> MergePlan:
    """Merge `drop_id` into `keep_id` (see the module's docstring); with `dry_run`, only say
    what would change. Refused with every conflict, nothing changed, when a person must decide."""
    plan = plan_merge(session, actor, keep_id, drop_id)
    if plan.conflicts:
        raise ValidationFailed(plan.conflicts)
    if dry_run:
        return plan
    for change in plan.changes:
        change.apply()
    keep, drop = session.get(Contact, keep_id), session.get(Contact, drop_id)
    for name, value in plan.filled.items():
        setattr(keep, name, value)
    if plan.filled:
        keep.name_key = rules.name_key(keep.name)
        keep.updated_by = actor.login
    session.expire(drop)           # its lists moved underneath the session: nothing left to cascade
    session.delete(drop)
    session.flush()
    write_audit(session.connection(), session.info["audit"], [
        {"table_name": "contacts", "record_id": keep.id, "action": "merge",
         "changes": {"merged": [drop_id, keep_id], "name": [plan.drop_name, plan.keep_name],
                     "rows": [None, sum(c.rows for c in plan.changes)]}}])
    plan.done = True
    return plan


def _locked(session: Session, keep_id: int, drop_id: int) -> tuple[Contact, Contact]:
    """The two contacts, locked (PostgreSQL) so that nothing new comes to refer to them while
    they are merged; in the order of their ids, so two merges of the same two wait, not deadlock."""
    found = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_((keep_id, drop_id)))
                                              .order_by(Contact.id).with_for_update())}
    for which, contact_id in (("keep", keep_id), ("drop", drop_id)):
        if contact_id not in found:
            raise NotFound(f"there is no contact #{contact_id}; `backoffice contacts list` shows them", field=which)
    return found[keep_id], found[drop_id]


def _label(contact: Contact) -> str:
    return f"#{contact.id} {contact.name}"


def _check_the_two(plan: MergePlan, keep: Contact, drop: Contact) -> None:
    if keep.kind != drop.kind:
        plan.refuse("kind", "conflict", f"{_label(keep)} is {_a(keep.kind)} and {_label(drop)} {_a(drop.kind)}: "
                    "a person and an organisation are not one party (link the person to the organisation instead)")
    if keep.organisation_id == drop.id or drop.organisation_id == keep.id:
        person, org = (keep, drop) if keep.organisation_id == drop.id else (drop, keep)
        plan.refuse("organisation_id", "own_person", f"{_label(person)} is one of the people of {_label(org)}: "
                    "a contact cannot be merged with one of its own people")
    elif keep.organisation_id and drop.organisation_id and keep.organisation_id != drop.organisation_id:
        plan.refuse("organisation_id", "conflict", f"{_label(keep)} belongs to organisation #{keep.organisation_id} "
                    f"and {_label(drop)} to #{drop.organisation_id}: correct one of them first")
    if keep.country != drop.country:
        plan.refuse("country", "conflict", f"{_label(keep)} is in {keep.country} and {_label(drop)} in "
                    f"{drop.country}: the country decides tax, currency and letters, so correct one of them first")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _check_switched_off(session: Session, plan: MergePlan, off: Iterable[Reference]) -> None:
    for ref in off:
        rows = _count(session, ref.column, plan.drop)
        if rows:
            plan.refuse(ref.name, "module_off", f"{rows} row{'s' if rows != 1 else ''} of {ref.table.name} (the "
                        f"{ref.module} module, switched off) refer to #{plan.drop}: switch {ref.module} on to merge")


def _check_unique(session: Session, plan: MergePlan, ref: Reference, keep: Contact, drop: Contact) -> None:
    """Refuse when re-pointing would give the kept contact two rows where one is allowed."""
    for columns in unique_sets(ref.table, ref.column):
        others = [c for c in columns if c is not ref.column]
        if not others:
            both = _count(session, ref.column, keep.id) and _count(session, ref.column, drop.id)
            if both:
                plan.refuse(ref.name, "unique", f"{_label(keep)} and {_label(drop)} each have a row in "
                            f"{ref.table.name}, which allows one per contact: decide which one is right first")
            continue
        shared = _values(session, others, ref.column, keep.id) & _values(session, others, ref.column, drop.id)
        if shared:
            named = ", ".join(c.name for c in others)
            sample = ", ".join("/".join(map(str, v)) for v in sorted(shared)[:5])
            plan.refuse(ref.name, "unique", f"{_label(keep)} and {_label(drop)} both have a row in {ref.table.name} "
                        f"with the same {named} ({sample}), which allows one per contact: decide which is right first")


def _values(session: Session, columns: list[Column], column: Column, contact_id: int) -> set[tuple[Any, ...]]:
    """The values of `columns` in the rows referring to `contact_id` (a NULL is unique to itself)."""
    found = session.execute(select(*columns).where(column == contact_id))
    return {tuple(row) for row in found if None not in row}


def _count(session: Session, column: Column, contact_id: int) -> int:
    return session.scalar(select(func.count()).select_from(column.table).where(column == contact_id)) or 0


def _filled(plan: MergePlan, keep: Contact, drop: Contact) -> dict[str, Any]:
    """The kept contact's fields as the merge leaves them, where they change."""
    values = {name: getattr(keep, name) for name in ("kind", "name", "tags", "notes", "opt_out", *FILLED)}
    for name in FILLED:
        if values[name] in (None, "") and getattr(drop, name) not in (None, ""):
            values[name] = getattr(drop, name)
    values["opt_out"] = keep.opt_out or drop.opt_out
    values["tags"] = rules.normalise_tags(", ".join(t for t in (keep.tags, drop.tags) if t))
    if values["tags"] and len(values["tags"]) > TAGS_LIMIT:
        plan.refuse("tags", "too_long", f"the two contacts' tags together are longer than {TAGS_LIMIT} characters: "
                    "remove some first")
    if drop.notes and drop.notes != keep.notes:
        joined = f"[from {_label(drop)}] {drop.notes}"
        values["notes"] = f"{keep.notes}\n{joined}" if keep.notes else joined
    rules.normalise_contact(values)           # a person's name from the first and last names
    return {name: value for name, value in values.items() if value != getattr(keep, name) and name != "kind"}


def _not_kept(keep: Contact, drop: Contact) -> dict[str, list[Any]]:
    """The dropped contact's own values the kept one's win over (its e-mail and phone are not
    lost: they join the kept contact's lists; a person's name follows their first and last)."""
    fields = ("first_name", "last_name", "job_title", "website") if keep.kind == "person" else ("name", "website")
    return {name: [getattr(drop, name), getattr(keep, name)] for name in fields
            if getattr(drop, name) not in (None, "") and getattr(keep, name) not in (None, "")
            and getattr(drop, name) != getattr(keep, name)}


# -- the contact's own lists ------------------------------------------------------------------

def _plan_lists(session: Session, actor: Actor, plan: MergePlan, keep: Contact, drop: Contact) -> None:
    """Addresses, e-mail addresses and phone numbers move to the kept contact, but for those
    it has already; the dropped one's primary becomes secondary if the kept one has its own."""
    def same_address(row: Any) -> tuple[Any, ...]:
        return row.kind, rules.postcode_key(row.postcode), rules.name_key(row.line1 or ""), rules.name_key(row.city)

    lists = (
        (Address.__table__, same_address, False),
        (ContactEmail.__table__, lambda row: (row.address or "").lower(), bool(keep.email)),
        (ContactPhone.__table__, lambda row: phone_key(row.digits) or row.digits, bool(keep.phone)),
    )
    for table, key, keep_has_primary in lists:
        rows = {cid: list(session.execute(select(table).where(table.c.contact_id == cid).order_by(table.c.id)))
                for cid in (keep.id, drop.id)}
        kept = {key(row) for row in rows[keep.id]}
        removed = [row.id for row in rows[drop.id] if key(row) in kept]
        moved = [row.id for row in rows[drop.id] if key(row) not in kept]
        also = {}
        if "is_primary" in table.c and (keep_has_primary or any(r.is_primary for r in rows[keep.id])):
            also = {"is_primary": False}
        plan.change(table.name, "contact_id", len(removed), lambda t=table, ids=removed: remove(session, t, ids),
                    action="removed (the kept contact has it)")
        plan.change(table.name, "contact_id", len(moved),
                    lambda t=table, ids=moved, also=also: repoint(session, actor, t, t.c.contact_id, drop.id, keep.id,
                                                                   also=also, only=ids), action="moved")


# -- changing rows in bulk -----------------------------------------------------------------------

def repoint(session: Session, actor: Actor, table: Table, column: Column, drop: int, keep: int,
            also: Mapping[str, Any] | None = None, only: list[int] | None = None) -> int:
    """Set `column` from `drop` to `keep` (and the `also` values) on every row of `table`
    holding `drop` (or those of `only`), in one statement: each row's version goes up, and
    each is audited with what changed. Returns the number of rows. A module listening to
    `hooks.merging` re-points its own columns with it too."""
    also = dict(also or {})
    condition = column == drop
    if only is not None:
        condition = condition & table.c.id.in_(only)
    before = list(session.execute(select(table.c.id, *(table.c[name] for name in also)).where(condition)))
    if not before:
        return 0
    values: dict[str, Any] = {column.name: keep, **also}
    if "version" in table.c:
        values["version"] = table.c.version + 1
    if "updated_by" in table.c:
        values["updated_by"] = actor.login
    if "updated_at" in table.c:
        values["updated_at"] = utcnow()
    session.execute(update(table).where(condition).values(values))
    audit = []
    for row in before:
        changes = {column.name: [drop, keep]}
        changes.update({name: [old, new] for (name, new), old in zip(also.items(), row[1:], strict=True) if old != new})
        audit.append({"table_name": table.name, "record_id": row[0], "action": "update", "changes": changes})
    write_audit(session.connection(), session.info["audit"], audit)
    return len(before)


def remove(session: Session, table: Table, ids: list[int]) -> int:
    """Delete these rows of `table`, auditing each with the values it had."""
    if not ids:
        return 0
    shown = [c for c in table.c if c.name not in ("id", "version", "created_at", "updated_at", "updated_by")]
    rows = list(session.execute(select(table).where(table.c.id.in_(ids))))
    session.execute(delete(table).where(table.c.id.in_(ids)))
    write_audit(session.connection(), session.info["audit"], [
        {"table_name": table.name, "record_id": row.id, "action": "delete",
         "changes": {c.name: [row._mapping[c], None] for c in shown if row._mapping[c] is not None}}
        for row in rows])
    return len(rows)
