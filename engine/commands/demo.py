"""`backoffice demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    err,
    handles_errors,
    open_database,
    out,
    print_json,
    settings,
)
from engine.demo_job import run_demo

demo_app = typer.Typer(no_args_is_help=False)


@demo_app.command("demo")
@handles_errors
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete everything first, then rebuild.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fill a fresh database with sample data and run the main job end to end."""
    config = settings()
    result = run_demo(config, lambda migrate=True: open_database(config, migrate=migrate, check_all=True, create=True), reset)
    if as_json:
        print_json(result)
        return
    if result["already_present"]:
        err.print("The database already holds data: nothing changed (use --reset to rebuild).")
        return
    out.print(f"Demo data in {result['database']}:")
    for name, count in result["created"].items():
        out.print(f"  {name:<16} {count:>6}")
    job = result.get("main_job")
    if job:
        out.print(f"Main job: exported {job['workbook']} for mia, changed a phone number and added a person, "
                  f"synced: {job['status']} ({job['inserted']} inserted, {job['updated']} updated).")
    reminders = result.get("reminders")
    if reminders:
        out.print(f"Reminders: {reminders['sent']} overdue-payment reminders written to {reminders['outbox']} "
                  f"(open them in Outlook as drafts)" + (f", {reminders['letters']} letters to print in "
                                                         f"{reminders['letters_file']}" if reminders["letters"] else "")
                  + "; `backoffice mail runs --user alex` lists the run.")
    if job:
        out.print("Next: open the workbook, edit it, then `backoffice sync " + job["workbook"] + " --user mia`;"
                  " `backoffice audit --limit 5 --user admin` shows what changed.")
