"""`/quality`: inspection plans, held lots and their inspections, dispositions, nonconformance
reports with their actions, rates and capability over HTTP, as `backoffice quality` has them.

Each route parses, calls the quality services (`services`, `ncr`) or queries with the caller,
and renders; the sampling, the decision of an inspection, the quarantine, the workflow of a
nonconformance and who may do what are theirs. A refusal carries the services' field and
code (`value` / `missing`, `lot_id` / `not_held`, `status` / `workflow`, `verifier` /
`verifier`, a 403 `permission`), and a read answers what `backoffice quality ... --json`
prints, built by the same `queries.*_record` functions. Measurements and limits are exact
decimals, sent as JSON strings or numbers and read from their text (`ExactNumbers`), never
through a float. Creates and actions accept an `Idempotency-Key`; a nonconformance's update
needs `If-Match` (its ETag is its version).

Lots are named by id here (`GET /quality/lots` lists the held ones with their `lot_id`), plans
by their code, items by their SKU; a measurement names its characteristic by name or id.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.api.support import (
    MAX_ID,
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
    page,
    update,
    with_etag,
)
from engine.errors import ValidationFailed
from engine.problems import Problem
from engine.quality import dispositions, inspections, queries, services
from engine.quality import ncr as ncrs
from engine.quality.rules import Found

router = APIRouter(prefix="/quality", tags=["quality"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
Whole = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]   # a count the rules check (refused if < 1, ...)
Named = Annotated[Text, Path(max_length=200)]
Exact = Annotated[Decimal | None, Field(default=None, description="An exact decimal: a JSON string (\"9.95\") "
                                                                   "or number.")]


# -- plans -------------------------------------------------------------------------------------

class CharacteristicIn(BaseModel):
    """What is checked on every sample unit: a measurement within limits, or pass/fail."""

    name: Words = None
    kind: Words = Field(default=None, max_length=2000, description="measured (default) or attribute (pass/fail)")
    unit: Words = None
    nominal: Exact = None
    lower_limit: Exact = None
    upper_limit: Exact = None
    defect_class: Words = Field(default=None, max_length=2000, description="critical, major (default) or minor")


class PlanIn(BaseModel):
    """An inspection plan with its characteristics (`quality plan add`)."""

    code: Words = Field(default=None, max_length=2000, description="The plan's code, e.g. IP-BOLT-10.")
    sku: Words = Field(default=None, max_length=2000, description="The item inspected (tracked by lot).")
    supplier_id: BodyId | None = Field(default=None, description="A plan for this supplier's lots only.")
    sampling: Words = Field(default=None, max_length=2000, description="standard (ISO 2859-1, default) or fixed")
    level: Words = Field(default=None, max_length=2000, description="I, II (default), III or S-1 to S-4")
    aql: Exact = Field(default=None, description="Acceptance quality limit, e.g. \"2.5\" (standard sampling).")
    sample_size: Whole | None = Field(default=None, description="Fixed sampling: the sample size.")
    accept_number: Whole | None = Field(default=None, description="Fixed sampling: nonconforming units a lot may "
                                                                  "have and still be accepted.")
    switching: bool | None = Field(default=None, description="Switch normal/tightened/reduced (default: yes).")
    notes: Words = None
    characteristics: list[CharacteristicIn] = Field(default_factory=list, max_length=500)


@router.get("/plans", summary="The inspection plans, by code, a page at a time (`quality plan list`)")
def list_plans(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
               limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.plans(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.get("/plans/{code}", summary="One plan with its characteristics; its ETag is its version")
def read_plan(who: CallerDep, code: Named) -> Response:
    with who.work() as session:
        return with_etag(queries.plan(session, who.actor, code))


@router.post("/plans", status_code=201, summary="Add an inspection plan: lots of the item received from now on "
                                                "wait for inspection (the quality role)")
def add_plan(request: Request, who: CallerDep, body: PlanIn, key: IdempotencyKey = None,
             digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        item = queries.find_item(session, who.actor, body.sku) if body.sku else None
        values = body.model_dump(exclude={"sku", "characteristics"}) | {"item_id": item.id if item else None}
        added = services.add_plan(session, who.actor, values, [c.model_dump() for c in body.characteristics])
        return queries.plan(session, who.actor, added.code)

    return create(request, who, key, digest, make)


class ResumeIn(BaseModel):
    supplier_id: BodyId | None = Field(default=None, description="The supplier whose lots resume (none: the "
                                                                 "plan's lots from no supplier on record).")


@router.post("/plans/{code}/resume", summary="Resume inspection discontinued for a supplier (at tightened)")
def resume(request: Request, who: CallerDep, code: Named, body: ResumeIn | None = None, key: IdempotencyKey = None,
           digest: Digest = "") -> Response:
    supplier = (body or ResumeIn()).supplier_id

    def make(session: Session) -> dict[str, Any]:
        found = queries.find_plan(session, who.actor, code)
        state = inspections.resume_inspection(session, who.actor, found.id, supplier)
        return queries.resume_record(found.code, supplier, state)

    return create(request, who, key, digest, make, status=200)


# -- lots and inspections ----------------------------------------------------------------------

@router.get("/lots", summary="Lots held: awaiting inspection or quarantined, oldest first (`quality lots`)")
def held_lots(who: CallerDep) -> Response:
    with who.work() as session:
        return JSONReply({"items": queries.held_lots(session, who.actor)})


@router.get("/lots/{lot_id}/inspection", summary="What an inspection of the lot takes: the sample (size, code "
                                                 "letter, Ac, Re, severity) and the characteristics")
def inspection_task(who: CallerDep, lot_id: RecordId) -> Response:
    with who.work() as session:
        return JSONReply(queries.task_record(inspections.inspection_task(session, who.actor, lot_id)))


class MeasurementIn(BaseModel):
    """One characteristic of one sample unit as found: a measured value, or passed."""

    sample_number: Whole = Field(description="The sample unit, 1 to the sample size.")
    characteristic: BodyId | Annotated[Text, Field(max_length=200)] = Field(
        description="The characteristic's name (as the plan has it, any case) or id.")
    value: Exact = Field(default=None, description="A measured characteristic's value, e.g. \"10.02\".")
    passed: bool | None = Field(default=None, description="A pass/fail characteristic: passed or not.")


class InspectionIn(BaseModel):
    measurements: list[MeasurementIn] = Field(max_length=100_000, description="Every sample unit's every "
                                              "characteristic: one missing refuses the inspection.")
    inspected_on: Day | None = Field(default=None, description="The day of the inspection (default: today).")


def _found(task: inspections.Task, measurements: list[MeasurementIn]) -> list[Found]:
    """The measurements with each characteristic named by its id (a name is looked up in the
    lot's plan, in any case; an id is the rules' to check)."""
    found, unknown = [], []
    for line, m in enumerate(measurements, 1):
        named = m.characteristic
        if isinstance(named, str):
            characteristic = task.characteristic_named(named)
            if characteristic is None:
                unknown.append(Problem("characteristic_id", "extra", f"{m.characteristic!r} is not a characteristic "
                                       f"of the lot's plan {task.plan.code}; it has: {task.names}", line))
                continue
            named = characteristic.id
        found.append(Found(m.sample_number, named, m.value, m.passed))
    if unknown:
        raise ValidationFailed(unknown)
    return found


@router.post("/lots/{lot_id}/inspections", status_code=201,
             summary="Record every measurement of a lot awaiting inspection and decide it (accepted: available; "
                     "rejected: quarantined)")
def inspect(request: Request, who: CallerDep, lot_id: RecordId, body: InspectionIn, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        task = inspections.inspection_task(session, who.actor, lot_id)
        inspection = inspections.inspect_lot(session, who.actor, lot_id, _found(task, body.measurements),
                                             body.inspected_on or date.today())
        return queries.inspection_record(task, inspection)

    return create(request, who, key, digest, make)


class DispositionIn(BaseModel):
    decision: Words = Field(default=None, max_length=2000, description="release, rework, scrap or return")
    reason: Words = Field(default=None, max_length=2000, description="Why: kept with the decision.")
    decided_on: Day | None = Field(default=None, description="The day of the decision (default: today).")


@router.post("/lots/{lot_id}/disposition", status_code=201,
             summary="Decide what happens to a held lot (the quality role): release, rework, scrap or return it")
def dispose(request: Request, who: CallerDep, lot_id: RecordId, body: DispositionIn, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        decided = dispositions.dispose(session, who.actor, lot_id, body.decision, body.reason,
                                       body.decided_on or date.today())
        return queries.disposition_record(session, decided)

    return create(request, who, key, digest, make)


# -- nonconformances and their actions ---------------------------------------------------------

class NcrChange(BaseModel):
    """A nonconformance's fields; in an update only those sent change (`status`: a step of the
    workflow, open -> investigating -> action -> verification -> closed)."""

    title: Words = None
    description: Words = None
    severity: Words = Field(default=None, max_length=2000, description="critical, major (default) or minor")
    owner: Words = Field(default=None, max_length=2000, description="Login of its owner (default: the caller).")
    opened_on: Day | None = None
    lot_id: BodyId | None = None
    item_id: BodyId | None = None
    supplier_id: BodyId | None = None
    customer_id: BodyId | None = Field(default=None, description="The customer who complained.")
    containment: Words = None
    root_cause_method: Words = Field(default=None, max_length=2000, description="5 whys or fishbone")
    cause_category: Words = Field(default=None, max_length=2000, description="A fishbone category: people, "
                                  "machine, method, material, measurement or environment")
    root_cause: Words = None


class NcrUpdate(NcrChange):
    status: Words = Field(default=None, max_length=2000, description="The next state of the workflow.")
    closed_on: Day | None = Field(default=None, description="When closing: the day (default: today).")


@router.get("/ncrs", summary="Nonconformance reports, oldest first, a page at a time (`quality ncr list`)")
def list_ncrs(request: Request, who: CallerDep,
              status: Annotated[Text | None, Query(max_length=20, description="Only in this state.")] = None,
              open_only: Annotated[bool, Query(alias="open", description="Only those not closed.")] = False,
              sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.ncrs(session, who.actor, status=status, open_only=open_only)
    return page(rows, request, sort, cursor, limit)


@router.get("/ncrs/{ncr_id}", summary="One nonconformance with its actions; its ETag is its version")
def read_ncr(who: CallerDep, ncr_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.ncr(session, who.actor, ncr_id))


@router.post("/ncrs", status_code=201, summary="Open a nonconformance report (it starts open)")
def add_ncr(request: Request, who: CallerDep, body: NcrChange, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = ncrs.add_ncr(session, who.actor, body.model_dump(exclude_unset=True))
        return queries.ncr(session, who.actor, added.id)

    return create(request, who, key, digest, make)


@router.patch("/ncrs/{ncr_id}", summary="Change a nonconformance's fields, or its state one step on (needs If-Match)")
def change_ncr(request: Request, who: CallerDep, ncr_id: RecordId, body: NcrUpdate,
               if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: ncrs.update_ncr(session, who.actor, ncr_id, version,
                                                           body.model_dump(exclude_unset=True)),
                  lambda session: queries.ncr(session, who.actor, ncr_id))


class AdvanceIn(BaseModel):
    """The step's state (default: the next) and what the step needs: containment before
    investigating, the root cause and its method before acting."""

    to: Words = Field(default=None, max_length=2000, description="The state to go to (default: the next).")
    containment: Words = None
    root_cause: Words = None
    root_cause_method: Words = Field(default=None, max_length=2000, description="5 whys or fishbone")
    cause_category: Words = Field(default=None, max_length=2000, description="A fishbone category.")


@router.post("/ncrs/{ncr_id}/advance", summary="Move a nonconformance on to its next state (closing: the caller "
                                               "verifies it, so may not own it or one of its actions)")
def advance_ncr(request: Request, who: CallerDep, ncr_id: RecordId, body: AdvanceIn | None = None,
                key: IdempotencyKey = None, digest: Digest = "") -> Response:
    sent = (body or AdvanceIn()).model_dump(exclude_none=True)
    to = sent.pop("to", None)

    def make(session: Session) -> dict[str, Any]:
        ncrs.advance_ncr(session, who.actor, ncr_id, to, **sent)
        session.flush()
        return queries.ncr(session, who.actor, ncr_id)

    return create(request, who, key, digest, make, status=200)


class ActionIn(BaseModel):
    description: Words = None
    owner: Words = Field(default=None, max_length=2000, description="Login of who does it.")
    due_on: Day | None = None
    kind: Words = Field(default=None, max_length=2000, description="corrective (default) or preventive")


@router.post("/ncrs/{ncr_id}/actions", status_code=201, summary="Add a corrective or preventive action")
def add_action(request: Request, who: CallerDep, ncr_id: RecordId, body: ActionIn, key: IdempotencyKey = None,
               digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = ncrs.add_action(session, who.actor, {**body.model_dump(exclude_none=True), "ncr_id": ncr_id})
        return queries.action_record(added)

    return create(request, who, key, digest, make)


class DoneIn(BaseModel):
    done_on: Day | None = Field(default=None, description="The day it was done (default: today).")


@router.post("/actions/{action_id}/done", summary="Mark an action done")
def action_done(request: Request, who: CallerDep, action_id: RecordId, body: DoneIn | None = None,
                key: IdempotencyKey = None, digest: Digest = "") -> Response:
    day = (body or DoneIn()).done_on or date.today()

    def make(session: Session) -> dict[str, Any]:
        done = ncrs.update_action(session, who.actor, action_id, None, {"status": "done", "done_on": day})
        return queries.action_done_record(done)

    return create(request, who, key, digest, make, status=200)


@router.get("/actions/overdue", summary="Open actions past their due date, the most overdue first "
                                        "(`quality ncr overdue`)")
def overdue_actions(request: Request, who: CallerDep,
                    as_of: Annotated[Day | None, Query(description="On this day (default: today).")] = None,
                    sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.overdue_actions(session, who.actor, as_of or date.today())
    return page(rows, request, sort, cursor, limit)


# -- figures -----------------------------------------------------------------------------------

@router.get("/rates", summary="Lots inspected, rejection rate and first-pass yield per supplier or item "
                              "(`quality rates`)")
def rates(who: CallerDep, by: Annotated[Literal["supplier", "item"], Query()] = "supplier",
          since: Annotated[Day | None, Query(description="From this day.")] = None,
          until: Annotated[Day | None, Query(description="To this day (included).")] = None) -> Response:
    with who.work() as session:
        found = queries.rates(session, who.actor, by, since, until)
    return JSONReply({"items": [queries.rate_record(r, by) for r in found]})


@router.get("/capability/{sku}", summary="Cp, Cpk, Pp, Ppk and the control chart's signals of an item's measured "
                                         "characteristics (`quality capability`)")
def capability(who: CallerDep, sku: Named,
               characteristic: Annotated[Text | None, Query(max_length=200, description="Only this one.")] = None,
               supplier_id: IdFilter = None) -> Response:
    with who.work() as session:
        found = queries.capability(session, who.actor, sku, characteristic, supplier_id)
    return JSONReply({"items": [queries.capability_record(f) for f in found]})


@router.get("/supplier-quality", summary="Per supplier: lots inspected and rejected, open nonconformances, the "
                                         "lowest Cpk")
def supplier_quality(who: CallerDep) -> Response:
    with who.work() as session:
        return JSONReply({"items": queries.supplier_quality(session, who.actor)})
