"""The README documents every command and every setting (a new one fails this test)."""

import dataclasses
from pathlib import Path

from engine.cli import app
from engine.config import SECRET_FIELDS, Settings, setting_types
from tests.unit.command_paths import _command_paths

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_command_is_in_the_readme():
    missing = [p for p in _command_paths(app) if f"`{p}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def _setting_names(model: type, prefix: str = "") -> list[str]:
    """Every setting as written in the README: `ledger.base_currency`, `mail.smtp.host`."""
    names = []
    for name, kind in setting_types(model).items():
        if dataclasses.is_dataclass(kind):
            names += _setting_names(kind, f"{prefix}{name}.")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_setting_is_in_the_readme():
    names = _setting_names(Settings)
    secrets = [n for n in names if n in SECRET_FIELDS]
    missing = [n for n in names if n not in secrets and f"`{n}`" not in README]
    missing += [n for n in secrets if f"BACKOFFICE_{n.upper()}" not in README]
    assert not missing, f"undocumented settings: {missing}"
