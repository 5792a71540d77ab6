"""`backoffice ledger invoice|post-invoice|pay|aging|statement`: invoices, bills and payments from the
command line, through `engine.ledger.invoices` (which posts their entries)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.errors import BackofficeError
from engine.formats import exact_money, money, parse_date, parse_number
from engine.ledger.invoices import (
    LineIn,
    aging,
    create_invoice,
    post_invoice,
    record_payment,
    statement,
)
from engine.ledger.models import AMOUNT, Invoice
from engine.ledger.reports import exact

LineText = Annotated[list[str], typer.Option(
    "--line", metavar="QTY:PRICE:ACCOUNT:TAX:DESCRIPTION",
    help="A line, e.g. 3:19.99:4100:0.2:Widgets (tax 0.2 = 20%); repeat for more lines.")]


def _line(text: str) -> LineIn:
    parts = text.split(":", 4)
    if len(parts) != 5 or not parts[4].strip():
        raise BackofficeError(f"--line {text!r}: write QTY:PRICE:ACCOUNT:TAX:DESCRIPTION, e.g. 3:19.99:4100:0.2:Widgets")
    quantity, price, account, tax, description = parts
    return LineIn(description.strip(), parse_number(quantity, "--line quantity", 4),
                  parse_number(price, "--line price", AMOUNT), account.strip(), parse_number(tax or "0", "--line tax", 4))


def _invoice_json(invoice: Invoice) -> dict:
    return {"id": invoice.id, "kind": invoice.kind, "number": invoice.number, "status": invoice.status,
            "contact_id": invoice.contact_id, "issued_on": invoice.issued_on.isoformat(),
            "due_on": invoice.due_on.isoformat(), "net": exact_money(invoice.net), "tax": exact_money(invoice.tax),
            "gross": exact_money(invoice.gross)}


def _say(invoice: Invoice) -> None:
    if invoice.status == "posted":
        out.print(f"posted {invoice.kind} invoice {invoice.number}: net {money(invoice.net)}, "
                  f"tax {money(invoice.tax)}, total {money(invoice.gross)}, due {invoice.due_on}")
    else:
        out.print(f"draft {invoice.kind} invoice #{invoice.id} saved; post it with `backoffice ledger post-invoice "
                  f"{invoice.id}`")


def register_invoice_commands(app: typer.Typer) -> None:
    """Add the invoicing commands to the `ledger` group."""

    @app.command("invoice")
    @handles_errors
    def invoice(
        lines: LineText,
        on: Annotated[str, typer.Option("--date", metavar="DATE", help="Invoice date, YYYY-MM-DD.")],
        customer: Annotated[int | None, typer.Option(help="Contact id: a sales invoice to this customer.")] = None,
        supplier: Annotated[int | None, typer.Option(help="Contact id: a purchase bill from this supplier.")] = None,
        terms: Annotated[int | None, typer.Option(help="Days until it is due (default: the payment terms, 30).")]
        = None,
        reference: Annotated[str | None, typer.Option(help="E.g. the supplier's bill number.")] = None,
        post: Annotated[bool, typer.Option("--post", help="Post it at once (else it stays a draft).")] = False,
        as_json: JsonOption = False, user: UserOption = None,
    ) -> None:
        """Write a sales invoice (--customer) or record a purchase bill (--supplier)."""
        if (customer is None) == (supplier is None):
            raise BackofficeError("give --customer (a sales invoice) or --supplier (a purchase bill)")
        issued, parsed = parse_date(on, "--date"), [_line(x) for x in lines]
        with acting_as(user) as (_db, actor, session):
            made = create_invoice(session, actor, "sales" if customer is not None else "purchase",
                                  customer if customer is not None else supplier, issued,
                                  None if terms is None else issued + timedelta(days=terms), parsed, reference)
            if post:
                made = post_invoice(session, actor, made.id)
            result = _invoice_json(made)
            (print_json if as_json else lambda _: _say(made))(result)

    @app.command("post-invoice")
    @handles_errors
    def post_(invoice_id: Annotated[int, typer.Argument(metavar="ID", help="The draft's id.")],
              as_json: JsonOption = False, user: UserOption = None) -> None:
        """Post a draft invoice or bill: it is numbered and its entry posted (once only)."""
        with acting_as(user) as (_db, actor, session):
            posted = post_invoice(session, actor, invoice_id)
            (print_json if as_json else lambda _: _say(posted))(_invoice_json(posted))

    @app.command("pay")
    @handles_errors
    def pay(
        amount: Annotated[str, typer.Option(help="The amount paid.")],
        on: Annotated[str, typer.Option("--date", metavar="DATE", help="YYYY-MM-DD.")],
        customer: Annotated[int | None, typer.Option(help="Money received from this customer.")] = None,
        supplier: Annotated[int | None, typer.Option(help="Money paid to this supplier.")] = None,
        invoice: Annotated[list[str] | None, typer.Option(
            "--invoice", metavar="NUMBER:AMOUNT", help="Settle this much of an invoice; repeat for more.")] = None,
        bank: Annotated[str, typer.Option(help="The bank account.")] = "1100",
        reference: Annotated[str | None, typer.Option()] = None,
        as_json: JsonOption = False, user: UserOption = None,
    ) -> None:
        """Record a payment and settle invoices with it; what is not allocated stays on account."""
        if (customer is None) == (supplier is None):
            raise BackofficeError("give --customer (money in) or --supplier (money out)")
        total, paid_on = parse_number(amount, "--amount", AMOUNT), parse_date(on, "--date")
        shares = []
        for text in invoice or []:
            number, _, share = text.rpartition(":")
            shares.append((number, parse_number(share, f"--invoice {number}", AMOUNT)))
        with acting_as(user) as (_db, actor, session):
            payment = record_payment(session, actor, "received" if customer is not None else "paid",
                                     customer if customer is not None else supplier, paid_on, total,
                                     shares, bank, reference)
            result = {"id": payment.id, "kind": payment.kind, "amount": exact_money(payment.amount),
                      "paid_on": payment.paid_on.isoformat(), "settles": {n: exact_money(s) for n, s in shares}}
        if as_json:
            print_json(result)
        else:
            out.print(f"payment #{result['id']} of {money(total)} recorded ({result['kind']})")

    @app.command("aging")
    @handles_errors
    def aging_(
        as_of: Annotated[str, typer.Option("--as-of", metavar="DATE", help="YYYY-MM-DD.")],
        payables: Annotated[bool, typer.Option("--payables", help="What we owe suppliers (default: receivables).")] = False,
        as_json: JsonOption = False, user: UserOption = None,
    ) -> None:
        """Open invoices per contact by days past due: not due, 1-30, 31-60, 61-90, over 90."""
        day = parse_date(as_of, "--as-of")
        fields = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "total")
        rows = fetch(user, lambda session, actor: {"rows": [
            {"contact_id": r.contact_id, "contact": r.contact, **{f: exact_money(getattr(r, f)) for f in fields}}
            for r in aging(session, actor, "purchase" if payables else "sales", day)]},
            ("/ledger/aging", {"as_of": day.isoformat(), "payables": "true" if payables else None}))["rows"]
        if as_json:
            print_json(rows)
            return
        table = new_table("Contact", "Not due", "1-30", "31-60", "61-90", "Over 90", "Total",
                      title=f"{'Payables' if payables else 'Receivables'} aging, {day}")
        for r in rows:
            table.add_row(r["contact"], *(money(r[f]) for f in fields))
        out.print(table)

    @app.command("statement")
    @handles_errors
    def statement_(
        customer: Annotated[int, typer.Argument(metavar="CUSTOMER", help="The customer's contact id.")],
        start: Annotated[str, typer.Option("--from", metavar="DATE", help="First day, YYYY-MM-DD.")],
        end: Annotated[str, typer.Option("--to", metavar="DATE", help="Last day, YYYY-MM-DD.")],
        as_json: JsonOption = False, user: UserOption = None,
    ) -> None:
        """A customer's statement: opening balance, invoices and payments, what is owed."""
        first, last = parse_date(start, "--from"), parse_date(end, "--to")
        # The route's form (`exact`: amounts as exact strings), here as through the server.
        sheet = fetch(user, lambda session, actor: {"contact_id": customer,
                                                    **exact(statement(session, actor, customer, first, last))},
                      (f"/ledger/statement/{customer}", {"from": first.isoformat(), "to": last.isoformat()}))
        if as_json:
            print_json({"contact": sheet["contact"], "from": first.isoformat(), "to": last.isoformat(),
                        "opening": sheet["opening"], "closing": sheet["closing"],
                        "lines": [{"date": x["entry_date"], "number": x["number"], "memo": x["memo"],
                                   "debit": x["debit"], "credit": x["credit"], "balance": x["balance"]}
                                  for x in sheet["lines"]]})
            return
        table = new_table("Date", "Entry", "Memo", "Charged", "Paid", "Balance",
                      title=f"Statement for {sheet['contact']}, {first} to {last}")
        table.add_row("", "", "opening balance", "", "", money(sheet["opening"]))
        for x in sheet["lines"]:
            table.add_row(x["entry_date"], x["number"], x["memo"], _amount(x["debit"]), _amount(x["credit"]),
                          money(x["balance"]))
        out.print(table)
        out.print(f"owed on {last}: {money(sheet['closing'])}")


def _amount(value: str | None) -> str:
    """An amount of the JSON form for a table: empty when nothing (zero)."""
    return money(value) if value is not None and Decimal(value) else ""
