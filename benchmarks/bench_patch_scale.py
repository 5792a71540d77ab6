"""Benchmark: a sync's write-back into a whole sheet, streamed, against the patcher before it.

A sync that inserted every row of a 1,048,000-row People sheet (11 columns, the export's own
workbook from bench_sync) writes each row's new ID and Version back: 2 M cells, plus a few
hundred marks and notes. Measured, each in its own child process (peak memory is its own):

  floor  - the file re-zipped without changes, every member inflated and deflated in chunks
  before - `patch_xlsx` as it was before the streaming patcher (the code of --before, taken
           from git into a temporary folder), the patches in the plain dict it had
  after  - `patch_xlsx` of this tree, the patches in the default SheetPatch store

Each run reports the time to build the patches and to patch (wall clock, and the process's
CPU time for the patch: on a shared machine the wall clock also counts others' work), the
peak RSS, and the peak less the RSS just before the patches were built (the patch's share). The sheet XML
written by before and after is compared (same bytes, or only the same values).

    .venv/bin/python benchmarks/bench_patch_scale.py --rows 1048000 [--rows 100000] [--dir D]

The workbook is made with bench_sync's make stage (about 80 s at 1 M rows) in --dir, or in a
temporary folder deleted afterwards; an existing DIR/fresh.xlsx is used as it is.
Targets (issue 19): the 2 M-cell write-back of a 1 M-row sheet under 15 s and 250 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "f71eb56"  # the last commit with the patcher that held the sheet and the patches whole
SHEET = "People"
MARKS_EVERY = 3_500  # a mark and a note on every 3,500th row: 300 at 1 M rows


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        found = re.search(r"VmRSS:\s+(\d+)", status.read())
    return int(found.group(1)) / 1024 if found else 0.0


def step_patch(source: Path, target: Path, rows: int) -> dict:
    from engine.office.xlsx_patch import (  # here: the engine of --step's code
        CellPatch,
        SheetPatch,
        patch_xlsx,
    )

    started = time.perf_counter()
    resting = _rss_mb()
    patch = SheetPatch(clear_marks=False)
    cells = patch.cells
    for row in range(2, rows + 2):  # what annotate.refresh_sheet puts for a new row
        cells[(row, 1)] = CellPatch(row - 1)
        cells[(row, 2)] = CellPatch(1)
    for row in range(2, rows + 2, MARKS_EVERY):
        cells[(row, 3)] = CellPatch(value=f"First{row}", mark="changed", note="Changed in the database.")
    built, cpu = time.perf_counter(), time.process_time()
    patch_xlsx(source, target, {SHEET: patch})
    done, cpu = time.perf_counter(), time.process_time() - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"build": built - started, "patch": done - built, "cpu": cpu,
            "peak_mb": usage.ru_maxrss / 1024, "own_mb": usage.ru_maxrss / 1024 - resting}


def step_floor(source: Path, target: Path) -> dict:
    """Every member inflated and deflated again, in chunks: what rewriting the file costs at least."""
    from engine.office.xlsx_zip import COMPRESS_LEVEL  # here: the child's own engine

    started, cpu = time.perf_counter(), time.process_time()
    resting = _rss_mb()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=COMPRESS_LEVEL) as new:
        for info in old.infolist():
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            for name in ("compress_level", "_compresslevel"):  # Python 3.13+, then 3.11/3.12
                if hasattr(entry, name):
                    setattr(entry, name, COMPRESS_LEVEL)
                    break
            with old.open(info) as inp, new.open(entry, "w") as out:
                shutil.copyfileobj(inp, out, 1 << 20)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"build": 0.0, "patch": done - started, "cpu": cpu,
            "peak_mb": usage.ru_maxrss / 1024, "own_mb": usage.ru_maxrss / 1024 - resting}


def run_step(name: str, source: Path, target: Path, rows: int, code: Path) -> dict:
    command = [sys.executable, __file__, "--step", name, str(source), str(target), "--rows", str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=code,
                          env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def before_code(folder: Path, revision: str) -> Path:
    """The engine package as it was at `revision`, exported from git into `folder`."""
    archive = subprocess.run(["git", "archive", revision, "engine"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def sheet_digest(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        name = next(info for info in package.infolist() if info.file_size > 1 << 20
                    and info.filename.startswith("xl/worksheets/"))
        digest = hashlib.sha256()
        with package.open(name) as sheet:
            while block := sheet.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def make_workbook(folder: Path, rows: int) -> Path:
    source = folder / "fresh.xlsx"
    if not source.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sync.py"), "--stage", "make",
                        "--dir", str(folder), "--rows", str(rows)], check=True, cwd=ROOT, capture_output=True)
    return source


def bench(rows: int, folder: Path, revision: str) -> None:
    source = make_workbook(folder, rows)
    with zipfile.ZipFile(source) as package:
        sheet_mb = max(info.file_size for info in package.infolist()) / 1e6
    print(f"\n{rows:,} rows x 11 columns: sheet XML {sheet_mb:.0f} MB, file {source.stat().st_size / 1e6:.0f} MB; "
          f"{2 * rows:,} cells (ID, Version) + {len(range(2, rows + 2, MARKS_EVERY))} marks with notes")
    old = before_code(folder / "before", revision)
    results = {
        "floor": run_step("floor", source, folder / "floor.xlsx", rows, ROOT),
        "before": run_step("patch", source, folder / "before.xlsx", rows, old),
        "after": run_step("patch", source, folder / "after.xlsx", rows, ROOT),
    }
    floor, floor_cpu = results["floor"]["patch"], results["floor"]["cpu"]
    for name, r in results.items():
        print(f"  {name:6}  build {r['build']:5.2f} s  patch {r['patch']:6.2f} s ({r['patch'] / floor:5.2f}x floor), "
              f"CPU {r['cpu']:6.2f} s ({r['cpu'] / floor_cpu:5.2f}x)  peak RSS {r['peak_mb']:6.0f} MB  "
              f"own {r['own_mb']:6.0f} MB")
    b, a = results["before"], results["after"]
    print(f"  after / before: time {a['patch'] / b['patch']:.2f}, CPU {a['cpu'] / b['cpu']:.2f}, "
          f"peak {a['peak_mb'] / b['peak_mb']:.2f}, own memory {a['own_mb'] / max(b['own_mb'], 1):.2f}")
    same = sheet_digest(folder / "before.xlsx") == sheet_digest(folder / "after.xlsx")
    print(f"  sheet XML of before and after: {'the same bytes' if same else 'different bytes'}")
    for name in ("floor.xlsx", "before.xlsx", "after.xlsx"):
        (folder / name).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--dir", type=Path, help="where the workbooks are made (kept); default: a temporary folder")
    parser.add_argument("--before", default=BEFORE, help="the git revision measured as before")
    parser.add_argument("--step", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        name, source, target = options.step[0], Path(options.step[1]), Path(options.step[2])
        rows = options.rows[0]
        result = step_patch(source, target, rows) if name == "patch" else step_floor(source, target)
        print(json.dumps(result))
        return
    for rows in options.rows or [100_000, 1_048_000]:
        if options.dir:
            bench(rows, options.dir / f"rows{rows}", options.before)
        else:
            with tempfile.TemporaryDirectory() as folder:
                bench(rows, Path(folder), options.before)


if __name__ == "__main__":
    main()
