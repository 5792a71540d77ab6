"""`backoffice demo`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    err,
    handles_errors,
    open_database,
    out,
    print_json,
    settings,
)
from engine.demo_job import run_demo
from engine.errors import BackofficeError

demo_app = typer.Typer(no_args_is_help=False, add_completion=False)


CONFIRM = "reset"   # what a person types to confirm --reset


@demo_app.command("demo")
@handles_errors
def demo(
    reset: Annotated[bool, typer.Option(
        "--reset", help="Delete everything (audit log included) and rebuild: an admin only, on a database holding "
                        "demo data only; asks to type 'reset' unless --yes.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --reset: do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Fill a fresh database with sample data and run the main job end to end."""
    config = settings(user=user)

    def confirm(doomed: dict[str, int]) -> None:
        if yes:
            return
        what = ", ".join(f"{n} {thing}" for thing, n in doomed.items())
        if as_json or not sys.stdin.isatty():
            raise BackofficeError(f"--reset deletes everything in {config.masked()['database_url']} ({what}): "
                                  "add --yes to confirm it (there is no terminal to ask on)")
        typed = typer.prompt(f"This deletes everything in {config.masked()['database_url']} ({what}), the audit "
                             f"log included, and builds the demo again. Type {CONFIRM} to go on", default="",
                             show_default=False, err=True)
        if typed.strip() != CONFIRM:
            raise BackofficeError(f"not confirmed (you typed {typed.strip()!r}, not {CONFIRM!r}): nothing was deleted")

    result = run_demo(config, lambda migrate=True: open_database(config, migrate=migrate, check_all=True, create=True),
                      reset, confirm)
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
    pack = result.get("pack")
    if pack:
        out.print(f"Management pack: {pack['file']}, {pack['line']}, for {pack['for']} (the demo's manager); "
                  f"`backoffice report pack --period {pack['period']} --pdf --user {pack['for']}` writes it again "
                  "with its PDF.", soft_wrap=True)
    if job:
        out.print("Next: open the workbook, edit it, then `backoffice sync " + job["workbook"] + " --user mia`;"
                  " `backoffice audit --limit 5 --user admin` shows what changed.")
