"""Staff (HR): departments, employees, contracts, leave; sensitive fields for the roles allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("staff", needs=["contacts"], models="engine.staff.models",
                    help="Staff: departments, employees, contracts, leave.",
                    records="engine.staff.queries:readable_records")
    registry.commands("staff", "engine.staff.commands:staff_app",
                      "Staff: departments, employees, contracts, leave, costs, and purging leavers.",
                      server_routes={
                          "hire": "POST /staff/employees", "contract": "POST /staff/employees/{number}/contracts",
                          "department add": "POST /staff/departments", "leave type add": "POST /staff/leave-types",
                          "leave request": "POST /staff/leave", "leave approve": "POST /staff/leave/{id}/approve",
                          "leave reject": "POST /staff/leave/{id}/reject"})
    registry.workbook("staff", "engine.staff.sheets:staff_workbook")
    registry.workbook("team", "engine.staff.sheets:team_workbook")
    registry.api("engine.staff.api:router")
    registry.demo_step("staff", "engine.staff.demo:seed_staff", order=20)
    registry.report("staff", "engine.staff.reports:staff_report_context", template="reports/staff.docx",
                    options=("year",), summary="engine.staff.reports:staff_report_summary",
                    help="The staff report (Word): departments, employees, leave; sensitive fields only for roles "
                         "that see them.")
    # For the readers of teams: HR's covers everyone, a manager's their own team (the section's
    # queries decide which), in aggregates only.
    registry.pack_section("staff", "engine.staff.pack:section", title="Staff", order=40, area="team")
    registry.report("leave-statement", "engine.staff.pack:leave_statement_report", template="reports/standard.docx",
                    options=("employee", "year"),
                    help="An employee's leave statement (Word) for a year: per leave type the entitlement, carried "
                         "over, taken, requested and left, and the year's requests; HR for anyone, a manager for "
                         "their team, an employee their own.")
    # Erasing a person's data: refused while an employee record is not purged.
    registry.bridge("staff_personal_data", needs=["contacts", "staff"],
                    listens=[("engine.contacts.hooks:erasing", "engine.staff.personal_data:plan_erasure")])
