"""`/crm`: interactions, opportunities, the pipeline and the won/lost figures over HTTP, as
`backoffice crm` has them.

Each route parses, calls the CRM's services or queries with the caller, and renders; the
rules (kinds, stages, a lost reason, a closed opportunity final, who may change an
interaction) are the services'. A refusal carries their field and code (`stage` /
`unknown_stage`, `lost_reason` / `lost_reason`, `stage` / `closed`, `currency` /
`not_base_currency`, a 403 `permission`). A read answers what `backoffice crm ... --json`
prints. Values are exact decimals, sent as JSON strings or numbers (`ExactNumbers`). Creates
and actions accept an `Idempotency-Key`; an update or delete needs `If-Match` (the record's
ETag is its version).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.api.support import (
    BodyId,
    CallerDep,
    Cursor,
    Day,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    IdFilter,
    IfMatch,
    JSONReply,
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    expected_version,
    page,
    update,
    with_etag,
)
from engine.crm import queries, services

router = APIRouter(prefix="/crm", tags=["crm"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
Login = Annotated[Text | None, Query(max_length=64, description="Only this owner's (a login).")]


# -- interactions ------------------------------------------------------------------------------

class InteractionChange(BaseModel):
    """An interaction's fields; in an update only those sent change."""

    kind: Words = Field(default=None, max_length=2000, description="call, meeting, letter, email or note")
    summary: Words = None
    occurred_on: Day | None = Field(default=None, description="The day (default: today).")
    owner: Words = Field(default=None, max_length=2000, description="Login of its owner (default: the caller).")
    follow_up_on: Day | None = Field(default=None, description="Follow up on this day (null: none).")


class InteractionIn(InteractionChange):
    contact_id: BodyId | None = None


@router.get("/contacts/{contact_id}/interactions", summary="A contact's interactions, newest first "
                                                           "(`crm history`)")
def history(request: Request, who: CallerDep, contact_id: RecordId, sort: Sort = None, cursor: Cursor = None,
            limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.history(session, who.actor, contact_id)
    return page(rows, request, sort, cursor, limit)


@router.get("/follow-ups", summary="Interactions with a follow-up due by a day, the oldest due first "
                                   "(`crm follow-ups`)")
def follow_ups(request: Request, who: CallerDep,
               due_by: Annotated[Day, Query(description="Due on or before this day.")],
               owner: Login = None, sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.follow_ups(session, who.actor, due_by, owner)
    return page(rows, request, sort, cursor, limit)


@router.get("/interactions/{interaction_id}", summary="One interaction; its ETag is its version")
def read_interaction(who: CallerDep, interaction_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.interaction(session, who.actor, interaction_id))


@router.post("/interactions", status_code=201, summary="Record a call, meeting, letter, e-mail or note")
def add_interaction(request: Request, who: CallerDep, body: InteractionIn, key: IdempotencyKey = None,
                    digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = services.add_interaction(session, who.actor, body.model_dump())
        return queries.interaction(session, who.actor, added.id)

    return create(request, who, key, digest, make)


@router.patch("/interactions/{interaction_id}", summary="Change an interaction (its owner or an administrator; "
                                                        "needs If-Match)")
def change_interaction(request: Request, who: CallerDep, interaction_id: RecordId, body: InteractionChange,
                       if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.update_interaction(
                      session, who.actor, interaction_id, version, body.model_dump(exclude_unset=True)),
                  lambda session: queries.interaction(session, who.actor, interaction_id))


@router.delete("/interactions/{interaction_id}", status_code=204,
               summary="Delete an interaction (its owner or an administrator; not one the mail merge logged; "
                       "needs If-Match)")
def delete_interaction(who: CallerDep, interaction_id: RecordId, if_match: IfMatch = None) -> Response:
    version = expected_version(if_match)
    with who.work() as session:
        services.delete_interaction(session, who.actor, interaction_id, version)
    return Response(status_code=204)


# -- opportunities -----------------------------------------------------------------------------

class OpportunityChange(BaseModel):
    """An opportunity's fields; in an update only those sent change (a stage of won or lost
    closes it: use /win and /lose to date it)."""

    title: Words = None
    stage: Words = Field(default=None, max_length=2000, description="One of the stages of crm.stages.")
    value: Decimal | None = Field(default=None, description="An exact decimal: a JSON string or number.")
    currency: Words = Field(default=None, max_length=2000, description="ISO 4217 (default: the base currency).")
    expected_close_on: Day | None = None
    owner: Words = Field(default=None, max_length=2000, description="Login of its owner (default: the caller).")
    lost_reason: Words = None


class OpportunityIn(OpportunityChange):
    contact_id: BodyId | None = None


class WinIn(BaseModel):
    on: Day | None = Field(default=None, description="The day it was won (default: today).")
    invoice: bool = Field(default=False, description="Make it a draft sales invoice (needs the ledger).")


class LoseIn(BaseModel):
    reason: Words = Field(default=None, max_length=2000, description="Why it was lost (required).")
    on: Day | None = Field(default=None, description="The day it was lost (default: today).")


@router.get("/opportunities", summary="Opportunities, the oldest first, a page at a time (`crm opportunity list`)")
def list_opportunities(request: Request, who: CallerDep,
                       stage: Annotated[Text | None, Query(max_length=32, description="Only in this stage.")] = None,
                       owner: Login = None, contact_id: IdFilter = None,
                       open_only: Annotated[bool, Query(alias="open", description="Only those not won or lost.")]
                       = False,
                       sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.opportunities(session, who.actor, stage=stage, owner=owner, contact_id=contact_id,
                                     open_only=open_only)
    return page(rows, request, sort, cursor, limit)


@router.get("/opportunities/{opportunity_id}", summary="One opportunity; its ETag is its version")
def read_opportunity(who: CallerDep, opportunity_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.opportunity(session, who.actor, opportunity_id))


@router.post("/opportunities", status_code=201, summary="Add an opportunity")
def add_opportunity(request: Request, who: CallerDep, body: OpportunityIn, key: IdempotencyKey = None,
                    digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = services.add_opportunity(session, who.actor, body.model_dump())
        return queries.opportunity(session, who.actor, added.id)

    return create(request, who, key, digest, make)


@router.patch("/opportunities/{opportunity_id}", summary="Change an open opportunity (needs If-Match)")
def change_opportunity(request: Request, who: CallerDep, opportunity_id: RecordId, body: OpportunityChange,
                       if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.update_opportunity(
                      session, who.actor, opportunity_id, version, body.model_dump(exclude_unset=True)),
                  lambda session: queries.opportunity(session, who.actor, opportunity_id))


@router.post("/opportunities/{opportunity_id}/win", summary="Mark an opportunity won; with `invoice`, make it a "
                                                            "draft sales invoice")
def win(request: Request, who: CallerDep, opportunity_id: RecordId, body: WinIn | None = None,
        key: IdempotencyKey = None, digest: Digest = "") -> Response:
    sent = body or WinIn()

    def make(session: Session) -> dict[str, Any]:
        services.win_opportunity(session, who.actor, opportunity_id, on=sent.on, invoice=sent.invoice)
        return queries.opportunity(session, who.actor, opportunity_id)

    return create(request, who, key, digest, make, status=200)


@router.post("/opportunities/{opportunity_id}/lose", summary="Mark an opportunity lost, saying why")
def lose(request: Request, who: CallerDep, opportunity_id: RecordId, body: LoseIn, key: IdempotencyKey = None,
         digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        services.lose_opportunity(session, who.actor, opportunity_id, body.reason, on=body.on)
        return queries.opportunity(session, who.actor, opportunity_id)

    return create(request, who, key, digest, make, status=200)


# -- figures -----------------------------------------------------------------------------------

@router.get("/pipeline", summary="The open pipeline by stage or owner and currency: count, value, weighted value "
                                 "(`crm pipeline`)")
def pipeline(request: Request, who: CallerDep, by: Annotated[Literal["stage", "owner"], Query()] = "stage",
             owner: Login = None) -> Response:
    with who.work() as session:
        rows = queries.pipeline(session, who.actor, by, owner)
    return page(rows, request, None, None, None)


@router.get("/won-lost", summary="Opportunities won and lost in a period: count, value, win rate (`crm won-lost`)")
def won_lost(who: CallerDep, start: Annotated[Day, Query(alias="from", description="From this day.")],
             end: Annotated[Day, Query(alias="to", description="To this day (included).")]) -> Response:
    with who.work() as session:
        return JSONReply(queries.won_lost(session, who.actor, start, end))

