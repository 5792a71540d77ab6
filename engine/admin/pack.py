"""Office administration in Word: the overdue tasks of the monthly pack, and the asset register.

Both come from admin's own queries. The tasks are those the reader may see
(`tasks.own_only`): a member of staff who only reads admin gets their own, and the section
says so; those who write admin get everyone's. The asset register is every asset held on a
day, valued as the register values it (`asset_queries.assets` and `value`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.admin import asset_queries, task_queries
from engine.admin.tasks import own_only
from engine.office.locale import of_reader
from engine.office.report_body import (
    Column,
    Figure,
    Heading,
    Month,
    Section,
    Table,
    Text,
    reader_name,
    report_context,
)
from engine.security.roles import Actor

TITLE = "Tasks"
OLDEST = 10


def section(session: Session, actor: Actor, month: Month) -> Section:
    """Open tasks overdue at the month's end: how many each owner has, and the oldest ten."""
    own = own_only(actor) is not None
    summary = task_queries.overdue_summary(session, actor, month.end)
    found = Section(f"{TITLE}: your own" if own else TITLE)
    found.figures = [Figure("Overdue tasks at month end" + (" (yours)" if own else ""), summary["count"],
                            kind="count")]
    if own:
        found.add(Text("Your own tasks only: your roles let you see no one else's.", note=True))
    found.add(Heading("Overdue tasks by owner"), Table(
        [Column("Owner"), Column("Overdue tasks", "count")],
        [[reader_name(session, row["owner"]), row["count"]] for row in summary["by_owner"]],
        total=["Total", summary["count"]] if len(summary["by_owner"]) > 1 else None,
        empty="No task was overdue at the month's end."))
    oldest = summary["tasks"][:OLDEST]
    if oldest:
        found.add(Heading(f"The {'oldest ' + str(OLDEST) if len(summary['tasks']) > OLDEST else 'overdue tasks'}"),
                  Table([Column("Due", "date"), Column("Days overdue", "count"), Column("Task"), Column("Owner"),
                         Column("About")],
                        [[t["due_on"], t["days_overdue"], t["title"], t["owner"], t["linked"] or ""] for t in oldest]))
    found.add(Text("Tasks still open that were due before the month's last day; days overdue are counted to that "
                   "day.", note=True))
    return found


def held_on(record: dict[str, Any], on: date) -> bool:
    """Whether the register held the asset on `on`: bought by then, not yet disposed of."""
    return record["purchased_on"] <= on and (record["disposed_on"] is None or record["disposed_on"] > on)


def asset_register_report(session: Session, actor: Actor, as_of: date) -> dict[str, Any]:
    """The asset register (templates/reports/standard.docx) on `as_of`: every asset held that
    day by category, with its holder, cost, depreciation to date and net book value, each
    category's total, and the totals by category."""
    listed = [a for a in asset_queries.assets(session, actor, disposed=True, on=as_of) if held_on(a, as_of)]
    value = asset_queries.value(session, actor, as_of)
    money = [Column("Cost", "money"), Column("Depreciated", "money"), Column("Net book value", "money")]
    sections = [Section("Totals by category").add(Table(
        [Column("Category"), Column("Assets", "count"), *money],
        [[c["category"].capitalize(), c["assets"], c["cost"], c["accumulated_depreciation"], c["book_value"]]
         for c in value["categories"]],
        total=["Total", value["total"]["assets"], value["total"]["cost"], value["total"]["accumulated_depreciation"],
               value["total"]["book_value"]],
        empty="The register held no asset that day."))]
    for category in value["categories"]:
        rows = [a for a in listed if a["category"] == category["category"]]
        sections.append(Section(category["category"].capitalize()).add(Table(
            [Column("Tag"), Column("Description"), Column("Holder"), *money],
            [[a["tag"], a["description"], a["employee_name"] or "", a["cost"], a["accumulated_depreciation"],
              a["book_value"]] for a in rows],
            total=["Total", "", "", category["cost"], category["accumulated_depreciation"],
                   category["book_value"]])))
    if listed:
        sections[-1].add(Text("Depreciation is accumulated over the schedule's months ended by the day; the holder "
                              "is who has the asset now.", note=True))
    day = of_reader(session).date(as_of)
    return report_context(session, actor, "Asset register", f"Assets held on {day}", sections, as_of=as_of)
