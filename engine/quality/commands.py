"""`backoffice quality ...`: inspection plans, inspections of held lots, dispositions,
nonconformances and their actions, rejection rates and process capability.

Thin, like every command group: parse what the quality officer typed, call
`engine.quality.services` / `ncr` (which check the role, the rules and the workflow) or
`queries` with the acting user, print the result. Measurements are parsed from their text
straight into Decimals, never through a float. These commands work on the database (with a
server set they are refused, saying so).
"""

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
from engine.errors import BackofficeError
from engine.formats import parse_date, parse_number
from engine.quality import dispositions, inspections, queries, services
from engine.quality.models import AQL, MEASURE
from engine.quality.rules import Found

quality_app = typer.Typer(help="Quality: inspection plans, inspections, dispositions, nonconformances, capability.",
                          no_args_is_help=True)
plan_app = typer.Typer(help="Inspection plans: how an item's lots are inspected.", no_args_is_help=True)
quality_app.add_typer(plan_app, name="plan")

LotArgument = Annotated[str, typer.Argument(metavar="LOT", help="The lot number.")]
ItemOption = Annotated[str | None, typer.Option("--item", metavar="SKU",
                                                help="The item's SKU, where two items have a lot of that number.")]
DateOption = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today).")]


def _pairs(text: str, option: str) -> dict[str, str]:
    """`name=Diameter,lower=9.95` as {name: Diameter, lower: 9.95}."""
    pairs = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep:
            raise BackofficeError(f"{option} {text!r}: write it as key=value pairs separated by commas, e.g. "
                                  "name=Diameter,lower=9.95,upper=10.05,unit=mm")
        pairs[key.strip().lower()] = value.strip()
    return pairs


CHARACTERISTIC_KEYS = {"name": "name", "kind": "kind", "unit": "unit", "nominal": "nominal", "lower": "lower_limit",
                       "upper": "upper_limit", "class": "defect_class"}


def _characteristic(text: str) -> dict[str, Any]:
    pairs = _pairs(text, "--characteristic")
    unknown = sorted(set(pairs) - set(CHARACTERISTIC_KEYS))
    if unknown:
        raise BackofficeError(f"--characteristic {text!r}: unknown key(s) {', '.join(unknown)}; use "
                              f"{', '.join(CHARACTERISTIC_KEYS)}")
    values: dict[str, Any] = {CHARACTERISTIC_KEYS[k]: v or None for k, v in pairs.items()}
    for key in ("nominal", "lower_limit", "upper_limit"):
        if values.get(key) is not None:
            values[key] = parse_number(values[key], f"--characteristic {key.split('_')[0]}", MEASURE)
    return values


# -- plans -------------------------------------------------------------------------------------

@plan_app.command("add")
@handles_errors
def plan_add(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The plan's code, e.g. IP-BOLT-10.")],
    item: Annotated[str, typer.Option("--item", metavar="SKU", help="The item inspected (tracked by lot).")],
    characteristic: Annotated[list[str], typer.Option(
        "--characteristic", "-c", help="What is checked, as key=value pairs: name=Diameter,lower=9.95,upper=10.05,"
        "unit=mm[,nominal=10][,class=major]; or name=Finish,kind=attribute[,class=minor]. Repeat for each.")],
    supplier: Annotated[int | None, typer.Option(help="Contact id: a plan for this supplier's lots only.")] = None,
    aql: Annotated[str | None, typer.Option(help="Acceptance quality limit, e.g. 1.0 or 2.5 (standard sampling).")] = None,
    level: Annotated[str, typer.Option(help="Inspection level: I, II, III or S-1 to S-4.")] = "II",
    fixed: Annotated[int | None, typer.Option(help="A fixed sample size instead of the standard's tables.")] = None,
    accept: Annotated[int | None, typer.Option(help="With --fixed: nonconforming units a lot may have.")] = None,
    no_switching: Annotated[bool, typer.Option("--no-switching", help="Stay at normal inspection.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Add an inspection plan: lots of the item received from now on wait for inspection."""
    values = {"code": code, "supplier_id": supplier, "level": level, "switching": not no_switching,
              "sampling": "fixed" if fixed is not None else "standard", "sample_size": fixed, "accept_number": accept,
              "aql": parse_number(aql, "--aql", AQL) if aql is not None else None}
    with acting_as(user) as (_db, actor, session):
        values["item_id"] = services.item_named(session, item).id
        plan = services.add_plan(session, actor, values, [_characteristic(c) for c in characteristic])
        record = queries.plan_record(session, actor, plan.id)
    if as_json:
        print_json(record)
        return
    how = (f"fixed sample of {record['sample_size']}, accept {record['accept_number']}" if fixed is not None
           else f"level {record['level']}, AQL {record['aql']}")
    out.print(f"added plan {record['code']} for {record['sku']}: {how}, {record['characteristics']} characteristic(s)")


@plan_app.command("list")
@handles_errors
def plan_list(as_json: JsonOption = False, user: UserOption = None) -> None:
    """The inspection plans."""
    rows = fetch(user, queries.plans, ("/quality/plans", None))
    if as_json:
        print_json(rows)
        return
    table = new_table("code", "SKU", "supplier", "sampling", "characteristics", "active")
    for r in rows:
        how = f"fixed {r['sample_size']}, Ac {r['accept_number']}" if r["sampling"] == "fixed" \
            else f"level {r['level']}, AQL {r['aql']}"
        table.add_row(r["code"], r["sku"], r["supplier"] or "any", how, str(r["characteristics"]),
                      "yes" if r["active"] else "no")
    out.print(table)


# -- lots and inspections ----------------------------------------------------------------------

@quality_app.command("lots")
@handles_errors
def lots(as_json: JsonOption = False, user: UserOption = None) -> None:
    """Lots held: awaiting inspection or quarantined, oldest first."""
    rows = fetch(user, lambda session, actor: {"items": queries.held_lots(session, actor)},
                 ("/quality/lots", None))["items"]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no lot is held: nothing awaits inspection, nothing is quarantined")
        return
    table = new_table("lot", "SKU", "status", "on hand", "since")
    for r in rows:
        table.add_row(r["lot"], r["sku"], r["status"], r["on_hand"], r["since"])
    out.print(table)


def _measurements(texts: list[str], task: inspections.Task) -> list[Found]:
    """`--measure "Diameter=10.01,10.02,..."`: each sample's value in order (pass or fail for
    a pass/fail characteristic); an empty place is a missing measurement."""
    found = []
    for text in texts:
        name, sep, values = text.partition("=")
        c = task.characteristic_named(name)
        if not sep or c is None:
            raise BackofficeError(f"--measure {text!r}: write NAME=value,value,... with NAME one of: {task.names}")
        for n, value in enumerate(values.split(","), 1):
            value = value.strip()
            if not value:
                continue
            if c.kind == "attribute":
                if value.lower() not in ("pass", "fail"):
                    raise BackofficeError(f"--measure {c.name}: sample {n} is {value!r}; write pass or fail")
                found.append(Found(n, c.id, passed=value.lower() == "pass"))
            else:
                found.append(Found(n, c.id, value=parse_number(value, f"--measure {c.name} sample {n}", MEASURE)))
    return found


@quality_app.command("inspect")
@handles_errors
def inspect(
    lot: LotArgument,
    measure: Annotated[list[str] | None, typer.Option(
        "--measure", "-m", help="NAME=value,value,... for every sample unit in order (pass/fail for a pass/fail "
        "characteristic). Repeat for each characteristic. Without it: what to measure.")] = None,
    item: ItemOption = None, on: DateOption = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Inspect a lot awaiting inspection: without --measure, show the sample and what to
    measure; with it, record every measurement and decide the lot (accepted: available;
    rejected: quarantined)."""
    day = parse_date(on, "--date")
    with acting_as(user) as (_db, actor, session):
        held = services.find_lot(session, lot, item)
        task = inspections.inspection_task(session, actor, held.id)
        record = queries.task_record(task)
        if measure:
            inspection = inspections.inspect_lot(session, actor, held.id, _measurements(measure, task), day)
            record = queries.inspection_record(task, inspection)
    if as_json:
        print_json(record)
        return
    letter = f" (code letter {record['code_letter']})" if record["code_letter"] else ""
    sample = (f"lot {record['lot']} ({record['lot_size']} units), plan {record['plan']}, {record['severity']} "
              f"inspection: sample {record['sample_size']}{letter}, accept {record['accept']}, reject {record['reject']}")
    if not measure:
        out.print(sample, soft_wrap=True)
        table = new_table("characteristic", "kind", "lower", "upper", "unit", "class")
        for c in record["characteristics"]:
            table.add_row(c["name"], c["kind"], str(c["lower_limit"] or ""), str(c["upper_limit"] or ""),
                          c["unit"] or "", c["defect_class"])
        out.print(table)
        return
    verdict = "accepted: the lot is available" if record["accepted"] else "rejected: the lot is quarantined"
    out.print(f"{sample}\n{record['nonconforming']} nonconforming unit(s), {record['critical']} critical: {verdict}",
              soft_wrap=True)


@quality_app.command("disposition")
@handles_errors
def disposition(
    lot: LotArgument,
    reason: Annotated[str, typer.Option(help="Why: kept with the decision.")],
    release: Annotated[bool, typer.Option("--release", help="Release the lot for use.")] = False,
    rework: Annotated[bool, typer.Option("--rework", help="Rework it; it is inspected again after.")] = False,
    scrap: Annotated[bool, typer.Option("--scrap", help="Scrap it: a scrapped adjustment of all it holds.")] = False,
    return_: Annotated[bool, typer.Option("--return", help="Return it to its supplier: an issue of all it holds.")] = False,
    item: ItemOption = None, on: DateOption = None, as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Decide what happens to a held lot (the quality role)."""
    chosen = [name for name, on_ in (("release", release), ("rework", rework), ("scrap", scrap),
                                     ("return", return_)) if on_]
    if len(chosen) != 1:
        raise BackofficeError("choose one of --release, --rework, --scrap or --return")
    day = parse_date(on, "--date")
    with acting_as(user) as (_db, actor, session):
        held = services.find_lot(session, lot, item)
        result = queries.disposition_record(session, dispositions.dispose(session, actor, held.id, chosen[0], reason, day))
    if as_json:
        print_json(result)
        return
    moved = f", {result['quantity']} units moved out" if result["decision"] in ("scrap", "return") else ""
    out.print(f"lot {result['lot']}: {result['decision']} ({result['status_before']} -> {result['status']}){moved}")


@quality_app.command("resume")
@handles_errors
def resume(
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="The plan's code.")],
    supplier: Annotated[int | None, typer.Option(help="Contact id of the supplier whose lots resume.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Resume inspection discontinued after five lots rejected on tightened inspection (once
    the supplier has acted): it resumes at tightened."""
    with acting_as(user) as (_db, actor, session):
        state = inspections.resume_inspection(session, actor, services.plan_named(session, plan).id, supplier)
        result = queries.resume_record(plan, supplier, state)
    if as_json:
        print_json(result)
        return
    out.print(f"plan {plan}: inspection resumes at {result['severity']}")
