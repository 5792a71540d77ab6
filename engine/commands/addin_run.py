"""`backoffice addin run ACTION PATH`: press a ribbon button on a workbook file, without Excel.

The file is opened in the headless xlwings engine (addin/headless) as the calling workbook,
the button's entry point in addin/ribbon.py runs on real xlwings objects exactly as in Excel,
and the workbook is saved back into the file. For trying the add-in where Excel is not (a
server, CI) and for its tests; in Excel the same functions run from the ribbon.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli_flags import flags
from engine.cli_support import JsonOption, UserOption, handles_errors, out, print_json
from engine.errors import BackofficeError, UnusableInput

# The ribbon's buttons, as typed here -> (entry point in addin.ribbon, what its arguments are)
ACTIONS = {
    "validate": ("validate", ()),
    "sync": ("sync", ()),
    "refresh": ("refresh", ()),
    "sync-dry-run": ("sync_dry_run", ()),
    "new-workbook": ("new_workbook", ("MODULE",)),
    "report": ("report", ("NAME", "PERIOD")),
    "mail-preview": ("mail_preview", ("TEMPLATE",)),
    "who-am-i": ("who_am_i", ()),
}
# The buttons whose work the file commands also do, for a workbook the headless engine cannot hold.
FILE_TWINS = {"validate": "validate", "sync": "sync", "refresh": "refresh", "sync-dry-run": "sync --dry-run"}


def run(
    action: Annotated[str, typer.Argument(metavar="ACTION", help=f"One of: {', '.join(ACTIONS)}.")],
    path: Annotated[Path, typer.Argument(metavar="PATH", help="The workbook (.xlsx) the button is pressed in.")],
    arguments: Annotated[list[str] | None, typer.Argument(
        metavar="[ARGS]...", help="The button's choices: new-workbook MODULE, report NAME PERIOD (a year, YYYY-MM or a day, as the report takes), mail-preview TEMPLATE.")]
    = None,
    rows: Annotated[str | None, typer.Option(
        metavar="SHEET!FIRST:LAST", help="mail-preview: the selected rows, e.g. People!2:5.")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Press a ribbon button (ACTION) on the workbook at PATH, through the headless xlwings
    engine, and save the workbook: the same code as the button in Excel."""
    from addin import headless, ribbon  # here: the add-in and xlwings, for this command only
    from addin.connection import environment  # here: as above

    if action not in ACTIONS:
        raise BackofficeError(f"no button {action!r}; one of: {', '.join(ACTIONS)}")
    entry, wanted = ACTIONS[action]
    given = list(arguments or [])
    if len(given) != len(wanted):
        raise BackofficeError(f"{action} takes {' '.join(wanted) or 'no choices'}; got {len(given)}")
    if not path.is_file():
        raise BackofficeError(f"{path}: no such workbook")
    # The add-in reads its settings as in Excel (its file, the workbook, the environment):
    # `--user` and the root's `--database-url` / `--server` reach it as BACKOFFICE_* variables.
    handed = {"BACKOFFICE_USER": user, "BACKOFFICE_DATABASE_URL": flags.database_url,
              "BACKOFFICE_SERVER_URL": flags.server_url}
    with environment({name: value for name, value in handed.items() if value}):
        headless.register()
        try:
            book = headless.open_book(path)
        except NotImplementedError as exc:   # what the headless engine does not hold (a chart sheet...)
            twin = f", or run `backoffice {FILE_TWINS[action]} {path}`" if action in FILE_TWINS else ""
            raise UnusableInput(path, f"it cannot be opened without Excel ({exc}); press the button in "
                                      f"Excel{twin}") from None
        open_before = {other.fullname for other in book.app.books if other != book}
        book.set_mock_caller()
        try:
            if rows:
                ribbon.choose_rows(book, rows)
            answer = getattr(ribbon, entry)(*given)
            headless.save_book(book)
        finally:
            del type(book)._mock_caller
            for opened in list(book.app.books):   # this one, and any the button opened (New workbook)
                if opened.fullname not in open_before:
                    opened.close()
    if as_json:
        print_json(answer)
    else:
        out.print(answer.get("message", ""), soft_wrap=True)
    code = answer.get("exit_code", 0)
    if code:
        raise typer.Exit(code)


def add_run(app: typer.Typer) -> None:
    """Add `run` to the `addin` group."""
    app.command("run")(handles_errors(run))
