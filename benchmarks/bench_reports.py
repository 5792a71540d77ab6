"""Word reports benchmark: the monthly pack of the demo, and 1,000 statements of account,
each against the queries' own time measured in the same run.

    .venv/bin/python benchmarks/bench_reports.py [--statements 1000] [--repeat 3]

The demo is built into a temporary SQLite file. Measured:
  (1) `report pack` for last month, as the demo's admin (every section), written to .docx
      without the PDF step (fastest of --repeat runs; the first run also imports matplotlib and draws its fonts), against (1q) building its context alone:
      every module's queries for the month, and the charts drawn;
  (2) `report statement` for the demo's customers in turn, --statements of them, against (2q)
      the statement query alone for the same customers.
Targets (issue 18): (1) under 5 s, (2) under 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from engine import app, registry  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.session import Database  # noqa: E402
from engine.demo import build_demo  # noqa: E402
from engine.reports import options  # noqa: E402
from engine.reports.render import write_report  # noqa: E402
from engine.security.roles import SYSTEM  # noqa: E402
from engine.security.users import resolve_actor  # noqa: E402


def best(times: list[float]) -> str:
    return (f"{min(times):.2f} s fastest, {statistics.median(times):.2f} s median "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)})")


def customers(db: Database) -> list[int]:
    """The contacts with a sales invoice, most invoices first."""
    from sqlalchemy import func  # here: the benchmark's own query

    from engine.ledger.models import Invoice  # here: needs the ledger on

    with db.reading() as session:
        return list(session.scalars(select(Invoice.contact_id).where(Invoice.kind == "sales")
                                    .group_by(Invoice.contact_id).order_by(func.count().desc(), Invoice.contact_id)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app.start()
    period = options.last_month()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        db = Database.open(Settings(database_url=f"sqlite:///{out / 'bench.db'}"), create=True)
        started = time.perf_counter()
        with db.unit_of_work(SYSTEM, source="system") as session:
            build_demo(session)
        print(f"demo built in {time.perf_counter() - started:.1f} s; period {period}")
        with db.reading() as session:
            admin = resolve_actor(session, "admin")
        pack = registry.current().report_named("pack")
        context_of = registry.load(pack.target)

        contexts, packs = [], []
        for _ in range(args.repeat):
            with db.unit_of_work(admin) as session:   # (as the report builds it)
                started = time.perf_counter()
                context = context_of(session, admin, period=period)
                contexts.append(time.perf_counter() - started)
            with db.unit_of_work(admin) as session:
                started = time.perf_counter()
                written = write_report(session, admin, "pack", out / "pack.docx", period=period)
                packs.append(time.perf_counter() - started)
        print(f"(1) report pack {period}: {best(packs)}; {len(context['sections'])} sections, "
              f"{(out / 'pack.docx').stat().st_size // 1024} KB; {written.summary['line']}")
        print(f"(1q) its context alone (the queries and the charts): {best(contexts)}; "
              f"ratio (1)/(1q) of the medians = {statistics.median(packs) / statistics.median(contexts):.2f}; "
              f"target (1) < 5 s: "
              f"{'met' if min(packs) < 5 else 'NOT met'}")

        if registry.current().report_named("statement") is None:
            print("(2) no statement report: the ledger is switched off")
            return
        found = customers(db)
        wanted = [found[i % len(found)] for i in range(args.statements)]
        from engine.ledger.invoices import statement  # here: needs the ledger on

        with db.reading() as session:
            started = time.perf_counter()
            for contact_id in wanted:
                statement(session, admin, contact_id, period.start, period.end)
            queries = time.perf_counter() - started
        started = time.perf_counter()
        with db.unit_of_work(admin) as session:
            for n, contact_id in enumerate(wanted):
                write_report(session, admin, "statement", out / f"statement-{n}.docx", customer=str(contact_id),
                             period=period)
        statements = time.perf_counter() - started
        print(f"(2) {len(wanted):,} statements of account ({len(found)} customers in turn): {statements:.1f} s, "
              f"{statements / len(wanted) * 1000:.0f} ms each; target < 60 s: "
              f"{'met' if statements < 60 else 'NOT met'}")
        print(f"(2q) the statement query alone for the same customers: {queries:.1f} s; ratio (2)/(2q) = "
              f"{statements / queries:.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
