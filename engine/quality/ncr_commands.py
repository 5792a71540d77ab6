"""`backoffice quality ncr ...`: nonconformance reports and their actions, through their
workflow (open -> investigating -> action -> verification -> closed; `engine.quality.ncr`
enforces it), and the actions overdue."""

from __future__ import annotations

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
from engine.formats import parse_date
from engine.quality import ncr as ncrs
from engine.quality import queries, services
from engine.quality.models import (
    ACTION_KINDS,
    FISHBONE_CATEGORIES,
    NCR_SEVERITIES,
    NCR_STATES,
    ROOT_CAUSE_METHODS,
)

ncr_app = typer.Typer(help="Nonconformance reports and their corrective and preventive actions.",
                      no_args_is_help=True)

NcrId = Annotated[int, typer.Argument(metavar="NCR", help="The nonconformance's number.")]
Text = Annotated[str | None, typer.Option()]


def register_ncr_commands(app: typer.Typer) -> None:
    app.add_typer(ncr_app, name="ncr")


def _show(record: dict[str, Any]) -> None:
    about = ", ".join(f"{what} {record[key]}" for what, key in (("lot", "lot"), ("item", "sku"),
                                                                 ("supplier", "supplier"), ("customer", "customer"))
                      if record.get(key))
    out.print(f"NCR #{record['id']} {record['title']} [{record['status']}, {record['severity']}] owner "
              f"{record['owner']}, opened {record['opened_on']}; about {about}", soft_wrap=True)
    for key in ("description", "containment", "root_cause_method", "cause_category", "root_cause", "verifier",
                "closed_on"):
        if record.get(key):
            out.print(f"  {key.replace('_', ' ')}: {record[key]}", soft_wrap=True)
    for a in record.get("actions", []):
        out.print(f"  action #{a['id']} {a['kind']}: {a['description']} ({a['owner']}, due {a['due_on']}, "
                  f"{a['status']})", soft_wrap=True)


@ncr_app.command("add")
@handles_errors
def add(
    title: Annotated[str, typer.Option(help="What went wrong, in a line.")],
    severity: Annotated[str, typer.Option(help=f"{', '.join(NCR_SEVERITIES)}.")] = "major",
    lot: Annotated[str | None, typer.Option(help="The lot number it is about.")] = None,
    item: Annotated[str | None, typer.Option(metavar="SKU", help="The item it is about.")] = None,
    supplier: Annotated[int | None, typer.Option(help="Contact id of the supplier it is about.")] = None,
    customer: Annotated[int | None, typer.Option(help="Contact id of the customer who complained.")] = None,
    owner: Annotated[str | None, typer.Option(help="Login of its owner (default: you).")] = None,
    description: Text = None, containment: Text = None,
    on: Annotated[str | None, typer.Option("--date", help="Opened on, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Open a nonconformance report."""
    day = parse_date(on, "--date")
    with acting_as(user) as (_db, actor, session):
        values = {"title": title, "severity": severity, "supplier_id": supplier, "customer_id": customer,
                  "owner": owner, "description": description, "containment": containment, "opened_on": day,
                  "item_id": services.item_named(session, item).id if item else None,
                  "lot_id": services.find_lot(session, lot, item).id if lot else None}
        record = queries.ncr(session, actor, ncrs.add_ncr(session, actor, values).id)
    if as_json:
        print_json(record)
        return
    out.print(f"opened NCR #{record['id']}: {record['title']} (owner {record['owner']})")


@ncr_app.command("list")
@handles_errors
def list_(
    status: Annotated[str | None, typer.Option(help=f"Only in this state: {', '.join(NCR_STATES)}.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only those not closed.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Nonconformance reports, oldest first."""
    rows = fetch(user, lambda session, actor: queries.ncrs(session, actor, status=status, open_only=open_),
                 ("/quality/ncrs", {"status": status, "open": open_ or None}))
    if as_json:
        print_json(rows)
        return
    table = new_table("NCR", "title", "state", "severity", "owner", "opened")
    for r in rows:
        table.add_row(str(r["id"]), r["title"], r["status"], r["severity"], r["owner"], r["opened_on"])
    out.print(table)


@ncr_app.command("show")
@handles_errors
def show(ncr_id: NcrId, as_json: JsonOption = False, user: UserOption = None) -> None:
    """One nonconformance report with its actions."""
    record = fetch(user, lambda session, actor: queries.ncr(session, actor, ncr_id), (f"/quality/ncrs/{ncr_id}", None))
    if as_json:
        print_json(record)
        return
    _show(record)


@ncr_app.command("advance")
@handles_errors
def advance(
    ncr_id: NcrId,
    to: Annotated[str | None, typer.Option(help=f"The state to go to (default: the next of {', '.join(NCR_STATES)}).")] = None,
    containment: Text = None,
    root_cause: Text = None,
    method: Annotated[str | None, typer.Option(help=f"How the root cause was found: {' or '.join(ROOT_CAUSE_METHODS)}.")] = None,
    category: Annotated[str | None, typer.Option(help=f"Fishbone category: {', '.join(FISHBONE_CATEGORIES)}.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Move a nonconformance on to its next state, with what that step needs (closing: you
    verify it, so you may not be its owner or an owner of its actions)."""
    changes = {k: v for k, v in (("containment", containment), ("root_cause", root_cause),
                                 ("root_cause_method", method), ("cause_category", category)) if v is not None}
    with acting_as(user) as (_db, actor, session):
        ncrs.advance_ncr(session, actor, ncr_id, to, **changes)
        record = queries.ncr(session, actor, ncr_id)
    if as_json:
        print_json(record)
        return
    out.print(f"NCR #{record['id']} is now {record['status']}")


@ncr_app.command("action")
@handles_errors
def action(
    ncr_id: NcrId,
    description: Annotated[str, typer.Option(help="What is to be done.")],
    owner: Annotated[str, typer.Option(help="Login of who does it.")],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    kind: Annotated[str, typer.Option(help=f"{' or '.join(ACTION_KINDS)}.")] = "corrective",
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add a corrective or preventive action to a nonconformance."""
    values = {"ncr_id": ncr_id, "description": description, "owner": owner, "kind": kind,
              "due_on": parse_date(due, "--due")}
    with acting_as(user) as (_db, actor, session):
        result = queries.action_record(ncrs.add_action(session, actor, values))
    if as_json:
        print_json(result)
        return
    out.print(f"added action #{result['id']} to NCR #{ncr_id}: {result['description']} ({result['owner']}, due "
              f"{result['due_on']})")


@ncr_app.command("done")
@handles_errors
def done(
    action_id: Annotated[int, typer.Argument(metavar="ACTION", help="The action's number.")],
    on: Annotated[str | None, typer.Option("--date", help="Done on, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Mark an action done."""
    day = parse_date(on, "--date")
    with acting_as(user) as (_db, actor, session):
        result = queries.action_done_record(ncrs.update_action(session, actor, action_id, None,
                                                               {"status": "done", "done_on": day}))
    if as_json:
        print_json(result)
        return
    out.print(f"action #{result['id']} of NCR #{result['ncr_id']} done on {result['done_on']}")


@ncr_app.command("overdue")
@handles_errors
def overdue(
    as_of: Annotated[str | None, typer.Option(help="On this day, YYYY-MM-DD (default: today).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Open actions past their due date, the most overdue first."""
    day = parse_date(as_of, "--as-of")
    rows = fetch(user, lambda session, actor: queries.overdue_actions(session, actor, day),
                 ("/quality/actions/overdue", {"as_of": day.isoformat()}))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"no action is overdue on {day}")
        return
    table = new_table("action", "NCR", "description", "owner", "due", "days over")
    for r in rows:
        table.add_row(str(r["id"]), f"#{r['ncr_id']} {r['ncr']}", r["description"], r["owner"], r["due_on"],
                      str(r["days_overdue"]))
    out.print(table)
