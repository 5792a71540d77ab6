"""Mail merge's part in erasing a person (the `erasing` hook of contacts, a bridge).

A mail run keeps one message row per recipient, so a resumed run sends no letter twice:
the rows stay (with their state and Message-ID), but the address they were sent to, the
name and any error text (which may quote the address) are removed; a run's list of skipped
contacts loses the person's name and the reason (which may quote the address).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.mailmerge.models import MailMessage, MailRun
from engine.security.roles import Actor


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    cid = plan.contact_id
    messages = list(session.scalars(select(MailMessage.id).where(MailMessage.contact_id == cid)))
    plan.blank(MailMessage.__table__, messages, {"address": None, "name": plan.erased_name, "error": None},
               "mail messages' address, name and error text")
    # A person left out of a run has no message row: every run's list is read (runs are few).
    for run_id, skipped in session.execute(select(MailRun.id, MailRun.skipped).order_by(MailRun.id)):
        if any(isinstance(s, dict) and s.get("contact_id") == cid for s in skipped or ()):
            rewritten = [{**s, "name": plan.erased_name, "reason": "erased"}
                         if isinstance(s, dict) and s.get("contact_id") == cid else s for s in skipped]
            plan.blank(MailRun.__table__, [run_id], {"skipped": rewritten}, "the person's name in a run's skipped list")
