"""Applying a checked plan to the database: bulk inserts, version-guarded updates, deletes,
and one audit row per changed record, all inside the caller's transaction.

Bulk paths use SQLAlchemy Core (executemany), not the ORM: 100,000 new rows from a workbook
are one statement's worth of work. New ids are allocated up front (the sequence on
PostgreSQL; under the SQLite write lock, max(id)+1...) so they can be written back into the
workbook without a slow INSERT ... RETURNING.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.db.audit import AuditContext, write_audit, write_audit_entries
from engine.db.base import COMMON_COLUMNS, utcnow
from engine.db.bulk import insert_many, update_many
from engine.db.write_behind import behind
from engine.security.identity import unreadable_columns
from engine.sheets.issues import CellIssue
from engine.sheets.merge import SheetPlan
from engine.sheets.read import SheetInput
from engine.sheets.spec import RowsRefused, Saved, SheetSpec

CHUNK = 5000  # rows per INSERT batch
log = logging.getLogger(__name__)


class ApplyConflict(Exception):
    """A row changed between our read and our write; the whole sync is rolled back."""

    def __init__(self, issues: list[CellIssue]):
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


@dataclass
class Applied:
    inserted_ids: dict[int, int] = field(default_factory=dict)   # workbook row -> new id
    updated: int = 0
    deleted: int = 0
    # sheet name -> records a sheet's `after` step added to it (shown without the mark of
    # records others added: they came with this sync's own changes)
    added_alongside: dict[str, set[int]] = field(default_factory=dict)
    # table -> how many records the sheets' `after` steps wrote to it (a new person's list entries)
    written_beside: dict[str, int] = field(default_factory=dict)
    kept_copy: Path | None = None     # where the refreshed workbook went when it could not replace the file
    not_replaced: str = ""            # and why it could not


def load_rows(connection: Connection, spec: SheetSpec, limit: Any = None,
              only: list[int] | None = None, columns: list[str] | None = None) -> dict[int, tuple[int, dict[str, Any]]]:
    """Every record of the sheet's scope: id -> (version, stored values); `limit`, the
    sheet's `rows_limit` for the user, keeps those they may see; `only`, those of these ids;
    `columns`, only these of its values (the unique ones of a sheet read in chunks).

    Only what a merge, a check or a refresh looks at: the id, the version and the business
    columns. Time stamps and who saved last are left out (parsing 200,000 time stamps was
    most of the cost of loading 100,000 records).
    """
    query, blank = _rows_query(connection, spec, limit, only, columns)
    result = connection.execute(query)
    keys = list(result.keys())
    rows = {}
    for row in result:
        values = dict(zip(keys, row, strict=True))
        if blank:
            values.update(blank)
        rows[values["id"]] = (values["version"], values)
    return rows


def stream_rows(connection: Connection, spec: SheetSpec, limit: Any = None, size: int = 10_000,
                columns: list[str] | None = None) -> Iterator[dict[str, Sequence[Any]]]:
    """The records `load_rows` loads (`columns`: only these of their values), in the same
    order, as runs of up to `size`, each column by column: key -> one value per record (the
    id and version too). The database hands them over as they are read (a server-side
    cursor on PostgreSQL), so a million records are never all in memory."""
    query, blank = _rows_query(connection, spec, limit, None, columns)
    result = connection.execute(query, execution_options={"stream_results": True, "yield_per": size})
    keys = list(result.keys())
    for run in result.partitions(size):
        columns: dict[str, Sequence[Any]] = {key: list(map(itemgetter(n), run)) for n, key in enumerate(keys)}
        for key in blank:
            columns[key] = [None] * len(run)
        yield columns


def _rows_query(connection: Connection, spec: SheetSpec, limit: Any, only: list[int] | None,
                columns: list[str] | None) -> tuple[Any, dict[str, None]]:
    """The select of a sheet's records (see `load_rows`), and the keys of the columns read as empty."""
    table: Table = spec.model.__table__
    # A person's own database login may not read the sensitive columns their roles do not see
    # (engine.security.db_roles): those are left out and read as empty, as the policy gate
    # leaves them out of what that person is shown anyway.
    hidden = unreadable_columns(connection).get(table.name, set())
    wanted = [c for c in table.c if c.key not in COMMON_COLUMNS and (columns is None or c.key in columns)]
    selected = [table.c.id, table.c.version, *(c for c in wanted if c.name not in hidden)]
    blank = {c.key: None for c in wanted if c.name in hidden}
    query = select(*selected).where(*(table.c[k] == v for k, v in spec.scope.items())).order_by(
        *(table.c[k] for k in spec.order_by))
    if limit is not None:
        query = query.where(limit)
    if only is not None:
        query = query.where(table.c.id.in_(only))
    return query, blank


# `count` ids taken from a table's sequence in one statement, sent back as their first and
# last when they are one run (as they are unless another session took some in between), or
# else every one of them: a million ids sent as rows took 0.6 s to read, as two numbers nothing.
_IDS = text(
    "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL ELSE array_agg(id ORDER BY id) END"
    " FROM (SELECT nextval(:seq) AS id FROM generate_series(1, :n)) AS taken")


def allocate_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids of `table`, in ascending order (PostgreSQL: from its sequence, so that
    another session's inserts never take them; SQLite serialises writers: after its largest,
    which a sync writing behind knows without waiting for its rows to be stored)."""
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        sequence = connection.execute(select(func.pg_get_serial_sequence(table.name, "id"))).scalar_one()
        first, last, each = connection.execute(_IDS, {"seq": sequence, "n": count}).one()
        return list(range(first, last + 1)) if each is None else list(each)
    writer = behind(connection)
    start = writer.next_id(table.name) if writer is not None else None
    if start is None:
        start = (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    if writer is not None:
        writer.took_ids(table.name, start + count)
    return list(range(start, start + count))


def _check_derive_contract(spec: SheetSpec, plan: SheetPlan, stored: set[str]) -> None:
    """A spec's derive must give table columns only (the bulk insert takes its rows as they are)."""
    sample = next((i.stored for i in plan.inserts if i.stored is not None), None)
    if sample is not None and not set(sample) <= stored:
        raise AssertionError(f"sheet {spec.name}: derive gave non-columns {sorted(set(sample) - stored)}")


def apply_plan(
    connection: Connection,
    spec: SheetSpec,
    plan: SheetPlan,
    db: dict[int, tuple[int, dict[str, Any]]],
    context: AuditContext,
    progress: Callable[[int], None] = lambda n: None,
) -> Applied:
    """Apply the plan; `db` (the sheet's records as loaded) is updated to match, so the
    workbook can be refreshed without reading 100,000 rows back."""
    table: Table = spec.model.__table__
    derive = spec.derive or (lambda row: row)

    def with_search_keys(row: dict[str, Any]) -> dict[str, Any]:
        """The checked form of a row, completed to what is stored."""
        if spec.search_keys is not None:
            row.update(spec.search_keys(row))
        return row

    stored = {c for c in table.columns.keys() if c not in COMMON_COLUMNS}
    _check_derive_contract(spec, plan, stored)
    now, who = utcnow(), context.actor
    applied = Applied()
    audit: list[dict[str, Any]] = []

    ids = allocate_ids(connection, table, len(plan.inserts))
    common = {"version": 1, "created_at": now, "updated_at": now, "updated_by": who}
    # The table's name as a plain str for the audit rows: its own (a quoted_name, a subclass)
    # sends sqlite3 looking for an adapter for each row; the value stored is the same.
    table_name, sheet = str(table.name), spec.name
    for start in range(0, len(plan.inserts), CHUNK):  # bounded memory, whatever the size
        new_rows, new_audit = [], []
        for new_id, ins in zip(ids[start:start + CHUNK], plan.inserts[start:start + CHUNK], strict=True):
            row = with_search_keys(ins.stored if ins.stored is not None else derive({**spec.scope, **ins.values}))
            ins.stored = None  # handed over to the insert below
            new_audit.append((table_name, new_id, "insert", {k: (None, v) for k, v in row.items() if v is not None},
                              sheet, ins.row))
            row.update(common)
            row["id"] = new_id
            new_rows.append(row)
            applied.inserted_ids[ins.row] = new_id
            db[new_id] = (1, row)
        try:
            insert_many(connection, table, new_rows)
        except IntegrityError as exc:
            raise ApplyConflict([_refused_by_database(spec, exc)]) from exc
        write_audit_entries(connection, context, new_audit)
        progress(len(new_rows))

    # Updates that change the same columns go in one batch (`update_many`), each guarded by
    # its version; if fewer rows match than were sent, someone else saved in between.
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for upd in plan.updates:
        before = db[upd.record_id][1]
        derived = with_search_keys(upd.stored if upd.stored is not None
                                   else derive({**spec.scope, **before, **upd.changes}))
        changes = {k: (before.get(k), v) for k, v in derived.items() if k in stored and before.get(k) != v}
        if not changes:
            continue
        batches.setdefault(tuple(sorted(changes)), []).append(
            {"_id": upd.record_id, "_version": upd.version, **{k: new for k, (_old, new) in changes.items()}})
        db[upd.record_id] = (upd.version + 1, {**before, **{k: new for k, (_old, new) in changes.items()},
                                               "version": upd.version + 1, "updated_at": now, "updated_by": who})
        audit.append({"table_name": table_name, "record_id": upd.record_id, "action": "update",
                      "sheet": spec.name, "row_number": upd.row, "changes": changes})
    for columns, rows in batches.items():
        matched = update_many(connection, table, columns, rows, {"updated_at": now, "updated_by": who})
        if matched != len(rows):
            raise ApplyConflict([CellIssue(spec.name, None, None, None, "conflict",
                                           "records were changed by someone else while syncing; sync again",
                                           conflict=True)])
        applied.updated += len(rows)
    progress(len(plan.updates))

    for gone in plan.deletes:
        before = db[gone.record_id][1]
        try:
            result = connection.execute(delete(table).where(table.c.id == gone.record_id, table.c.version == gone.version))
        except IntegrityError as exc:
            raise ApplyConflict([CellIssue(spec.name, None, None, gone.record_id, "in-use",
                                           f"record {gone.record_id} cannot be deleted: other records refer to it")]) from exc
        if result.rowcount != 1:
            raise ApplyConflict([CellIssue(spec.name, None, None, gone.record_id, "conflict",
                                           f"record {gone.record_id} was changed by someone else while syncing",
                                           conflict=True)])
        applied.deleted += 1
        del db[gone.record_id]
        audit.append({"table_name": table_name, "record_id": gone.record_id, "action": "delete", "sheet": spec.name,
                      "changes": {k: (before.get(k), None) for k in stored if before.get(k) is not None}})
    write_audit(connection, context, audit)
    return applied


def post_plan(session, actor, spec: SheetSpec, plan: SheetPlan, data: SheetInput) -> Applied:
    """The new rows of a posting sheet (see SheetSpec.post), through the module's service, in
    sheet order; every refused row becomes a problem at its cell."""
    derive = spec.derive or (lambda row: row)
    rows = [(ins.row, ins.stored if ins.stored is not None else derive({**spec.scope, **ins.values}))
            for ins in plan.inserts]
    with refusals_at_cells(spec, data):
        ids = spec.post(session, actor, spec.name, rows)
    return Applied(inserted_ids={row: new_id for (row, _), new_id in zip(rows, ids, strict=True)})


def update_plan(session, actor, spec: SheetSpec, plan: SheetPlan, data: SheetInput) -> Applied:
    """Changes to saved rows that go through the module's service (see SheetSpec.update).

    The records are first locked and checked to be at the versions the merge compared
    against, as the bulk update's `WHERE version = :v` would: the service then decides on
    exactly what the user saw. Every refused row becomes a problem at its cell.
    """
    if not plan.updates:
        return Applied()
    lock_at_versions(session, spec, data, plan.updates)
    with refusals_at_cells(spec, data):
        spec.update(session, actor, spec.name, plan.updates)
    return Applied(updated=len(plan.updates))


def delete_plan(session, actor, spec: SheetSpec, plan: SheetPlan, data: SheetInput) -> Applied:
    """Deleted rows that go through the module's service (see SheetSpec.delete); their
    versions were checked (`lock_at_versions`) before any of the sheet's changes were made."""
    if not plan.deletes:
        return Applied()
    with refusals_at_cells(spec, data):
        spec.delete(session, actor, spec.name, plan.deletes)
    return Applied(deleted=len(plan.deletes))


def lock_at_versions(session, spec: SheetSpec, data: SheetInput, changes: list[Any]) -> None:
    """Lock the records of `changes` (Update or Delete) and check that each is still at the
    version the merge saw; if one moved, the sync is planned again (ApplyConflict)."""
    if not changes:
        return
    table: Table = spec.model.__table__
    wanted = {change.record_id: change for change in changes}
    found = dict(session.execute(select(table.c.id, table.c.version).where(table.c.id.in_(list(wanted)))
                                 .with_for_update()).all())
    moved = [change for rid, change in wanted.items() if found.get(rid) != change.version]
    if moved:
        def key(change: Any) -> str | None:
            return next(iter(getattr(change, "changes", None) or ()), None)

        raise ApplyConflict([CellIssue(spec.name, data.cell(change.row, key(change)) if hasattr(change, "row") else None,
                                       data.label(key(change)), change.record_id, "conflict",
                                       f"record {change.record_id} was changed by someone else while syncing; "
                                       "sync again", conflict=True) for change in moved])


def saved_rows(plan: SheetPlan, applied: Applied, before: dict[int, dict[str, Any]],
               db: dict[int, tuple[int, dict[str, Any]]]) -> Saved:
    """What was saved of a sheet (see SheetSpec.after): `before`, the stored values of the
    updated and deleted records before the apply; `db`, the sheet's records after it."""
    return Saved(inserted=[db[rid][1] for rid in applied.inserted_ids.values() if rid in db],
                 updated=[(before[u.record_id], db[u.record_id][1]) for u in plan.updates if u.record_id in db],
                 deleted=[before[d.record_id] for d in plan.deletes if d.record_id in before])


@contextmanager
def refusals_at_cells(spec: SheetSpec, data: SheetInput):
    """A module's refusals (RowsRefused), and what the database refuses of its writes, as
    problems at their cells: the whole sync is then rolled back."""
    try:
        yield
    except RowsRefused as refused:
        raise ApplyConflict([CellIssue(spec.name, data.cell(row, key), data.label(key), None, code, message)
                             for row, key, message, code in refused.refused]) from refused
    except IntegrityError as exc:
        raise ApplyConflict([_refused_by_database(spec, exc)]) from exc


def _refused_by_database(spec: SheetSpec, exc: IntegrityError) -> CellIssue:
    """What the database refused (a rule no check caught: a bug to report), in words a person
    can act on; the database's own message is only in the debug log, never shown."""
    log.debug("sheet %s: the database refused the changes: %s", spec.name, exc.orig)
    unique = [c.label for c in spec.columns if c.unique]
    which = f" (such as {', '.join(unique)})" if unique else ""
    return CellIssue(spec.name, None, None, None, "duplicate",
                     f"a value on sheet {spec.name} that must be unique{which} is already used by another "
                     "record, or a row is missing a value it needs; nothing was saved: check the rows you "
                     "added or changed and sync again")
