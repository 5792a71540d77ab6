"""A report template of the reader's own, through the report doors: `report fields` lists
what the pack's template may use, `report check` names every problem of a template with its
part and paragraph before anything is written, `report pack --template` refuses a malicious
template and writes nothing, and a template written in Word with merge fields makes a simple
report (its values, not its tables)."""

from __future__ import annotations

import json

import docx
import pytest
from typer.testing import CliRunner

from engine.cli import app as cli
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.unit.word_files import docxtpl, merge_fields


@pytest.fixture
def run(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "mia", "Mia Manager", ["manager"], None)
    url = db.engine.url.render_as_string(hide_password=False)

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--database-url", url, *args, "--user", "mia"])
    return invoke


def test_report_fields_lists_what_the_pack_template_may_use_with_samples(run):
    done = run("report", "fields", "pack", "--period", "2026-11", "--json")
    assert done.exit_code == 0, done.output
    shown = {f["field"]: f for f in json.loads(done.stdout)["fields"]}
    assert shown["period_name"]["sample"] == "November 2026" and shown["period_name"]["word"] == "period_name"
    assert shown["made_for"]["sample"] == "Mia Manager (mia)"
    assert shown["body"]["sample"].startswith("(laid out by Backoffice")
    refused = run("report", "fields", "pack", "--as-of", "2026-11-30", "--json")
    assert refused.exit_code != 0 and '"field": "as_of"' in refused.stderr


@pytest.mark.parametrize(("tag", "code"), [
    ("{{ title.__class__.__mro__ }}", "internals"),
    ("{% include '../../config/backoffice.toml' %}", "includes_file"),
    ("{{ nonsense }}", "unknown_field"),
])
def test_a_malicious_or_wrong_template_is_named_and_refused_before_anything_is_written(run, tmp_path, tag, code):
    evil = docxtpl(tmp_path / "evil.docx", "Management pack {{ period_name }}", f"Hello {tag} there", "{{p body }}")
    checked = run("report", "check", str(evil), "--report", "pack", "--json")
    assert checked.exit_code == 1, checked.output
    problems = json.loads(checked.stdout)["problems"]
    assert [p["code"] for p in problems] == [code]
    assert problems[0]["field"] == "body" and "Hello" in problems[0]["paragraph"]
    written = run("report", "pack", "--period", "2026-11", "--template", str(evil), "--out", "pack.docx", "--json")
    assert written.exit_code != 0
    assert f'"code": "{code}"' in written.stderr
    assert not (tmp_path / "pack.docx").exists()


def test_the_standard_template_checks_clean_and_one_without_a_known_name_asks_which_report(run, tmp_path):
    from engine.paths import templates_dir

    assert run("report", "check", str(templates_dir() / "reports" / "pack.docx")).exit_code == 0
    mine = docxtpl(tmp_path / "mine.docx", "{{ title }}")
    asked = run("report", "check", str(mine))
    assert asked.exit_code != 0 and "say it with --report NAME" in asked.output


def test_a_template_written_in_word_with_merge_fields_makes_a_simple_report(run, tmp_path):
    simple = merge_fields(tmp_path / "cover.docx", "title", "period_name", "made_for", header="organisation")
    done = run("report", "pack", "--period", "2026-11", "--template", str(simple), "--out", "cover.docx", "--json")
    assert done.exit_code == 0, done.output
    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "cover.docx")).paragraphs)
    assert "title: Management pack" in text and "period_name: November 2026" in text
    assert "made_for: Mia Manager (mia)" in text
    wrong = merge_fields(tmp_path / "wrong.docx", "title", "turnover")
    refused = run("report", "pack", "--template", str(wrong), "--out", "wrong-report.docx", "--json")
    assert refused.exit_code != 0 and "turnover" in refused.stderr and not (tmp_path / "wrong-report.docx").exists()
