"""Word reports: the `backoffice report` commands. What a report holds comes from the module
that registers it (`registry.report`, e.g. staff's `reports.py`), which leaves out the fields
the reader may not see; the rendering (a sandboxed docxtpl) is a file adapter in
`engine.office.docx`, and `make_templates` writes the standard templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("reports", help="Word reports.")
    registry.commands("report", "engine.reports.commands:offered_reports",
                      "Word reports, holding only what the reader's roles may see.")
    registry.api("engine.reports.api:router")
