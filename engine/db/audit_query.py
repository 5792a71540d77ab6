"""Reading the audit log (`backoffice audit`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.audit import AuditEntry
from engine.security.roles import Actor


def audit_entries(
    session: Session,
    actor: Actor,
    table: str | None = None,
    record_id: int | None = None,
    since: date | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Matching entries, oldest first; with `limit`, the most recent `limit` of them."""
    actor.require("read", "audit")
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if table:
        query = query.where(AuditEntry.table_name == table)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if since:
        query = query.where(AuditEntry.at >= datetime.combine(since, time.min, tzinfo=UTC))
    if limit:
        query = query.limit(limit)
    return list(reversed(session.scalars(query).all()))


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "source": entry.source,
        "table": entry.table_name, "record_id": entry.record_id, "action": entry.action,
        "changes": entry.changes, "workbook_id": entry.workbook_id, "sheet": entry.sheet,
        "row": entry.row_number,
    }


def describe_changes(changes: dict[str, Any]) -> str:
    """One line for people: `field: old -> new` per change; a read row (which holds the
    fields handed out, never their values) as `read: medical_reason`."""
    parts = []
    for field, change in changes.items():
        if field == "fields_read":
            parts.append(f"read: {', '.join(change)}")
        else:
            old, new = change
            parts.append(f"{field}: {old!r} -> {new!r}")
    return "; ".join(parts)
