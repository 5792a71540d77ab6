"""Quality control: inspection plans with standard sampling, inspections of received lots,
quarantine, dispositions, nonconformance reports with their actions, process capability.

Quality is built on inventory: a received lot of an item with a plan waits for inspection
(inventory announces `lots_received`, `services.hold_for_inspection` listens), and the lot
statuses quality sets are what inventory's rules read when stock is to leave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.registry import Registry


def register(registry: Registry) -> None:
    registry.module("quality", needs=["contacts", "inventory"], models="engine.quality.models",
                    help="Quality: inspection plans, inspections, quarantine, nonconformances, capability.")
    registry.commands("quality", "engine.quality.commands:quality_app",
                      "Quality: inspection plans, inspections, dispositions, nonconformances, capability.",
                      extend=["engine.quality.ncr_commands:register_ncr_commands",
                              "engine.quality.capability_commands:register_capability_commands"],
                      server_routes={
                          "plan add": "POST /quality/plans", "inspect": "POST /quality/lots/{lot_id}/inspections",
                          "disposition": "POST /quality/lots/{lot_id}/disposition",
                          "resume": "POST /quality/plans/{code}/resume", "ncr add": "POST /quality/ncrs",
                          "ncr advance": "POST /quality/ncrs/{id}/advance",
                          "ncr action": "POST /quality/ncrs/{id}/actions", "ncr done": "POST /quality/actions/{id}/done"})
    registry.workbook("quality", "engine.quality.sheets:quality_workbook")
    registry.api("engine.quality.api:router")
    registry.demo_step("quality", "engine.quality.demo:seed_quality", order=35)
    registry.pack_section("quality", "engine.quality.pack:section", title="Quality", order=30)
    registry.report("inspection-certificate", "engine.quality.pack:certificate_report",
                    template="reports/standard.docx", options=("lot",),
                    help="The inspection certificate of a lot (Word): item, supplier, quantity, plan and sample, "
                         "every characteristic's results, and the decision with who made it and when.")
    # Receiving stock of an item with a plan holds its lot for inspection.
    registry.bridge("inspection_on_receipt", needs=["inventory", "quality"],
                    listens=[("engine.inventory.hooks:lots_received", "engine.quality.services:hold_for_inspection")])
    # The demo's year of stock: the plans before the first delivery, the lots inspected as the days pass.
    registry.bridge("demo_inspections", needs=["inventory", "quality"],
                    listens=[("engine.inventory.hooks:demo_year_starting", "engine.quality.demo:plan_inspections"),
                             ("engine.inventory.hooks:demo_day_starting", "engine.quality.demo:inspect_the_day")])
    # Merging two suppliers: their plans' and switching states' supplier_key follow (no foreign key shows them).
    registry.bridge("quality_contact_merge", needs=["contacts", "quality"],
                    listens=[("engine.contacts.hooks:merging", "engine.quality.contact_merge:merging")])
