"""Office administration: tasks and reminders, and the asset register with its
assignments to staff and its depreciation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    # Those who only read admin (every member of staff) see their own tasks: `records`.
    registry.module("admin", needs=["contacts", "staff"], models="engine.admin.models",
                    help="Office: tasks and reminders, the asset register.",
                    records="engine.admin.tasks:readable_records")
    registry.commands("tasks", "engine.admin.task_commands:tasks_app",
                      "Tasks and reminders: add, change, done (recurring ones come back), cancel, list, due.",
                      server_routes={"add": "POST /tasks", "change": "PATCH /tasks/{id}",
                                     "done": "POST /tasks/{id}/done", "cancel": "POST /tasks/{id}/cancel",
                                     "reopen": "POST /tasks/{id}/reopen"})
    registry.workbook("office", "engine.admin.sheets:office_workbook")
    registry.api("engine.admin.api:router")
    registry.demo_step("tasks", "engine.admin.task_demo:seed_tasks", order=55)
    # Mail merge's "overdue-tasks" selection is admin's: mail knows no task.
    registry.selection("overdue-tasks", "engine.admin.task_selections:overdue_task_contacts",
                       "contacts linked to open tasks more than `days` days past due, with those tasks",
                       options=("days", "as_of", "owner"))
    # Erasing a person's data: the tasks about them deleted.
    registry.bridge("admin_personal_data", needs=["contacts", "admin"],
                    listens=[("engine.contacts.hooks:erasing", "engine.admin.personal_data:plan_erasure")])
