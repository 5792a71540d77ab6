"""CRM: what passed between us and each contact (interactions, including the letters and
e-mails the mail merge sent), and the opportunities in the sales pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    # CRM records are about contacts: whoever reads and writes contacts reads and writes them.
    registry.module("crm", needs=["contacts"], models="engine.crm.models",
                    help="CRM: interactions and opportunities.", area="contacts")
    # Erasing a person's data: their interactions and closed opportunities deleted; refused while one is open.
    registry.bridge("crm_personal_data", needs=["contacts", "crm"],
                    listens=[("engine.contacts.hooks:erasing", "engine.crm.personal_data:plan_erasure")])
