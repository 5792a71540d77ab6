"""`backoffice mail ...`: merge a template to a selection, list runs, resume one.

    backoffice mail merge overdue_reminder --to overdue --days 30 [--via smtp] [--dry-run] [--limit N] [--again]
    backoffice mail runs
    backoffice mail resume 12
    backoffice mail fields overdue_reminder [--selection overdue]
    backoffice mail check overdue_reminder [--selection overdue]
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    err,
    fetch,
    handles_errors,
    new_table,
    out,
    print_check,
    print_json,
    say_warning,
    settings,
)
from engine.mailmerge import recipients as chosen
from engine.mailmerge.checks import check, template_fields
from engine.mailmerge.message import visible
from engine.mailmerge.runs import (
    RunReport,
    list_runs,
    preview,
    process_run,
    run_transport,
    start_run,
)
from engine.mailmerge.transports import make_transport

mail_app = typer.Typer(help="Letters and e-mails to selected contacts, through the outbox, SMTP, Exchange or Graph.",
                       no_args_is_help=True)

@mail_app.command("merge")
@handles_errors
def merge(
    template: Annotated[str, typer.Argument(help="A template in templates/mail/ (and templates/letters/).")],
    to: Annotated[str, typer.Option("--to", metavar="SELECTION",
                                    help="overdue | tag:TAG | contacts:ID,ID | sheet:FILE.xlsx#SHEET")],
    days: Annotated[int, typer.Option(help="For --to overdue (or overdue-tasks): invoices (tasks) more than this many days late.")] = 30,
    as_of: Annotated[str | None, typer.Option("--as-of", help="For --to overdue (or overdue-tasks): late as of this day.")] = None,
    via: Annotated[str | None, typer.Option(help="outbox | smtp | ews | graph (default: mail.transport).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render previews; send nothing, store nothing.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most N e-mails now (resume for the rest).")] = None,
    again: Annotated[bool, typer.Option("--again", help="Merge although the same merge ran earlier today.")] = False,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Merge TEMPLATE to the selected contacts: e-mails through the transport, a printed letter
    for those without an address; opted-out contacts are skipped and listed. Refused before
    anything is sent if the template uses a field the selection does not provide, or if the
    same merge ran earlier today (unless --again)."""
    config = settings(user=user)
    transport = chosen.transport_of(config, via)
    name, options = chosen.selection_of(to, days, as_of)
    with acting_as(user) as (db, actor, _session):
        if dry_run:
            shown = preview(db, config, actor, template, name, options, limit)
            print_json(shown) if as_json else _say_preview(shown)
            if shown["problems"]:
                raise typer.Exit(1)
            return
        run_id = start_run(db, config, actor, template, name, options, transport, again=again)
        report = _process(db, config, actor, run_id, transport, limit, as_json)
    _report(report, as_json)


@mail_app.command("resume")
@handles_errors
def resume(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most N e-mails now.")] = None,
    as_json: JsonOption = False, user: UserOption = None,
) -> None:
    """Carry on with a run that was stopped or limited: what was sent is not sent again."""
    config = settings(user=user)
    with acting_as(user) as (db, actor, _session):
        report = _process(db, config, actor, run_id, run_transport(db, actor, run_id), limit, as_json)
    _report(report, as_json)


@mail_app.command("runs")
@handles_errors
def runs(as_json: JsonOption = False, user: UserOption = None) -> None:
    """Every mail run: template, selection, transport, and how many messages are in each state."""
    rows = fetch(user, list_runs, ("/mail/runs", None))
    if as_json:
        print_json(rows)
        return
    table = new_table("run", "template", "selection", "via", "status", "sent", "failed", "to do", "letters", "skipped")
    for r in rows:
        m = r["messages"]
        table.add_row(str(r["id"]), r["template"], r["selection"], r["transport"], r["status"], str(m.get("sent", 0)),
                      str(m.get("failed", 0)), str(m.get("pending", 0) + m.get("sending", 0)),
                      str(m.get("printed", 0)), str(r["skipped"]))
    out.print(table)


Selection = Annotated[str | None, typer.Option(
    "--selection", "--to", metavar="SELECTION",
    help="Take the fields from this selection's recipients (as --to of mail merge); default: a sample of every "
         "selection's fields.")]
Days = Annotated[int, typer.Option(help="For --selection overdue (or overdue-tasks): more than this many days late.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="For --selection overdue (or overdue-tasks): late as of this day.")]
Named = Annotated[str, typer.Argument(metavar="TEMPLATE",
                                      help="A template in templates/mail/ (with its letter), or a letter's FILE.docx.")]


@mail_app.command("fields")
@handles_errors
def fields(template: Named, selection: Selection = None, days: Days = 30, as_of: AsOf = None,
           as_json: JsonOption = False, user: UserOption = None) -> None:
    """The fields TEMPLATE may use, each with a sample value: as a Jinja template writes it and
    as a Word merge field names it (Insert > Quick Parts > Field > MergeField)."""
    config = settings(user=user)
    name, options = chosen.selection_of(selection, days, as_of) if selection else (None, {})
    with acting_as(user) as (db, actor, _session):
        shown = template_fields(db, config, actor, template, name, options)
    if as_json:
        print_json(shown)
        return
    out.print(f"fields of {template}" + (f" (its letter: {shown['letter']})" if shown["letter"] else "")
              + f", from {shown['from']}:", soft_wrap=True)
    table = new_table("field", "Word merge field", "sample")
    for f in shown["fields"]:
        table.add_row(f["field"], f["word"] or "(a list's items: docxtpl only)", visible(f["sample"]))
    out.print(table)


@mail_app.command("check")
@handles_errors
def check_command(template: Named, selection: Selection = None, days: Days = 30, as_of: AsOf = None,
                  as_json: JsonOption = False, user: UserOption = None) -> None:
    """Check TEMPLATE before merging it: every field the recipients do not have, with where it is
    (subject, body, letter: header, body or footer and the paragraph), and anything no template
    may do. Exit 1 when there is a problem."""
    config = settings(user=user)
    name, options = chosen.selection_of(selection, days, as_of) if selection else (None, {})
    with acting_as(user) as (db, actor, _session):
        checked = check(db, config, actor, template, name, options)
    print_check(checked, template, f"checked against {checked['from']}", as_json)


def _process(db, config, actor, run_id: int, transport: str, limit: int | None, as_json: bool) -> RunReport:
    """Work through the run with a progress bar on a terminal (quiet with --json)."""
    show = not as_json and sys.stderr.isatty()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, disable=not show, transient=True) as bar:
        task = bar.add_task(f"run {run_id}", total=None)
        return process_run(db, config, actor, run_id, make_transport(config, transport), limit,
                           progress=lambda what, done, of: bar.update(task, description=what, completed=done,
                                                                      total=of))


def _report(report: RunReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_json())
    else:
        out.print(f"run {report.run_id} ({report.transport}): {report.sent} sent, {len(report.failed)} failed, "
                  f"{report.printed} letters to print, {report.left} left; {report.status}")
        if report.retried:
            out.print(f"tried again {len(report.retried)} that had failed (the reason they had failed then):")
            for r in report.retried:
                out.print(f"  {visible(r['name'])} (contact {r['contact_id']}), {r['kind']}: {r['error']}")
        for f in report.failed:
            say_warning(f"{visible(f['name'])} (contact {f['contact_id']}), {f['kind']}: {f['error']}")
        for s in report.skipped:
            out.print(f"skipped {s['name']} (contact {s['contact_id']}): {s['reason']}")
        if report.printed_file:
            out.print(f"letters to print: {report.printed_file}"
                      + (f" (and {report.printed_pdf})" if report.printed_pdf else ""))
        if report.left:
            out.print(f"resume with: backoffice mail resume {report.run_id}")
    if report.failed:
        raise typer.Exit(1)


def _say_preview(shown: dict[str, Any]) -> None:
    failing = shown["problems"]
    out.print(f"dry run: {shown['emails']} e-mails and {shown['letters']} letters would be made"
              + (f", {len(failing)} e-mails would fail" if failing else "") + "; nothing was sent")
    out.print(f"previews: {shown['folder']} ({shown['previews']} e-mails)")
    for f in failing:
        say_warning(f"would fail: {visible(f['name'])} (contact {f['contact_id']}), {f['kind']}: {f['error']}")
    for e in shown["earlier"]:
        say_warning(f"run {e['run_id']} merged the same today ({e['started_at']}, {e['sent']} sent): "
                    "merging again needs --again")
    for s in shown["skipped"]:
        out.print(f"skipped {s['name']} (contact {s['contact_id']}): {s['reason']}")
