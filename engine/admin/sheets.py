"""The Office workbook (the tasks' sheets join the asset register's here)."""

from __future__ import annotations

from engine.admin.asset_sheets import DEPRECIATION, LOOKUPS, asset_sheets
from engine.contacts.sheets import contact_choices
from engine.sheets.spec import WorkbookSpec


def office_workbook() -> WorkbookSpec:
    return WorkbookSpec(module="office", title="Office", sheets=asset_sheets(),
                        lookups={**LOOKUPS, "contacts": contact_choices}, reports=(DEPRECIATION,))
