"""Benchmark: how long a `backoffice` command takes to start, as a whole process.

Measures `backoffice --help`, `backoffice --version` and `backoffice stock on-hand --item SKU
--json` (on a small SQLite database built here, in a temporary folder) against two floors
measured in the same run: bare Python (`python -c pass`) and the SQLAlchemy ORM import
(`python -c "import sqlalchemy.orm"`), which any command reading the database pays. The
processes run in rounds, each round running every one of them once; the best and the median
are kept (the best is the one compared: the others are this machine's other work).

Targets: `--help` and `--version` within 0.25 s of bare Python; the query within 0.3 s of the
SQLAlchemy floor.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SKU = "BENCH-1"


def build_database(url: str) -> None:
    """A database with one user, one location and one item with stock (in this process)."""
    from engine import app
    from engine.config import Settings
    from engine.db.session import Database
    from engine.inventory.models import Item, Location
    from engine.inventory.services import Movement, post_movement
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user

    app.start()
    db = Database.open(Settings(database_url=url), create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, None, "admin", "Ada Admin", ["admin"], None)
        item, store = Item(sku=SKU, name="Widget", updated_by="admin"), Location(code="MAIN", name="Main store",
                                                                                   updated_by="admin")
        session.add_all([item, store])
        session.flush()
        post_movement(session, SYSTEM, Movement(kind="receipt", reason="received", item_id=item.id,
                                                quantity=Decimal(10), moved_on=date.today(),
                                                to_location_id=store.id, unit_cost=Decimal("2.50")))
    db.dispose()


def timed(commands: dict[str, list[str]], env: dict[str, str], cwd: Path, runs: int) -> dict[str, tuple[float, float]]:
    """{name: (best, median)} wall-clock seconds of each command, run `runs` times (after one
    warm-up) in rounds: each round runs every command once, so a floor and the command it is
    compared with meet the machine in the same state (another process's burst of work
    slows both, not only one)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(runs + 1):
        for name, command in commands.items():
            start = time.perf_counter()
            done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
            if n:                       # the first round warms the file cache and the .pyc files
                times[name].append(elapsed)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        folder = Path(folder)
        url = f"sqlite:///{folder / 'backoffice.db'}"
        build_database(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        env |= {"BACKOFFICE_DATABASE_URL": url, "BACKOFFICE_USER": "admin",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
        cli = [python, "-m", "engine.cli"]
        floors = {"python -c pass": [python, "-c", "pass"],
                  "import sqlalchemy.orm": [python, "-c", "import sqlalchemy.orm"]}
        cases = [   # (what, command, its floor, the target: seconds over the floor)
            ("backoffice --help", [*cli, "--help"], "python -c pass", 0.25),
            ("backoffice --version", [*cli, "--version"], "python -c pass", 0.25),
            (f"backoffice stock on-hand --item {SKU} --json", [*cli, "stock", "on-hand", "--item", SKU, "--json"],
             "import sqlalchemy.orm", 0.30),
        ]
        found = timed({**floors, **{name: command for name, command, _, _ in cases}}, env, folder, args.runs)
        print(f"best and median of {args.runs} rounds, seconds (python {sys.version.split()[0]})")
        for name in floors:
            best, median = found[name]
            print(f"  floor  {name:<44} best {best:6.3f}  median {median:6.3f}")
        met_all = True
        for name, _command, floor_name, target in cases:
            (best, median), floor = found[name], found[floor_name][0]
            over, ratio = best - floor, best / floor
            met = over <= target
            met_all &= met
            print(f"  {name:<51} best {best:6.3f}  median {median:6.3f}  "
                  f"+{over:5.3f} s over `{floor_name}` ({ratio:4.1f}x); target +{target:.2f} s: "
                  f"{'met' if met else 'NOT met'}")
        print("all targets met" if met_all else "some targets not met")


if __name__ == "__main__":
    main()
