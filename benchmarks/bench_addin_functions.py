"""Benchmark: 10,000 `=BO_ONHAND(sku, [location])` formulas in one recalculation.

The add-in's worksheet functions answer from a table read once per recalculation
(addin/functions.py). The baseline, measured in the same run on the same database, is what a
function without it would do: one query (`inventory.queries.on_hand`, in its own unit of work)
for every cell. Both answer the same 10,000 cells (checked); printed: time per call, SQL
statements run, and the ratio.

    .venv/bin/python benchmarks/bench_addin_functions.py [--calls 10000] [--items 2000]

`measure(calls, items)` returns the numbers, for benchmarks/bench_addin.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_database(folder: Path, items: int) -> str:
    """A SQLite file with `items` items, a warehouse with two bins, stock of each in a bin,
    and the user `wes` (warehouse)."""
    from engine.config import Settings
    from engine.db.session import Database
    from engine.inventory.models import Item, Location
    from engine.inventory.services import TypedMovement, post_typed
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user

    url = f"sqlite:///{folder / 'bench.db'}"
    db = Database.open(Settings(database_url=url), create=True)
    try:
        with db.unit_of_work(SYSTEM, source="system") as session:
            add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
            main = Location(code="MAIN", name="Main", kind="warehouse")
            session.add(main)
            session.flush()
            session.add_all([Location(code=f"MAIN-{b}", name=b, kind="bin", warehouse_id=main.id) for b in "AB"])
            session.add_all([Item(sku=f"SKU-{n:05d}", name=f"Item {n}", valuation="average") for n in range(items)])
            session.flush()
            for n in range(items):
                post_typed(session, SYSTEM, TypedMovement("receipt", f"SKU-{n:05d}", Decimal(n % 50 + 1),
                                                          date(2026, 1, 5), to_location=f"MAIN-{'AB'[n % 2]}",
                                                          unit_cost=Decimal("1.25")))
    finally:
        db.dispose()
    return url


def cells(calls: int, items: int) -> list[tuple[str, str | None]]:
    """The formulas of the sheet: every item, half of them asked for the warehouse."""
    return [(f"SKU-{n % items:05d}", "MAIN" if n % 2 else None) for n in range(calls)]


class Statements:
    """Counts the SQL statements every engine runs (a SQLAlchemy event listener)."""

    def __init__(self):
        self.n = 0

    def __enter__(self) -> Statements:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *_args) -> None:
        self.n += 1

    def __exit__(self, *_exc) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._count)


def with_cache(url: str, sheet: list[tuple[str, str | None]]) -> tuple[float, int, list]:
    from addin import functions
    from addin.connection import connect
    from engine.config import Settings

    state = functions.Functions(lambda: connect(settings=Settings(database_url=url, user="wes")))
    functions.state, saved = state, functions.state
    try:
        state.source()                            # connected before the recalculation, as in Excel
        with Statements() as statements:
            start = time.perf_counter()
            answers = [functions.BO_ONHAND(sku, place) for sku, place in sheet]
            spent = time.perf_counter() - start
        return spent, statements.n, answers
    finally:
        functions.state = saved
        state.close()


def one_query_a_call(url: str, sheet: list[tuple[str, str | None]]) -> tuple[float, int, list]:
    from engine.config import Settings
    from engine.db.session import Database
    from engine.inventory import queries
    from engine.security.users import resolve_actor

    db = Database.open(Settings(database_url=url))
    try:
        with db.reading() as session:
            actor = resolve_actor(session, "wes")
        with Statements() as statements:
            start = time.perf_counter()
            answers = []
            for sku, place in sheet:
                with db.unit_of_work(actor, source="addin") as session:
                    answers.append(float(sum((h.quantity for h in queries.on_hand(session, actor, sku, place)),
                                             Decimal(0))))
            spent = time.perf_counter() - start
        return spent, statements.n, answers
    finally:
        db.dispose()


def measure(calls: int = 10_000, items: int = 2_000) -> dict:
    from engine import app

    app.start(app.configured_modules())
    with tempfile.TemporaryDirectory() as folder:
        url = make_database(Path(folder), items)
        sheet = cells(calls, items)
        cached_time, cached_statements, cached = with_cache(url, sheet)
        naive_time, naive_statements, naive = one_query_a_call(url, sheet)
    assert cached == naive, "the cached answers differ from one query a call"
    return {"calls": calls, "items": items,
            "cached": {"seconds": cached_time, "per_call_us": cached_time / calls * 1e6, "statements": cached_statements},
            "one_query_a_call": {"seconds": naive_time, "per_call_us": naive_time / calls * 1e6,
                                 "statements": naive_statements},
            "speed_ratio": naive_time / cached_time, "statement_ratio": naive_statements / max(cached_statements, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    args = parser.parse_args(argv)
    found = measure(args.calls, args.items)
    for name in ("cached", "one_query_a_call"):
        r = found[name]
        print(f"{name:17s} {r['seconds']:8.3f} s  {r['per_call_us']:9.1f} us/call  {r['statements']:7d} SQL statements")
    print(f"{found['calls']} BO_ONHAND calls over {found['items']} items: the cache is {found['speed_ratio']:.0f}x "
          f"faster and runs {found['statement_ratio']:.0f}x fewer statements than one query a call")


if __name__ == "__main__":
    main()
