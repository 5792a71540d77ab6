"""The Backoffice ribbon's buttons: each is one function here, run by xlwings' `RunPython` on
the workbook that called it (`xw.Book.caller()`), and by `backoffice addin run` on a file.

A button parses nothing and decides nothing: it reads the open workbook (addin/livebook.py),
hands it to the round trip, report or mail merge (locally, as the acting user, or through the
server with the person's token: addin/connection.py), makes the changes answered in the
workbook, and says what happened: a message box, the status bar, and the answer returned
(`backoffice addin run` prints it). A problem found in the workbook is shown where the file
round trip shows it: a note at the cell, a fill, the Issues sheet first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlwings as xw

from addin import livebook
from addin.connection import Connection, connect
from engine.errors import BackofficeError
from engine.office.xlsx_owned import OwnedSheet
from engine.sheets.live import BookChanges, BookSnapshot
from engine.sheets.roundtrip import FileResult, RoundTrip

PREVIEW_SHEET = livebook.PREVIEW_SHEET
PREVIEW_HEADER = ["Sheet", "Row or cell", "Record", "Action", "Column", "Was", "Becomes"]


def validate() -> dict[str, Any]:
    """Check the open workbook against the database; mark every problem; save nothing."""
    return _round_trip("validate")


def sync() -> dict[str, Any]:
    """Save the open workbook's edits (all or nothing), then bring it up to the database."""
    return _round_trip("sync")


def refresh() -> dict[str, Any]:
    """Bring the database's current values into the open workbook, keeping unsynced edits."""
    return _round_trip("refresh")


def sync_dry_run() -> dict[str, Any]:
    """What a sync would save, cell by cell, on a sheet of its own; nothing is saved."""
    book = xw.Book.caller()
    answer = _round_trip("dry-run", book)
    if answer["status"] == "refused":
        return answer
    rows = [PREVIEW_HEADER]
    for change in answer["changes"]:
        if change["action"] == "update":
            rows += [[change["sheet"], change["row"], change["record_id"], "update", cell["column"], cell["old"],
                      cell["new"]] for cell in change["cells"]]
        elif change["action"] == "insert":
            rows += [[change["sheet"], change["row"], "", "insert", column, "", value]
                     for column, value in change["values"].items()]
        else:
            rows.append([change["sheet"], "", change["record_id"], "delete", "", "", ""])
    for problem in answer["problems"] + answer["conflicts"]:   # why a sync would be refused
        rows.append([problem["sheet"], problem["cell"] or "", problem["record_id"] or "",
                     "conflict" if problem in answer["conflicts"] else "problem", problem["column"] or "", "",
                     problem["message"]])
    if len(rows) == 1:
        rows.append(["", "", "", "", "", "", "Nothing to save: the workbook matches the database."])
    livebook.write_owned(book, PREVIEW_SHEET, OwnedSheet(
        rows=rows, bold_first_row=True, column_widths={1: 16, 2: 6, 3: 8, 4: 8, 5: 18, 6: 30, 7: 30}))
    return answer


def new_workbook(module: str) -> dict[str, Any]:
    """A new workbook of `module`'s records the user may see, opened in Excel beside this one."""
    caller = xw.Book.caller()
    try:
        with connect(caller) as link:
            folder = Path(link.settings.output_dir).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{module}-{link.user}.xlsx"
            already = next((b for b in caller.app.books if b.name.lower() == target.name.lower()), None)
            if already is not None:   # Excel opens one workbook of a name; and its edits are not to be lost
                already.activate()
                return _said(already, f"{target.name} is open already: here it is. Sync or close it before making a "
                                      "new one.", {"file": already.fullname, "status": "open"})
            if link.remote:
                reply = link.server.request("GET", f"/workbooks/{module}")
                _write_private(target, reply.content)
            else:
                from engine.sheets.exporting import (
                    new_workbook as export,  # here: one button's need
                )

                export(link.database, link.actor, module, target)
    except BackofficeError as exc:
        return _refused(caller, exc)
    opened = caller.app.books.open(str(target))
    return _said(opened, f"Opened {target.name}: your {module} records. Edit, then Sync.", {"file": str(target)})


def report(name: str, period: str) -> dict[str, Any]:
    """Report `name` (Word) for `period`, written to the output folder: the text typed is the
    report's year, month or day, whichever of them it takes (2026 for the staff report,
    2026-11 for the pack), read by the reports' own options."""
    from engine.reports import options  # here: one button's need
    from engine.reports.render import report_named  # here: likewise

    book = xw.Book.caller()
    try:
        found = report_named(name)
        when = next((o for o in found.options if o in options.TIMES), None)
        values = options.read(found.options, {when: str(period).strip() or None} if when else {})
        named = "-".join(p for p in (name, options.label(values)) if p)
        with connect(book) as link:
            target = Path(link.settings.output_dir).resolve() / f"{named}-{link.user}.docx"
            target.parent.mkdir(parents=True, exist_ok=True)
            if link.remote:
                reply = link.server.request("POST", f"/reports/{name}", json=options.as_text(values))
                _write_private(target, reply.content)
            else:
                _report_here(link, name, values, target)
    except BackofficeError as exc:
        return _refused(book, exc)
    covers = f" for {options.label(values)}" if values else ""
    return _said(book, f"Wrote the {name} report{covers}: {target}", {"file": str(target)})


def mail_preview(template: str) -> dict[str, Any]:
    """Render mail template `template` for the contacts on the selected rows (their ID column),
    as e-mails to open and letters to print, in the previews folder; nothing is sent or stored."""
    book = xw.Book.caller()
    ids = _selected_ids(book, book.sheets.active)
    if not ids:
        return _said(book, "Select the rows of the contacts to preview, on a sheet whose column A is their ID.",
                     {"status": "refused", "exit_code": 2})
    try:
        with connect(book) as link:
            if link.remote:
                shown = link.server.request("POST", "/mail/runs", json={
                    "template": template, "to": "contacts:" + ",".join(map(str, ids)), "dry_run": True}).json()
                shown["folder"] = str(_download_previews(link, template, shown.get("files") or []))
            else:
                from engine.mailmerge.runs import preview  # here: one button's need

                shown = preview(link.database, link.settings, link.actor, template, "contacts", {"ids": ids})
    except BackofficeError as exc:
        return _refused(book, exc)
    message = (f"{shown['previews']} e-mail(s) and {shown['letters']} letter(s) for {len(ids)} selected contact(s), "
               f"to look at in {shown['folder']}. Nothing was sent.")
    if shown.get("skipped"):
        message += f" {len(shown['skipped'])} left out: " + "; ".join(
            f"{s['name']}: {s['reason']}" for s in shown["skipped"][:5]) + "."
    if shown.get("problems"):
        message += f" {len(shown['problems'])} would fail: " + "; ".join(
            f"{p['name']}: {p['error']}" for p in shown["problems"][:5])
    return _said(book, message, shown)


def _report_here(link: Connection, name: str, values: dict[str, Any], target: Path) -> None:
    """The report written locally, in a unit of work (a report handing out audited fields
    writes their audit rows): if those are not saved, neither is the report, as at the
    command line."""
    from engine.reports.render import write_report  # here: one button's need

    written = False
    try:
        with link.unit_of_work() as session:
            write_report(session, link.actor, name, target, **values)
            written = True
    except BaseException:
        if written:
            target.unlink(missing_ok=True)
        raise


def _download_previews(link: Connection, template: str, files: list[dict[str, Any]]) -> Path:
    """The server's previews of the dry run, brought into this computer's previews folder."""
    folder = Path(link.settings.output_dir).resolve() / "previews" / f"{template}-{link.user}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.eml"), folder / "letters.docx"]:
        old.unlink(missing_ok=True)
    for file in files:
        _write_private(folder / Path(file["name"]).name, link.server.request("GET", file["url"]).content)
    return folder


def who_am_i() -> dict[str, Any]:
    """Who the add-in acts as, and how it reaches the data (database or server)."""
    book = xw.Book.caller()
    try:
        with connect(book) as link:
            described = link.describe()
    except BackofficeError as exc:
        return _refused(book, exc)
    lines = [f"{key.replace('_', ' ')}: {', '.join(value) if isinstance(value, list) else value}"
             for key, value in described.items()]
    return _said(book, "\n".join(lines), described)


# -- underneath --------------------------------------------------------------------------------


def _round_trip(operation: str, book: xw.Book | None = None) -> dict[str, Any]:
    """Run `operation` (validate, sync, dry-run, refresh) on the open workbook and make the
    changes answered in it; answer as `backoffice sync --json` does."""
    book = book or xw.Book.caller()
    snapshot = livebook.snapshot(book)
    try:
        with connect(book) as link:
            result, changes = (_through_server(link, operation, snapshot) if link.remote
                               else _locally(link, operation, snapshot))
    except BackofficeError as exc:
        return _refused(book, exc)
    if changes is not None:
        livebook.apply(book, changes)
    _forget_functions()
    answer = result.as_json(with_changes=operation == "dry-run")
    answer["exit_code"] = result.exit_code
    return _said(book, _summary(operation, result), answer)


def _locally(link: Connection, operation: str, snapshot: BookSnapshot) -> tuple[FileResult, BookChanges | None]:
    trip = RoundTrip(link.database, link.settings, link.actor)
    result = {"validate": trip.validate, "refresh": trip.refresh, "sync": trip.sync,
              "dry-run": lambda book: trip.sync(book, dry_run=True)}[operation](snapshot)
    return result, snapshot.changes


def _through_server(link: Connection, operation: str, snapshot: BookSnapshot) -> tuple[FileResult, BookChanges | None]:
    route = "sync" if operation == "dry-run" else operation
    reply = link.server.request("POST", f"/workbooks/open/{route}",
                                json={"snapshot": snapshot.as_json(), "dry_run": operation == "dry-run"}).json()
    changes = BookChanges.from_json(reply["changes"]) if reply.get("changes") else None
    return FileResult.from_json(reply["result"]), changes


def _summary(operation: str, result: FileResult) -> str:
    if operation == "dry-run" and result.status == "rejected":
        return (f"A sync would be refused: {len(result.problems) + len(result.conflicts)} problem(s), listed on the "
                f"{PREVIEW_SHEET} sheet (Validate marks them at their cells). Nothing was saved.")
    if result.status in ("rejected", "invalid"):
        found = len(result.problems) + len(result.conflicts)
        return (f"{'Nothing was saved: ' if operation == 'sync' else ''}{found} problem(s) to fix, marked at their "
                "cells and listed on the Issues sheet.")
    if operation == "refresh":
        counts = result.refreshed.as_json() if result.refreshed else {}
        return ("Refreshed: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n)) if any(
            counts.values()) else "Up to date: nothing changed in the database."
    if operation == "validate":
        return "No problems found: the workbook can be synced."
    if operation == "dry-run":
        return (f"A sync would add {result.inserted}, change {result.updated} and delete {result.deleted} "
                f"record(s); see the {PREVIEW_SHEET} sheet. Nothing was saved.")
    if result.status == "unchanged":
        return "Nothing to save: the workbook matches the database."
    return f"Saved: {result.inserted} added, {result.updated} changed, {result.deleted} deleted."


def _said(book: xw.Book, message: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Tell the user (status bar and a message box) and answer `answer` with the message."""
    try:
        book.app.status_bar = message.splitlines()[0][:250]
        book.app.alert(message, title="Backoffice")
    except (NotImplementedError, AttributeError):
        pass
    return {**answer, "message": message}


def _refused(book: xw.Book, exc: BackofficeError) -> dict[str, Any]:
    """A refusal (no database, no token, a workbook that is not ours...): said, nothing changed."""
    from engine.cli_support import (
        refusal_json,  # here: the refusal's JSON form, as the CLI prints it
    )

    return _said(book, f"Nothing was changed: {exc}", {"status": "refused", "error": refusal_json(exc),
                                                      "exit_code": exc.exit_code})


def choose_rows(book: xw.Book, where: str) -> None:
    """Select rows as a person would before pressing a button: "People!2:5" (for
    `backoffice addin run mail-preview --rows`)."""
    sheet, _, span = where.partition("!")
    first, _, last = span.partition(":")
    if sheet not in {s.name for s in book.sheets} or not first.isdigit() or not (last or first).isdigit():
        raise BackofficeError(f"--rows {where!r}: name a sheet and its rows, e.g. People!2:5")
    book.sheets[sheet].activate()
    book.sheets[sheet].range(f"A{first}:A{last or first}").select()


def _selected_ids(book: xw.Book, sheet: xw.Sheet) -> list[int]:
    """The record ids in the ID column (column A of our sheets) of the selected rows."""
    selection = book.app.selection
    if selection is None or selection.sheet.name != sheet.name:
        return []
    header = sheet.range("A1").value
    if str(header or "").strip() != "ID":
        return []
    first, last = selection.row, selection.last_cell.row
    values = sheet.range((max(first, 2), 1), (max(last, 2), 1)).options(ndim=1).value
    return [int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v > 0]


def _write_private(target: Path, content: bytes) -> None:
    from engine.office.files import write_private  # here: only what the server sends is written so

    write_private(target, content)


def _forget_functions() -> None:
    """After a sync or refresh the worksheet functions answer from the database again."""
    try:
        from addin import functions  # here: the functions' cache, if they are loaded
    except ImportError:
        return
    forget = getattr(functions, "forget", None)
    if forget is not None:
        forget()
