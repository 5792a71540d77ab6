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
    registry.pack_section("tasks", "engine.admin.pack:section", title="Tasks", order=60)
    # Mail merge's "overdue-tasks" selection is admin's: mail knows no task.
    registry.selection("overdue-tasks", "engine.admin.task_selections:overdue_task_contacts",
                       "contacts linked to open tasks more than `days` days past due, with those tasks",
                       options=("days", "as_of", "owner"))
    # Erasing a person's data: the tasks about them deleted.
    registry.bridge("admin_personal_data", needs=["contacts", "admin"],
                    listens=[("engine.contacts.hooks:erasing", "engine.admin.personal_data:plan_erasure")])
    # -- the asset register ---------------------------------------------------------------------
    registry.commands("assets", "engine.admin.asset_commands:assets_app",
                      "Assets: the register, who has each, depreciation schedules and postings, value.",
                      server_routes={"add": "POST /admin/assets", "change": "PATCH /admin/assets/{tag}",
                                     "assign": "POST /admin/assets/{tag}/assign",
                                     "return": "POST /admin/assets/{tag}/return",
                                     "dispose": "POST /admin/assets/{tag}/dispose",
                                     "depreciate": "POST /admin/asset-depreciation"})
    registry.api("engine.admin.asset_api:router")
    registry.report("asset-register", "engine.admin.pack:asset_register_report", template="reports/standard.docx",
                    options=("as_of",),
                    help="The asset register (Word) on a day: every asset held with its holder, cost, accumulated "
                         "depreciation and net book value, by category with totals.")
    registry.demo_step("assets", "engine.admin.asset_demo:seed_assets", order=50)
    # Depreciation in the books: needs the ledger too, acts when admin.post_depreciation is on.
    registry.bridge("asset_depreciation", needs=["admin", "ledger"],
                    listens=[("engine.admin.hooks:asset_acquired", "engine.bridges.asset_depreciation:post_acquisition"),
                             ("engine.admin.hooks:depreciation_posted", "engine.bridges.asset_depreciation:post_month"),
                             ("engine.admin.hooks:asset_disposed", "engine.bridges.asset_depreciation:post_disposal")],
                    setting="admin.post_depreciation")
    # A leaver's checklist lists the assets they have to return and the open tasks to hand over.
    registry.bridge("leavers_checklist", needs=["staff", "admin"],
                    listens=[("engine.staff.hooks:leaving_checklist", "engine.admin.asset_queries:assets_to_return"),
                             ("engine.staff.hooks:leaving_checklist", "engine.admin.task_queries:tasks_to_hand_over")])
