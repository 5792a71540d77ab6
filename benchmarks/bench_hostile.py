"""Benchmark: how fast and in how little memory the guard refuses a sheet past the row cap.

    .venv/bin/python benchmarks/bench_hostile.py [--runs 3] [--no-calamine]

Issue 19 ("Hostile sizes"): a sheet over the configured row cap is refused from its dimension
and a bounded scan, in under a second and a few MB, before any cell is parsed. Refusing a 5 MB
file holding a million-row sheet took 13 s and 1.4 GB when the reader counted the rows that
calamine had read. The files (written here with zipfile, row by row):

  plus-one      1,048,577 rows x 1 column, no <dimension>          (the issue's case)
  plus-one x10  1,048,577 rows x 10 columns, no <dimension>        (hundreds of MB of XML)
  grid          as plus-one, declaring the whole grid as Gnumeric writes it
  liar          as plus-one, declaring one cell ("A1")
  far cell      600 bytes: A1 and XFD1048576 (calamine would ask for half a terabyte)
  declared      a small sheet declaring A1:J1048577 (refused from the dimension alone)

against baselines measured in the same run: reading the sheet's part out of the zip (the
floor of any scan), and the guard on legitimate workbooks: a small one, and 100,000 rows x
10 columns with its dimension (trusted, not scanned) and without (scanned). Each step runs
in its own process, which imports the guard, then resets its peak-memory mark (Linux
/proc/self/clear_refs), so that its peak RSS (VmHWM) is the step's own; "extra" is that peak
less the memory the process held before the step. The fastest of --runs counts. Targets: a refusal
under 1 s and under 16 MB extra; the scan of a legitimate sheet within 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
PART = "xl/worksheets/sheet1.xml"
EXCEL_ROWS = 1_048_576
REFUSAL_SECONDS, REFUSAL_EXTRA_MB, SCAN_RATIO = 1.0, 16.0, 3.0


# -- the files ---------------------------------------------------------------------------------

def workbook(path: Path, rows: Iterable[bytes], dimension: str = "") -> Path:
    """An .xlsx with one sheet whose rows are streamed into the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SHEET_TYPE}"/></Types>'))
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                                   f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                                       '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                                                  f'Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with zf.open(PART, "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS}">'.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            batch: list[bytes] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 50_000:
                    sheet.write(b"".join(batch))
                    batch.clear()
            sheet.write(b"".join(batch) + b"</sheetData></worksheet>")
    return path


def numbered(last: int, columns: str = "A") -> Iterator[bytes]:
    """Rows 1..last as Excel writes them: numbered rows and cells, a number in each cell."""
    for n in range(1, last + 1):
        yield b'<row r="%d">%s</row>' % (n, b"".join(b'<c r="%s%d"><v>%d</v></c>' % (c.encode(), n, n % 9973)
                                                     for c in columns))


def legitimate(folder: Path, rows: int) -> tuple[Path, Path]:
    """A 100,000-row x 10-column sheet as Excel writes it (with its dimension), and the same
    without the dimension (as a few writers leave it out)."""
    columns = "ABCDEFGHIJ"
    dimensioned = workbook(folder / "legit.xlsx", numbered(rows, columns), dimension=f"A1:J{rows}")
    bare = workbook(folder / "legit-bare.xlsx", numbered(rows, columns))
    return dimensioned, bare


def make_files(folder: Path) -> dict[str, Path]:
    files = {
        "plus-one": workbook(folder / "plus-one.xlsx", numbered(EXCEL_ROWS + 1)),
        "plus-one x10": workbook(folder / "plus-one-x10.xlsx", numbered(EXCEL_ROWS + 1, "ABCDEFGHIJ")),
        "grid": workbook(folder / "grid.xlsx", numbered(EXCEL_ROWS + 1), dimension="A1:XFD1048576"),
        "liar": workbook(folder / "liar.xlsx", numbered(EXCEL_ROWS + 1), dimension="A1"),
        "far cell": workbook(folder / "far.xlsx", [b'<row r="1"><c r="A1"><v>1</v></c></row>',
                                                   b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']),
        "declared": workbook(folder / "declared.xlsx", numbered(3), dimension="A1:J1048577"),
        "small legit": workbook(folder / "small.xlsx", numbered(1000, "ABCDEFGHIJ"), dimension="A1:J1000"),
    }
    files["100k legit"], files["100k no dimension"] = legitimate(folder, 100_000)
    return files


# -- the steps (each in a child process) -------------------------------------------------------

def step(name: str, path: Path) -> str:
    from engine.config import WorkbookLimits
    from engine.errors import UnusableInput
    from engine.office.xlsx_guard import check_package

    if name == "unzip":
        with zipfile.ZipFile(path) as zf, zf.open(PART) as fh:
            while fh.read(1 << 20):
                pass
        return "read"
    if name == "calamine":  # the reader before issue 19: every row read, then counted
        from python_calamine import CalamineWorkbook

        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python(skip_empty_area=False)
        return f"read {len(rows):,} rows (then refused by the count)"
    try:
        check_package(path, WorkbookLimits())
    except UnusableInput as exc:
        return "refused: " + exc.reason.split(":")[0]
    return "accepted"


def _reset_peak() -> float:
    """Start the process's peak-memory mark afresh (Linux), and return the MB it holds now.

    The peak is read back from VmHWM (`_peak`): ru_maxrss cannot be reset, and a child
    started by subprocess begins with its parent's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status("VmRSS:")
    except OSError:  # elsewhere: the whole process's peak, imports included
        return 0.0


def _peak() -> float:
    try:
        return _status("VmHWM:")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status(field: str) -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(field))


def run(name: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", name, "--file", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"step {name} on {path.name} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(runs: int, name: str, path: Path) -> dict:
    results = [run(name, path) for _ in range(runs)]
    fastest = min(results, key=lambda r: r["seconds"])
    return {**fastest, "peak_mb": max(r["peak_mb"] for r in results),
            "extra_mb": max(r["peak_mb"] - r["before_mb"] for r in results)}


def sheet_bytes(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(PART).file_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per step; the fastest counts")
    parser.add_argument("--no-calamine", action="store_true",
                        help="skip the one run of the old path (calamine reads the million rows first)")
    parser.add_argument("--step")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.step:
        # Imports are start-up, not the work measured.
        import python_calamine  # noqa: F401

        import engine.config  # noqa: F401
        import engine.office.xlsx_guard  # noqa: F401

        before = _reset_peak()
        started = time.perf_counter()
        outcome = step(args.step, args.file)
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "peak_mb": _peak(), "before_mb": before, "outcome": outcome}))
        return

    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder:
        print("writing the files ...", flush=True)
        files = make_files(Path(folder))
        print(f"\nBest of {args.runs}; peak: the step's max RSS; extra: above what its process held before.\n")
        print(f"{'file':20s} {'zip':>8s} {'sheet XML':>10s} {'unzip':>7s} {'guard':>7s} {'x unzip':>8s} "
              f"{'peak':>7s} {'extra':>7s}  outcome")
        results = {}
        for label, path in files.items():
            floor = best(args.runs, "unzip", path)
            guard = best(args.runs, "guard", path)
            results[label] = (floor, guard)
            extra = guard["extra_mb"]
            print(f"{label:20s} {path.stat().st_size / 1e6:6.1f}MB {sheet_bytes(path) / 1e6:8.1f}MB "
                  f"{floor['seconds']:6.3f}s {guard['seconds']:6.3f}s {guard['seconds'] / floor['seconds']:7.1f}x "
                  f"{guard['peak_mb']:5.0f}MB {extra:5.1f}MB  {guard['outcome'][:70]}")
        print("\ntargets")
        for label in ("plus-one", "plus-one x10", "grid", "liar", "far cell", "declared"):
            _, guard = results[label]
            refused = guard["outcome"].startswith("refused: sheet 'Data' is too large")
            extra = guard["extra_mb"]
            ok = refused and guard["seconds"] < REFUSAL_SECONDS and extra < REFUSAL_EXTRA_MB
            print(f"  {label:18s} refused in {guard['seconds']:.3f} s, {extra:4.1f} MB extra "
                  f"(target < {REFUSAL_SECONDS:.0f} s, < {REFUSAL_EXTRA_MB:.0f} MB): {'PASS' if ok else 'FAIL'}")
        floor, scanned = results["100k no dimension"]
        _, trusted = results["100k legit"]
        ratio = scanned["seconds"] / floor["seconds"]
        print(f"  100k rows, scanned   {scanned['seconds']:.3f} s = {ratio:.1f}x reading its part "
              f"(target <= {SCAN_RATIO:.0f}x): {'PASS' if ratio <= SCAN_RATIO else 'FAIL'};  "
              f"with its dimension (trusted) {trusted['seconds']:.3f} s")
        if not args.no_calamine:  # once each: seconds and a GB or more
            print("\nbefore: calamine reads the sheet, then the reader counts its rows (one run each)")
            for label in ("plus-one", "plus-one x10"):
                before, now = run("calamine", files[label]), results[label][1]
                print(f"  {label:14s} {before['seconds']:6.2f} s, {before['peak_mb']:6.0f} MB peak;  the guard now "
                      f"{now['seconds']:.3f} s ({before['seconds'] / now['seconds']:.0f}x faster), "
                      f"{now['peak_mb']:.0f} MB peak")

if __name__ == "__main__":
    main()
