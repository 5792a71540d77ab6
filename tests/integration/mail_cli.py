"""The command-line fixtures (`readers`, `backoffice`) and helpers (report_of, refusal_of, runs, _templates) of test_mail_safety.py and test_mail_merge_fields.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.contacts import services as contacts
from engine.mailmerge.models import MailRun
from engine.office.docx import templates_dir
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.integration.conftest import ACCOUNTANT

ALEX = ACCOUNTANT
SENDER = "accounts@widget.example"


@pytest.fixture
def readers(db):
    """User alex (accountant); contacts tagged `news`, by name: their ids."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)

    def add(*names: str) -> dict[str, int]:
        ids = {}
        with db.unit_of_work(ALEX) as session:
            for name in names:
                contact, _ = contacts.add_contact(
                    session, ALEX, {"kind": "organisation", "name": name, "country": "GB", "tags": "news",
                                    "email": f"{name.lower()}@example.org"},
                    [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP",
                      "country": "GB"}])
                ids[name] = contact.id
        return ids

    return add


@pytest.fixture
def backoffice(db, tmp_path, monkeypatch):
    """`backoffice ARGS --user alex` in-process; mail settings through the environment."""
    url = db.engine.url.render_as_string(hide_password=False)
    env = {"BACKOFFICE_MAIL__SENDER": SENDER, "BACKOFFICE_MAIL__SENDER_NAME": "Widget Works",
           "BACKOFFICE_MAIL__OUTBOX_DIR": str(tmp_path / "outbox"), "BACKOFFICE_OUTPUT_DIR": str(tmp_path / "out"),
           "BACKOFFICE_MAIL__PER_MINUTE": "100000", "COLUMNS": "200", "NO_COLOR": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str, **more: str):
        from engine.cli import app

        return CliRunner().invoke(app, ["--database-url", url, *args, "--user", "alex"], env=more or None)

    return run


def report_of(result, code: int) -> dict:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def refusal_of(result, code: int) -> dict:
    assert result.exit_code == code and result.stdout == "", (result.stdout, result.stderr)
    return json.loads(result.stderr)


def runs(db) -> list[MailRun]:
    with db.reading() as session:
        return list(session.scalars(sa.select(MailRun).order_by(MailRun.id)))


def _templates(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the standard templates to edit, used by every command from now on."""
    copy = tmp_path / "templates"
    shutil.copytree(templates_dir() / "mail", copy / "mail")
    shutil.copytree(templates_dir() / "letters", copy / "letters")
    monkeypatch.setenv("BACKOFFICE_TEMPLATES_DIR", str(copy))
    return copy
