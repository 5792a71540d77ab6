"""The audit log's rows as doors show them (`backoffice audit`); which rows and fields an
actor may read is the policy gate's (`engine.security.audit_log`)."""

from __future__ import annotations

from typing import Any

from engine.db.audit import AuditEntry


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
