"""`backoffice workbook new|layouts`, `validate`, `sync` and `refresh`.

With several files, each is handled on its own (all or nothing per workbook); the exit code
is the worst of them. `--json` prints one JSON object per file, one per line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.cli_support import (
    JsonOption,
    UserOption,
    err,
    handles_errors,
    open_database,
    out,
    say_error,
    say_warning,
    settings,
    who,
)
from engine.config import PROJECT_DIR
from engine.db.json_values import plain
from engine.errors import UnusableInput
from engine.sheets.exporting import new_workbook, write_layouts
from engine.sheets.roundtrip import FileResult, RoundTrip

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
    db = open_database(config)
    actor = who(db, config)
    target = out_path or config.output_dir / f"{module}-{actor.login}.xlsx"
    counts = new_workbook(db, actor, module, target, force=force)
    out.print(f"wrote {target} ({', '.join(f'{n}: {c} rows' for n, c in counts.items())})")


@workbook_app.command("layouts")
@handles_errors
def layouts(folder: Annotated[Path, typer.Option(help="Where to write them.")] = PROJECT_DIR / "workbooks") -> None:
    """Regenerate the empty workbook layouts (committed in workbooks/)."""
    for path in write_layouts(folder):
        out.print(f"wrote {path}")


def _run(paths: list[Path], user: str | None, as_json: bool, allow_macros: bool, operation,
         with_changes: bool = False) -> None:
    config = settings(user=user)
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
                worst = max(worst, 2)
                if as_json:
                    _json_line({"file": str(path), "status": "unusable", "error": exc.reason})
                else:
                    say_error(str(exc))
                continue
            worst = max(worst, result.exit_code)
            _report(result, as_json, with_changes)
    db.dispose()
    raise typer.Exit(worst)


def _report(result: FileResult, as_json: bool, with_changes: bool = False) -> None:
    if as_json:
        _json_line(result.as_json(with_changes))
        return
    counts = f"{result.inserted} inserted, {result.updated} updated, {result.deleted} deleted"
    out.print(f"{result.file}: {result.status} ({counts})")
    if result.recovered:
        out.print(f"  {result.recovered} new rows had been saved by an earlier sync whose workbook was never "
                  "written: matched to those records (not added again), their ids now written in")
    if result.warning:
        say_warning(result.warning)
    for change in result.changes:
        if change["action"] == "update":
            for cell in change["cells"]:
                out.print(f"  update {change['sheet']}!{cell['cell']} (record {change['record_id']}) "
                          f"{cell['column']}: {cell['old']!r} -> {cell['new']!r}")
        elif change["action"] == "insert":
            out.print(f"  insert {change['sheet']} row {change['row']}: {change['values']}")
        else:
            out.print(f"  delete {change['sheet']} record {change['record_id']}")
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
    _run(paths, user, as_json, allow_macros, lambda trip, p: trip.validate(p, annotate_file=not no_annotate))


@roundtrip_app.command("sync")
@handles_errors
def sync(paths: Paths,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; save nothing.")] = False,
         as_json: JsonOption = False, user: UserOption = None, allow_macros: AllowMacros = False) -> None:
    """Save workbook edits to the database (all or nothing per workbook) and refresh them."""
    _run(paths, user, as_json, allow_macros, lambda trip, p: trip.sync(p, dry_run=dry_run),
         with_changes=dry_run)


@roundtrip_app.command("refresh")
@handles_errors
def refresh(path: Annotated[Path, typer.Argument(help="Workbook file.")], user: UserOption = None,
            allow_macros: AllowMacros = False) -> None:
    """Pull current database values into a workbook, keeping your unsynced edits."""
    _run([path], user, False, allow_macros, lambda trip, p: trip.refresh(p))


def _json_line(data: dict) -> None:
    """--json output: one compact JSON object per file, one per line."""
    sys.stdout.write(json.dumps(data, default=plain, ensure_ascii=False) + "\n")

