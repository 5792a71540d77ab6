"""`backoffice ledger ...`: the accountant's door to the books.

Thin, like every command group: parse what was typed (amounts straight from the text into
Decimals, never floats, so 0.10 + 0.20 is exactly 0.30), call a service of
`engine.ledger.services` or a query (`queries`, `reports`) with the acting user, which check
permissions, balance, accounts and periods themselves, and print the result. Tables round to
cents with thousands separators for reading; `--json` keeps the exact amounts as strings, so
a script never sees a float.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    as_json_values,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
    settings,
)
from engine.errors import BackofficeError
from engine.formats import exact_money, money, parse_date, parse_number
from engine.ledger import queries, reports
from engine.ledger.beancount import export_beancount as export_books
from engine.ledger.chart import install_chart
from engine.ledger.models import AMOUNT
from engine.ledger.reports import exact
from engine.ledger.services import (
    Line,
    close_period,
    find_entry,
    open_year,
    post_entry,
    reopen_period,
    reverse_entry,
)

ledger_app = typer.Typer(help="The books: chart of accounts, periods, journal entries, closing and reports.",
                         no_args_is_help=True)

Day = Annotated[str, typer.Option(metavar="DATE", help="YYYY-MM-DD.")]
From = Annotated[str, typer.Option("--from", metavar="DATE", help="First day, YYYY-MM-DD.")]
To = Annotated[str, typer.Option("--to", metavar="DATE", help="Last day, YYYY-MM-DD (included).")]
Period = Annotated[str, typer.Argument(metavar="PERIOD", help="A month, e.g. 2026-03.")]


def parse_line(text: str) -> Line:
    """ACCOUNT:DEBIT:CREDIT[:CONTACT] as a `Line`; one of DEBIT and CREDIT is left empty."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0].strip():
        raise BackofficeError(f"--line {text!r} should be ACCOUNT:DEBIT:CREDIT or ACCOUNT:DEBIT:CREDIT:CONTACT, "
                              "e.g. 6200:450: or 1100::450")
    debit, credit = (parse_number(p, f"--line {text!r}: amount", AMOUNT) if p.strip() else Decimal(0)
                     for p in parts[1:3])
    contact = parts[3].strip() if len(parts) == 4 else ""
    if contact and not contact.isdigit():
        raise BackofficeError(f"--line {text!r}: the contact {contact!r} should be a contact id (a number)")
    return Line(parts[0].strip(), debit=debit, credit=credit, contact_id=int(contact) if contact else None)


def entry_as_dict(entry: queries.EntryView) -> dict:
    return {"id": entry.id, "number": entry.number, "entry_date": entry.entry_date.isoformat(), "memo": entry.memo,
            "source": entry.source, "reverses": entry.reverses, "posted_by": entry.posted_by,
            "lines": [{"line": x.line, "account": x.account, "name": x.name, "debit": exact_money(x.debit),
                       "credit": exact_money(x.credit), "contact_id": x.contact_id, "description": x.description}
                      for x in entry.lines]}


def show_entry(result: dict, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    memo_text = result["memo"] or ""
    undoes = f", reverses {result['reverses']}" if result["reverses"] and result["reverses"] not in memo_text else ""
    memo = f": {memo_text}" if memo_text else ""
    out.print(f"posted {result['number']} on {result['entry_date']}{memo}{undoes}", soft_wrap=True)
    table = new_table("account", "name", "debit", "credit", "contact")
    for x in result["lines"]:
        table.add_row(x["account"], x["name"], money(x["debit"]) if Decimal(x["debit"]) else "",
                      money(x["credit"]) if Decimal(x["credit"]) else "", str(x["contact_id"] or ""))
    out.print(table)


@ledger_app.command("chart")
@handles_errors
def chart(install: Annotated[bool, typer.Option("--install", help="Add the default chart's missing accounts.")]
          = False, as_json: JsonOption = False, user: UserOption = None) -> None:
    """The chart of accounts as a tree; --install adds the default chart's missing accounts."""
    if install:     # a change: on the database only
        with acting_as(user) as (_db, actor, session):
            added = install_chart(session, actor)
            accounts = as_json_values(queries.account_records(session, actor))
    else:
        added = None
        accounts = fetch(user, queries.account_records, ("/ledger/accounts", None))
    if as_json:
        print_json({"added": added, "accounts": [{k: a[k] for k in ("code", "name", "type", "parent", "active",
                                                                    "postable")} for a in accounts]})
        return
    table = new_table("code", "account", "type", "takes postings")
    for a in accounts:
        table.add_row(a["code"], "  " * a["depth"] + a["name"], a["type"],
                      ("yes" if a["postable"] else "no (heading)") if a["active"] else "closed")
    out.print(table)
    out.print(f"{len(accounts)} accounts" + (f", {added} added" if install else ""))


@ledger_app.command("periods")
@handles_errors
def periods(year: Annotated[int | None, typer.Argument(metavar="YEAR", help="Open this year's 12 months.")] = None,
            list_: Annotated[bool, typer.Option("--list", help="List the periods and their status.")] = False,
            as_json: JsonOption = False, user: UserOption = None) -> None:
    """Open a year's twelve monthly periods (YEAR), or list the periods (--list)."""
    if (year is None) == (not list_):
        raise BackofficeError("give a YEAR to open (e.g. `ledger periods 2026`) or --list, not both")
    if year is not None:
        with acting_as(user) as (_db, actor, session):
            made = [p.name for p in open_year(session, actor, year)]
        if as_json:
            print_json({"year": year, "opened": made})
        else:
            out.print(f"opened {len(made)} periods of {year}" + (f" ({made[0]} to {made[-1]})" if made else
                                                                 ": all twelve were open already"))
        return
    rows = [{k: p[k] for k in ("name", "starts_on", "ends_on", "status", "closing_entry")}
            for p in fetch(user, queries.period_records, ("/ledger/periods", None))]
    if as_json:
        print_json(rows)
        return
    table = new_table("period", "from", "to", "status", "closing entry")
    for r in rows:
        table.add_row(r["name"], r["starts_on"], r["ends_on"], r["status"], r["closing_entry"] or "")
    out.print(table)


@ledger_app.command("post")
@handles_errors
def post(on: Annotated[str, typer.Option("--date", metavar="DATE", help="Date of the entry, YYYY-MM-DD.")],
         line: Annotated[list[str], typer.Option(metavar="ACCOUNT:DEBIT:CREDIT[:CONTACT]", help=(
             "A line (repeatable): 6200:450: debits 450 to 6200, 1100::450 credits 450 to 1100."))],
         memo: Annotated[str, typer.Option(help="What the entry is for.")] = "",
         as_json: JsonOption = False, user: UserOption = None) -> None:
    """Post a balanced journal entry (refused, with every problem named, if it is not)."""
    entry_date, lines = parse_date(on, "--date"), [parse_line(x) for x in line]
    with acting_as(user) as (_db, actor, session):
        entry = post_entry(session, actor, entry_date, lines, memo=memo)
        result = entry_as_dict(queries.entry_view(session, actor, entry.id))
    show_entry(result, as_json)


@ledger_app.command("reverse")
@handles_errors
def reverse(number: Annotated[str, typer.Argument(metavar="ENTRY_NUMBER", help="e.g. JE-2026-00017.")],
            on: Annotated[str | None, typer.Option("--date", metavar="DATE", help=(
                "Date of the reversal (default: the entry's own date)."))] = None,
            as_json: JsonOption = False, user: UserOption = None) -> None:
    """Post the mirror image of an entry (posted entries are never changed)."""
    entry_date = parse_date(on, "--date") if on else None
    with acting_as(user) as (_db, actor, session):
        mirror = reverse_entry(session, actor, number, entry_date)
        result = entry_as_dict(queries.entry_view(session, actor, mirror.id))
    show_entry(result, as_json)


@ledger_app.command("close")
@handles_errors
def close(period: Period, user: UserOption = None) -> None:
    """Close a month: its income and expenses move into retained earnings; then it is locked."""
    into = settings().ledger.retained_earnings
    with acting_as(user) as (_db, actor, session):
        closed = close_period(session, actor, period.strip(), into)
        number = find_entry(session, actor, closed.closing_entry_id).number if closed.closing_entry_id else None
    moved = f"closing entry {number} moved the result into {into}" if number else "no income or expenses to move"
    out.print(f"closed {closed.name}: {moved}")


@ledger_app.command("reopen")
@handles_errors
def reopen(period: Period, user: UserOption = None) -> None:
    """Reopen a closed month (accountants only): its closing entry is reversed."""
    with acting_as(user) as (_db, actor, session):
        name = reopen_period(session, actor, period.strip()).name
    out.print(f"reopened {name}: postings dated in it are accepted again; close it again when done")


def _report(user: str | None, name: str, args: tuple[Any, ...], remote: tuple[str, dict[str, Any]],
            **extra: Any) -> Any:
    """Run one report of `engine.ledger.reports` as the acting user (it checks they may read
    the ledger), or ask the server for it (`remote`: path and query): either way in the JSON
    form the route answers (`exact`, with `extra` before it), which the command renders."""
    return fetch(user, lambda session, actor: {**extra, **exact(getattr(reports, name)(session, actor, *args))},
                 remote)


def _amount(value: str | None) -> str:
    """An amount of a report's JSON form for a table: empty when nothing (zero)."""
    return money(value) if value is not None and Decimal(value) else ""


@ledger_app.command("trial-balance")
@handles_errors
def trial_balance(as_of: Day, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Every account's debit or credit balance at the end of a day, and the totals."""
    day = parse_date(as_of, "--as-of")
    tb = _report(user, "trial_balance", (day,), ("/ledger/trial-balance", {"as_of": day.isoformat()}),
                 as_of=day.isoformat())
    if as_json:
        print_json(tb)
        return
    table = new_table("code", "account", "debit", "credit", title=f"Trial balance at the end of {day.isoformat()}")
    for r in tb["rows"]:
        table.add_row(r["code"], r["name"], _amount(r["debit"]), _amount(r["credit"]))
    table.add_section()
    table.add_row("", "total", money(tb["total_debit"]), money(tb["total_credit"]))
    out.print(table)


@ledger_app.command("account")
@handles_errors
def account(code: Annotated[str, typer.Argument(metavar="CODE", help="Account code, e.g. 1100.")],
            start: From, end: To, as_json: JsonOption = False, user: UserOption = None) -> None:
    """The general ledger of one account: opening balance, every line, running balance."""
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    gl = _report(user, "general_ledger", (code.strip(), first, last),
                 (f"/ledger/accounts/{quote(code.strip(), safe='')}/ledger",
                  {"from": first.isoformat(), "to": last.isoformat()}),
                 start=first.isoformat(), end=last.isoformat())
    if as_json:
        print_json(gl)
        return
    table = new_table("date", "entry", "memo", "debit", "credit", "balance",
                  title=f"{gl['code']} {gl['name']}, {first.isoformat()} to {last.isoformat()}")
    table.add_row("", "", "opening balance", "", "", money(gl["opening"]))
    for x in gl["lines"]:
        table.add_row(x["entry_date"], x["number"], x["description"] or x["memo"],
                      _amount(x["debit"]), _amount(x["credit"]), money(x["balance"]))
    table.add_section()
    table.add_row("", "", "closing balance", "", "", money(gl["closing"]))
    out.print(table)


@ledger_app.command("pnl")
@handles_errors
def pnl(start: From, end: To, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Profit and loss for a span of days, beside the span just before it."""
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    p = _report(user, "profit_and_loss", (first, last), ("/ledger/pnl", {"from": first.isoformat(),
                                                                         "to": last.isoformat()}))
    if as_json:
        print_json(p)
        return
    table = new_table("code", "account", f"{p['start']} to {p['end']}", f"{p['previous_start']} to {p['previous_end']}",
                  title="Profit and loss", title_justify="left")
    for heading, rows, total in (("Income", p["income"], p["total_income"]),
                                 ("Expenses", p["expenses"], p["total_expenses"])):
        table.add_row("", heading)
        for r in rows:
            table.add_row(r["code"], r["name"], money(r["amount"]), money(r["previous"]))
        table.add_row("", f"total {heading.lower()}", money(total),
                      money(sum((Decimal(r["previous"]) for r in rows), Decimal(0))))
        table.add_section()
    table.add_row("", "result (profit if positive)", money(p["result"]), money(p["previous_result"]))
    out.print(table)


@ledger_app.command("balance-sheet")
@handles_errors
def balance_sheet(as_of: Day, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Assets, liabilities and equity at the end of a day (with the year's result so far)."""
    day = parse_date(as_of, "--as-of")
    b = _report(user, "balance_sheet", (day,), ("/ledger/balance-sheet", {"as_of": day.isoformat()}))
    if as_json:
        print_json(b)
        return
    table = new_table("code", "account", "amount", title=f"Balance sheet at the end of {day.isoformat()}",
                  title_justify="left")
    for heading, rows in (("Assets", b["assets"]), ("Liabilities", b["liabilities"]), ("Equity", b["equity"])):
        table.add_row("", heading)
        for r in rows:
            table.add_row(r["code"], r["name"], money(r["amount"]))
        table.add_section()
    table.add_row("", "current earnings (not yet closed)", money(b["current_earnings"]))
    table.add_row("", "total assets", money(b["total_assets"]))
    table.add_row("", "total liabilities and equity", money(b["total_liabilities_and_equity"]))
    out.print(table)


@ledger_app.command("export-beancount")
@handles_errors
def export_beancount(out_file: Annotated[Path, typer.Option("--out", metavar="FILE", help=(
        "The .beancount file to write."))], user: UserOption = None) -> None:
    """Write the books as a beancount file, to check them with `bean-check` or browse them."""
    currency = settings().ledger.base_currency
    with acting_as(user) as (_db, actor, session):
        count = export_books(session, actor, out_file, currency)
    out.print(f"wrote {count} entries in {currency} to {out_file}; check it with `bean-check {out_file}`")
