"""A person's erasure request: remove or anonymise what the law allows once nothing holds it,
and say what is kept and why.

`erase_contact` builds an `ErasurePlan`: the contacts module adds its own part, and every
module holding something about the person takes part through the `erasing` hook
(`engine.contacts.hooks`), each listener a bridge its module declares:

    listener(session, actor, plan)

A listener reads, and on the plan:

- `refuse(field, code, message)`: something holds the data (an open invoice, an employee
  record not purged, an open opportunity); the erasure is refused with every problem and
  nothing changes;
- `hold_name(reason, until)`: the person's name and billing address must stay (the books
  name them, within their retention);
- `keep(...)`: what stays, and why (said in the response);
- `delete(...)` / `blank(...)`: rows removed, or columns emptied or overwritten.

Then, unless refused or a dry run, the removals are carried out in the reverse order they
were planned: a module registers after the modules it is built on, so its records (a task
linked to an opportunity) go before those they refer to. They are made with plain UPDATE
and DELETE statements, not through the ORM, so the audit log does not receive the values
being erased once more: one audit row records the erasure (the tables and record ids
changed, what is kept and why; no personal value).

The audit log itself is append-only (database triggers) and hash-chained: the history of
changes made before the erasure keeps the values it recorded. The response says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from engine.contacts import hooks, references
from engine.contacts.export import person
from engine.contacts.models import Address, Contact, ContactEmail, ContactPhone
from engine.db.audit import write_audit
from engine.db.base import utcnow
from engine.errors import ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor

AUDIT_REASON = ("the audit log is append-only (the database refuses changes to it) and hash-chained, so that "
                "no one can rewrite history: the entries recorded before the erasure keep the values they "
                "recorded; the erasure adds none")
LINK_REASON = ("refers to the contact by its number only; nothing in it names the person once the contact is "
               "anonymised")


def erased_name(contact_id: int) -> str:
    return f"erased contact #{contact_id}"


@dataclass(frozen=True)
class Kept:
    """Something that stays, and why. `columns` empty: the whole rows; `record_ids` empty:
    every row of the table (the audit log)."""

    table: str
    what: str
    reason: str
    columns: tuple[str, ...] = ()
    record_ids: tuple[int, ...] = ()
    until: date | None = None


@dataclass(frozen=True)
class Removal:
    """Rows deleted (`values` None) or with columns set to `values`."""

    table: Table
    what: str
    record_ids: tuple[int, ...]
    values: Mapping[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        return {"table": self.table.name, "what": self.what, "records": len(self.record_ids),
                "action": "deleted" if self.values is None else "anonymised",
                "columns": sorted(self.values) if self.values is not None else []}


@dataclass
class ErasurePlan:
    contact_id: int
    today: date
    retention_years: int
    refusals: list[Problem] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    name_held: list[tuple[str, date]] = field(default_factory=list)

    @property
    def erased_name(self) -> str:
        return erased_name(self.contact_id)

    def refuse(self, field: str, code: str, message: str) -> None:
        self.refusals.append(Problem(field, code, message))

    def hold_name(self, reason: str, until: date) -> None:
        """The person's name and billing address stay on the contact, for `reason`."""
        self.name_held.append((reason, until))

    def keep(self, table: str, what: str, reason: str, columns: tuple[str, ...] = (),
             record_ids: list[int] | tuple[int, ...] = (), until: date | None = None) -> None:
        self.kept.append(Kept(table, what, reason, tuple(columns), tuple(sorted(record_ids)), until))

    def delete(self, table: Table, record_ids: list[int], what: str) -> None:
        if record_ids:
            self.removals.append(Removal(table, what, tuple(sorted(record_ids))))

    def blank(self, table: Table, record_ids: list[int], values: Mapping[str, Any], what: str) -> None:
        if record_ids:
            self.removals.append(Removal(table, what, tuple(sorted(record_ids)), dict(values)))

    def planned(self, table: str) -> set[int]:
        """The ids of `table` some removal takes care of."""
        return {i for r in self.removals if r.table.name == table for i in r.record_ids}

    def kept_ids(self, table: str) -> set[int]:
        return {i for k in self.kept if k.table == table for i in k.record_ids}

    def answer(self, done: bool) -> dict[str, Any]:
        kept = [{**asdict(k), "columns": list(k.columns), "record_ids": list(k.record_ids)} for k in self.kept]
        return {"contact_id": self.contact_id, "erased": done, "now": self.erased_name if not self.name_held
                else f"contact #{self.contact_id} (name and billing address kept)",
                "removed" if done else "would_remove": [r.describe() for r in reversed(self.removals)],
                "kept": kept}


def _ids(session: Session, column: Any, value: Any) -> list[int]:
    table = column.table
    return list(session.scalars(select(table.c.id).where(column == value).order_by(table.c.id)))


def plan_own_part(session: Session, plan: ErasurePlan) -> None:
    """The contacts module's own part, once the other modules have said what holds the name."""
    cid = plan.contact_id
    plan.delete(ContactEmail.__table__, _ids(session, ContactEmail.contact_id, cid), "e-mail addresses")
    plan.delete(ContactPhone.__table__, _ids(session, ContactPhone.contact_id, cid), "phone numbers")
    addresses = session.execute(select(Address.id, Address.kind).where(Address.contact_id == cid)).all()
    details = {"job_title": None, "email": None, "phone": None, "website": None, "tags": None, "notes": None,
               "organisation_id": None, "opt_out": True}
    if plan.name_held:
        reason, until = max(plan.name_held, key=lambda held: held[1])
        billing = [i for i, kind in addresses if kind == "billing"]
        plan.keep("contacts", "name", reason, ("name", "first_name", "last_name", "name_key"), [cid], until)
        if billing:
            plan.keep("addresses", "billing address", reason, ("line1", "line2", "city", "postcode", "region",
                                                               "country"), billing, until)
        plan.delete(Address.__table__, [i for i, kind in addresses if kind != "billing"], "other addresses")
    else:
        details |= {"name": plan.erased_name, "name_key": plan.erased_name, "first_name": None, "last_name": None}
        plan.delete(Address.__table__, [i for i, _ in addresses], "addresses")
    plan.blank(Contact.__table__, [cid], details, "the contact's details (the row stays: other records refer to it)")
    plan.keep("audit_log", "the history of changes", AUDIT_REASON)


def plan_links_kept(session: Session, plan: ErasurePlan) -> None:
    """Every other row referring to the contact that no module removes or keeps: kept, saying so."""
    tables = references.switched_on_tables()
    for column in references.referring_columns(tables):
        table = column.table.name
        if table in ("contacts", "addresses", "contact_emails", "contact_phones"):
            continue
        left = set(_ids(session, column, plan.contact_id)) - plan.planned(table) - plan.kept_ids(table)
        if left:
            plan.keep(table, f"{table.replace('_', ' ')} naming it as {column.name}", LINK_REASON, (), sorted(left))


def carry_out(session: Session, actor: Actor, plan: ErasurePlan) -> None:
    session.flush()
    changed: dict[str, list[int]] = {}
    for removal in reversed(plan.removals):
        table, ids = removal.table, list(removal.record_ids)
        if removal.values is None:
            session.execute(delete(table).where(table.c.id.in_(ids)))
        else:
            session.execute(update(table).where(table.c.id.in_(ids)).values(
                **removal.values, version=table.c.version + 1, updated_at=utcnow(), updated_by=actor.login))
        changed.setdefault(table.name, []).extend(ids)
    kept = [f"{k.table}: {k.what}" + (f" until {k.until}" if k.until else "") for k in plan.kept]
    write_audit(session.connection(), session.info["audit"], [
        {"table_name": "contacts", "record_id": plan.contact_id, "action": "erase",
         "changes": {"erased": [None, {"removed": changed, "kept": kept}]}}])
    session.expire_all()


def erase_contact(session: Session, actor: Actor, contact_id: int, retention_years: int,
                  today: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Erase the person `contact_id` (see the module docstring): refused with every problem
    when something holds their data; with `dry_run`, says what would be removed and kept and
    changes nothing. Answers what was removed and what is kept, and why."""
    person(session, actor, contact_id)
    # Locked until the transaction ends: a second erasure, or a change of the contact, waits.
    session.execute(select(Contact.id).where(Contact.id == contact_id).with_for_update())
    plan = ErasurePlan(contact_id, today or date.today(), retention_years)
    hooks.erasing.announce(session, actor, plan)
    if plan.refusals:
        raise ValidationFailed(plan.refusals)
    plan_own_part(session, plan)
    plan_links_kept(session, plan)
    if not dry_run:
        carry_out(session, actor, plan)
    return plan.answer(done=not dry_run)
