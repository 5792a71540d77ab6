"""Word reports: the `backoffice report` commands and the monthly management pack. What a
report holds comes from the module that registers it (`registry.report`, e.g. staff's
`reports.py`), and each module's part of the pack from its section (`registry.pack_section`),
both leaving out what the reader may not see; the rendering (a sandboxed docxtpl, the body
laid out by `engine.office.word`) is a file adapter, and `make_templates` writes the standard
templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("reports", help="Word reports.")
    registry.commands("report", "engine.reports.commands:offered_reports",
                      "Word reports, holding only what the reader's roles may see.")
    registry.api("engine.reports.api:router")
    registry.report("pack", "engine.reports.pack:pack_context", template="reports/pack.docx", options=("period",),
                    summary="engine.reports.pack:pack_summary",
                    help="The monthly management pack: key figures, the books, stock, quality, staff, sales "
                         "and tasks of a month, with charts.")
