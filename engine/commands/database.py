"""`backoffice db upgrade|status`."""

from __future__ import annotations

import typer

from engine.cli_support import JsonOption, handles_errors, open_database, out, print_json
from engine.db import migrate

db_app = typer.Typer(help="The central database: schema status and upgrades.", no_args_is_help=True)


@db_app.command("upgrade")
@handles_errors
def db_upgrade() -> None:
    """Bring the database schema up to this version of Backoffice."""
    before, after = migrate.upgrade(open_database(migrate=False, check_all=True, create=True).engine)
    out.print(f"database schema: {before or 'empty'} -> {after}")


@db_app.command("status")
@handles_errors
def db_status(as_json: JsonOption = False) -> None:
    """Show the database's schema revision and whether it needs an upgrade."""
    info = migrate.status(open_database(migrate=False, check_all=True).engine)
    if as_json:
        print_json(info)
    else:
        out.print(f"database: {info['url']}\nschema: {info['current'] or 'empty'} "
                  f"(code expects {info['head']}): {info['state']}")
