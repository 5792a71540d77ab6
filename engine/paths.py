"""Where the project's folders are: a kernel module with no dependencies, so the start-up
path (`backoffice --help`) can find the settings file without loading the settings library."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    """The folder holding `backoffice.toml` and `roles.toml` (BACKOFFICE_CONFIG_DIR overrides)."""
    return Path(os.environ.get("BACKOFFICE_CONFIG_DIR", PROJECT_DIR / "config"))


def templates_dir() -> Path:
    """The folder holding the Word and mail templates (BACKOFFICE_TEMPLATES_DIR overrides)."""
    return Path(os.environ.get("BACKOFFICE_TEMPLATES_DIR", PROJECT_DIR / "templates"))
