"""`backoffice config show`."""

from __future__ import annotations

import typer

from engine import app
from engine.cli_support import JsonOption, handles_errors, out, print_json, settings

config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)


@config_app.command("show")
@handles_errors
def config_show(as_json: JsonOption = False) -> None:
    """Print the effective settings (file < environment < flags), secrets masked."""
    data = settings().masked()
    app.check_policies(complete=True)     # a misspelt field in config/policies.toml says so here
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                out.print(f"{key}.{sub} = {subvalue}")
        else:
            out.print(f"{key} = {value}")
