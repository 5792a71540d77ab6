"""The audit log: one append-only row per changed record, whatever door the change came through.

Changes made with the ORM are captured automatically after each flush (`install_audit`), so
a service cannot forget to audit. Bulk paths that bypass the ORM call `write_audit` with
the same row shape. The database itself refuses UPDATE and DELETE on `audit_log` (triggers
created by the migration), so not even an administrator with SQL access can quietly edit
history, and each row carries the hash of the one before it (`engine.db.audit_chain`), so
`backoffice audit verify` finds a row removed or changed by someone who went round them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import tee
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.audit_chain import ENTRY, link_rows, linked
from engine.db.base import COMMON_COLUMNS, Base, Record, UTCDateTime, utcnow
from engine.db.bulk import converter, insert_columns, insert_many, rows_inserter
from engine.security.policies import active_policies

SOURCES = ("cli", "workbook", "addin", "api", "system")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False)  # insert, update, delete, read
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    workbook_id: Mapped[str | None] = mapped_column(String(64))
    sheet: Mapped[str | None] = mapped_column(String(64))
    row_number: Mapped[int | None] = mapped_column(Integer)
    # The hash chain (engine.db.audit_chain): the previous row's hash, and this row's.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


@dataclass
class AuditContext:
    """Who is acting and through which door; kept in `session.info['audit']`."""

    actor: str
    source: str = "cli"
    workbook_id: str | None = None
    # (table, record id) -> (sheet, row) for changes that came from a workbook row
    origins: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    # (sheet, row) of the workbook row a service is posting right now (new records' origin)
    posting_row: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")


def write_audit(connection: Connection, context: AuditContext, rows: list[dict[str, Any]]) -> None:
    """Append audit rows: each dict has table_name, record_id, action, changes as
    {field: (old, new)} (+ sheet, row_number). Values are stored in their exact JSON form
    (see `engine.db.json_values.plain`) by the engine's JSON serialiser; the values of
    sensitive fields (config/policies.toml) are never stored, only that they changed."""
    if not rows:
        return
    if not all(map(_ENTRY_KEYS.issuperset, rows)):   # not the usual shape: each row as a dict, as given
        _write_dicts(connection, context, rows)
        return
    write_audit_entries(connection, context, [
        (row["table_name"], row["record_id"], row["action"], row["changes"], row.get("sheet"), row.get("row_number"))
        for row in rows])


def write_audit_entries(connection: Connection, context: AuditContext, entries: list[tuple[Any, ...]]) -> None:
    """`write_audit` of rows given as tuples: (table_name, record_id, action, changes, sheet,
    row_number), as a bulk write builds them (a sync of 100,000 new people writes 300,000).

    The rows of one call share their time stamp, actor, door and workbook: those are
    converted once. On SQLite each row is built once as the driver takes it, its hashes
    (`linked`) worked out as it is built (`rows_inserter`); on PostgreSQL the rows go column
    by column to COPY (`insert_columns`), each row's hashes worked out as COPY takes it,
    while the server stores the rows before it."""
    if not entries:
        return
    policies = active_policies()
    covered = policies.by_table     # the tables with a field policy: only theirs can have values hidden
    if any(entry[0] in covered for entry in entries):
        entries = [(*entry[:3], policies.hide_values(entry[0], entry[3]), *entry[4:]) for entry in entries]
    shared = {"at": utcnow(), "actor": context.actor, "source": context.source, "workbook_id": context.workbook_id}
    table = AuditEntry.__table__
    insert = rows_inserter(connection, table, ROW)
    if insert is not None:   # SQLite: each row built once, in the driver's form
        to_json = converter(connection, table, "changes")
        at = converter(connection, table, "at")(shared["at"])
        actor, source, workbook_id = shared["actor"], shared["source"], shared["workbook_id"]
        insert([(at, actor, source, name, record_id, action, to_json(changes), workbook_id, sheet, row, before, this)
                for (name, record_id, action, changes, sheet, row), (before, this)
                in zip(entries, linked(connection, table, shared, entries), strict=True)])
        return
    hashes, also = tee(linked(connection, table, shared, entries))
    columns = {**dict(zip(ENTRY, zip(*entries, strict=True), strict=True)),
               "prev_hash": map(itemgetter(0), hashes), "row_hash": map(itemgetter(1), also)}
    insert_columns(connection, table, columns, same=shared, count=len(entries))


_ENTRY_KEYS = frozenset(ENTRY)
# An audit row's columns in the order `write_audit_entries` builds them on SQLite
ROW = ("at", "actor", "source", "table_name", "record_id", "action", "changes", "workbook_id", "sheet", "row_number",
       "prev_hash", "row_hash")


def _write_dicts(connection: Connection, context: AuditContext, rows: list[dict[str, Any]]) -> None:
    """`write_audit` of rows with other keys too (a row's own value of a shared column wins)."""
    policies = active_policies()
    common = {"at": utcnow(), "actor": context.actor, "source": context.source,
              "workbook_id": context.workbook_id, "sheet": None, "row_number": None}
    entries = [{**common, **row, "changes": policies.hide_values(row["table_name"], row["changes"])} for row in rows]
    link_rows(connection, AuditEntry.__table__, entries)
    insert_many(connection, AuditEntry.__table__, entries)


def _column_changes(obj: Record, action: str) -> dict[str, tuple[Any, Any]]:
    state = inspect(obj)
    changes: dict[str, tuple[Any, Any]] = {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in COMMON_COLUMNS:
            continue
        if action == "insert":
            value = getattr(obj, name)
            if value is not None:
                changes[name] = (None, value)
        elif action == "delete":
            value = state.dict.get(name)
            changes[name] = (value, None)
        else:
            hist = state.attrs[name].history
            if hist.has_changes():
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if old != new:
                    changes[name] = (old, new)
    return changes


def _after_flush(session: Session, _flush_context) -> None:
    context: AuditContext | None = session.info.get("audit")
    if context is None:
        raise RuntimeError("a change was flushed outside a unit of work; nothing is saved unaudited")
    rows = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not isinstance(obj, Record):
                continue
            changes = _column_changes(obj, action)
            if action == "update" and not changes:
                continue
            table = obj.__tablename__  # type: ignore[attr-defined]
            sheet, row = context.origins.get((table, obj.id)) or context.posting_row or (None, None)
            rows.append(
                {"table_name": table, "record_id": obj.id, "action": action,
                 "changes": changes, "sheet": sheet, "row_number": row}
            )
    write_audit(session.connection(), context, rows)


def install_audit(session_factory) -> None:
    """Audit every ORM change made through sessions of this factory."""
    event.listen(session_factory, "after_flush", _after_flush)


__all__ = ["AuditContext", "AuditEntry", "install_audit", "write_audit", "write_audit_entries"]
