"""`backoffice workbook new|layouts`, `validate`, `sync` and `refresh`.

With several files, each is handled on its own (all or nothing per workbook); the exit code
is the worst of them. `--json` prints one JSON object per file, one per line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.cli_support import (
    JsonOption,
    UserOption,
    err,
    handles_errors,
    open_database,
    out,
    remote_server,
    say_error,
    say_warning,
    settings,
    who,
)
from engine.config import PROJECT_DIR, Settings
from engine.db.json_values import plain
from engine.errors import UnusableInput
from engine.sheets.annotate import RefreshCounts
from engine.sheets.exporting import (
    check_replaceable,
    new_workbook,
    write_in_place_of,
    write_layouts,
)
from engine.sheets.roundtrip import FileResult, RoundTrip, remove_abandoned_temps

if TYPE_CHECKING:
    from engine.remote import Server

workbook_app = typer.Typer(help="Workbooks staff edit in Excel.", no_args_is_help=True)

Paths = Annotated[list[Path], typer.Argument(help="Workbook file(s).")]
AllowMacros = Annotated[bool, typer.Option("--allow-macros", help="Accept macro-enabled (.xlsm) workbooks.")]


@workbook_app.command("new")
@handles_errors
def new(
    module: Annotated[str, typer.Argument(help="Which workbook, e.g. contacts.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="Where to write it.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a workbook of ours at --out even though it "
                                                        "holds unsynced edits (they are lost).")] = False,
    user: UserOption = None,
) -> None:
    """Export a workbook holding the current records the user's role may see.

    A file at --out that is not a Backoffice workbook is never replaced."""
    config = settings(user=user)
    server = remote_server(config)
    if server is not None:
        with server:
            counts, target = _new_through(server, config, module, out_path, force)
    else:
        db = open_database(config)
        actor = who(db, config)
        target = out_path or config.output_dir / f"{module}-{actor.login}.xlsx"
        counts = new_workbook(db, actor, module, target, force=force)
    out.print(f"wrote {target} ({', '.join(f'{n}: {c} rows' for n, c in counts.items())})")


def _new_through(server: Server, config: Settings, module: str, out_path: Path | None,
                 force: bool) -> tuple[dict[str, int], Path]:
    """`workbook new` through the server: the same file as locally, written with the same
    care (never over a file that is not ours, nor over unsynced edits without --force; a
    temporary file beside, then put in place)."""
    server.check_user(config.user)
    target = out_path or config.output_dir / f"{module}-{server.me()['login']}.xlsx"
    check_replaceable(target, None, force)     # before the download: refused quickly
    content, counts, private = server.export(module)
    write_in_place_of(target, lambda temp: temp.write_bytes(content), private=private)
    return counts, target


@workbook_app.command("layouts")
@handles_errors
def layouts(folder: Annotated[Path, typer.Option(help="Where to write them.")] = PROJECT_DIR / "workbooks") -> None:
    """Regenerate the empty workbook layouts (committed in workbooks/)."""
    for path in write_layouts(folder):
        out.print(f"wrote {path}")


def _run(paths: list[Path], user: str | None, as_json: bool, allow_macros: bool, operation, command: str,
         remote: dict[str, bool]) -> None:
    """Run `operation` on each file: on the database, or through the server (`remote`: the
    form fields of the upload) with the same report and exit code."""
    config = settings(user=user)
    server = remote_server(config)
    if server is not None:
        with server:
            _run_through(server, config, paths, as_json, allow_macros, command, remote)
        return
    db = open_database(config)
    actor = who(db, config)
    worst = 0
    show_progress = not as_json and sys.stderr.isatty()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} rows"),
                  TimeElapsedColumn(), console=err, disable=not show_progress, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        trip = RoundTrip(db, config, actor, allow_macros=allow_macros,
                         progress=lambda stage, n: bar.update(task, description=stage, advance=n))
        for path in paths:
            try:
                result = operation(trip, path)
            except UnusableInput as exc:
                worst = max(worst, _unusable(path, exc, as_json))
                continue
            worst = max(worst, result.exit_code)
            _report(result, as_json, command)
    db.dispose()
    raise typer.Exit(worst)


OPERATIONS = {"validate": "validate", "sync": "sync", "dry run": "sync", "refresh": "refresh"}


def _run_through(server: Server, config: Settings, paths: list[Path], as_json: bool, allow_macros: bool,
                 command: str, fields: dict[str, bool]) -> None:
    """`_run` through the server: each file uploaded, the server's round trip answered, the
    workbook it sends back written in place of the file (engine.remote.write_back), and
    reported by the same code as a local result."""
    from engine.office.xlsx_guard import check_file  # here: only a remote run checks before upload
    from engine.remote import write_back  # here: httpx is for remote commands only

    server.check_user(config.user)
    worst = 0
    for path in paths:
        try:
            check_file(path, config.workbook)   # the server checks it whole; a missing file needs no upload
            if command != "validate":
                remove_abandoned_temps(path)
            answer = server.round_trip(OPERATIONS[command], path, allow_macros=allow_macros, **fields)
            write_back(path, answer, synced=command == "sync")
        except UnusableInput as exc:
            worst = max(worst, _unusable(path, exc, as_json))
            continue
        worst = max(worst, answer.result.exit_code)
        _report(answer.result, as_json, command)
    raise typer.Exit(worst)


def _unusable(path: Path, exc: UnusableInput, as_json: bool) -> int:
    """Say that a file could not be used at all (nothing read, nothing written); its exit code."""
    if as_json:
        _json_line({"file": str(path), "status": "unusable", "error": exc.reason})
    else:
        say_error(str(exc))
    return 2


def _report(result: FileResult, as_json: bool, command: str) -> None:
    if as_json:
        _json_line(result.as_json(with_changes=command == "dry run"))
        return
    out.print(f"{result.file}: {summary(result, command)}")
    if result.recovered:
        rows = "1 new row had" if result.recovered == 1 else f"{result.recovered} new rows had"
        out.print(f"  {rows} been saved by an earlier sync whose workbook was never "
                  "written: matched to those records (not added again), their ids now written in")
    if result.warning:
        say_warning(result.warning)
    for change in result.changes:
        for line in change_lines(change):
            out.print(f"  {line}")
    for issue in result.conflicts + result.problems:
        out.print(f"  {'conflict' if issue.conflict else 'problem'} {issue}")
    if result.problems or result.conflicts:
        marked = " The cells are marked in the workbook; see its Issues sheet." if result.annotated else ""
        out.print(f"  Nothing was saved.{marked}")


# `backoffice validate|sync|refresh`: commands of the root, taken from this app one by one.
roundtrip_app = typer.Typer(no_args_is_help=True)


@roundtrip_app.command("validate")
@handles_errors
def validate(paths: Paths, as_json: JsonOption = False,
             no_annotate: Annotated[bool, typer.Option("--no-annotate", help="Do not mark the workbook.")] = False,
             user: UserOption = None, allow_macros: AllowMacros = False) -> None:
    """Check workbooks against the database without saving anything."""
    _run(paths, user, as_json, allow_macros, lambda trip, p: trip.validate(p, annotate_file=not no_annotate),
         "validate", remote={"annotate": not no_annotate})


@roundtrip_app.command("sync")
@handles_errors
def sync(paths: Paths,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; save nothing.")] = False,
         as_json: JsonOption = False, user: UserOption = None, allow_macros: AllowMacros = False) -> None:
    """Save workbook edits to the database (all or nothing per workbook) and refresh them."""
    _run(paths, user, as_json, allow_macros, lambda trip, p: trip.sync(p, dry_run=dry_run),
         "dry run" if dry_run else "sync", remote={"dry_run": dry_run})


@roundtrip_app.command("refresh")
@handles_errors
def refresh(path: Annotated[Path, typer.Argument(metavar="FILE", help="Workbook file.")], as_json: JsonOption = False,
            user: UserOption = None, allow_macros: AllowMacros = False) -> None:
    """Pull current database values into a workbook, keeping your unsynced edits."""
    _run([path], user, as_json, allow_macros, lambda trip, p: trip.refresh(p), "refresh", remote={})


def _count(n: int, one: str) -> str:
    return f"{n} {one}" if n == 1 else f"{n or 'no'} {one}s"


def _records(result: FileResult, done: bool) -> str:
    """What a sync saves, in words: `1 record added, 2 changed, none deleted` once done, `add
    1 record, change 2, delete none` before (a dry run)."""
    if done:
        return f"{_count(result.inserted, 'record')} added, {result.updated or 'none'} changed, " \
               f"{result.deleted or 'none'} deleted"
    return f"add {_count(result.inserted, 'record')}, change {result.updated or 'none'}, " \
           f"delete {result.deleted or 'none'}"


def _brought_in(counts: RefreshCounts) -> str:
    """`refreshed: 2 rows added (new in the database), 1 updated ...`: only what happened."""
    if not counts.anything:
        return "already up to date: nothing new in the database to bring in"
    parts = [f"{_count(counts.added, 'row')} added (new in the database)" if counts.added else "",
             f"{_count(counts.updated, 'row')} updated with changes made in the database" if counts.updated else "",
             f"{_count(counts.removed, 'row')} emptied (deleted in the database or no longer yours to see)"
             if counts.removed else "",
             f"{_count(counts.conflicts, 'conflict')} marked (your unsynced edit and the database differ)"
             if counts.conflicts else ""]
    return "refreshed: " + ", ".join(p for p in parts if p)


def summary(result: FileResult, command: str) -> str:
    """One line for a person: what `command` (validate, sync, dry run, refresh) did."""
    issues = " and ".join(_count(len(found), kind) for found, kind in
                          ((result.problems, "problem"), (result.conflicts, "conflict")) if found)
    if result.refreshed is not None:
        return _brought_in(result.refreshed)
    if result.status in ("invalid", "rejected"):
        return f"{issues} found"
    if command == "validate":
        return "no problems found"
    nothing = not (result.inserted or result.updated or result.deleted)
    if command == "dry run":
        if nothing:
            return "dry run: nothing to save"
        return f"dry run, nothing saved; a sync would {_records(result, done=False)}"
    if nothing:
        return "nothing to save: the database already holds every value"
    return f"saved: {_records(result, done=True)}"


def _value(value: object) -> str:
    return "(empty)" if value is None or value == "" else str(value)


def change_lines(change: dict) -> list[str]:
    """One change of a dry run in words: `Stock!C5 (Quantity): 10 -> 12`,
    `People: new row 7: First name Ada, Country GB`, `People: delete record 12 (its row is gone)`."""
    sheet = change["sheet"]
    if change["action"] == "update":
        return [f"{sheet}!{cell['cell']} ({cell['column']}, record {change['record_id']}): "
                f"{_value(cell['old'])} -> {_value(cell['new'])}" for cell in change["cells"]]
    if change["action"] == "insert":
        values = ", ".join(f"{column} {_value(value)}" for column, value in change["values"].items())
        return [f"{sheet}: new row {change['row']}: {values or '(no values)'}"]
    return [f"{sheet}: delete record {change['record_id']} (its row is gone from the sheet)"]


def _json_line(data: dict) -> None:
    """--json output: one compact JSON object per file, one per line."""
    sys.stdout.write(json.dumps(data, default=plain, ensure_ascii=False) + "\n")

