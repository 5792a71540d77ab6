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
  nothing is handed out;
- the audit log is read through the same rules (`readable_records`, `audit_view`): rows of
  the records the actor may read, each change of a field they may not see absent.

The policy itself comes from `engine.security.policies.active_policies()`: loaded once,
injected by the composition root, replaceable in one place by a test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from engine import registry
from engine.db.audit import write_audit
from engine.db.base import Base
from engine.errors import PermissionDenied
from engine.security.policies import HIDDEN, active_policies
from engine.security.roles import AREAS, Actor

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


# -- which records, and the audit log read through the same rules -------------------------------

# The kernel's own tables and the area of roles.toml whose readers may read them.
KERNEL_AREAS = {"users": "users", "api_tokens": "users", "installation": "admin", "audit_log": "audit",
                "idempotent_replies": "admin", "workbook_receipts": "admin"}


def table_areas() -> dict[str, tuple[str, str | None]]:
    """{table: (the area whose readers may read it, its module's `records` function or None)}
    for the kernel and the modules switched on (each one's models imported). A table not here
    (of a module switched off, or one the code no longer has) belongs to no area."""
    owners = {}
    for module in registry.current().modules.values():
        if module.models:
            registry.load(module.models)
            owners[module.models] = (module.area, module.records)
    areas: dict[str, tuple[str, str | None]] = {t: (a, None) for t, a in KERNEL_AREAS.items()}
    for mapper in Base.registry.mappers:
        owner = owners.get(mapper.class_.__module__)
        if owner is not None and mapper.local_table is not None:
            areas[mapper.local_table.name] = owner
    return areas


def readable_records(session: Session, actor: Actor, table: str) -> set[int] | None:
    """The ids of the records of `table` that `actor` may read: None for all of them (their
    role reads the table's area), a set for part of them (a manager's own team, as the
    module that owns the table says), PermissionDenied for none. A table of no area (a
    module switched off) is read only by a role that reads every area."""
    owner = table_areas().get(table)
    if owner is None:
        if all(actor.may("read", area) for area in AREAS):
            return None
        raise PermissionDenied(f"user {actor.login!r} (roles: {', '.join(actor.role_names)}) may not read "
                               f"{table!r}: it belongs to no module switched on, so only an administrator reads it",
                               field="table")
    area, records = owner
    if not records:
        actor.require("read", area)    # refuses, naming the area
        return None
    # A module limiting some of its readers too (admin: those who only read it see their
    # own tasks) answers for its readers as well as for the others.
    return registry.load(records)(session, actor, table)


def audit_view(actor: Actor, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """An audit row (a dict with `table`, `changes`...) as `actor` may see it: the changes of
    fields their role may not see absent, as from the records themselves (and from a read
    row's list of the fields read); None when the row changed only such fields."""
    hidden = hidden_fields(actor, row["table"])
    changes = row["changes"] or {}
    if not hidden or not changes:
        return dict(row)
    shown = {field: change for field, change in changes.items() if field not in hidden}
    if "fields_read" in shown:
        shown["fields_read"] = [f for f in shown["fields_read"] if f not in hidden]
        if not shown["fields_read"]:
            del shown["fields_read"]
    return {**row, "changes": shown} if shown else None


def record_audit_reads(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Reading a field under audit through the audit log is a read like any other: an audit
    row names the reader for every audited field whose value a shown row carries (the log
    keeps no sensitive value, but rows written before a field was declared sensitive do)."""
    by_table: dict[str, dict[int, dict[str, Any]]] = {}
    for row in rows:
        for field, change in (row["changes"] or {}).items():
            if field == "fields_read" or not audited(row["table"], field):
                continue
            value = next((v for v in change if v is not None and v != HIDDEN), None)
            if value is not None:
                by_table.setdefault(row["table"], {}).setdefault(row["record_id"], {})[field] = value
    for table, values in by_table.items():
        record_reads(session, table, values)
