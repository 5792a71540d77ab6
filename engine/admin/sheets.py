"""The Office workbook: Tasks (tasks and reminders), and the asset register's Assets,
Assignments and Depreciation (engine/admin/asset_sheets.py).

Every write goes through the task services, never a bulk insert: an owner must be a user, a
task is linked to one record at most (of a module switched on), and marking a recurring task
done makes its next one. The sheet holds no rule of its own: rows are checked by
`task_rules` (the same functions the services call), and a service's refusal is marked at
the cell of its problem's field. Those who only read admin get their own tasks only.

A task's linked record is one column per kind (Contact, Invoice, Asset, NCR, Employee,
Opportunity), each with a drop-down of those records; the kinds of modules switched off are
left out. `office_workbook` builds the workbook from `office_sheets()` and `office_lookups()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import registry
from engine.admin import task_rules as rules
from engine.admin import tasks as services
from engine.admin.asset_sheets import DEPRECIATION, asset_sheets
from engine.admin.asset_sheets import LOOKUPS as ASSET_LOOKUPS
from engine.admin.models import RECURRENCES, TASK_LINKS, TASK_PRIORITIES, TASK_STATUSES, Asset, Task
from engine.contacts.models import Contact
from engine.contacts.sheets import contact_choices
from engine.crm.models import Opportunity
from engine.ledger.models import Invoice
from engine.problems import Problem
from engine.quality.models import Nonconformance
from engine.security.models import User
from engine.sheets.labels import Choice, choices, labelled
from engine.sheets.posting import post_each, update_each
from engine.sheets.spec import Column, Lookup, SheetSpec, WorkbookSpec, for_readers_of
from engine.staff.models import Employee

AREA = services.AREA
# Each kind of link: its column's header, width and lookup (named as the kind's plural).
LINK_COLUMNS = {"contact": ("Contact", 22, "contacts"), "invoice": ("Invoice", 22, "invoices"),
                "asset": ("Asset", 22, "assets"), "ncr": ("NCR", 22, "ncrs"), "employee": ("Employee", 22, "employees"),
                "opportunity": ("Opportunity", 24, "opportunities")}


def _links_on() -> list[str]:
    """The kinds of record a task may be linked to, of the modules switched on."""
    return [kind for kind in TASK_LINKS if registry.current().is_on(rules.LINK_MODULES[kind])]


def _own_rows(session: Session, actor) -> Any:
    """Those who only read admin get their own tasks (see SheetSpec.rows_for)."""
    login = services.own_only(actor)
    return None if login is None else Task.owner == login


def _task_rule(row: Mapping[str, Any]) -> list[Problem]:
    """The task's rules, a problem of its link marked at the link's cell that is filled."""
    linked = next((c for c in TASK_LINKS.values() if row.get(c) is not None), "title")
    return [Problem(linked, p.code, p.message) if p.field == "link" else p for p in rules.check_task(row)]


def _task_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: {"done_on": v["done_on"], "next_id": v["next_id"]} for rid, v in rows.items()}


def task_sheet() -> SheetSpec:
    links = [Column(TASK_LINKS[kind], label, type="integer", lookup=lookup, references=lookup, labels=lookup,
                    width=width) for kind in _links_on() for label, width, lookup in (LINK_COLUMNS[kind],)]
    return SheetSpec(
        name="Tasks", model=Task, area=AREA, order_by=("due_on", "id"), rows_for=_own_rows,
        post=post_each(services.add_task, default="title"),
        update=update_each(services.change_task),
        columns=(
            Column("title", "Title", required=True, width=34),
            Column("due_on", "Due", type="date", required=True, width=11),
            Column("owner", "Owner", required=True, lookup="users", references="users", width=12),
            Column("priority", "Priority", type="choice", choices=TASK_PRIORITIES, width=9),
            Column("status", "Status", type="choice", choices=TASK_STATUSES, width=10),
            Column("recurrence", "Recurs", type="choice", choices=RECURRENCES, width=9),
            *links,
            Column("notes", "Notes", width=30),
            Column("done_on", "Done on", type="date", computed=True, width=11),
            Column("next_id", "Next task", type="integer", computed=True, width=9),
        ),
        derive=rules.task_defaults, rule=_task_rule, computed=_task_details,
    )


def _logins(session: Session) -> list[str]:
    return list(session.scalars(select(User.login).order_by(User.login)))


def _invoice_choices(session: Session) -> list[Choice]:
    """An invoice by its number and customer ("INV-2026-0001 Acme Ltd"); a draft, which has
    no number yet, as "draft #12 Acme Ltd"."""
    return choices((i, number or f"draft #{i}", name) for i, number, name in session.execute(
        select(Invoice.id, Invoice.number, Contact.name).join(Contact, Contact.id == Invoice.contact_id)
        .order_by(Invoice.id)))


def _ncr_choices(session: Session) -> list[Choice]:
    """A nonconformance by its number and title: "#12 Burrs on M10 bolts"."""
    return choices((i, f"#{i}", title) for i, title in
                   session.execute(select(Nonconformance.id, Nonconformance.title).order_by(Nonconformance.id)))


def task_lookups() -> dict[str, Lookup]:
    """The drop-downs of the Tasks sheet: owners, and the records of each kind of link on."""
    every = {
        "contacts": contact_choices,
        "invoices": _invoice_choices,
        "assets": labelled(lambda: select(Asset.id, Asset.tag, Asset.description).order_by(Asset.tag)),
        "ncrs": _ncr_choices,
        "employees": labelled(lambda: select(Employee.id, Employee.employee_number, Contact.name)
                              .outerjoin(Contact, Contact.id == Employee.contact_id).order_by(Employee.employee_number)),
        "opportunities": labelled(lambda: select(Opportunity.id, Opportunity.title).order_by(Opportunity.id)),
    }
    # Each kind's records only for those who may read them (no invoices for who reads no ledger).
    return {"users": _logins} | {
        LINK_COLUMNS[kind][2]: for_readers_of(registry.current().modules[rules.LINK_MODULES[kind]].area,
                                              every[LINK_COLUMNS[kind][2]])
        for kind in _links_on()}


def office_sheets() -> tuple[SheetSpec, ...]:
    return (task_sheet(), *asset_sheets())


def office_lookups() -> dict[str, Lookup]:
    """The tasks' drop-downs and the asset register's (one list of assets and of employees,
    as the register labels them, for both)."""
    return task_lookups() | ASSET_LOOKUPS | {"contacts": contact_choices}


def office_workbook() -> WorkbookSpec:
    return WorkbookSpec(module="office", title="Office", sheets=office_sheets(), lookups=office_lookups(),
                        reports=(DEPRECIATION,))
