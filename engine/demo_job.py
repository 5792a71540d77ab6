"""`backoffice demo` end to end: the sample data of the modules switched on, then the main
job as an office worker does it (export a workbook, edit it, sync it back, and see the result
in the database and the audit log), the accountant's overdue reminders when mail merge and
the ledger are on, and the manager's monthly pack of the latest closed month when reports
are on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import python_calamine
from xlsxwriter.utility import xl_col_to_name

from engine import registry
from engine.config import Settings
from engine.db import migrate
from engine.db.session import Database
from engine.demo import build_demo, check_resettable, mark_demo
from engine.office.xlsx_patch import CellPatch, SheetPatch, patch_xlsx
from engine.security.roles import SYSTEM
from engine.security.users import resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import FileResult, RoundTrip

DEMO_USER = "mia"


def run_demo(settings: Settings, open_database: Callable[..., Database], reset: bool = False,
             confirm: Callable[[dict[str, int]], None] | None = None) -> dict[str, Any]:
    """Build the demo (after removing everything, with `reset`) and run its jobs; what was
    done, as `backoffice demo --json` prints it.

    `reset` is done for the acting user (`settings.user`) only if they may and the database
    holds demo data only (`engine.demo.check_resettable`), and then only once `confirm`, told
    what would be deleted, returns (it raises to stop)."""
    if reset:
        db = open_database()
        try:
            with db.reading() as session:
                doomed = check_resettable(session, resolve_actor(session, settings.user))
            if confirm is not None:
                confirm(doomed)
            migrate.reset(db.engine)
        finally:
            db.dispose()
    db = open_database()
    try:
        with db.unit_of_work(SYSTEM, source="system") as session:
            summary = build_demo(session)
        result: dict[str, Any] = {"database": settings.masked()["database_url"],
                                  "already_present": summary.already_present, "created": summary.created}
        if summary.already_present:
            return result
        on = registry.current()
        if on.is_on("mailmerge") and on.selection_named("overdue"):
            result["reminders"] = send_reminders(db, settings)
        if on.report_named("pack"):
            result["pack"] = write_pack(db, settings)
        if "contacts" in {w.name for w in on.workbooks}:
            path, synced = run_main_job(db, settings)
            result["main_job"] = {"workbook": str(path), **synced.as_json()}
        with db.unit_of_work(SYSTEM, source="system") as session:
            mark_demo(session)       # last: only a whole demo run may be reset
    finally:
        db.dispose()
    return result


def run_main_job(db: Database, settings: Settings) -> tuple[Path, FileResult]:
    """Export the contacts workbook for the demo manager, change a phone number and add a
    person in it (as Excel would save them), then sync it back."""
    with db.reading() as session:
        actor = resolve_actor(session, DEMO_USER)
    path = settings.output_dir / f"contacts-{DEMO_USER}.xlsx"
    new_workbook(db, actor, "contacts", path, force=True)   # the demo's own file, from its last run

    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("People").to_python()
    header = rows[0]
    column = {label: xl_col_to_name(header.index(label)) for label in header}
    first, new = 2, len(rows) + 1   # the first person's row, and the first empty row of the table
    edits = {
        f"{column['Phone']}{first}": CellPatch(value="+44 20 7946 0018"),
        f"{column['First name']}{new}": CellPatch(value="Grace"),
        f"{column['Last name']}{new}": CellPatch(value="Hopper"),
        f"{column['Country']}{new}": CellPatch(value="US"),
        f"{column['E-mail']}{new}": CellPatch(value="grace.hopper@example.org"),
    }
    patch_xlsx(path, path, {"People": SheetPatch(cells=edits)})
    return path, RoundTrip(db, settings, actor).sync(path)


DEMO_SENDER = ("accounts@backoffice.example", "Backoffice Demo Ltd")
REMINDER_DAYS = 30


PACK_READER = "mia"   # the demo's manager


def latest_closed_month(session: Any, actor: Any) -> Any:
    """The last month whose books are closed (the demo closes those ending three months
    before its "today"), or the last month that has ended when there are no books."""
    from engine.office.report_body import Month  # here: only for the pack
    from engine.reports.options import last_month  # here: likewise

    if not registry.current().is_on("ledger"):
        return last_month()
    from engine.ledger.queries import periods  # here: only with the ledger on

    closed = [p.starts_on for p in periods(session, actor) if p.status == "closed"]
    return Month.of(max(closed)) if closed else last_month()


def write_pack(db: Database, settings: Settings) -> dict[str, Any]:
    """The monthly management pack of the latest closed month, for the demo's manager, as
    `backoffice report pack --period YYYY-MM --user mia` writes it."""
    from engine.reports.render import (
        write_report,  # here: only with reports on; python-docx is a slow import
    )

    if not settings.organisation.name:   # the demo's organisation has a name of its own
        db.organisation = replace(settings.organisation, name=DEMO_SENDER[1])
    with db.reading() as session:
        actor = resolve_actor(session, PACK_READER)
        period = latest_closed_month(session, actor)
    target = settings.output_dir / f"pack-{period}-{PACK_READER}.docx"
    with db.unit_of_work(actor) as session:
        written = write_report(session, actor, "pack", target, period=period)
    return {"file": str(target), "period": str(period), "for": PACK_READER, **written.summary}


def send_reminders(db: Database, settings: Settings) -> dict:
    """The accountant's overdue-payment reminders to the demo customers more than 30 days
    late, written to the outbox (drafts for Outlook): nothing leaves this machine. Customers
    without an e-mail address get a printed letter instead."""
    # here: only with mail merge switched on, and it brings jinja2 and python-docx (slow imports)
    from engine.mailmerge.runs import process_run, start_run
    from engine.mailmerge.transports import outbox_folder
    from engine.mailmerge.transports.outbox import OutboxTransport

    if not settings.mail.sender:   # the demo has a sender of its own; a real set-up names its own
        sender, name = DEMO_SENDER
        settings = replace(settings, mail=replace(settings.mail, sender=sender,
                                                  sender_name=settings.mail.sender_name or name))
    with db.reading() as session:
        actor = resolve_actor(session, "alex")
    run_id = start_run(db, settings, actor, "overdue_reminder", "overdue", {"days": REMINDER_DAYS}, "outbox")
    outbox = outbox_folder(settings)
    report = process_run(db, settings, actor, run_id, OutboxTransport(outbox))
    return {"run": run_id, "sent": report.sent, "outbox": str(outbox.resolve()),
            "letters": report.printed, "letters_file": report.printed_file,
            "skipped": [s["name"] for s in report.skipped]}
