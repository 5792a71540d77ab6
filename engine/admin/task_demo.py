"""Sample tasks and reminders for the demo: the office's open tasks, some overdue, some done,
and recurring ones, owned by the demo users and linked to the demo's contacts, invoices,
employees, nonconformances, opportunities and laptops (each kind only where the demo made some).

Dated around the demo's "today" (`engine.inventory.demo.END`): the overdue tasks were due
before it, the open ones after it. The monthly bank reconciliation started on 31 January and
was done every month to October, so its series shows the day kept where the month has it
(28 February, 31 March, 30 April...); its November one is open. Everything goes through the
task services as the demo's manager (`mia`), so every rule holds; the same records every run.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import registry
from engine.admin import tasks as services
from engine.admin.models import Asset, Task
from engine.admin.task_rules import LINK_MODULES
from engine.contacts.models import Contact
from engine.crm.models import Opportunity
from engine.demo import DemoSummary
from engine.inventory.demo import END
from engine.ledger.invoices import open_balance
from engine.ledger.models import Invoice
from engine.quality.models import Nonconformance
from engine.security.models import User
from engine.security.users import resolve_actor
from engine.staff.models import Employee

MANAGER = "mia"


def _links(session: Session) -> dict[str, list[str]]:
    """The demo records the tasks are linked to, as a link is typed ("invoice:INV-..."); a kind
    without records (its module switched off, or its demo not run) has none."""
    def keys(kind: str, query) -> list[str]:
        if not registry.current().is_on(LINK_MODULES[kind]):
            return []
        return [f"{kind}:{k}" for k in session.scalars(query.limit(4))]
    return {
        "contact": keys("contact", select(Contact.id).where(Contact.kind == "organisation").order_by(Contact.id)),
        "invoice": _unpaid(session) if registry.current().is_on("ledger") else [],
        "employee": keys("employee", select(Employee.employee_number).order_by(Employee.employee_number)),
        "ncr": keys("ncr", select(Nonconformance.id).where(Nonconformance.status != "closed")
                    .order_by(Nonconformance.id)),
        "opportunity": keys("opportunity", select(Opportunity.id).order_by(Opportunity.id)),
        "laptop": [f"asset:{tag}" for tag in session.scalars(
            select(Asset.tag).where(Asset.category == "laptops").order_by(Asset.tag).limit(4))]
        if registry.current().is_on(LINK_MODULES["asset"]) else [],
    }


def _unpaid(session: Session) -> list[str]:
    """The latest sales invoices still unpaid after their due date on the demo's today."""
    late = session.scalars(select(Invoice).where(Invoice.kind == "sales", Invoice.status == "posted",
                                                 Invoice.due_on < END).order_by(Invoice.due_on.desc()).limit(40))
    return [f"invoice:{i.number}" for i in late if open_balance(session, i, END) > 0][:4]


# (title, owner, days from END it is due, priority, recurrence, the kind of record and which one).
# An overdue task linked to a customer is listed in the `task_reminder` the customer receives
# (mail merge's overdue-tasks): such titles say what we owe them, never how we chase them.
OPEN = [
    ("Send the copy of the signed delivery note", "alex", -12, "high", "none", ("invoice", 0)),
    ("Confirm the agreed payment plan in writing", "alex", -4, "normal", "none", ("invoice", 1)),
    ("Send the revised quotation", "sam", -6, "high", "none", ("contact", 0)),
    ("Call back about the delivery dates", "sam", -2, "normal", "none", ("contact", 1)),
    ("Review the corrective actions", "quinn", -3, "high", "none", ("ncr", 0)),
    ("Probation review", "hana", -8, "normal", "none", ("employee", 0)),
    ("Submit the expense claims", "stef", -1, "low", "none", None),
    ("Follow up the proposal", "sam", 5, "normal", "none", ("opportunity", 0)),
    ("Annual appraisal", "hana", 21, "normal", "yearly", ("employee", 1)),
    ("VAT return", "alex", 10, "high", "monthly", None),
    ("Renew the office insurance", "mia", 40, "normal", "yearly", None),
    ("Check the fire extinguishers", "wes", 6, "normal", "monthly", None),   # not in the asset register
    ("Service the company laptop", "stef", 14, "low", "none", ("laptop", 0)),
    ("Book the first-aid training", "stef", 18, "normal", "none", None),
    ("Update the supplier's certificate", "quinn", 25, "low", "none", ("contact", 2)),
]
DONE = [
    ("Send the welcome pack", "hana", -30, "normal", ("employee", 2)),
    ("Confirm the order by letter", "sam", -20, "normal", ("contact", 3)),
]
CANCELLED = [("Visit the trade fair", "mia", -15, "low", None)]
SERIES_START = date(END.year, 1, 31)   # the monthly bank reconciliation: done to October


def seed_tasks(session: Session, summary: DemoSummary) -> None:
    logins = set(session.scalars(select(User.login)))
    if MANAGER not in logins:
        return     # no demo users (a demo step run alone): nothing to own the tasks
    actor = resolve_actor(session, MANAGER)
    links = _links(session)

    def add(title: str, owner: str, due: date, priority: str, recurrence: str = "none", link=None) -> Task:
        kind, n = link or (None, 0)
        typed = links.get(kind or "", [])
        values = {"title": title, "owner": owner if owner in logins else MANAGER, "due_on": due,
                  "priority": priority, "recurrence": recurrence}
        if typed:
            values["link"] = typed[n % len(typed)]
        return services.add_task(session, actor, values)

    for title, owner, days, priority, recurrence, link in OPEN:
        add(title, owner, END + timedelta(days=days), priority, recurrence, link)
    for title, owner, days, priority, link in DONE:
        task = add(title, owner, END + timedelta(days=days), priority, link=link)
        services.done_task(session, actor, task.id, task.due_on)
    for title, owner, days, priority, link in CANCELLED:
        services.cancel_task(session, actor, add(title, owner, END + timedelta(days=days), priority, link=link).id)
    task = add("Bank reconciliation", "alex", SERIES_START, "normal", "monthly")
    while task.due_on.month < 11:
        services.done_task(session, actor, task.id, task.due_on)
        task = session.get(Task, task.next_id)
    summary.created["tasks"] = session.scalar(select(func.count()).select_from(Task)) or 0
