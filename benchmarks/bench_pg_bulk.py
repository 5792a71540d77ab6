"""PostgreSQL bulk writes: COPY (engine.db.bulk) against Core's executemany, measured in one run.

    .venv/bin/python benchmarks/bench_pg_bulk.py [--pg-url URL] [--rows 100000] [--updates 10000]
                                                 [--repeat 3] [--threshold]

On a schema of its own on the server of BACKOFFICE_TEST_PG_URL (or --pg-url), made by the
migrations and dropped at the end, what a workbook sync of a People sheet writes:
  insert  `rows` contacts-like rows, 5,000 at a time (as `apply_plan` does);
  audit   one audit row each, hash-chained (`write_audit`'s rows, linked the same way);
  update  `updates` of them, version-guarded, two columns changed;
  (a) baseline: Core's executemany (`connection.execute(insert(table), rows)`, and the
      UPDATE ... WHERE id = :_id AND version = :_version executemany apply_plan had);
  (b) bulk: `insert_many` and `update_many` (COPY; for updates a temporary table + one UPDATE).
Each round runs in one transaction, rolled back (and the table vacuumed) before the next;
(a) and (b) alternate, `--repeat` rounds each, the fastest counts.

--threshold instead times one call of each path for small batches (1 to 500 rows), to place
`COPY_FROM` and `COPY_UPDATES_FROM`: where COPY's fixed cost (a cursor, the COPY round trip;
for updates, creating and dropping the temporary table) stops outweighing what it saves.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 5000
COUNTRIES = ["GB", "DE", "FR", "NL", "ES", "IT", "US", "IE", "SE", "PL"]


def people(count: int, first_id: int = 1) -> list[dict[str, Any]]:
    """Contacts-like People rows, every column of the table given (as `apply_plan` gives them)."""
    from engine.db.base import utcnow

    rng, now = random.Random(7), utcnow()
    rows = []
    for n in range(first_id, first_id + count):
        first, last = f"First{n}", f"Last{n % 9973}"
        rows.append({
            "id": n, "version": 1, "created_at": now, "updated_at": now, "updated_by": "bench",
            "kind": "person", "name": f"{first} {last}", "first_name": first, "last_name": last,
            "organisation_id": None, "job_title": rng.choice(["Buyer", "CEO", "Clerk"]),
            "email": f"person{n}@example.org", "phone": f"+44 20 {n:07d}", "website": None,
            "country": rng.choice(COUNTRIES), "tags": rng.choice(["customer", "supplier", "vip"]),
            "opt_out": n % 17 == 0, "notes": "line one\nline two\ttab \\ backslash" if n % 101 == 0 else None,
            "name_key": f"first{n} last{n % 9973}",
        })
    return rows


def audit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from engine.db.base import COMMON_COLUMNS

    return [{"table_name": "contacts", "record_id": row["id"], "action": "insert", "sheet": "People",
             "row_number": n + 2, "changes": {k: (None, v) for k, v in row.items()
                                              if v is not None and k not in COMMON_COLUMNS}}
            for n, row in enumerate(rows)]


def updates(count: int, total: int) -> list[dict[str, Any]]:
    picked = random.Random(11).sample(range(1, total + 1), count)
    return [{"_id": n, "_version": 1, "phone": f"+49 30 {n:07d}", "job_title": "Director"} for n in sorted(picked)]


# -- the two ways of writing (each: insert, audit, update) -----------------------------------------

def core_insert(connection, table, rows) -> None:
    """(a): Core's executemany, as PostgreSQL was written to before."""
    from sqlalchemy import insert

    for start in range(0, len(rows), CHUNK):
        connection.execute(insert(table), rows[start:start + CHUNK])


def core_audit(connection, audit) -> None:
    from sqlalchemy import insert

    from engine.db.audit import AuditEntry
    from engine.db.audit_chain import link_rows

    for start in range(0, len(audit), CHUNK):
        entries = _entries(audit[start:start + CHUNK])
        link_rows(connection, AuditEntry.__table__, entries)
        connection.execute(insert(AuditEntry.__table__), entries)


def core_update(connection, table, changes, stamp) -> int:
    """apply_plan's UPDATE ... WHERE id = :_id AND version = :_version, as one executemany."""
    from sqlalchemy import bindparam, update

    statement = update(table).where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
    statement = statement.values(version=bindparam("_version") + 1, **stamp, **{k: bindparam(k) for k in EDITED})
    return connection.execute(statement, changes).rowcount


def bulk_insert(connection, table, rows) -> None:
    """(b): `insert_many` (COPY)."""
    from engine.db.bulk import insert_many

    for start in range(0, len(rows), CHUNK):
        insert_many(connection, table, rows[start:start + CHUNK])


def bulk_audit(connection, audit) -> None:
    from engine.db.audit import AuditEntry
    from engine.db.audit_chain import link_rows
    from engine.db.bulk import insert_many

    for start in range(0, len(audit), CHUNK):
        entries = _entries(audit[start:start + CHUNK])
        link_rows(connection, AuditEntry.__table__, entries)
        insert_many(connection, AuditEntry.__table__, entries)


def bulk_update(connection, table, changes, stamp) -> int:
    from engine.db.bulk import update_many

    return update_many(connection, table, EDITED, changes, stamp)


WAYS = {"core executemany": (core_insert, core_audit, core_update),
        "insert/update_many": (bulk_insert, bulk_audit, bulk_update)}
EDITED = ("job_title", "phone")


def _entries(audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`write_audit`'s rows (the field policy left out: the same for both ways)."""
    from engine.db.base import utcnow

    common = {"at": utcnow(), "actor": "bench", "source": "workbook", "workbook_id": "bench"}
    return [{**common, **row} for row in audit]


# -- the run -----------------------------------------------------------------------------------

def one_round(db, way, rows, audit, changes) -> dict[str, float]:
    """Seconds of each part, in one transaction rolled back (then the tables vacuumed)."""
    from sqlalchemy import text

    from engine.db.base import utcnow
    from engine.models import Contact

    insert, write_audit, update = way
    table, took = Contact.__table__, {}
    stamp = {"updated_at": utcnow(), "updated_by": "bench"}
    with db.engine.connect() as connection:
        transaction = connection.begin()
        start = time.perf_counter()
        insert(connection, table, rows)
        took["insert"] = time.perf_counter() - start
        start = time.perf_counter()
        write_audit(connection, audit)
        took["audit"] = time.perf_counter() - start
        start = time.perf_counter()
        matched = update(connection, table, changes, stamp)
        took["update"] = time.perf_counter() - start
        assert matched == len(changes), (matched, len(changes))
        transaction.rollback()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM contacts, audit_log"))
    took["total"] = took["insert"] + took["audit"] + took["update"]
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("BACKOFFICE_TEST_PG_URL"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threshold", action="store_true", help="time small batches instead")
    args = parser.parse_args()
    if not args.pg_url:
        parser.error("give --pg-url or set BACKOFFICE_TEST_PG_URL")
    with own_schema(args.pg_url) as db:
        return thresholds(db) if args.threshold else compare(db, args)


def compare(db, args) -> int:
    rows = people(args.rows)
    audit = audit_rows(rows)
    changes = updates(args.updates, args.rows)
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, way in WAYS.items():
            took = one_round(db, way, rows, audit, changes)
            best[name] = {k: min(v, best.get(name, {}).get(k, v)) for k, v in took.items()}
    base, bulk = best["core executemany"], best["insert/update_many"]
    print(f"PostgreSQL, {args.rows:,} People rows + {args.rows:,} audit rows, {args.updates:,} updates "
          f"(fastest of {args.repeat}):")
    print(f"{'part':<8}{'core executemany':>18}{'insert/update_many':>20}{'ratio':>8}")
    for part in ("insert", "audit", "update", "total"):
        print(f"{part:<8}{base[part]:>17.2f}s{bulk[part]:>19.2f}s{base[part] / bulk[part]:>7.1f}x")
    return 0


def thresholds(db) -> int:
    """One call of `insert_many` (audit rows) and `update_many` (People rows) for small
    batches, with COPY switched on from the first row, and off."""
    from engine.db import bulk
    from engine.db.audit import AuditEntry
    from engine.db.base import utcnow
    from engine.models import Contact

    table, audit_table = Contact.__table__, AuditEntry.__table__
    rows = people(500)
    stamp = {"updated_at": utcnow(), "updated_by": "bench"}
    versions = dict.fromkeys((r["id"] for r in rows), 1)
    chosen = bulk.COPY_FROM, bulk.COPY_UPDATES_FROM

    def insert_audit(entries) -> Callable[[], None]:
        return lambda: bulk.insert_many(connection, audit_table, entries)

    def update_people(n: int) -> Callable[[], None]:
        def call() -> None:
            changes = [{"_id": r["id"], "_version": versions[r["id"]], "phone": "+1", "job_title": "x"}
                       for r in rows[:n]]
            assert bulk.update_many(connection, table, EDITED, changes, stamp) == n
            for change in changes:
                versions[change["_id"]] += 1
        return call

    def timed(copy: bool, call: Callable[[], None]) -> float:
        bulk.COPY_FROM = bulk.COPY_UPDATES_FROM = 1 if copy else 10**9
        try:
            return best_of(call)
        finally:
            bulk.COPY_FROM, bulk.COPY_UPDATES_FROM = chosen

    print(f"{'rows':>5}{'insert core':>13}{'insert COPY':>13}{'update core':>13}{'update COPY':>13}  (ms a call)")
    with db.engine.connect() as connection:
        transaction = connection.begin()
        bulk.insert_many(connection, table, rows)
        for n in (1, 2, 5, 10, 20, 50, 100, 200, 500):
            entries = [{**e, "prev_hash": "0" * 64, "row_hash": "0" * 64} for e in _entries(audit_rows(rows[:n]))]
            took = [timed(False, insert_audit(entries)), timed(True, insert_audit(entries)),
                    timed(False, update_people(n)), timed(True, update_people(n))]
            print(f"{n:>5}" + "".join(f"{t * 1e3:>13.2f}" for t in took))
        transaction.rollback()
    print(f"chosen: COPY_FROM = {chosen[0]}, COPY_UPDATES_FROM = {chosen[1]}")
    return 0


def best_of(call: Callable, times: int = 15) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


class own_schema:
    """A schema of the benchmark's own on the server, migrated; dropped at the end."""

    def __init__(self, pg_url: str):
        self.pg_url, self.name = pg_url, f"bench_{uuid.uuid4().hex[:12]}"

    def __enter__(self):
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        from engine.config import Settings
        from engine.db.session import Database

        self.admin = sa.create_engine(self.pg_url)
        with self.admin.begin() as conn:
            conn.execute(sa.schema.CreateSchema(self.name))
        url = make_url(self.pg_url).update_query_dict({"options": f"-csearch_path={self.name}"})
        self.db = Database.open(Settings(database_url=url.render_as_string(hide_password=False)), create=True)
        return self.db

    def __exit__(self, *exc) -> None:
        import sqlalchemy as sa

        self.db.dispose()
        with self.admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(self.name, cascade=True))
        self.admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
