"""Stock's and quality's parts of the monthly pack, the stock valuation and the inspection
certificate, written from the demo's year of stock and inspections on a real SQLite file and
a real PostgreSQL: every figure read back out of the .docx is the module's own query's,
written as the report writes it (Formatter("en_GB")); a reader who may not read stock or
quality gets a note in the pack and a refusal for the report; a certificate is refused for a
lot that is unknown, not inspected or not decided."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import docx
import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.db.session import Database
from engine.demo import build_demo
from engine.errors import NotFound, PermissionDenied, ValidationFailed
from engine.inventory import queries as stock
from engine.inventory.models import Item, Lot
from engine.office.docx import convert_to_pdf
from engine.office.locale import Formatter
from engine.office.report_body import Month
from engine.quality import queries as quality
from engine.quality.certificate import certificate
from engine.quality.models import Disposition, Inspection
from engine.reports.render import write_report
from engine.security.roles import SYSTEM
from tests.conftest import actor_with, shared_database

FMT = Formatter("en_GB")
MONTH = Month(2026, 11)
ADMIN = actor_with("admin", login="admin")
ACCOUNTANT = actor_with("accountant", login="alex")   # reads stock, not quality
HR = actor_with("hr", login="hana")                   # reads neither
HUNDRED = Decimal(100)


def build(db: Database) -> None:
    """The demo's users, contacts, year of stock and of inspections."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session, only=("users", "contacts", "inventory", "quality"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory, pg_admin_engine) -> Iterator[Database]:
    """The demo's year, built once for the module on each database (the reports only read it)."""
    with shared_database(request.param, tmp_path_factory.mktemp("stock-quality"), pg_admin_engine) as database:
        build(database)
        yield database


def tables(path) -> list[list[list[str]]]:
    """Every table of the document: its rows, each a list of its cells' text."""
    return [[[cell.text for cell in row.cells] for row in t.rows] for t in docx.Document(path).tables]


def table_headed(path, *header: str) -> list[list[str]]:
    """The rows (header left out) of the one table whose header row is `header`."""
    found = [t for t in tables(path) if tuple(t[0]) == header]
    assert len(found) == 1, f"{len(found)} tables headed {header}"
    return found[0][1:]


def text(path) -> str:
    document = docx.Document(path)
    return "\n".join([p.text for p in document.paragraphs]
                     + [c for t in tables(path) for row in t for c in row])


def write(db: Database, actor, name: str, target, **options):
    with db.unit_of_work(actor) as session:
        return write_report(session, actor, name, target, **options)


def money_total(values) -> Decimal:
    return sum(values, Decimal(0))


def test_the_packs_stock_and_quality_sections_hold_the_modules_own_figures(demo, tmp_path):
    db = demo
    target = tmp_path / "pack.docx"
    write(db, ADMIN, "pack", target, period="2026-11")
    shown = text(target)
    end = MONTH.end
    with db.reading() as session:
        def total(day: date) -> Decimal:
            return money_total(v.value for v in stock.stock_value(session, ADMIN, day))

        # key figures: stock value at month end, the month before, the year before
        [row] = [r for r in table_headed(target, "Key figure", "This month", "Month before", "Change",
                                         "A year before", "Change") if r[0] == "Stock value at month end"]
        assert row[1:] == [FMT.money(total(end)), FMT.money(total(MONTH.previous.end)),
                           FMT.change(total(end), total(MONTH.previous.end)),
                           FMT.money(total(MONTH.year_before.end)), FMT.change(total(end), total(MONTH.year_before.end))]
        assert total(end) > 0

        # value by category, with its total
        by_category = stock.value_by_category(session, ADMIN, end)
        assert table_headed(target, "Category", "Items in stock", "Value") == [
            *([c.category, FMT.count(c.items), FMT.money(c.value)] for c in by_category),
            ["Total", FMT.count(sum(c.items for c in by_category)), FMT.money(total(end))]]
        assert money_total(c.value for c in by_category) == total(end)

        # slow movers: the ten most valuable, and the total of them all
        slow = stock.slow_movers(session, ADMIN, end, 90)
        assert len(slow) > 10
        assert table_headed(target, "SKU", "Item", "On hand", "Value", "Last out") == [
            *([s.sku, s.item, FMT.quantity(s.quantity), FMT.money(s.value),
               FMT.date(s.last_out) if s.last_out else "never"] for s in slow[:10]),
            [f"All {len(slow)}", "", "", FMT.money(money_total(s.value for s in slow)), ""]]
        issued = {m.sku for m in stock.movements(session, ADMIN, kind="issue", since=end - timedelta(days=89),
                                                  until=end)}
        held = {v.sku for v in stock.stock_value(session, ADMIN, end) if v.quantity > 0}
        assert {s.sku for s in slow} == held - issued                     # what "slow" means, asked another way

        # the reorder list at the month's end (no stock moved since: as it is today)
        reorder = stock.reorder_list(session, ADMIN, as_of=end)
        assert reorder == stock.reorder_list(session, ADMIN) and len(reorder) > 10
        rows = table_headed(target, "SKU", "Item", "On hand", "Reorder point", "To order", "Supplier")
        assert len(rows) == 10 and f"reorder point on {FMT.date(end)}: {len(reorder)} items" in shown
        expected = {r.sku: [r.sku, r.item, FMT.quantity(r.on_hand), FMT.quantity(r.reorder_point),
                            FMT.quantity(r.suggested), r.supplier or ""] for r in reorder}
        assert all(row == expected[row[0]] for row in rows)
        assert "Stock value at each month end, 2025-12 to 2026-11" in shown

        # quality: the month's rejection rate against the month and year before
        def overall(month: Month) -> quality.Rate:
            found = quality.rates(session, ADMIN, "supplier", since=month.start, until=month.end)
            return quality.Rate("all", sum(r.inspected for r in found), sum(r.rejected for r in found),
                                sum(r.accepted_first_time for r in found))

        now, before, year_before = overall(MONTH), overall(MONTH.previous), overall(MONTH.year_before)
        assert now.inspected > 0 and now.rejected > 0
        [row] = [r for r in table_headed(target, "Key figure", "This month", "Month before", "Change",
                                         "A year before", "Change") if r[0] == "Lots rejected at inspection"]
        assert row[1:4] == [FMT.percent(now.rejection_rate * HUNDRED), FMT.percent(before.rejection_rate * HUNDRED),
                            FMT.change(now.rejection_rate, before.rejection_rate)]
        assert row[4] == FMT.percent(year_before.rejection_rate * HUNDRED)

        # rates by supplier for the month, with all suppliers together
        rates = quality.rates(session, ADMIN, "supplier", since=MONTH.start, until=end)
        assert table_headed(target, "Supplier", "Lots inspected", "Rejected", "Rejection rate", "First-pass yield") == [
            *([r.key, FMT.count(r.inspected), FMT.count(r.rejected), FMT.percent(r.rejection_rate * HUNDRED),
               FMT.percent(r.first_pass_yield * HUNDRED)] for r in rates),
            ["All suppliers", FMT.count(now.inspected), FMT.count(now.rejected),
             FMT.percent(now.rejection_rate * HUNDRED), FMT.percent(now.first_pass_yield * HUNDRED)]]

        # open NCRs and overdue actions at the month's end
        ages = quality.open_ncrs_by_age(session, ADMIN, end)
        open_ncrs = [n for band in ages.values() for n in band]
        assert open_ncrs and f"Nonconformances open on {FMT.date(end)}: {len(open_ncrs)}" in shown
        assert table_headed(target, "Open for", "NCRs") == [[label, FMT.count(len(b))] for label, b in ages.items() if b]
        assert table_headed(target, "NCR", "Title", "Days open", "Owner") == [
            [f"#{n['id']} ({n['severity']})", n["title"], FMT.count(n["age_days"]), n["owner"]] for n in open_ncrs[:10]]
        overdue = quality.overdue_actions(session, ADMIN, end)
        assert overdue and f"Actions overdue on {FMT.date(end)}: {len(overdue)}" in shown
        assert table_headed(target, "NCR", "Action", "Owner", "Due", "Days overdue") == [
            [f"#{a['ncr_id']}", a["description"], a["owner"], FMT.date(a["due_on"]), FMT.count(a["days_overdue"])]
            for a in overdue[:10]]

        # the control chart of the characteristic measured most in the year, named in its title
        since = MONTH.shifted(-11).start
        measured = quality.most_measured(session, ADMIN, since, end)
        [spc] = quality.capability(session, ADMIN, measured.sku, measured.characteristic, plan=measured.plan,
                                   since=since, until=end)
        assert f"{measured.characteristic}" in shown and f"of {measured.sku}, plan {measured.plan}" in shown
        assert f"({measured.measurements} measurements)" in shown and spc.capability.count == measured.measurements
        three = Decimal("0.001")
        assert table_headed(target, "Measurements", "Mean", "Cpk", "Ppk", "Points out of control") == [[
            FMT.count(spc.capability.count), FMT.quantity(spc.capability.mean.quantize(three)),
            FMT.quantity(spc.capability.cpk.quantize(three)), FMT.quantity(spc.capability.ppk.quantize(three)),
            FMT.count(len(spc.chart.out_of_control))]]
        # no other characteristic was measured more often in those days
        counts = session.execute(sa.text(
            "SELECT m.characteristic_id, count(*) FROM measurements m JOIN inspections i ON i.id = m.inspection_id "
            "WHERE m.value IS NOT NULL AND i.original AND i.inspected_on BETWEEN :a AND :b "
            "GROUP BY m.characteristic_id"), {"a": since, "b": end}).all()
        assert max(n for _, n in counts) == measured.measurements


def test_readers_who_may_not_read_stock_or_quality_get_notes_and_refusals(demo, tmp_path):
    db = demo
    write(db, ACCOUNTANT, "pack", tmp_path / "alex.docx", period="2026-11")
    shown = text(tmp_path / "alex.docx")
    assert "Stock value at month end" in shown
    assert "Quality is left out: your roles do not let you read quality." in shown
    assert "Lots rejected at inspection" not in shown and "Rejection rate" not in shown

    write(db, HR, "pack", tmp_path / "hana.docx", period="2026-11")
    shown = text(tmp_path / "hana.docx")
    assert "Stock is left out: your roles do not let you read inventory." in shown
    assert "Stock value" not in shown and "Quality is left out" in shown

    with pytest.raises(PermissionDenied):
        write(db, HR, "stock-valuation", tmp_path / "no.docx", as_of="2026-11-30")
    with pytest.raises(PermissionDenied):
        write(db, ACCOUNTANT, "inspection-certificate", tmp_path / "no.docx", lot="L261109")
    assert not (tmp_path / "no.docx").exists()


def test_the_stock_valuation_lists_every_item_with_its_unit_cost_and_the_totals(demo, tmp_path):
    db = demo
    target = tmp_path / "valuation.docx"
    write(db, ADMIN, "stock-valuation", target, as_of="2026-10-31")
    with db.reading() as session:
        values = stock.stock_value(session, ADMIN, date(2026, 10, 31))
        lines = stock.stock_valuation(session, ADMIN, date(2026, 10, 31))
    assert [v.sku for v in lines] == [v.sku for v in values] and len(values) > 150
    total = money_total(v.value for v in values)
    assert table_headed(target, "Method", "Items", "Value") == [
        *([name, FMT.count(len(of)), FMT.money(money_total(v.value for v in of))]
          for name, method in (("Average", "average"), ("FIFO", "fifo"))
          if (of := [v for v in values if v.valuation == method])),
        ["Total", FMT.count(len(values)), FMT.money(total)]]
    shown_items = [row for t in tables(target) if t[0] == ["SKU", "Item (unit)", "Method", "Quantity", "Unit cost",
                                                             "Value"] for row in t[1:]]
    by_sku = {row[0]: row for row in shown_items}
    for v, line in zip(values, lines, strict=True):
        assert line.unit_cost == (v.value / v.quantity).quantize(Decimal("0.0001")) if v.quantity else True
        assert by_sku[v.sku] == [v.sku, f"{line.item} ({line.unit})", {"fifo": "FIFO", "average": "Average"}[
            v.valuation], FMT.quantity(v.quantity), FMT.money(line.unit_cost) if line.unit_cost is not None else "",
            FMT.money(v.value)]
    subtotals = [row for row in shown_items if row[0].endswith(" items")]
    assert len(by_sku) - len(subtotals) == len(values)
    assert "Stock held at the end of 31 Oct 2026" in text(target)


def test_the_inspection_certificate_of_a_lot_and_its_refusals(demo, tmp_path):
    db = demo
    with db.reading() as session:
        # a lot inspected twice: rejected, reworked, then accepted
        twice = session.execute(
            sa.select(Item.sku, Lot.lot_number).join(Lot, Lot.item_id == Item.id).join(Inspection, Inspection.lot_id == Lot.id)
            .group_by(Item.sku, Lot.lot_number).having(sa.func.count() > 1).order_by(Item.sku)).first()
        rejected = session.execute(
            sa.select(Item.sku, Lot.lot_number).join(Lot, Lot.item_id == Item.id).join(Disposition, Disposition.lot_id == Lot.id)
            .where(Disposition.decision.in_(("scrap", "return"))).order_by(Item.sku)).first()
        held = session.execute(sa.select(Item.sku, Lot.lot_number, Lot.status).join(Lot, Lot.item_id == Item.id)
                               .where(Lot.status == "quarantined")).first()
        waiting = session.execute(sa.select(Item.sku, Lot.lot_number).join(Lot, Lot.item_id == Item.id)
                                  .where(Lot.status == "awaiting inspection")
                                  .where(~sa.exists().where(Inspection.lot_id == Lot.id))).first()
    assert twice and rejected and held and waiting

    target = tmp_path / "certificate.docx"
    write(db, ADMIN, "inspection-certificate", target, lot=f"{twice.sku}/{twice.lot_number}")
    with db.reading() as session:
        found = certificate(session, ADMIN, f"{twice.sku}/{twice.lot_number}")
        last = session.scalars(sa.select(Inspection).join(Lot, Lot.id == Inspection.lot_id).join(Item)
                               .where(Item.sku == twice.sku, Lot.lot_number == twice.lot_number)
                               .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())).first()
    assert (found.inspected_on, found.sample_size, found.accepted, found.inspector) == (
        last.inspected_on, last.sample_size, last.accepted, last.inspector)
    facts = dict(table_headed(target, "Certified", "As inspected"))
    assert facts["Item"] == f"{found.sku} {found.item}" and facts["Lot number"] == twice.lot_number
    assert facts["Supplier"] == found.supplier and facts["Inspection plan"] == found.plan
    assert facts["Quantity (lot size)"] == f"{FMT.quantity(found.lot_size)} {found.unit}"
    assert facts["Sample size"] == FMT.count(last.sample_size)
    assert facts["Accept / reject number"] == f"{last.accept_number} / {last.reject_number}"
    assert facts["Decision"] == ("Accepted" if last.accepted else "Rejected")
    assert facts["Decided by"] == f"{last.inspector}, inspection of {FMT.date(last.inspected_on)}"
    assert "Inspected before on" in text(target)
    results = table_headed(target, "Characteristic", "Specification", "Checked", "Lowest", "Highest", "Failed",
                           "Result")
    assert [row[0].split(" (")[0].split(",")[0] for row in results] == [r.name for r in found.results]
    for row, r in zip(results, found.results, strict=True):
        assert row[2:6] == [FMT.count(r.checked), FMT.quantity(r.lowest) if r.lowest is not None else "",
                            FMT.quantity(r.highest) if r.highest is not None else "", FMT.count(r.nonconforming)]
        assert r.checked == last.sample_size
    every = table_headed(target, "Sample", *(r.name for r in found.results))
    assert len(every) == last.sample_size
    assert [row[1] for row in every] == [FMT.quantity(v) if not isinstance(v, bool) else ("pass" if v else "fail")
                                         for _, v in sorted(found.results[0].values.items())]

    # a rejected lot disposed of: its disposition, who decided it and when
    write(db, ADMIN, "inspection-certificate", tmp_path / "rejected.docx", lot=f"{rejected.sku}/{rejected.lot_number}")
    facts = dict(table_headed(tmp_path / "rejected.docx", "Certified", "As inspected"))
    with db.reading() as session:
        found = certificate(session, ADMIN, f"{rejected.sku}/{rejected.lot_number}")
    assert facts["Decision"] == "Rejected" and found.disposition is not None
    assert facts["Disposed of by"] == f"{found.disposition.updated_by} on {FMT.date(found.disposition.decided_on)}"
    assert facts["Disposition"].endswith(found.disposition.reason)

    def refused(lot: str):
        with pytest.raises((ValidationFailed, NotFound)) as caught:
            write(db, ADMIN, "inspection-certificate", tmp_path / "refused.docx", lot=lot)
        assert not (tmp_path / "refused.docx").exists()
        return [(p.field, p.code, p.message) for p in caught.value.problems]

    [(field, code, message)] = refused(f"{held.sku}/{held.lot_number}")
    assert (field, code) == ("lot", "not_decided") and "waiting for its disposition" in message
    [(field, code, message)] = refused(f"{waiting.sku}/{waiting.lot_number}")
    assert (field, code) == ("lot", "not_inspected") and "awaiting inspection" in message
    [(field, code, message)] = refused("NO-SUCH-LOT")
    assert (field, code) == ("lot", "not_found")
    with db.reading() as session:
        shared = session.scalar(sa.select(Lot.lot_number).group_by(Lot.lot_number).having(sa.func.count() > 1)
                                .order_by(Lot.lot_number).limit(1))
    [(field, code, message)] = refused(shared)
    assert (field, code) == ("lot", "not_found") and "write it as SKU/LOT" in message


@pytest.mark.libreoffice
def test_the_stock_section_converts_to_pdf_with_its_figures(tmp_path):
    db = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'backoffice.db'}"), create=True)
    try:
        build(db)
        target = tmp_path / "pack.docx"
        write(db, ADMIN, "pack", target, period="2026-11")
        with db.reading() as session:
            value = money_total(v.value for v in stock.stock_value(session, ADMIN, MONTH.end))
        pdf = convert_to_pdf(target)
        shown = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout
        assert FMT.money(value) in shown and "Slow movers" in shown   # (a key figure's label wraps in its cell)
    finally:
        db.dispose()
