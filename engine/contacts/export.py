"""A person's data-subject access request: everything held about them, in one JSON document.

What is in it (the depth, decided once here):

1. the contact row itself;
2. every row of every table of the modules switched on that refers to the contact (each
   foreign key to `contacts.id`, found from the schema: `references`): its e-mails, phones
   and addresses, invoices, payments, journal lines, employee record, interactions,
   opportunities, tasks, mail messages, the lots and movements it supplied...;
3. the rows that are part of the person's own records of step 2 (those that refer to the
   contact by `contact_id`): rows whose non-empty foreign key points at one of them (an
   invoice's lines and allocations, a payment's allocations, an employee's contracts, leave
   requests, staff costs and asset assignments). Rows that merely link to them (a task
   linked to an invoice) and what hangs off a record the person only supplied (an item's
   stock movements) are not about the person and are left out;
4. the rows a module adds through the `exporting` hook, those about the person that no
   foreign key finds (a mail run listing them among the contacts it skipped);
5. the audit log entries of every record of steps 1 to 4.

Sensitive fields (salary, date of birth, a medical reason...) are included: it is the
person's own data, and only a role that can `data-requests` exports. The export is audited
(who exported whom, and how many rows of which tables; no values).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine.contacts import hooks, references
from engine.contacts.services import get_contact
from engine.db.audit import AuditEntry, write_audit
from engine.db.json_values import plain
from engine.errors import ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor

CAPABILITY = "data-requests"
FORMAT = "backoffice-data-subject-export"
DEPTH = ("the contact; every row of every table referring to it; the rows that are part of its own records "
         "(those referring to it by contact_id: an invoice's lines and allocations, an employee's contracts and "
         "leave); the rows modules add as about the person (a mail run that skipped them); the audit log "
         "entries of all of them")


def person(session: Session, actor: Actor, contact_id: int) -> Any:
    """The contact, once the actor may answer data requests and it is a person."""
    actor.require_capability(CAPABILITY)
    contact = get_contact(session, contact_id)
    if contact.kind != "person":
        raise ValidationFailed([Problem("contact_id", "not_a_person",
                                        f"contact #{contact_id} is an organisation: a data-subject request is a "
                                        "person's (export or erase the people who belong to it)")])
    return contact


def _rows(session: Session, table: Table, where: Any) -> list[dict[str, Any]]:
    return [row_values(row) for row in session.execute(select(table).where(where).order_by(table.c.id)).mappings()]


def row_values(row: Any) -> dict[str, Any]:
    """A row (a mapping of columns) as exact JSON values, as the export holds it."""
    return {k: plain(v) for k, v in row.items()}


def held_rows(session: Session, actor: Actor, contact_id: int) -> dict[str, list[dict[str, Any]]]:
    """{table: its rows about the contact}, steps 1 to 4 of the module docstring."""
    tables = references.switched_on_tables()
    found: dict[str, dict[int, dict[str, Any]]] = {}
    contacts = next(t for t in tables if t.name == references.CONTACTS)
    found[contacts.name] = {r["id"]: r for r in _rows(session, contacts, contacts.c.id == contact_id)}
    owned: dict[str, set[int]] = {}
    for column in references.referring_columns(tables):
        rows = _rows(session, column.table, column == contact_id)
        found.setdefault(column.table.name, {}).update({r["id"]: r for r in rows})
        if column.name == "contact_id" and rows:
            owned.setdefault(column.table.name, set()).update(r["id"] for r in rows)
    by_name = {t.name: t for t in tables}
    for parent_name, ids in owned.items():
        for column in references.parts_of(tables, by_name[parent_name]):
            rows = _rows(session, column.table, column.in_(sorted(ids)))
            found.setdefault(column.table.name, {}).update({r["id"]: r for r in rows})
    hooks.exporting.announce(session, actor, contact_id, found)
    return {name: [rows[i] for i in sorted(rows)] for name, rows in found.items() if rows}


def audit_entries(session: Session, held: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The audit log's entries of every record held, oldest first."""
    log: Table = AuditEntry.__table__
    entries: list[dict[str, Any]] = []
    for table, rows in held.items():
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), 500):     # a long IN list is sent in parts
            entries += _rows(session, log, (log.c.table_name == table) & log.c.record_id.in_(ids[start:start + 500]))
    return sorted(entries, key=lambda e: e["id"])


def export_contact(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """Everything held about the person `contact_id`, as exact JSON values; the export is
    audited. Refused (`not_a_person`) for an organisation."""
    person(session, actor, contact_id)
    held = held_rows(session, actor, contact_id)
    log = audit_entries(session, held)
    counts = {table: len(rows) for table, rows in held.items()}
    write_audit(session.connection(), session.info["audit"], [
        {"table_name": references.CONTACTS, "record_id": contact_id, "action": "export",
         "changes": {"exported": [None, {"tables": counts, "audit_entries": len(log)}]}}])
    return {"format": FORMAT, "version": 1, "contact_id": contact_id,
            "exported_at": datetime.now(UTC).isoformat(), "exported_by": actor.login, "depth": DEPTH,
            "contact": held[references.CONTACTS][0], "tables": held, "audit_log": log}
