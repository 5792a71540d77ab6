"""`backoffice report ...`: Word reports, filled in for the reader.

Thin, like every command group: the module that registers a report (`registry.report`)
builds its context (leaving out what the reader's roles may not see, and auditing what must
be), `engine.office.docx` fills the template in inside the sandbox, and LibreOffice turns it
into a PDF when asked. Each report of a module switched on is a command of its own, with the
options it takes (`engine.reports.options`); a report whose module is switched off is not
offered. The audit rows of a report are committed only once its file is written; if they
cannot be, the file is removed again.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine import registry
from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    handles_errors,
    new_table,
    out,
    print_check,
    print_json,
    remote_server,
    settings,
)
from engine.errors import BackofficeError
from engine.office.docx import NeedsLibreOffice, convert_to_pdf, soffice, templates_dir
from engine.registry import Report
from engine.reports import options as report_options
from engine.reports.render import offered, report_named, write_report

if TYPE_CHECKING:
    from engine.remote import Server

HELP = "Word reports, holding only what the reader's roles may see."
report_app = typer.Typer(help=HELP, no_args_is_help=True)


def _docx_target(out_path: Path | None, default: Path) -> Path:
    target = out_path or default
    if target.suffix.lower() != ".docx":
        raise BackofficeError(f"--out {target}: a Word report is a .docx file; end the name in .docx")
    return target


def make(report: Report, given: dict[str, Any], out_path: Path | None, pdf: bool, template: Path | None,
         as_json: bool, user: str | None) -> None:
    """Write `report` for the acting user (here, or through the server), and say so."""
    values = report_options.read(report.options, given)   # refused before anything is written
    if pdf and soffice() is None:   # say so before anything is written or audited
        raise NeedsLibreOffice("--pdf needs LibreOffice (the `soffice` command, e.g. the libreoffice-writer "
                               "package); run without --pdf for the Word file, which Word can save as PDF")
    config = settings(user=user)    # the default file names the reader: two people never overwrite each other's
    named = "-".join(p for p in (report.name, report_options.label(values)) if p)
    server = remote_server(config)
    if server is not None:
        if template is not None:
            raise BackofficeError("--template works only with a database connection: through the server the report "
                                  "is filled in on the server, with its standard template; run without --template")
        with server:
            server.check_user(config.user)
            target = _docx_target(out_path, config.output_dir / f"{named}-{server.me()['login']}.docx")
            said = _through(server, report.name, values, target)
    else:
        target = _docx_target(out_path, config.output_dir / f"{named}-{config.user or 'nobody'}.docx")
        written = False
        try:
            with acting_as(user) as (_db, actor, session):
                said = write_report(session, actor, report.name, target, template, **values).summary
                written = True
        except BaseException:
            if written:               # the audit rows were not saved: neither is the report
                target.unlink(missing_ok=True)
            raise
    pdf_path = convert_to_pdf(target) if pdf else None
    if as_json:
        print_json({"report": report.name, "file": str(target), "pdf": str(pdf_path) if pdf_path else None,
                    **report_options.as_text(values), **{k: v for k, v in said.items() if k not in ("line", "notice")}})
        return
    out.print(f"wrote {target}" + (f" and {pdf_path}" if pdf_path else "") + f": {said['line']}", soft_wrap=True)
    if said.get("notice"):
        out.print(said["notice"], soft_wrap=True)


def _through(server: Server, name: str, values: dict[str, Any], target: Path) -> dict[str, Any]:
    """Report `name` written by the server for the token's user (`POST /reports/{name}`), put
    at `target` readable by its owner only, as the local command writes it; what the command
    says of it (the module's summary, sent in the `Backoffice-Report` header)."""
    from engine.office.files import (
        write_private,  # here: only a report from the server writes it so
    )

    reply = server.request("POST", f"/reports/{name}", json=report_options.as_text(values))
    write_private(target, reply.content)
    return json.loads(reply.headers.get("Backoffice-Report") or "{}") or {"line": name}


def _command(report: Report):
    """The command writing `report`: a flag for each option it takes, then the common ones."""
    def run(**given: Any) -> None:
        common = {k: given.pop(k) for k in ("out_path", "pdf", "template", "as_json", "user")}
        make(report_named(report.name), given, **common)

    parameters = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        str | None, typer.Option(option.flag, metavar=option.metavar, help=option.help)])
        for name in report.options for option in [report_options.OPTIONS[name]]]
    parameters += [
        inspect.Parameter("out_path", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Path | None, typer.Option("--out", metavar="FILE.docx",
                                      help="Where to write it (default: OUTPUT_DIR/NAME-OPTIONS-LOGIN.docx).")]),
        inspect.Parameter("pdf", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--pdf", help="Also convert it to PDF (needs LibreOffice).")]),
        inspect.Parameter("template", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Path | None, typer.Option("--template", metavar="FILE.docx",
                                      help="Use this template (a copy of the standard one, restyled).")]),
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOption),
        inspect.Parameter("user", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=UserOption),
    ]
    run.__signature__ = inspect.Signature(parameters)
    run.__doc__ = report.help or f"The {report.name} report (Word)."
    run.__name__ = report.name
    return handles_errors(run)


@report_app.command("list")
@handles_errors
def list_reports(as_json: JsonOption = False) -> None:
    """The reports on offer (those of the modules switched on), with their options."""
    found = offered()
    if as_json:
        print_json({"items": found})
        return
    for report in found:
        flags = " ".join(report_options.OPTIONS[o].flag for o in report["options"])
        out.print(f"{report['name']:<12} {flags:<28} {report['help']}", soft_wrap=True)


@report_app.command("templates")
@handles_errors
def templates(folder: Annotated[Path | None, typer.Option(
        help="The templates folder to write into (default: templates/).")] = None) -> None:
    """Regenerate the standard Word templates: reports (templates/reports/) and mail-merge
    letters (templates/letters/), committed."""
    from engine.reports.make_templates import (  # here: python-docx is a slow import
        write_letter_templates,
        write_templates,
    )

    root = folder or templates_dir()
    for path in [*write_templates(root / "reports"), *write_letter_templates(root / "letters")]:
        out.print(f"wrote {path}")


def _given(period: str | None, as_of: str | None, year: str | None, customer: str | None, lot: str | None,
           employee: str | None) -> dict[str, Any]:
    return {k: v for k, v in {"period": period, "as_of": as_of, "year": year, "customer": customer, "lot": lot,
                              "employee": employee}.items() if v is not None}


def _option(name: str) -> Any:
    option = report_options.OPTIONS[name]
    return typer.Option(option.flag, metavar=option.metavar, help=option.help + " (as the report takes it)")


Period = Annotated[str | None, _option("period")]
AsOf = Annotated[str | None, _option("as_of")]
Year = Annotated[str | None, _option("year")]
Customer = Annotated[str | None, _option("customer")]
Lot = Annotated[str | None, _option("lot")]
Employee = Annotated[str | None, _option("employee")]


@report_app.command("fields")
@handles_errors
def fields(name: Annotated[str, typer.Argument(metavar="NAME", help="The report (see `report list`).")],
           period: Period = None, as_of: AsOf = None, year: Year = None, customer: Customer = None, lot: Lot = None,
           employee: Employee = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """The fields report NAME's template may use, each with a sample value from the report as you
    would get it: as a docxtpl template writes it and as a Word merge field names it."""
    from engine.reports.template_check import (
        report_fields,  # here: the template readers, for this command only
    )

    with acting_as(user) as (_db, actor, session):
        shown = report_fields(session, actor, name, **_given(period, as_of, year, customer, lot, employee))
    if as_json:
        print_json(shown)
        return
    table = new_table("field", "Word merge field", "sample")
    for f in shown["fields"]:
        table.add_row(f["field"], f["word"] or "(a list's items: docxtpl only)", f["sample"])
    out.print(f"fields of the {shown['report']} report (templates/{shown['template']}):", soft_wrap=True)
    out.print(table)


@report_app.command("check")
@handles_errors
def check(template: Annotated[Path, typer.Argument(metavar="TEMPLATE.docx", help="The template to check.")],
          report: Annotated[str | None, typer.Option(
              "--report", metavar="NAME", help="The report it is for (default: the one whose template has its name).")]
          = None,
          period: Period = None, as_of: AsOf = None, year: Year = None, customer: Customer = None, lot: Lot = None,
          employee: Employee = None, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Check a report template before using it (`--template`): every field the report does not
    provide, with where it is (header, body or footer, and the paragraph), and anything no
    template may do. Exit 1 when there is a problem."""
    from engine.reports.template_check import (
        report_check,  # here: the template readers, for this command only
    )

    with acting_as(user) as (_db, actor, session):
        checked = report_check(session, actor, template, report,
                               **_given(period, as_of, year, customer, lot, employee))
    print_check(checked, template, f"checked as the {checked['report']} report's template", as_json)


RESERVED = ("list", "templates", "fields", "check")   # the group's own commands, never a report's name


def offered_reports() -> typer.Typer:
    """The report group as the command line shows it: its own commands, and a command for each
    report of the modules switched on."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.registered_commands = list(report_app.registered_commands)
    for report in registry.current().reports:
        if report.name in RESERVED:
            raise RuntimeError(f"a report may not be named {report.name!r}: it is a command of `backoffice report`")
        group.command(report.name, help=report.help)(_command(report))
    return group
