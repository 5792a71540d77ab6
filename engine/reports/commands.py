"""`backoffice report ...`: Word reports, filled in for the reader.

Thin, like every command group: the module that registers a report (`registry.report`)
builds its context (leaving out what the reader's roles may not see, and auditing what must
be), `engine.office.docx` fills the template in inside the sandbox, and LibreOffice turns it
into a PDF when asked. A report whose module is switched off is not offered.
The audit rows of a report are committed only once its file is written; if they cannot be,
the file is removed again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine import registry
from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    handles_errors,
    out,
    print_json,
    remote_server,
    settings,
)
from engine.errors import BackofficeError
from engine.office.docx import NeedsLibreOffice, convert, soffice, templates_dir
from engine.reports.render import check_year, report_named, summary, write_report

if TYPE_CHECKING:
    from engine.remote import Server

report_app = typer.Typer(help="Word reports, holding only what the reader's roles may see.", no_args_is_help=True)

Pdf = Annotated[bool, typer.Option("--pdf", help="Also convert it to PDF (needs LibreOffice).")]
Template = Annotated[Path | None, typer.Option(
    "--template", metavar="FILE.docx", help="Use this docxtpl template instead of the standard one.")]


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _docx_target(out_path: Path | None, default: Path) -> Path:
    target = out_path or default
    if target.suffix.lower() != ".docx":
        raise BackofficeError(f"--out {target}: a Word report is a .docx file; end the name in .docx")
    return target


@report_app.command("staff")
@handles_errors
def staff(
    year: Annotated[int | None, typer.Option(help="The year it covers (default: this year).")] = None,
    out_path: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE.docx", help="Where to write it (default: OUTPUT_DIR/staff-YEAR-LOGIN.docx).")] = None,
    pdf: Pdf = False,
    template: Template = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """The staff report (Word): departments, employees, leave; sensitive fields only for roles that see them."""
    report_named("staff")
    year = check_year(year or date.today().year)
    if pdf and soffice() is None:   # say so before anything is written or audited
        raise NeedsLibreOffice("--pdf needs LibreOffice (the `soffice` command, e.g. the libreoffice-writer "
                               "package); run without --pdf for the Word file, which Word can save as PDF")
    config = settings(user=user)    # the default file names the reader: two people never overwrite each other's
    server = remote_server(config)
    if server is not None:
        if template is not None:
            raise BackofficeError("--template works only with a database connection: through the server the report "
                                  "is filled in on the server, with its standard template; run without --template")
        with server:
            server.check_user(config.user)
            target = _docx_target(out_path, config.output_dir / f"staff-{year}-{server.me()['login']}.docx")
            made = _through(server, "staff", year, target)
    else:
        target = _docx_target(out_path, config.output_dir / f"staff-{year}-{config.user or 'nobody'}.docx")
        written = False
        try:
            with acting_as(user) as (_db, actor, session):
                made = summary(write_report(session, actor, "staff", target, template, year=year))
                written = True
        except BaseException:
            if written:               # the audit rows were not saved: neither is the report
                target.unlink(missing_ok=True)
            raise
    pdf_path = convert(target, "pdf") if pdf else None
    if as_json:
        print_json({"file": str(target), "pdf": str(pdf_path) if pdf_path else None, "year": year,
                    "departments": made["departments"], "employees": made["employees"]})
        return
    out.print(f"wrote {target}" + (f" and {pdf_path}" if pdf_path else "")
              + f": staff report {year} on {made['scope']}, {_count(made['departments'], 'department')}, "
              f"{_count(made['employees'], 'employee')}", soft_wrap=True)
    shown = made["extra_columns"] + (["medical reasons"] if made["medical"] else [])
    if shown:
        out.print(f"it holds {', '.join(shown).lower()}: handle it as confidential"
                  + ("; handing over the medical reasons was recorded in the audit log" if made["medical"]
                     else ""), soft_wrap=True)


def _through(server: Server, name: str, year: int, target: Path) -> dict[str, Any]:
    """Report `name` written by the server for the token's user (`POST /reports/{name}`), put
    at `target` readable by its owner only, as the local command writes it; what the command
    says of it (`render.summary`, sent in the `Backoffice-Report` header)."""
    from engine.office.files import (
        write_private,  # here: only a report from the server writes it so
    )

    reply = server.request("POST", f"/reports/{name}", json={"year": year})
    write_private(target, reply.content)
    return json.loads(reply.headers.get("Backoffice-Report") or "{}")


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



_REPORTS = ("staff",)   # the commands above that are a module's report (`registry.report`)


def offered_reports() -> typer.Typer:
    """The report group as the command line shows it: the reports of the modules switched on,
    and `templates`."""
    on = {r.name for r in registry.current().reports}
    group = typer.Typer(help=report_app.info.help, no_args_is_help=True)
    group.registered_commands = [c for c in report_app.registered_commands if c.name not in _REPORTS or c.name in on]
    return group
