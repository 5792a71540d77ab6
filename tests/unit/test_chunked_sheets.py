"""Which sheets a large workbook reads, checks and saves a chunk at a time (issue 19), and
which it keeps whole because their rules look across their rows."""

from __future__ import annotations

from engine.sheets.read import read_in_chunks
from engine.sheets.spec import modules, workbook_spec


def chunked() -> dict[str, bool]:
    return {f"{module}/{sheet.name}": read_in_chunks(sheet) for module in modules()
            for sheet in workbook_spec(module).sheets}


def test_sheets_saved_in_bulk_and_append_only_ledgers_go_in_chunks():
    found = chunked()
    for name in ("contacts/People", "contacts/Organisations", "inventory/Items", "inventory/Movements",
                 "inventory/Stock take", "ledger/Payments"):
        assert found[name], name


def test_sheets_whose_rules_look_across_rows_are_kept_whole():
    found = chunked()
    # an entry's or an invoice's lines are posted together; a lot's measurements are judged
    # together; saved rows changed or deleted through a service; a step after saving
    for name in ("ledger/Journal", "ledger/Invoices", "quality/Inspections", "crm/E-mails", "staff/Employees",
                 "staff/Leave", "office/Tasks"):
        assert not found[name], name

