"""`backoffice quality capability` and `quality rates`: how capable a process is, and how
suppliers' and items' lots fare at inspection."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    handles_errors,
    new_table,
    out,
    print_json,
)
from engine.formats import parse_date
from engine.quality import queries

THREE = Decimal("0.001")


def register_capability_commands(app: typer.Typer) -> None:
    app.command("capability")(handles_errors(capability))
    app.command("rates")(handles_errors(rates))


def _three(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(THREE))


def _record(found: queries.CharacteristicCapability) -> dict[str, Any]:
    c, chart = found.capability, found.chart
    return {"sku": found.sku, "characteristic": found.characteristic, "unit": found.unit, "supplier": found.supplier,
            "lower_limit": found.limits.lower, "upper_limit": found.limits.upper, "count": c.count,
            "mean": _three(c.mean), "sigma_within": _three(c.sigma_within), "sigma_overall": _three(c.sigma_overall),
            "cp": _three(c.cp), "cpk": _three(c.cpk), "pp": _three(c.pp), "ppk": _three(c.ppk),
            "chart": {"kind": chart.kind, "centre": _three(chart.centre), "lower": _three(chart.lower),
                      "upper": _three(chart.upper),
                      "out_of_control": [{"point": p.index, "value": _three(p.value), "rules": list(p.rules)}
                                         for p in chart.out_of_control]}}


def capability(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="The item's SKU.")],
    characteristic: Annotated[str | None, typer.Option(help="Only this measured characteristic.")] = None,
    supplier: Annotated[int | None, typer.Option(help="Only this supplier's lots (contact id).")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Process capability (Cp, Cpk, Pp, Ppk) and the control chart's signals (Western Electric
    rules) of an item's measured characteristics."""
    with acting_as(user) as (_db, actor, session):
        rows = [_record(f) for f in queries.capability(session, actor, item, characteristic, supplier)]
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
    with acting_as(user) as (_db, actor, session):
        rows = [{by: r.key, "inspected": r.inspected, "rejected": r.rejected, "rejection_rate": r.rejection_rate,
                 "first_pass_yield": r.first_pass_yield} for r in queries.rates(session, actor, by, start, end)]
    if as_json:
        print_json(rows)
        return
    table = new_table(by, "lots inspected", "rejected", "rejection rate", "first-pass yield")
    for r in rows:
        table.add_row(r[by], str(r["inspected"]), str(r["rejected"]), f"{r['rejection_rate']:.1%}",
                      f"{r['first_pass_yield']:.1%}")
    out.print(table)
