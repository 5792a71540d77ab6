"""Contacts: the shared party master (organisations, people, addresses) every module uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("contacts", models="engine.contacts.models",
                    help="The shared contacts: organisations and people.")
    registry.commands("contacts", "engine.contacts.commands:contacts_app",
                      "The shared contacts: organisations and people.",
                      extend=["engine.contacts.merge_commands:register_merge_commands"],
                      server_routes={"add": "POST /contacts"})
    registry.workbook("contacts", "engine.contacts.sheets:contacts_workbook")
    registry.api("engine.contacts.api:router")
    registry.demo_step("contacts", "engine.contacts.demo:seed_contacts", order=10)
    # A few contacts typed twice, for `contacts duplicates` to find (after every module's data).
    registry.demo_step("duplicates", "engine.contacts.demo_duplicates:plant_duplicates", order=60)
