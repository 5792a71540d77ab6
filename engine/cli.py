"""The `backoffice` command. Thin: parse the arguments, call a service, print the result."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from engine import __version__
from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    err,
    flags,
    handles_errors,
    open_database,
    out,
    print_json,
    settings,
)
from engine.contacts.commands import contacts_app
from engine.db import migrate
from engine.db.audit_query import audit_entries, describe_changes, entry_as_dict
from engine.inventory.commands import stock_app
from engine.ledger.commands import ledger_app
from engine.ledger.invoice_commands import register_invoice_commands
from engine.mailmerge.commands import mail_app
from engine.reports.commands import report_app
from engine.sheets.commands import register as register_workbook_commands
from engine.staff.commands import staff_app

app = typer.Typer(
    help="Backoffice: keep records in Excel workbooks; the database checks, merges and audits them.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
)
config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)
db_app = typer.Typer(help="The central database: schema status and upgrades.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts and their roles.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(contacts_app, name="contacts")
app.add_typer(stock_app, name="stock")
app.add_typer(staff_app, name="staff")
register_invoice_commands(ledger_app)
app.add_typer(ledger_app, name="ledger")
register_workbook_commands(app)
app.add_typer(report_app, name="report")
app.add_typer(mail_app, name="mail")


@app.callback()
def main(
    database_url: Annotated[str | None, typer.Option(
        "--database-url", help="Database to use (overrides BACKOFFICE_DATABASE_URL).")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit()
    flags.database_url = database_url


@config_app.command("show")
@handles_errors
def config_show(as_json: JsonOption = False) -> None:
    """Print the effective settings (file < environment < flags), secrets masked."""
    data = settings().masked()
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                out.print(f"{key}.{sub} = {subvalue}")
        else:
            out.print(f"{key} = {value}")


@db_app.command("upgrade")
@handles_errors
def db_upgrade() -> None:
    """Bring the database schema up to this version of Backoffice."""
    db = open_database_unchecked()
    before, after = migrate.upgrade(db.engine)
    out.print(f"database schema: {before or 'empty'} -> {after}")


@db_app.command("status")
@handles_errors
def db_status(as_json: JsonOption = False) -> None:
    """Show the database's schema revision and whether it needs an upgrade."""
    info = migrate.status(open_database_unchecked().engine)
    if as_json:
        print_json(info)
    else:
        out.print(f"database: {info['url']}\nschema: {info['current'] or 'empty'} "
                  f"(code expects {info['head']}): {info['state']}")


def open_database_unchecked():
    from engine.db.session import Database

    config = settings()
    return Database.open(config, migrate=False)


@users_app.command("add")
@handles_errors
def users_add(
    login: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="A role (repeatable).")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    user: UserOption = None,
) -> None:
    """Add a user. The very first user needs no --user and must be an admin."""
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor, user_count

    config = settings(user=user)
    db = open_database(config)
    with db.reading() as session:
        bootstrap = user_count(session) == 0
        actor = None if bootstrap else resolve_actor(session, config.user)
    with db.unit_of_work(actor or SYSTEM) as session:
        added = add_user(session, actor, login, name, role, email)
    out.print(f"added user {added.login} ({', '.join(added.role_names)})")


@users_app.command("list")
@handles_errors
def users_list(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List users and their roles."""
    from engine.security.users import list_users

    with acting_as(user) as (_db, actor, session):
        users = list_users(session, actor)
        rows = [{"login": u.login, "name": u.name, "email": u.email, "roles": u.role_names,
                 "active": u.active} for u in users]
    if as_json:
        print_json(rows)
        return
    table = Table("login", "name", "e-mail", "roles", "active")
    for r in rows:
        table.add_row(r["login"], r["name"], r["email"] or "", " ".join(r["roles"]), "yes" if r["active"] else "no")
    out.print(table)


@app.command("audit")
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
    from engine.errors import BackofficeError

    try:
        since_date = date.fromisoformat(since) if since else None
    except ValueError:
        raise BackofficeError(f"--since {since!r} is not a date; write it as YYYY-MM-DD.") from None
    with acting_as(user) as (_db, actor, session):
        rows = [entry_as_dict(e) for e in audit_entries(session, actor, table, record, since_date, limit)]
    if as_json:
        print_json(rows)
        return
    grid = Table("when (UTC)", "who", "via", "record", "action", "changes")
    for r in rows:
        changes = describe_changes(r["changes"])
        grid.add_row(r["at"][:19], r["actor"], r["source"], f"{r['table']} #{r['record_id']}",
                     r["action"], changes)
    out.print(grid)


@app.command("demo")
@handles_errors
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete everything first, then rebuild.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fill a fresh database with sample data and run the main job end to end."""
    from engine.demo import build_demo
    from engine.demo_job import run_main_job, send_reminders
    from engine.security.roles import SYSTEM

    config = settings()
    if reset:
        db = open_database_unchecked()
        migrate.reset(db.engine)
        db.dispose()
    db = open_database(config)
    with db.unit_of_work(SYSTEM, source="system") as session:
        summary = build_demo(session)
    result = {"database": config.masked()["database_url"], "already_present": summary.already_present,
              "created": summary.created}
    if not summary.already_present:
        result["reminders"] = send_reminders(db, config)
        path, synced = run_main_job(db, config)
        result["main_job"] = {"workbook": str(path), **synced.as_json()}
    db.dispose()
    if as_json:
        print_json(result)
        return
    if summary.already_present:
        err.print("The database already holds data: nothing changed (use --reset to rebuild).")
        return
    out.print(f"Demo data in {result['database']}:")
    for name, count in summary.created.items():
        out.print(f"  {name:<16} {count:>6}")
    job = result["main_job"]
    out.print(f"Main job: exported {job['workbook']} for mia, changed a phone number and added a person, "
              f"synced: {job['status']} ({job['inserted']} inserted, {job['updated']} updated).")
    reminders = result["reminders"]
    out.print(f"Reminders: {reminders['sent']} overdue-payment reminders written to {reminders['outbox']} "
              f"(open them in Outlook as drafts)" + (f", {reminders['letters']} letters to print in "
                                                     f"{reminders['letters_file']}" if reminders["letters"] else "")
              + "; `backoffice mail runs --user alex` lists the run.")
    out.print("Next: open the workbook, edit it, then `backoffice sync " + job["workbook"] + " --user mia`;"
              " `backoffice audit --limit 5 --user admin` shows what changed.")


if __name__ == "__main__":
    app()
