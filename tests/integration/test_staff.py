"""Staff services on a real SQLite file and a real PostgreSQL: hiring, leave requests held
to their balance and refused when they overlap, decisions only by the employee's managers,
carry-over into the next year, and purging a leaver after the retention period without
changing the headcount and cost figures. The audit log never holds a sensitive value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.contacts import channels
from engine.contacts.models import Contact, ContactEmail
from engine.db.audit import AuditEntry
from engine.errors import PermissionDenied, ValidationFailed
from engine.security.gate import record_reads as read_audited
from engine.security.roles import SYSTEM, Actor
from engine.staff import leave
from engine.staff.models import Contract, Employee, LeaveRequest, LeaveType
from engine.staff.services import (
    decide_leave,
    department_figures,
    purge_employee,
    request_leave,
    team_of,
)
from tests.integration.staff_people import HANA, LEE, MEG, MO, staff  # noqa: F401  (the fixture)


def test_a_managers_team_is_everyone_below_them(db, staff):  # noqa: F811
    with db.reading() as session:
        assert team_of(session, staff["mo"]) == {staff["lee"], staff["ann"]}
        assert team_of(session, staff["lee"]) == {staff["ann"]}
        assert team_of(session, staff["meg"]) == set()


def test_working_days_count_weekdays_and_half_days():
    monday, friday = date(2026, 3, 2), date(2026, 3, 6)
    assert leave.working_days(monday, friday) == 5
    assert leave.working_days(monday, date(2026, 3, 9)) == 6            # the weekend is not counted
    assert leave.working_days(monday, friday, half_day_start=True, half_day_end=True) == 4
    assert leave.working_days(friday, friday, half_day_end=True) == D("0.5")
    assert leave.working_days(date(2026, 3, 7), date(2026, 3, 8)) == 0  # a weekend


def test_overlapping_requests_and_requests_beyond_the_balance_are_refused(db, staff):  # noqa: F811
    with db.unit_of_work(MO) as session:                   # ann's manager's manager enters it
        request_leave(session, MO, staff["ann"], "annual", date(2026, 3, 2), date(2026, 3, 13))     # 10 days
    with pytest.raises(ValidationFailed, match=r"overlaps leave request \d+ \(2026-03-02 to 2026-03-13, requested\)"):
        with db.unit_of_work(MO) as session:
            request_leave(session, MO, staff["ann"], "sick", date(2026, 3, 13), date(2026, 3, 16))
    # 20 for 2026 and 5 carried over from 2025, less the 10 asked for
    with pytest.raises(ValidationFailed, match="16 days of annual leave asked for, 15 left in 2026"):
        with db.unit_of_work(MO) as session:
            request_leave(session, MO, staff["ann"], "annual", date(2026, 6, 1), date(2026, 6, 22))
    with db.unit_of_work(MO) as session:                   # sick leave keeps no balance
        request_leave(session, MO, staff["ann"], "sick", date(2026, 6, 1), date(2026, 6, 30))


def test_only_the_employees_managers_decide_and_nobody_their_own(db, staff):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        ask = request_leave(session, HANA, staff["ann"], "annual", date(2026, 4, 6), date(2026, 4, 7)).id
        own = request_leave(session, HANA, staff["lee"], "annual", date(2026, 4, 6), date(2026, 4, 7)).id
    with pytest.raises(PermissionDenied, match="not a manager of employee"):
        with db.unit_of_work(MEG) as session:
            decide_leave(session, MEG, ask, approve=True)
    # a manager deciding their own request: refused as their own, before who manages whom
    with pytest.raises(PermissionDenied, match="nobody decides their own leave") as refused:
        with db.unit_of_work(LEE) as session:
            decide_leave(session, LEE, own, approve=True)
    assert [(p.field, p.code) for p in refused.value.problems] == [("status", "own_request")]
    with db.unit_of_work(MO) as session:
        decided = decide_leave(session, MO, ask, approve=True)
        assert (decided.status, decided.approver_id) == ("approved", staff["mo"])
    with pytest.raises(ValidationFailed, match="was approved already"):
        with db.unit_of_work(LEE) as session:
            decide_leave(session, LEE, ask, approve=False)


def test_unused_days_carry_over_up_to_the_types_limit(db, staff):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        request_leave(session, HANA, staff["ann"], "annual", date(2025, 5, 5), date(2025, 5, 9))   # 5 of 20
    with db.reading() as session:
        ann, annual = session.get(Employee, staff["ann"]), session.scalars(sa.select(LeaveType)).first()
        held = leave.balance(session, ann, annual, 2026)
    assert (held.allowance, held.carried_over, held.remaining) == (D(20), D(5), D(25))  # 15 unused, 5 carried


def test_a_manager_cannot_record_a_medical_reason(db, staff):  # noqa: F811
    with pytest.raises(PermissionDenied, match="medical reasons"):
        with db.unit_of_work(MO) as session:
            request_leave(session, MO, staff["ann"], "sick", date(2026, 5, 4), date(2026, 5, 4),
                          medical_reason="flu")


def test_the_audit_log_records_that_a_salary_changed_never_the_salary(db, staff):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        contract = session.scalars(sa.select(Contract)).one()
        contract.salary = D("39000")
    with db.reading() as session:
        changes = [e.changes for e in session.scalars(sa.select(AuditEntry).where(
            AuditEntry.table_name.in_(["contracts", "employees"])))]
    assert changes and "36000" not in str(changes) and "39000" not in str(changes)
    assert "QQE3" not in str(changes) and "1990-01-01" not in str(changes)
    assert {"salary": ["(hidden)", "(hidden)"]} in changes


def test_reading_a_medical_reason_is_audited_with_the_reader(db, staff):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        sick = request_leave(session, HANA, staff["ann"], "sick", date(2026, 5, 4), date(2026, 5, 5),
                             medical_reason="migraine").id
    with db.unit_of_work(HANA) as session:
        read_audited(session, "leave_requests", {sick: {"medical_reason": "migraine", "reason": None}})
    with db.reading() as session:
        [read] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "read")).all()
    assert (read.actor, read.record_id, read.changes) == ("hana", sick, {"fields_read": ["medical_reason"]})


def test_a_leaver_is_purged_only_after_the_retention_period_and_the_figures_stay(db, staff):  # noqa: F811
    with db.unit_of_work(HANA) as session:
        request_leave(session, HANA, staff["ann"], "sick", date(2025, 3, 3), date(2025, 3, 4), reason="ill",
                      medical_reason="back pain")
        session.get(Employee, staff["ann"]).end_date = date(2025, 6, 30)
        channels.add_entry(session, SYSTEM, "email", session.get(Employee, staff["ann"]).contact_id, "ann@home.example")
    with db.reading() as session:
        before = department_figures(session, HANA, 2025)
    assert [(f.month.month, f.headcount, f.cost) for f in before if f.department == "Sales"][5] == (6, 3, D(3000))

    with pytest.raises(ValidationFailed, match=r"must be kept until 2031-06-30 \(6 years after they left"):
        with db.unit_of_work(HANA) as session:
            purge_employee(session, HANA, staff["ann"], 6, today=date(2031, 6, 29))
    with pytest.raises(PermissionDenied, match="purge-staff"):
        with db.unit_of_work(MO) as session:
            purge_employee(session, MO, staff["ann"], 6, today=date(2031, 7, 1))
    with db.unit_of_work(HANA) as session:
        purge_employee(session, HANA, staff["ann"], 6, today=date(2031, 7, 1))

    with db.reading() as session:
        assert department_figures(session, HANA, 2025) == before
        ann = session.get(Employee, staff["ann"])
        assert (ann.national_id, ann.bank_account, ann.date_of_birth, ann.contact_id) == (None, None, None, None)
        assert ann.employee_number == f"PURGED-{ann.id}"
        assert session.scalars(sa.select(Contract.salary)).all() == [None]
        assert session.scalars(sa.select(LeaveRequest.medical_reason)).all() == [None]
        assert not session.scalars(sa.select(Contact).where(Contact.first_name == "Ann")).all()
        assert not session.scalars(sa.select(ContactEmail.address)).all()     # her addresses went too
        [purge] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "purge")).all()
    assert (purge.actor, purge.record_id) == ("hana", staff["ann"])
    with pytest.raises(ValidationFailed, match="purged already"):
        with db.unit_of_work(HANA) as session:
            purge_employee(session, HANA, staff["ann"], 6, today=date(2031, 7, 1))


def test_system_may_act_for_anyone():
    assert isinstance(SYSTEM, Actor) and SYSTEM.can("purge-staff")
