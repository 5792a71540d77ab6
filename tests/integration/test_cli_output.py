"""What the command line prints, in-process: piped tables whole, help with meaningful
placeholders, `--version`, dry-run diffs and refresh summaries in words."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

import engine
from engine.cli import app
from engine.contacts import services
from engine.security.roles import SYSTEM
from engine.sheets import roundtrip
from tests.integration.conftest import edit_by_label, find_row, read_sheet
from tests.unit.command_paths import _command_paths

LONG_EMAIL = "accounts.receivable.department@" + "long-subsidiary.example.co.uk"   # 60 characters
LONG_NAME = "Consolidated International Widget Manufacturing Holdings Limited"


def run(db, *args: str, env: dict | None = None):
    url = db.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, *args], env=env)


@pytest.fixture
def long_contact(people_db):
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": LONG_NAME, "country": "GB",
                                               "email": LONG_EMAIL})
    return people_db


def test_piped_tables_are_never_cut_or_wrapped(long_contact):
    assert len(LONG_EMAIL) == 60
    listed = run(long_contact, "contacts", "list", "--user", "ada")
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.stdout.splitlines() if LONG_EMAIL in line]
    assert LONG_NAME in line and "…" not in listed.stdout
    assert len(line) > 120          # wider than any guessed terminal: the table is as wide as its values
    log = run(long_contact, "audit", "--table", "contacts", "--user", "ada")
    stamps = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", log.stdout)
    assert log.exit_code == 0 and len(stamps) == 6, log.stdout     # every time stamp whole, one per change
    assert LONG_EMAIL in log.stdout


def test_on_a_narrow_terminal_values_fold_and_the_table_points_at_json(long_contact):
    shown = run(long_contact, "contacts", "list", "--user", "ada", env={"TTY_COMPATIBLE": "1", "COLUMNS": "70",
                                                                         "NO_COLOR": "1"})
    assert shown.exit_code == 0, shown.output
    printed = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)      # a terminal's styles (bold headers) aside
    assert max(len(line) for line in printed.splitlines()) <= 70, printed
    assert "…" not in printed
    # The e-mail address is folded over several lines of its column (the 4th), every character kept.
    rows = [line.split("│") for line in printed.splitlines() if line.startswith("│")]
    emails = "".join(cells[4].strip() for cells in rows)
    assert LONG_EMAIL in emails
    assert "--json" in shown.stderr and "wider than this window" in shown.stderr


def test_every_help_names_its_placeholders_and_flags_take_none():
    runner, bad = CliRunner(), {}
    for path in _command_paths(app):
        shown = runner.invoke(app, [*path.split()[1:], "--help"])
        assert shown.exit_code == 0, (path, shown.output)
        found = re.findall(r"<[a-z ]+>", shown.stdout) + re.findall(r"--json \S|--dry-run \S", shown.stdout)
        if found:
            bad[path] = found
    assert not bad, bad
    receive = runner.invoke(app, ["stock", "receive", "--help"]).stdout
    assert "--date YYYY-MM-DD" in receive and "-u, --user LOGIN" in receive and "--supplier ID" in receive
    assert "{FILE...}" in runner.invoke(app, ["sync", "--help"]).stdout


def test_version_prints_the_package_version():
    shown = CliRunner().invoke(app, ["--version"])
    assert shown.exit_code == 0 and shown.stdout.strip() == engine.__version__ == version("backoffice")


def test_dry_run_diff_and_summaries_in_words(people_db, tmp_path):
    path = tmp_path / "contacts.xlsx"
    assert run(people_db, "workbook", "new", "contacts", "--out", str(path), "--user", "ada").exit_code == 0
    row = find_row(path, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(path, "Organisations", row, {"Phone": "+49 30 1234567", "Name": "Bolt AG"})
    people = read_sheet(path, "People")
    edit_by_label(path, "People", len(people) + 1, {"First name": "Ada", "Last name": "King", "Organisation": "acme ltd",
                                                   "Country": "GB"})
    record = int(read_sheet(path, "Organisations")[row - 1][0])

    dry = run(people_db, "sync", str(path), "--dry-run", "--user", "ada")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0] == f"{path}: dry run, nothing saved; a sync would add 1 record, change 1, delete none"
    assert f"  Organisations!C{row} (Name, record {record}): Bolt GmbH -> Bolt AG" in lines
    assert f"  Organisations!E{row} (Phone, record {record}): (empty) -> +49 30 1234567" in lines
    # the organisation as its drop-down shows it, not its id (and as chosen, whatever the case typed)
    assert (f"  People: new row {len(people) + 1}: First name Ada, Last name King, Organisation Acme Ltd, "
            "Country GB") in lines, lines
    assert "{" not in dry.stdout and "'" not in dry.stdout          # no Python dicts or reprs
    as_json = json.loads(run(people_db, "sync", str(path), "--dry-run", "--json", "--user", "ada").stdout)
    assert {c["action"] for c in as_json["changes"]} == {"insert", "update"}

    assert run(people_db, "validate", str(path), "--user", "ada").stdout == f"{path}: no problems found\n"
    saved = run(people_db, "sync", str(path), "--user", "ada")
    assert saved.stdout == f"{path}: saved: 1 record added, 1 changed, none deleted\n"
    again = run(people_db, "sync", str(path), "--user", "ada")
    assert again.stdout == f"{path}: nothing to save: the database already holds every value\n"


def test_a_workbook_not_written_after_the_commit_is_told_with_what_to_do_and_matched_next_time(
        people_db, tmp_path, monkeypatch):
    path = tmp_path / "contacts.xlsx"
    assert run(people_db, "workbook", "new", "contacts", "--out", str(path), "--user", "ada").exit_code == 0
    edit_by_label(path, "People", len(read_sheet(path, "People")) + 1,
                  {"First name": "Ada", "Last name": "King", "Country": "GB"})

    def disk_full(*_args, **_kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(roundtrip.annotate, "write_refresh", disk_full)
    saved = run(people_db, "sync", str(path), "--user", "ada")
    assert saved.exit_code == 0, saved.output
    assert saved.stdout.startswith(f"{path}: saved: 1 record added, none changed, none deleted\n")
    assert ("could not be written beside contacts.xlsx (No space left on device): the records are saved, but "
            "contacts.xlsx does not show them yet. Free some space on that disk") in " ".join(saved.output.split())
    monkeypatch.undo()
    again = run(people_db, "sync", str(path), "--user", "ada")
    assert again.stdout == (f"{path}: nothing to save: the database already holds every value\n"
                            "  1 new row had been saved by an earlier sync whose workbook was never written: "
                            "matched to those records (not added again), their ids now written in\n"), again.stdout


def test_refresh_reports_the_rows_it_brought_in(people_db, tmp_path):
    path = tmp_path / "contacts.xlsx"
    assert run(people_db, "workbook", "new", "contacts", "--out", str(path), "--user", "ada").exit_code == 0
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "New Co", "country": "FR"})
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Newer Co", "country": "FR"})
        bolt = next(c for c in services.list_contacts(session, SYSTEM, search="Bolt"))
        services.update_contact(session, SYSTEM, bolt.id, bolt.version, {"phone": "+49 30 7654321"})
        kim = next(c for c in services.list_contacts(session, SYSTEM, search="Lee"))
        services.delete_contact(session, SYSTEM, kim.id, kim.version)

    refreshed = run(people_db, "refresh", str(path), "--user", "ada")
    assert refreshed.exit_code == 0, refreshed.output
    assert refreshed.stdout == (f"{path}: refreshed: 2 rows added (new in the database), 1 row updated with "
                                "changes made in the database, 1 row emptied (deleted in the database or no "
                                "longer yours to see)\n")
    names = [r[2] for r in read_sheet(path, "Organisations")[1:]]
    assert {"New Co", "Newer Co"} <= set(names)
    again = run(people_db, "refresh", str(path), "--json", "--user", "ada")
    result = json.loads(again.stdout)
    assert (result["status"], result["refreshed"]) == ("unchanged", {"added": 0, "updated": 0, "removed": 0,
                                                                     "conflicts": 0})


def test_the_window_width_is_asked_when_printing_not_when_the_console_was_made(monkeypatch):
    from engine.cli_support import Output

    monkeypatch.setenv("COLUMNS", "80")
    console = Output()
    monkeypatch.setenv("COLUMNS", "70")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert console.size.width == 70
