"""`/staff`: departments, employees, contracts, leave and costs over HTTP.

Each route parses, calls the staff services or queries with the caller, and renders, as the
`backoffice staff` commands do. Who may see whom (HR everyone, a manager their own team) and
who may decide leave are the services' rules; which fields a caller receives is the policy
gate's, through the staff queries: a field the caller's role may not see (salary, national
id, bank account, date of birth, a medical reason) is absent from every answer, never blanked
here. Employees are named in URLs by their employee number, as on the command line
(`staff show E0042` is `GET /staff/employees/E0042`); departments and leave types by their
code. Bodies are typed loosely (text where the command line takes text, Decimal for hours and
money) so a value the rules refuse is refused by the rules, with the same problem codes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api.support import (
    CallerDep,
    Cursor,
    Day,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    IfMatch,
    JSONReply,
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    page,
    update,
    with_etag,
)
from engine.staff import queries, services

router = APIRouter(prefix="/staff", tags=["staff"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
Code = Annotated[Text, Field(max_length=64)]
Number = Annotated[Text, Field(max_length=64, description="An employee number, e.g. E0042.")]
NumberPath = Annotated[Text, Path(max_length=64, description="An employee number, e.g. E0042.")]
YearQuery = Annotated[int | None, Query(ge=1900, le=2999, description="The year (default: this year).")]


def _text(value: str | None) -> str | None:
    """Stripped text, None if empty (how long it may be is the service's rule)."""
    return value.strip() or None if value is not None else None


# -- departments -------------------------------------------------------------------------------

class DepartmentIn(BaseModel):
    code: Code
    name: Annotated[Text, Field(max_length=2000)]
    manager: Number | None = None


@router.get("/departments", summary="The departments, with their manager and headcount today")
def list_departments(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
                     limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.departments(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.post("/departments", status_code=201, summary="Add a department (HR)")
def add_department(request: Request, who: CallerDep, body: DepartmentIn, key: IdempotencyKey = None,
                   digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        boss = queries.find_employee(session, who.actor, body.manager, field="manager_id") if body.manager else None
        added = services.add_department(session, who.actor, body.code, body.name, boss.id if boss else None)
        return queries.department_record(session, who.actor, added)

    return create(request, who, key, digest, make)


# -- employees ---------------------------------------------------------------------------------

class EmployeeChange(BaseModel):
    """An employee's fields; in an update, only those sent are changed. `department` is a
    department code, `manager` an employee number."""

    first_name: Words = None
    last_name: Words = None
    country: Words = None
    employee_number: Words = None
    department: Words = None
    job_title: Words = None
    manager: Words = None
    work_email: Words = None
    login: Words = None
    date_of_birth: Day | None = None
    national_id: Words = None
    bank_account: Words = None


class EmployeeIn(EmployeeChange):
    first_name: Annotated[Text, Field(max_length=2000)]
    last_name: Annotated[Text, Field(max_length=2000)]
    country: Annotated[Text, Field(max_length=2000)]
    employee_number: Number
    department: Code
    start_date: Day


def _file(session: Any, who: Any, number: str, year: int | None) -> dict[str, Any]:
    """An employee as `staff show` shows them: the record (with its id and version), the
    contracts and the year's leave."""
    found = queries.employee_file(session, who.actor, number, year or date.today().year, keys=True)
    return {**found["employee"], "contracts": found["contracts"], "year": found["year"], "leave": found["leave"]}


@router.get("/employees", summary="Current staff (or leavers), filtered, sorted and a page at a time")
def list_employees(request: Request, who: CallerDep,
                   department: Annotated[Text | None, Query(max_length=64, description="A department code.")] = None,
                   leavers: Annotated[bool, Query(description="Those whose last day has passed.")] = False,
                   sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.employees(session, who.actor, department, leavers, keys=True)
    return page(rows, request, sort, cursor, limit)


@router.get("/employees/{number}", summary="One employee with their contracts and the year's leave; "
                                           "the ETag is the employee's version")
def read_employee(who: CallerDep, number: NumberPath, year: YearQuery = None) -> Response:
    with who.work() as session:
        return with_etag(_file(session, who, number, year))


@router.get("/employees/{number}/leaving", summary="A leaver's checklist: last day, open leave, leave left, "
                                                   "and what other modules add (assets to return)")
def leaving_checklist(who: CallerDep, number: NumberPath) -> Response:
    with who.work() as session:
        return JSONReply(queries.leaving_checklist(session, who.actor, number))


@router.post("/employees", status_code=201, summary="Hire someone (HR): the person in contacts, the "
                                                    "employment record beside it")
def hire(request: Request, who: CallerDep, body: EmployeeIn, key: IdempotencyKey = None,
         digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        dept = queries.find_department(session, who.actor, body.department)
        boss = queries.find_employee(session, who.actor, body.manager, field="manager_id") if body.manager else None
        hired = services.hire(session, who.actor, services.Hire(
            _text(body.first_name), _text(body.last_name), _text(body.country), _text(body.employee_number),
            dept.id, body.start_date, job_title=_text(body.job_title), manager_id=boss.id if boss else None,
            work_email=_text(body.work_email), login=_text(body.login), date_of_birth=body.date_of_birth,
            national_id=_text(body.national_id), bank_account=_text(body.bank_account)))
        session.flush()
        return _file(session, who, hired.employee_number, None)

    return create(request, who, key, digest, make)


@router.patch("/employees/{number}", summary="Change an employee's fields (HR; needs If-Match)")
def change_employee(request: Request, who: CallerDep, number: NumberPath, body: EmployeeChange,
                    if_match: IfMatch = None, year: YearQuery = None) -> Response:
    sent = body.model_dump(exclude_unset=True)
    now = {"number": number}

    def change(session: Any, version: int) -> None:
        e = queries.find_employee(session, who.actor, number, field="employee_number")
        changes = {k: _text(v) if isinstance(v, str) else v for k, v in sent.items()
                   if k not in ("department", "manager")}
        if "department" in sent:
            changes["department_id"] = (queries.find_department(session, who.actor, sent["department"]).id
                                        if _text(sent["department"]) else None)
        if "manager" in sent:
            changes["manager_id"] = (queries.find_employee(session, who.actor, sent["manager"], field="manager_id").id
                                     if _text(sent["manager"]) else None)
        changed = services.update_employee(session, who.actor, e.id, changes, expected_version=version)
        now["number"] = changed.employee_number

    return update(request, who, if_match, change, lambda session: _file(session, who, now["number"], year))


class ContractIn(BaseModel):
    kind: Annotated[Literal["permanent", "fixed-term", "casual"], Field()]
    weekly_hours: Decimal
    salary: Decimal | None = None
    currency: Words = Field(default=None, description="ISO 4217 (default: the books' currency).")
    starts_on: Day
    ends_on: Day | None = None


@router.post("/employees/{number}/contracts", status_code=201, summary="Add a contract to an employee (HR)")
def add_contract(request: Request, who: CallerDep, number: NumberPath, body: ContractIn, key: IdempotencyKey = None,
                 digest: Digest = "") -> Response:
    currency = body.currency if body.currency is not None else who.settings.ledger.base_currency

    def make(session: Any) -> dict[str, Any]:
        e = queries.find_employee(session, who.actor, number)
        added = services.add_contract(session, who.actor, e.id, body.kind, body.weekly_hours, body.salary,
                                      currency, body.starts_on, body.ends_on)
        return {"employee": e.employee_number, **queries.contract_record(session, who.actor, added)}

    return create(request, who, key, digest, make)


# -- leave -------------------------------------------------------------------------------------

class LeaveTypeIn(BaseModel):
    code: Code
    name: Annotated[Text, Field(max_length=2000)]
    days_a_year: Decimal
    balance: bool = False
    carry_over_days: Decimal = Decimal(0)


@router.get("/leave-types", summary="The leave types: days a year, held to a balance, days carried over")
def list_leave_types(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
                     limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.leave_types(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.post("/leave-types", status_code=201, summary="Add a leave type (HR)")
def add_leave_type(request: Request, who: CallerDep, body: LeaveTypeIn, key: IdempotencyKey = None,
                   digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        kind = services.add_leave_type(session, who.actor, body.code, body.name, body.days_a_year, body.balance,
                                       body.carry_over_days)
        return queries.leave_type_record(kind)

    return create(request, who, key, digest, make)


class LeaveIn(BaseModel):
    employee: Number
    leave_type: Code
    starts_on: Day
    ends_on: Day
    half_day_start: bool = False
    half_day_end: bool = False
    reason: Words = None
    medical_reason: Words = None


@router.get("/leave", summary="Leave requests (HR everyone's, a manager their team's), without medical reasons")
def list_leave(request: Request, who: CallerDep,
               employee: Annotated[Text | None, Query(max_length=64, description="An employee number.")] = None,
               status: Annotated[Literal["requested", "approved", "rejected"] | None, Query()] = None,
               year: Annotated[int | None, Query(ge=1900, le=2999)] = None,
               sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.leave_requests(session, who.actor, employee, status, year)
    return page(rows, request, sort, cursor, limit)


@router.post("/leave", status_code=201, summary="Request leave for an employee (HR for anyone, a manager for "
                                                "their own team)")
def request_leave(request: Request, who: CallerDep, body: LeaveIn, key: IdempotencyKey = None,
                  digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        e = queries.find_employee(session, who.actor, body.employee)
        made = services.request_leave(session, who.actor, e.id, body.leave_type.strip(), body.starts_on,
                                      body.ends_on, body.half_day_start, body.half_day_end, _text(body.reason),
                                      _text(body.medical_reason))
        return queries.leave_request_record(session, who.actor, made)

    return create(request, who, key, digest, make)


def _decide(who: Any, request_id: int, approve: bool) -> Response:
    with who.work() as session:
        decided = services.decide_leave(session, who.actor, request_id, approve)
        return JSONReply(queries.leave_request_record(session, who.actor, decided))


@router.post("/leave/{request_id}/approve", summary="Approve a waiting request (the employee's managers, or HR; "
                                                    "never one's own)")
def approve_leave(who: CallerDep, request_id: RecordId) -> Response:
    return _decide(who, request_id, True)


@router.post("/leave/{request_id}/reject", summary="Reject a waiting request (the employee's managers, or HR; "
                                                   "never one's own)")
def reject_leave(who: CallerDep, request_id: RecordId) -> Response:
    return _decide(who, request_id, False)


@router.get("/leave/balance", summary="An employee's leave in a year, per leave type")
def leave_balance(who: CallerDep, employee: Annotated[Text, Query(max_length=64, description="An employee number.")],
                  year: YearQuery = None) -> Response:
    year = year or date.today().year
    with who.work() as session:
        held = queries.leave_balances(session, who.actor, employee, year)
    return JSONReply({"employee": held.employee["employee_number"], "name": held.employee.get("name"),
                      "year": year, "leave": held.leave})


# -- figures -----------------------------------------------------------------------------------

@router.get("/costs", summary="Headcount and cost per department and month (HR; the cost only for roles that "
                              "see salaries)")
def staff_costs(who: CallerDep, year: Annotated[int, Query(ge=1900, le=2999)]) -> Response:
    with who.work() as session:
        return JSONReply(queries.staff_costs(session, who.actor, year))
