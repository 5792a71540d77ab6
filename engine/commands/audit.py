"""`backoffice audit`."""

from __future__ import annotations

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
from engine.db.audit_query import describe_changes
from engine.formats import parse_date
from engine.security.audit_log import audit_entries

audit_app = typer.Typer(no_args_is_help=False, add_completion=False)


@audit_app.command("audit")
@handles_errors
def audit(
    table: Annotated[str | None, typer.Option(help="Only changes to this table.")] = None,
    record: Annotated[int | None, typer.Option(help="Only changes to this record id.")] = None,
    since: Annotated[str | None, typer.Option(help="Only changes on or after this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Show the audit log: who changed what, when, through which door."""
    since_date = parse_date(since, "--since") if since else None
    # Through the server the most recent `limit` come newest first: shown oldest first, as locally.
    rows = fetch(user, lambda session, actor: audit_entries(session, actor, table, record, since_date, limit),
                 ("/audit", {"table": table, "record": record, "since": since_date and since_date.isoformat(),
                             "sort": "-id" if limit else None, "limit": limit}), at_most=limit)
    rows.sort(key=lambda r: r["id"])
    if as_json:
        print_json(rows)
        return
    grid = new_table("when (UTC)", "who", "via", "record", "action", "changes")
    for r in rows:
        grid.add_row(r["at"][:19], r["actor"], r["source"], f"{r['table']} #{r['record_id']}",
                     r["action"], describe_changes(r["changes"]))
    out.print(grid)
