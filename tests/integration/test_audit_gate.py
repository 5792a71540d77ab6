"""The audit log read through the policy gate (issue 13), on SQLite and PostgreSQL: an actor
sees the audit rows of only the records their role may read (an accountant no staff record, a
manager their own team's), in each row only the fields their role may see, and reading an
audited field through the log is itself audited."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.cli import app as cli
from engine.db.audit import AuditContext, AuditEntry, write_audit
from engine.errors import PermissionDenied
from engine.security.audit_log import audit_entries
from engine.security.policies import Policies, active_policies, use_policies
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.staff.services import add_contract, request_leave
from tests.conftest import actor_with
from tests.integration.staff_people import HANA, MO, staff  # noqa: F401  (the fixture)

ALEX = actor_with("accountant", login="alex")
ADA = actor_with("admin", login="ada")
STAFF_TABLES = {"employees", "contracts", "leave_requests", "departments", "leave_types"}
SENSITIVE = {"date_of_birth", "national_id", "bank_account", "salary", "medical_reason"}


@pytest.fixture
def history(db, staff):  # noqa: F811
    """The staff fixture, a contract for meg (outside mo's team), and leave with a medical
    reason for ann (in it), read once by HR."""
    with db.unit_of_work(HANA) as session:
        add_contract(session, HANA, staff["meg"], "permanent", D(40), D("52000"), "EUR", date(2025, 1, 6))
        sick = request_leave(session, HANA, staff["ann"], "sick", date(2026, 3, 2), date(2026, 3, 3),
                             medical_reason="migraine")
    from engine.security.gate import record_reads

    with db.unit_of_work(HANA) as session:
        record_reads(session, "leave_requests", {sick.id: {"medical_reason": "migraine"}})
    return {**staff, "sick": sick.id}


def read(db, actor, **filters):
    with db.unit_of_work(actor) as session:
        return audit_entries(session, actor, **filters)


def fields(rows) -> set[str]:
    named = set()
    for row in rows:
        named |= set(row["changes"]) | set(row["changes"].get("fields_read", []))
    return named


def test_an_accountant_reads_no_staff_record_through_the_audit_log(db, history):
    for table in sorted(STAFF_TABLES):
        with pytest.raises(PermissionDenied, match="may not read staff"):
            read(db, ALEX, table=table)
    everything = read(db, ALEX)
    assert everything and {r["table"] for r in everything} == {"contacts"}      # people in contacts: readable
    assert [r["table"] for r in read(db, ALEX, limit=3)] == ["contacts"] * 3


def test_hr_reads_every_staff_row_and_sees_that_sensitive_fields_changed(db, history):
    rows = read(db, HANA, table="employees")
    assert {r["record_id"] for r in rows} == {history[k] for k in ("mo", "lee", "ann", "meg")}
    assert {"national_id", "bank_account", "date_of_birth"} <= fields(rows)
    assert all(r["changes"]["national_id"] == [None, "(hidden)"] for r in rows if r["action"] == "insert")
    contracts = read(db, HANA, table="contracts")
    assert len(contracts) == 2 and "salary" in fields(contracts)


def test_a_manager_reads_their_teams_rows_only_without_sensitive_fields(db, history):
    employees = read(db, MO, table="employees")
    assert {r["record_id"] for r in employees} == {history["lee"], history["ann"]}      # not meg, not mo
    assert not fields(employees) & SENSITIVE
    assert {"employee_number", "department_id"} <= fields(employees)
    contracts = read(db, MO, table="contracts")
    assert len(contracts) == 1 and not fields(contracts) & SENSITIVE                    # ann's, salary absent
    leave = read(db, MO, table="leave_requests")
    assert [(r["record_id"], r["action"]) for r in leave] == [(history["sick"], "insert")]   # HR's read row: gone
    assert "medical_reason" not in fields(leave) and "starts_on" in fields(leave)
    assert {r["table"] for r in read(db, MO)} >= {"employees", "departments", "contacts"}
    with pytest.raises(PermissionDenied, match="staff costs|staff records"):
        read(db, MO, table="staff_costs")
    latest = read(db, MO, table="employees", limit=1)
    assert [r["id"] for r in latest] == [employees[-1]["id"]]


def test_a_table_of_no_module_switched_on_is_read_by_an_administrator_only(db, history):
    with db.engine.begin() as connection:
        write_audit(connection, AuditContext("ada", "system"), [
            {"table_name": "quality_checks", "record_id": 1, "action": "insert", "changes": {"result": [None, "ok"]}}])
    assert [r["changes"] for r in read(db, ADA, table="quality_checks")] == [{"result": [None, "ok"]}]
    with pytest.raises(PermissionDenied, match="belongs to no module"):
        read(db, HANA, table="quality_checks")
    assert "quality_checks" not in {r["table"] for r in read(db, MO)}


def test_reading_an_audited_value_through_the_log_is_audited(db, history):
    """Rows written before a field was declared sensitive hold its value: reading them hands
    it out, which is recorded as a read of the record; a reader who may not see it gets
    neither the value nor a read row."""
    shipped = active_policies()
    before = Policies({t: c for t, c in shipped.by_table.items() if t != "leave_requests"})
    with use_policies(before), db.engine.begin() as connection:
        write_audit(connection, AuditContext("hana", "cli"), [
            {"table_name": "leave_requests", "record_id": history["sick"], "action": "update",
             "changes": {"medical_reason": ["migraine", "flu"]}}])

    def reads_by(login):
        with db.reading() as session:
            return session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "read",
                                                               AuditEntry.actor == login)).all()

    assert read(db, MO, table="leave_requests", record_id=history["sick"])[-1]["action"] == "insert"
    assert reads_by("mo") == []
    before_hr = len(reads_by("hana"))
    shown = read(db, HANA, table="leave_requests", record_id=history["sick"])
    assert shown[-1]["changes"] == {"medical_reason": ["migraine", "flu"]}
    after = reads_by("hana")
    assert len(after) == before_hr + 1
    assert (after[-1].record_id, after[-1].changes) == (history["sick"], {"fields_read": ["medical_reason"]})
    latest = read(db, HANA, table="leave_requests", record_id=history["sick"], limit=1)
    assert latest[0]["changes"] == {"fields_read": ["medical_reason"]}     # a read row holds no value
    assert len(reads_by("hana")) == before_hr + 1


def test_the_audit_command_refuses_an_accountant_the_employees(db, history):
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
        add_user(session, SYSTEM, "hana", "Hana", ["hr"], None)
    url = db.engine.url.render_as_string(hide_password=False)
    refused = CliRunner().invoke(cli, ["--database-url", url, "audit", "--table", "employees", "--user", "alex"])
    assert refused.exit_code == 2 and "may not read staff" in refused.output
    mine = CliRunner().invoke(cli, ["--database-url", url, "audit", "--json", "--user", "alex"])
    assert mine.exit_code == 0, mine.output
    assert {r["table"] for r in json.loads(mine.stdout)} == {"contacts"}     # no staff rows, no user accounts
    hr = CliRunner().invoke(cli, ["--database-url", url, "audit", "--table", "employees", "--json", "--user", "hana"])
    assert hr.exit_code == 0 and len(json.loads(hr.stdout)) == 4
