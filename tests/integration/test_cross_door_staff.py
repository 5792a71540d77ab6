"""Staff's bad inputs through every door (the service, the CLI, the Staff or Team workbook):
the same field and code at each, nothing saved.

The staff: Sales, where hana (HR) works too, mo heads it, lee reports to mo and ann to lee.
Annual leave is 20 days a year held to a balance; ann has asked for 10 of them in March,
lee for two days in April, hana for two days in April. cleo is a staff clerk: she keeps
staff records but her role sees no sensitive class (salaries are `hr`).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal as D

import pytest

from engine.security.models import User
from engine.security.roles import SYSTEM, Role
from engine.security.users import add_user
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from engine.staff.models import LeaveType
from engine.staff.services import (
    Hire,
    add_contract,
    add_department,
    decide_leave,
    hire,
    record_last_day,
    request_leave,
)
from tests.integration.conftest import edit_by_label, read_sheet
from tests.integration.doors import Api, Case, Sheet, actor, assert_same_at_every_door, fingerprint

STAFF_CLERK = Role("clerk", "keeps staff records, sees nothing sensitive",
                   read=frozenset({"staff", "contacts"}), write=frozenset({"staff", "contacts"}), sees=frozenset())
IDS: dict[str, int] = {}          # filled by the fixture: the cases are built before it runs

ANN_MARCH = (date(2026, 3, 2), date(2026, 3, 13))       # 10 working days, requested
LEE_APRIL = (date(2026, 4, 6), date(2026, 4, 7))
HANA_APRIL = (date(2026, 4, 13), date(2026, 4, 14))


@pytest.fixture
def staff_db(db, monkeypatch):
    """The staff above, with users for the CLI and the workbooks."""
    from engine.security import tokens, users

    roles = users.load_roles()
    for module in (users, tokens):    # the CLI's and the workbook's actor, and the API token's
        monkeypatch.setattr(module, "load_roles", lambda: {**roles, "clerk": STAFF_CLERK})
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("hana", "hr"), ("mo", "manager"), ("lee", "manager")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
        session.add(User(login="cleo", name="Cleo", roles="clerk", updated_by="system"))
    hana = actor(db, "hana")
    with db.unit_of_work(hana) as session:
        sales = add_department(session, hana, "SAL", "Sales")
        session.add_all([LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                                   updated_by="hana"),
                         LeaveType(code="sick", name="Sick leave", updated_by="hana")])
        session.flush()

        def person(number, first, boss=None, login=None):
            employee = hire(session, hana, Hire(first, "Test", "GB", number, sales.id, date(2025, 1, 6),
                                                manager_id=boss, login=login))
            add_contract(session, hana, employee.id, "permanent", D(40), D(36000), "EUR", date(2025, 1, 6))
            return employee.id

        IDS.update(sales=sales.id, hana=person("E0", "Hana", login="hana"), mo=person("E1", "Mo", login="mo"))
        IDS["lee"] = person("E2", "Lee", IDS["mo"], login="lee")
        IDS["ann"] = person("E3", "Ann", IDS["lee"])
        IDS["annual"] = session.query(LeaveType).filter_by(code="annual").one().id
        IDS["ann march"] = request_leave(session, hana, IDS["ann"], "annual", *ANN_MARCH).id
        IDS["lee april"] = request_leave(session, hana, IDS["lee"], "annual", *LEE_APRIL).id
        IDS["hana april"] = request_leave(session, hana, IDS["hana"], "annual", *HANA_APRIL).id
        IDS["ann sick"] = request_leave(session, hana, IDS["ann"], "sick", date(2026, 5, 11), date(2026, 5, 11)).id
    with db.unit_of_work(actor(db, "lee")) as session:
        decide_leave(session, actor(db, "lee"), IDS["ann sick"], approve=True)
    return db


# -- the inputs, as each door takes them ---------------------------------------------------------

def _contract(session, who, **values):
    given = {"kind": "fixed-term", "weekly_hours": D(40), "salary": D(30000), "currency": "EUR",
             "starts_on": date(2026, 3, 1), "ends_on": date(2026, 8, 31), **values}
    return add_contract(session, who, IDS["ann"], **given)


CONTRACT_CLI = ("staff", "contract", "E3", "--kind", "fixed-term", "--hours", "40", "--salary", "30000")


def _contract_row(**values) -> Sheet:
    typed = {"Employee": "E3 Ann Test", "Kind": "fixed-term", "Weekly hours": 40, "Salary (a year)": 30000,
             "Currency": "EUR", "Starts": date(2026, 3, 1), "Ends": date(2026, 8, 31), **values}
    return Sheet("staff", "Contracts", typed)


def _contract_api(**values) -> Api:
    body = {"kind": "fixed-term", "weekly_hours": "40", "salary": "30000", "currency": "EUR",
            "starts_on": "2026-03-01", "ends_on": "2026-08-31", **values}
    return Api("POST", "/staff/employees/E3/contracts", body)


def _hire(session, who, **values):
    given = {"first_name": "Zoe", "last_name": "Newton", "country": "GB", "employee_number": "E9",
             "department_id": IDS["sales"], "start_date": date(2026, 2, 2), **values}
    return hire(session, who, Hire(**given))


HIRE_CLI = ("staff", "hire", "--first-name", "Zoe", "--last-name", "Newton", "--country", "GB", "--number", "E9",
            "--department", "SAL", "--start", "2026-02-02")


def _hire_row(**values) -> Sheet:
    typed = {"Number": "E9", "First name": "Zoe", "Last name": "Newton", "Country": "GB", "Department": "SAL",
             "Start": date(2026, 2, 2), **values}
    return Sheet("staff", "Employees", typed)


def _hire_api(**values) -> Api:
    return Api("POST", "/staff/employees", {"first_name": "Zoe", "last_name": "Newton", "country": "GB",
                                            "employee_number": "E9", "department": "SAL",
                                            "start_date": "2026-02-02", **values})


def _request(session, who, starts_on, ends_on, kind="annual"):
    return request_leave(session, who, IDS["ann"], kind, starts_on, ends_on)


def _leave_cli(starts_on: date, ends_on: date, kind: str = "annual") -> tuple[str, ...]:
    return ("staff", "leave", "request", "E3", "--type", kind, "--from", str(starts_on), "--to", str(ends_on))


def _leave_row(starts_on: date, ends_on: date) -> Sheet:
    return Sheet("team", "Leave", {"Employee": "E3 Ann Test", "Type": "annual Annual leave", "From": starts_on,
                                   "To": ends_on})


def _leave_api(starts_on: date, ends_on: date, kind: str = "annual") -> Api:
    return Api("POST", "/staff/leave", {"employee": "E3", "leave_type": kind, "starts_on": str(starts_on),
                                        "ends_on": str(ends_on)})


def _decision_api(request: str, approve: bool = True) -> Api:
    """`POST /staff/leave/{id}/approve` (or reject); the id is filled in from the fixture's."""
    return Api("POST", f"/staff/leave/{{{request}}}/{'approve' if approve else 'reject'}")


def _decide(request: str, approve: bool = True):
    def call(session, who):
        return decide_leave(session, who, IDS[request], approve)
    return call


CASES = [
    Case("a contract ending before it starts", "hana", ("ends_on", "end_before_start"),
         service=lambda s, a: _contract(s, a, ends_on=date(2026, 2, 1)),
         cli=(*CONTRACT_CLI, "--currency", "EUR", "--from", "2026-03-01", "--to", "2026-02-01"),
         workbook=_contract_row(Ends=date(2026, 2, 1)),
         api=_contract_api(ends_on="2026-02-01")),
    Case("a currency that is not an ISO 4217 code", "hana", ("currency", "unknown_currency"),
         service=lambda s, a: _contract(s, a, currency="XYZ"),
         cli=(*CONTRACT_CLI, "--currency", "XYZ", "--from", "2026-03-01"),
         workbook=_contract_row(Currency="XYZ"),
         api=_contract_api(currency="XYZ")),
    Case("a malformed work e-mail on a hire", "hana", ("work_email", "invalid"),
         service=lambda s, a: _hire(s, a, work_email="zoe@@example.com"),
         cli=(*HIRE_CLI, "--work-email", "zoe@@example.com"),
         workbook=_hire_row(**{"Work e-mail": "zoe@@example.com"}),
         api=_hire_api(work_email="zoe@@example.com")),
    Case("a login that belongs to another employee", "hana", ("login", "duplicate"),
         service=lambda s, a: _hire(s, a, login="mo"),
         cli=(*HIRE_CLI, "--login", "mo"),
         workbook=_hire_row(Login="mo"),
         api=_hire_api(login="mo")),
    Case("an employee number that is taken", "hana", ("employee_number", "duplicate"),
         service=lambda s, a: _hire(s, a, employee_number="E3"),
         cli=tuple("E3" if arg == "E9" else arg for arg in HIRE_CLI),
         workbook=_hire_row(Number="E3"),
         api=_hire_api(employee_number="E3")),
    # No API route records a leaver (`staff leaver`): PATCH /staff/employees/{number} takes no
    # last day, so this case has no API column.
    Case("a last day before the first", "hana", ("end_date", "end_before_start"),
         service=lambda s, a: record_last_day(s, a, IDS["ann"], date(2024, 12, 31)),
         cli=("staff", "leaver", "E3", "--last-day", "2024-12-31"),
         workbook=Sheet("staff", "Employees", {"End": date(2024, 12, 31)}, find=("Number", "E3"))),
    Case("leave beyond the days left", "mo", ("ends_on", "over_balance"),
         service=lambda s, a: _request(s, a, date(2026, 6, 1), date(2026, 6, 15)),     # 11 days, 10 left
         cli=_leave_cli(date(2026, 6, 1), date(2026, 6, 15)),
         workbook=_leave_row(date(2026, 6, 1), date(2026, 6, 15)),
         api=_leave_api(date(2026, 6, 1), date(2026, 6, 15))),
    Case("leave overlapping another request", "mo", ("starts_on", "overlap"),
         service=lambda s, a: _request(s, a, date(2026, 3, 13), date(2026, 3, 16), kind="sick"),
         cli=_leave_cli(date(2026, 3, 13), date(2026, 3, 16), kind="sick"),
         workbook=_leave_row(date(2026, 3, 13), date(2026, 3, 16)),
         api=_leave_api(date(2026, 3, 13), date(2026, 3, 16), kind="sick")),
    Case("leave ending before it starts", "mo", ("ends_on", "end_before_start"),
         service=lambda s, a: _request(s, a, date(2026, 5, 8), date(2026, 5, 4)),
         cli=_leave_cli(date(2026, 5, 8), date(2026, 5, 4)),
         workbook=_leave_row(date(2026, 5, 8), date(2026, 5, 4)),
         api=_leave_api(date(2026, 5, 8), date(2026, 5, 4))),
    Case("leave running into the next year", "mo", ("ends_on", "across_year"),
         service=lambda s, a: _request(s, a, date(2026, 12, 28), date(2027, 1, 4)),
         cli=_leave_cli(date(2026, 12, 28), date(2027, 1, 4)),
         workbook=_leave_row(date(2026, 12, 28), date(2027, 1, 4)),
         api=_leave_api(date(2026, 12, 28), date(2027, 1, 4))),
    # A manager's Team workbook holds their reports' requests, never their own: a manager's
    # own request cannot be decided there (the HR officer's case below goes through every door).
    Case("a manager deciding their own leave", "lee", ("status", "own_request"),
         service=_decide("lee april"), cli=("staff", "leave", "approve", "#lee april"),
         api=_decision_api("lee april"),
         doors=("service", "cli")),
    Case("an HR officer deciding their own leave", "hana", ("status", "own_request"),
         service=_decide("hana april"), cli=("staff", "leave", "approve", "#hana april"),
         workbook=Sheet("staff", "Leave", {"Status": "approved"}, find=("ID", "#hana april")),
         api=_decision_api("hana april")),
    Case("a decision taken back", "lee", ("status", "decided"),
         service=_decide("ann sick", approve=False), cli=("staff", "leave", "reject", "#ann sick"),
         workbook=Sheet("team", "Leave", {"Status": "rejected"}, find=("ID", "#ann sick")),
         api=_decision_api("ann sick", approve=False)),
    # Limits (engine/limits.py): what the column or a cell cannot hold is refused, never cut.
    Case("a job title longer than its column", "hana", ("job_title", "too_long"),
         service=lambda s, a: _hire(s, a, job_title="J" * 101),
         cli=(*HIRE_CLI, "--job-title", "J" * 101),
         workbook=_hire_row(**{"Job title": "J" * 101}),
         api=_hire_api(job_title="J" * 101)),
    Case("a tab in a first name", "hana", ("first_name", "control_character"),
         service=lambda s, a: _hire(s, a, first_name="Zo\te"),
         cli=tuple("Zo\te" if arg == "Zoe" else arg for arg in HIRE_CLI),
         workbook=_hire_row(**{"First name": "Zo\te"}),
         api=_hire_api(first_name="Zo\te")),
    Case("a salary no cell holds exactly", "hana", ("salary", "out_of_range"),
         service=lambda s, a: _contract(s, a, salary=D(500_000_000_000)),
         cli=("staff", "contract", "E3", "--kind", "fixed-term", "--hours", "40", "--salary", "500000000000",
              "--currency", "EUR", "--from", "2026-03-01"),
         workbook=_contract_row(**{"Salary (a year)": 500_000_000_000}),
         api=_contract_api(salary="500000000000")),
    Case("a contract ending in the year 2300", "hana", ("ends_on", "date_out_of_range"),
         service=lambda s, a: _contract(s, a, ends_on=date(2300, 1, 1)),
         cli=(*CONTRACT_CLI, "--currency", "EUR", "--from", "2026-03-01", "--to", "2300-01-01"),
         workbook=_contract_row(Ends=date(2300, 1, 1)),
         api=_contract_api(ends_on="2300-01-01")),
    # cleo's own Staff workbook has no salary column (her role may not see it); the workbook
    # door is HR's file synced by her: test_a_salary_typed_by_a_clerk_in_hrs_workbook below.
    Case("a salary typed by a role that may not see salaries", "cleo", ("salary", "permission"),
         service=lambda s, a: _contract(s, a),
         cli=(*CONTRACT_CLI, "--currency", "EUR", "--from", "2026-03-01"),
         api=_contract_api(),
         doors=("service", "cli")),
]


def _with_ids(case: Case) -> Case:
    """The case with the records it names ("#ann", "#lee april"; "{lee april}" in an API path)
    as the fixture's ids."""
    def known(value):
        return IDS[value[1:]] if isinstance(value, str) and value.startswith("#") else value

    cli = tuple(str(known(a)) for a in case.cli) if case.cli else None
    api = dataclasses.replace(case.api, path=case.api.path.format_map(IDS)) if case.api else None
    sheet = case.workbook
    if sheet is not None:
        sheet = dataclasses.replace(sheet, values={k: known(v) for k, v in sheet.values.items()},
                                    find=(sheet.find[0], known(sheet.find[1])) if sheet.find else None)
    return dataclasses.replace(case, cli=cli, workbook=sheet, api=api)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_staff_input_is_refused_alike_at_every_door(case, staff_db, settings, tmp_path):
    assert_same_at_every_door(_with_ids(case), staff_db, settings, tmp_path)


def test_a_salary_typed_by_a_clerk_in_hrs_workbook(staff_db, settings, tmp_path):
    """The workbook door of the salary case: HR's Staff workbook, a contract typed in with a
    salary, synced by the clerk, is refused at the salary column, and nothing is saved."""
    path = tmp_path / "hr-staff.xlsx"
    new_workbook(staff_db, actor(staff_db, "hana"), "staff", path)
    row = len(read_sheet(path, "Contracts")) + 1
    edit_by_label(path, "Contracts", row, _with_ids(Case("", "", ("", ""), workbook=_contract_row())).workbook.values)
    before = fingerprint(staff_db)
    result = RoundTrip(staff_db, settings, actor(staff_db, "cleo")).sync(path)
    assert result.status == "rejected", result.as_json()
    keys = {c.label: c.key for c in workbook_spec("staff").sheet("Contracts").columns}
    assert ("salary", "permission") in {(keys.get(p.column, p.column or ""), p.code) for p in result.problems}
    assert fingerprint(staff_db) == before


# -- one policy, injected in one place, seen at every staff door ---------------------------------

def test_a_policy_injected_once_is_applied_at_every_staff_door(staff_db, settings, tmp_path):
    """Declare job titles `hr` data: a manager no longer gets ann's job title from the CLI,
    the queries, a letter's merge fields or their Team workbook; HR still gets it everywhere."""
    import json

    from typer.testing import CliRunner

    from engine.cli import app
    from engine.security.policies import FieldPolicy, Policies, active_policies, use_policies
    from engine.staff import queries
    from engine.staff.reports import employee_fields

    with staff_db.unit_of_work(actor(staff_db, "hana")) as session:
        from engine.staff.models import Employee

        session.get(Employee, IDS["ann"]).job_title = "Sales lead QJ4"
    shipped = active_policies()
    private_titles = Policies({**shipped.by_table,
                               "employees": {**shipped.by_table["employees"], "job_title": FieldPolicy("hr")}})
    url = staff_db.engine.url.render_as_string(hide_password=False)

    def what(login: str) -> dict[str, bool]:
        who = actor(staff_db, login)
        shown = CliRunner().invoke(app, ["--database-url", url, "staff", "show", "E3", "--json", "--user", login])
        assert shown.exit_code == 0, shown.output
        with staff_db.unit_of_work(who) as session:
            record = queries.employee_record(session, who, queries.find_employee(session, who, "E3"))
            fields = employee_fields(session, who, IDS["ann"])
        path = tmp_path / f"team-{login}-{len(list(tmp_path.glob('*.xlsx')))}.xlsx"   # a new file each time
        new_workbook(staff_db, who, "team", path)
        return {"cli": "job_title" in json.loads(shown.stdout)["employee"], "query": "job_title" in record,
                "merge fields": "job_title" in fields,
                "workbook": "Job title" in read_sheet(path, "Team")[0] and "QJ4" in str(read_sheet(path, "Team"))}

    assert what("mo") == dict.fromkeys(("cli", "query", "merge fields", "workbook"), True)
    with use_policies(private_titles):
        assert what("mo") == dict.fromkeys(("cli", "query", "merge fields", "workbook"), False)
        assert set(what("hana").values()) == {True}
