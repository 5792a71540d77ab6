"""CRM operations, each inside the caller's unit of work (one transaction): interactions
typed by people or logged by the mail merge, and opportunities through their stages.

Who may do what: whoever writes contacts writes CRM records (the module's area is
`contacts`). An interaction typed by a person is changed or deleted by its owner, or by an
administrator (one who may write user accounts): a colleague's note of a call is theirs. One
the mail merge logged is the record of what was sent, with its run and Message-ID: it stays
as it is (`rules.check_interaction_change`).

An opportunity moves through the stages of `crm.stages`; won or lost it is closed (dated
`closed_on`) and final (`rules.check_opportunity_change` says why). Winning it with an
invoice wanted announces `hooks.opportunity_won`; the ledger's bridge makes the draft invoice
and names it here (`attach_invoice`). With the ledger switched off that is refused before
anything is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import registry
from engine.config import CrmSettings, LedgerSettings
from engine.contacts.models import Contact
from engine.crm import rules
from engine.crm.hooks import opportunity_won
from engine.crm.models import Interaction, Opportunity
from engine.db.base import apply_changes, flush_guarded, require_version
from engine.errors import NotFound, PermissionDenied, ValidationFailed
from engine.problems import Problem
from engine.security.models import User
from engine.security.roles import Actor

AREA = "contacts"
INTERACTION_FIELDS = ("contact_id", "kind", "occurred_on", "owner", "summary", "follow_up_on")
OPPORTUNITY_FIELDS = ("contact_id", "title", "stage", "value", "currency", "expected_close_on", "owner",
                      "lost_reason")


def stages_of(session: Session) -> rules.Stages:
    """The stages in force (`crm.stages`, carried by the unit of work), checked once."""
    return rules.parse_stages((session.info.get("crm") or CrmSettings()).stages)


def base_currency(session: Session) -> str:
    return (session.info.get("ledger") or LedgerSettings()).base_currency


def _references(session: Session, values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    contact_id = values.get("contact_id")
    if contact_id is not None and session.get(Contact, contact_id) is None:
        problems.append(Problem("contact_id", "reference", f"there is no contact #{contact_id}; `backoffice contacts "
                                                           "list` shows them"))
    login = values.get("owner")
    if login and session.scalars(select(User.id).where(User.login == login)).first() is None:
        problems.append(Problem("owner", "reference", f"there is no user {login!r}; `backoffice users list` shows "
                                                      "them"))
    return problems


# -- interactions ------------------------------------------------------------------------------

def add_interaction(session: Session, actor: Actor, values: Mapping[str, Any]) -> Interaction:
    """Record a call, meeting, letter, e-mail or note with a contact (owner: by default
    whoever records it; date: by default today)."""
    actor.require("write", AREA)
    row = rules.interaction_defaults({k: values.get(k) for k in INTERACTION_FIELDS})
    row["owner"] = row.get("owner") or actor.login
    row["occurred_on"] = row.get("occurred_on") or date.today()
    problems = rules.check_interaction(row) + _references(session, row)
    if problems:
        raise ValidationFailed(problems)
    interaction = Interaction(**row, updated_by=actor.login)
    session.add(interaction)
    session.flush()
    return interaction


def get_interaction(session: Session, interaction_id: int) -> Interaction:
    found = session.get(Interaction, interaction_id)
    if found is None:
        raise NotFound(f"there is no interaction #{interaction_id}; `backoffice crm history CONTACT` shows a "
                       "contact's", "id")
    return found


def _may_change(actor: Actor, interaction: Interaction) -> None:
    if interaction.owner != actor.login and not actor.may("write", "users"):
        raise PermissionDenied(f"interaction #{interaction.id} is {interaction.owner}'s: only its owner or an "
                               "administrator may change or delete it", "owner")


def update_interaction(session: Session, actor: Actor, interaction_id: int, expected_version: int | None,
                       changes: Mapping[str, Any]) -> Interaction:
    actor.require("write", AREA)
    interaction = get_interaction(session, interaction_id)
    require_version(interaction, expected_version, f"interaction #{interaction.id}")
    _may_change(actor, interaction)
    problems = rules.check_interaction_change(interaction.mail_run_id is not None)
    row = rules.interaction_defaults({f: getattr(interaction, f) for f in INTERACTION_FIELDS}
                                     | {k: v for k, v in changes.items() if k in INTERACTION_FIELDS})
    row["owner"] = row.get("owner") or interaction.owner      # a cell emptied: it stays whose it was
    problems += rules.check_interaction(row) + _references(session, {k: v for k, v in changes.items()
                                                                     if k in ("contact_id", "owner")})
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, interaction, row, actor.login)
    return interaction


def delete_interaction(session: Session, actor: Actor, interaction_id: int, expected_version: int | None) -> None:
    actor.require("write", AREA)
    interaction = get_interaction(session, interaction_id)
    require_version(interaction, expected_version, f"interaction #{interaction.id}")
    _may_change(actor, interaction)
    problems = rules.check_interaction_change(interaction.mail_run_id is not None)
    if problems:
        raise ValidationFailed(problems)
    session.delete(interaction)
    flush_guarded(session, interaction, interaction.version)


def log_mailed(session: Session, *, contact_id: int, channel: str, run_id: int, message_id: str | None,
               template: str, sent_at: datetime, started_by: str) -> None:
    """A message the mail merge sent (or printed) becomes an interaction of its contact, owned
    by whoever started the run, with the run and the Message-ID. Idempotent: a message already
    logged (its Message-ID, or for a printed letter its run and contact) is not logged twice.
    A run started by the engine itself (no user) logs nothing: an interaction's owner is a person."""
    kind = "email" if channel == "email" else "letter"
    if message_id is not None:
        known = select(Interaction.id).where(Interaction.message_id == message_id)
    else:
        known = select(Interaction.id).where(Interaction.mail_run_id == run_id, Interaction.contact_id == contact_id,
                                             Interaction.kind == kind)
    if session.scalars(known).first() is not None:
        return
    if session.scalars(select(User.id).where(User.login == started_by)).first() is None:
        return
    how = "sent by e-mail" if kind == "email" else "printed as a letter"
    on = sent_at.astimezone(UTC).date() if sent_at.tzinfo else sent_at.date()
    session.add(Interaction(contact_id=contact_id, kind=kind, occurred_on=on, owner=started_by,
                            summary=f"{template} {how} (mail run {run_id})", mail_run_id=run_id,
                            message_id=message_id, updated_by=started_by))
    session.flush()


# -- opportunities -----------------------------------------------------------------------------

def _prepared(session: Session, values: Mapping[str, Any]) -> tuple[dict[str, Any], rules.Stages]:
    stages = stages_of(session)
    return rules.opportunity_defaults({k: values.get(k) for k in OPPORTUNITY_FIELDS}, stages,
                                      base_currency(session)), stages


def add_opportunity(session: Session, actor: Actor, values: Mapping[str, Any]) -> Opportunity:
    """A new opportunity (owner: by default whoever adds it; stage: by default the first).
    One added as won or lost is closed at once (dated `closed_on`, default today)."""
    actor.require("write", AREA)
    row, stages = _prepared(session, values)
    row["owner"] = row.get("owner") or actor.login
    problems = rules.check_opportunity(row, stages) + _references(session, row)
    if problems:
        raise ValidationFailed(problems)
    if row["stage"] in rules.CLOSED:
        row["closed_on"] = values.get("closed_on") or date.today()
    opportunity = Opportunity(**row, updated_by=actor.login)
    session.add(opportunity)
    session.flush()
    if row["stage"] == rules.WON:
        _announce_won(session, actor, opportunity, invoice_wanted=False)
    return opportunity


def get_opportunity(session: Session, opportunity_id: int) -> Opportunity:
    found = session.get(Opportunity, opportunity_id)
    if found is None:
        raise NotFound(f"there is no opportunity #{opportunity_id}; `backoffice crm opportunity list` shows them",
                       "id")
    return found


def update_opportunity(session: Session, actor: Actor, opportunity_id: int, expected_version: int | None,
                       changes: Mapping[str, Any], *, invoice: bool = False) -> Opportunity:
    """Change an opportunity's fields; a change of stage to won or lost closes it (dated
    `closed_on` in `changes`, default today). `invoice`: when it is won, make it a draft
    invoice (the ledger's bridge)."""
    actor.require("write", AREA)
    opportunity = get_opportunity(session, opportunity_id)
    require_version(opportunity, expected_version, f"opportunity #{opportunity.id}")
    merged = {f: getattr(opportunity, f) for f in OPPORTUNITY_FIELDS} | {k: v for k, v in changes.items()
                                                                           if k in OPPORTUNITY_FIELDS}
    row, stages = _prepared(session, merged)
    row["owner"] = row.get("owner") or opportunity.owner
    unchanged = all(getattr(opportunity, f) == row[f] for f in OPPORTUNITY_FIELDS)
    problems = [] if unchanged else rules.check_opportunity_change(opportunity.stage, f"opportunity #{opportunity.id}")
    problems += rules.check_opportunity(row, stages) + _references(session, {k: v for k, v in changes.items()
                                                                             if k in ("contact_id", "owner")})
    if invoice and row["stage"] != rules.WON:
        problems.append(Problem("invoice", "not_won", "only a won opportunity becomes an invoice"))
    if invoice and not problems and not registry.current().is_on("ledger"):
        problems.append(Problem("invoice", "ledger_off", "the ledger module is switched off: no invoice can be made; "
                                                         "win it without an invoice, or switch the ledger on"))
    if problems:
        raise ValidationFailed(problems)
    closing = row["stage"] in rules.CLOSED and opportunity.stage not in rules.CLOSED
    if closing:
        row["closed_on"] = changes.get("closed_on") or date.today()
    apply_changes(session, opportunity, row, actor.login)
    if closing and row["stage"] == rules.WON:
        _announce_won(session, actor, opportunity, invoice_wanted=invoice)
    return opportunity


def win_opportunity(session: Session, actor: Actor, opportunity_id: int, *, on: date | None = None,
                    invoice: bool = False) -> Opportunity:
    """Mark an opportunity won on `on` (default today); `invoice`: and make it a draft invoice."""
    return update_opportunity(session, actor, opportunity_id, None, {"stage": rules.WON, "closed_on": on},
                              invoice=invoice)


def lose_opportunity(session: Session, actor: Actor, opportunity_id: int, reason: str | None, *,
                     on: date | None = None) -> Opportunity:
    """Mark an opportunity lost on `on` (default today), saying why (required)."""
    return update_opportunity(session, actor, opportunity_id, None,
                              {"stage": rules.LOST, "lost_reason": reason, "closed_on": on})


def _announce_won(session: Session, actor: Actor, opportunity: Opportunity, *, invoice_wanted: bool) -> None:
    opportunity_won.announce(session, actor, opportunity.id, contact_id=opportunity.contact_id,
                             title=opportunity.title, value=opportunity.value, currency=opportunity.currency,
                             won_on=opportunity.closed_on, invoice_wanted=invoice_wanted)
    if invoice_wanted and opportunity.invoice_id is None:
        raise ValidationFailed([Problem("invoice", "not_made", "no invoice was made: the bridge to the ledger "
                                                               "(won_invoice) is not installed")])


def attach_invoice(session: Session, opportunity_id: int, invoice_id: int) -> None:
    """Name the draft invoice a won opportunity became (the ledger's bridge calls it)."""
    opportunity = get_opportunity(session, opportunity_id)
    opportunity.invoice_id = invoice_id
    session.flush()
