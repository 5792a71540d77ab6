"""Mail merge's part in a person's data requests (the `exporting` and `erasing` hooks of
contacts, a bridge).

A run lists the contacts it skipped (with their name and why) in a JSON column no foreign
key finds: the runs that skipped the person are added to their export.

A mail run keeps one message row per recipient, so a resumed run sends no letter twice:
the rows stay (with their state and Message-ID), but the address they were sent to, the
name and any error text (which may quote the address) are removed; a run's list of skipped
contacts loses the person's name and the reason (which may quote the address).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.export import row_values
from engine.mailmerge.models import MailMessage, MailRun
from engine.security.roles import Actor


def _skipping(session: Session, contact_id: int) -> list[tuple[int, list[Any]]]:
    """(run id, its skipped list) of the runs that skipped the contact (runs are few: all are read)."""
    return [(run_id, skipped) for run_id, skipped in session.execute(
        select(MailRun.id, MailRun.skipped).order_by(MailRun.id))
        if any(isinstance(s, dict) and s.get("contact_id") == contact_id for s in skipped or ())]


def add_to_export(session: Session, actor: Actor, contact_id: int, found: dict[str, dict[int, Any]]) -> None:
    """Listener of `engine.contacts.hooks.exporting`."""
    ids = [run_id for run_id, _ in _skipping(session, contact_id)]
    for row in session.execute(select(MailRun.__table__).where(MailRun.id.in_(ids))).mappings():
        found.setdefault(MailRun.__tablename__, {})[row["id"]] = row_values(row)


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    cid = plan.contact_id
    messages = list(session.scalars(select(MailMessage.id).where(MailMessage.contact_id == cid)))
    plan.blank(MailMessage.__table__, messages, {"address": None, "name": plan.erased_name, "error": None},
               "mail messages' address, name and error text")
    for run_id, skipped in _skipping(session, cid):
        rewritten = [{**s, "name": plan.erased_name, "reason": "erased"}
                     if isinstance(s, dict) and s.get("contact_id") == cid else s for s in skipped]
        plan.blank(MailRun.__table__, [run_id], {"skipped": rewritten}, "the person's name in a run's skipped list")
