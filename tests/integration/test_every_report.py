"""Every report on offer renders with the demo's data and LibreOffice converts each to a PDF
with pages: the pack, and each module's report with a record of the demo to report on (a
customer with invoices, an accepted lot, an employee). A report a module registers later is
picked up here by itself; one that needs a record this test does not know how to choose fails
it, so the next report cannot be forgotten."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from engine import registry
from engine.db.session import Database
from engine.demo import build_demo
from engine.inventory.models import Item, Lot
from engine.ledger.models import Invoice
from engine.office.docx import convert_to_pdf, pdf_pages
from engine.quality.models import Inspection
from engine.reports.render import write_report
from engine.security.roles import SYSTEM
from engine.security.users import resolve_actor
from engine.staff.models import Employee

pytestmark = pytest.mark.libreoffice


@pytest.fixture
def demo(db: Database) -> Iterator[Database]:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("LibreOffice reads files, not databases: the demo's reports are converted once, on SQLite")
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session)
    yield db


def subjects(session) -> dict[str, str]:
    """A record of the demo for each option naming one."""
    customer = session.scalar(sa.select(Invoice.contact_id).where(Invoice.kind == "sales")
                              .group_by(Invoice.contact_id).order_by(sa.func.count().desc()).limit(1))
    lot = session.execute(sa.select(Item.sku, Lot.lot_number).join(Lot, Lot.item_id == Item.id)
                          .join(Inspection, Inspection.lot_id == Lot.id)
                          .where(Lot.status == "available").order_by(Lot.id).limit(1)).one()
    employee = session.scalar(sa.select(Employee.employee_number).order_by(Employee.employee_number).limit(1))
    return {"customer": str(customer), "lot": f"{lot.sku}/{lot.lot_number}", "employee": employee}


def test_every_report_renders_with_the_demo_and_converts_to_a_pdf_with_pages(demo, tmp_path):
    with demo.reading() as session:
        admin = resolve_actor(session, "admin")
        chosen = subjects(session)
    reports = registry.current().reports
    assert {r.name for r in reports} >= {"pack", "staff", "trial-balance", "statement", "stock-valuation",
                                         "inspection-certificate", "leave-statement", "asset-register"}
    for report in reports:
        options = {name: chosen[name] for name in report.options if name in chosen}
        target = tmp_path / f"{report.name}.docx"
        with demo.unit_of_work(admin) as session:
            write_report(session, admin, report.name, target, **options)
        pdf = convert_to_pdf(target)
        assert pdf_pages(pdf) >= 1, report.name
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Made on" in text and "Ada Admin (admin)" in text, report.name
