"""The monthly pack as a frame: sections in their order behind the cover and the key figures,
a note in place of each section the reader may not read (by area, or by the module's own
refusal) or whose module is switched off, and the command line and the API refusing a month
that is not one, naming the option. The modules' own sections are tested with their modules
(test_ledger_reports, test_stock_quality_reports, test_people_reports)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import docx
import pytest
from typer.testing import CliRunner

from engine import app, registry
from engine.cli import app as cli
from engine.errors import PermissionDenied
from engine.office import charts
from engine.office.locale import Formatter
from engine.office.report_body import Column, Figure, Month, Section, Table, Text
from engine.registry import ALL_MODULES, PackSection
from engine.reports.render import write_report
from tests.conftest import actor_with

SEEN: list[Month] = []


def stock_section(session, actor, month: Month) -> Section:
    SEEN.append(month)
    section = Section("Stock (test)", figures=[Figure("Stock value", Decimal("1234.565"), Decimal("1000"), None)])
    return section.add(Table([Column("Item"), Column("Value", "money")], [["Bolt <M6> & nut", Decimal("1234.565")]],
                             total=["Total", Decimal("1234.565")]),
                       charts.bars("Stock value by month", ["Oct", "Nov"], {"Value": [Decimal(1000), Decimal(1234)]}),
                       Text("Valued at moving average cost.", note=True))


def refusing_section(session, actor, month: Month) -> Section:
    raise PermissionDenied("only the test's own readers may read this")


def silent_section(session, actor, month: Month) -> None:
    return None


@pytest.fixture
def sections():
    """Every module on, and three sections of the test's own, registered as modules do."""
    with app.started(list(ALL_MODULES)) as on:
        own = [PackSection("stock-test", f"{__name__}:stock_section", "Stock (test)", "inventory", 1),
               PackSection("refusing", f"{__name__}:refusing_section", "Refusing (test)", "inventory", 2),
               PackSection("silent", f"{__name__}:silent_section", "Silent (test)", "inventory", 3),
               PackSection("hr-test", f"{__name__}:stock_section", "People (test)", "staff", 4, area="staff")]
        kept = on.pack_sections
        on.pack_sections = own
        try:
            yield on
        finally:
            on.pack_sections = kept


def text_of(path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_the_pack_holds_what_the_reader_may_read_and_a_note_for_the_rest(sections, db, tmp_path):
    SEEN.clear()
    clerk = actor_with("warehouse", login="wes")
    target = tmp_path / "pack.docx"
    with db.unit_of_work(clerk) as session:
        written = write_report(session, clerk, "pack", target, period="2026-11")
    assert SEEN == [Month(2026, 11)]
    text = text_of(target)
    fmt = Formatter("en_GB")
    assert "November 2026" in text and "Stock (test)" in text
    assert fmt.money(Decimal("1234.565")) == "1,234.57" and "1,234.57" in text and "+23.5\xa0%" in text
    assert "Bolt <M6> & nut" in text
    assert "Refusing (test) is left out: only the test's own readers may read this." in text
    assert "People (test) is left out: your roles do not let you read staff." in text
    assert "Silent (test)" not in text
    assert written.summary["sections"] == ["Stock (test)"]
    assert len(written.summary["left_out"]) == 2
    assert written.summary["line"] == "management pack 2026-11, 1 section (2 left out: see its first page)"
    assert len(docx.Document(str(target)).inline_shapes) == 1     # the chart


def test_the_pack_is_written_in_the_organisation_locale(sections, db, tmp_path):
    db.organisation = replace(db.organisation, name="Müller & Söhne <GmbH>", locale="de_DE")
    admin = actor_with("admin", login="ada")
    target = tmp_path / "pack.docx"
    with db.unit_of_work(admin) as session:
        write_report(session, admin, "pack", target, period="2026-11")
    text = text_of(target)
    assert "1.234,57" in text and text.count("Bolt <M6> & nut") == 2   # admin reads staff: both sections
    assert "People (test) is left out" not in text
    header = docx.Document(str(target)).sections[0].header.paragraphs[0].text
    assert header == "Müller & Söhne <GmbH> · Management pack November 2026"


def test_a_section_of_a_switched_off_module_is_named_as_left_out(db, tmp_path):
    with app.started(["contacts", "inventory", "reports"]) as on:
        off = on.off
        assert off is not None
        off.pack_sections = [PackSection("books", "engine.nowhere:section", "The books (test)", "ledger", 10)]
        admin = actor_with("admin", login="ada")
        target = tmp_path / "pack.docx"
        with db.unit_of_work(admin) as session:
            write_report(session, admin, "pack", target, period="2026-11")
        assert "The books (test) is left out: the ledger module is switched off." in text_of(target)


def test_a_month_that_is_not_one_is_refused_before_anything_is_written(sections, db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = db.engine.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(cli, ["--database-url", url, "report", "pack", "--period", "2026-13", "--json",
                                    "--user", "ada"])
    assert done.exit_code != 0
    assert '"field": "period"' in done.stderr and "YYYY-MM" in done.stderr
    assert not list(tmp_path.rglob("*.docx"))
    listed = CliRunner().invoke(cli, ["--database-url", url, "report", "list"])
    assert listed.exit_code == 0 and "pack" in listed.stdout and "--period" in listed.stdout
    assert registry.current().report_named("pack").options == ("period",)


@pytest.mark.libreoffice
def test_the_pack_converts_to_a_pdf_with_its_pages_and_figures(sections, db, tmp_path):
    """LibreOffice reads files, not databases: one SQLite run is enough here."""
    import subprocess

    from engine.office.docx import convert_to_pdf, pdf_pages

    if db.engine.dialect.name != "sqlite":
        pytest.skip("LibreOffice reads files, not databases: run once, on SQLite")
    admin = actor_with("admin", login="ada")
    target = tmp_path / "pack.docx"
    with db.unit_of_work(admin) as session:
        write_report(session, admin, "pack", target, period="2026-11")
    pdf = convert_to_pdf(target)
    assert pdf_pages(pdf) >= 2            # the cover, then the sections
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "1,234.57" in text and "Management pack" in text and "page 1 of" in text


def test_a_pdf_without_pages_counts_none(tmp_path):
    from engine.office.docx import pdf_pages

    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"%PDF-1.6\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                      b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n%%EOF\n")
    assert pdf_pages(empty) == 0
