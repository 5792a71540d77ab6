"""Reading the audit log (`backoffice audit`) through the policy gate.

The log holds every change to every table, so reading it must not be a way round the rules
that guard the records: an actor sees the rows of only those records their role may read
(`gate.readable_records`: a whole area, or a manager's own team), and in each row only the
changes of fields their role may see (`gate.audit_view`); an audited field read here is
recorded as if read from the record (`gate.record_audit_reads`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.db.audit import AuditEntry
from engine.db.audit_chain import verify_chain
from engine.db.audit_query import entry_as_dict
from engine.errors import PermissionDenied
from engine.security.gate import audit_view, readable_records, record_audit_reads
from engine.security.roles import Actor

PAGE = 500   # rows read at a time while looking for the latest `limit` the actor may see


def audit_entries(
    session: Session,
    actor: Actor,
    table: str | None = None,
    record_id: int | None = None,
    since: date | None = None,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """The matching entries `actor` may see, as dicts (`entry_as_dict`), oldest first; with
    `limit`, the most recent `limit` of them. Asking for a table the actor may read nothing of
    is refused (PermissionDenied, naming the area); without `table`, such tables are left out.
    `before_id`: only entries older than that one (the next page of a log read newest first)."""
    actor.require("read", "audit")
    scope = _scope(session, actor, table)
    if not scope:
        return []
    query = select(AuditEntry).where(or_(*scope)).order_by(AuditEntry.id.desc())
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if since:
        query = query.where(AuditEntry.at >= datetime.combine(since, time.min, tzinfo=UTC))
    shown: list[dict[str, Any]] = []
    offset = 0
    while limit is None or len(shown) < limit:
        page = session.scalars(query.offset(offset).limit(PAGE)).all()
        shown += [row for row in (audit_view(actor, entry_as_dict(e)) for e in page) if row is not None]
        offset += PAGE
        if len(page) < PAGE:
            break
    shown = shown[:limit] if limit else shown
    record_audit_reads(session, shown)
    return list(reversed(shown))


def verify_audit_log(session: Session, actor: Actor,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Walk the whole log's hash chain (`engine.db.audit_chain.verify_chain`). It names rows
    by id and says what happened to them, never what they hold, so it needs only a role that
    reads `audit`, not one that reads every table."""
    actor.require("read", "audit")
    return verify_chain(session.connection(), AuditEntry.__table__, progress)


def _scope(session: Session, actor: Actor, table: str | None) -> list[Any]:
    """Conditions on the audit rows: a table the actor reads whole, or the records of a
    table they read part of."""
    tables = [table] if table else session.scalars(select(AuditEntry.table_name).distinct()).all()
    scope = []
    for name in tables:
        try:
            ids = readable_records(session, actor, name)
        except PermissionDenied:
            if table:
                raise
            continue
        same = AuditEntry.table_name == name
        scope.append(same if ids is None else and_(same, AuditEntry.record_id.in_(sorted(ids))))
    return scope
