"""`backoffice contacts duplicates` and `backoffice contacts merge`: finding the same party
typed twice, and merging the two records."""

from __future__ import annotations

from typing import Annotated

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
from engine.contacts import duplicates as found
from engine.contacts import merge as merging


def register_merge_commands(contacts_app: typer.Typer) -> None:
    contacts_app.command("duplicates")(duplicates)
    contacts_app.command("merge")(merge)


@handles_errors
def duplicates(
    min_score: Annotated[int, typer.Option(help="Only pairs scoring at least this (0-100).", min=0, max=100)]
    = found.MIN_SCORE,
    limit: Annotated[int, typer.Option(help="At most this many pairs, the likeliest first.", min=1)] = 50,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Likely duplicate contacts, with a score (0-100) and the reasons (name, e-mail, phone, postcode)."""
    with acting_as(user) as (_db, actor, session):
        pairs = found.duplicates(session, actor, min_score=min_score, limit=limit)
    if as_json:
        print_json(pairs)
        return
    table = new_table("score", "contact", "looks like", "because")
    for p in pairs:
        first, second = p["first"], p["second"]
        table.add_row(str(p["score"]), f"#{first['id']} {first['name']}", f"#{second['id']} {second['name']}",
                      "; ".join(p["reasons"]))
    out.print(table)
    out.print(f"{len(pairs)} likely duplicate{'s' if len(pairs) != 1 else ''}"
              + (": `backoffice contacts merge KEEP DROP --dry-run` shows what a merge would do" if pairs else ""))


@handles_errors
def merge(
    keep: Annotated[int, typer.Argument(help="The id of the contact to keep.")],
    drop: Annotated[int, typer.Argument(help="The id of the contact merged into it and deleted.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; change nothing.")] = False,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Merge DROP into KEEP: every reference in every module moves to KEEP, DROP is deleted."""
    with acting_as(user) as (_db, actor, session):
        plan = merging.merge_contacts(session, actor, keep, drop, dry_run=dry_run)
    result = plan.as_dict()
    if as_json:
        print_json(result)
        return
    keep_label, drop_label = f"#{plan.keep} {plan.keep_name}", f"#{plan.drop} {plan.drop_name}"
    if result["changes"]:
        table = new_table("table", "column", "rows", "action")
        for c in result["changes"]:
            table.add_row(c["table"], c["column"], str(c["rows"]), c["action"])
        out.print(table)
    for name, value in result["filled"].items():
        out.print(f"{keep_label}: {name.replace('_', ' ')} becomes {value!r}")
    for name, (dropped, kept) in result["not_kept"].items():
        out.print(f"{drop_label}: {name.replace('_', ' ')} {dropped!r} is not kept ({keep_label} keeps {kept!r})")
    if dry_run:
        out.print(f"dry run: merging {drop_label} into {keep_label} would change {_rows(result['rows'])}; "
                  "nothing was changed")
    else:
        out.print(f"merged {drop_label} into {keep_label}: {_rows(result['rows'])} changed, {drop_label} deleted")


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"
