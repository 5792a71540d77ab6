"""The CRM workbook: the contacts (the Contacts workbook's own Organisations and People
sheets), their interactions and opportunities (editable), and the open pipeline (read-only).

Every write to Interactions and Opportunities goes through the CRM services, one row at a
time (`post_each`, `update_each`): an opportunity's stage is one of `crm.stages` (offered as
a list), a lost one needs its reason, a won or lost one is closed and final; an interaction
is changed by its owner only, and one the mail merge logged stays as it is (its row is
locked). A service's refusal is marked at the cell of its problem's field. Rows are not
deleted from these sheets: an interaction is deleted with `backoffice crm interaction delete`
(its owner's), an opportunity is lost, not removed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.sheets import contacts_workbook, email_phone_sheets
from engine.crm import queries, rules, services
from engine.crm.models import INTERACTION_KINDS, Interaction, Opportunity
from engine.security.models import User
from engine.sheets.posting import post_each, update_each
from engine.sheets.spec import Column, PerUser, ReportSheet, SheetSpec, WorkbookSpec

AREA = services.AREA


def _opportunity_row(row: dict[str, Any]) -> dict[str, Any]:
    """Stage and currency as stored (the service fills in the defaults and checks them)."""
    for field, case in (("stage", str.lower), ("currency", str.upper)):
        if isinstance(row.get(field), str):
            row[field] = case(row[field].strip()) or None
    return row


def _opportunity_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each opportunity's probability and weighted value (open ones), from its stage."""
    stages = services.stages_of(session)
    details = {}
    for rid, v in rows.items():
        probability = stages.probability(v["stage"]) if v["stage"] in stages else None
        open_ = probability is not None and v["stage"] not in rules.CLOSED
        details[rid] = {"probability": probability / rules.HUNDRED if probability is not None else None,
                        "weighted": rules.weighted(v["value"], probability) if open_ else None,
                        "closed_on": v["closed_on"], "invoice_id": v["invoice_id"]}
    return details


def _interaction_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: {"mail_run_id": v["mail_run_id"], "message_id": v["message_id"]} for rid, v in rows.items()}


def _pipeline_rows(session: Session, actor) -> list[list[Any]]:
    return [[r["stage"], r["currency"], r["count"], r["value"], r["weighted"],
             r["probability"] / rules.HUNDRED if r["probability"] is not None else None]
            for r in queries.pipeline(session, actor, "stage")]


def _logins(session: Session) -> list[str]:
    return list(session.scalars(select(User.login).order_by(User.login)))


OWNER = Column("owner", "Owner", lookup="users", width=12)


def crm_workbook() -> WorkbookSpec:
    contacts = contacts_workbook()
    organisations, people = contacts.sheet("Organisations"), contacts.sheet("People")
    interactions = SheetSpec(
        name="Interactions", model=Interaction, area=AREA, order_by=("occurred_on", "id"),
        post=post_each(services.add_interaction, default="summary"),
        update=update_each(services.update_interaction),
        settled=lambda row: row.get("mail_run_id") is not None,   # logged by the mail merge: what was sent
        columns=(
            Column("contact_id", "Contact", type="integer", required=True, lookup="contacts", references="contacts",
                   labels="contacts", width=28),
            Column("kind", "Kind", type="choice", choices=INTERACTION_KINDS, required=True, width=9),
            Column("occurred_on", "Date", type="date", required=True, width=11),
            OWNER,
            Column("summary", "Summary", required=True, width=44),
            Column("follow_up_on", "Follow up", type="date", width=11),
            Column("mail_run_id", "Mail run", type="integer", computed=True, width=9),
            Column("message_id", "Message-ID", computed=True, width=30),
        ),
        derive=rules.interaction_defaults, rule=rules.check_interaction, computed=_interaction_details,
    )
    opportunities = SheetSpec(
        name="Opportunities", model=Opportunity, area=AREA, order_by=("id",),
        post=post_each(services.add_opportunity, default="title"),
        update=update_each(services.update_opportunity),
        settled=lambda row: row.get("stage") in rules.CLOSED,      # won or lost: final
        columns=(
            Column("contact_id", "Contact", type="integer", required=True, lookup="contacts", references="contacts",
                   labels="contacts", width=28),
            Column("title", "Title", required=True, width=30),
            Column("stage", "Stage", lookup="stages", width=13),
            Column("value", "Value", type="decimal", number_format="money", width=12),
            Column("currency", "Currency", lookup="currencies", width=9),
            Column("expected_close_on", "Expected close", type="date", width=13),
            OWNER,
            Column("lost_reason", "Lost reason", width=26),
            Column("probability", "Probability", type="decimal", computed=True, number_format="percent", width=11),
            Column("weighted", "Weighted value", type="decimal", computed=True, number_format="money", width=14),
            Column("closed_on", "Closed", type="date", computed=True, width=11),
            Column("invoice_id", "Invoice", type="integer", computed=True, width=9),
        ),
        derive=_opportunity_row, computed=_opportunity_details,
    )
    return WorkbookSpec(
        module="crm", title="CRM",
        sheets=(
            organisations, people, *email_phone_sheets(), interactions, opportunities,
        ),
        lookups={
            **contacts.lookups,
            "users": _logins,
            "stages": lambda session: list(services.stages_of(session).names),
            "currencies": lambda session: sorted(rules.CURRENCIES),
        },
        reports=(
            ReportSheet("Pipeline", AREA, (("Stage", 14), ("Currency", 9), ("Open", 8), ("Value", 14),
                                           ("Weighted value", 14), ("Probability", 11)),
                        PerUser(_pipeline_rows), formats={"Value": "money", "Weighted value": "money",
                                                          "Probability": "percent"}),
        ),
    )
