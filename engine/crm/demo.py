"""The demo's CRM: calls, meetings, e-mails and notes with the first demo organisations over
the demo year (some with a follow-up, a few of them overdue on the demo's "today"), and
opportunities in every stage: open ones spread over the stages, some won (a few made draft
invoices when the ledger is on), some lost with their reasons. Seeded, through the CRM's
services; a second run adds nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import registry
from engine.contacts.models import Contact
from engine.crm import rules, services
from engine.crm.models import Opportunity
from engine.demo import SEED, DemoSummary
from engine.security.models import User
from engine.security.roles import SYSTEM

END = date(2026, 11, 27)            # the demo's "today" (the same day as the other modules')
START = END - timedelta(days=364)
OWNERS = ("sam", "mia", "admin")

SUMMARIES = {
    "call": ["Called about their next order", "Called to follow up the quote", "Returned their call about "
             "delivery times", "Called about payment terms"],
    "meeting": ["Met at their office: reviewed the year", "Meeting at the trade fair", "Visited the site with "
                "the engineer", "Quarterly review meeting"],
    "email": ["Sent the price list", "Sent the revised proposal", "Answered their question about stock"],
    "note": ["Prefers to be called in the morning", "New purchasing manager from next month", "Budget for next "
             "year is being set"],
}
PRODUCTS = ["Bolt supply contract", "Fastener kit for the new line", "Annual maintenance", "Spare parts stock",
            "Tooling upgrade", "Packaging run", "Pilot order", "Framework agreement"]
LOST_REASONS = ["price: a competitor was 12% cheaper", "timing: the project was postponed",
                "went with their existing supplier", "no budget this year"]


def _day(rng: random.Random, first: date = START, last: date = END) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def seed_crm(session: Session, summary: DemoSummary, organisations: int = 40) -> None:
    if session.scalar(select(func.count()).select_from(Opportunity)):
        return   # built already
    rng = random.Random(SEED + 45)
    owners = [o for o in OWNERS if session.scalar(select(User.id).where(User.login == o))]
    contacts = list(session.scalars(select(Contact.id).where(Contact.kind == "organisation").order_by(Contact.id)
                                    .limit(organisations)))
    if not owners or not contacts:
        return   # (the demo's users and contacts come first)
    interactions = 0
    for contact in contacts:
        for _ in range(rng.randint(2, 5)):
            kind = rng.choice(list(SUMMARIES))
            on = _day(rng)
            follow = on + timedelta(days=rng.choice((7, 14, 30))) if rng.random() < 0.3 else None
            services.add_interaction(session, SYSTEM, {
                "contact_id": contact, "kind": kind, "occurred_on": on, "owner": rng.choice(owners),
                "summary": rng.choice(SUMMARIES[kind]), "follow_up_on": follow})
            interactions += 1
    stages = services.stages_of(session)
    base = services.base_currency(session)
    invoices = registry.current().is_on("ledger")
    plan = [*stages.open * 4, *[rules.WON] * 8, *[rules.LOST] * 5]
    won = 0      # (those made draft invoices)
    for n, stage in enumerate(plan):
        contact = contacts[(n * 7) % len(contacts)]
        currency = base if n % 6 else rng.choice(("USD", "GBP", base))
        value = Decimal(rng.randint(20, 400) * 250)
        opened = _day(rng, START, END - timedelta(days=60))
        closes = opened + timedelta(days=rng.randint(30, 120))
        if stage not in rules.CLOSED:           # still open on the demo's "today": expected to close later
            closes = max(closes, END + timedelta(days=rng.randint(7, 90)))
        opportunity = services.add_opportunity(session, SYSTEM, {
            "contact_id": contact, "title": rng.choice(PRODUCTS), "stage": stages.open[0], "value": value,
            "currency": currency, "expected_close_on": closes, "owner": rng.choice(owners)})
        if stage == rules.WON:
            wanted = invoices and currency == base and won < 3      # a few become draft invoices
            won += wanted
            services.win_opportunity(session, SYSTEM, opportunity.id, on=min(closes, END), invoice=wanted)
        elif stage == rules.LOST:
            services.lose_opportunity(session, SYSTEM, opportunity.id, rng.choice(LOST_REASONS), on=min(closes, END))
        elif stage != stages.open[0]:
            services.update_opportunity(session, SYSTEM, opportunity.id, None, {"stage": stage})
    summary.created["interactions"] = interactions
    summary.created["opportunities"] = len(plan)
