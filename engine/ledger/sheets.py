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
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.sheets import contact_choices
from engine.errors import ValidationFailed
from engine.inventory.models import Item
from engine.ledger import reports, rules
from engine.ledger.chart import ROLES
from engine.ledger.invoices import (
    LineIn,
    aging,
    allocate,
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
from engine.ledger.services import AREA, Line, balances, post_entry
from engine.problems import Problem
from engine.sheets.labels import labelled
from engine.sheets.spec import (
    Column,
    NewRows,
    PerUser,
    Refusals,
    ReportSheet,
    RowsRefused,
    SheetSpec,
    WorkbookSpec,
    refusals_of,
)

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
                                          f"one {what} share it; leave this cell empty or type the same",
                                "inconsistent"))
    return refused


# The Journal columns a problem of an entry is shown at: its field is the column's key
# ("entry", the entry as a whole, is its label's column).
JOURNAL_COLUMNS = frozenset({"entry", "entry_date", "memo", "account", "debit", "credit", "contact_id",
                             "description"})


def entry_refusals(group: Group, problems: list[Problem]) -> Refusals:
    """An entry's problems at the cells they are about, with their codes: a line's at its row
    and column, the date's at the entry's first row, the entry's own (it does not balance) at
    every one of its rows."""
    refused: Refusals = []
    for p in problems:
        text = f"entry {group.label!r}: {p.message}"
        column = p.field if p.field in JOURNAL_COLUMNS else "entry"
        if p.line is not None and p.line <= len(group.rows):
            refused.append((group.rows[p.line - 1][0], column, text, p.code))
        elif column == "entry":
            refused += [(row, "entry", text, p.code) for row, _ in group.rows]
        else:
            refused.append((group.first_row, column, text, p.code))
    return refused


def posted_already(session: Session, number, found: list[Group], what: str) -> Refusals:
    """Groups labelled with the number of something posted (`number`: that column): a posted
    entry or invoice cannot take new lines."""
    labels = [g.label for g in found]
    taken = set(session.scalars(select(number).where(number.in_(labels)))) if labels else set()
    return [(row, what, f"{g.label} is a posted {what}: it cannot take new lines; give your new {what} "
                        f"a label of its own (for example A)", "posted")
            for g in found if g.label in taken for row, _ in g.rows]


class GroupRefused(Exception):
    """A group could not be posted: where, and why."""

    def __init__(self, refusals: Refusals):
        self.refusals = refusals
        super().__init__("; ".join(refusal[2] for refusal in refusals))


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
    """Each account's balance today on its normal side."""
    held = balances(session, date.today())
    return {rid: {"balance": _normal_side(values["type"], held.get(rid, Decimal(0)))}
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
            refused.append((group.first_row, "entry_date", f"entry {group.label!r} needs a date", "required"))
        lines = [_line(values) for _, values in group.rows]
        # (an empty Account cell is already reported by the sheet: the column is required)
        refused += entry_refusals(group, [p for p in rules.check_lines(lines)
                                          if (p.field, p.code) != ("account", "required")])
    return refused


def post_journal_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Journal rows: one entry per label, posted in the order the labels appear."""
    entries = groups(rows, "entry")
    refused = posted_already(session, JournalEntry.number, entries, "entry")

    def post_one(group: Group) -> list[int]:
        try:
            entry = post_entry(session, actor, group.shared("entry_date"), [_line(v) for _, v in group.rows],
                               memo=group.shared("memo") or "")
        except ValidationFailed as refusal:
            raise GroupRefused(entry_refusals(group, refusal.problems)) from None
        return list(session.scalars(select(JournalLine.id).where(JournalLine.entry_id == entry.id)
                                    .order_by(JournalLine.line_number)))

    return post_groups(session, sheet, rows, entries, refused, post_one)


def _journal_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A saved line's entry (number, date, memo), its account, and what became of the entry."""
    accounts = {i: (code, name) for i, code, name in session.execute(select(Account.id, Account.code, Account.name))}
    wanted = {values["entry_id"] for values in rows.values()}
    entries = {e.id: e for e in session.scalars(select(JournalEntry).where(JournalEntry.id.in_(wanted)))} if wanted else {}
    # the entries reversing these, and the numbers of those these reverse (an export hands the
    # lines over a few thousand at a time: a reversed entry's lines may be in another run)
    reversed_by = dict(session.execute(select(JournalEntry.reverses_id, JournalEntry.number)
                                       .where(JournalEntry.reverses_id.in_(wanted))).all()) if wanted else {}
    reversed_ids = {e.reverses_id for e in entries.values() if e.reverses_id}
    numbers = dict(session.execute(select(JournalEntry.id, JournalEntry.number)
                                   .where(JournalEntry.id.in_(reversed_ids))).all()) if reversed_ids else {}
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
    return rules.check_invoice_line(row.get("quantity"), row.get("unit_price"), row.get("tax_rate"),
                                    row.get("account_code"), kind=row.get("kind"))


def check_invoices(rows: NewRows) -> Refusals:
    refused: Refusals = []
    for group in groups(rows, "invoice"):
        refused += disagreements(group, INVOICE_WHOLE, "invoice")
        for key in ("kind", "contact_id", "issued_on"):
            if group.shared(key) is None:
                refused.append((group.first_row, key, f"invoice {group.label!r} needs its {INVOICE_WHOLE[key]}",
                                "required"))
        refused += invoice_refusals(group, rules.check_invoice_header(None, group.shared("issued_on"),
                                                                      group.shared("due_on")))
    return refused


# The Invoices columns of a line's fields, and of the invoice's own.
INVOICE_LINE_COLUMNS = frozenset({"description", "quantity", "unit_price", "tax_rate", "account_code", "item_id"})


def invoice_refusals(group: Group, problems: list[Problem]) -> Refusals:
    """An invoice's problems at their cells, with their codes: a line's at its row, one of the
    invoice as a whole (its contact, its dates) at the invoice's first row."""
    refused: Refusals = []
    for p in problems:
        text = f"invoice {group.label!r}: {p.message}"
        if p.line is not None and p.line <= len(group.rows) and p.field in INVOICE_LINE_COLUMNS:
            refused.append((group.rows[p.line - 1][0], p.field, text, p.code))
        else:
            refused.append((group.first_row, p.field if p.field in INVOICE_WHOLE else "invoice", text, p.code))
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
                                     group.shared("due_on"), lines,
                                     reference=group.shared("reference"))
            post_invoice(session, actor, invoice.id)
        except ValidationFailed as refusal:
            raise GroupRefused(invoice_refusals(group, refusal.problems)) from None
        return list(session.scalars(select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id)
                                    .order_by(InvoiceLine.line_number)))

    return post_groups(session, sheet, rows, invoices, refused, post_one)


def _invoice_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A saved line's invoice (number, kind, contact, dates), its net, and on the invoice's
    first line what is still open on it. The first line is the invoice's lowest line number
    in the database, whichever of its lines `rows` holds: an export hands the lines over a
    few thousand at a time, and an invoice's lines may be split between two of them."""
    wanted = {values["invoice_id"] for values in rows.values()}
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)))} if wanted else {}
    first_lines = dict(session.execute(
        select(InvoiceLine.invoice_id, func.min(InvoiceLine.line_number))
        .where(InvoiceLine.invoice_id.in_(wanted)).group_by(InvoiceLine.invoice_id)).all()) if wanted else {}
    details = {}
    for rid, values in rows.items():
        invoice = invoices[values["invoice_id"]]
        first = first_lines.get(invoice.id) == values["line_number"]
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
    """New Payments rows, each posted and allocated (`invoices.allocate`): to the invoices its
    Settles cell names, in that order, or else to the contact's oldest open invoices first."""
    context, ids, refused = session.info["audit"], [], []
    for row, values in rows:
        context.posting_row = (sheet, row)
        try:
            shares = allocate(session, actor, values["kind"], values["contact_id"], values["amount"],
                              [n for n in _NUMBERS.split(values.get("settles") or "") if n])
            payment = record_payment(session, actor, values["kind"], values["contact_id"], values["paid_on"],
                                     values["amount"], shares, bank_account=values["bank_account"],
                                     reference=values.get("reference"))
            ids.append(payment.id)
        except ValidationFailed as refusal:   # each problem at its column (the payment's own: the row)
            refused += refusals_of(row, refusal.problems)
        finally:
            context.posting_row = None
    if refused:
        raise RowsRefused(refused)
    return ids


def _derive_payment(row: dict[str, Any]) -> dict[str, Any]:
    row["bank_account"] = row.get("bank_account") or ROLES["bank"]
    return row


def _payment_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Which invoices each payment settles, and its journal entry. Read for the payments of
    `rows`' range of ids only: an export hands them over a few thousand at a time (a range,
    not a list of ids, which SQLite takes at most 32,766 of, as a refresh may pass more)."""
    if not rows:
        return {}
    ids = Payment.id.between(min(rows), max(rows))
    settled: dict[int, list[str]] = {}
    for payment, number in session.execute(select(Allocation.payment_id, Invoice.number)
                                           .join(Invoice, Invoice.id == Allocation.invoice_id)
                                           .where(Allocation.payment_id.between(min(rows), max(rows)))
                                           .order_by(Allocation.payment_id, Allocation.id)):
        settled.setdefault(payment, []).append(number)
    entries = dict(session.execute(select(JournalEntry.id, JournalEntry.number)
                                   .join(Payment, Payment.entry_id == JournalEntry.id).where(ids)).all())
    return {rid: {"settles": ", ".join(settled.get(rid, [])) or None, "entry": entries.get(values["entry_id"])}
            for rid, values in rows.items()}


# -- the read-only sheets -------------------------------------------------------------------

def _trial_balance_rows(session: Session, actor) -> list[list[Any]]:
    balance = reports.trial_balance(session, actor, date.today())
    return [*([r.code, r.name, r.type, r.debit or None, r.credit or None] for r in balance.rows),  # 0: blank
            ["", "Total", "", balance.total_debit, balance.total_credit]]


def _aging_rows(session: Session, actor) -> list[list[Any]]:
    today = date.today()
    return [[side, r.contact, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.over_90, r.total]
            for side, kind in (("receivable", "sales"), ("payable", "purchase"))
            for r in aging(session, actor, kind, today)]


def ledger_workbook() -> WorkbookSpec:
    accounts = SheetSpec(
        name="Accounts", model=Account, area=AREA, order_by=("code",),
        columns=(
            Column("code", "Code", required=True, unique=True, set_once=True, width=9),
            Column("name", "Name", required=True, width=30),
            Column("type", "Type", type="choice", choices=ACCOUNT_TYPES, required=True, width=10),
            Column("parent_id", "Parent", type="integer", lookup="accounts", references="accounts",
                   labels="accounts", width=26),
            Column("active", "Active", type="bool", width=8),
            Column("balance", "Balance", type="money", computed=True, width=14),
        ),
        derive=_derive_account, computed=_account_details,
    )
    journal = SheetSpec(
        name="Journal", model=JournalLine, area=AREA, can_update=False, post=post_journal_rows,
        check_new=check_entries, order_by=("entry_id", "line_number"), grouped_by="entry",
        columns=(
            Column("entry", "Entry", entered=True, required=True, width=15),
            Column("entry_date", "Date", type="date", entered=True, width=11),
            Column("memo", "Memo", entered=True, width=28),
            Column("account", "Account", entered=True, required=True, lookup="account codes",
                   references="all account codes", width=9),
            Column("account_name", "Account name", computed=True, width=24),
            Column("debit", "Debit", type="money", width=13),
            Column("credit", "Credit", type="money", width=13),
            Column("contact_id", "Contact", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=24),
            Column("description", "Description", width=28),
            Column("note", "Note", computed=True, width=22),
        ),
        computed=_journal_details,
    )
    invoices = SheetSpec(
        name="Invoices", model=InvoiceLine, area=AREA, can_update=False, post=post_invoice_rows,
        check_new=check_invoices, order_by=("invoice_id", "line_number"), grouped_by="invoice",
        columns=(
            Column("invoice", "Invoice", entered=True, required=True, width=15),
            Column("kind", "Kind", type="choice", choices=INVOICE_KINDS, entered=True, width=9),
            Column("contact_id", "Contact", type="integer", entered=True, lookup="contacts",
                   references="contacts", labels="contacts", width=24),
            Column("issued_on", "Date", type="date", entered=True, width=11),
            Column("due_on", "Due", type="date", entered=True, width=11),
            Column("reference", "Reference", entered=True, width=14),
            Column("description", "Description", required=True, width=28),
            Column("quantity", "Quantity", type="decimal", required=True, width=9),
            Column("unit_price", "Unit price", type="money", required=True, width=11),
            Column("tax_rate", "Tax rate", type="decimal", width=8, number_format="percent"),
            Column("account_code", "Account", lookup="account codes", references="all account codes", width=9),
            Column("item_id", "Item", type="integer", lookup="items", references="items", labels="items", width=24),
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
            Column("contact_id", "Contact", type="integer", required=True, lookup="contacts",
                   references="contacts", labels="contacts", width=24),
            Column("amount", "Amount", type="money", required=True, width=13),
            Column("bank_account", "Bank account", lookup="account codes", references="all account codes",
                   width=12),
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
            "accounts": labelled(lambda: select(Account.id, Account.code, Account.name).order_by(Account.code)),
            # The drop-down offers the accounts that take postings; a code typed that is in the
            # chart but takes none (a heading, a closed account) is refused by the service, with
            # its reason and code, as at every other door.
            "account codes": _postable_codes,
            "all account codes": listed(lambda: select(Account.code).order_by(Account.code)),
            "contacts": contact_choices,
            "items": labelled(lambda: select(Item.id, Item.sku, Item.name).order_by(Item.sku)),
        },
        reports=(
            ReportSheet("Trial balance", AREA, (("Code", 9), ("Account", 30), ("Type", 10), ("Debit", 14),
                                                ("Credit", 14)), PerUser(_trial_balance_rows),
                        formats={"Debit": "money", "Credit": "money"}),
            ReportSheet("Aging", AREA, (("Owed", 11), ("Contact", 30), ("Current", 12), ("1-30 days", 12),
                                        ("31-60 days", 12), ("61-90 days", 12), ("Over 90 days", 12),
                                        ("Total", 13)), PerUser(_aging_rows),
                        formats=dict.fromkeys(("Current", "1-30 days", "31-60 days", "61-90 days",
                                               "Over 90 days", "Total"), "money")),
        ),
    )


def _check_payment(row: dict[str, Any]) -> list[Problem]:
    return rules.check_payment(None, row.get("amount"))


def _postable_codes(session: Session) -> list[str]:
    """Codes of the accounts that take postings: active, without sub-accounts."""
    parents = select(Account.parent_id).where(Account.parent_id.is_not(None))
    return list(session.scalars(select(Account.code).where(Account.active, Account.id.not_in(parents))
                                .order_by(Account.code)))
