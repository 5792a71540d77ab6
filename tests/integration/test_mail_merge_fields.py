"""Letters written with Word's merge fields, on a real SQLite file and a real PostgreSQL: the
`welcome` mail merged to a selection (its Word letter attached to the e-mails and printed for
the contact without an address, then turned into a PDF by LibreOffice); `mail fields` and
`mail check` through the command line (in-process); a Word letter with a field the
selection does not have, or a field reaching outside the document, refused by `mail check`
with where each is, and by `mail merge` before anything is sent or stored."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docx
import pytest

from engine.mailmerge.runs import process_run, start_run
from engine.office.docx import soffice
from engine.reports.make_templates import _word_field
from tests.integration.mail_cli import (  # noqa: F401  (the fixtures)
    _templates,
    backoffice,
    readers,
    refusal_of,
    report_of,
    runs,
)
from tests.integration.mail_customers import ALEX, customers  # noqa: F401  (the fixture)
from tests.integration.mail_settings import settings_for  # noqa: F401  (the fixture)


def test_a_word_letter_is_attached_printed_and_converted_by_libreoffice(customers, settings_for, tmp_path):  # noqa: F811
    db, ids = customers
    settings = settings_for()
    run_id = start_run(db, settings, ALEX, "welcome", "tag", {"tag": "vip"}, "outbox")
    report = process_run(db, settings, ALEX, run_id)
    assert (report.sent, report.printed, report.failed) == (1, 1, [])            # Acme by e-mail, Dana on paper
    printed = "\n".join(p.text for p in docx.Document(report.printed_file).paragraphs)
    assert "Dear Dana Wong," in printed and f"Your customer number is {ids['dana']}:" in printed
    assert "Welcome to Widget Works" in printed and "«" not in printed
    if soffice() is None:
        pytest.skip("LibreOffice is not installed (CI installs it)")
    pdf = Path(report.printed_pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Dear Dana Wong," in text and "502 S Spring St" in text and "Page 1" in text


def test_mail_fields_lists_each_field_with_a_sample_from_the_selection_or_the_sample(db, readers, backoffice):  # noqa: F811
    readers("Ada", "Ben")
    shown = report_of(backoffice("mail", "fields", "welcome", "--selection", "tag:news", "--json"), 0)
    assert shown["letter"] == "word merge fields" and shown["from"] == "the 2 recipient(s) of tag now"
    fields = {f["field"]: f for f in shown["fields"]}
    assert fields["contact.name"] == {"field": "contact.name", "word": "contact.name", "sample": "Ada"}
    assert fields["address"]["sample"] == "Ada / 1 High St / LEEDS / LS1 4AP / UNITED KINGDOM" and fields["tag"]["sample"] == "news"
    assert fields["sender.name"]["sample"] == "Widget Works"

    sample = report_of(backoffice("mail", "fields", "welcome", "--json"), 0)
    listed = {f["field"]: f for f in sample["fields"]}
    assert listed["invoices[].open_amount"] == {"field": "invoices[].open_amount", "word": None, "sample": "1,234.50"}
    assert listed["today"]["sample"] == "31 March 2026" and sample["from"].startswith("the sample")

    table = backoffice("mail", "fields", "welcome", "--selection", "tag:news")
    assert table.exit_code == 0 and "contact.name" in table.stdout and "docxtpl only" not in table.stdout


def test_mail_check_passes_the_standard_templates(db, readers, backoffice):  # noqa: F811
    readers("Ada")
    for template in ("welcome", "announcement", "details_check"):
        checked = backoffice("mail", "check", template, "--selection", "tag:news")
        assert checked.exit_code == 0 and "no problems" in checked.stdout, (template, checked.stdout)
    assert report_of(backoffice("mail", "check", "overdue_reminder", "--json"), 0)["problems"] == []


def _break_the_letter(path: Path) -> None:
    """A field in the header the selection does not have, and a field reaching outside."""
    letter = docx.Document(path)
    header = letter.sections[0].header.paragraphs[0]
    header.add_run("From ")
    _word_field(header, "MERGEFIELD sender.nmae \\* MERGEFORMAT", "«sender.nmae»")
    paragraph = letter.add_paragraph("Our terms: ")
    _word_field(paragraph, 'INCLUDETEXT "../../config/backoffice.toml"', "terms")
    letter.save(path)


def test_a_broken_word_letter_is_named_by_mail_check_and_refused_by_mail_merge_before_anything_is_sent(
        db, readers, backoffice, tmp_path, monkeypatch):  # noqa: F811
    readers("Ada", "Ben")
    templates = _templates(tmp_path, monkeypatch)
    _break_the_letter(templates / "letters" / "welcome.docx")

    checked = report_of(backoffice("mail", "check", "welcome", "--selection", "tag:news", "--json"), 1)
    assert not checked["ok"]
    problems = {p["code"]: p for p in checked["problems"]}
    assert set(problems) == {"unsafe_field", "unknown_field"}
    assert (problems["unknown_field"]["place"], problems["unknown_field"]["paragraph"]) == ("header",
                                                                                           "From «sender.nmae»")
    assert "INCLUDETEXT" in problems["unsafe_field"]["message"] and problems["unsafe_field"]["place"] == "body"
    said = backoffice("mail", "check", "welcome", "--selection", "tag:news")
    assert said.exit_code == 1 and 'header, in "From «sender.nmae»"' in said.stdout + said.stderr

    refused = refusal_of(backoffice("mail", "merge", "welcome", "--to", "tag:news", "--json"), 2)
    assert [p["code"] for p in refused["problems"]] == ["unsafe_field"]
    assert runs(db) == [] and not list((tmp_path / "outbox").glob("*"))

    letter = docx.Document(templates / "letters" / "welcome.docx")    # the outside field taken out again
    for paragraph in letter.paragraphs:
        if paragraph.text.startswith("Our terms"):
            paragraph._p.getparent().remove(paragraph._p)
    letter.save(templates / "letters" / "welcome.docx")
    refused = refusal_of(backoffice("mail", "merge", "welcome", "--to", "tag:news", "--json"), 2)
    assert [(p["field"], p["code"]) for p in refused["problems"]] == [("letter", "unknown_field")]
    assert 'letters/welcome.docx, header, in "From «sender.nmae»" uses `sender.nmae`' in refused["problems"][0]["message"]
    assert runs(db) == [] and not list((tmp_path / "outbox").glob("*"))

    alone = report_of(backoffice("mail", "check", str(templates / "letters" / "welcome.docx"), "--json"), 1)
    assert [(p["code"], p["source"]) for p in alone["problems"]] == [("unknown_field", "welcome.docx")]
    assert json.dumps(alone)   # (plain JSON)
