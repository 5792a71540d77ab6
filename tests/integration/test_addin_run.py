"""`backoffice addin run`: the ribbon's buttons pressed on a file, through the headless engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import python_calamine
import sqlalchemy as sa
import xlsxwriter
from typer.testing import CliRunner

from engine.cli import app
from engine.sheets.exporting import new_workbook
from tests.integration.addin_support import acting_in_addin
from tests.integration.conftest import edit_by_label, find_row, read_sheet
from tests.integration.doors import actor


def _run(db, *args: str, user: str = "sam") -> tuple[int, dict]:
    url = db.engine.url.render_as_string(hide_password=False)
    with acting_in_addin(db, user):   # no settings file of the tester's own
        result = CliRunner().invoke(app, ["--database-url", url, "addin", "run", *args, "--json", "--user", user])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr}


@pytest.fixture
def workbook(people_db, tmp_path) -> Path:
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", path)
    return path


def test_sync_validate_and_who_am_i_on_a_file(people_db, workbook):
    bolt = find_row(workbook, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(workbook, "Organisations", bolt, {"E-mail": "not an address"})
    code, answer = _run(people_db, "validate", str(workbook))
    assert code == 1 and answer["status"] == "invalid" and answer["problems"][0]["code"] == "invalid"
    assert read_sheet(workbook, "Issues")[1][0] == "Organisations", "the file was saved with its Issues"
    edit_by_label(workbook, "Organisations", bolt, {"E-mail": "sales@bolt.example"})
    code, answer = _run(people_db, "sync", str(workbook))
    assert (code, answer["status"], answer["updated"]) == (0, "applied", 1), answer
    rows = read_sheet(workbook, "Organisations")
    assert rows[bolt - 1][rows[0].index("Version")] == 2, "the new version is in the file"
    code, answer = _run(people_db, "who-am-i", str(workbook))
    assert code == 0 and (answer["mode"], answer["user"], answer["roles"]) == ("local", "sam", ["sales"])


def test_a_mail_preview_of_the_selected_rows(people_db, workbook, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("BACKOFFICE_MAIL__SENDER", "office@widget.example")
    acme = find_row(workbook, "Organisations", "Name", "Acme Ltd")
    with people_db.unit_of_work(actor(people_db, "ada")) as session:   # one of the rows chosen has opted out
        session.execute(sa.text("UPDATE contacts SET opt_out = true, version = version + 1 WHERE name = 'Bolt GmbH'"))
    bolt = find_row(workbook, "Organisations", "Name", "Bolt GmbH")
    first, last = sorted((acme, bolt))
    code, answer = _run(people_db, "mail-preview", str(workbook), "details_check", "--rows",
                        f"Organisations!{first}:{last}")
    assert code == 0, answer
    assert (answer["previews"], answer["letters"]) == (1, 0) and "Nothing was sent" in answer["message"], answer["problems"]
    assert "1 left out: Bolt GmbH: " in answer["message"]
    [message] = Path(answer["folder"]).glob("*.eml")
    text = message.read_text(encoding="utf-8")
    assert "To: Acme Ltd <info@acme.example>" in text and "Please check the details we hold for you" in text


def test_refusals_exit_2_and_change_nothing(people_db, workbook):
    before = {sheet: read_sheet(workbook, sheet) for sheet in ("Organisations", "People", "_backoffice")}
    code, answer = _run(people_db, "press-everything", str(workbook))
    assert code == 2 and "no button" in answer["stderr"]
    code, answer = _run(people_db, "report", str(workbook), "staff", "last-year")
    assert code == 2 and "not a year" in answer["message"]
    code, answer = _run(people_db, "sync", str(workbook), user="nobody")
    assert code == 2 and answer["status"] == "refused" and answer["error"]["exit_code"] == 2
    assert {sheet: read_sheet(workbook, sheet) for sheet in before} == before


def test_a_dry_run_lists_what_a_sync_would_save_or_why_it_would_be_refused(people_db, workbook):
    bolt = find_row(workbook, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(workbook, "Organisations", bolt, {"Website": "bolt.example", "E-mail": "nope"})
    code, answer = _run(people_db, "sync-dry-run", str(workbook))
    assert code == 1 and answer["message"].startswith("A sync would be refused: 1 problem(s)")
    preview = read_sheet(workbook, "Sync preview")
    assert [row[3] for row in preview[1:]] == ["update", "update", "problem"]
    assert preview[3][4:] == ["E-mail", "", answer["problems"][0]["message"]]
    assert "Issues" not in [name for name in _sheet_names(workbook)], "a dry run marks nothing"


def test_a_workbook_the_headless_engine_cannot_hold_is_refused_saying_what_to_do(people_db, workbook, tmp_path):
    """A chart sheet (no cells: the engine holds worksheets only) is told, not an internal error."""
    charted = tmp_path / "charted.xlsx"
    book = xlsxwriter.Workbook(str(charted))
    book.add_worksheet("Data").write_column("A1", [1, 2, 3])
    chart = book.add_chart({"type": "line"})
    chart.add_series({"values": "=Data!$A$1:$A$3"})
    book.add_chartsheet("Chart").set_chart(chart)
    book.close()
    code, answer = _run(people_db, "sync", str(charted))
    assert code == 2 and "cannot be opened without Excel" in answer["stderr"]
    assert f"backoffice sync {charted}" in answer["stderr"].replace("\n", " ")


def _sheet_names(path: Path) -> list[str]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names


def test_new_workbook_and_report_buttons_write_their_files(people_db, workbook, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_OUTPUT_DIR", str(tmp_path / "out"))
    code, answer = _run(people_db, "new-workbook", str(workbook), "contacts")
    assert code == 0, answer
    assert Path(answer["file"]) == (tmp_path / "out" / "contacts-sam.xlsx").resolve()
    assert read_sheet(Path(answer["file"]), "Organisations")[0][:3] == ["ID", "Version", "Name"]
    code, answer = _run(people_db, "report", str(workbook), "staff", "2026", user="ada")
    assert code == 0 and answer["message"].startswith("Wrote the staff report for 2026"), answer
    assert Path(answer["file"]).read_bytes()[:2] == b"PK" and Path(answer["file"]).stat().st_mode & 0o077 == 0
    code, answer = _run(people_db, "report", str(workbook), "staff", "2026", user="wes")
    assert code == 2 and answer["error"]["problems"][0]["code"] == "permission", answer
    code, answer = _run(people_db, "report", str(workbook), "pack", "2026-11", user="ada")
    assert code == 0 and answer["message"].startswith("Wrote the pack report for 2026-11"), answer
    assert Path(answer["file"]) == (tmp_path / "out" / "pack-2026-11-ada.docx").resolve()
    code, answer = _run(people_db, "report", str(workbook), "pack", "2026-13", user="ada")
    assert code == 2 and answer["error"]["problems"][0]["field"] == "period", answer
