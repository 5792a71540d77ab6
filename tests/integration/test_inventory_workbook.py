"""The Inventory workbook on SQLite and PostgreSQL: movements typed into the Movements sheet
are posted on sync through the stock services, posted rows are locked, the read-only sheets
are refreshed, and two workbooks racing for the last units cannot both win."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from engine.db.audit import AuditEntry
from engine.inventory import queries
from engine.inventory.models import StockMovement
from engine.security.roles import SYSTEM
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, find_row, problems_of, read_sheet, rehearsed
from tests.integration.inventory_books import actor, add_movement, export, sync


def test_the_workbook_shows_items_locations_movements_on_hand_and_reorder(db, stock, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    assert read_sheet(path, "Items")[1][2:4] == ["BOLT-8", "Bolt M8"]
    assert read_sheet(path, "On hand")[1] == ["BOLT-8", "Bolt M8", "MAIN", "", 5.0, "each"]
    assert read_sheet(path, "Reorder")[1][:5] == ["BOLT-8", "Bolt M8", 5.0, 10.0, 100.0]
    [header, posted] = read_sheet(path, "Movements")[:2]
    assert posted[header.index("Value")] == 1.0 and posted[header.index("Item")] == "BOLT-8 Bolt M8"
    assert posted[header.index("To")] == "MAIN Main warehouse"      # names people know, not ids


def test_new_movement_rows_are_posted_on_sync_and_the_read_only_sheets_refreshed(db, stock, settings, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    receipt = add_movement(path, on=date(2026, 3, 2), kind="receipt", reason="received", item="BOLT-8 Bolt M8",
                           quantity=20, to="MAIN Main warehouse", cost=0.25)
    issue = add_movement(path, on=date(2026, 3, 3), kind="issue", reason="issued", item="BOLT-8 Bolt M8",
                         quantity=7, frm="MAIN")
    result = sync(db, settings, "wes", path)
    assert (result.status, result.inserted) == ("applied", 2), result.as_json()
    with db.reading() as session:
        assert [h.quantity for h in queries.on_hand(session, SYSTEM, sku="BOLT-8")] == [D(18)]
        entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.table_name == "stock_movements",
                                                              AuditEntry.source == "workbook")).all()
    assert sorted((e.sheet, e.row_number) for e in entries) == [("Movements", receipt), ("Movements", issue)]
    rows = read_sheet(path, "Movements")
    assert rows[issue - 1][0] and rows[issue - 1][rows[0].index("Value")] < 0     # id and cost written back
    assert read_sheet(path, "On hand")[1][4] == 18.0
    assert len(read_sheet(path, "Reorder")) == 1                                     # 18 > 10: nothing to reorder
    assert sync(db, settings, "wes", path).status == "unchanged"


def test_an_edited_posted_movement_is_refused_at_its_cell_and_nothing_is_applied(db, stock, settings, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    posted = find_row(path, "Movements", "Kind", "receipt")
    edit_by_label(path, "Movements", posted, {"Quantity": 50})
    add_movement(path, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-8 Bolt M8", quantity=1,
                 frm="MAIN")
    result = sync(db, settings, "wes", path)
    assert result.status == "rejected" and result.exit_code == 1
    [problem] = result.problems
    assert (problem.code, problem.column, problem.cell[1:]) == ("posted", "Quantity", str(posted))
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1


def test_issuing_more_than_is_there_is_a_problem_at_its_row_and_no_row_is_posted(db, stock, settings, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    add_movement(path, on=date(2026, 3, 2), kind="receipt", reason="received", item="BOLT-8 Bolt M8", quantity=1,
                 to="MAIN Main warehouse", cost=0.25)  # fine on its own, but the workbook is all or nothing
    row = add_movement(path, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-8 Bolt M8", quantity=7,
                       frm="MAIN")
    told = rehearsed(RoundTrip(db, settings, actor(db, "wes")), path)   # validate tells the truth
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1
    result = sync(db, settings, "wes", path)
    assert result.status == "rejected" and problems_of(result) == told
    [problem] = result.problems + result.conflicts
    assert problem.cell.endswith(str(row)) and "6 on hand, 7 wanted" in problem.message
    assert "7 wanted" in str(read_sheet(path, "Issues"))
    assert read_sheet(path, "Issues")[1][4] == "insufficient stock"      # the kind in words
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1


def test_one_pass_tells_a_typing_problem_and_a_posting_problem_together(db, stock, settings, tmp_path):
    """Validate, dry run and sync all report the unknown item and the issue of more than is
    on hand at once, not the second only after the first is fixed; nothing is saved."""
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    typo = add_movement(path, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-9", quantity=1,
                        frm="MAIN")
    greedy = add_movement(path, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-8", quantity=7,
                          frm="MAIN")
    told = rehearsed(RoundTrip(db, settings, actor(db, "wes")), path)
    result = sync(db, settings, "wes", path)
    assert problems_of(result) == told
    by_row = {int(p.cell[1:]): p for p in result.problems}
    assert set(by_row) == {typo, greedy}, result.as_json()
    assert by_row[typo].code == "reference" and "BOLT-9" in by_row[typo].message
    assert "5 on hand, 7 wanted" in by_row[greedy].message
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 1


def test_a_role_that_may_not_write_inventory_cannot_post_movements(db, stock, settings, tmp_path):
    path = export(db, "sam", tmp_path / "inventory.xlsx")
    add_movement(path, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-8 Bolt M8", quantity=1,
                 frm="MAIN")
    result = sync(db, settings, "sam", path)
    assert result.status == "rejected" and {p.code for p in result.problems} == {"permission"}


def test_two_workbooks_issuing_the_last_units_at_once_one_is_posted_the_other_refused(db, stock, settings, tmp_path):
    paths = [export(db, "wes", tmp_path / f"{name}.xlsx") for name in ("one", "two")]
    rows = {p.name: add_movement(p, on=date(2026, 3, 2), kind="issue", reason="issued", item="BOLT-8 Bolt M8",
                                 quantity=5, frm="MAIN") for p in paths}
    results, start = {}, threading.Barrier(2)

    def run(path):
        start.wait()
        results[path.name] = sync(db, settings, "wes", path)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status for r in results.values()) == ["applied", "rejected"]
    name, loser = next((n, r) for n, r in results.items() if r.status == "rejected")
    [problem] = loser.problems + loser.conflicts
    assert problem.cell.endswith(str(rows[name])) and "0 on hand, 5 wanted" in problem.message
    with db.reading() as session:
        assert queries.on_hand(session, SYSTEM, sku="BOLT-8") == []
        assert session.scalar(sa.select(sa.func.count()).where(StockMovement.kind == "issue")) == 1


def test_a_stock_take_lists_every_place_and_posts_the_counted_differences(db, stock, settings, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    rows = read_sheet(path, "Stock take")
    header = rows[0]
    [line] = [r for r in rows[1:] if r[header.index("Item")] == "BOLT-8 Bolt M8"]
    assert line[header.index("Location")] == "MAIN Main warehouse"
    assert (line[header.index("System quantity")], line[header.index("Counted")], line[0]) == (5.0, "", "")
    assert sync(db, settings, "wes", path).status == "unchanged"   # an offered line is not a count yet
    row = find_row(path, "Stock take", "Item", "BOLT-8 Bolt M8")
    edit_by_label(path, "Stock take", row, {"Counted": 3})
    result = sync(db, settings, "wes", path)
    assert (result.status, result.inserted) == ("applied", 1), result.as_json()
    with db.reading() as session:
        assert [h.quantity for h in queries.on_hand(session, SYSTEM, sku="BOLT-8")] == [D(3)]
        counted = session.scalars(sa.select(StockMovement).where(StockMovement.reason == "counted")).one()
    assert (counted.quantity, counted.value) == (D(-2), D("-0.4"))
    assert read_sheet(path, "Stock take")[row - 1][0]        # the line is recorded: it has an ID now
    edit_by_label(path, "Stock take", row, {"Counted": 4})
    assert sync(db, settings, "wes", path).problems[0].code == "posted"
