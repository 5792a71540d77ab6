"""`backoffice assets ...`: the asset register (add, change, assign, return, dispose), its
depreciation schedules, the monthly depreciation run and the register's value.

Thin, like every command group: parse what was typed (money straight into Decimals, never
through a float), call `engine.admin.assets` (which checks the role and the rules) or
`asset_queries` with the acting user, print the result. The reads work through a server too;
the changes only on the database (with a server set they name the route doing it).
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from engine.admin import asset_queries as queries
from engine.admin import assets as services
from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    err,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.errors import BackofficeError
from engine.formats import money, parse_date, parse_number, quantity_text

assets_app = typer.Typer(help="The asset register: assets, who has them, depreciation and value.",
                         no_args_is_help=True)

TagArg = Annotated[str, typer.Argument(metavar="TAG", help="The asset's tag, e.g. LAP-0042.")]
OnOption = Annotated[str | None, typer.Option("--on", metavar="DATE", help="YYYY-MM-DD (default: today).")]
Text = Annotated[str | None, typer.Option()]


def _money(text: str | None, option: str):
    return parse_number(text, option, 2) if text is not None else None


def _values(description: str | None, category: str | None, purchased: str | None, cost: str | None,
            supplier: int | None, location: str | None, warranty: str | None, method: str | None,
            life: int | None, residual: str | None, rate: str | None) -> dict[str, Any]:
    """What was typed, by the register's field names (what was not typed left out)."""
    values = {"description": description, "category": category,
              "purchased_on": parse_date(purchased, "--purchased") if purchased else None,
              "cost": _money(cost, "--cost"), "supplier_id": supplier, "location": location,
              "warranty_ends_on": parse_date(warranty, "--warranty") if warranty else None,
              "method": method.replace("-", "_") if method else None, "useful_life_months": life,
              "residual_value": _money(residual, "--residual"),
              "declining_rate": parse_number(rate, "--rate", 4) if rate is not None else None}
    return {k: v for k, v in values.items() if v is not None}


def _say(verb: str, r: dict[str, Any]) -> None:
    holder = f", with {r['employee']} {r['employee_name']}" if r.get("employee") else ""
    out.print(f"{verb} {r['tag']} {r['description']} ({r['category']}): cost {money(r['cost'])}, "
              f"book value {money(r['book_value'])}{holder}")


def _one(tag: str, as_json: bool, verb: str, user: str | None, act) -> None:
    """Run `act(session, actor, asset)` on the asset tagged `tag`, then show it."""
    with acting_as(user) as (_db, actor, session):
        act(session, actor, queries.find_asset(session, actor, tag))
        record = queries.asset(session, actor, tag)
    if as_json:
        print_json(record)
    else:
        _say(verb, record)


@assets_app.command("add")
@handles_errors
def add(
    tag: TagArg,
    description: Annotated[str, typer.Option(help="What it is, e.g. 'Laptop 14in'.")],
    category: Annotated[str, typer.Option(help="e.g. laptops, phones, vehicles.")],
    purchased: Annotated[str, typer.Option(metavar="DATE", help="The purchase date, YYYY-MM-DD.")],
    cost: Annotated[str, typer.Option(help="What it cost, e.g. 1200.00.")],
    life: Annotated[int, typer.Option(help="Useful life in months, e.g. 36.")],
    method: Annotated[str, typer.Option(help="straight-line or declining-balance.")] = "straight-line",
    rate: Annotated[str | None, typer.Option(help="Declining balance: the yearly rate, 0.25 for 25 %.")] = None,
    residual: Annotated[str | None, typer.Option(help="Residual value at the end of its life (default 0).")] = None,
    supplier: Annotated[int | None, typer.Option(help="The supplier's contact id.")] = None,
    location: Text = None,
    warranty: Annotated[str | None, typer.Option(metavar="DATE", help="The warranty's end, YYYY-MM-DD.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add an asset to the register (to the books as well when admin.post_depreciation is on)."""
    values = {"tag": tag, **_values(description, category, purchased, cost, supplier, location, warranty, method,
                                    life, residual, rate)}
    with acting_as(user) as (_db, actor, session):
        services.add_asset(session, actor, values)
        record = queries.asset(session, actor, tag)
    if as_json:
        print_json(record)
    else:
        _say("added", record)


@assets_app.command("change")
@handles_errors
def change(
    tag: TagArg,
    new_tag: Annotated[str | None, typer.Option("--tag", help="A new tag.")] = None,
    description: Text = None, category: Text = None,
    purchased: Annotated[str | None, typer.Option(metavar="DATE")] = None,
    cost: Text = None, supplier: Annotated[int | None, typer.Option()] = None, location: Text = None,
    warranty: Annotated[str | None, typer.Option(metavar="DATE")] = None, method: Text = None,
    life: Annotated[int | None, typer.Option()] = None, residual: Text = None, rate: Text = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Change an asset. How it is valued (cost, purchase date, method, life, residual, rate)
    is fixed once its depreciation is recorded; nothing changes once it is disposed of."""
    changes = _values(description, category, purchased, cost, supplier, location, warranty, method, life, residual,
                      rate)
    if new_tag:
        changes["tag"] = new_tag
    with acting_as(user) as (_db, actor, session):
        found = queries.find_asset(session, actor, tag)
        services.change_asset(session, actor, found.id, None, changes)
        record = queries.asset(session, actor, found.tag)
    if as_json:
        print_json(record)
    else:
        _say("changed", record)


@assets_app.command("list")
@handles_errors
def list_(
    category: Text = None,
    employee: Annotated[str | None, typer.Option(metavar="EMPLOYEE", help="Only those this employee has.")] = None,
    disposed: Annotated[bool, typer.Option("--disposed", help="Include those disposed of.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """The assets, by tag, with who has them and their book value today."""
    rows = fetch(user, lambda session, actor: queries.assets(session, actor, category, employee, disposed),
                 ("/admin/assets", {"category": category, "employee": employee, "disposed": disposed or None}))
    if as_json:
        print_json(rows)
        return
    table = new_table("tag", "description", "category", "bought", "cost", "book value", "with")
    for r in rows:
        table.add_row(r["tag"], r["description"], r["category"], r["purchased_on"], money(r["cost"]),
                      "disposed" if r["disposed_on"] else money(r["book_value"]),
                      f"{r['employee']} {r['employee_name']}" if r["employee"] else "")
    out.print(table)


@assets_app.command("show")
@handles_errors
def show(tag: TagArg, as_json: JsonOption = False, user: UserOption = None) -> None:
    """One asset: its record and who has had it."""
    r = fetch(user, lambda session, actor: queries.asset(session, actor, tag), (f"/admin/assets/{tag.strip()}", None))
    if as_json:
        print_json(r)
        return
    _say("asset", r)
    rate = f" at {quantity_text(Decimal(str(r['declining_rate'])) * 100)}% a year" if r["declining_rate"] else ""
    out.print(f"  bought {r['purchased_on']}, {r['method'].replace('_', ' ')}{rate} over {r['useful_life_months']} "
              f"months, residual {money(r['residual_value'])}; depreciation so far {money(r['accumulated_depreciation'])}")
    if r["disposed_on"]:
        out.print(f"  disposed of on {r['disposed_on']} for {money(r['disposal_proceeds'])}: "
                  f"{r['disposal_reason'] or ''}")
    for a in r["assignments"]:
        out.print(f"  {a['assigned_on']} to {a['returned_on'] or 'now'}: {a['employee']} {a['employee_name']}")


@assets_app.command("assign")
@handles_errors
def assign(tag: TagArg, employee: Annotated[str, typer.Argument(metavar="EMPLOYEE", help="The employee number.")],
           on: OnOption = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Give an asset to an employee (refused while someone has it: return it first)."""
    day = parse_date(on, "--on")
    _one(tag, as_json, "assigned", user, lambda session, actor, a: services.assign_asset(
        session, actor, a.id, services.employee_numbered(session, employee).id, day))


@assets_app.command("return")
@handles_errors
def return_(tag: TagArg, on: OnOption = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Take an asset back from whoever has it."""
    day = parse_date(on, "--on")
    _one(tag, as_json, "returned", user, lambda session, actor, a: services.return_asset(session, actor, a.id, day))


@assets_app.command("dispose")
@handles_errors
def dispose(
    tag: TagArg, on: Annotated[str, typer.Option("--on", metavar="DATE", help="The disposal date, YYYY-MM-DD.")],
    proceeds: Annotated[str | None, typer.Option(help="What it was sold for (default 0: scrapped).")] = None,
    reason: Text = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Dispose of an asset: its depreciation stops, whoever has it returns it that day."""
    day, amount = parse_date(on, "--on"), _money(proceeds, "--proceeds")
    _one(tag, as_json, "disposed of", user,
         lambda session, actor, a: services.dispose_asset(session, actor, a.id, day, amount, reason))


@assets_app.command("schedule")
@handles_errors
def schedule(tag: TagArg, as_json: JsonOption = False, user: UserOption = None) -> None:
    """An asset's depreciation, month by month, and which months are recorded."""
    r = fetch(user, lambda session, actor: queries.schedule(session, actor, tag),
              (f"/admin/assets/{tag.strip()}/schedule", None))
    if as_json:
        print_json(r)
        return
    out.print(f"{r['tag']} {r['description']}: cost {money(r['cost'])}, {r['method'].replace('_', ' ')}, "
              f"residual {money(r['residual_value'])}")
    table = new_table("month", "depreciation", "accumulated", "book value", "recorded")
    for m in r["months"]:
        table.add_row(m["month"], money(m["depreciation"]), money(m["accumulated"]), money(m["book_value"]),
                      "in the books" if m["in_books"] else "yes" if m["recorded"] else "")
    out.print(table)


def _month(text: str | None) -> date | None:
    """YYYY-MM as the month's first day (None: last month, the service's default)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(f"{text.strip()}-01")
    except ValueError:
        raise BackofficeError(f"--through {text!r}: write the month as YYYY-MM, e.g. 2026-03") from None


@assets_app.command("depreciate")
@handles_errors
def depreciate(
    through: Annotated[str | None, typer.Option(metavar="YYYY-MM", help="The last month (default: last month).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Record every month of depreciation not recorded yet, up to --through, for every asset
    (posted to the books when admin.post_depreciation is on). Running it twice records
    nothing twice; a month in a closed period refuses the whole run."""
    last = _month(through)
    # here: rich's progress bar, only for this command
    from rich.progress import BarColumn, Progress, TextColumn

    show = not as_json and sys.stderr.isatty()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=err, disable=not show, transient=True) as bar:
        task = bar.add_task("depreciation", total=None)
        with acting_as(user) as (_db, actor, session):
            result = services.depreciation_run(
                session, actor, last,
                progress=lambda month, n, of: bar.update(task, description=f"{month:%Y-%m}", completed=n, total=of))
    if as_json:
        print_json(result)
        return
    if not result["months"]:
        out.print(f"nothing to record: depreciation is recorded through {result['through']}")
    for m in result["months"]:
        books = " (posted to the books)" if m["in_books"] else ""
        out.print(f"{m['month']}: {money(m['depreciation'])} for {m['assets']} asset(s){books}")


@assets_app.command("value")
@handles_errors
def value(on: OnOption = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """The register's value: cost, depreciation and net book value, by category and in total."""
    day = parse_date(on, "--on")
    r = fetch(user, lambda session, actor: queries.value(session, actor, day), ("/admin/asset-value", {"on": day}))
    if as_json:
        print_json(r)
        return
    table = new_table("category", "assets", "cost", "depreciation", "book value", title=f"assets on {r['on']}")
    for c in [*r["categories"], {"category": "total", **r["total"]}]:
        table.add_row(c["category"], str(c["assets"]), money(c["cost"]), money(c["accumulated_depreciation"]),
                      money(c["book_value"]))
    out.print(table)
