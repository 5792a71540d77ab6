"""The rules of tasks, without a database: when a recurring task comes next (the day of the
month kept where the month has it), every problem of a task, and a link as people type it."""

from __future__ import annotations

from datetime import date

from engine.admin.task_rules import (
    check_status_change,
    check_task,
    next_due,
    parse_link,
    task_defaults,
)
from engine.problems import Problem


def test_a_monthly_task_keeps_its_day_where_the_month_has_it_and_the_last_day_where_not():
    due, series = date(2026, 1, 31), []
    for _ in range(4):
        due = next_due(due, "monthly", anchor_day=31)
        series.append(due)
    assert series == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]
    assert next_due(date(2028, 1, 31), "monthly") == date(2028, 2, 29)           # a leap year
    assert next_due(date(2026, 12, 15), "monthly") == date(2027, 1, 15)          # over the year's end
    assert next_due(date(2026, 2, 28), "monthly") == date(2026, 3, 28)           # no anchor: its own day


def test_a_yearly_task_on_29_february_falls_on_the_28th_in_common_years_and_back_on_the_29th():
    assert next_due(date(2028, 2, 29), "yearly") == date(2029, 2, 28)
    assert next_due(date(2031, 2, 28), "yearly", anchor_day=29) == date(2032, 2, 29)
    assert next_due(date(2026, 6, 30), "yearly") == date(2027, 6, 30)
    assert next_due(date(2026, 6, 30), "none") is None


def test_every_problem_of_a_task_is_given_with_its_field_and_code():
    assert check_task(task_defaults({"title": " Call ", "due_on": date(2026, 3, 1), "owner": "mia"})) == []
    row = task_defaults({"title": " ", "due_on": "tomorrow", "priority": "urgent", "recurrence": "weekly",
                         "status": "Waiting", "contact_id": 1, "invoice_id": 2, "owner": None})
    assert {(p.field, p.code) for p in check_task(row)} == {
        ("title", "required"), ("due_on", "invalid"), ("owner", "required"), ("priority", "invalid"),
        ("recurrence", "invalid"), ("status", "invalid"), ("link", "one_link")}
    [two] = check_task(task_defaults({"title": "x", "due_on": date(2026, 3, 1), "owner": "mia", "contact_id": 1,
                                      "asset_id": 2}))
    assert "not to a contact and an asset;" in two.message
    assert task_defaults({"priority": "HIGH"})["priority"] == "high"
    assert (task_defaults({})["status"], task_defaults({})["priority"], task_defaults({})["recurrence"]) == (
        "open", "normal", "none")


def test_a_link_is_kind_colon_key_and_a_done_or_cancelled_task_is_reopened_before_it_changes_state():
    assert parse_link(" Invoice : INV-2026-0001 ") == ("invoice", "INV-2026-0001")
    for typed in ("invoice", "planet:3", "contact:", ""):
        refused = parse_link(typed)
        assert isinstance(refused, Problem) and (refused.field, refused.code) == ("link", "link")
    assert check_status_change(1, "open", "done") == [] and check_status_change(1, "done", "open") == []
    [problem] = check_status_change(1, "cancelled", "done")
    assert (problem.field, problem.code) == ("status", "workflow")
