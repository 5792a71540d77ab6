"""Inventory workbook benchmark: syncing 100,000 new movement rows, against the round-trip
floor of the workbook benchmark, measured in the same run.

    .venv/bin/python benchmarks/bench_stock_sync.py [--rows 100000] [--repeat 3]

On SQLite: 1,000 items (half FIFO, half moving average) in 3 warehouses, and an Inventory
workbook whose Movements sheet holds `rows` new receipts and issues (none overdrawing a
place). `backoffice sync` posts them all (checks, locks, costing, balances, FIFO layers, one
audit row each) and writes their IDs, versions, SKUs and values back into the workbook.
The floor is `bench_sync.py`'s (a): python-calamine read + plain type checks + sqlite3
executemany + re-zip of a 100,000-row, 10-column workbook. Each stage runs in its own
process, `--repeat` times from the same files; the fastest run counts.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_sync  # noqa: E402  (the floor, and the stage runner)

ITEMS, PLACES = 1_000, 3


def make_inventory(folder: Path, rows: int) -> None:
    """A database with the items and places, and a fresh workbook of `rows` new movements."""
    from engine.config import Settings
    from engine.db.installation import seal
    from engine.db.session import Database
    from engine.inventory.models import Item, Location
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor
    from engine.sheets.export import SheetData, write_workbook
    from engine.sheets.exporting import _meta
    from engine.sheets.spec import workbook_spec

    for name in ("stock.db", "stock.db-wal", "stock.db-shm"):
        (folder / name).unlink(missing_ok=True)
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'stock.db'}"), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        session.add_all([Location(code=f"W{n}", name=f"Warehouse {n}", kind="warehouse") for n in range(PLACES)])
        session.add_all([Item(sku=f"SKU-{n:05d}", name=f"Item {n}", valuation=("fifo", "average")[n % 2])
                         for n in range(ITEMS)])
    with db.reading() as session:
        actor, ours = resolve_actor(session, "wes"), seal(session)
    db.dispose()
    rng, held, new = random.Random(3), {}, []
    for n in range(rows):
        item, place = rng.randint(1, ITEMS), rng.randint(1, PLACES)
        moved_on = date(2026, 1, 1) + timedelta(days=n * 300 // rows)
        stock = held.get((item, place), 0)
        if stock < 5 or rng.random() < 0.5:
            quantity = rng.randint(5, 50)
            new.append({"moved_on": moved_on, "kind": "receipt", "reason": "received", "item_id": item,
                        "quantity": quantity, "to_location_id": place, "unit_cost": rng.randint(100, 9999) / 100})
        else:
            quantity = -rng.randint(1, stock)
            new.append({"moved_on": moved_on, "kind": "issue", "reason": "issued", "item_id": item,
                        "quantity": -quantity, "from_location_id": place})
        held[(item, place)] = stock + quantity
    spec = workbook_spec("inventory")
    sheets = [SheetData(s, s.columns, [], new_rows=new if s.name == "Movements" else []) for s in spec.sheets]
    write_workbook(folder / "stock.xlsx", _meta(spec, ours.installation_id, actor), sheets, {}, spare_rows=0,
                   key=ours.key)
    shutil.copy(folder / "stock.xlsx", folder / "stock.fresh.xlsx")
    shutil.copy(folder / "stock.db", folder / "stock.fresh.db")


def stage_stock_sync(folder: Path) -> None:
    from engine.config import Settings
    from engine.db.session import Database
    from engine.security.users import resolve_actor
    from engine.sheets.roundtrip import RoundTrip

    shutil.copy(folder / "stock.fresh.db", folder / "stock.db")
    shutil.copy(folder / "stock.fresh.xlsx", folder / "stock.xlsx")
    for suffix in ("-wal", "-shm"):
        (folder / f"stock.db{suffix}").unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{folder / 'stock.db'}")
    db = Database.open(settings)
    with db.reading() as session:
        actor = resolve_actor(session, "wes")
    started = time.perf_counter()
    result = RoundTrip(db, settings, actor).sync(folder / "stock.xlsx")
    seconds = time.perf_counter() - started
    assert result.status == "applied" and result.inserted > 0, result.as_json()["problems"][:3]
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(name: str, folder: Path, rows: int) -> dict:
    """One child process running `name` (this file's stages or bench_sync's)."""
    import subprocess

    script = __file__ if name in ("make_inventory", "stock_sync") else bench_sync.__file__
    done = subprocess.run([sys.executable, script, "--stage", name, "--dir", str(folder), "--rows", str(rows)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stage")
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    if args.stage in ("make_inventory", "stock_sync"):
        from engine import app

        app.start()             # the modules' workbooks, as `backoffice` registers them
    if args.stage == "make_inventory":
        make_inventory(args.dir, args.rows)
        print(json.dumps({"seconds": 0, "peak_mb": 0}))
        return
    if args.stage == "stock_sync":
        import engine.db.migrate  # noqa: F401  (imports are start-up cost, not the work measured)
        import engine.sheets.roundtrip  # noqa: F401
        stage_stock_sync(args.dir)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-stock-sync-"))
    try:
        run("make", folder, 100_000)                       # bench_sync's contacts workbook, for the floor
        floor = min(run("floor", folder, 100_000)["seconds"] for _ in range(args.repeat))
        report = {}
        for rows in sorted({10_000, args.rows}):
            run("make_inventory", folder, rows)
            runs = [run("stock_sync", folder, rows) for _ in range(args.repeat)]
            report[rows] = (min(r["seconds"] for r in runs), max(r["peak_mb"] for r in runs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nround-trip floor (bench_sync (a), 100,000 rows x 10 columns): {floor:.2f} s")
    for rows, (seconds, peak) in report.items():
        ratio = f"   {seconds / floor:.2f}x the floor" if rows == 100_000 else ""
        print(f"  backoffice sync of {rows:>7,} new movement rows: {seconds:6.2f} s   peak {peak:.0f} MB{ratio}")
    if len(report) == 2:
        (small, (t_small, _)), (large, (t_large, _)) = report.items()
        print(f"growth: {large // small}x the rows took {t_large / t_small:.1f}x the time")


if __name__ == "__main__":
    main()
