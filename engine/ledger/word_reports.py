"""The ledger's reports in Word (`backoffice report trial-balance`, `backoffice report
statement`): the trial balance on a day, and a customer's statement of account for a month.

Each is the ledger's own query (`reports.trial_balance`, `invoices.statement` and
`invoices.open_invoices`) laid out in the standard template, values raw: the layout writes
them in the organisation's locale. A statement is a handful of reads (the customer, their
receivable's lines, their open invoices) and two tables: a month's run to every customer
makes a thousand of them, so nothing more is asked or drawn.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.ledger.invoices import open_invoices, statement
from engine.ledger.queries import find_customer
from engine.ledger.reports import trial_balance
from engine.office.locale import of_reader
from engine.office.report_body import Column, Heading, Month, Section, Table, Text, report_context
from engine.security.roles import Actor

ZERO = Decimal(0)


def trial_balance_report(session: Session, actor: Actor, as_of: date) -> dict[str, Any]:
    """Every account with a posting up to `as_of`, its balance as a debit or a credit, and
    the two totals (equal: every entry balances)."""
    found = trial_balance(session, actor, as_of)
    table = Table([Column("Code"), Column("Account"), Column("Type"), Column("Debit", "money"),
                   Column("Credit", "money")],
                  [[r.code, r.name, r.type, r.debit or None, r.credit or None] for r in found.rows],
                  ["", "Total", "", found.total_debit, found.total_credit], empty="Nothing is posted by then.")
    part = Section("Balances at the end of the day", [table,
                   Text("Closing entries are included: these are the books as they stand that day.", note=True)])
    return report_context(session, actor, "Trial balance", f"as of {of_reader(session).date(as_of)}", [part])


def statement_report(session: Session, actor: Actor, customer: str, period: Month) -> dict[str, Any]:
    """A customer's statement of account for `period`: what they owed at its start, each
    invoice and payment in it, what they owe at its end, and the invoices still open then
    with how late each is. `customer`: their contact number or exact name."""
    number, name = find_customer(session, actor, customer)
    sheet = statement(session, actor, number, period.start, period.end)
    items = open_invoices(session, actor, "sales", period.end, contact_id=number)
    charged = sum((x.debit for x in sheet.lines), ZERO)
    paid = sum((x.credit for x in sheet.lines), ZERO)
    lines = Table([Column("Date", "date"), Column("Details"), Column("Charged", "money"),
                   Column("Paid", "money"), Column("Balance", "money")],
                  [[period.start, "Balance brought forward", None, None, sheet.opening],
                   *([x.entry_date, x.memo, x.debit or None, x.credit or None, x.balance] for x in sheet.lines)],
                  [period.end, "Totals and balance owed", charged, paid, sheet.closing])
    still_open = sum((x.open for x in items), ZERO)
    open_table = Table([Column("Invoice"), Column("Dated", "date"), Column("Due", "date"), Column("Amount", "money"),
                        Column("Open", "money"), Column("Days overdue", "count")],
                       [[x.number, x.issued_on, x.due_on, x.gross, x.open, x.days_late if x.days_late > 0 else None]
                        for x in items],
                       ["Total open", None, None, None, still_open, None] if items else None,
                       empty="No invoice is open at the end of the month.")
    part = Section("Invoices and payments in the month", [lines, Heading("Invoices open at the end of the month"),
                                                          open_table])
    if still_open != sheet.closing:
        part.add(Text("What is owed and the open invoices differ by payments not yet set against an invoice "
                      "(held on the customer's account).", note=True))
    fmt = of_reader(session)
    return report_context(session, actor, "Statement of account",
                          f"{name} (contact {number}), {fmt.month(period.year, period.month)}", [part],
                          customer=name, customer_number=number)
