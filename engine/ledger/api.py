"""`/ledger`: the books over HTTP, one route for each `backoffice ledger` command.

Each route parses, calls a ledger service or query with the caller, and renders; the rules
(balance, open period, leaf accounts, who may reopen a period) are the services', so a bad
entry is refused here with the same problems (field, code, line) as at the command line and
in the workbook. Money comes in as a JSON string or number and is read straight into a
Decimal: the routes read JSON numbers from the request's text as Decimals (`ExactNumbers`),
so 0.1 + 0.2 is 0.3 and every digit sent is the digit posted. Money goes out as exact strings
(4 places, as `--json` prints it), dates as YYYY-MM-DD.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

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
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    page,
    with_etag,
)
from engine.ledger import queries, reports
from engine.ledger.beancount import export_beancount
from engine.ledger.chart import install_chart
from engine.ledger.invoices import (
    LineIn,
    aging,
    create_invoice,
    post_invoice,
    record_payment,
    statement,
)
from engine.ledger.reports import exact
from engine.ledger.services import (
    Line,
    close_period,
    open_year,
    post_entry,
    reopen_period,
    reverse_entry,
)

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=1_000_000)]   # the rules refuse beyond a column's size
Code = Annotated[Text, Field(max_length=200)]
Named = Annotated[Text, PathParam(max_length=200)]
Money = Annotated[Decimal, Field(description="An exact amount: a JSON string (\"450.10\") or number.")]
From = Annotated[Day, Query(alias="from", description="First day, YYYY-MM-DD.")]
To = Annotated[Day, Query(alias="to", description="Last day, YYYY-MM-DD (included).")]
SomeFrom = Annotated[Day | None, Query(alias="from", description="First day, YYYY-MM-DD.")]
SomeTo = Annotated[Day | None, Query(alias="to", description="Last day, YYYY-MM-DD (included).")]
AsOf = Annotated[Day, Query(description="The day, YYYY-MM-DD (its postings included).")]


def _entry_key(entry: str) -> int | str:
    """An entry named in a path: its id (digits an id can be) or its number (JE-2026-00017)."""
    digits = entry.strip()
    return int(digits) if digits.isascii() and digits.isdigit() and int(digits) <= MAX_ID else entry


# -- the chart ------------------------------------------------------------------------------------

@router.get("/accounts", summary="The chart of accounts, in code order")
def list_accounts(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
                  limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.account_records(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.post("/accounts/install", summary="Add the default chart's missing accounts (`ledger chart --install`)")
def install_accounts(who: CallerDep) -> Response:
    with who.work() as session:
        added = install_chart(session, who.actor)
    return with_etag({"added": added})


@router.get("/accounts/{code}", summary="One account; its ETag is its version")
def read_account(who: CallerDep, code: Named) -> Response:
    with who.work() as session:
        return with_etag(queries.account_record(session, who.actor, code))


@router.get("/accounts/{code}/ledger", summary="An account's postings with a running balance (`ledger account`)")
def account_ledger(who: CallerDep, code: Named, start: From, end: To) -> Response:
    with who.work() as session:
        found = reports.general_ledger(session, who.actor, code.strip(), start, end)
    return with_etag({"start": start, "end": end, **exact(found)})


# -- periods --------------------------------------------------------------------------------------

class YearIn(BaseModel):
    year: int


@router.get("/periods", summary="The fiscal periods and their status")
def list_periods(request: Request, who: CallerDep, sort: Sort = None, cursor: Cursor = None,
                 limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.period_records(session, who.actor)
    return page(rows, request, sort, cursor, limit)


@router.post("/periods", status_code=201, summary="Open a year's twelve monthly periods (`ledger periods YEAR`)")
def open_periods(request: Request, who: CallerDep, body: YearIn, key: IdempotencyKey = None,
                 digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        return {"year": body.year, "opened": [p.name for p in open_year(session, who.actor, body.year)]}

    return create(request, who, key, digest, make)


@router.post("/periods/{name}/close", summary="Close a month: its result moves into retained earnings")
def close(request: Request, who: CallerDep, name: Named, key: IdempotencyKey = None, digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        close_period(session, who.actor, name.strip(), who.settings.ledger.retained_earnings)
        session.flush()
        return queries.period_record(session, who.actor, name)

    return create(request, who, key, digest, make, status=200)


@router.post("/periods/{name}/reopen", summary="Reopen a closed month (a role that may reopen periods)")
def reopen(request: Request, who: CallerDep, name: Named, key: IdempotencyKey = None, digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        reopen_period(session, who.actor, name.strip())
        session.flush()
        return queries.period_record(session, who.actor, name)

    return create(request, who, key, digest, make, status=200)


# -- journal entries ------------------------------------------------------------------------------

class LineBody(BaseModel):
    """A line: an account's code and a debit or a credit (the other left out, or 0)."""

    account: Code = ""
    debit: Money | None = None
    credit: Money | None = None
    contact_id: BodyId | None = None
    description: Words = None


class EntryIn(BaseModel):
    entry_date: Day
    memo: Words = ""
    lines: list[LineBody] = Field(max_length=10_000)


class ReversalIn(BaseModel):
    entry_date: Day | None = Field(default=None, description="Default: the entry's own date.")
    memo: Words = None


@router.get("/entries", summary="Posted journal entries, filtered, sorted and a page at a time")
def list_entries(request: Request, who: CallerDep, start: SomeFrom = None, end: SomeTo = None,
                 account: Annotated[Text | None, Query(max_length=16, description="Entries with a line on it.")] = None,
                 source: Annotated[Text | None, Query(max_length=16, description="manual, reversal, close, "
                                                     "sales, purchase, payment...")] = None,
                 contact_id: IdFilter = None, sort: Sort = None, cursor: Cursor = None,
                 limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.entry_records(session, who.actor, start, end, account, source, contact_id)
    return page(exact(rows), request, sort, cursor, limit)


@router.get("/entries/{entry}", summary="One entry (by id or number) with its lines; its ETag is its version")
def read_entry(who: CallerDep, entry: Named) -> Response:
    with who.work() as session:
        return with_etag(exact(queries.entry_record(session, who.actor, _entry_key(entry))))


@router.post("/entries", status_code=201, summary="Post a balanced journal entry (refused with every problem if not)")
def post(request: Request, who: CallerDep, body: EntryIn, key: IdempotencyKey = None, digest: Digest = "") -> Response:
    lines = [Line(x.account, debit=x.debit or Decimal(0), credit=x.credit or Decimal(0), contact_id=x.contact_id,
                  description=x.description) for x in body.lines]

    def make(session: Any) -> dict[str, Any]:
        entry = post_entry(session, who.actor, body.entry_date, lines, memo=body.memo or "")
        return exact(queries.entry_record(session, who.actor, entry.id))

    return create(request, who, key, digest, make)


@router.post("/entries/{entry}/reverse", status_code=201, summary="Post the mirror image of an entry")
def reverse(request: Request, who: CallerDep, entry: Named, body: ReversalIn | None = None,
            key: IdempotencyKey = None, digest: Digest = "") -> Response:
    body = body or ReversalIn()

    def make(session: Any) -> dict[str, Any]:
        mirror = reverse_entry(session, who.actor, _entry_key(entry), body.entry_date, body.memo)
        return exact(queries.entry_record(session, who.actor, mirror.id))

    return create(request, who, key, digest, make)


# -- invoices and payments ------------------------------------------------------------------------

class InvoiceLineBody(BaseModel):
    description: Code = ""
    quantity: Money
    unit_price: Money
    account_code: Annotated[Text | None, Field(max_length=200)] = None
    tax_rate: Money = Decimal(0)
    item_id: BodyId | None = None


class InvoiceIn(BaseModel):
    kind: Code = Field(description="sales (an invoice to a customer) or purchase (a bill from a supplier).")
    contact_id: BodyId
    issued_on: Day
    due_on: Day | None = Field(default=None, description="Default: 30 days after the invoice date.")
    reference: Annotated[Text | None, Field(max_length=200)] = None
    lines: list[InvoiceLineBody] = Field(max_length=10_000)
    post: bool = Field(default=False, description="Post it at once (else it stays a draft).")


class ShareIn(BaseModel):
    invoice: BodyId | Annotated[Text, Field(max_length=64)] = Field(description="The invoice's id or number.")
    amount: Money


class PaymentIn(BaseModel):
    kind: Code = Field(description="received (from a customer) or paid (to a supplier).")
    contact_id: BodyId
    paid_on: Day
    amount: Money
    settles: list[ShareIn] = Field(default_factory=list, max_length=10_000)
    bank_account: Annotated[Text | None, Field(max_length=200)] = Field(
        default=None, description="Default: the chart's bank account.")
    reference: Annotated[Text | None, Field(max_length=200)] = None


@router.get("/invoices", summary="Invoices and bills, filtered, sorted and a page at a time")
def list_invoices(request: Request, who: CallerDep,
                  kind: Annotated[Text | None, Query(max_length=16, description="sales or purchase.")] = None,
                  status: Annotated[Text | None, Query(max_length=16, description="draft or posted.")] = None,
                  contact_id: IdFilter = None, start: SomeFrom = None, end: SomeTo = None,
                  sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.invoice_records(session, who.actor, kind, status, contact_id, start, end)
    return page(exact(rows), request, sort, cursor, limit)


@router.get("/invoices/{invoice_id}", summary="One invoice or bill with its lines; its ETag is its version")
def read_invoice(who: CallerDep, invoice_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(exact(queries.invoice_record(session, who.actor, invoice_id)))


@router.post("/invoices", status_code=201, summary="Write a draft invoice or bill (`post: true` posts it at once)")
def add_invoice(request: Request, who: CallerDep, body: InvoiceIn, key: IdempotencyKey = None,
                digest: Digest = "") -> Response:
    lines = [LineIn(x.description, x.quantity, x.unit_price, x.account_code, x.tax_rate, x.item_id)
             for x in body.lines]

    def make(session: Any) -> dict[str, Any]:
        made = create_invoice(session, who.actor, body.kind, body.contact_id, body.issued_on, body.due_on, lines,
                              body.reference)
        if body.post:
            made = post_invoice(session, who.actor, made.id)
        session.flush()
        return exact(queries.invoice_record(session, who.actor, made.id))

    return create(request, who, key, digest, make)


@router.post("/invoices/{invoice_id}/post", summary="Post a draft: it is numbered and its entry posted, once only")
def post_draft(request: Request, who: CallerDep, invoice_id: RecordId, key: IdempotencyKey = None,
               digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        post_invoice(session, who.actor, invoice_id)
        session.flush()
        return exact(queries.invoice_record(session, who.actor, invoice_id))

    return create(request, who, key, digest, make, status=200)


@router.post("/payments", status_code=201, summary="Record a payment and settle invoices with it")
def pay(request: Request, who: CallerDep, body: PaymentIn, key: IdempotencyKey = None,
        digest: Digest = "") -> Response:
    shares = [(x.invoice, x.amount) for x in body.settles]
    bank = {"bank_account": body.bank_account} if body.bank_account is not None else {}

    def make(session: Any) -> dict[str, Any]:
        payment = record_payment(session, who.actor, body.kind, body.contact_id, body.paid_on, body.amount, shares,
                                 reference=body.reference, **bank)
        return exact(queries.payment_record(session, who.actor, payment.id))

    return create(request, who, key, digest, make)


# -- reports --------------------------------------------------------------------------------------

@router.get("/trial-balance", summary="Every account's balance at the end of a day, and the totals")
def trial_balance(who: CallerDep, as_of: AsOf) -> Response:
    with who.work() as session:
        found = reports.trial_balance(session, who.actor, as_of)
    return with_etag({"as_of": as_of, **exact(found)})


@router.get("/pnl", summary="Profit and loss for a span of days, beside the span just before it")
def profit_and_loss(who: CallerDep, start: From, end: To) -> Response:
    with who.work() as session:
        return with_etag(exact(reports.profit_and_loss(session, who.actor, start, end)))


@router.get("/balance-sheet", summary="Assets, liabilities and equity at the end of a day")
def balance_sheet(who: CallerDep, as_of: AsOf) -> Response:
    with who.work() as session:
        return with_etag(exact(reports.balance_sheet(session, who.actor, as_of)))


@router.get("/aging", summary="Open invoices per contact by days past due")
def aging_report(who: CallerDep, as_of: AsOf,
                 payables: Annotated[bool, Query(description="What we owe suppliers (default: receivables).")]
                 = False) -> Response:
    with who.work() as session:
        rows = aging(session, who.actor, "purchase" if payables else "sales", as_of)
    fields = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "total")
    return with_etag({"as_of": as_of, "kind": "purchase" if payables else "sales",
                      "rows": [{"contact_id": r.contact_id, "contact": r.contact,
                                **exact({f: getattr(r, f) for f in fields})} for r in rows]})


@router.get("/statement/{contact_id}", summary="A customer's statement: opening balance, movements, what is owed")
def customer_statement(who: CallerDep, contact_id: RecordId, start: From, end: To) -> Response:
    with who.work() as session:
        found = statement(session, who.actor, contact_id, start, end)
    return with_etag({"contact_id": contact_id, **exact(found)})


@router.get("/export/beancount", response_class=PlainTextResponse,
            summary="The books as a beancount file (`ledger export-beancount`)")
def beancount(who: CallerDep) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "books.beancount"
        with who.work() as session:
            export_beancount(session, who.actor, path, who.settings.ledger.base_currency)
        return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8")
