"""The Ledger workbook: Accounts (editable), Journal, Invoices and Payments (new rows are
posted on sync; posted rows are locked), and two read-only sheets, Trial balance and Aging.

Journal and Invoices hold one row per line. Rows that belong together carry the same label
in their first column (an entry "A", an invoice "May rent"): the label groups them, and the
sync replaces it with the number the posting gave (JE-2026-00412, INV-2026-00078). The
date, memo, contact and the like belong to the whole entry or invoice: the group's first
row that has one gives it, and a different one on another of its rows is refused.

Every row is posted through the same services as `backoffice ledger ...` (one entry, one
invoice, one payment at a time), so a closed period, an unbalanced entry or an account with
sub-accounts is refused the same way at every door, here at the cell it is about. An
unbalanced entry is caught before anything is posted, by validate too: each of its rows
says by how much it is out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.errors import ValidationFailed
from engine.inventory.models import Item
from engine.ledger import reports
from engine.ledger.chart import ROLES
from engine.ledger.invoices import (
    LineIn,
    aging,
    create_invoice,
    line_amounts,
    open_balance,
    post_invoice,
    record_payment,
)
from engine.ledger.models import (
    ACCOUNT_TYPES,
    DEBIT_NORMAL,
    INVOICE_KINDS,
    PAYMENT_KINDS,
    Account,
    Allocation,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
)
from engine.ledger.services import (
    AREA,
    EntryProblem,
    EntryRefused,
    Line,
    balances,
    check_lines,
    post_entry,
)
from engine.problems import Problem
from engine.sheets.spec import (
    Column,
    NewRows,
    Refusals,
    ReportSheet,
    RowsRefused,
    SheetSpec,
    WorkbookSpec,
)

PAYMENT_TERMS = timedelta(days=30)   # an invoice without a due date is due this long after it



# -- groups of rows: the lines of one entry or one invoice -----------------------------------

@dataclass
class Group:
    label: str
    rows: NewRows

    @property
    def first_row(self) -> int:
        return self.rows[0][0]

    def shared(self, key: str) -> Any:
        """The group's value of a column that belongs to the whole (its first one given)."""
        return next((values[key] for _, values in self.rows if values.get(key) is not None), None)


def groups(rows: NewRows, label: str) -> list[Group]:
    """Rows grouped by their label, in the order the labels first appear (a row without one
    is left out: its missing label is reported as such)."""
    found: dict[str, Group] = {}
    for row, values in rows:
        if values.get(label) is not None:
            key = str(values[label])
            found.setdefault(key, Group(key, [])).rows.append((row, values))
    return list(found.values())


def disagreements(group: Group, keys: dict[str, str], what: str) -> Refusals:
    """Rows giving a value of the whole (`keys`: column key -> its name) that differs from
    the one the group's first row gave."""
    refused = []
    for key, name in keys.items():
        value = group.shared(key)
        for row, values in group.rows:
            if values.get(key) is not None and values[key] != value:
                refused.append((row, key, f"{what} {group.label!r} already has the {name} {value}: the rows of "
                                          f"one {what} share it; leave this cell empty or type the same"))
    return refused


# An entry problem's field -> the Journal column that shows it.
JOURNAL_COLUMNS = {"account": "account", "debit": "debit", "credit": "credit", "contact_id": "contact_id",
                   "entry_date": "entry_date"}


def entry_refusals(group: Group, problems: list[EntryProblem]) -> Refusals:
    """An entry's problems at the cells they are about: a line's at its row and column, the
    date's at the entry's first row, the entry's own (it does not balance) at every row."""
    refused = []
    for p in problems:
        text = f"entry {group.label!r}: {p.message}"
        if p.line is not None and p.line <= len(group.rows):
            refused.append((group.rows[p.line - 1][0], JOURNAL_COLUMNS.get(p.field or ""), text))
        elif p.field in JOURNAL_COLUMNS:
            refused.append((group.first_row, JOURNAL_COLUMNS[p.field], text))
        else:
            refused += [(row, "entry", text) for row, _ in group.rows]
    return refused


def posted_already(session: Session, number, found: list[Group], what: str) -> Refusals:
    """Groups labelled with the number of something posted (`number`: that column): a posted
    entry or invoice cannot take new lines."""
    labels = [g.label for g in found]
    taken = set(session.scalars(select(number).where(number.in_(labels)))) if labels else set()
    return [(row, what, f"{g.label} is a posted {what}: it cannot take new lines; give your new {what} "
                        f"a label of its own (for example A)")
            for g in found if g.label in taken for row, _ in g.rows]


class GroupRefused(Exception):
    """A group could not be posted: where, and why."""

    def __init__(self, refusals: Refusals):
        self.refusals = refusals
        super().__init__("; ".join(message for _, _, message in refusals))


def post_groups(session: Session, sheet: str, rows: NewRows, found: list[Group], refused: Refusals,
                post_one: Callable[[Group], list[int]]) -> list[int]:
    """Post each group with `post_one` (its new line ids, in row order, or GroupRefused),
    going on after a refusal so one sync reports them all; returns the ids in sheet order."""
    context, ids = session.info["audit"], {}
    for group in found:
        context.posting_row = (sheet, group.first_row)   # the audit rows name the group's first row
        try:
            ids.update(zip((row for row, _ in group.rows), post_one(group), strict=True))
        except GroupRefused as refusal:
            refused += refusal.refusals
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return [ids[row] for row, _ in rows]


# -- Accounts ------------------------------------------------------------------------------

def _derive_account(row: dict[str, Any]) -> dict[str, Any]:
    row["active"] = True if row.get("active") is None else bool(row["active"])
    return row


def _account_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The parent's code, and each account's balance today on its normal side."""
    codes = {rid: values["code"] for rid, values in rows.items()}
    held = balances(session, date.today())
    return {rid: {"parent": codes.get(values.get("parent_id")),
                  "balance": _normal_side(values["type"], held.get(rid, Decimal(0)))}
            for rid, values in rows.items()}


def _normal_side(kind: str, net: Decimal) -> Decimal:
    return net if kind in DEBIT_NORMAL else -net


# -- Journal -------------------------------------------------------------------------------

def _line(values: dict[str, Any]) -> Line:
    return Line(values.get("account") or "", debit=values.get("debit") or Decimal(0),
                credit=values.get("credit") or Decimal(0), contact_id=values.get("contact_id"),
                description=values.get("description"))


def check_entries(rows: NewRows) -> Refusals:
    """What is wrong with the new entries whatever the database holds: each balances, has
    two lines, one side per line, one date and one memo."""
    refused: Refusals = []
    for group in groups(rows, "entry"):
        refused += disagreements(group, {"entry_date": "date", "memo": "memo"}, "entry")
        if group.shared("entry_date") is None:
            refused.append((group.first_row, "entry_date", f"entry {group.label!r} needs a date"))
        lines = [_line(values) for _, values in group.rows]
        refused += entry_refusals(group, check_lines(lines))
    return refused


def post_journal_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Journal rows: one entry per label, posted in the order the labels appear."""
    entries = groups(rows, "entry")
    refused = posted_already(session, JournalEntry.number, entries, "entry")

    def post_one(group: Group) -> list[int]:
        try:
            entry = post_entry(session, actor, group.shared("entry_date"), [_line(v) for _, v in group.rows],
                               memo=group.shared("memo") or "")
        except EntryRefused as refusal:
            raise GroupRefused(entry_refusals(group, refusal.found)) from None
        return list(session.scalars(select(JournalLine.id).where(JournalLine.entry_id == entry.id)
                                    .order_by(JournalLine.line_number)))

    return post_groups(session, sheet, rows, entries, refused, post_one)


def _journal_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A saved line's entry (number, date, memo), its account, and what became of the entry."""
    accounts = {i: (code, name) for i, code, name in session.execute(select(Account.id, Account.code, Account.name))}
    wanted = {values["entry_id"] for values in rows.values()}
    entries = {e.id: e for e in session.scalars(select(JournalEntry).where(JournalEntry.id.in_(wanted)))} if wanted else {}
    reversed_by = dict(session.execute(select(JournalEntry.reverses_id, JournalEntry.number)
                                       .where(JournalEntry.reverses_id.is_not(None))).all())
    numbers = {e.id: e.number for e in entries.values()}
    details = {}
    for rid, values in rows.items():
        entry = entries[values["entry_id"]]
        code, name = accounts[values["account_id"]]
        note = (f"reversed by {reversed_by[entry.id]}" if entry.id in reversed_by
                else f"reverses {numbers.get(entry.reverses_id) or 'an entry'}" if entry.reverses_id
                else "" if entry.source == "manual" else entry.source)
        details[rid] = {"entry": entry.number, "entry_date": entry.entry_date, "memo": entry.memo or None,
                        "account": code, "account_name": name, "note": note or None}
    return details


# -- Invoices ------------------------------------------------------------------------------

INVOICE_WHOLE = {"kind": "kind", "contact_id": "contact", "issued_on": "date", "due_on": "due date",
                 "reference": "reference"}


def _derive_invoice_line(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("account_code") is None and row.get("kind") == "sales":
        row["account_code"] = ROLES["sales"]
    if row.get("tax_rate") is None:
        row["tax_rate"] = Decimal(0)
    return row


def _check_invoice_line(row: dict[str, Any]) -> list[Problem]:
    problems = []
    if row.get("quantity") is not None and row["quantity"] <= 0:
        problems.append(Problem("quantity", "invalid", "the quantity must be more than 0"))
    if row.get("unit_price") is not None and row["unit_price"] < 0:
        problems.append(Problem("unit_price", "invalid", "a price cannot be below zero"))
    rate = row.get("tax_rate")
    if rate is not None and not 0 <= rate < 1:
        problems.append(Problem("tax_rate", "invalid", f"{rate} is not a tax rate: type 20% (or 0.2) for twenty percent"))
    if row.get("account_code") is None and row.get("kind") == "purchase":
        problems.append(Problem("account_code", "required", "a bill's line needs the account it is booked to "
                                                            "(an expense, or inventory)"))
    return problems


def check_invoices(rows: NewRows) -> Refusals:
    refused: Refusals = []
    for group in groups(rows, "invoice"):
        refused += disagreements(group, INVOICE_WHOLE, "invoice")
        for key in ("kind", "contact_id", "issued_on"):
            if group.shared(key) is None:
                refused.append((group.first_row, key, f"invoice {group.label!r} needs its {INVOICE_WHOLE[key]}"))
        issued, due = group.shared("issued_on"), group.shared("due_on")
        if issued and due and due < issued:
            refused.append((group.first_row, "due_on", f"invoice {group.label!r} is due before it is dated"))
    return refused


def post_invoice_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Invoices rows: one invoice (or bill) per label, created and posted."""
    invoices = groups(rows, "invoice")
    refused = posted_already(session, Invoice.number, invoices, "invoice")

    def post_one(group: Group) -> list[int]:
        issued = group.shared("issued_on")
        lines = [LineIn(v["description"], v["quantity"], v["unit_price"], v["account_code"], v["tax_rate"],
                        v.get("item_id")) for _, v in group.rows]
        try:
            invoice = create_invoice(session, actor, group.shared("kind"), group.shared("contact_id"), issued,
                                     group.shared("due_on") or issued + PAYMENT_TERMS, lines,
                                     reference=group.shared("reference"))
            post_invoice(session, actor, invoice.id)
        except EntryRefused as refusal:   # the books refused its entry (a closed period, say)
            raise GroupRefused([(group.first_row, "issued_on" if p.field == "entry_date" else "invoice",
                                 f"invoice {group.label!r}: {p.message}") for p in refusal.found]) from None
        except ValidationFailed as refusal:
            raise GroupRefused([(group.first_row, "invoice", f"invoice {group.label!r}: {p}")
                                for p in refusal.problems]) from None
        return list(session.scalars(select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id)
                                    .order_by(InvoiceLine.line_number)))

    return post_groups(session, sheet, rows, invoices, refused, post_one)


def _invoice_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A saved line's invoice (number, kind, contact, dates), its net, and on the invoice's
    first line what is still open on it."""
    wanted = {values["invoice_id"] for values in rows.values()}
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)))} if wanted else {}
    details, first_lines = {}, set()
    for rid, values in sorted(rows.items(), key=lambda item: (item[1]["invoice_id"], item[1]["line_number"])):
        invoice = invoices[values["invoice_id"]]
        first = invoice.id not in first_lines
        first_lines.add(invoice.id)
        posted = invoice.status == "posted"
        details[rid] = {
            "invoice": invoice.number or f"draft {invoice.id}", "kind": invoice.kind, "contact_id": invoice.contact_id,
            "issued_on": invoice.issued_on, "due_on": invoice.due_on, "reference": invoice.reference,
            "net": line_amounts(values["quantity"], values["unit_price"], values["tax_rate"])[0],
            "open": open_balance(session, invoice) if first and posted else None,
        }
    return details


# -- Payments ------------------------------------------------------------------------------

_NUMBERS = re.compile(r"[\s,;]+")


def post_payment_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Payments rows, each posted and allocated: to the invoices its Settles cell names,
    in that order, or else to the contact's oldest open invoices first."""
    context, ids, refused = session.info["audit"], [], []
    for row, values in rows:
        context.posting_row = (sheet, row)
        try:
            shares, problems = _allocations(session, values)
            if problems:
                refused += [(row, "settles", message) for message in problems]
                continue
            payment = record_payment(session, actor, values["kind"], values["contact_id"], values["paid_on"],
                                     values["amount"], shares, bank_account=values["bank_account"],
                                     reference=values.get("reference"))
            ids.append(payment.id)
        except EntryRefused as refusal:
            refused += [(row, "paid_on" if p.field == "entry_date" else None, str(p)) for p in refusal.found]
        except ValidationFailed as refusal:
            refused += [(row, "settles", message) for message in refusal.problems]
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return ids


def _allocations(session: Session, values: dict[str, Any]) -> tuple[list[tuple[int, Decimal]], list[str]]:
    """(invoice id, amount) settled by a payment, filling each invoice up to what is open."""
    kind = "sales" if values["kind"] == "received" else "purchase"
    named = [n for n in _NUMBERS.split(values.get("settles") or "") if n]
    if named:
        found = {i.number: i for i in session.scalars(select(Invoice).where(Invoice.number.in_(named)))}
        problems = [f"there is no posted invoice {n}" for n in named if n not in found]
        problems += [f"{n} is not a {kind} invoice of contact {values['contact_id']}" for n in named
                     if n in found and (found[n].kind != kind or found[n].contact_id != values["contact_id"])]
        if problems:
            return [], problems
        candidates = [found[n] for n in named]
    else:
        candidates = list(session.scalars(select(Invoice).where(
            Invoice.kind == kind, Invoice.contact_id == values["contact_id"], Invoice.status == "posted")
            .order_by(Invoice.due_on, Invoice.id)))
    left, shares = values["amount"], []
    for invoice in candidates:
        owed = open_balance(session, invoice)
        if left <= 0:
            break
        if owed > 0:
            shares.append((invoice.id, min(owed, left)))
            left -= min(owed, left)
    if named and not shares:
        return [], [f"{', '.join(named)}: nothing is open on it any more"]
    return shares, []


def _derive_payment(row: dict[str, Any]) -> dict[str, Any]:
    row["bank_account"] = row.get("bank_account") or ROLES["bank"]
    return row


def _payment_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    settled: dict[int, list[str]] = {}
    for payment, number in session.execute(select(Allocation.payment_id, Invoice.number)
                                           .join(Invoice, Invoice.id == Allocation.invoice_id)
                                           .order_by(Allocation.payment_id, Allocation.id)):
        settled.setdefault(payment, []).append(number)
    entries = dict(session.execute(select(JournalEntry.id, JournalEntry.number)
                                   .join(Payment, Payment.entry_id == JournalEntry.id)).all())
    return {rid: {"settles": ", ".join(settled.get(rid, [])) or None, "entry": entries.get(values["entry_id"])}
            for rid, values in rows.items()}


# -- the read-only sheets -------------------------------------------------------------------

def _trial_balance_rows(session: Session) -> list[list[Any]]:
    balance = reports.trial_balance(session, date.today())
    return [*([r.code, r.name, r.type, r.debit or None, r.credit or None] for r in balance.rows),  # 0: blank
            ["", "Total", "", balance.total_debit, balance.total_credit]]


def _aging_rows(session: Session) -> list[list[Any]]:
    today = date.today()
    return [[side, r.contact, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.over_90, r.total]
            for side, kind in (("receivable", "sales"), ("payable", "purchase")) for r in aging(session, kind, today)]


def ledger_workbook() -> WorkbookSpec:
    accounts = SheetSpec(
        name="Accounts", model=Account, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, set_once=True, width=9),
            Column("name", "Name", required=True, width=30),
            Column("type", "Type", type="choice", choices=ACCOUNT_TYPES, required=True, width=10),
            Column("parent_id", "Parent ID", type="integer", lookup="accounts", references="accounts", width=10),
            Column("parent", "Parent", computed=True, width=9),
            Column("active", "Active", type="bool", width=8),
            Column("balance", "Balance", type="money", computed=True, width=14),
        ),
        derive=_derive_account, computed=_account_details,
    )
    journal = SheetSpec(
        name="Journal", model=JournalLine, area=AREA, can_update=False, post=post_journal_rows,
        check_new=check_entries, order_by=("entry_id", "line_number"),
        columns=(
            Column("entry", "Entry", entered=True, required=True, width=15),
            Column("entry_date", "Date", type="date", entered=True, width=11),
            Column("memo", "Memo", entered=True, width=28),
            Column("account", "Account", entered=True, required=True, lookup="account codes",
                   references="account codes", width=9),
            Column("account_name", "Account name", computed=True, width=24),
            Column("debit", "Debit", type="money", width=13),
            Column("credit", "Credit", type="money", width=13),
            Column("contact_id", "Contact ID", type="integer", lookup="contacts", references="contacts", width=10),
            Column("description", "Description", width=28),
            Column("note", "Note", computed=True, width=22),
        ),
        computed=_journal_details,
    )
    invoices = SheetSpec(
        name="Invoices", model=InvoiceLine, area=AREA, can_update=False, post=post_invoice_rows,
        check_new=check_invoices, order_by=("invoice_id", "line_number"),
        columns=(
            Column("invoice", "Invoice", entered=True, required=True, width=15),
            Column("kind", "Kind", type="choice", choices=INVOICE_KINDS, entered=True, width=9),
            Column("contact_id", "Contact ID", type="integer", entered=True, lookup="contacts",
                   references="contacts", width=10),
            Column("issued_on", "Date", type="date", entered=True, width=11),
            Column("due_on", "Due", type="date", entered=True, width=11),
            Column("reference", "Reference", entered=True, width=14),
            Column("description", "Description", required=True, width=28),
            Column("quantity", "Quantity", type="decimal", required=True, width=9),
            Column("unit_price", "Unit price", type="money", required=True, width=11),
            Column("tax_rate", "Tax rate", type="decimal", width=8),
            Column("account_code", "Account", lookup="account codes", references="account codes", width=9),
            Column("item_id", "Item ID", type="integer", lookup="items", references="items", width=8),
            Column("net", "Net", type="money", computed=True, width=12),
            Column("open", "Open", type="money", computed=True, width=12),
        ),
        derive=_derive_invoice_line, rule=_check_invoice_line, computed=_invoice_details,
    )
    payments = SheetSpec(
        name="Payments", model=Payment, area=AREA, can_update=False, post=post_payment_rows,
        order_by=("paid_on", "id"),
        columns=(
            Column("paid_on", "Date", type="date", required=True, width=11),
            Column("kind", "Kind", type="choice", choices=PAYMENT_KINDS, required=True, width=9),
            Column("contact_id", "Contact ID", type="integer", required=True, lookup="contacts",
                   references="contacts", width=10),
            Column("amount", "Amount", type="money", required=True, width=13),
            Column("bank_account", "Bank account", lookup="account codes", references="account codes", width=12),
            Column("reference", "Reference", width=16),
            Column("settles", "Settles", entered=True, width=30),
            Column("entry", "Entry", computed=True, width=15),
        ),
        derive=_derive_payment, rule=_check_payment, computed=_payment_details,
    )

    def listed(query: Callable[[], Any]) -> Callable[[Session], list[Any]]:
        return lambda session: list(session.scalars(query()))

    return WorkbookSpec(
        module="ledger", title="Ledger", sheets=(accounts, journal, invoices, payments),
        lookups={
            "accounts": listed(lambda: select(Account.id).order_by(Account.id)),
            "account codes": _postable_codes,
            "contacts": listed(lambda: select(Contact.id).order_by(Contact.id)),
            "items": listed(lambda: select(Item.id).order_by(Item.id)),
        },
        reports=(
            ReportSheet("Trial balance", AREA, (("Code", 9), ("Account", 30), ("Type", 10), ("Debit", 14),
                                                ("Credit", 14)), _trial_balance_rows),
            ReportSheet("Aging", AREA, (("Owed", 11), ("Contact", 30), ("Current", 12), ("1-30 days", 12),
                                        ("31-60 days", 12), ("61-90 days", 12), ("Over 90 days", 12),
                                        ("Total", 13)), _aging_rows),
        ),
    )


def _check_payment(row: dict[str, Any]) -> list[Problem]:
    if row.get("amount") is not None and row["amount"] <= 0:
        return [Problem("amount", "invalid", "a payment is more than 0")]
    return []


def _postable_codes(session: Session) -> list[str]:
    """Codes of the accounts that take postings: active, without sub-accounts."""
    parents = select(Account.parent_id).where(Account.parent_id.is_not(None))
    return list(session.scalars(select(Account.code).where(Account.active, Account.id.not_in(parents))
                                .order_by(Account.code)))
