"""Workbook export benchmark: `backoffice workbook new contacts` against a floor, in one run.

    .venv/bin/python benchmarks/bench_export.py [--rows 100000 1048000] [--repeat 2] [--sqlite-only]

For each size, a contacts database with that many people (and 500 organisations) on SQLite
and on PostgreSQL (BACKOFFICE_TEST_PG_URL, a schema of its own, dropped at the end):
  (e) export = `new_workbook` of the Contacts workbook: every sheet, the drop-down lists (all
      contacts), the base snapshot, signed; streamed from the database to the file
  (f) floor  = the same select of the People rows through the driver's own cursor (a
      server-side one on PostgreSQL), each row formatted by one f-string as SpreadsheetML,
      deflated at level 1 into a zip: what any exporter of that sheet has to do at least
Each stage runs in its own process so peak memory (max RSS) is its own; the fastest of
`--repeat` runs counts (noise on a shared machine only adds time). Targets (issue 19): the
1,048,000-row sheet exported in under 30 s and 1 GB on either database, time linear in rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COUNTRIES = ["GB", "DE", "FR", "NL", "ES", "IT", "US", "IE", "SE", "PL"]
ORGANISATIONS = 500      # with 1,048,000 people, all contacts still fit the drop-down list's column
RUN = 50_000


# -- stages (each in a child process: `bench_export.py --stage NAME --dir D --url U --rows N`) ---

def stage_make(folder: Path, url: str, rows: int) -> None:
    """A migrated database with a user, the organisations and `rows` people, inserted in bulk."""
    from engine.config import Settings
    from engine.contacts.models import Contact
    from engine.db.bulk import insert_many
    from engine.db.session import Database
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user

    db = Database.open(Settings(database_url=url), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "bench", "Bench", ["admin"], None)
    now, rng, table = datetime.now(UTC), random.Random(7), Contact.__table__
    common = {"version": 1, "created_at": now, "updated_at": now, "updated_by": "bench", "website": None,
              "notes": None}
    with db.engine.begin() as connection:
        insert_many(connection, table, [
            {"id": n + 1, "kind": "organisation", "name": f"Org {n}", "name_key": f"org {n}", "first_name": None,
             "last_name": None, "organisation_id": None, "job_title": None, "email": f"info@org{n}.example",
             "phone": None, "country": "GB", "tags": None, "opt_out": False, **common} for n in range(ORGANISATIONS)])
        for start in range(0, rows, RUN):
            people = []
            for n in range(start, min(rows, start + RUN)):
                first, last = f"First{n}", f"Last{n % 9973}"
                people.append({
                    "id": ORGANISATIONS + 1 + n, "kind": "person", "name": f"{first} {last}",
                    "name_key": f"{first} {last}".lower(), "first_name": first, "last_name": last,
                    "organisation_id": n % ORGANISATIONS + 1 if n % 3 else None,
                    "job_title": rng.choice(["Buyer", "CEO", "Clerk", "Head of R&D"]),
                    "email": f"person{n}@example.org", "phone": f"+44 20 {n:07d}", "country": rng.choice(COUNTRIES),
                    "tags": rng.choice(["customer", "supplier", "vip", None]), "opt_out": n % 17 == 0, **common})
            insert_many(connection, table, people)
    db.dispose()


def stage_export(folder: Path, url: str, rows: int) -> dict:
    from engine.config import Settings
    from engine.db.session import Database
    from engine.security.users import resolve_actor
    from engine.sheets.exporting import new_workbook

    db = Database.open(Settings(database_url=url))
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
    out = folder / "contacts.xlsx"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    counts = new_workbook(db, actor, "contacts", out)
    seconds = time.perf_counter() - started
    db.dispose()
    assert counts["People"] == rows, counts
    return {"seconds": seconds, **_sizes(out)}


def stage_floor(folder: Path, url: str, rows: int) -> dict:
    """The People rows read through the driver and written as sheet XML into a zip (level 1)."""
    from sqlalchemy import create_engine

    from engine.sheets.apply import _rows_query
    from engine.sheets.spec import workbook_spec

    engine = create_engine(url)
    spec = workbook_spec("contacts").sheet("People")
    out = folder / "floor.xlsx"
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with engine.connect() as connection:
            # the columns the export reads of a sheet without computed values (exporting._records)
            query, _blank = _rows_query(connection, spec, None, None, [c.key for c in spec.columns if not c.computed])
        compiled = query.compile(dialect=engine.dialect)
        params = compiled.construct_params()
        if compiled.positional:
            params = [params[name] for name in compiled.positiontup]
        postgres = engine.dialect.name == "postgresql"
        cursor = raw.driver_connection.cursor(name="floor") if postgres else raw.cursor()
        cursor.execute(compiled.string, params)
        at = {column.key: n for n, column in enumerate(query.selected_columns)}
        rid, version, first, last, org, job, email, phone, country, tags, opt_out = (at[key] for key in (
            "id", "version", "first_name", "last_name", "organisation_id", "job_title", "email", "phone", "country",
            "tags", "opt_out"))
        written = 0
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package, \
                package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b"<worksheet><sheetData>")
            while batch := cursor.fetchmany(10_000):
                xml = "".join(
                    f'<row r="{n}"><c r="A{n}" s="1"><v>{r[rid]}</v></c><c r="B{n}" s="1"><v>{r[version]}</v></c>'
                    f'<c r="C{n}" s="2" t="inlineStr"><is><t>{r[first]}</t></is></c>'
                    f'<c r="D{n}" s="2" t="inlineStr"><is><t>{r[last]}</t></is></c>'
                    f'<c r="E{n}" s="2"><v>{r[org] or ""}</v></c>'
                    f'<c r="F{n}" s="2" t="inlineStr"><is><t>{r[job].replace("&", "&amp;")}</t></is></c>'
                    f'<c r="G{n}" s="2" t="inlineStr"><is><t>{r[email]}</t></is></c>'
                    f'<c r="H{n}" s="2" t="inlineStr"><is><t>{r[phone]}</t></is></c>'
                    f'<c r="I{n}" s="2" t="inlineStr"><is><t>{r[country]}</t></is></c>'
                    f'<c r="J{n}" s="2" t="inlineStr"><is><t>{r[tags] or ""}</t></is></c>'
                    f'<c r="K{n}" s="2" t="b"><v>{int(r[opt_out])}</v></c></row>'
                    for n, r in enumerate(batch, start=written + 2))
                sheet.write(xml.encode())
                written += len(batch)
            sheet.write(b"</sheetData></worksheet>")
        cursor.close()
    finally:
        raw.close()
        engine.dispose()
    assert written == rows, written
    return {"seconds": time.perf_counter() - started, **_sizes(out)}


def _sizes(path: Path) -> dict:
    with zipfile.ZipFile(path) as package:
        unpacked = sum(info.file_size for info in package.infolist())
    return {"file_mb": path.stat().st_size / 1e6, "unpacked_mb": unpacked / 1e6}


STAGES = {"make": stage_make, "export": stage_export, "floor": stage_floor}


# -- the driver ----------------------------------------------------------------------------------

def run_stage(name: str, folder: Path, url: str, rows: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--stage", name, "--dir", str(folder), "--url", url,
                           "--rows", str(rows)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(repeat: int, name: str, folder: Path, url: str, rows: int) -> dict:
    runs = [run_stage(name, folder, url, rows) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_mb": max(r["peak_mb"] for r in runs), "runs": [r["seconds"] for r in runs]}


def bench(kind: str, rows: int, repeat: int, pg_url: str | None) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-export-{kind}-{rows}-"))
    schema, admin = None, None
    try:
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'bench.db'}"
        else:
            import sqlalchemy as sa
            from sqlalchemy.engine import make_url

            assert pg_url is not None
            admin = sa.create_engine(pg_url)
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            with admin.begin() as connection:
                connection.execute(sa.schema.CreateSchema(schema))
            url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False)
        made = run_stage("make", folder, url, rows)
        results = {"floor": best_of(repeat, "floor", folder, url, rows),
                   "export": best_of(repeat, "export", folder, url, rows)}
        results["make"] = made
        return results
    finally:
        if admin is not None:
            import sqlalchemy as sa

            with admin.begin() as connection:
                connection.execute(sa.schema.DropSchema(schema, cascade=True))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def report(kind: str, rows: int, r: dict[str, dict]) -> None:
    e, f = r["export"], r["floor"]
    spread = {k: f"  runs {min(v['runs']):.1f}-{max(v['runs']):.1f}" if len(v["runs"]) > 1 else "" for k, v in
              (("export", e), ("floor", f))}
    print(f"\n{rows:,} people, {kind} (database made in {r['make']['seconds']:.0f} s)")
    print(f"  (e) export, Contacts workbook  {e['seconds']:6.1f} s{spread['export']}   peak {e['peak_mb']:4.0f} MB   "
          f"file {e['file_mb']:.0f} MB ({e['unpacked_mb']:.0f} MB unpacked)   {rows / e['seconds']:,.0f} rows/s")
    print(f"  (f) floor: select + XML + zip  {f['seconds']:6.1f} s{spread['floor']}   peak {f['peak_mb']:4.0f} MB   "
          f"file {f['file_mb']:.0f} MB")
    ratio = f"  ratio (e)/(f) = {e['seconds'] / f['seconds']:.2f}"
    if rows >= 1_000_000:
        ratio += f";  target (under 30 s and 1,000 MB): {'met' if _met(e) else 'NOT MET'}"
    print(ratio)


def _met(e: dict) -> bool:
    return e["seconds"] < 30 and e["peak_mb"] < 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_048_000])
    parser.add_argument("--repeat", type=int, default=2, help="runs per stage; the fastest counts")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--stage")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.stage:
        from engine import app

        app.start()                 # the modules' workbooks, as `backoffice` registers them
        if args.stage == "export":
            import engine.sheets.exporting  # noqa: F401  (imports are start-up cost, not the work)
        started = time.perf_counter()
        measured = STAGES[args.stage](args.dir, args.url, args.rows[0]) or {}
        measured.setdefault("seconds", time.perf_counter() - started)
        measured["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(measured))
        return
    pg_url = None if args.sqlite_only else os.environ.get("BACKOFFICE_TEST_PG_URL")
    kinds = ["sqlite", *(["postgresql"] if pg_url else [])]
    if not pg_url and not args.sqlite_only:
        print("BACKOFFICE_TEST_PG_URL is not set: SQLite only")
    seconds: dict[tuple[str, int], float] = {}
    for rows in args.rows:
        for kind in kinds:
            results = bench(kind, rows, args.repeat, pg_url)
            report(kind, rows, results)
            seconds[(kind, rows)] = results["export"]["seconds"]
    if len(args.rows) > 1:
        small, large = min(args.rows), max(args.rows)
        for kind in kinds:
            growth = seconds[(kind, large)] / seconds[(kind, small)]
            print(f"\ngrowth ({kind}): {large / small:.1f}x the rows took {growth:.1f}x the export time "
                  f"(target: within {large / small * 1.1:.1f}x)")


if __name__ == "__main__":
    main()
