"""A report template checked before a report is written (engine.reports.fields), and the
sandbox's refusals made plain (engine.office.docx): the fields a report may use, each with a
sample; every unknown field named with its part and paragraph; a malicious template (Python's
internals, an include of a file outside the templates folder, a method call, an unknown
field) refused with a clear message, whether it is a docxtpl template or a Word merge-field
one; a simple report filled in from its merge fields, written privately and atomically."""

from __future__ import annotations

import stat
from datetime import date
from decimal import Decimal

import docx
import pytest

from engine.mailmerge.fields import unsafe_constructs
from engine.mailmerge.templates import MailTemplate, MailTemplateError
from engine.office.docx import ReportTemplateError, render_docx
from engine.office.template_fields import word_values
from engine.reports.fields import check_template, fields_of, render_merge_fields
from tests.unit.word_files import docxtpl, merge_fields

CONTEXT = {"title": "Staff report 2026", "made_on": date(2026, 3, 4), "made_for": "ada",
           "departments": [{"name": "Sales", "headcount": 3, "employees": [{"name": "Ann", "salary": Decimal("3000")}]}],
           "totals": {"employees": 3, "payroll": Decimal("9000.5")}}


def test_the_fields_of_a_report_each_with_a_sample():
    assert fields_of(CONTEXT) == [
        ("title", "Staff report 2026"), ("made_on", "4 March 2026"), ("made_for", "ada"),
        ("departments[].name", "Sales"), ("departments[].headcount", "3"), ("departments[].employees[].name", "Ann"),
        ("departments[].employees[].salary", "3,000.00"), ("totals.employees", "3"), ("totals.payroll", "9,000.50")]


def test_a_sound_template_has_no_problems(tmp_path):
    template = docxtpl(tmp_path / "ok.docx", "{{ title }} made on {{ made_on }}", "{%p for d in departments %}",
                       "{{ d.name }}: {{ d.headcount }} {{ d.name | upper }}", "{%p endfor %}",
                       footer="{{ made_for }}")
    assert check_template(template, CONTEXT) == []
    assert check_template(merge_fields(tmp_path / "m.docx", "title", "totals.payroll", header="made_for"),
                          CONTEXT) == []


@pytest.mark.parametrize(("text", "code", "said"), [
    ("{{ title.__class__.__mro__ }}", "internals", "`__class__` reaches into Python's internals"),
    ("{{ title['__class__'] }}", "internals", "`__class__`"),
    ("{% include '../../config/backoffice.toml' %}", "includes_file",
     "'../../config/backoffice.toml'"),
    ("{% import 'macros.docx' as m %}", "includes_file", "may not include, import or extend"),
    ("{% extends 'base.docx' %}", "includes_file", "may not include, import or extend"),
    ("{{ made_for.upper() }}", "method_call", "calls a method"),
    ("{{ totals.payrol }}", "unknown_field", "`totals.payrol`, which the report does not provide"),
])
def test_a_malicious_or_wrong_docxtpl_template_is_named_with_its_part_and_paragraph(text, code, said, tmp_path):
    template = docxtpl(tmp_path / "bad.docx", "{{ title }}", f"Look: {text}")
    [problem] = check_template(template, CONTEXT)
    assert (problem.field, problem.code, problem.place) == ("body", code, "body") and said in problem.message
    assert problem.paragraph == f"Look: {text}" and 'bad.docx, body, in "Look: ' in problem.message


def test_an_unknown_field_in_a_footer_and_in_a_loop_is_placed(tmp_path):
    template = docxtpl(tmp_path / "bad.docx", "{%p for d in departments %}", "{{ d.nmae }}", "{%p endfor %}",
                       footer="for {{ made_fro }}")
    assert [(p.place, p.name, p.paragraph) for p in check_template(template, CONTEXT)] == [
        ("body", "departments[].nmae", "{{ d.nmae }}{% endfor %}"),     # (docxtpl's {%p %} joins the paragraph before)
        ("footer", "made_fro", "for {{ made_fro }}")]


def test_a_merge_field_template_names_unknown_fields_and_fields_that_are_not_one_value(tmp_path):
    template = merge_fields(tmp_path / "m.docx", "title", "totals", "departments[].name", header="made_fro")
    assert [(p.code, p.name, p.place) for p in check_template(template, CONTEXT)] == [
        ("not_a_value", "totals", "body"), ("not_a_value", "departments[].name", "body"),
        ("unknown_field", "made_fro", "header")]


def test_render_docx_refuses_an_include_and_internals_plainly_naming_the_template(tmp_path):
    include = docxtpl(tmp_path / "include.docx", "{% include '../../config/backoffice.toml' %}")
    with pytest.raises(ReportTemplateError, match=r"include\.docx cannot be filled in.*may not include other files"):
        render_docx(include, CONTEXT, tmp_path / "out.docx")
    internals = docxtpl(tmp_path / "internals.docx", "{{ title.__class__.__mro__ }}")
    with pytest.raises(ReportTemplateError, match=r"internals\.docx cannot be filled in.*sandbox refuses"):
        render_docx(internals, CONTEXT, tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()


def test_a_mail_template_that_includes_a_file_is_refused_by_the_check_and_when_filled_in(tmp_path):
    folder = tmp_path / "mail" / "bad"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("Hello {{ contact.__class__ }}\n")
    (folder / "body.txt").write_text("{% include '../../config/backoffice.toml' %}\n")
    mail = MailTemplate.load("bad", tmp_path / "mail")
    assert [(p.field, p.code) for p in unsafe_constructs(mail)] == [("subject", "internals"), ("body", "includes_file")]
    with pytest.raises(MailTemplateError, match=r"bad/subject\.txt cannot be filled in.*sandbox refuses"):
        mail.render({"contact": {"name": "Ann"}})
    (folder / "subject.txt").write_text("Hello\n")
    with pytest.raises(MailTemplateError, match=r"bad/body\.txt cannot be filled in.*may not include other files"):
        MailTemplate.load("bad", tmp_path / "mail").render({"contact": {"name": "Ann"}})


def test_a_simple_report_is_filled_in_from_its_merge_fields_privately_and_at_once(tmp_path):
    template = merge_fields(tmp_path / "m.docx", "title", "totals.payroll", "made_on")
    target = tmp_path / "out" / "report.docx"
    render_merge_fields(template, word_values(CONTEXT), target)
    text = "\n".join(p.text for p in docx.Document(target).paragraphs)
    assert text == "title: Staff report 2026\ntotals.payroll: 9,000.50\nmade_on: 4 March 2026"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["report.docx"]
    with pytest.raises(ReportTemplateError, match="made_on"):
        render_merge_fields(template, {"title": "x", "totals.payroll": "1"}, tmp_path / "out" / "other.docx")
    assert not (tmp_path / "out" / "other.docx").exists()
