"""Letters written with Word's own merge fields (engine.office.word_fields, filled in by
docx-mailmerge2): filled in with values formatted as the Jinja filters format them (read back
out of the .docx with python-docx), every field a value can only be text (no XML, no field,
no page break of its own), a field no recipient has named with where it is, and what Word
could do besides showing values (a field reaching outside the document, a merge field inside
another field's code, Jinja beside merge fields) refused before anything is filled in."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from engine.mailmerge.fields import UnknownFields, check_fields, letter_reading
from engine.mailmerge.templates import MailTemplateError, render_letter
from engine.office.docx import ReportTemplateError, templates_dir
from engine.office.template_fields import shown, word_values
from engine.office.word_fields import field_problems, fill, has_merge_fields, read_fields
from engine.reports.make_templates import _word_field

WELCOME = templates_dir() / "letters" / "welcome.docx"
CONTEXT = {"contact": {"id": 12, "kind": "person", "name": "Ann Smith", "email": None, "organisation": None},
           "address": ["Ann Smith", "1 High St", "LEEDS", "LS1 4AP"],
           "sender": {"name": "Widget Works", "email": "office@widget.example", "phone": "+44 1",
                      "address": ["9 Mill Lane", "YORK"]},
           "today": date(2026, 3, 4), "total_overdue": Decimal("1234.5"), "invoices": [{"number": "INV-1"}]}


def texts(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "filled.docx"
    path.write_bytes(data)
    document = docx.Document(path)
    return "\n".join(p.text for p in document.paragraphs)


def word_letter(path: Path, *paragraphs: str, header: str = "", extra=None) -> Path:
    """A .docx whose `«name»` pieces are merge fields, as Word writes them."""
    document = docx.Document()

    def write(paragraph, text: str) -> None:
        for piece in text.replace("«", "\0«").replace("»", "»\0").split("\0"):
            if piece.startswith("«"):
                _word_field(paragraph, f"MERGEFIELD {piece[1:-1]} \\* MERGEFORMAT", piece)
            elif piece:
                paragraph.add_run(piece)

    for text in paragraphs:
        write(document.add_paragraph(), text)
    if header:
        write(document.sections[0].header.paragraphs[0], header)
    if extra:
        extra(document)
    document.save(path)
    return path


def test_the_welcome_letter_is_filled_in_with_values_as_the_jinja_filters_print_them(tmp_path):
    assert has_merge_fields(WELCOME)
    text = texts(render_letter("welcome", CONTEXT), tmp_path)
    assert "Dear Ann Smith," in text and "Your customer number is 12:" in text
    assert "4 March 2026" in text and "«" not in text and "MERGEFIELD" not in text
    assert "Ann Smith\n1 High St\nLEEDS\nLS1 4AP" in text.replace("\r", "")   # the address, a line each
    assert "call us on +44 1 or write to office@widget.example" in text
    assert shown(Decimal("1234.5")) == "1,234.50" and shown(date(2026, 12, 31)) == "31 December 2026"
    values = word_values(CONTEXT)
    assert values["total_overdue"] == "1,234.50" and values["contact.email"] == "" and "invoices" not in values


@pytest.mark.parametrize("value", ["<w:p><w:r><w:t>x</w:t></w:r></w:p>", "{ MERGEFIELD contact.id }",
                                   "MERGEFIELD contact.id", "{{ 7*7 }}", "R&D <Sales>", "page\x0cbreak\x07"])
def test_a_value_is_text_it_adds_no_xml_no_field_and_no_page_break(value, tmp_path):
    data = render_letter("welcome", {**CONTEXT, "contact": {**CONTEXT["contact"], "name": value}})
    text = texts(data, tmp_path)
    printed = value.replace("\x0c", " ").replace("\x07", " ")
    assert f"Dear {printed}," in text
    with zipfile.ZipFile(tmp_path / "filled.docx") as filled:
        body = filled.read("word/document.xml").decode()
    assert "instrText" not in body and "fldChar" not in body and "fldSimple" not in body   # no field left, none added
    assert body.count("<w:p>") + body.count("<w:p ") == len(docx.Document(WELCOME).paragraphs)
    assert 'w:type="page"' not in body


def test_a_merge_field_no_recipient_has_is_refused_naming_it_its_part_and_paragraph(tmp_path):
    letter = word_letter(tmp_path / "letter.docx", "Dear «contact.name»,", "Amount: «total_overdue»",
                         header="From «sender.nmae»")
    used, refused = letter_reading(letter)
    assert refused == []
    with pytest.raises(UnknownFields) as caught:
        check_fields("letter", "tag", used, [CONTEXT])
    [problem] = caught.value.problems
    assert (problem.field, problem.code, problem.name, problem.place) == ("letter", "unknown_field", "sender.nmae",
                                                                         "header")
    assert problem.paragraph == "From «sender.nmae»"
    assert 'letters/letter.docx, header, in "From «sender.nmae»" uses `sender.nmae`' in problem.message


def test_a_merge_field_that_is_not_one_value_is_refused(tmp_path):
    letter = word_letter(tmp_path / "letter.docx", "«contact»", "«invoices[].number»")
    with pytest.raises(UnknownFields) as caught:
        check_fields("letter", "overdue", letter_reading(letter)[0], [CONTEXT])
    assert [(p.code, p.name) for p in caught.value.problems] == [("not_a_value", "contact"),
                                                                 ("not_a_value", "invoices[].number")]
    assert "name one of its fields, such as contact.email" in caught.value.problems[0].message
    assert "docxtpl" in caught.value.problems[1].message


def _include_field(document) -> None:
    paragraph = document.add_paragraph("Terms: ")
    _word_field(paragraph, 'INCLUDETEXT "C:\\\\Users\\\\Public\\\\secret.txt"', "secret")


def _dde_field(document) -> None:
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), ' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" ')
    document.add_paragraph()._p.append(simple)


def _nested_field(document) -> None:
    paragraph = document.add_paragraph("Hello ")
    begin, separate, end = (OxmlElement("w:fldChar") for _ in range(3))
    for element, kind in ((begin, "begin"), (separate, "separate"), (end, "end")):
        element.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(begin)
    code = OxmlElement("w:instrText")
    code.text = ' HYPERLINK "'
    paragraph.add_run()._r.append(code)
    _word_field(paragraph, "MERGEFIELD contact.email", "«contact.email»")
    tail = OxmlElement("w:instrText")
    tail.text = '" '
    paragraph.add_run()._r.append(tail)
    paragraph.add_run()._r.append(separate)
    paragraph.add_run("link")
    paragraph.add_run()._r.append(end)


@pytest.mark.parametrize(("extra", "code", "said"), [
    (_include_field, "unsafe_field", "INCLUDETEXT"),
    (_dde_field, "unsafe_field", "DDEAUTO"),
    (_nested_field, "nested_field", "inside the code of a HYPERLINK field"),
    (lambda d: d.add_paragraph("Total {{ total_overdue | money }}"), "mixed_template", "either one or the other"),
])
def test_what_word_could_do_besides_showing_values_is_refused_before_anything_is_filled_in(
        extra, code, said, tmp_path):
    letter = word_letter(tmp_path / "letter.docx", "Dear «contact.name»,", extra=extra)
    [problem] = field_problems(letter, "letters/letter.docx")
    assert problem.code == code and said in problem.message and problem.place == "body"
    assert letter_reading(letter)[1] == [problem]
    with pytest.raises(ReportTemplateError, match=said):
        fill(letter, {"contact.name": "Ann", "contact.email": "a@b.example"})
    assert [f.name for f in read_fields(letter) if f.name] == ["contact.name", *(["contact.email"] if
                                                                                 code == "nested_field" else [])]


def test_a_letter_is_filled_in_only_with_a_value_for_every_merge_field(tmp_path, monkeypatch):
    letter = word_letter(tmp_path / "letter.docx", "Dear «contact.name» «row.Region»")
    with pytest.raises(ReportTemplateError, match="row.Region"):
        fill(letter, {"contact.name": "Ann"})
    with pytest.raises(MailTemplateError, match="row.Region"):
        render_letter("letter", CONTEXT, letter)
