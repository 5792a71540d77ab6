"""Run `backoffice` as a user would: a separate process, settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def backoffice(database_url, tmp_path):
    """Call the CLI against the test database; returns a Result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {"BACKOFFICE_DATABASE_URL": database_url, "NO_COLOR": "1"}

    def run(*args: str, user: str | None = None, extra_env: dict | None = None) -> Result:
        command = [sys.executable, "-m", "engine.cli", *args]
        if user:
            command += ["--user", user]
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                              env=env | (extra_env or {}), timeout=300)
        return Result(done.returncode, done.stdout, done.stderr)

    return run
