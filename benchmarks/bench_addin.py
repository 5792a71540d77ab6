"""The add-in's benchmark: a sync through the live-book adapter against the file path, in one run.

    .venv/bin/python benchmarks/bench_addin.py [--rows 10000] [--repeat 3]

A contacts database with ROWS people and their workbook; 1% of the People cells edited, the
same cells with the same values on both sides; then, from twin copies of the database:
  (f) file   = `backoffice sync` of the .xlsx (RoundTrip.sync on the file: read, merge,
               check, apply, write-back patched into the file)
  (l) live   = the ribbon's Sync on the open workbook: addin.livebook.snapshot (bulk range
               reads) + RoundTrip.sync on the snapshot + addin.livebook.apply (range writes),
               in the headless xlwings engine
The headless engine's own load and save of the file (Excel's part, not the add-in's) are
timed apart. Each side runs `--repeat` times from fresh copies; the fastest run counts. The same again for
a workbook of ROWS new rows (all inserted; ids, versions and a new base written back).
Printed: seconds of each, and the ratio live / file (the adapter's cost beside the file path).

Then the worksheet functions: 10,000 =BO_ONHAND calls in one recalculation, time per call and
the number of database queries (benchmarks/bench_addin_functions.py), when it is there.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _prepare(folder: Path, rows: int) -> None:
    """bench.db with ROWS people synced from a fresh workbook; `base.xlsx` their workbook;
    `empty.db` the database before, `fresh.xlsx` the workbook of ROWS new rows."""
    from bench_sync import make_workbook

    from engine.sheets.roundtrip import RoundTrip

    make_workbook(folder, rows)
    shutil.copy(folder / "bench.db", folder / "empty.db")
    shutil.copy(folder / "fresh.xlsx", folder / "new.xlsx")
    trip = _trip(folder / "bench.db", RoundTrip)
    result = trip.sync(folder / "fresh.xlsx")
    assert result.status == "applied" and result.inserted == rows, result.as_json()
    trip.db.dispose()
    shutil.copy(folder / "fresh.xlsx", folder / "base.xlsx")


def _trip(database: Path, kind):
    from engine.config import Settings
    from engine.db.session import Database
    from engine.security.users import resolve_actor

    settings = Settings(database_url=f"sqlite:///{database}")
    db = Database.open(settings)
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
    return kind(db, settings, actor)


def _edits(rows: int) -> dict[tuple[int, str], str]:
    """1% of the People cells: (row, column label) -> new text, the same for both sides."""
    rng = random.Random(11)
    columns = ["Job title", "Phone", "Tags"]
    cells = rng.sample([(r, c) for r in range(2, rows + 2) for c in columns], k=max(1, rows * len(columns) // 100))
    return {(r, c): f"edited {r}-{c[:3]}" for r, c in cells}


def _edit_file(path: Path, edits: dict[tuple[int, str], str]) -> None:
    from engine.office.xlsx_patch import CellPatch, SheetPatch, patch_xlsx
    from tests.integration.conftest import read_sheet

    header = read_sheet(path, "People")[0]
    cells = {(r, header.index(label) + 1): CellPatch(value) for (r, label), value in edits.items()}
    patch_xlsx(path, path, {"People": SheetPatch(cells)})


def run_file(folder: Path, edits, new: bool, expected: int) -> float:
    from engine.sheets.roundtrip import RoundTrip

    shutil.copy(folder / ("empty.db" if new else "bench.db"), folder / "file.db")
    shutil.copy(folder / ("new.xlsx" if new else "base.xlsx"), folder / "file.xlsx")
    if not new:
        _edit_file(folder / "file.xlsx", edits)
    trip = _trip(folder / "file.db", RoundTrip)
    started = time.perf_counter()
    result = trip.sync(folder / "file.xlsx")
    took = time.perf_counter() - started
    assert result.status == "applied" and (result.inserted if new else result.updated) == expected
    trip.db.dispose()
    return took


def run_live(folder: Path, edits, new: bool, expected: int) -> tuple[float, float, float]:
    """(sync through the adapter, the headless engine's load, its save)."""
    from addin import headless, livebook
    from engine.sheets.roundtrip import RoundTrip

    shutil.copy(folder / ("empty.db" if new else "bench.db"), folder / "live.db")
    shutil.copy(folder / ("new.xlsx" if new else "base.xlsx"), folder / "live.xlsx")
    headless.register()
    started = time.perf_counter()
    book = headless.open_book(folder / "live.xlsx")
    loaded = time.perf_counter() - started
    sheet = book.sheets["People"]
    header = sheet.range((1, 1), (1, sheet.used_range.last_cell.column)).value
    for (r, label), value in ({} if new else edits).items():
        sheet.range((r, header.index(label) + 1)).value = value
    trip = _trip(folder / "live.db", RoundTrip)
    started = time.perf_counter()
    snapshot = livebook.snapshot(book)
    result = trip.sync(snapshot)
    livebook.apply(book, snapshot.changes)
    took = time.perf_counter() - started
    assert result.status == "applied" and (result.inserted if new else result.updated) == expected
    started = time.perf_counter()
    headless.save_book(book)
    saved = time.perf_counter() - started
    book.close()
    trip.db.dispose()
    return took, loaded, saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from engine import app

    app.start()             # the modules' workbooks, as `backoffice` registers them
    with tempfile.TemporaryDirectory(prefix="bench-addin-") as name:
        folder = Path(name)
        print(f"preparing {args.rows:,} people and their workbook ...", flush=True)
        _prepare(folder, args.rows)
        edits = _edits(args.rows)
        for new, expected, what in (
                (False, len({r for r, _ in edits}), f"{len(edits):,} cells edited in {args.rows:,} saved rows"),
                (True, args.rows, f"{args.rows:,} new rows (their ids and versions written back)")):
            files, lives = [], []
            for _ in range(args.repeat):
                files.append(run_file(folder, edits, new, expected))
                lives.append(run_live(folder, edits, new, expected))
            best_file = min(files)
            best_live, loaded, saved = min(lives)
            print(f"{what}; best of {args.repeat}:")
            print(f"  (f) file sync                      {best_file:6.2f} s")
            print(f"  (l) live sync through the adapter  {best_live:6.2f} s   ratio l/f = {best_live / best_file:.2f}")
            print(f"      (headless engine: load {loaded:.2f} s, save {saved:.2f} s; Excel's part, not timed above)")
    try:
        from bench_addin_functions import main as functions
    except ImportError:
        print("(the worksheet functions' benchmark is not there)")
        return
    functions([])   # its own defaults: 10,000 calls over 2,000 items


if __name__ == "__main__":
    main()
