"""Office administration: tasks and reminders, and the asset register with its
assignments to staff and its depreciation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("admin", needs=["contacts", "staff"], models="engine.admin.models",
                    help="Office: tasks and reminders, the asset register.")
    # Erasing a person's data: the tasks about them deleted.
    registry.bridge("admin_personal_data", needs=["contacts", "admin"],
                    listens=[("engine.contacts.hooks:erasing", "engine.admin.personal_data:plan_erasure")])
