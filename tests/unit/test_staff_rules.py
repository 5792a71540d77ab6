"""The staff module's rules, without a database: every problem with its field and code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from engine.staff import rules

CONTRACT = {"employee_id": 1, "kind": "permanent", "weekly_hours": D(40), "salary": D(36000), "currency": "EUR",
            "starts_on": date(2026, 1, 5), "ends_on": None}
HIRE = {"first_name": "Ann", "last_name": "Test", "country": "GB", "employee_number": "E1", "department_id": 1,
        "start_date": date(2026, 1, 5)}


def found(problems) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in problems}


# -- contracts ---------------------------------------------------------------------------------

def test_a_good_contract_has_no_problem():
    assert rules.check_contract(CONTRACT) == []
    assert rules.check_contract({**CONTRACT, "salary": None, "ends_on": date(2026, 1, 5)}) == []   # one day


def test_a_contract_ending_before_it_starts():
    assert found(rules.check_contract({**CONTRACT, "ends_on": date(2026, 1, 4)})) == {("ends_on", "end_before_start")}


def test_a_currency_must_be_an_iso_4217_code():
    for code in ("XYZ", "EURO", "E1R", "€"):
        assert found(rules.check_contract({**CONTRACT, "currency": code})) == {("currency", "unknown_currency")}, code
    for code in ("GBP", "CHF", "JPY"):
        assert rules.check_contract({**CONTRACT, "currency": code}) == []
    assert rules.normalise_contract({"currency": " gbp "})["currency"] == "GBP"
    assert found(rules.check_contract({**CONTRACT, "currency": ""})) == {("currency", "required")}


def test_hours_salary_and_kind_are_in_range():
    problems = rules.check_contract({**CONTRACT, "weekly_hours": D(169), "salary": D(-1), "kind": "zero-hours"})
    assert found(problems) == {("weekly_hours", "invalid"), ("salary", "invalid"), ("kind", "invalid")}
    assert found(rules.check_contract({**CONTRACT, "weekly_hours": D(0)})) == {("weekly_hours", "invalid")}
    assert rules.check_contract({**CONTRACT, "weekly_hours": D(168)}) == []


def test_every_problem_of_a_contract_is_reported_not_only_the_first():
    bad = {"kind": None, "weekly_hours": None, "currency": "ZZZ", "starts_on": date(2026, 2, 1),
           "ends_on": date(2026, 1, 1)}
    assert found(rules.check_contract(bad)) == {("kind", "required"), ("weekly_hours", "required"),
                                                ("currency", "unknown_currency"), ("ends_on", "end_before_start")}


# -- hiring --------------------------------------------------------------------------------------

def test_a_good_hire_has_no_problem():
    assert rules.check_employee({**HIRE, "work_email": "ann@example.com", "date_of_birth": date(1990, 4, 17)}) == []


def test_a_malformed_work_email_is_refused_as_contacts_refuse_it():
    for email in ("ann@@example.com", "ann example.com", "ann@", "@example.com", "ann..x@example.com"):
        assert found(rules.check_employee({**HIRE, "work_email": email})) == {("work_email", "invalid")}, email


def test_names_number_country_and_start_are_required():
    problems = rules.check_employee({"first_name": "Ann", "last_name": " ", "country": None})
    assert found(problems) == {("last_name", "required"), ("country", "required"), ("employee_number", "required"),
                               ("department_id", "required"), ("start_date", "required")}
    assert found(rules.check_employee({**HIRE, "country": "XX"})) == {("country", "invalid")}


def test_dates_of_an_employee_are_in_order():
    problems = rules.check_employee({**HIRE, "end_date": date(2025, 12, 31), "date_of_birth": date(2026, 1, 5)})
    assert found(problems) == {("end_date", "end_before_start"), ("date_of_birth", "invalid")}
    assert found(rules.check_last_day(date(2026, 1, 5), date(2026, 1, 4))) == {("end_date", "end_before_start")}
    assert rules.check_last_day(date(2026, 1, 5), date(2026, 1, 5)) == []


def test_nobody_is_their_own_manager_and_text_fits_its_column():
    assert found(rules.check_employee({**HIRE, "id": 7, "manager_id": 7})) == {("manager_id", "invalid")}
    problems = rules.check_employee({**HIRE, "login": "x" * 65, "employee_number": "E" * 17})
    assert found(problems) == {("login", "too_long"), ("employee_number", "too_long")}


def test_the_person_is_checked_only_where_it_is_part_of_the_record():
    record = {k: v for k, v in HIRE.items() if k not in ("last_name", "country")}
    assert rules.check_employee(record, person=False) == []


def test_an_employee_is_stored_tidied():
    tidy = rules.normalise_employee({"country": "gb", "work_email": " Ann@Example.COM ",
                                     "bank_account": "gb29 nwbk 6016 1331 9268 19"})
    assert tidy == {"country": "GB", "work_email": "ann@example.com", "bank_account": "GB29NWBK60161331926819"}


# -- leave types ---------------------------------------------------------------------------------

def test_leave_types():
    good = {"code": "annual", "name": "Annual leave", "yearly_allowance": D(25), "needs_balance": True,
            "carry_over_days": D(5)}
    assert rules.check_leave_type(good) == []
    assert found(rules.check_leave_type({**good, "yearly_allowance": D(367), "carry_over_days": D(-1)})) == {
        ("yearly_allowance", "invalid"), ("carry_over_days", "invalid")}
    assert found(rules.check_leave_type({**good, "needs_balance": False})) == {("carry_over_days", "invalid")}
    assert found(rules.check_leave_type({**good, "code": "", "name": None})) == {("code", "required"),
                                                                                ("name", "required")}
    assert rules.normalise_leave_type({"code": "x"}) == {"code": "x", "yearly_allowance": D(0),
                                                         "carry_over_days": D(0), "needs_balance": False}


# -- leave requests ------------------------------------------------------------------------------

MONDAY, FRIDAY = date(2026, 3, 2), date(2026, 3, 6)


def test_working_days_count_weekdays_and_half_days():
    assert rules.working_days(MONDAY, FRIDAY) == 5
    assert rules.working_days(MONDAY, date(2026, 3, 9)) == 6
    assert rules.working_days(MONDAY, FRIDAY, half_day_start=True, half_day_end=True) == 4
    assert rules.working_days(FRIDAY, FRIDAY, half_day_end=True) == D("0.5")
    assert rules.working_days(FRIDAY, FRIDAY, half_day_start=True, half_day_end=True) == D("0.5")
    assert rules.working_days(date(2026, 3, 7), date(2026, 3, 8)) == 0
    assert rules.working_days(FRIDAY, MONDAY) == 0
    assert rules.shown(D("15.0")) == "15" and rules.shown(D("2.50")) == "2.5"


def test_leave_ending_before_it_starts():
    assert found(rules.check_leave({"starts_on": FRIDAY, "ends_on": MONDAY})) == {("ends_on", "end_before_start")}


def test_leave_across_a_year_end_and_leave_without_a_working_day():
    assert found(rules.check_leave({"starts_on": date(2026, 12, 28), "ends_on": date(2027, 1, 4)})) == {
        ("ends_on", "across_year")}
    assert found(rules.check_leave({"starts_on": date(2026, 3, 7), "ends_on": date(2026, 3, 8)})) == {
        ("starts_on", "no_working_day")}
    assert rules.check_leave({"starts_on": FRIDAY, "ends_on": FRIDAY, "half_day_start": True}) == []
    assert found(rules.check_leave({"starts_on": MONDAY, "ends_on": FRIDAY, "reason": "r" * 401})) == {
        ("reason", "too_long")}
    assert found(rules.check_leave({"starts_on": None, "ends_on": FRIDAY})) == {("starts_on", "required")}


def test_leave_within_the_employment_and_the_balance():
    assert rules.check_employed(MONDAY, FRIDAY, date(2026, 1, 1), None) == []
    assert found(rules.check_employed(MONDAY, FRIDAY, date(2026, 3, 3), None)) == {("starts_on", "not_employed")}
    assert found(rules.check_employed(MONDAY, FRIDAY, date(2026, 1, 1), date(2026, 3, 5))) == {
        ("starts_on", "not_employed")}
    assert rules.check_balance(D(10), D(10), "Annual leave", 2026) == []
    [over] = rules.check_balance(D("10.5"), D(10), "Annual leave", 2026)
    assert (over.field, over.code) == ("ends_on", "over_balance")
    assert over.message.startswith("10.5 days of annual leave asked for, 10 left in 2026")


def test_departments():
    assert rules.check_department({"code": "SAL", "name": "Sales"}) == []
    assert found(rules.check_department({"code": "", "name": "N" * 101})) == {("code", "required"),
                                                                              ("name", "too_long")}
