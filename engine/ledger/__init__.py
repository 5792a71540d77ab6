"""The ledger: chart of accounts, journal entries, invoices, bills, payments and periods."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("ledger", needs=["contacts"], models="engine.ledger.models",
                    help="The books: accounts, entries, invoices, payments, periods.")
    registry.commands("ledger", "engine.ledger.commands:ledger_app",
                      "The books: chart of accounts, periods, journal entries, closing and reports.",
                      extend=["engine.ledger.invoice_commands:register_invoice_commands"],
                      server_routes={
                          "chart": "POST /ledger/accounts/install", "periods": "POST /ledger/periods",
                          "post": "POST /ledger/entries", "reverse": "POST /ledger/entries/{entry}/reverse",
                          "close": "POST /ledger/periods/{name}/close", "reopen": "POST /ledger/periods/{name}/reopen",
                          "export-beancount": "GET /ledger/export/beancount", "invoice": "POST /ledger/invoices",
                          "post-invoice": "POST /ledger/invoices/{id}/post", "pay": "POST /ledger/payments"})
    registry.workbook("ledger", "engine.ledger.sheets:ledger_workbook")
    registry.api("engine.ledger.api:router")
    registry.pack_section("ledger", "engine.ledger.pack:section", title="The books", order=10)
    registry.report("trial-balance", "engine.ledger.word_reports:trial_balance_report",
                    template="reports/standard.docx", options=("as_of",),
                    help="The trial balance (Word): every account's debit or credit balance on a day, and the totals.")
    registry.report("statement", "engine.ledger.word_reports:statement_report", template="reports/standard.docx",
                    options=("customer", "period"),
                    help="A customer's statement of account for a month (Word): what they owed at its start, "
                         "invoices and payments, what they owe at its end, and the invoices still open with their age.")
    registry.demo_step("ledger", "engine.ledger.demo:seed_ledger", order=40)
    # Mail merge's "overdue" selection is the ledger's: mail knows no invoice.
    registry.selection("overdue", "engine.ledger.selections:overdue_customers",
                       "customers with posted sales invoices more than `days` days past due",
                       options=("days", "as_of", "currency"))
    # Perpetual inventory needs inventory too: installed only when both are on.
    registry.bridge("perpetual_inventory", needs=["inventory", "ledger"],
                    listens=[("engine.inventory.hooks:stock_moved", "engine.bridges.perpetual_inventory:post_stock_value")],
                    setting="ledger.perpetual_inventory")
    # Erasing a person's data: refused while their account is open; their name kept within the books' retention.
    registry.bridge("ledger_personal_data", needs=["contacts", "ledger"],
                    listens=[("engine.contacts.hooks:erasing", "engine.ledger.personal_data:plan_erasure")])
