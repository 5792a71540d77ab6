"""The README documents every command and every setting (a new one fails this test)."""

from pathlib import Path

import typer.main

from engine.cli import app
from engine.config import LedgerSettings, Settings, WorkbookLimits

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _command_paths(group: typer.Typer, prefix: str = "backoffice") -> list[str]:
    click_group = typer.main.get_command(group)
    paths = []

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            paths.append(path)
            return
        for name, sub in subcommands.items():
            walk(sub, f"{path} {name}")

    walk(click_group, prefix)
    return paths


def test_every_command_is_in_the_readme():
    missing = [p for p in _command_paths(app) if f"`{p}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_every_setting_is_in_the_readme():
    names = [n for n in Settings.model_fields if n not in ("workbook", "ledger")]
    names += [f"workbook.{n}" for n in WorkbookLimits.model_fields]
    names += [f"ledger.{n}" for n in LedgerSettings.model_fields]
    secrets = [n for n in names if n.endswith(("password", "secret"))]
    missing = [n for n in names if n not in secrets and f"`{n}`" not in README]
    missing += [n for n in secrets if f"BACKOFFICE_{n.upper()}" not in README]
    assert not missing, f"undocumented settings: {missing}"
