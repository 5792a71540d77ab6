"""The audit log's hash chain: each row carries the hash of the one before it.

The triggers (`engine.db.append_only`) stop an UPDATE or DELETE sent through the database's
front door; the chain shows one that went round it (a superuser or the owner role dropping a
trigger, someone editing the SQLite file). A row's `row_hash` is SHA-256 over the previous
row's hash and a canonical form of the row's content (`canonical_content`), and its
`prev_hash` is that previous hash, so `verify_chain` can tell, by id, a row whose content
changed (its hash no longer matches) from rows removed or inserted (the links no longer
meet). Rows removed at the very end leave no trace in the chain itself: keep the last hash
`audit verify` prints somewhere else (a ticket, a mail) to anchor it.

Rows must be appended one writer at a time, or two transactions would both link to the same
predecessor: on PostgreSQL `link_rows` takes a transaction-scoped advisory lock (held until
commit, so concurrent writers queue for their audit rows); SQLite serialises writers already
(BEGIN IMMEDIATE, and a deferred transaction cannot write over a newer snapshot).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection

from engine.db.json_values import canonical_json
from engine.db.write_behind import behind

GENESIS = "0" * 64          # the `prev_hash` of the first row
BATCH = 5000                # rows read at a time by `verify_chain` (and the migration)
CONTENT = ("at", "actor", "source", "table_name", "record_id", "action", "changes", "workbook_id", "sheet",
           "row_number")
# Fixed text, no input: the lock's key is the audit table's own oid, so two schemas (two
# installations in one database) do not queue for each other.
_LOCK = text("SELECT pg_advisory_xact_lock(CAST(CAST(to_regclass('audit_log') AS oid) AS bigint))")


def canonical_content(row: Mapping[str, Any]) -> bytes:
    """The row's content as hashed: every column but id and the hashes, `at` in UTC to the
    microsecond (what both databases keep)."""
    return canonical_json([_utc_text(row["at"]), *map(row.__getitem__, CONTENT[1:])])


_last_at: tuple[Any, str] = (None, "")


def _utc_text(at: datetime) -> str:
    """`at` in UTC as text; the rows of one write share one time stamp, written once (the
    last one kept as one tuple, read and replaced whole: safe across threads)."""
    global _last_at
    last = _last_at
    if last[0] is not at:
        _last_at = last = (at, at.astimezone(UTC).isoformat(timespec="microseconds"))
    return last[1]


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_content(row)).hexdigest()


def last_hash(connection: Connection, table: Table) -> str:
    found = connection.scalar(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1))
    return found or GENESIS


def link_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Set `prev_hash` and `row_hash` of `rows` (about to be inserted in this order, after
    every row already in `table`), holding the append lock on PostgreSQL until commit."""
    previous = _last_hash_locked(connection, table)
    for row in rows:
        row["prev_hash"] = previous
        row["row_hash"] = previous = row_hash(previous, row)
    _goes_on_from(connection, previous)


# The columns of an entry given to `linked`: CONTENT but for the ones a batch shares (SHARED)
ENTRY = ("table_name", "record_id", "action", "changes", "sheet", "row_number")
SHARED = ("at", "actor", "source", "workbook_id")


def linked(connection: Connection, table: Table, shared: Mapping[str, Any],
           entries: Iterable[Sequence[Any]]) -> Iterator[tuple[str, str]]:
    """`link_rows` for rows given as tuples: the `prev_hash` and the `row_hash` of each entry
    (the values of ENTRY, in that order), `shared` holding the values of SHARED that every row
    of the batch has (its time stamp is written as text once, not once a row). The hashes
    are those `row_hash` gives the same rows as dicts.

    The lock is taken and the last hash read at once; the hashes are worked out as they are
    asked for, so a COPY that takes them row by row hashes a row while PostgreSQL stores the
    ones before it. While the sync writes behind, they are worked out at once: the next
    rows link to the last of them before these are stored (see `_goes_on_from`)."""
    at, actor, source, workbook_id = (shared[key] for key in SHARED)
    hashes = _hashes(_last_hash_locked(connection, table), _utc_text(at), actor, source, workbook_id, entries)
    if behind(connection) is None:
        return hashes
    done = list(hashes)
    if done:
        _goes_on_from(connection, done[-1][1])
    return iter(done)


def _hashes(previous: str, at: str, actor: str, source: str, workbook_id: str | None,
            entries: Iterable[Sequence[Any]]) -> Iterator[tuple[str, str]]:
    sha256 = hashlib.sha256
    for table_name, record_id, action, changes, sheet, row_number in entries:
        content = canonical_json([at, actor, source, table_name, record_id, action, changes, workbook_id, sheet,
                                  row_number])   # CONTENT's order
        digest = sha256(previous.encode("ascii") + b"\n" + content).hexdigest()
        yield previous, digest
        previous = digest


def _last_hash_locked(connection: Connection, table: Table) -> str:
    """The hash new rows link to, the append lock taken first on PostgreSQL (until commit).
    While the sync writes behind, the hash of the last row it queued, once known: the lock
    is held since it was read (`engine.db.write_behind` forgets it at a rollback)."""
    writer = behind(connection)
    if writer is not None and writer.head is not None:
        return writer.head
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK)
    return last_hash(connection, table)


def _goes_on_from(connection: Connection, head: str) -> None:
    """The chain's head once the rows just linked are written (queued, while writing behind)."""
    writer = behind(connection)
    if writer is not None:
        writer.head = head


def rows_in_order(connection: Connection, table: Table, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every row of `table` by id, read `batch` at a time (keyset: constant memory, and no
    OFFSET re-scanning a million rows)."""
    columns = [table.c.id, *(table.c[c] for c in CONTENT), table.c.prev_hash, table.c.row_hash]
    after = None
    while True:
        query = select(*columns).order_by(table.c.id).limit(batch)
        if after is not None:
            query = query.where(table.c.id > after)
        page = connection.execute(query).mappings().all()
        yield from page
        if len(page) < batch:
            return
        after = page[-1]["id"]


def count_rows(connection: Connection, table: Table) -> int:
    return connection.scalar(select(func.count()).select_from(table)) or 0


def verify_chain(connection: Connection, table: Table,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Walk the chain: {"intact", "rows", "last_id", "last_hash", "problems"}, each problem
    {"id", "problem", "message"} with problem one of `changed` (the row's content no longer
    matches its hash), `removed` (rows before it are gone), `inserted` (a row that does not
    belong in the chain) or `unchained` (a row without a hash: written round Backoffice).
    `progress(done, total)` is called with the rows checked so far, every batch."""
    problems: list[dict[str, Any]] = []
    expected, before_previous = GENESIS, None     # the hash the next row must link to, and the one before
    previous_id, rows = None, 0
    total = count_rows(connection, table) if progress else 0
    for row in rows_in_order(connection, table):
        rows += 1
        if progress and rows % BATCH == 0:
            progress(rows, total)
        rid = row["id"]
        if row["row_hash"] is None or row["prev_hash"] is None:
            problems.append({"id": rid, "problem": "unchained",
                             "message": f"#{rid} carries no hash: it was written round Backoffice"})
            continue
        if row_hash(row["prev_hash"], row) != row["row_hash"]:
            problems.append({"id": rid, "problem": "changed",
                             "message": f"#{rid} was changed after it was written (its content no longer "
                                        "matches its hash)"})
        if row["prev_hash"] != expected:
            problems.append(_broken_link(rid, previous_id, row["prev_hash"], before_previous))
        before_previous, expected, previous_id = expected, row["row_hash"], rid
    if progress:
        progress(rows, max(rows, total))
    return {"intact": not problems, "rows": rows, "last_id": previous_id,
            "last_hash": expected if rows else None, "problems": problems}


def _broken_link(rid: int, previous_id: int | None, prev_hash: str, before_previous: str | None) -> dict[str, Any]:
    """Why row `rid` does not link to the row before it (`previous_id`)."""
    if previous_id is None:
        return {"id": rid, "problem": "removed", "message": f"the rows before #{rid}, the first one left, were removed"}
    if prev_hash == before_previous:
        return {"id": previous_id, "problem": "inserted",
                "message": f"#{previous_id} was inserted: #{rid} links to the row before it"}
    if rid - previous_id > 1:
        gap = f"#{previous_id + 1}" if rid - previous_id == 2 else f"#{previous_id + 1} to #{rid - 1}"
        return {"id": rid, "problem": "removed", "message": f"{gap} removed: #{rid} does not link to #{previous_id}"}
    return {"id": rid, "problem": "removed",
            "message": f"#{rid} does not link to #{previous_id}: a row between them was removed, or #{previous_id} "
                       "was put in its place"}
