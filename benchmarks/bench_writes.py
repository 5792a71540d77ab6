"""The write path of a People sync alone: what saving N new people costs once the workbook is
read and checked, per table, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_writes.py [--rows 100000] [--databases sqlite,postgresql]
        [--pg URL] [--repeat 2] [--profile FILE] [--fixed-time] [--against CHECKOUT]

Each round starts from an empty migrated database and, in one unit of work as a sync opens
it, runs what a sync runs for a People sheet of N new rows: `apply_plan` (the contacts and
their audit rows) and the sheet's `after` step (`add_primaries`: the primary e-mail and
phone entries and their audit rows), then commits, with the cyclic garbage collector paused
as a sync pauses it (`engine.sheets.collector.without_cyclic_gc`). Printed per round: the
seconds of each, of the commit, the microseconds per person, and this process's CPU time (the
machine is shared: CPU time moves less than the clock when others run; on PostgreSQL it leaves
out the server's work).

--fixed-time stamps every row with one fixed time instead of the clock, and prints a digest
of every stored row (contacts, contact_emails, contact_phones and audit_log, hashes
included): two versions of the code that store exactly the same rows print the same digest.

--python-only leaves the inserts themselves out (the driver's executemany is not run; a COPY's
rows are formatted as psycopg formats them, not sent): what this process spends around the
databases' own work, which the same rows cost whatever the code, measured with less noise.

--against CHECKOUT compares this checkout's `engine` with another's (say, main's before a
change) in one run: each round runs once with each, alternately, each in a child process
(`--engine`), and the fastest round of each is printed side by side (with --fixed-time,
whether their digests agree). The machine is shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for folder in (ROOT, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_scale import PostgresStore, SqliteStore, _settings, people  # noqa: E402  (the scale benchmark's own)

if "--engine" in sys.argv:   # a child of --against: `engine` from that checkout (the helpers from this one)
    sys.path.insert(0, sys.argv[sys.argv.index("--engine") + 1])

FIXED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
TABLES = ("contacts", "contact_emails", "contact_phones", "audit_log")


def _fix_the_clock() -> None:
    """Every module's `utcnow` (imported by name) returns FIXED, so two runs store the same rows."""
    from engine.db import base

    def fixed() -> datetime:
        return FIXED

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("engine") and getattr(module, "utcnow", None) is base.utcnow:
            module.utcnow = fixed


def _plan(sheet, rows: int):
    """The People sheet's plan of N new rows, each with its stored form (set by the checks in a sync)."""
    from engine.sheets.merge import Insert, SheetPlan

    plan = SheetPlan("People")
    for n, person in enumerate(people(rows)):
        values = {**person, "organisation_id": None}
        plan.inserts.append(Insert(row=n + 2, values=values, stored=sheet.derive({**sheet.scope, **values})))
    return plan


def _leave_the_inserts_out() -> None:
    """--python-only: a bulk insert's rows are made ready for the driver, not handed to it."""
    from sqlalchemy.engine import Connection

    from engine.db import pg_copy

    driver_sql = Connection.exec_driver_sql

    def only_the_rest(self, statement, parameters=None, *args, **kwargs):
        if isinstance(parameters, list) and statement.lstrip().upper().startswith("INSERT"):
            return None
        return driver_sql(self, statement, parameters, *args, **kwargs)

    def formatted_only(connection, table, names, rows):
        # here: psycopg is loaded only on PostgreSQL; its COPY formatter (private), as COPY runs it
        from psycopg._copy_base import TextFormatter
        from psycopg.adapt import Transformer

        formatter = TextFormatter(Transformer(connection.connection.driver_connection))
        for row in rows:
            formatter.write_row(row)
            formatter._write_buffer.clear()

    Connection.exec_driver_sql = only_the_rest
    pg_copy.copy_rows = formatted_only


def one_round(url: str, rows: int, profile: cProfile.Profile | None) -> dict[str, float]:
    from engine.db.session import Database
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor
    from engine.sheets.apply import apply_plan, saved_rows
    from engine.sheets.spec import workbook_spec

    db = Database.open(_settings(url), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "bench", "Bench", ["admin"], None)
    with db.reading() as session:
        actor = resolve_actor(session, "bench")
    sheet = workbook_spec("contacts").sheet("People")
    plan, stored = _plan(sheet, rows), {}
    times = {}
    gc.disable()
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    with db.unit_of_work(actor, source="workbook", workbook_id="bench-writes") as session:
        context = session.info["audit"]
        applied = apply_plan(session.connection(), sheet, plan, stored, context)
        times["apply_plan"] = time.perf_counter() - started
        context.posting_row = ("People", None)
        sheet.after(session, actor, "People", saved_rows(plan, applied, {}, stored))
        context.posting_row = None
        times["add_primaries"] = time.perf_counter() - started - times["apply_plan"]
        committing = time.perf_counter()
    times["commit"] = time.perf_counter() - committing
    if profile:
        profile.disable()
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu
    gc.enable()
    db.dispose()
    return times


def digest(url: str) -> str:
    """SHA-256 over every stored row of the tables written, in id order, each column as the
    database keeps it (cast to text: JSON's spelling and a time stamp's form show)."""
    from sqlalchemy import Text, cast, create_engine, select

    from engine.db.base import Base

    engine = create_engine(url)
    found = hashlib.sha256()
    with engine.connect() as connection:
        for name in TABLES:
            table = Base.metadata.tables[name]
            for row in connection.execute(select(*(cast(c, Text) for c in table.c)).order_by(table.c.id)):
                found.update(repr(tuple(row)).encode())
    engine.dispose()
    return found.hexdigest()


def compare(args: argparse.Namespace) -> None:
    """--against: each round with each checkout's `engine`, alternately; the fastest of each."""
    checkouts = {"this": ROOT, "against": args.against.resolve()}
    for kind in (k.strip() for k in args.databases.split(",") if k.strip()):
        best: dict[str, dict[str, float]] = {}
        digests: dict[str, set[str]] = {}
        for n in range(args.repeat):
            for name, checkout in checkouts.items():
                command = [sys.executable, __file__, "--engine", str(checkout), "--json", "--databases", kind,
                           "--rows", str(args.rows), "--repeat", "1", "--pg", args.pg]
                options = ["--fixed-time"] * args.fixed_time + ["--python-only"] * args.python_only
                done = subprocess.run(command + options, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{name} ({checkout}) failed:\n{done.stderr[-3000:]}")
                found = json.loads(done.stdout.strip().splitlines()[-1])
                if not found:
                    continue
                times, digest_found = found[0]["times"], found[0].get("digest")
                if Path(found[0]["engine"]) != checkout:
                    raise SystemExit(f"{name}: engine imported from {found[0]['engine']}, not {checkout}")
                print(f"{kind:10s} round {n + 1} {name:8s} " + "  ".join(f"{k} {v:6.2f}" for k, v in times.items()),
                      flush=True)
                best[name] = {k: min(v, best.get(name, {}).get(k, v)) for k, v in times.items()}
                if digest_found:
                    digests.setdefault(name, set()).add(digest_found)
        if not best:
            continue
        print(f"{kind:10s} fastest of {args.repeat}, us a person (total / this process's CPU):")
        for name, times in best.items():
            print(f"  {name:8s} {checkouts[name]}: total {times['total'] / args.rows * 1e6:6.1f}  "
                  f"cpu {times['cpu'] / args.rows * 1e6:6.1f}  (apply_plan {times['apply_plan']:.2f} s, "
                  f"add_primaries {times['add_primaries']:.2f} s)")
        if digests:
            print(f"  stored rows the same: {len(set().union(*digests.values())) == 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("BACKOFFICE_TEST_PG_URL", ""))
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the rounds' writes here (pstats)")
    parser.add_argument("--fixed-time", action="store_true", help="one fixed time stamp; print the rows' digest")
    parser.add_argument("--python-only", action="store_true", help="leave the inserts themselves out")
    parser.add_argument("--against", type=Path, help="another checkout to compare with, round by round")
    parser.add_argument("--engine", type=Path, help=argparse.SUPPRESS)   # (read before the imports, above)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)   # a child's report
    args = parser.parse_args()
    if args.against:
        compare(args)
        return

    from engine import app

    app.start()
    if args.fixed_time:
        _fix_the_clock()
    if args.python_only:
        _leave_the_inserts_out()
    profile = cProfile.Profile() if args.profile else None
    report = []
    for kind in (k.strip() for k in args.databases.split(",") if k.strip()):
        if kind == "postgresql" and not args.pg:
            print("PostgreSQL: no --pg and no BACKOFFICE_TEST_PG_URL; skipped")
            continue
        store = SqliteStore(Path(tempfile.mkdtemp(prefix="bench-writes-"))) if kind == "sqlite" \
            else PostgresStore(args.pg)
        try:
            for n in range(args.repeat):
                store.empty("writes")
                times = one_round(store.url("writes"), args.rows, profile)
                report.append({"database": kind, "times": times, "engine": str(Path(app.__file__).parents[1])})
                line = "  ".join(f"{k} {v:6.2f} s" for k, v in times.items())
                print(f"{store.name:10s} {args.rows:,} people, round {n + 1}: {line}  "
                      f"({times['total'] / args.rows * 1e6:.1f} us a person, {times['cpu'] / args.rows * 1e6:.1f} us CPU)",
                      flush=True)
            if args.fixed_time:
                report[-1]["digest"] = digest(store.url("writes"))
                print(f"{store.name:10s} digest of the stored rows: {report[-1]['digest']}")
        finally:
            store.close()
            if kind == "sqlite":
                shutil.rmtree(store.folder, ignore_errors=True)
    if profile:
        profile.dump_stats(args.profile)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
