"""`backoffice audit` and `backoffice audit verify`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

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
from engine.db.audit_query import describe_changes
from engine.formats import parse_date
from engine.security.audit_log import audit_entries, verify_audit_log

audit_app = typer.Typer(add_completion=False)


@audit_app.callback(invoke_without_command=True)
@handles_errors
def audit(
    ctx: typer.Context,
    table: Annotated[str | None, typer.Option(help="Only changes to this table.")] = None,
    record: Annotated[int | None, typer.Option(help="Only changes to this record id.")] = None,
    since: Annotated[str | None, typer.Option(help="Only changes on or after this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Show the audit log: who changed what, when, through which door."""
    if ctx.invoked_subcommand:
        return
    since_date = parse_date(since, "--since") if since else None
    # The server answers newest first, a page at a time: the most recent `limit` are its first
    # rows, shown oldest first, as locally.
    rows = fetch(user, lambda session, actor: audit_entries(session, actor, table, record, since_date, limit),
                 ("/audit", {"table": table, "record": record, "since": since_date and since_date.isoformat(),
                             "limit": limit}), at_most=limit)
    rows.sort(key=lambda r: r["id"])
    if as_json:
        print_json(rows)
        return
    grid = new_table("when (UTC)", "who", "via", "record", "action", "changes")
    for r in rows:
        grid.add_row(r["at"][:19], r["actor"], r["source"], f"{r['table']} #{r['record_id']}",
                     r["action"], describe_changes(r["changes"]))
    out.print(grid)


@audit_app.command("verify")
@handles_errors
def audit_verify(as_json: JsonOption = False, user: UserOption = None) -> None:
    """Check the audit log's hash chain: exit 0 when intact, 1 when a row was removed, changed or inserted."""
    with acting_as(user) as (_db, actor, session):
        if as_json or not err.is_terminal:
            report = verify_audit_log(session, actor)
        else:
            report = _verify_with_progress(session, actor)
    if as_json:
        print_json(report)
    else:
        for problem in report["problems"]:
            out.print(f"{problem['problem']}: {problem['message']}")
        state = "intact" if report["intact"] else f"BROKEN ({len(report['problems'])} problems)"
        last = f"; last row #{report['last_id']}, hash {report['last_hash']}" if report["rows"] else ""
        out.print(f"audit log {state}: {report['rows']} rows checked{last}")
    if not report["intact"]:
        sys.stdout.flush()
        raise typer.Exit(1)


def _verify_with_progress(session, actor) -> dict:
    """The walk with a progress bar on the terminal's stderr (a million rows take a while)."""
    from rich.progress import Progress  # here: only a terminal run pays for rich's progress bars

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("checking the audit log", total=None)
        return verify_audit_log(session, actor, lambda done, total: bar.update(task, completed=done, total=total))
