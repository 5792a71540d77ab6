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
    registry.commands("crm", "engine.crm.commands:crm_app",
                      "CRM: interactions with contacts, opportunities and the sales pipeline.",
                      server_routes={
                          "interaction add": "POST /crm/interactions",
                          "interaction change": "PATCH /crm/interactions/{id}",
                          "interaction delete": "DELETE /crm/interactions/{id}",
                          "opportunity add": "POST /crm/opportunities",
                          "opportunity change": "PATCH /crm/opportunities/{id}",
                          "opportunity win": "POST /crm/opportunities/{id}/win",
                          "opportunity lose": "POST /crm/opportunities/{id}/lose"})
    registry.workbook("crm", "engine.crm.sheets:crm_workbook")
    registry.api("engine.crm.api:router")
    registry.pack_section("crm", "engine.crm.pack:section", title="Sales pipeline", order=50)
    registry.demo_step("crm", "engine.crm.demo:seed_crm", order=45)
    # Every letter and e-mail the mail merge sends is logged in the contact's history.
    registry.bridge("mail_history", needs=["crm", "mailmerge"],
                    listens=[("engine.mailmerge.hooks:message_sent", "engine.crm.services:log_mailed")])
    # A won opportunity may become a draft invoice (`crm opportunity win ID --invoice`).
    registry.bridge("won_invoice", needs=["crm", "ledger"],
                    listens=[("engine.crm.hooks:opportunity_won", "engine.bridges.won_invoice:invoice_won")])
    # Erasing a person's data: their interactions and closed opportunities deleted; refused while one is open.
    registry.bridge("crm_personal_data", needs=["contacts", "crm"],
                    listens=[("engine.contacts.hooks:erasing", "engine.crm.personal_data:plan_erasure")])
