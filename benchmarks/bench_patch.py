"""Benchmark: write 100,000 cell values into a 100,000-row x 10-column workbook.

Compares `patch_xlsx` with its floor, reading every zip member and zipping them again (no
XML work at all), measured in the same run. Each step runs in a fresh Python process so its
peak memory (RSS) is its own.

    .venv/bin/python benchmarks/bench_patch.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_workbook(path: Path, rows: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Data")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(
        0, 0, ["id", "name", "city", "amount", "qty", "date", "code", "note", "flag", "ref"]
    )
    start = dt.date(2020, 1, 1)
    for row in range(1, rows + 1):
        sheet.write_number(row, 0, row)
        sheet.write_string(row, 1, f"Name {row}")
        sheet.write_string(row, 2, f"City {row % 97}")
        sheet.write_number(row, 3, row * 1.25)
        sheet.write_number(row, 4, row % 13)
        sheet.write_datetime(
            row,
            5,
            dt.datetime.combine(start, dt.time()) + dt.timedelta(days=row % 900),
            date_format,
        )
        sheet.write_string(row, 6, f"C-{row:06d}")
        sheet.write_string(row, 7, "some text here")
        sheet.write_boolean(row, 8, row % 2 == 0)
        sheet.write_number(row, 9, row * 7)
    book.close()


def step_patch(source: Path, target: Path, rows: int) -> float:
    from engine.office.xlsx_patch import CellPatch, SheetPatch, patch_xlsx

    started = time.perf_counter()
    cells = {
        f"A{row}": CellPatch(value=f"ID-{row}" if row % 2 else row * 3)
        for row in range(2, rows + 2)
    }
    patch_xlsx(source, target, {"Data": SheetPatch(cells=cells)})
    return time.perf_counter() - started


def step_floor(source: Path, target: Path) -> float:
    """Read every member and write it again: what any patch costs at least."""
    started = time.perf_counter()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
    return time.perf_counter() - started


def run_step(*arguments: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--step", *arguments], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        name, source, target = options.step[0], Path(options.step[1]), Path(options.step[2])
        seconds = (
            step_patch(source, target, options.rows)
            if name == "patch"
            else step_floor(source, target)
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))
        return

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "big.xlsx"
        started = time.perf_counter()
        make_workbook(source, options.rows)
        made = time.perf_counter() - started
        sheet_mb = zipfile.ZipFile(source).getinfo("xl/worksheets/sheet1.xml").file_size / 1e6
        print(
            f"workbook: {options.rows:,} rows x 10 columns, sheet XML {sheet_mb:.0f} MB, "
            f"file {source.stat().st_size / 1e6:.1f} MB (made in {made:.1f} s)"
        )
        floor = run_step("floor", str(source), str(Path(folder) / "floor.xlsx"))
        patch = run_step(
            "patch", str(source), str(Path(folder) / "patched.xlsx"), "--rows", str(options.rows)
        )
        print(
            f"floor (read all members + re-zip): {floor['seconds']:.2f} s, peak RSS {floor['peak_mb']:.0f} MB"
        )
        print(
            f"patch_xlsx, {options.rows:,} cells:       {patch['seconds']:.2f} s, peak RSS {patch['peak_mb']:.0f} MB"
        )
        print(f"ratio patch / floor: {patch['seconds'] / floor['seconds']:.2f}")


if __name__ == "__main__":
    main()
