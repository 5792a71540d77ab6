"""Admin's mail-merge selection, registered with mail (`engine.admin.register`), so mail merge
knows no task:

    overdue-tasks   the contacts linked to open tasks more than `days` days past due on
                    `as_of` (default today), of `owner` if given: one recipient per contact,
                    with those tasks (title, due date, days overdue, priority, owner)

A task is linked to a contact directly (`contact:12`), or through the invoice or the
opportunity it is linked to (that record's contact).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.admin import task_queries
from engine.admin.tasks import LINKED
from engine.contacts.models import Contact
from engine.errors import BackofficeError
from engine.security.roles import Actor


def _contacts_of(session: Session, column: str, ids: set[int]) -> dict[int, int]:
    """{linked record id: its contact id} for invoices or opportunities."""
    model = LINKED[column][0]
    query = select(model.id, model.contact_id).where(model.id.in_(sorted(ids)))
    return dict(session.execute(query).all()) if ids else {}


def overdue_task_contacts(session: Session, actor: Actor, days: int = 0, as_of: date | str | None = None,
                          owner: str | None = None) -> tuple[list[tuple[int, dict[str, Any]]], list]:
    """(contact id, {tasks, as_of, days}) by the contact's name; nobody is left out here (mail
    leaves out who opted out or cannot be reached)."""
    days = int(days)
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    if days < 0:
        raise BackofficeError(f"days {days}: the number of days overdue cannot be below 0")
    as_of = as_of or date.today()
    found = task_queries.overdue(session, actor, as_of - timedelta(days=days), owner)
    invoices = _contacts_of(session, "invoice", {t.invoice_id for t in found if t.invoice_id})
    opportunities = _contacts_of(session, "opportunity", {t.opportunity_id for t in found if t.opportunity_id})
    by_contact: dict[int, list[dict[str, Any]]] = {}
    for t in found:
        contact_id = t.contact_id or invoices.get(t.invoice_id) or opportunities.get(t.opportunity_id)
        if contact_id is None:
            continue
        by_contact.setdefault(contact_id, []).append({
            "id": t.id, "title": t.title, "due_on": t.due_on, "days_overdue": (as_of - t.due_on).days,
            "priority": t.priority, "owner": t.owner})
    names = dict(session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(sorted(by_contact))))
                 .all()) if by_contact else {}
    return [(contact_id, {"tasks": by_contact[contact_id], "as_of": as_of, "days": days})
            for contact_id in sorted(by_contact, key=lambda i: (names.get(i, "").casefold(), i))], []
