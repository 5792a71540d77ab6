"""The workbook commands as an office worker runs them: new, validate, sync, refresh."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import edit_by_label, find_row, read_sheet


@pytest.fixture
def demo(backoffice, database_url):
    """The demo's users and contacts, made by the demo's own steps in this process (the whole
    `backoffice demo` is run by tests/e2e/test_foundation_cli.py; the stock, books, staff and
    mail it adds play no part in the contacts workbook and cost each test here 10 s)."""
    from engine.config import Settings
    from engine.db.session import Database
    from engine.demo import DemoSummary, demo_steps
    from engine.security.roles import SYSTEM

    db = Database.open(Settings(database_url=database_url))
    try:
        with db.unit_of_work(SYSTEM, source="system") as session:
            summary = DemoSummary()
            for name, step in demo_steps():
                if name in ("users", "contacts"):
                    step(session, summary)
    finally:
        db.dispose()
    return backoffice


def test_new_edit_validate_sync_and_sync_again(demo, tmp_path):
    path = tmp_path / "contacts.xlsx"
    made = demo("workbook", "new", "contacts", "--out", str(path), user="mia")
    assert made.code == 0, made.stderr
    first_org = read_sheet(path, "Organisations")[1]
    row = find_row(path, "Organisations", "ID", first_org[0])
    edit_by_label(path, "Organisations", row, {"Phone": "+44 20 7946 0000"})

    checked = demo("validate", str(path), "--json", user="mia")
    assert checked.code == 0 and json.loads(checked.stdout)["status"] == "unchanged"

    dry = demo("sync", str(path), "--dry-run", user="mia")
    assert dry.code == 0 and "+44 20 7946 0000" in dry.stdout and "-> " in dry.stdout

    synced = demo("sync", str(path), "--json", user="mia")
    result = json.loads(synced.stdout)
    assert (synced.code, result["status"], result["updated"]) == (0, "applied", 1)
    assert set(result) >= {"file", "status", "inserted", "updated", "deleted", "problems", "conflicts"}

    again = json.loads(demo("sync", str(path), "--json", user="mia").stdout)
    assert (again["status"], again["updated"]) == ("unchanged", 0)
    history = demo("audit", "--table", "contacts", "--record", str(int(first_org[0])), "--json", user="admin").json()
    assert history[-1]["source"] == "workbook" and history[-1]["sheet"] == "Organisations"


def test_problems_exit_1_with_json_naming_sheet_cell_and_column(demo, tmp_path):
    path = tmp_path / "contacts.xlsx"
    demo("workbook", "new", "contacts", "--out", str(path), user="mia")
    edit_by_label(path, "Organisations", 2, {"Country": "Narnia", "E-mail": "nope"})
    rejected = demo("sync", str(path), "--json", user="mia")
    assert rejected.code == 1
    result = json.loads(rejected.stdout)
    assert result["status"] == "rejected"
    assert {(p["sheet"], p["column"]) for p in result["problems"]} == {("Organisations", "Country"),
                                                                      ("Organisations", "E-mail")}
    assert all(p["cell"].endswith("2") and p["code"] and p["message"] for p in result["problems"])
    plain = demo("validate", str(path), "--no-annotate", user="mia")
    assert plain.code == 1 and "Country" in plain.stdout


def test_unusable_files_exit_2_and_are_not_touched(demo, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"this is not a workbook")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (300 * 1024 * 1024))
    for path in (junk, bomb):
        before = path.read_bytes()
        result = demo("sync", str(path), "--json", user="mia")
        assert result.code == 2, result.stderr
        line = json.loads(result.stdout)
        assert line["status"] == "unusable" and line["error"]
        assert path.read_bytes() == before
    human = demo("validate", str(junk), user="mia")
    assert human.code == 2 and "junk.xlsx" in human.stderr


def test_refresh_pulls_database_changes_into_the_workbook(demo, tmp_path):
    path, other = tmp_path / "mine.xlsx", tmp_path / "theirs.xlsx"
    demo("workbook", "new", "contacts", "--out", str(path), user="mia")
    demo("workbook", "new", "contacts", "--out", str(other), user="sam")
    row = 2
    edit_by_label(other, "Organisations", row, {"Website": "https://changed.example"})
    assert demo("sync", str(other), user="sam").code == 0
    assert demo("refresh", str(path), user="mia").code == 0
    header = read_sheet(path, "Organisations")[0]
    assert read_sheet(path, "Organisations")[row - 1][header.index("Website")] == "https://changed.example"


def test_layouts_command_writes_the_empty_layouts(backoffice, tmp_path):
    result = backoffice("workbook", "layouts", "--folder", str(tmp_path))
    assert result.code == 0 and (tmp_path / "contacts.xlsx").exists()


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no shared corpus beside the checkout")
def test_every_corpus_file_gives_a_clear_refusal_never_a_traceback(backoffice, tmp_path):
    """None of the corpus files is one of our workbooks: each must be refused with exit 2 and
    a reason, in one run over all of them (a hang or a traceback fails)."""
    assert backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin").code == 0
    files = []
    for source in sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.name.upper().startswith(("LICENSE", "README"))):
        target = tmp_path / "corpus" / source.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        files.append(target)
    result = backoffice("validate", "--json", *map(str, files), user="ada")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(files)
    assert all(line["status"] == "unusable" and line["error"] for line in lines)
