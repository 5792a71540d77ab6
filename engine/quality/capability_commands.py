"""`backoffice quality capability` and `quality rates`: how capable a process is, and how
suppliers' and items' lots fare at inspection."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.formats import parse_date
from engine.quality import queries


def register_capability_commands(app: typer.Typer) -> None:
    app.command("capability")(handles_errors(capability))
    app.command("rates")(handles_errors(rates))


def capability(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="The item's SKU.")],
    characteristic: Annotated[str | None, typer.Option(help="Only this measured characteristic.")] = None,
    supplier: Annotated[int | None, typer.Option(help="Only this supplier's lots (contact id).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Process capability (Cp, Cpk, Pp, Ppk) and the control chart's signals (Western Electric
    rules) of an item's measured characteristics."""
    rows = fetch(user, lambda session, actor: {"items": [queries.capability_record(f) for f in
                                                         queries.capability(session, actor, item, characteristic,
                                                                            supplier)]},
                 (f"/quality/capability/{item}", {"characteristic": characteristic, "supplier_id": supplier}))["items"]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"{item} has no measurements of a measured characteristic yet")
        return
    for r in rows:
        unit = f" {r['unit']}" if r["unit"] else ""
        out.print(f"{r['sku']} {r['characteristic']}: {r['count']} values, mean {r['mean']}{unit}; "
                  f"Cp {r['cp'] or '-'}, Cpk {r['cpk'] or '-'}, Pp {r['pp'] or '-'}, Ppk {r['ppk'] or '-'}", soft_wrap=True)
        chart = r["chart"]
        out.print(f"  {chart['kind']} chart: centre {chart['centre']}, limits {chart['lower']} to {chart['upper']}; "
                  f"{len(chart['out_of_control'])} point(s) out of control", soft_wrap=True)
        for p in chart["out_of_control"][:10]:
            out.print(f"    point {p['point']} ({p['value']}): rule {', '.join(map(str, p['rules']))}")


def rates(
    by: Annotated[str, typer.Option(help="supplier or item.")] = "supplier",
    since: Annotated[str | None, typer.Option(help="From this day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="To this day, YYYY-MM-DD.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Lots inspected, rejection rate and first-pass yield per supplier or item (original
    inspections: a lot inspected again after rework counts once)."""
    start = parse_date(since, "--since") if since else None
    end = parse_date(until, "--until") if until else None
    rows = fetch(user, lambda session, actor: {"items": [queries.rate_record(r, by) for r in
                                                         queries.rates(session, actor, by, start, end)]},
                 ("/quality/rates", {"by": by, "since": start and start.isoformat(),
                                     "until": end and end.isoformat()}))["items"]
    if as_json:
        print_json(rows)
        return
    table = new_table(by, "lots inspected", "rejected", "rejection rate", "first-pass yield")
    for r in rows:
        table.add_row(r[by], str(r["inspected"]), str(r["rejected"]), f"{Decimal(r['rejection_rate']):.1%}",
                      f"{Decimal(r['first_pass_yield']):.1%}")
    out.print(table)
