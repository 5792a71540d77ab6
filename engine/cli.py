"""The `backoffice` command: the root of the command line, and nothing else.

Every command group is imported only when it is run. The root knows each group by a name,
a dotted path and a help line: its own (settings, database, users, audit, demo, workbooks,
below) and those of the modules switched on (`register` in each module's `__init__.py`, put
together by `engine.app`). `backoffice --help` therefore imports no group and no heavy
library; `backoffice stock on-hand` imports the stock commands and what they use. A group of
a module that is switched off is not listed, and calling it says so (exit 2).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.core
import typer.main

from engine import __version__, registry
from engine import app as application
from engine.cli_flags import flags
from engine.cli_metavars import name_placeholders
from engine.errors import BackofficeError
from engine.registry import CommandGroup

# The root's own groups and commands (no business module): (name, Typer app, help, single).
KERNEL = [
    CommandGroup("config", "engine.commands.settings:config_app", "Show the effective settings.", "kernel"),
    CommandGroup("db", "engine.commands.database:db_app", "The central database: schema status and upgrades.",
                 "kernel"),
    CommandGroup("users", "engine.commands.users:users_app", "User accounts and their roles.", "kernel"),
    CommandGroup("workbook", "engine.commands.workbooks:workbook_app", "Workbooks staff edit in Excel.", "kernel"),
    CommandGroup("validate", "engine.commands.workbooks:roundtrip_app",
                 "Check workbooks against the database without saving anything.", "kernel", single=True),
    CommandGroup("sync", "engine.commands.workbooks:roundtrip_app",
                 "Save workbook edits to the database (all or nothing per workbook) and refresh them.", "kernel",
                 single=True),
    CommandGroup("refresh", "engine.commands.workbooks:roundtrip_app",
                 "Pull current database values into a workbook, keeping your unsynced edits.", "kernel", single=True),
    CommandGroup("audit", "engine.commands.audit:audit_app",
                 "Show the audit log: who changed what, when, through which door; `audit verify` checks its "
                 "hash chain.", "kernel"),
    CommandGroup("serve", "engine.commands.serve:serve_app",
                 "Serve the HTTP API for offices that reach the database through it.", "kernel", single=True),
    CommandGroup("addin", "engine.commands.addin:addin_app",
                 "The Excel add-in (Backoffice.xlam): build it, install it, press its buttons on a file.", "kernel",
                 extend=("engine.commands.addin_run:add_run",)),
    CommandGroup("demo", "engine.commands.demo:demo_app",
                 "Fill a fresh database with sample data and run the main job end to end.", "kernel", single=True),
]
_extended: set[tuple[int, str]] = set()   # (Typer app, extension) pairs applied in this process


def load_group(entry: CommandGroup) -> Any:
    """The click command of a declared group (imports it)."""
    app = registry.load(entry.target)
    if not isinstance(app, typer.Typer):      # a function making the group (e.g. the reports on offer)
        app = app()
    for extension in entry.extend:
        if (id(app), extension) not in _extended:
            registry.load(extension)(app)
            _extended.add((id(app), extension))
    if not entry.single:
        group = typer.main.get_group(app)     # a group, even of one command (`config show`)
        name_placeholders(group)
        return group
    command = typer.main.get_command(app)
    command = getattr(command, "commands", {entry.name: command})[entry.name]
    name_placeholders(command)
    return command


class LazyGroup(typer.core.TyperGroup):
    """The root group: lists the declared groups from their help lines and imports a group
    only when it is invoked."""

    _listing = False

    def _entries(self) -> dict[str, CommandGroup]:
        if not registry.started():
            try:
                application.start()
            except BackofficeError as exc:   # a module needs one that is off, or `modules` is wrong
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
        return {e.name: e for e in [*KERNEL, *registry.current().groups]}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in self._entries() if n not in self.commands)]

    def get_command(self, ctx: Any, name: str) -> Any:
        if name in self.commands:
            return self.commands[name]
        entry = self._entries().get(name)
        if entry is None:
            module = registry.current().switched_off("groups", name)
            if module and not self._listing:
                raise typer.BadParameter(
                    f"`backoffice {name}` belongs to the {module} module, which is switched off "
                    f"(`modules` in config/backoffice.toml or BACKOFFICE_MODULES).", param_hint="COMMAND")
            return None
        if self._listing:    # the help line is enough: import nothing
            return typer.core.TyperCommand(name=name, help=entry.help, short_help=entry.help)
        return load_group(entry)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    help="Backoffice: keep records in Excel workbooks; the database checks, merges and audits them.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    rich_markup_mode=None,   # plain help: rich formatting costs more than the rest of `--help`
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    database_url: Annotated[str | None, typer.Option(
        "--database-url", metavar="URL", help="Database to use (overrides BACKOFFICE_DATABASE_URL).")] = None,
    server: Annotated[str | None, typer.Option(
        "--server", metavar="URL", help="Work through this Backoffice server instead of a database, with your "
                                        "token in BACKOFFICE_TOKEN (overrides BACKOFFICE_SERVER_URL).")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    flags.database_url = database_url
    flags.server_url = server


if __name__ == "__main__":
    app()
