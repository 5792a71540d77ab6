"""`/admin/assets`: the asset register over HTTP, as `backoffice assets` has it.

Each route parses, calls the register's services (`engine.admin.assets`) or queries with the
caller, and renders; the rules (one holder at a time, no leaver, what may change once
depreciation is recorded, a closed period refusing a posting) are the services'. A refusal
carries their field and code (`employee_id` / `assigned`, `disposed_on` / `posted_after`, ...),
and a read answers what `backoffice assets ... --json` prints. Money is exact: JSON strings or
numbers read from their text (`ExactNumbers`), never through a float. Assets are named by
their tag, employees by their number; creates and actions accept an `Idempotency-Key`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.admin import asset_queries as queries
from engine.admin import assets as services
from engine.api.support import (
    BodyId,
    CallerDep,
    Cursor,
    Day,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    IfMatch,
    JSONReply,
    Limit,
    Sort,
    Text,
    create,
    page,
    update,
    with_etag,
)

router = APIRouter(prefix="/admin", tags=["admin"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]
TagPath = Annotated[Text, Path(max_length=64, description="The asset's tag, e.g. LAP-0042.")]
Exact = Annotated[Decimal | None, Field(default=None, description="An exact decimal: a JSON string (\"1200.00\") "
                                                                   "or number.")]


class AssetIn(BaseModel):
    """An asset for the register (`assets add`)."""

    tag: Words = None
    description: Words = None
    category: Words = None
    purchased_on: Day | None = None
    cost: Exact = None
    supplier_id: BodyId | None = None
    location: Words = None
    warranty_ends_on: Day | None = None
    method: Words = Field(default=None, max_length=2000, description="straight_line (default) or declining_balance")
    useful_life_months: Annotated[int, Field(ge=-10**9, le=10**9)] | None = None
    residual_value: Exact = None
    declining_rate: Exact = Field(default=None, description="Declining balance: the yearly rate, \"0.25\" for 25 %.")


class AssignIn(BaseModel):
    employee: Annotated[Text, Field(max_length=64, description="The employee number, e.g. E0042.")]
    on: Day | None = None


class ReturnIn(BaseModel):
    on: Day | None = None


class DisposeIn(BaseModel):
    on: Day
    proceeds: Exact = None
    reason: Words = None


@router.get("/assets", summary="The assets by tag, with who has them and their book value today (`assets list`)")
def list_assets(request: Request, who: CallerDep, category: Annotated[Text | None, Query(max_length=64)] = None,
                employee: Annotated[Text | None, Query(max_length=64)] = None, disposed: bool = False,
                sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.assets(session, who.actor, category, employee, disposed)
    return page(rows, request, sort, cursor, limit)


@router.get("/asset-value", summary="The register's cost, depreciation and net book value on a date, by category "
                                    "and in total (`assets value`)")
def asset_value(who: CallerDep, on: Annotated[Day | None, Query()] = None) -> Response:
    with who.work() as session:
        return JSONReply(queries.value(session, who.actor, on))


@router.get("/assets/{tag}", summary="One asset with its assignments; its ETag is its version")
def read_asset(who: CallerDep, tag: TagPath) -> Response:
    with who.work() as session:
        return with_etag(queries.asset(session, who.actor, tag))


@router.get("/assets/{tag}/schedule", summary="An asset's depreciation month by month (`assets schedule`)")
def read_schedule(who: CallerDep, tag: TagPath) -> Response:
    with who.work() as session:
        return JSONReply(queries.schedule(session, who.actor, tag))


@router.post("/assets", status_code=201, summary="Add an asset to the register (and to the books when "
                                                 "admin.post_depreciation is on)")
def add_asset(request: Request, who: CallerDep, body: AssetIn, key: IdempotencyKey = None,
              digest: Digest = "") -> Response:
    def make(session: Session) -> dict[str, Any]:
        added = services.add_asset(session, who.actor, body.model_dump())
        return queries.asset(session, who.actor, added.tag)

    return create(request, who, key, digest, make)


@router.patch("/assets/{tag}", summary="Change an asset (needs If-Match): how it is valued only until its "
                                       "depreciation is recorded, nothing once disposed of")
def change_asset(request: Request, who: CallerDep, tag: TagPath, body: AssetIn, if_match: IfMatch = None) -> Response:
    changes = body.model_dump(exclude_unset=True)

    def change(session: Session, version: int) -> None:
        services.change_asset(session, who.actor, queries.find_asset(session, who.actor, tag).id, version, changes)

    return update(request, who, if_match, change,
                  lambda session: queries.asset(session, who.actor, changes.get("tag") or tag))


def _act(request: Request, who: Any, key: str | None, digest: str, tag: str, act) -> Response:
    def make(session: Session) -> dict[str, Any]:
        act(session, queries.find_asset(session, who.actor, tag))
        return queries.asset(session, who.actor, tag)

    return create(request, who, key, digest, make, status=200)


@router.post("/assets/{tag}/assign", summary="Give an asset to an employee (refused while someone has it)")
def assign(request: Request, who: CallerDep, tag: TagPath, body: AssignIn, key: IdempotencyKey = None,
           digest: Digest = "") -> Response:
    return _act(request, who, key, digest, tag, lambda session, a: services.assign_asset(
        session, who.actor, a.id, services.employee_numbered(session, body.employee).id, body.on or date.today()))


@router.post("/assets/{tag}/return", summary="Take an asset back from whoever has it")
def return_asset(request: Request, who: CallerDep, tag: TagPath, body: ReturnIn | None = None,
                 key: IdempotencyKey = None, digest: Digest = "") -> Response:
    on = (body.on if body else None) or date.today()
    return _act(request, who, key, digest, tag, lambda session, a: services.return_asset(session, who.actor, a.id, on))


@router.post("/assets/{tag}/dispose", summary="Dispose of an asset: its depreciation stops, whoever has it "
                                              "returns it that day")
def dispose(request: Request, who: CallerDep, tag: TagPath, body: DisposeIn, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
    return _act(request, who, key, digest, tag, lambda session, a: services.dispose_asset(
        session, who.actor, a.id, body.on, body.proceeds, body.reason))


class DepreciateIn(BaseModel):
    through: Annotated[Text | None, Field(default=None, max_length=7, pattern=r"^\d{4}-\d{2}$",
                                          description="The last month, YYYY-MM (default: last month).")] = None


@router.post("/asset-depreciation", summary="Record (and post, when admin.post_depreciation is on) every month of "
                                            "depreciation not recorded yet, up to a month (`assets depreciate`)")
def depreciate(request: Request, who: CallerDep, body: DepreciateIn | None = None, key: IdempotencyKey = None,
               digest: Digest = "") -> Response:
    through = date.fromisoformat(f"{body.through}-01") if body and body.through else None

    def make(session: Session) -> dict[str, Any]:
        return services.depreciation_run(session, who.actor, through)

    return create(request, who, key, digest, make, status=200)
