"""Run `backoffice` as a user would: a separate process, settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import engine

CHECKOUT = Path(engine.__file__).resolve().parents[1]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def cli_env(database_url: str) -> dict[str, str]:
    """The environment of a `backoffice` process run by a test: no BACKOFFICE_* of the caller's,
    the test database, and the checkout under test (whichever copy of the package is installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    return env | {"BACKOFFICE_DATABASE_URL": database_url, "COLUMNS": "200", "NO_COLOR": "1",
                  "PYTHONPATH": os.pathsep.join([str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])])}


@pytest.fixture
def backoffice(database_url, tmp_path):
    """Call the CLI against the test database, made first as `backoffice db upgrade` makes one
    (a command refuses a SQLite file that does not exist); returns a Result."""
    from engine.config import Settings
    from tests.templates import new_database

    new_database(Settings(database_url=database_url)).dispose()
    env = cli_env(database_url)

    def run(*args: str, user: str | None = None, extra_env: dict | None = None) -> Result:
        command = [sys.executable, "-m", "engine.cli", *args]
        if user:
            command += ["--user", user]
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                              env=env | (extra_env or {}), timeout=300)
        return Result(done.returncode, done.stdout, done.stderr)

    run.cwd = tmp_path      # where the commands run (and write out/)
    return run
