"""Whole-sheet scale benchmark (issue 19): export, validate, sync and re-sync of a People sheet
as large as Excel allows, on SQLite and PostgreSQL, against a floor measured in the same run.

    .venv/bin/python benchmarks/bench_scale.py [--rows 100000 [1048000 ...]] [--pg URL]
        [--databases sqlite,postgresql] [--stages export,validate,sync,resync] [--repeat 3]

For each size and database (PostgreSQL: --pg, default BACKOFFICE_TEST_PG_URL; the benchmark
makes databases of its own beside the URL's, bench_scale_<pid>_*, and drops them at the end):
  floor     python-calamine read + plain-Python checks + raw insert (sqlite3 executemany, or
            psycopg COPY) + re-zip of the file: the least any sync can do (bench_sync.py's floor)
  export    `workbook new contacts` (engine.sheets.exporting.new_workbook) of a database
            holding the N people (those a fresh sync saved; with --stages without sync, a bulk
            insert of the same people)
  validate  RoundTrip.validate of a fresh workbook with N new People rows
  sync      RoundTrip.sync of that workbook: N inserts, ids written back
  resync    RoundTrip.sync after 1% of the synced workbook's editable cells were changed
  written   (with sync or resync) the rows a fresh sync writes (each person's contact, primary
            e-mail and phone entries, and an audit row for each) inserted raw into the real
            schema by sqlite3's executemany or psycopg's COPY, in one transaction: the least
            any sync can spend writing, shown beside the floor, not in it
Each stage runs in its own process (imports done before the clock starts), so its peak
memory (VmHWM, the process's own) is its own; each runs --repeat times from the same
starting state (database and file restored) and the fastest counts. Targets (issue 19): at
1,048,000 rows export < 30 s, sync < 60 s, validate < 20 s and peak < 1 GB for all three on
either database (below that size the time targets are shown pro rata to the rows); time
linear in rows (10x rows within 11x time: with one --rows, a tenth of it is run too, unless
--no-linear); and the round-trip issue's targets (sync <= 4x floor, resync <= sync, validate
<= 2x calamine read + checks, sync peak < 600 MB). The setting workbook.max_text_bytes is
raised to 4 GB here: its default (256 MB) refuses a full People sheet.
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
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for folder in (ROOT, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_sync import COUNTRIES, _typed_rows, insert_floor, stage_edit  # noqa: E402  (the round-trip benchmark's own)

FULL_SHEET = 1_048_000
TARGETS = {"export": 30.0, "sync": 60.0, "validate": 20.0}  # seconds at FULL_SHEET rows
PEAK_MB = 1024.0
TEXT_BYTES = 4 << 30  # workbook.max_text_bytes for the benchmark (see _settings)
STAGES = ("export", "validate", "sync", "resync")
FLOOR_COLUMNS = ("first", "last", "org", "job", "email", "phone", "country", "tags", "opt_out")


# -- the people, the same in the workbook and in a bulk insert ----------------------------------

def people(rows: int) -> list[dict]:
    rng = random.Random(7)
    return [{
        "first_name": f"First{n}", "last_name": f"Last{n % 9973}", "job_title": rng.choice(["Buyer", "CEO", "Clerk"]),
        "email": f"person{n}@example.org", "phone": f"+44 20 {n:07d}", "country": rng.choice(COUNTRIES),
        "tags": rng.choice(["customer", "supplier", "vip"]), "opt_out": n % 17 == 0,
    } for n in range(rows)]


# -- steps (each in a child process: bench_scale.py --step NAME --dir D --url URL --rows N) -------

def _settings(url: str):
    from engine.config import Settings, WorkbookLimits

    # The text limit raised: this measures scale, and the default (256 MB) refuses the text of
    # a full People sheet (found at 1,048,000 rows: the reader stops before calamine runs).
    return Settings(database_url=url, workbook=WorkbookLimits(max_text_bytes=TEXT_BYTES))


def _trip(url: str):
    from engine.db.session import Database
    from engine.security.users import resolve_actor
    from engine.sheets.roundtrip import RoundTrip

    settings = _settings(url)
    db = Database.open(settings)
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
    return RoundTrip(db, settings, actor), db


def step_make(folder: Path, url: str, rows: int) -> None:
    """An empty database (migrated) with the user `bench`, and fresh.xlsx: N new People rows."""
    from engine.db.installation import seal
    from engine.db.session import Database
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor
    from engine.sheets.export import SheetData, write_workbook
    from engine.sheets.exporting import _meta
    from engine.sheets.spec import workbook_spec

    db = Database.open(_settings(url), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "bench", "Bench", ["admin"], None)
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
        ours = seal(session)
    spec = workbook_spec("contacts")
    new_rows = people(rows)
    sheets = [SheetData(sheet, sheet.columns, [], new_rows=new_rows if sheet.name == "People" else [])
              for sheet in spec.sheets]
    write_workbook(folder / "fresh.xlsx", _meta(spec, ours.installation_id, actor), sheets,
                   {"countries": COUNTRIES}, spare_rows=0, key=ours.key)
    db.dispose()


def step_load(folder: Path, url: str, rows: int) -> None:
    """The same N people put straight into the contacts table (SQLAlchemy Core, in batches):
    a database to export when no sync was run."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from engine.contacts import rules
    from engine.contacts.models import Contact
    from engine.db.session import Database

    db = Database.open(_settings(url))
    now = datetime.now(UTC)
    batch: list[dict] = []
    with db.engine.begin() as connection:
        for values in people(rows):
            row = rules.normalise_contact({"kind": "person", **values})
            batch.append({**row, "name_key": rules.name_key(row["name"]), "version": 1, "created_at": now,
                          "updated_at": now, "updated_by": "bench"})
            if len(batch) == 20_000:
                connection.execute(insert(Contact.__table__), batch)
                batch.clear()
        if batch:
            connection.execute(insert(Contact.__table__), batch)
    db.dispose()


def step_floor(folder: Path, url: str, rows: int) -> dict:
    """calamine read + checks, raw insert, re-zip; each part timed."""
    parts = {}
    started = time.perf_counter()
    typed = _typed_rows(folder / "fresh.xlsx")
    parts["read+checks"] = time.perf_counter() - started
    started = time.perf_counter()
    if url.startswith("sqlite"):
        insert_floor(folder / "floor.db", typed)
    else:
        import psycopg

        with psycopg.connect(_libpq(url)) as con:
            con.execute("DROP TABLE IF EXISTS floor_people")
            con.execute("CREATE TABLE floor_people (id BIGSERIAL PRIMARY KEY, first TEXT, last TEXT, org BIGINT, "
                        "job TEXT, email TEXT, phone TEXT, country TEXT, tags TEXT, opt_out BOOLEAN)")
            with con.cursor() as cur, cur.copy("COPY floor_people (first, last, org, job, email, phone, country, "
                                               "tags, opt_out) FROM STDIN") as copy:
                for row in typed:
                    copy.write_row(row)
    parts["insert"] = time.perf_counter() - started
    started = time.perf_counter()
    source = folder / "fresh.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(folder / "floor.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
    parts["re-zip"] = time.perf_counter() - started
    return parts


def _written_rows(rows: int) -> dict[str, tuple[list[str], list[tuple]]]:
    """What a fresh sync of N People rows must write at the least, as plain tuples: the
    contacts, their primary e-mail and phone entries, and an audit row for each of those
    (its changes as JSON, 64-character hashes), table -> (columns, rows)."""
    import hashlib

    import orjson

    now = "2026-12-05 00:00:00.000000"
    common = (1, now, now, "bench")
    contacts, emails, phones, audit = [], [], [], []
    for n, person in enumerate(people(rows), start=1):
        name = f"{person['first_name']} {person['last_name']}"
        contacts.append(("person", name, person["first_name"], person["last_name"], person["job_title"],
                         person["email"], person["phone"], person["country"], person["tags"], person["opt_out"],
                         name.casefold(), n, *common))
        emails.append((n, "work", person["email"], True, n, *common))
        phones.append((n, "work", person["phone"], person["phone"].replace(" ", ""), True, n, *common))
        for table, changes in (("contacts", {"name": [None, name], "email": [None, person["email"]]}),
                               ("contact_emails", {"contact_id": [None, n], "address": [None, person["email"]]}),
                               ("contact_phones", {"contact_id": [None, n], "number": [None, person["phone"]]})):
            digest = hashlib.sha256(orjson.dumps(changes)).hexdigest()
            audit.append((now, "bench", "workbook", table, n, "insert", orjson.dumps(changes).decode(),
                          "bench", "People", n + 1, digest, digest))
    record = ["version", "created_at", "updated_at", "updated_by"]
    return {
        "contacts": (["kind", "name", "first_name", "last_name", "job_title", "email", "phone", "country", "tags",
                      "opt_out", "name_key", "id", *record], contacts),
        "contact_emails": (["contact_id", "kind", "address", "is_primary", "id", *record], emails),
        "contact_phones": (["contact_id", "kind", "number", "digits", "is_primary", "id", *record], phones),
        "audit_log": (["at", "actor", "source", "table_name", "record_id", "action", "changes", "workbook_id",
                       "sheet", "row_number", "prev_hash", "row_hash"], audit),
    }


def step_written(folder: Path, url: str, rows: int) -> dict:
    """The rows a fresh sync writes (`_written_rows`, made before the clock starts) written
    raw into the real schema, with its indexes, keys and triggers, in one transaction:
    sqlite3's executemany, or psycopg's COPY. What no sync can go below on writing."""
    tables = _written_rows(rows)
    if url.startswith("sqlite"):
        import sqlite3

        from sqlalchemy import insert
        from sqlalchemy.dialects import sqlite

        import engine.contacts.models  # noqa: F401  (the tables written)
        import engine.db.audit  # noqa: F401
        from engine.db.base import Base

        statements = {}
        for table, (columns, values) in tables.items():   # SQLAlchemy's INSERT, its values in its order
            compiled = insert(Base.metadata.tables[table]).compile(dialect=sqlite.dialect(), column_keys=columns)
            order = [columns.index(key) for key in compiled.positiontup]
            statements[table] = compiled.string, [tuple(row[n] for n in order) for row in values]
    started = time.perf_counter()
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("BEGIN IMMEDIATE")
        for statement, values in statements.values():
            con.executemany(statement, values)
        con.execute("COMMIT")
        con.close()
    else:
        import psycopg
        from psycopg import sql

        with psycopg.connect(_libpq(url)) as con, con.cursor() as cur:
            for table, (columns, values) in tables.items():
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
                with cur.copy(statement) as copy:
                    for row in values:
                        copy.write_row(row)
    return {"written": time.perf_counter() - started, "rows": sum(len(values) for _c, values in tables.values())}


def step_validate(folder: Path, url: str, rows: int) -> None:
    trip, db = _trip(url)
    result = trip.validate(folder / "fresh.xlsx", annotate_file=False)
    assert result.status == "unchanged", result.as_json()["problems"][:3]
    db.dispose()


def step_sync(folder: Path, url: str, rows: int) -> None:
    trip, db = _trip(url)
    result = trip.sync(folder / "synced.xlsx")
    assert result.status == "applied" and result.inserted == rows, result.as_json()
    db.dispose()


def step_resync(folder: Path, url: str, rows: int) -> None:
    trip, db = _trip(url)
    result = trip.sync(folder / "edited.xlsx")
    assert result.status == "applied" and result.updated > 0, result.as_json()["problems"][:3]
    db.dispose()


def step_export(folder: Path, url: str, rows: int) -> None:
    from engine.db.session import Database
    from engine.security.users import resolve_actor
    from engine.sheets.exporting import new_workbook

    db = Database.open(_settings(url))
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
    out = folder / "exported.xlsx"
    out.unlink(missing_ok=True)
    counts = new_workbook(db, actor, "contacts", out)
    assert counts["People"] == rows, counts
    db.dispose()


def step_edit(folder: Path, url: str, rows: int) -> None:
    stage_edit(folder)


STEPS = {"make": step_make, "load": step_load, "floor": step_floor, "written": step_written, "validate": step_validate,
         "sync": step_sync, "resync": step_resync, "export": step_export, "edit": step_edit}


def _preload(step: str, url: str) -> None:
    """Imports are start-up, not the work measured."""
    import python_calamine  # noqa: F401

    if step == "floor":
        if not url.startswith("sqlite"):
            import psycopg  # noqa: F401
        return
    import engine.db.migrate  # noqa: F401  (Alembic: the biggest import)
    import engine.office.xlsx_patch  # noqa: F401
    import engine.sheets.exporting  # noqa: F401
    import engine.sheets.roundtrip  # noqa: F401
    from engine import app

    app.start()  # the modules' workbooks, as `backoffice` registers them


def _peak_mb() -> float:
    """The process's own peak RSS: VmHWM (ru_maxrss would include the parent's, kept over exec)."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- databases: a file per state (SQLite), a database per state (PostgreSQL) ---------------------

class SqliteStore:
    name = "SQLite"

    def __init__(self, folder: Path):
        self.folder = folder

    def url(self, state: str) -> str:
        return f"sqlite:///{self.folder / (state + '.db')}"

    def empty(self, state: str) -> None:
        for suffix in ("", "-wal", "-shm"):  # sqlite3 and Database.open(create=True) make it again
            (self.folder / f"{state}.db{suffix}").unlink(missing_ok=True)

    def copy(self, source: str, target: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            (self.folder / f"{target}.db{suffix}").unlink(missing_ok=True)
            if (self.folder / f"{source}.db{suffix}").exists():
                shutil.copy(self.folder / f"{source}.db{suffix}", self.folder / f"{target}.db{suffix}")

    def close(self) -> None:
        pass


class PostgresStore:
    """Databases bench_scale_<pid>_<state> on the server of `url`, made from one another with
    CREATE DATABASE ... TEMPLATE (a file copy: seconds), all dropped by `close`."""

    name = "PostgreSQL"

    def __init__(self, url: str):
        import psycopg
        from sqlalchemy.engine import make_url

        self.base_url = make_url(url)
        self.prefix = f"bench_scale_{os.getpid()}_"
        self.made: list[str] = []
        self.admin = psycopg.connect(_libpq(url), autocommit=True)

    def url(self, state: str) -> str:
        return self.base_url.set(database=self.prefix + state).render_as_string(hide_password=False)

    def _run(self, statement: str, *names: str) -> None:
        from psycopg import sql

        self.admin.execute(sql.SQL(statement).format(*(sql.Identifier(self.prefix + n) for n in names)))

    def empty(self, state: str) -> None:
        self._run("DROP DATABASE IF EXISTS {} WITH (FORCE)", state)
        self._run("CREATE DATABASE {}", state)
        self.made.append(state)

    def copy(self, source: str, target: str) -> None:
        self._run("DROP DATABASE IF EXISTS {} WITH (FORCE)", target)
        self._run("CREATE DATABASE {} TEMPLATE {}", target, source)
        self.made.append(target)

    def close(self) -> None:
        for state in dict.fromkeys(self.made):
            self._run("DROP DATABASE IF EXISTS {} WITH (FORCE)", state)
        self.admin.close()


# -- the driver --------------------------------------------------------------------------------

def run_step(step: str, folder: Path, url: str, rows: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", step, "--dir", str(folder), "--url", url,
                           "--rows", str(rows)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(repeat: int, step: str, folder: Path, url: str, rows: int, before=None) -> dict:
    """The fastest of `repeat` runs, `before()` restoring the starting state of each."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(run_step(step, folder, url, rows))
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "peak_mb": max(r["peak_mb"] for r in runs), "runs": [r["seconds"] for r in runs]}


def bench(store, rows: int, stages: set[str], repeat: int) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-scale-{rows}-"))
    try:
        store.empty("base")
        print(f"  {store.name}, {rows:,} rows: making the database and the workbook ...", flush=True)
        run_step("make", folder, store.url("base"), rows)
        store.empty("floor")
        results = {"floor": best_of(repeat, "floor", folder, store.url("floor"), rows)}
        if stages & {"sync", "resync"}:
            results["written"] = best_of(repeat, "written", folder, store.url("written"), rows,
                                         lambda: store.copy("base", "written"))
        if "validate" in stages:
            results["validate"] = best_of(repeat, "validate", folder, store.url("base"), rows)
        synced = False
        if stages & {"sync", "resync"}:
            def fresh_state() -> None:
                store.copy("base", "run")
                shutil.copy(folder / "fresh.xlsx", folder / "synced.xlsx")

            sync = best_of(repeat if "sync" in stages else 1, "sync", folder, store.url("run"), rows, fresh_state)
            if "sync" in stages:
                results["sync"] = sync
            store.copy("run", "synced")  # the state of the last run, which wrote synced.xlsx
            synced = True
        if "export" in stages:
            if not synced:
                store.copy("base", "synced")
                run_step("load", folder, store.url("synced"), rows)
            results["export"] = best_of(repeat, "export", folder, store.url("synced"), rows)
        if "resync" in stages:
            run_step("edit", folder, store.url("synced"), rows)
            shutil.copy(folder / "edited.xlsx", folder / "edited-once.xlsx")

            def synced_state() -> None:
                store.copy("synced", "run")
                shutil.copy(folder / "edited-once.xlsx", folder / "edited.xlsx")

            results["resync"] = best_of(repeat, "resync", folder, store.url("run"), rows, synced_state)
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(store_name: str, rows: int, r: dict[str, dict]) -> None:
    floor = r["floor"]["seconds"]
    parts = r["floor"]["parts"]
    print(f"\n{rows:,} People rows, {store_name}  (fastest of {len(r['floor']['runs'])}; peak: the stage's process)")
    print(f"  floor     {floor:7.2f} s   peak {r['floor']['peak_mb']:6.0f} MB   ("
          + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()) + ")")
    if "written" in r:
        w = r["written"]
        print(f"  written   {w['parts']['written']:7.2f} s   peak {w['peak_mb']:6.0f} MB   (the "
              f"{w['parts']['rows']:,} rows a fresh sync writes, raw into the real schema: what no sync goes below)")
    scale = rows / FULL_SHEET
    for stage in STAGES:
        if stage not in r:
            continue
        s = r[stage]
        line = (f"  {stage:9s} {s['seconds']:7.2f} s   peak {s['peak_mb']:6.0f} MB   {s['seconds'] / floor:5.1f}x floor"
                f"   runs {min(s['runs']):.1f}-{max(s['runs']):.1f} s")
        if stage in TARGETS:
            target = TARGETS[stage] * min(scale, 1.0) if rows < FULL_SHEET else TARGETS[stage]
            shown = f"< {target:.1f} s" + (" (pro rata)" if rows < FULL_SHEET else "")
            line += (f"   target {shown}: {verdict(s['seconds'] < target)};"
                     f" peak < {PEAK_MB:.0f} MB: {verdict(s['peak_mb'] < PEAK_MB)}")
        print(line)
    checks = []
    if "sync" in r:
        checks.append(f"sync <= 4x floor: {verdict(r['sync']['seconds'] <= 4 * floor)}")
        checks.append(f"sync peak < 600 MB: {verdict(r['sync']['peak_mb'] < 600)}")
        if "resync" in r:
            checks.append(f"resync <= sync: {verdict(r['resync']['seconds'] <= r['sync']['seconds'])}")
    if "validate" in r:
        ratio = r["validate"]["seconds"] / parts["read+checks"]
        checks.append(f"validate <= 2x read+checks ({ratio:.1f}x): {verdict(ratio <= 2)}")
    if checks:
        print("  round-trip targets (issue 3): " + "; ".join(checks))


def linearity(small: int, large: int, rs: dict[int, dict[str, dict]], store_name: str) -> None:
    grown = large / small
    print(f"\nlinear in rows, {store_name}: {grown:.1f}x the rows ({small:,} -> {large:,}) within "
          f"{grown * 1.1:.1f}x the time")
    for stage in ("floor", *STAGES):
        if stage in rs[small] and stage in rs[large]:
            ratio = rs[large][stage]["seconds"] / rs[small][stage]["seconds"]
            print(f"  {stage:9s} {ratio:5.1f}x: {verdict(ratio <= grown * 1.1)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--pg", default=os.environ.get("BACKOFFICE_TEST_PG_URL", ""),
                        help="a PostgreSQL URL whose server may make databases (default BACKOFFICE_TEST_PG_URL)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"a subset of {','.join(STAGES)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the fastest counts")
    parser.add_argument("--no-linear", action="store_true", help="with one --rows, do not also run a tenth of it")
    parser.add_argument("--step")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.step:
        _preload(args.step, args.url)
        started = time.perf_counter()
        parts = STEPS[args.step](args.dir, args.url, args.rows[0])
        print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), "parts": parts}))
        return

    stages = {s.strip() for s in args.stages.split(",") if s.strip()}
    if not stages <= set(STAGES):
        parser.error(f"--stages: choose from {', '.join(STAGES)}")
    sizes = sorted(set(args.rows))
    if len(sizes) == 1 and not args.no_linear and sizes[0] >= 10_000:
        sizes.insert(0, sizes[0] // 10)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    for kind in kinds:
        if kind == "postgresql" and not args.pg:
            print("PostgreSQL: no --pg and no BACKOFFICE_TEST_PG_URL; skipped")
            continue
        results: dict[int, dict[str, dict]] = {}
        store = SqliteStore(Path(tempfile.mkdtemp(prefix="bench-scale-db-"))) if kind == "sqlite" \
            else PostgresStore(args.pg)
        try:
            for rows in sizes:
                results[rows] = bench(store, rows, stages, args.repeat)
                report(store.name, rows, results[rows])
        finally:
            store.close()
            if kind == "sqlite":
                shutil.rmtree(store.folder, ignore_errors=True)
        for small, large in zip(sizes, sizes[1:], strict=False):
            linearity(small, large, results, store.name)


if __name__ == "__main__":
    main()
