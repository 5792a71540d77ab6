"""`backoffice crm ...`: interactions with contacts (their history, the follow-ups due),
opportunities through their stages, the pipeline and the won/lost figures. Each command
parses, calls the CRM's services or queries (`engine.crm`) and renders; reads work through a
server too (`fetch`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

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
from engine.crm import queries, services
from engine.crm.models import INTERACTION_KINDS
from engine.errors import BackofficeError
from engine.formats import money, parse_date

crm_app = typer.Typer(help="CRM: interactions with contacts, opportunities and the sales pipeline.",
                      no_args_is_help=True)
interaction_app = typer.Typer(help="Calls, meetings, letters, e-mails and notes with a contact.",
                              no_args_is_help=True)
opportunity_app = typer.Typer(help="Opportunities: the sales we hope to make, through their stages.",
                              no_args_is_help=True)
crm_app.add_typer(interaction_app, name="interaction")
crm_app.add_typer(opportunity_app, name="opportunity")

Contact = Annotated[int, typer.Argument(metavar="CONTACT", help="The contact's id.")]
RecordNumber = Annotated[int, typer.Argument(metavar="ID", help="The record's number.")]
Day = Annotated[str | None, typer.Option(metavar="DATE", help="YYYY-MM-DD.")]
Owner = Annotated[str | None, typer.Option(metavar="LOGIN", help="Login of its owner (default: you).")]


def _day(text: str | None, name: str) -> date | None:
    return parse_date(text, name) if text is not None else None


def _amount(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise BackofficeError(f"{name} {text!r} is not an amount; write it as 1200 or 1200.50.") from None


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# -- interactions ------------------------------------------------------------------------------

def _interaction_line(r: dict[str, Any]) -> str:
    follow = f", follow up {r['follow_up_on']}" if r.get("follow_up_on") else ""
    return f"#{r['id']} {r['occurred_on']} {r['kind']} with {r['contact']} ({r['owner']}{follow}): {r['summary']}"


@interaction_app.command("add")
@handles_errors
def interaction_add(
    contact: Contact,
    kind: Annotated[str, typer.Option(help=f"{', '.join(INTERACTION_KINDS)}.")],
    summary: Annotated[str, typer.Option(help="What passed, in a line or two.")],
    on: Day = None, owner: Owner = None,
    follow_up: Annotated[str | None, typer.Option(metavar="DATE", help="Follow up on this day, YYYY-MM-DD.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Record a call, meeting, letter, e-mail or note with a contact (dated today unless --on)."""
    values = {"contact_id": contact, "kind": kind, "summary": summary, "owner": owner,
              "occurred_on": _day(on, "--on"), "follow_up_on": _day(follow_up, "--follow-up")}
    with acting_as(user) as (_db, actor, session):
        record = queries.interaction(session, actor, services.add_interaction(session, actor, values).id)
    if as_json:
        print_json(record)
        return
    out.print(f"added interaction {_interaction_line(record)}", soft_wrap=True)


@interaction_app.command("change")
@handles_errors
def interaction_change(
    interaction_id: RecordNumber,
    kind: Annotated[str | None, typer.Option(help=f"{', '.join(INTERACTION_KINDS)}.")] = None,
    summary: Annotated[str | None, typer.Option()] = None,
    on: Day = None, owner: Owner = None,
    follow_up: Annotated[str | None, typer.Option(metavar="DATE", help="Follow up on this day, YYYY-MM-DD.")] = None,
    done: Annotated[bool, typer.Option("--done", help="The follow-up is done: clear its date.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Change an interaction of yours (an administrator: anyone's); --done clears its follow-up."""
    changes = _given(kind=kind, summary=summary, owner=owner, occurred_on=_day(on, "--on"),
                     follow_up_on=_day(follow_up, "--follow-up"))
    if done:
        changes["follow_up_on"] = None
    with acting_as(user) as (_db, actor, session):
        services.update_interaction(session, actor, interaction_id, None, changes)
        record = queries.interaction(session, actor, interaction_id)
    if as_json:
        print_json(record)
        return
    out.print(f"changed interaction {_interaction_line(record)}", soft_wrap=True)


@interaction_app.command("delete")
@handles_errors
def interaction_delete(interaction_id: RecordNumber, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Delete an interaction of yours (an administrator: anyone's); those the mail merge logged stay."""
    with acting_as(user) as (_db, actor, session):
        services.delete_interaction(session, actor, interaction_id, None)
    if as_json:
        print_json({"id": interaction_id, "deleted": True})
        return
    out.print(f"deleted interaction #{interaction_id}")


def _interaction_table(rows: list[dict[str, Any]], first: str) -> None:
    """History (`first` "date": when, then its follow-up) or follow-ups ("due": the follow-up,
    then the day of the interaction it follows up)."""
    history = first == "date"
    table = new_table("#", first, "kind", "contact", "owner", "follow up" if history else "of", "summary")
    for r in rows:
        first_day, other = (r["occurred_on"], r["follow_up_on"]) if history else (r["follow_up_on"], r["occurred_on"])
        table.add_row(str(r["id"]), str(first_day), r["kind"], r["contact"] or "", r["owner"], str(other or ""),
                      r["summary"])
    out.print(table)


@crm_app.command("history")
@handles_errors
def history(contact: Contact, as_json: JsonOption = False, user: UserOption = None) -> None:
    """A contact's interactions, newest first (the letters and e-mails the mail merge sent too)."""
    rows = fetch(user, lambda session, actor: queries.history(session, actor, contact),
                 (f"/crm/contacts/{contact}/interactions", None))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"nothing recorded with contact #{contact} yet")
        return
    _interaction_table(rows, "date")


@crm_app.command("follow-ups")
@handles_errors
def follow_ups(
    owner: Annotated[str | None, typer.Option(metavar="LOGIN", help="Only this owner's.")] = None,
    due: Annotated[str | None, typer.Option(metavar="DATE", help="Due by this day, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Follow-ups due by a day (today unless --due), the oldest first."""
    day = parse_date(due, "--due")
    rows = fetch(user, lambda session, actor: queries.follow_ups(session, actor, day, owner),
                 ("/crm/follow-ups", {"due_by": day.isoformat(), "owner": owner}))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"no follow-up is due by {day}")
        return
    _interaction_table(rows, "due")


# -- opportunities -----------------------------------------------------------------------------

Stage = Annotated[str | None, typer.Option(help="One of the stages of crm.stages (default: the first).")]
Value = Annotated[str | None, typer.Option(help="What it is worth, e.g. 12000 or 1250.50.")]
Currency = Annotated[str | None, typer.Option(help="ISO 4217 code (default: ledger.base_currency).")]


def _opportunity_line(r: dict[str, Any]) -> str:
    closed = f", closed {r['closed_on']}" if r.get("closed_on") else ""
    invoice = f", invoice #{r['invoice_id']}" if r.get("invoice_id") else ""
    reason = f" ({r['lost_reason']})" if r.get("lost_reason") else ""
    return (f"#{r['id']} {r['title']} with {r['contact']}: {r['stage']}{reason}, {money(r['value'], r['currency'])} "
            f"(owner {r['owner']}{closed}{invoice})")


def _show_opportunity(record: dict[str, Any], as_json: bool, done: str) -> None:
    if as_json:
        print_json(record)
        return
    out.print(f"{done} opportunity {_opportunity_line(record)}", soft_wrap=True)


@opportunity_app.command("add")
@handles_errors
def opportunity_add(
    contact: Contact,
    title: Annotated[str, typer.Option(help="What we hope to sell, in a line.")],
    stage: Stage = None, value: Value = None, currency: Currency = None,
    expected_close: Annotated[str | None, typer.Option(metavar="DATE", help="Expected to close by, YYYY-MM-DD.")] = None,
    owner: Owner = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add an opportunity with a contact."""
    values = {"contact_id": contact, "title": title, "stage": stage, "value": _amount(value, "--value"),
              "currency": currency, "expected_close_on": _day(expected_close, "--expected-close"), "owner": owner}
    with acting_as(user) as (_db, actor, session):
        record = queries.opportunity(session, actor, services.add_opportunity(session, actor, values).id)
    _show_opportunity(record, as_json, "added")


@opportunity_app.command("change")
@handles_errors
def opportunity_change(
    opportunity_id: RecordNumber,
    title: Annotated[str | None, typer.Option()] = None,
    stage: Stage = None, value: Value = None, currency: Currency = None,
    expected_close: Annotated[str | None, typer.Option(metavar="DATE", help="Expected to close by, YYYY-MM-DD.")] = None,
    owner: Owner = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Change an open opportunity: its stage, value, currency, expected close or owner."""
    changes = _given(title=title, stage=stage, value=_amount(value, "--value"), currency=currency,
                     expected_close_on=_day(expected_close, "--expected-close"), owner=owner)
    with acting_as(user) as (_db, actor, session):
        services.update_opportunity(session, actor, opportunity_id, None, changes)
        record = queries.opportunity(session, actor, opportunity_id)
    _show_opportunity(record, as_json, "changed")


@opportunity_app.command("win")
@handles_errors
def opportunity_win(
    opportunity_id: RecordNumber, on: Day = None,
    invoice: Annotated[bool, typer.Option("--invoice", help="And make it a draft sales invoice (the ledger).")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Mark an opportunity won (today unless --on); --invoice makes it a draft invoice."""
    with acting_as(user) as (_db, actor, session):
        services.win_opportunity(session, actor, opportunity_id, on=_day(on, "--on"), invoice=invoice)
        record = queries.opportunity(session, actor, opportunity_id)
    _show_opportunity(record, as_json, "won")


@opportunity_app.command("lose")
@handles_errors
def opportunity_lose(
    opportunity_id: RecordNumber,
    reason: Annotated[str, typer.Option(help="Why it was lost (price, timing, a competitor...).")],
    on: Day = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Mark an opportunity lost (today unless --on), saying why."""
    with acting_as(user) as (_db, actor, session):
        services.lose_opportunity(session, actor, opportunity_id, reason, on=_day(on, "--on"))
        record = queries.opportunity(session, actor, opportunity_id)
    _show_opportunity(record, as_json, "lost")


@opportunity_app.command("list")
@handles_errors
def opportunity_list(
    stage: Annotated[str | None, typer.Option(help="Only in this stage.")] = None,
    owner: Annotated[str | None, typer.Option(metavar="LOGIN", help="Only this owner's.")] = None,
    contact: Annotated[int | None, typer.Option(help="Only with this contact (id).")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only those not won or lost.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Opportunities, the oldest first."""
    rows = fetch(user, lambda session, actor: queries.opportunities(session, actor, stage=stage, owner=owner,
                                                                     contact_id=contact, open_only=open_),
                 ("/crm/opportunities", {"stage": stage, "owner": owner, "contact_id": contact,
                                         "open": open_ or None}))
    if as_json:
        print_json(rows)
        return
    table = new_table("#", "title", "contact", "stage", "value", "currency", "weighted", "owner", "closes")
    for r in rows:
        table.add_row(str(r["id"]), r["title"], r["contact"] or "", r["stage"], money(r["value"]), r["currency"],
                      money(r["weighted"]), r["owner"], str(r["closed_on"] or r["expected_close_on"] or ""))
    out.print(table)
    out.print(f"{len(rows)} opportunities")


@opportunity_app.command("show")
@handles_errors
def opportunity_show(opportunity_id: RecordNumber, as_json: JsonOption = False, user: UserOption = None) -> None:
    """One opportunity."""
    record = fetch(user, lambda session, actor: queries.opportunity(session, actor, opportunity_id),
                   (f"/crm/opportunities/{opportunity_id}", None))
    if as_json:
        print_json(record)
        return
    for key, value in record.items():
        if value not in (None, ""):
            shown = money(value) if key in ("value", "weighted") else value
            out.print(f"{key:>18}: {shown}", soft_wrap=True)


@crm_app.command("pipeline")
@handles_errors
def pipeline(
    by: Annotated[str, typer.Option(help="stage or owner.")] = "stage",
    owner: Annotated[str | None, typer.Option(metavar="LOGIN", help="Only this owner's.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """The open pipeline by stage (or owner) and currency: count, value, weighted value."""
    rows = fetch(user, lambda session, actor: queries.pipeline(session, actor, by, owner),
                 ("/crm/pipeline", {"by": by, "owner": owner}))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no open opportunity")
        return
    table = new_table(by, "currency", "count", "value", "weighted")
    for r in rows:
        table.add_row(r[by], r["currency"], str(r["count"]), money(r["value"]), money(r["weighted"]))
    out.print(table)


@crm_app.command("won-lost")
@handles_errors
def won_lost(
    start: Annotated[str | None, typer.Option("--from", metavar="DATE", help="From this day (default: 1 January).")] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="DATE", help="To this day (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Opportunities won and lost in a period (by the day they closed): count, value, win rate."""
    until = parse_date(end, "--to")
    since = parse_date(start, "--from") if start else date(until.year, 1, 1)
    found = fetch(user, lambda session, actor: queries.won_lost(session, actor, since, until),
                  ("/crm/won-lost", {"from": since.isoformat(), "to": until.isoformat()}))
    if as_json:
        print_json(found)
        return
    rate = f"{float(found['win_rate']) * 100:.1f}%" if found["win_rate"] is not None else "none closed"
    out.print(f"{found['from']} to {found['to']}: {found['won']} won, {found['lost']} lost, win rate {rate}")
    for r in found["by_currency"]:
        out.print(f"  {r['currency']}: won {r['won_count']} worth {money(r['won_value'])}, lost {r['lost_count']} worth "
                  f"{money(r['lost_value'])}")
