"""The staff report and the merge fields of letters about an employee, on a real SQLite file
and a real PostgreSQL: HR gets the sensitive fields (and reading a medical reason is
audited with their name); a manager gets their own team and, searching every byte of every
part of the .docx, none of the sensitive values. The template runs in a sandbox, and text
from the database is printed as typed."""

from __future__ import annotations

import subprocess
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa
from jinja2.sandbox import SecurityError

from engine.config import Settings
from engine.db.audit import AuditEntry
from engine.db.session import Database
from engine.errors import PermissionDenied
from engine.office.docx import ReportTemplateError, convert, render_docx, templates_dir
from engine.reports.make_templates import write_templates
from engine.security.policies import FieldPolicy, Policies, use_policies
from engine.staff.reports import employee_fields, staff_report_context
from tests.integration.staff_report_support import (
    ALEX,
    HANA,
    HOSTILE_DEPARTMENT,
    HOSTILE_TITLE,
    MEDICAL,
    MEG,
    MO,
    SENSITIVE,
    YEAR,
    build_staff,
    document_text,
    every_part,
)

TEMPLATE = templates_dir() / "reports" / "staff.docx"


@pytest.fixture
def staff(db):
    return build_staff(db)


def report_for(db: Database, actor, target: Path, template: Path = TEMPLATE) -> dict:
    with db.unit_of_work(actor) as session:
        context = staff_report_context(session, actor, YEAR, today=date(YEAR, 11, 30))
        render_docx(template, context, target)
    return context


def audit_reads(db: Database) -> list[tuple[str, str, int, dict]]:
    with db.reading() as session:
        return [(e.actor, e.table_name, e.record_id, e.changes) for e in session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "read").order_by(AuditEntry.id))]


def test_hrs_report_holds_salaries_and_medical_reasons_and_audits_reading_them(db, staff, tmp_path):
    context = report_for(db, HANA, tmp_path / "hr.docx")
    shown = document_text(tmp_path / "hr.docx")
    assert "48,250.50 EUR" in shown and "61,000.00 EUR" in shown and "1971-07-19" in shown
    assert MEDICAL in shown and "Sick leave and medical reasons" in shown
    assert "Staff report 2026" in shown and "made on 2026-11-30 for hana" in shown
    assert [d["name"] for d in context["departments"]] == [HOSTILE_DEPARTMENT, "Sales"]
    sales = context["departments"][1]
    assert (sales["manager"], sales["headcount"]) == ("Mo Tester", 3)
    assert {"employee": "Ann Tester", "leave_type": "Annual leave", "taken": "0", "requested": "5",
            "left": "15"} in sales["leave"]
    assert audit_reads(db) == [("hana", "leave_requests", staff["sick"], {"fields_read": ["medical_reason"]})]


def test_a_managers_report_covers_their_team_and_no_part_of_the_file_holds_a_sensitive_value(db, staff, tmp_path):
    context = report_for(db, MO, tmp_path / "mo.docx")
    raw, shown = every_part(tmp_path / "mo.docx"), document_text(tmp_path / "mo.docx")
    assert "Lee Tester" in shown and "Ann Tester" in shown and "the team of Mo Tester" in shown
    assert "Meg" not in shown and "R&D" not in shown and "61,000" not in shown     # not mo's team
    assert [d["name"] for d in context["departments"]] == ["Sales"]
    assert context["departments"][0]["headcount"] == 2                               # lee and ann
    found = [value for value in SENSITIVE if value.encode() in raw or value in str(context)]
    assert not found, f"the manager's report holds {found}"
    assert "sick_leave" not in context and context["extra_columns"] == []
    assert audit_reads(db) == []                      # nothing audited was handed over


def test_merge_fields_for_a_letter_leave_out_what_the_sender_may_not_see(db, staff):
    private = {"date_of_birth", "national_id", "bank_account", "salary"}
    with db.unit_of_work(MO) as session:
        by_manager = employee_fields(session, MO, staff["ann"], on=date(YEAR, 6, 1))
    with db.unit_of_work(HANA) as session:
        by_hr = employee_fields(session, HANA, staff["ann"], on=date(YEAR, 6, 1))
    assert not private & by_manager.keys()
    assert not [v for v in SENSITIVE if v in str(by_manager)]
    assert by_manager == {k: v for k, v in by_hr.items() if k not in private}
    assert (by_manager["name"], by_manager["manager"], by_manager["department"]) == ("Ann Tester", "Lee Tester", "Sales")
    assert (by_manager["work_email"], by_manager["start_date"]) == ("ann@firm.example", "2025-01-06")
    assert {k: by_hr[k] for k in private} == {"date_of_birth": "1971-07-19", "national_id": "QQ123456C",
                                              "bank_account": "GB29NWBK60161331926819", "salary": "48,250.50 EUR"}
    with pytest.raises(PermissionDenied, match="own team"):        # meg is not ann's manager
        with db.unit_of_work(MEG) as session:
            employee_fields(session, MEG, staff["ann"])
    with pytest.raises(PermissionDenied, match="may not read team"):
        with db.unit_of_work(ALEX) as session:
            staff_report_context(session, ALEX, YEAR)


def test_an_audited_merge_field_handed_over_writes_a_read_row(db, staff):
    """Were salaries read under audit, a letter's merge fields would say who got one."""
    audited = Policies({**_policies().by_table, "contracts": {"salary": FieldPolicy("hr", audit_reads=True)}})
    with use_policies(audited):                     # injected in one place, seen by every door
        with db.unit_of_work(HANA) as session:
            assert employee_fields(session, HANA, staff["ann"])["salary"] == "48,250.50 EUR"
        with db.unit_of_work(MO) as session:
            assert "salary" not in employee_fields(session, MO, staff["ann"])
    [(reader, table, _contract, changes)] = audit_reads(db)
    assert (reader, table, changes) == ("hana", "contracts", {"fields_read": ["salary"]})


def _policies():
    from engine.security.policies import load_policies

    return load_policies()


def test_text_from_the_database_is_printed_as_typed(db, staff, tmp_path):
    report_for(db, HANA, tmp_path / "hr.docx")
    shown = document_text(tmp_path / "hr.docx")
    assert HOSTILE_DEPARTMENT in shown and HOSTILE_TITLE in shown       # not bold, not "49 yes"
    with zipfile.ZipFile(tmp_path / "hr.docx") as package:
        body = package.read("word/document.xml").decode()
    assert "R&amp;D &lt;b&gt;&amp; Co" in body and "<b>" not in body


def _template_saying(text: str, path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph(text)
    document.save(path)
    return path


@pytest.mark.parametrize("tag", ["{{ ''.__class__.__mro__ }}", "{{ title.__class__.__base__.__subclasses__() }}",
                                 "{{ departments.append(1) }}", "{{ cycler.__init__.__globals__ }}"])
def test_a_template_reaching_for_python_internals_is_stopped_by_the_sandbox(tag, tmp_path):
    template = _template_saying(f"Report {tag}", tmp_path / "evil.docx")
    with pytest.raises(ReportTemplateError, match="unsafe") as refused:
        render_docx(template, {"title": "x", "departments": []}, tmp_path / "out.docx")
    assert isinstance(refused.value.__cause__, SecurityError)
    assert not list(tmp_path.glob("*out*"))                              # no half-written report


def test_control_characters_in_data_cannot_break_the_file(tmp_path):
    template = _template_saying("{{ name }}", tmp_path / "t.docx")
    render_docx(template, {"name": "Ann\x00\x0c\x07Lee"}, tmp_path / "out.docx")
    assert document_text(tmp_path / "out.docx").startswith("Ann   Lee")


def test_the_committed_templates_are_what_make_templates_writes(tmp_path):
    written = write_templates(tmp_path)
    assert {p.name for p in written} >= {"staff.docx", "pack.docx", "standard.docx"}
    for fresh in written:
        with zipfile.ZipFile(TEMPLATE.parent / fresh.name) as committed, zipfile.ZipFile(fresh) as made:
            assert committed.namelist() == made.namelist()
            drifted = [n for n in made.namelist() if committed.read(n) != made.read(n)]
        assert not drifted, f"templates/reports/{fresh.name} has drifted ({drifted}): run `backoffice report templates`"


@pytest.mark.libreoffice
def test_libreoffice_opens_the_report_and_reads_its_values(tmp_path):
    """LibreOffice reads files, not databases: one SQLite run is enough here."""
    from tests.libreoffice import soffice

    soffice()   # fails clearly when LibreOffice is missing
    database = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'lo.db'}"), create=True)
    try:
        build_staff(database)
        report_for(database, HANA, tmp_path / "hr.docx")
    finally:
        database.dispose()
    pdf = convert(tmp_path / "hr.docx", "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(printed.split())          # a long value wraps inside its cell
    for value in ("Staff report 2026", "Ann Tester", "48,250.50 EUR", MEDICAL, "R&D <b>& Co"):
        assert value in text, f"{value!r} not in what LibreOffice printed"
