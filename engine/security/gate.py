"""THE policy gate: what an acting user may see of a record, in one place.

Every door (workbook export and sync, CLI, Word reports, mail-merge fields, and later the
HTTP API and the add-in) hands records to `project` before showing them, and asks `sees`
before accepting a write to a field. So a field policy (`config/policies.toml`) is applied
the same way everywhere, and a new door cannot forget one:

- a field the actor's role may not see is *absent* from what they get (not blanked, not
  masked), and so is every derived key that comes from it (a department's name from the
  hidden department id);
- handing out a field read under audit (a leave request's medical reason) writes an audit
  row naming the reader, in the caller's unit of work: if that row cannot be written,
  nothing is handed out.

The policy itself comes from `engine.security.policies.active_policies()`: loaded once,
injected by the composition root, replaceable in one place by a test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from engine.db.audit import write_audit
from engine.errors import PermissionDenied
from engine.security.policies import active_policies
from engine.security.roles import Actor

T = TypeVar("T")


def sensitivity(table: str, column: str) -> str | None:
    """The class of data a field holds (None: not sensitive)."""
    return active_policies().sensitivity(table, column)


def sees(actor: Actor, table: str, column: str) -> bool:
    """Whether `actor` may see (and so write) `table.column`."""
    return actor.sees(active_policies().sensitivity(table, column))


def hidden_fields(actor: Actor, table: str) -> frozenset[str]:
    """The columns of `table` that `actor` may not see."""
    return active_policies().hidden_from(actor, table)


def audited(table: str, column: str) -> bool:
    """Whether every hand-out of this field is recorded (policy `audit_reads`)."""
    return active_policies().audited(table, column)


def visible(actor: Actor, table: str, columns: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
    """Those of `columns` (names, or objects named by `key`) that `actor` may see."""
    hidden = hidden_fields(actor, table)
    return [c for c in columns if key(c) not in hidden]


def require_sees(actor: Actor, table: str, column: str, field: str | None = None) -> None:
    """Refuse a write to a field the actor may not see, naming the field."""
    if not sees(actor, table, column):
        raise PermissionDenied(
            f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not set {column.replace('_', ' ')}; "
            "leave it out, or ask someone whose role may see it.", field=field or column)


def project(session: Session, actor: Actor, table: str, records: Iterable[Mapping[str, Any]], *,
            derived: Mapping[str, str] | None = None,
            record_id: Callable[[Mapping[str, Any]], int | None] = lambda r: r.get("id")) -> list[dict[str, Any]]:
    """Each record (a dict keyed by `table`'s columns) as `actor` may see it.

    `derived`: keys that are not columns, each with the column it comes from (hidden with
    it). Audited fields handed out are recorded in `session`'s unit of work, by the record's
    id (`record_id`).
    """
    policies = active_policies()
    hidden = set(policies.hidden_from(actor, table))
    hidden |= {k for k, column in (derived or {}).items() if column in hidden}
    audited_columns = [c for c in policies.by_table.get(table, {}) if c not in hidden and policies.audited(table, c)]
    shown, reads = [], {}
    for record in records:
        visible_record = {k: v for k, v in record.items() if k not in hidden} if hidden else dict(record)
        read = {c: visible_record[c] for c in audited_columns if visible_record.get(c) is not None}
        if read and (rid := record_id(record)) is not None:
            reads.setdefault(rid, {}).update(read)
        shown.append(visible_record)
    record_reads(session, table, reads)
    return shown


def project_one(session: Session, actor: Actor, table: str, record: Mapping[str, Any], **how: Any) -> dict[str, Any]:
    """One record as `actor` may see it (see `project`)."""
    return project(session, actor, table, [record], **how)[0]


def record_reads(session: Session, table: str, values_by_id: Mapping[int, Mapping[str, Any]]) -> None:
    """Write an audit row for every audited field about to be handed out, naming the reader
    (the session's acting user); the value itself is not logged. `values_by_id`: record id
    -> the values handed out (fields not read under audit, and empty ones, are ignored)."""
    policies = active_policies()
    rows = []
    for rid, values in values_by_id.items():
        fields = sorted(c for c, v in values.items() if v is not None and policies.audited(table, c))
        if fields:
            rows.append({"table_name": table, "record_id": rid, "action": "read", "changes": {"fields_read": fields}})
    if rows:
        write_audit(session.connection(), session.info["audit"], rows)
