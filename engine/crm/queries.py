"""The CRM's reads for the doors and the management pack: each takes the acting user, checks
they may read contacts (the CRM's area) and hands out what the policy gate lets them see.

The pipeline counts open opportunities only (not won, not lost), per stage or per owner and
per currency (values in different currencies are never added up): how many, their value,
and their weighted value (value x the stage's probability, exact). Won and lost are counted
by the day they were closed; the win rate is won / (won + lost), by count.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.crm import rules
from engine.crm.models import Interaction, Opportunity
from engine.crm.services import AREA, get_interaction, get_opportunity, stages_of
from engine.errors import NotFound
from engine.security import gate
from engine.security.roles import Actor

INTERACTION_KEYS = ("id", "version", "contact_id", "kind", "occurred_on", "owner", "summary", "follow_up_on",
                    "mail_run_id", "message_id", "updated_by")
OPPORTUNITY_KEYS = ("id", "version", "contact_id", "title", "stage", "value", "currency", "expected_close_on",
                    "owner", "lost_reason", "closed_on", "invoice_id", "updated_by")


def _read(actor: Actor) -> None:
    actor.require("read", AREA)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids))).all())


CENT = Decimal("0.01")


def plain(value: Decimal) -> Decimal:
    """A stored amount as money is written, to the cent (1200.50, not 1200.5000 nor 1200.5),
    and to more places only where it has them."""
    exact = value.normalize()
    return exact.quantize(CENT) if exact.as_tuple().exponent >= -2 else Decimal(format(exact, "f"))


# -- interactions ------------------------------------------------------------------------------

def interaction_record(i: Interaction, contact: str | None) -> dict[str, Any]:
    return {**{k: getattr(i, k) for k in INTERACTION_KEYS}, "contact": contact}


def _interactions(session: Session, actor: Actor, found: list[Interaction]) -> list[dict[str, Any]]:
    names = _names(session, {i.contact_id for i in found})
    return gate.project(session, actor, "interactions", [interaction_record(i, names.get(i.contact_id))
                                                         for i in found])


def interaction(session: Session, actor: Actor, interaction_id: int) -> dict[str, Any]:
    _read(actor)
    return _interactions(session, actor, [get_interaction(session, interaction_id)])[0]


def history(session: Session, actor: Actor, contact_id: int) -> list[dict[str, Any]]:
    """A contact's interactions, newest first."""
    _read(actor)
    if session.get(Contact, contact_id) is None:
        raise NotFound(f"there is no contact #{contact_id}; `backoffice contacts list` shows them", "contact_id")
    found = session.scalars(select(Interaction).where(Interaction.contact_id == contact_id)
                            .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())).all()
    return _interactions(session, actor, list(found))


def follow_ups(session: Session, actor: Actor, due_by: date, owner: str | None = None) -> list[dict[str, Any]]:
    """Interactions with a follow-up due on or before `due_by` (of `owner`), the oldest due first."""
    _read(actor)
    query = (select(Interaction).where(Interaction.follow_up_on.is_not(None), Interaction.follow_up_on <= due_by)
             .order_by(Interaction.follow_up_on, Interaction.id))
    if owner:
        query = query.where(Interaction.owner == owner)
    return _interactions(session, actor, list(session.scalars(query)))


# -- opportunities -----------------------------------------------------------------------------

def opportunity_record(o: Opportunity, contact: str | None, stages: rules.Stages) -> dict[str, Any]:
    record = {k: getattr(o, k) for k in OPPORTUNITY_KEYS}
    record["value"] = plain(o.value)
    probability = stages.probability(o.stage) if o.stage in stages else None
    record |= {"contact": contact, "probability": probability,
               "weighted": rules.weighted(o.value, probability) if probability is not None
               and o.stage not in rules.CLOSED else None}
    return record


def _opportunities(session: Session, actor: Actor, found: list[Opportunity]) -> list[dict[str, Any]]:
    names, stages = _names(session, {o.contact_id for o in found}), stages_of(session)
    return gate.project(session, actor, "opportunities", [opportunity_record(o, names.get(o.contact_id), stages)
                                                          for o in found])


def opportunity(session: Session, actor: Actor, opportunity_id: int) -> dict[str, Any]:
    _read(actor)
    return _opportunities(session, actor, [get_opportunity(session, opportunity_id)])[0]


def opportunities(session: Session, actor: Actor, *, stage: str | None = None, owner: str | None = None,
                  contact_id: int | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    """Opportunities, the oldest first, filtered."""
    _read(actor)
    query = select(Opportunity).order_by(Opportunity.id)
    if stage:
        query = query.where(Opportunity.stage == stage.strip().lower())
    if owner:
        query = query.where(Opportunity.owner == owner)
    if contact_id is not None:
        query = query.where(Opportunity.contact_id == contact_id)
    if open_only:
        query = query.where(Opportunity.stage.not_in(rules.CLOSED))
    return _opportunities(session, actor, list(session.scalars(query)))


def pipeline(session: Session, actor: Actor, by: str = "stage", owner: str | None = None) -> list[dict[str, Any]]:
    """The open pipeline per stage (in the stages' order) or per owner, and per currency:
    count, value and weighted value."""
    _read(actor)
    if by not in ("stage", "owner"):
        raise NotFound(f"the pipeline is by stage or by owner, not {by!r}", "by")
    stages = stages_of(session)
    query = select(Opportunity.stage, Opportunity.owner, Opportunity.currency, Opportunity.value).where(
        Opportunity.stage.not_in(rules.CLOSED))
    if owner:
        query = query.where(Opportunity.owner == owner)
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for stage, who, currency, value in session.execute(query):
        probability = stages.probability(stage) if stage in stages else Decimal(0)
        total = totals[(stage if by == "stage" else who, currency)]
        total[0] += 1
        total[1] += value
        total[2] += value * probability / rules.HUNDRED
    order = {name: n for n, name in enumerate(stages.names)}
    keys = sorted(totals, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]) if by == "stage" else k)
    return [{by: key, "currency": currency, "count": totals[(key, currency)][0],
             "value": plain(totals[(key, currency)][1]),
             "weighted": totals[(key, currency)][2].quantize(Decimal("0.01")),
             **({"probability": stages.probability(key) if key in stages else None} if by == "stage" else {})}
            for key, currency in keys]


def won_lost(session: Session, actor: Actor, start: date, end: date) -> dict[str, Any]:
    """Opportunities won and lost between `start` and `end` (closed on those days): count and
    value per currency, and the win rate by count (None when none was closed)."""
    _read(actor)
    rows = session.execute(select(Opportunity.stage, Opportunity.currency, Opportunity.value)
                           .where(Opportunity.stage.in_(rules.CLOSED), Opportunity.closed_on >= start,
                                  Opportunity.closed_on <= end)).all()
    counted: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for stage, currency, value in rows:
        counted[(stage, currency)][0] += 1
        counted[(stage, currency)][1] += value
    currencies = sorted({c for _, c in counted})
    by_currency = [{"currency": c, **{f"{s}_{what}": (counted[(s, c)][0] if what == "count" else
                                                      plain(counted[(s, c)][1]))
                                      for s in rules.CLOSED for what in ("count", "value")}}
                   for c in currencies]
    won = sum(1 for stage, _, _ in rows if stage == rules.WON)
    rate = (Decimal(won) / Decimal(len(rows))).quantize(Decimal("0.0001")) if rows else None
    return {"from": start, "to": end, "won": won, "lost": len(rows) - won, "win_rate": rate,
            "by_currency": by_currency}
