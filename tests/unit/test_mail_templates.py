"""Mail-merge templates: e-mails (subject, HTML, text) and printed letters, filled in a
sandbox. Merge values are escaped in HTML and printed as typed in text; a line break in the
subject gets the message refused, not cleaned up; a misspelt field is an error naming it;
a batch of letters is one .docx with each letter from a new page."""

from __future__ import annotations

import subprocess
import zipfile
from datetime import date
from decimal import Decimal as D
from io import BytesIO
from pathlib import Path

import docx
import pytest
from jinja2.sandbox import SecurityError

from engine.errors import BackofficeError, ValidationFailed
from engine.mailmerge.letters import print_batch
from engine.mailmerge.message import Outgoing, build_message
from engine.mailmerge.templates import (
    MailTemplate,
    MailTemplateError,
    longdate,
    money,
    render_letter,
)
from engine.office.docx import templates_dir
from engine.reports.make_templates import LETTER_TEMPLATES, write_letter_templates

HOSTILE = "<script>alert(1)</script> & Co"


def reminder_context(name: str = "Ann Lee", kind: str = "person", **more) -> dict:
    return {
        "contact": {"id": 7, "kind": kind, "name": name, "first_name": None, "last_name": None,
                    "organisation": None, "email": "ann@example.com", "phone": None, "country": "GB"},
        "address": [name, "1 High St", "LEEDS", "LS1 4AP"],
        "sender": {"name": "Widget Works", "email": "accounts@widget.example", "phone": "",
                   "address": ["9 Mill Lane", "YORK", "YO1 7HH"]},
        "today": date(2026, 5, 4), "as_of": date(2026, 5, 4), "days": 30, "currency": "EUR",
        "invoices": [
            {"number": "INV-2026-00003", "issued_on": date(2026, 2, 2), "due_on": date(2026, 3, 4), "gross": D("1500"),
             "open_amount": D("1234.5"), "days_overdue": 61},
            {"number": "INV-2026-00009", "issued_on": date(2026, 3, 1), "due_on": date(2026, 3, 31),
             "gross": D("1000000.004"), "open_amount": D("1000000.004"), "days_overdue": 34},
        ],
        "total_overdue": D("1001234.504"),
        **more,
    }


def mail_template(folder: Path, subject: str, text: str, html: str | None = None, name: str = "t") -> MailTemplate:
    base = folder / name
    base.mkdir(parents=True, exist_ok=True)
    (base / "subject.txt").write_text(subject + "\n", encoding="utf-8")
    (base / "body.txt").write_text(text, encoding="utf-8")
    if html is not None:
        (base / "body.html").write_text(html, encoding="utf-8")
    return MailTemplate.load(name, folder)


# -- e-mails --------------------------------------------------------------------------------------

def test_the_overdue_reminder_lists_the_invoices_with_exact_amounts():
    subject, html, text = MailTemplate.load("overdue_reminder").render(reminder_context())
    assert subject == "Payment reminder: 2 overdue invoices, 1,001,234.50 EUR"
    for body in (html, text):
        assert "Dear Ann Lee," in body
        assert "INV-2026-00003" in body and "1,234.50 EUR" in body and "1,000,000.00 EUR" in body
        assert "4 March 2026" in body and "61" in body
        assert "1,001,234.50 EUR" in body
        assert "Widget Works" in body and "9 Mill Lane" in body
    assert "Dear Sir or Madam," in MailTemplate.load("overdue_reminder").render(
        reminder_context("Acme Ltd", kind="organisation"))[2]


def test_a_merge_value_is_escaped_in_html_and_printed_as_typed_in_text():
    subject, html, text = MailTemplate.load("overdue_reminder").render(reminder_context(HOSTILE))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html
    assert f"Dear {HOSTILE}," in text
    _, html, text = MailTemplate.load("announcement").render(reminder_context(HOSTILE, tag="<b>vip</b>"))
    assert "<script>" not in html and "&lt;b&gt;vip&lt;/b&gt;" in html and "<b>vip</b>" in text


def test_a_line_break_in_the_subject_from_a_merge_value_gets_the_message_refused(tmp_path):
    template = mail_template(tmp_path, "Invoices of {{ contact.name }}", "Hello {{ contact.name }}")
    injected = "Acme\r\nBcc: everyone@example.com"
    subject, html, text = template.render(reminder_context(injected))
    assert subject == f"Invoices of {injected}"        # left as filled in, not cleaned up
    assert html is None and text == f"Hello {injected}"
    with pytest.raises(ValidationFailed, match="subject .* line break"):
        build_message(Outgoing(sender="accounts@widget.example", sender_name="Widget Works", to="ann@example.com",
                               to_name="Ann Lee", subject=subject, text=text, message_id="<m1@widget.example>"))


def test_control_characters_are_kept_out_of_the_bodies_but_not_hidden_in_the_subject(tmp_path):
    template = mail_template(tmp_path, "{{ contact.name }}", "{{ contact.name }}", "<p>{{ contact.name }}</p>")
    subject, html, text = template.render(reminder_context("Ann\x00\x0cLee\tJr\nII"))
    assert text == "Ann  Lee\tJr\nII" and html == "<p>Ann  Lee\tJr\nII</p>"
    assert subject == "Ann\x00\x0cLee\tJr\nII"


@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_a_misspelt_field_is_an_error_naming_the_template_and_the_field(tmp_path, part):
    sources = {"subject": "Hello", "text": "Dear {{ contact.name }}", "html": "<p>{{ contact.name }}</p>"}
    sources[part] = sources[part].replace("contact.name", "contact.nmae") if part != "subject" else "{{ totl }}"
    template = mail_template(tmp_path, sources["subject"], sources["text"], sources["html"], name="letter-x")
    with pytest.raises(MailTemplateError) as refused:
        template.render(reminder_context())
    message = str(refused.value)
    assert "letter-x/" + {"subject": "subject.txt", "text": "body.txt", "html": "body.html"}[part] in message
    assert ("totl" if part == "subject" else "nmae") in message


@pytest.mark.parametrize("tag", ["{{ ''.__class__.__mro__ }}", "{{ contact.__class__.__base__.__subclasses__() }}",
                                 "{{ invoices.append(1) }}", "{{ contact.update(name='x') }}",
                                 "{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__ }}",
                                 "{{ (total_overdue | money).__class__ }}"])
@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_the_sandbox_refuses_to_reach_python_internals_or_change_the_data(tmp_path, tag, part):
    sources = {"subject": "Hello", "text": "Hello", "html": "<p>Hello</p>"}
    sources[part] = tag
    template = mail_template(tmp_path, sources["subject"], sources["text"], sources["html"])
    context = reminder_context()
    with pytest.raises(MailTemplateError, match="unsafe") as refused:
        template.render(context)
    assert isinstance(refused.value.__cause__, SecurityError)
    assert len(context["invoices"]) == 2 and context["contact"]["name"] == "Ann Lee"


def test_a_template_with_a_syntax_error_is_refused_when_loaded(tmp_path):
    with pytest.raises(MailTemplateError, match=r"t/body.txt .*line 2"):
        mail_template(tmp_path, "Hello", "Dear\n{% if contact.name %}no end")


def test_missing_or_oddly_named_templates_are_refused_clearly(tmp_path):
    with pytest.raises(MailTemplateError, match="no mail template 'nothing'.*overdue_reminder"):
        MailTemplate.load("nothing")
    with pytest.raises(MailTemplateError, match="not a mail template name"):
        MailTemplate.load("../letters")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "subject.txt").write_text("Hi")
    with pytest.raises(MailTemplateError, match="has no body.txt"):
        MailTemplate.load("half", tmp_path)
    with pytest.raises(MailTemplateError, match="more than one line"):
        mail_template(tmp_path, "Hello\nBcc: x", "Hi")


def test_money_formats_the_decimal_itself_and_longdate_is_the_same_everywhere():
    assert money(D("1234567.005")) == "1,234,567.01"
    assert money(D("0.1") + D("0.2"), "EUR") == "0.30 EUR"
    assert money(D("-1500")) == "-1,500.00"
    assert money(12) == "12.00" and money(None) == "" and money(0.1) == "0.10"
    assert money(D("99999999999999.99")) == "99,999,999,999,999.99"     # a float would lose the cents
    with pytest.raises(ValueError, match="not an amount"):
        money("twelve")
    assert longdate(date(2026, 3, 1)) == "1 March 2026" and longdate("2026-12-31") == "31 December 2026"


# -- printed letters ------------------------------------------------------------------------------

def test_a_letter_prints_merge_values_as_typed():
    data = render_letter("overdue_reminder", reminder_context(HOSTILE, address=[HOSTILE, "{{ 7*7 }}"]))
    document = docx.Document(BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert f"Dear {HOSTILE}," in text and "{{ 7*7 }}" in text
    table = document.tables[0]
    assert [c.text for c in table.rows[1].cells] == ["INV-2026-00003", "2 February 2026", "4 March 2026", "61",
                                                     "1,234.50 EUR"]
    assert table.rows[-1].cells[-1].text == "1,001,234.50 EUR"


def test_a_letter_template_with_a_misspelt_field_names_it():
    context = reminder_context()
    del context["total_overdue"]
    with pytest.raises(MailTemplateError, match="overdue_reminder.docx.*total_overdue"):
        render_letter("overdue_reminder", context)


def test_a_batch_of_letters_is_one_document_each_from_a_new_page(tmp_path):
    names = ["Ann Lee", HOSTILE, "Zoë Ångström"]
    docx_path, pdf = print_batch("overdue_reminder", [reminder_context(n) for n in names], tmp_path / "print.docx")
    assert pdf is None and docx_path == tmp_path / "print.docx"
    document = docx.Document(docx_path)
    text = "\n".join(p.text for p in document.paragraphs)
    for name in names:
        assert f"Dear {name}," in text
    assert text.count("Payment reminder: overdue invoices") == 3
    assert len(document.tables) == 3
    assert len(document.sections) == 3                        # a section (a new page) per letter
    assert all(s.start_type == docx.enum.section.WD_SECTION.NEW_PAGE for s in document.sections)
    assert [f.name for f in tmp_path.iterdir()] == ["print.docx"]   # no temporary file left behind


def test_a_batch_with_no_letters_or_a_wrong_name_is_refused(tmp_path):
    with pytest.raises(BackofficeError, match="no letters to print"):
        print_batch("overdue_reminder", [], tmp_path / "print.docx")
    with pytest.raises(BackofficeError, match=r"\.docx"):
        print_batch("overdue_reminder", [reminder_context()], tmp_path / "print.pdf")
    with pytest.raises(MailTemplateError, match="no letter template"):
        print_batch("no_such_letter", [reminder_context()], tmp_path / "print.docx")
    assert not list(tmp_path.iterdir())


def test_the_committed_letter_templates_are_what_make_templates_writes(tmp_path):
    made = write_letter_templates(tmp_path)
    assert sorted(p.name for p in made) == sorted(LETTER_TEMPLATES)
    for fresh in made:
        committed = templates_dir() / "letters" / fresh.name
        with zipfile.ZipFile(committed) as old, zipfile.ZipFile(fresh) as new:
            assert old.namelist() == new.namelist()
            drifted = [n for n in new.namelist() if old.read(n) != new.read(n)]
        assert not drifted, f"templates/letters/{fresh.name} has drifted ({drifted}): run `backoffice report templates`"


def test_every_mail_template_has_its_letter_and_renders_with_the_context_of_its_selection():
    contexts = {"overdue_reminder": reminder_context(), "announcement": reminder_context(tag="vip")}
    for name, context in contexts.items():
        subject, html, text = MailTemplate.load(name).render(context)
        assert subject and html and text
        assert render_letter(name, context).startswith(b"PK")


@pytest.mark.libreoffice
def test_libreoffice_prints_the_batch_as_one_pdf_with_a_page_per_letter(tmp_path):
    from tests.libreoffice import soffice

    soffice()   # fails clearly when LibreOffice is missing
    names = ["Ann Lee", HOSTILE, "Zoë Ångström"]
    docx_path, pdf = print_batch("overdue_reminder", [reminder_context(n) for n in names], tmp_path / "print.docx",
                                 pdf=True)
    assert pdf == tmp_path / "print.pdf" and pdf.read_bytes().startswith(b"%PDF")
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    pages = [" ".join(p.split()) for p in pages if p.strip()]
    assert len(pages) == 3
    for page, name in zip(pages, names, strict=True):
        assert f"Dear {name}," in page and "1,001,234.50 EUR" in page
