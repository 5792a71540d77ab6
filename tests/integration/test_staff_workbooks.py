"""The Staff and Team workbooks on SQLite and PostgreSQL, with field-level privacy.

HR's Staff workbook holds every record and every field; a manager's Team workbook holds their
own reports only (direct and indirect) and no sensitive field: not as a column, not in the
hidden lists or base snapshot, not anywhere in the file's XML. Leave typed as rows goes
through the staff services (overlap and balance refused at the row); a manager decides their
reports' requests by changing Status, and nobody else's. Handing a medical reason to HR is
audited; a sensitive field written by someone who may not see it is refused at its cell."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.db.audit import AuditEntry
from engine.security.policies import load_policies
from engine.security.roles import Role
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import Column, SheetSpec, workbook_spec
from engine.staff.models import Contract, Employee, LeaveRequest
from engine.staff.services import request_leave
from tests.integration.conftest import (
    column_letter,
    edit_by_label,
    find_row,
    problems_of,
    read_meta,
    read_sheet,
    rehearsed,
)
from tests.integration.staff_books import (  # noqa: F401  (the fixture)
    ANN_ANNUAL,
    HANA,
    LEE,
    MEDICAL,
    MEG,
    MO,
    SENSITIVE,
    YEAR,
    monday,
    staff,
    weekday,
)


def export(db, actor, module, path: Path) -> Path:
    new_workbook(db, actor, module, path)
    return path


def trip(db, settings, actor) -> RoundTrip:
    return RoundTrip(db, settings, actor)


def header(path, sheet):
    return read_sheet(path, sheet)[0]


def column(path, sheet, label):
    rows = read_sheet(path, sheet)
    index = rows[0].index(label)
    return [row[index] for row in rows[1:] if row[0] != ""]


def type_row(path, sheet, values) -> int:
    """Type a row into the first empty row of a sheet; its number."""
    row = len(read_sheet(path, sheet)) + 1
    edit_by_label(path, sheet, row, values)
    return row


def leave_row(path, request_id) -> int:
    return find_row(path, "Leave", "ID", request_id)


def status_of(db, request_id) -> str:
    with db.reading() as session:
        return session.get(LeaveRequest, request_id).status


def audit_reads(db) -> list[tuple[str, int, dict]]:
    with db.reading() as session:
        return [(e.actor, e.record_id, e.changes) for e in session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "read").order_by(AuditEntry.record_id))]


# -- what each role receives ---------------------------------------------------------------

def sensitive_texts() -> list[bytes]:
    """Every sensitive value in the forms a workbook could hold it: as typed, as a number
    (salaries), as an ISO date and as an Excel date serial (dates of birth)."""
    texts = []
    for private in SENSITIVE.values():
        texts += [str(private["salary"]), str(int(private["salary"])), private["national_id"],
                  private["bank_account"], private["date_of_birth"].isoformat(),
                  str((private["date_of_birth"] - date(1899, 12, 30)).days)]
    texts += MEDICAL.values()
    return [t.encode() for t in texts]


def everything_in(path: Path, db) -> bytes:
    """Every byte the file holds, unzipped part by part, and the base snapshot decoded (it
    is stored compressed on the hidden _backoffice sheet)."""
    with zipfile.ZipFile(path) as package:
        raw = b"".join(package.read(name) for name in package.namelist())
    meta = read_meta(path, db)
    base = {name: {"columns": b.columns, "rows": b.rows} for name, b in meta.base.items()}
    return raw + json.dumps(base, default=str).encode()


def leaked(received: bytes) -> list[bytes]:
    return [text for text in sensitive_texts() if text in received]


def test_hr_gets_every_column_and_every_record(db, staff, tmp_path):  # noqa: F811
    path = export(db, HANA, "staff", tmp_path / "staff.xlsx")
    spec = workbook_spec("staff")
    for sheet in spec.sheets:
        assert header(path, sheet.name) == ["ID", "Version", *(c.label for c in sheet.columns)]
    assert column(path, "Employees", "Number") == ["E1", "E2", "E3", "E4", "E5"]
    assert column(path, "Employees", "First name")[:3] == ["Mo", "Lee", "Ann"]
    assert column(path, "Employees", "National ID")[2] == "QQ102938C"
    assert sorted(column(path, "Contracts", "Salary (a year)")) == sorted(float(p["salary"]) for p in SENSITIVE.values())
    assert sorted(column(path, "Leave", "Medical reason")) == sorted(["", *MEDICAL.values()])
    balances = read_sheet(path, "Balances")
    assert [row[0] for row in balances[1:]] == ["E1", "E1", "E2", "E2", "E3", "E3", "E4", "E4", "E5", "E5"]
    ann_annual = next(row for row in balances if row[0] == "E3" and row[2] == "Annual leave")
    assert ann_annual[3:] == [YEAR, 20.0, 0.0, 0.0, 10.0, 10.0]     # allowance, carried, taken, requested, left
    assert leaked(everything_in(path, db))     # (the search finds what is there: the checks below mean something)


def test_a_managers_team_workbook_holds_their_reports_only(db, staff, tmp_path):  # noqa: F811
    mo = export(db, MO, "team", tmp_path / "mo.xlsx")
    assert column(mo, "Team", "Number") == ["E2", "E3"]                       # direct and indirect
    assert column(mo, "Team", "Manager") == ["Mo Example", "Lee Example"]
    assert sorted(column(mo, "Leave", "ID")) == sorted([staff["ann annual"], staff["ann sick"]])
    assert [row[0] for row in read_sheet(mo, "Balances")[1:]] == ["E2", "E2", "E3", "E3"]
    lists = read_sheet(mo, "_lists")
    employees = lists[0].index("employees")
    assert [row[employees] for row in lists[1:] if row[employees] != ""] == ["E2 Lee Example", "E3 Ann Example"]

    lee = export(db, LEE, "team", tmp_path / "lee.xlsx")
    assert column(lee, "Team", "Number") == ["E3"]
    meg = export(db, MEG, "team", tmp_path / "meg.xlsx")                     # a manager elsewhere
    assert column(meg, "Team", "Number") == ["E5"]
    assert column(meg, "Leave", "ID") == [staff["ola sick"]]
    assert [row[0] for row in read_sheet(meg, "Balances")[1:]] == ["E5", "E5"]


def test_no_sensitive_value_is_anywhere_in_a_managers_workbook(db, staff, tmp_path):  # noqa: F811
    sensitive_labels = {"Salary (a year)", "National ID", "Bank account", "Date of birth", "Medical reason"}
    for manager in (MO, LEE, MEG):
        path = export(db, manager, "team", tmp_path / f"{manager.login}.xlsx")
        for sheet in ("Team", "Leave", "Balances"):
            assert not sensitive_labels & set(header(path, sheet))
        assert leaked(everything_in(path, db)) == [], manager.login
    assert audit_reads(db) == []                      # nothing audited was handed to a manager


def test_exporting_medical_reasons_to_hr_is_audited_naming_the_reader(db, staff, tmp_path):  # noqa: F811
    export(db, HANA, "staff", tmp_path / "staff.xlsx")
    reads = audit_reads(db)
    assert reads == [("hana", staff["ann sick"], {"fields_read": ["medical_reason"]}),
                     ("hana", staff["ola sick"], {"fields_read": ["medical_reason"]})]


def test_a_refresh_that_hands_hr_a_new_medical_reason_is_audited(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, HANA, "staff", tmp_path / "staff.xlsx")
    with db.unit_of_work(HANA) as session:
        new = request_leave(session, HANA, staff["lee"], "sick", weekday(6, 1), weekday(6, 1),
                            medical_reason="hay fever KL2").id
    trip(db, settings, HANA).refresh(path)
    assert "hay fever KL2" in column(path, "Leave", "Medical reason")
    assert [r for r in audit_reads(db) if r[1] == new] == [("hana", new, {"fields_read": ["medical_reason"]})]
    assert len(audit_reads(db)) == 3                   # the two exported before are not read again


def test_a_report_who_moves_to_another_team_leaves_the_managers_workbook_on_refresh(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, MO, "team", tmp_path / "mo.xlsx")
    with db.unit_of_work(HANA) as session:
        session.get(Employee, staff["ann"]).manager_id = staff["meg"]
    trip(db, settings, MO).refresh(path)
    assert column(path, "Team", "Number") == ["E2"]
    assert column(path, "Leave", "ID") == []
    assert not any(cell in ("Ann Example", "Ann", "E3", staff["ann"]) for sheet in ("Team", "Leave", "Balances")
                   for row in read_sheet(path, sheet)[1:] for cell in row)
    base = read_meta(path, db).base
    assert set(base["Team"].rows) == {staff["lee"]} and base["Leave"].rows == {}
    assert trip(db, settings, MO).sync(path).status == "unchanged"


# -- deciding and requesting leave in the Team workbook -------------------------------------

def test_a_manager_approves_their_reports_request_by_changing_its_status(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, MO, "team", tmp_path / "mo.xlsx")
    row = leave_row(path, staff["ann annual"])
    edit_by_label(path, "Leave", row, {"Status": "approved"})
    result = trip(db, settings, MO).sync(path)
    assert (result.status, result.updated) == ("applied", 1), result.as_json()
    with db.reading() as session:
        request = session.get(LeaveRequest, staff["ann annual"])
        audited = session.scalars(sa.select(AuditEntry).where(
            AuditEntry.table_name == "leave_requests", AuditEntry.action == "update")).one()
    assert (request.status, request.approver_id) == ("approved", staff["mo"])
    assert (audited.actor, audited.source, audited.sheet, audited.row_number) == ("mo", "workbook", "Leave", row)
    assert read_sheet(path, "Leave")[row - 1][header(path, "Leave").index("Decided by")] == "Mo Example"
    balances = read_sheet(path, "Balances")
    assert next(r for r in balances if r[0] == "E3" and r[2] == "Annual leave")[6:] == [10.0, 0.0, 10.0]
    assert trip(db, settings, MO).sync(path).status == "unchanged"


def test_approving_a_request_of_someone_elses_team_is_refused(db, settings, staff, tmp_path):  # noqa: F811
    hr_copy = export(db, HANA, "team", tmp_path / "hr-team.xlsx")      # HR's Team workbook: everyone
    row = leave_row(hr_copy, staff["ann annual"])
    edit_by_label(hr_copy, "Leave", row, {"Status": "approved"})
    result = trip(db, settings, MEG).sync(hr_copy)                       # meg does not manage ann
    assert result.status == "rejected"
    [problem] = result.problems
    assert (problem.code, problem.cell) == ("permission", f"{column_letter(hr_copy, 'Leave', 'Status')}{row}")
    assert "outside the records you may see" in problem.message
    assert status_of(db, staff["ann annual"]) == "requested"


def test_a_decision_is_final_and_a_refused_row_stops_the_whole_sync(db, settings, staff, tmp_path):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        ola_annual = request_leave(session, HANA, staff["ola"], "annual", weekday(7, 6), weekday(7, 6)).id
        ola_later = request_leave(session, HANA, staff["ola"], "annual", weekday(7, 20), weekday(7, 20)).id
    path = export(db, MEG, "team", tmp_path / "meg.xlsx")
    edit_by_label(path, "Leave", leave_row(path, staff["ola sick"]), {"Status": "rejected"})
    row = leave_row(path, ola_annual)
    edit_by_label(path, "Leave", row, {"Status": "approved"})
    assert trip(db, settings, MEG).sync(path).status == "applied"
    assert (status_of(db, staff["ola sick"]), status_of(db, ola_annual)) == ("rejected", "approved")

    edit_by_label(path, "Leave", row, {"Status": "requested"})                       # taken back: refused
    edit_by_label(path, "Leave", leave_row(path, ola_later), {"Status": "approved"})  # fine on its own
    result = trip(db, settings, MEG).sync(path)
    assert result.status == "rejected"
    [problem] = result.problems
    assert problem.cell == f"{column_letter(path, 'Leave', 'Status')}{row}" and "a decision is final" in problem.message
    assert (status_of(db, ola_annual), status_of(db, ola_later)) == ("approved", "requested")


def test_overlapping_leave_and_leave_beyond_the_balance_are_refused_at_their_cells(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, MO, "team", tmp_path / "mo.xlsx")
    annual = {"Employee": "E3 Ann Example", "Type": "annual Annual leave"}
    overlapping = type_row(path, "Leave", {**annual, "From": ANN_ANNUAL[1], "To": ANN_ANNUAL[1] + timedelta(days=3)})
    too_long = type_row(path, "Leave", {**annual, "From": monday(8, 3), "To": monday(8, 3) + timedelta(days=14)})
    type_row(path, "Leave", {"Employee": "E2", "Type": "annual", "From": weekday(9, 7),
                             "To": weekday(9, 7), "Reason": "moving house"})    # fine, but not saved alone
    before = _count(db)
    told = rehearsed(trip(db, settings, MO), path)     # validate tells the truth
    assert _count(db) == before
    result = trip(db, settings, MO).sync(path)
    assert result.status == "rejected", result.as_json()
    assert problems_of(result) == told
    at = {p.cell: p.message for p in result.problems}
    assert set(at) == {f"{column_letter(path, 'Leave', 'From')}{overlapping}",
                       f"{column_letter(path, 'Leave', 'To')}{too_long}"}
    assert f"overlaps leave request {staff['ann annual']}" in at[f"{column_letter(path, 'Leave', 'From')}{overlapping}"]
    assert f"11 days of annual leave asked for, 10 left in {YEAR}" in at[f"{column_letter(path, 'Leave', 'To')}{too_long}"]
    assert "ask for fewer days" in at[f"{column_letter(path, 'Leave', 'To')}{too_long}"]
    assert _count(db) == before                        # lee's request is not saved either
    assert "overlaps leave request" in str(read_sheet(path, "Issues"))


def test_a_manager_enters_leave_for_a_report_and_nobody_else(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, LEE, "team", tmp_path / "lee.xlsx")
    mine = type_row(path, "Leave", {"Employee": "E3 Ann Example", "Type": "annual Annual leave", "From": weekday(10, 5),
                                    "To": weekday(10, 5), "Status": "approved"})
    assert trip(db, settings, LEE).sync(path).status == "applied"
    request_id = int(read_sheet(path, "Leave")[mine - 1][0])
    with db.reading() as session:
        request = session.get(LeaveRequest, request_id)
    assert (request.employee_id, request.status, request.approver_id) == (staff["ann"], "approved", staff["lee"])

    not_mine = type_row(path, "Leave", {"Employee": "E5 Ola Example", "Type": "annual Annual leave",
                                        "From": weekday(10, 12), "To": weekday(10, 12)})
    checked = trip(db, settings, LEE).validate(path)   # ola is not in lee's team: not among the choices
    assert [(p.code, p.cell) for p in checked.problems] == [
        ("reference", f"{column_letter(path, 'Leave', 'Employee')}{not_mine}")]
    edit_by_label(path, "Leave", not_mine, {"Employee": f"#{staff['ola']}"})    # nor by ID
    checked = trip(db, settings, LEE).validate(path)
    assert [(p.code, p.cell) for p in checked.problems] == [
        ("reference", f"{column_letter(path, 'Leave', 'Employee')}{not_mine}")]


def test_a_team_workbook_in_chunks_tells_a_report_outside_the_team_at_its_cell(db, settings, staff, tmp_path):  # noqa: F811
    """With its Team sheet read in chunks (two rows a chunk), the Leave sheet, read whole,
    is saved on the chunked path: a row whose Employee names nobody the manager may choose
    is a problem at its cell, not a row posted without an employee (it raised KeyError)."""
    chunked = replace(settings, workbook=replace(settings.workbook, chunk_rows=2))
    path = export(db, LEE, "team", tmp_path / "lee.xlsx")
    not_mine = type_row(path, "Leave", {"Employee": "E5 Ola Example", "Type": "annual Annual leave",
                                        "From": weekday(10, 12), "To": weekday(10, 12)})
    cell = f"{column_letter(path, 'Leave', 'Employee')}{not_mine}"

    def requests() -> int:
        with db.reading() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(LeaveRequest))

    before = requests()
    for result in (trip(db, chunked, LEE).validate(path), trip(db, chunked, LEE).sync(path)):
        assert [(p.code, p.cell) for p in result.problems] == [("reference", cell)], result.as_json()
    assert requests() == before


# -- field-level privacy at the sync door ------------------------------------------------------

def test_a_manager_syncing_hrs_staff_workbook_with_a_salary_edit_is_refused_at_the_cell(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, HANA, "staff", tmp_path / "hr-staff.xlsx")
    row = find_row(path, "Contracts", "Employee", "E3 Ann Example")
    edit_by_label(path, "Contracts", row, {"Salary (a year)": 99999})
    result = trip(db, settings, MO).sync(path)
    assert result.status == "rejected"
    salary = column_letter(path, "Contracts", "Salary (a year)")
    edits = [p for p in result.problems if p.cell == f"{salary}{row}"]
    assert [p.code for p in edits] == ["read-only"] and "you may not change Salary" in edits[0].message
    assert f"{salary}1" in {p.cell for p in result.problems if p.code == "permission"}   # not theirs to hold
    with db.reading() as session:
        assert session.scalars(sa.select(Contract.salary).where(Contract.employee_id == staff["ann"])).one() == \
            SENSITIVE["ann"]["salary"]
    assert not leaked(json.dumps(result.as_json()).encode())   # the answer tells them nothing


STAFF_CLERK = Role("staff clerk", "keeps staff records, sees nothing sensitive",
                   read=frozenset({"staff", "contacts"}), write=frozenset({"staff", "contacts"}), sees=frozenset())


def test_a_role_that_does_not_see_a_field_never_gets_it_and_cannot_write_it(db, settings, staff, tmp_path):  # noqa: F811
    from engine.security.roles import Actor

    clerk = Actor("cleo", (STAFF_CLERK,))
    own = export(db, clerk, "staff", tmp_path / "clerk.xlsx")
    assert not {"Salary (a year)", "National ID", "Medical reason"} & {
        label for sheet in ("Employees", "Contracts", "Leave") for label in header(own, sheet)}
    assert leaked(everything_in(own, db)) == []
    edit_by_label(own, "Employees", find_row(own, "Employees", "Number", "E3"), {"Job title": "Team lead"})
    assert trip(db, settings, clerk).sync(own).status == "applied"
    assert leaked(everything_in(own, db)) == []           # nor after a sync's refresh

    hr_copy = export(db, HANA, "staff", tmp_path / "hr.xlsx")
    row = find_row(hr_copy, "Employees", "Number", "E3")
    edit_by_label(hr_copy, "Employees", row, {"National ID": "QQ000000Z", "Job title": "Lead"})
    result = trip(db, settings, clerk).sync(hr_copy)
    assert result.status == "rejected"
    national = column_letter(hr_copy, "Employees", "National ID")
    assert {(p.cell, p.code) for p in result.problems} >= {(f"{national}{row}", "read-only"), (f"{national}1", "permission")}
    with db.reading() as session:
        ann = session.get(Employee, staff["ann"])
    assert (ann.national_id, ann.job_title) == ("QQ102938C", "Team lead")   # nothing applied


def test_the_sheets_take_sensitivity_from_the_policy_file():
    policies = load_policies()
    staff = workbook_spec("staff")  # noqa: F811
    declared = {(s.model.__table__.name, c.key): c.sensitivity for s in staff.sheets for c in s.columns}
    for table, column_key in (("contracts", "salary"), ("employees", "national_id"), ("employees", "bank_account"),
                              ("employees", "date_of_birth"), ("leave_requests", "medical_reason")):
        assert declared[(table, column_key)] == policies.sensitivity(table, column_key) == "hr"
    with pytest.raises(ValueError, match="config/policies.toml says 'hr'"):
        SheetSpec("Contracts", Contract, "staff", (Column("salary", "Salary", sensitivity="finance"),))


# -- adding and changing employees in the Staff workbook ------------------------------------------

def test_hr_hires_and_renames_employees_in_the_staff_workbook(db, settings, staff, tmp_path):  # noqa: F811
    path = export(db, HANA, "staff", tmp_path / "staff.xlsx")
    new = type_row(path, "Employees", {"Number": "E6", "First name": "Zoe", "Last name": "Newton", "Country": "gb",
                                       "Department": "SAL Sales", "Manager": "e2",
                                       "Start": date(YEAR, 2, 2), "National ID": "QQ777777F"})
    edit_by_label(path, "Employees", find_row(path, "Employees", "Number", "E3"), {"Last name": "Married"})
    result = trip(db, settings, HANA).sync(path)
    assert (result.status, result.inserted, result.updated) == ("applied", 1, 1), result.as_json()
    employees = read_sheet(path, "Employees")
    assert employees[new - 1][header(path, "Employees").index("Manager")] == "E2 Lee Example"   # as its label
    with db.reading() as session:
        zoe = session.scalars(sa.select(Employee).where(Employee.employee_number == "E6")).one()
        assert (zoe.national_id, zoe.manager_id) == ("QQ777777F", staff["lee"])
    mo = export(db, MO, "team", tmp_path / "mo.xlsx")
    assert sorted(column(mo, "Team", "Last name")) == ["Example", "Married", "Newton"]
    assert trip(db, settings, HANA).sync(path).status == "unchanged"


def _count(db) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(LeaveRequest))
