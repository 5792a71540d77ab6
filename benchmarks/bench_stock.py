"""Stock benchmark: on-hand as the history grows, and posting throughput, against raw SQL
measured in the same run.

    .venv/bin/python benchmarks/bench_stock.py [--quick] [--repeat 3]

On SQLite, with 10,000 items:
  (1) on hand for one item (`queries.on_hand(actor, sku=...)`, 1,000 random items) with 10,000,
      100,000 and 1,000,000 movements in the ledger; baseline: raw sqlite3
      `SELECT quantity FROM stock_balances WHERE item_id=?` for the same items. On hand reads
      the maintained balances, so its time must stay flat as the history grows.
  (2) on hand for all items (`queries.on_hand(actor)`) against a raw sqlite3 SELECT of the same rows.
  (3) posting: 10,000 receipts and issues through `post_movement` in one unit of work, against
      a raw sqlite3 executemany of 10,000 movement rows (the floor: no checks, no balances).
The synthetic histories are written straight into the tables (a fixture, not a posting path):
an opening receipt per item, then random receipts and issues; balances, item costs and FIFO
layers are derived from those rows and checked against them. Each stage runs in its own
process, three times from the same files; the fastest run counts (noise only adds time).
--quick leaves out the 1,000,000-movement history.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ITEMS, SAMPLE, POSTINGS = 10_000, 1_000, 10_000
SCALE = 10_000                       # Exact(4) columns hold whole numbers of 1/10,000
STAMP = "2026-11-27 09:00:00.000000"
START = date(2023, 11, 27)           # three years of history, then the postings
POSTED_ON = START + timedelta(days=1_100)
INSERT_MOVEMENT = ("INSERT INTO stock_movements (id, moved_on, kind, reason, item_id, quantity, from_location_id, "
                   "to_location_id, unit_cost, value, version, created_at, updated_at, updated_by) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _sku(n: int) -> str:
    return f"SKU-{n:05d}"


def _cost(item: int) -> int:
    """An item's (constant) unit cost in cents: every receipt and issue of it is valued at it."""
    return 50 + item * 37 % 9_950


def _movement_row(n: int, moved_on: date, kind: str, item: int, quantity: int, place: int) -> tuple:
    cents = _cost(item)
    sign = 1 if kind == "receipt" else -1
    return (n, moved_on.isoformat(), kind, "received" if kind == "receipt" else "sold", item, quantity * SCALE,
            place if kind == "issue" else None, place if kind == "receipt" else None,
            cents * 100 if kind == "receipt" else None, sign * quantity * cents * 100, 1, STAMP, STAMP, "bench")


def _history(count: int, seed: int = 7):
    """An opening receipt per item, then random receipts and issues that never overdraw a bin."""
    rng, held = random.Random(seed), defaultdict(int)
    for n in range(1, count + 1):
        moved_on = START + timedelta(days=(n - 1) * 1_095 // count)
        if n <= ITEMS:
            item, place, kind, quantity = n, 2 + n % 2, "receipt", rng.randint(20, 200)
        else:
            item, place, quantity = rng.randint(1, ITEMS), rng.choice((2, 3)), rng.randint(1, 20)
            kind = "issue" if held[item, place] >= quantity and rng.random() < 0.5 else "receipt"
        held[item, place] += quantity if kind == "receipt" else -quantity
        yield _movement_row(n, moved_on, kind, item, quantity, place)


# -- stages (each runs in a child process: `bench_stock.py --stage NAME --dir D --n N`) ------------

def make_database(folder: Path, movements: int) -> None:
    """A migrated database holding the items and a synthetic history of `movements` rows."""
    from engine.config import Settings
    from engine.db.session import Database

    path = folder / f"stock-{movements}.db"
    Database.open(Settings(database_url=f"sqlite:///{path}"), create=True).dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    con.executemany("INSERT INTO locations (id, code, name, kind, warehouse_id, version, created_at, updated_at, "
                    "updated_by) VALUES (?, ?, ?, ?, ?, 1, ?, ?, 'bench')",
                    [(1, "MAIN", "Main warehouse", "warehouse", None, STAMP, STAMP),
                     (2, "MAIN-A", "Aisle A", "bin", 1, STAMP, STAMP), (3, "MAIN-B", "Aisle B", "bin", 1, STAMP, STAMP)])
    con.executemany("INSERT INTO items (id, sku, name, unit, category, valuation, standard_cost, reorder_point, "
                    "reorder_quantity, active, lot_tracked, version, created_at, updated_at, updated_by) "
                    "VALUES (?, ?, ?, 'each', 'Bench', ?, ?, ?, ?, 1, 0, 1, ?, ?, 'bench')",
                    [(n, _sku(n), f"Bench item {n}", "average" if n % 3 == 0 else "fifo", _cost(n) * 100,
                      10 * SCALE, 50 * SCALE, STAMP, STAMP) for n in range(1, ITEMS + 1)])
    held, first, batch = defaultdict(int), {}, []
    for row in _history(movements):
        batch.append(row)
        held[row[4], row[6] or row[7]] += row[5] if row[2] == "receipt" else -row[5]
        first.setdefault(row[4], row)
        if len(batch) == 50_000:
            con.executemany(INSERT_MOVEMENT, batch)
            batch.clear()
    con.executemany(INSERT_MOVEMENT, batch)
    con.executemany("INSERT INTO stock_balances (item_id, location_id, lot_key, quantity) VALUES (?, ?, 0, ?)",
                    [(item, place, q) for (item, place), q in sorted(held.items())])
    totals = defaultdict(int)
    for (item, _), q in held.items():
        totals[item] += q
    con.executemany("INSERT INTO item_costs (item_id, quantity, value) VALUES (?, ?, ?)",
                    [(item, q, q * _cost(item) // 100) for item, q in sorted(totals.items())])
    # One cost layer per FIFO item holds all of its stock: every receipt of it cost the same.
    con.executemany("INSERT INTO cost_layers (item_id, movement_id, received_on, remaining, unit_cost) "
                    "VALUES (?, ?, ?, ?, ?)", [(item, first[item][0], first[item][1], q, _cost(item) * 100)
                                               for item, q in sorted(totals.items()) if item % 3 and q > 0])
    con.commit()
    _check_balances(con)
    con.close()


def _check_balances(con: sqlite3.Connection) -> None:
    """The fixture's balances and item costs equal what its movements add up to."""
    wrong = con.execute(
        "SELECT count(*) FROM (SELECT item_id, location_id, sum(CASE kind WHEN 'issue' THEN -quantity ELSE quantity END) "
        "AS moved FROM (SELECT item_id, kind, quantity, coalesce(to_location_id, from_location_id) AS location_id "
        "FROM stock_movements) GROUP BY item_id, location_id) m JOIN stock_balances b USING (item_id, location_id) "
        "WHERE b.quantity <> m.moved").fetchone()[0]
    wrong += con.execute("SELECT count(*) FROM stock_balances").fetchone()[0] - con.execute(
        "SELECT count(DISTINCT item_id || '/' || coalesce(to_location_id, from_location_id)) FROM stock_movements").fetchone()[0]
    value = con.execute("SELECT (SELECT sum(value) FROM stock_movements) - (SELECT sum(value) FROM item_costs)").fetchone()[0]
    if wrong or value:
        raise SystemExit(f"fixture inconsistent: {wrong} balances differ, values differ by {value}")


def _sample(seed: int = 11) -> list[int]:
    return random.Random(seed).sample(range(1, ITEMS + 1), SAMPLE)


RAW_ONE = "SELECT quantity FROM stock_balances WHERE item_id = ?"
RAW_ALL = ("SELECT i.sku, i.name, l.code, lot.lot_number, b.quantity, i.unit FROM stock_balances b "
           "JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id "
           "LEFT JOIN lots lot ON lot.id = b.lot_key WHERE b.quantity > 0 ORDER BY i.sku, l.code, lot.lot_number")


def _open(path: Path):
    from engine.config import Settings
    from engine.db.session import Database

    return Database.open(Settings(database_url=f"sqlite:///{path}"))


def _lookup(path: Path, raw: bool):
    """item number (None: all items) -> its on-hand rows, through Backoffice or raw sqlite3."""
    if raw:
        con = sqlite3.connect(path)
        return lambda n=None: con.execute(RAW_ONE, (n,)).fetchall() if n else con.execute(RAW_ALL).fetchall()
    from engine.inventory import queries
    from engine.security.roles import SYSTEM

    session = _open(path).read_sessions()   # one read-only session, as a door holds for a request
    return lambda n=None: queries.on_hand(session, SYSTEM, sku=_sku(n) if n else None)


def stage_lookup(path: Path, raw: bool, one: bool) -> dict:
    """On hand of the sampled items one by one (after 50 lookups to warm the caches), or of all."""
    look = _lookup(path, raw)
    for n in range(1, 51):
        look(n)
    started = time.perf_counter()
    rows = sum(len(look(n)) for n in _sample()) if one else len(look())
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _postings(path: Path) -> list[tuple[str, int, int, int]]:
    """(kind, item, quantity, bin) for 10,000 receipts and issues, none overdrawing a bin."""
    con = sqlite3.connect(path)
    held = {(i, p): q // SCALE for i, p, q in con.execute("SELECT item_id, location_id, quantity FROM stock_balances")}
    con.close()
    rng, out = random.Random(13), []
    for _ in range(POSTINGS):
        item, place, quantity = rng.randint(1, ITEMS), rng.choice((2, 3)), rng.randint(1, 20)
        kind = "issue" if held.get((item, place), 0) >= quantity and rng.random() < 0.5 else "receipt"
        held[item, place] = held.get((item, place), 0) + (quantity if kind == "receipt" else -quantity)
        out.append((kind, item, quantity, place))
    return out


def stage_post(path: Path) -> dict:
    from decimal import Decimal

    from engine.inventory.services import Movement, post_movement
    from engine.security.roles import SYSTEM

    db = _open(path)
    requests = [Movement(kind, "received" if kind == "receipt" else "sold", item, Decimal(quantity), POSTED_ON,
                         from_location_id=place if kind == "issue" else None,
                         to_location_id=place if kind == "receipt" else None,
                         unit_cost=Decimal(_cost(item)).scaleb(-2) if kind == "receipt" else None)
                for kind, item, quantity, place in _postings(path)]
    started = time.perf_counter()
    with db.unit_of_work(SYSTEM, source="system") as session:
        for request in requests:
            post_movement(session, SYSTEM, request)
    seconds = time.perf_counter() - started
    db.dispose()
    return {"seconds": seconds, "rows": len(requests)}


def stage_floor(path: Path) -> dict:
    con = sqlite3.connect(path)
    first = con.execute("SELECT max(id) FROM stock_movements").fetchone()[0] + 1
    rows = [_movement_row(first + n, POSTED_ON, kind, item, quantity, place)
            for n, (kind, item, quantity, place) in enumerate(_postings(path))]
    started = time.perf_counter()
    con.executemany(INSERT_MOVEMENT, rows)
    con.commit()
    return {"seconds": time.perf_counter() - started, "rows": len(rows)}


STAGES = {"on_hand": lambda p: stage_lookup(p, raw=False, one=True), "raw_on_hand": lambda p: stage_lookup(p, True, True),
          "all": lambda p: stage_lookup(p, raw=False, one=False), "raw_all": lambda p: stage_lookup(p, True, False),
          "post": stage_post, "floor": stage_floor}


# -- the driver ------------------------------------------------------------------------------------

def run_stage(name: str, folder: Path, n: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--stage", name, "--dir", str(folder), "--n", str(n)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(repeat: int, name: str, folder: Path, n: int, restore: bool = False) -> dict:
    """The fastest of `repeat` runs; a stage that writes gets a fresh copy of the database each time."""
    runs = []
    for _ in range(repeat):
        if restore:
            for suffix in ("-wal", "-shm"):
                (folder / f"stock-{n}-{name}.db{suffix}").unlink(missing_ok=True)
            shutil.copy(folder / f"stock-{n}.db", folder / f"stock-{n}-{name}.db")
        runs.append(run_stage(name, folder, n))
    return {**min(runs, key=lambda r: r["seconds"]), "runs": [r["seconds"] for r in runs]}


def report(lookups: dict[int, dict], whole: dict, posting: dict) -> None:
    us = {n: (r["on_hand"]["seconds"] / SAMPLE * 1e6, r["raw_on_hand"]["seconds"] / SAMPLE * 1e6) for n, r in lookups.items()}
    print(f"\nOn hand for one item (SQLite, {ITEMS:,} items, {SAMPLE:,} random SKUs, best of the runs)")
    print("  movements     on_hand(sku)   raw SELECT by item_id   ratio")
    for n, (ours, raw) in us.items():
        print(f"  {n:>9,}   {ours:9.0f} µs   {raw:14.1f} µs   {ours / raw:9.0f}x")
    small, large = min(us), max(us)
    print(f"  growth {small:,} -> {large:,} movements: on_hand x{us[large][0] / us[small][0]:.2f}, "
          f"raw x{us[large][1] / us[small][1]:.2f} (flat = 1)")
    ours, raw = whole["all"]["seconds"], whole["raw_all"]["seconds"]
    print(f"\nOn hand for all items ({whole['all']['rows']:,} rows): on_hand() {ours * 1000:.1f} ms, "
          f"raw SELECT {raw * 1000:.1f} ms: ratio {ours / raw:.1f}")
    ours, raw = posting["post"]["seconds"], posting["floor"]["seconds"]
    print(f"\nPosting {POSTINGS:,} receipts and issues in one unit of work: post_movement {ours:.2f} s "
          f"({ours / POSTINGS * 1000:.2f} ms each, {POSTINGS / ours:,.0f}/s; runs "
          f"{min(posting['post']['runs']):.2f}-{max(posting['post']['runs']):.2f}); "
          f"raw executemany {raw * 1000:.0f} ms: ratio {ours / raw:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="leave out the 1,000,000-movement history")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the fastest counts")
    args = parser.parse_args()
    if args.stage:
        if args.stage == "make":
            make_database(args.dir, args.n)
            print(json.dumps({"seconds": 0}))
            return
        import engine.db.migrate  # noqa: F401  (imports are start-up cost, not the work measured)
        import engine.inventory.services  # noqa: F401
        import engine.models  # noqa: F401  (every table, so the foreign keys resolve)

        suffix = f"-{args.stage}" if args.stage in ("post", "floor") else ""
        print(json.dumps(STAGES[args.stage](args.dir / f"stock-{args.n}{suffix}.db")))
        return
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    folder = Path(tempfile.mkdtemp(prefix="bench-stock-"))
    try:
        lookups = {}
        for n in sizes:
            run_stage("make", folder, n)
            lookups[n] = {name: best_of(args.repeat, name, folder, n) for name in ("on_hand", "raw_on_hand")}
        whole = {name: best_of(args.repeat, name, folder, sizes[-1]) for name in ("all", "raw_all")}
        posting = {name: best_of(args.repeat, name, folder, sizes[0], restore=True) for name in ("post", "floor")}
        report(lookups, whole, posting)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
