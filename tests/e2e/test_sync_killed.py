"""A sync killed at any moment leaves each typed row with exactly one record once the
workbook is synced again: `backoffice sync` runs as a real process and is killed (SIGKILL:
no clean-up, no `finally`) between its commit and the write-back of the workbook, and then
at random moments of the sync; the file is then synced again in this process. Rows saved
before the kill are matched to their records (engine.sheets.receipts), the rest are saved
now, nothing twice, and the killed process's temporary file is cleaned up. On SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.contacts.models import Contact
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets import roundtrip
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import read_sheet

ROWS = 150
WAIT = 120

# A sync that dies as soon as its records are committed, before the workbook is replaced.
KILLED_AFTER_COMMIT = """
import os, signal, sys
from engine.sheets import roundtrip
roundtrip._replace_keeping_mode = lambda temp, target: os.kill(os.getpid(), signal.SIGKILL)
from engine.cli import app
sys.argv = ["backoffice", *sys.argv[1:]]
app()
"""


@pytest.fixture
def ada(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "ada", "Ada", ["admin"], None)
    with db.reading() as session:
        return resolve_actor(session, "ada")


@pytest.fixture
def run(database_url, tmp_path):
    """Start a `backoffice` process on the test database (not waiting); none outlives the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {"BACKOFFICE_DATABASE_URL": database_url, "BACKOFFICE_USER": "ada", "NO_COLOR": "1"}
    started: list[subprocess.Popen] = []

    def start(*args: str, script: str | None = None) -> subprocess.Popen:
        command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "engine.cli", *args]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT)
        if process.stderr:
            process.stderr.close()


def type_people(path: Path, tag: str, count: int = ROWS) -> list[str]:
    """`count` new people typed under the People sheet's last row; returns their last names."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book["People"]
    header = [c.value for c in sheet[1]]
    first = sheet.max_row + 1
    names = [f"{tag}-{n:04d}" for n in range(count)]
    for n, name in enumerate(names):
        sheet.cell(first + n, header.index("First name") + 1, "Kim")
        sheet.cell(first + n, header.index("Last name") + 1, name)
        sheet.cell(first + n, header.index("Country") + 1, "GB")
    book.save(path)
    return names


def records_of(db, names: list[str]) -> Counter:
    with db.reading() as session:
        found = session.scalars(sa.select(Contact.last_name).where(Contact.last_name.in_(names))).all()
    return Counter(found)


def temps_beside(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.stem}{roundtrip.TEMP_MARK}*"))


def synced_again(db, settings, ada, path: Path, names: list[str]) -> roundtrip.FileResult:
    """Sync the file in this process and check: each typed row one record, with its id in the file."""
    result = RoundTrip(db, settings, ada).sync(path)
    assert result.status in ("applied", "unchanged"), result.as_json()
    counts = records_of(db, names)
    assert set(counts) == set(names) and set(counts.values()) == {1}, [n for n, c in counts.items() if c != 1]
    rows = read_sheet(path, "People")
    header = rows[0]
    ids = {row[header.index("Last name")]: row[0] for row in rows[1:]}
    assert all(isinstance(ids[name], int | float) and ids[name] for name in names)
    assert not temps_beside(path)
    return result


def test_a_sync_killed_between_commit_and_write_back_is_matched_not_repeated(db, settings, ada, run, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(db, ada, "contacts", path)
    names = type_people(path, "after-commit")
    typed = path.read_bytes()
    process = run("sync", str(path), script=KILLED_AFTER_COMMIT)
    assert process.wait(WAIT) == -signal.SIGKILL, process.stderr.read().decode()
    assert records_of(db, names) == Counter({name: 1 for name in names})   # committed
    assert path.read_bytes() == typed and temps_beside(path)               # never written back
    result = synced_again(db, settings, ada, path, names)
    assert (result.status, result.inserted, result.recovered) == ("unchanged", 0, ROWS)


def test_syncs_killed_at_random_moments_never_save_a_row_twice(db, settings, ada, run, tmp_path):
    seed = int(os.environ.get("KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    path = tmp_path / "contacts.xlsx"
    new_workbook(db, ada, "contacts", path)
    names = type_people(path, "timed")
    started = time.monotonic()
    assert run("sync", str(path)).wait(WAIT) == 0
    whole = time.monotonic() - started                 # a whole sync's process, for the kill moments
    synced_again(db, settings, ada, path, names)
    outcomes = []
    for round_ in range(4):
        names = type_people(path, f"round{round_}")
        process = run("sync", str(path))
        time.sleep(rng.uniform(0.2, whole))
        process.send_signal(signal.SIGKILL)
        code = process.wait(WAIT)
        outcomes.append((code, sum(records_of(db, names).values())))
        result = synced_again(db, settings, ada, path, names)
        assert result.inserted + result.recovered in (0, ROWS), (seed, result.as_json())
    print(f"seed {seed}: (exit, rows saved before the re-sync) per round {outcomes}")
