"""The demo's CRM records, on SQLite (the whole demo runs on PostgreSQL in the stock and books
demo tests): interactions over the demo year with follow-ups, opportunities in every stage,
won ones with a few draft invoices and lost ones with their reasons; built fast, the same
each time, and not twice. Only the steps it stands on are run (users, contacts, the chart)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from engine.config import Settings
from engine.contacts.demo import seed_contacts
from engine.crm.demo import END, START, seed_crm
from engine.crm.models import Interaction, Opportunity
from engine.db.session import Database
from engine.demo import DemoSummary, seed_users
from engine.ledger.chart import install_chart
from engine.ledger.models import Invoice
from engine.security.roles import SYSTEM


def built(path) -> tuple[Database, DemoSummary, float]:
    db = Database.open(Settings(database_url=f"sqlite:///{path}"), create=True)
    summary = DemoSummary()
    with db.unit_of_work(SYSTEM, source="system") as session:
        seed_users(session, summary)
        seed_contacts(session, summary)
        install_chart(session, SYSTEM)
    started = time.perf_counter()
    with db.unit_of_work(SYSTEM, source="system") as session:
        seed_crm(session, summary)
    return db, summary, time.perf_counter() - started


def everything(db):
    with db.reading() as session:
        return (session.execute(sa.select(Interaction.contact_id, Interaction.kind, Interaction.occurred_on,
                                          Interaction.owner, Interaction.summary, Interaction.follow_up_on)
                                .order_by(Interaction.id)).all(),
                session.execute(sa.select(Opportunity.contact_id, Opportunity.title, Opportunity.stage,
                                          Opportunity.value, Opportunity.currency, Opportunity.closed_on,
                                          Opportunity.lost_reason, Opportunity.invoice_id)
                                .order_by(Opportunity.id)).all())


def test_the_demo_crm_has_every_stage_and_is_built_fast_the_same_each_time_and_once(tmp_path):
    db, summary, took = built(tmp_path / "one.db")
    twin, _, _ = built(tmp_path / "two.db")
    try:
        interactions, opportunities = everything(db)
        assert took < 2
        assert (summary.created["interactions"], summary.created["opportunities"]) == (
            len(interactions), len(opportunities))
        assert len(interactions) >= 100 and all(START <= i.occurred_on <= END for i in interactions)
        assert {i.kind for i in interactions} >= {"call", "meeting", "note"}
        assert any(i.follow_up_on and i.follow_up_on <= END for i in interactions)     # follow-ups due
        assert {o.stage for o in opportunities} == {"lead", "qualified", "proposal", "negotiation", "won", "lost"}
        assert all(o.lost_reason for o in opportunities if o.stage == "lost")
        assert all(o.closed_on for o in opportunities if o.stage in ("won", "lost"))
        invoiced = [o for o in opportunities if o.invoice_id]
        assert 1 <= len(invoiced) <= 3 and all(o.stage == "won" for o in invoiced)
        with db.reading() as session:
            assert {session.get(Invoice, o.invoice_id).status for o in invoiced} == {"draft"}
        assert everything(twin) == (interactions, opportunities)               # seeded: the same each time

        with db.unit_of_work(SYSTEM, source="system") as session:
            seed_crm(session, DemoSummary())
        assert everything(db) == (interactions, opportunities)                 # a second run adds nothing
    finally:
        db.dispose()
        twin.dispose()
