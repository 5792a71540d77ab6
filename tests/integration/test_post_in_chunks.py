"""A sheet whose new rows a module's service posts (here: stock movements) is read, checked and
posted a chunk of rows at a time when it is large (workbook.chunk_rows), in sheet order, each
chunk after the rows before it: what a sheet read whole does, all or nothing still.

The chunk is two rows here, so a few movements already span several chunks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from engine.db.installation import seal
from engine.inventory import queries
from engine.inventory.models import StockMovement
from engine.security.roles import SYSTEM
from engine.sheets import roundtrip
from engine.sheets.read import read_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from tests.integration.conftest import problems_of, read_sheet, rehearsed
from tests.integration.inventory_books import actor, add_movement, export

CHUNK = 2
BOLT, MAIN = "BOLT-8 Bolt M8", "MAIN Main warehouse"


@pytest.fixture
def chunked(settings):
    return replace(settings, workbook=replace(settings.workbook, chunk_rows=CHUNK))


@pytest.fixture
def chunks_saved(monkeypatch) -> list[tuple[str, int]]:
    """(sheet, rows) of each chunk the sync saves."""
    saved: list[tuple[str, int]] = []
    save = roundtrip.RoundTrip._save_chunk

    def spy(self, session, book, spec, part, plan, *rest):
        saved.append((plan.sheet, len(part.rows)))
        return save(self, session, book, spec, part, plan, *rest)

    monkeypatch.setattr(roundtrip.RoundTrip, "_save_chunk", spy)
    return saved


def receipt(path, quantity, on=date(2026, 3, 2)):
    return add_movement(path, on=on, kind="receipt", reason="received", item=BOLT, quantity=quantity, to=MAIN,
                        cost=0.25)


def issue(path, quantity, item=BOLT, on=date(2026, 3, 3)):
    return add_movement(path, on=on, kind="issue", reason="issued", item=item, quantity=quantity, frm="MAIN")


def movements(db) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(StockMovement))


def on_hand(db) -> list[D]:
    with db.reading() as session:
        return [h.quantity for h in queries.on_hand(session, SYSTEM, sku="BOLT-8")]


@pytest.mark.usefixtures("stock")
def test_a_large_movements_sheet_is_read_in_chunks(db, chunked, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    with db.reading() as session:
        book = read_workbook(path, workbook_spec, chunked.workbook, seal(session))
    assert not book.sheets["Movements"].kept_whole     # its table's spare rows make it large


@pytest.mark.usefixtures("stock")
def test_movements_are_posted_chunk_after_chunk_in_sheet_order(db, chunked, tmp_path, chunks_saved):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    rows = [receipt(path, 20), issue(path, 3), issue(path, 4), issue(path, 15), receipt(path, 1)]
    # the issue of 15 needs the receipt of 20 two chunks before it (5 were on hand)
    result = RoundTrip(db, chunked, actor(db, "wes")).sync(path)
    assert (result.status, result.inserted) == ("applied", 5), result.as_json()
    # the movement posted before and the five new ones, two rows a chunk
    assert [size for sheet, size in chunks_saved if sheet == "Movements"] == [2, 2, 2]
    assert on_hand(db) == [D(4)]
    sheet = read_sheet(path, "Movements")
    header = sheet[0]
    for row in rows:     # ids written back into every chunk's rows, and the value each posting gave
        assert sheet[row - 1][0] and sheet[row - 1][header.index("Value")] not in ("", None)
    assert read_sheet(path, "On hand")[1][4] == 4.0
    assert RoundTrip(db, chunked, actor(db, "wes")).sync(path).status == "unchanged"


@pytest.mark.usefixtures("stock")
def test_an_issue_beyond_stock_in_a_later_chunk_saves_nothing_of_the_earlier_ones(db, chunked, tmp_path):
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    receipt(path, 1), issue(path, 1), receipt(path, 2)
    greedy = issue(path, 8)
    trip = RoundTrip(db, chunked, actor(db, "wes"))
    told = rehearsed(trip, path)          # validate and a dry run post it too, and roll it back
    assert movements(db) == 1
    result = trip.sync(path)
    assert result.status == "rejected" and problems_of(result) == told
    [problem] = result.problems + result.conflicts
    assert problem.cell.endswith(str(greedy)) and "7 on hand, 8 wanted" in problem.message
    assert movements(db) == 1 and on_hand(db) == [D(5)]


@pytest.mark.parametrize("chunk_rows", [CHUNK, 50_000], ids=["in chunks", "whole"])
@pytest.mark.parametrize("typo_first", [False, True], ids=["typo beside the receipt", "typo a chunk before"])
@pytest.mark.usefixtures("stock")
def test_the_rows_after_a_problem_are_checked_after_the_good_rows_before_them(db, settings, tmp_path, chunk_rows,
                                                                             typo_first):
    """A typo refuses the sync; the issue in the chunk after the receipt of 10 needs it, and
    is not taken for an issue of stock that is not there (12 wanted; without that receipt, 6
    or 5 on hand), whether the typo is in the receipt's chunk or in the one before."""
    path = export(db, "wes", tmp_path / "inventory.xlsx")
    if typo_first:                        # rows 2-3: the posted movement and the typo
        typo = issue(path, 1, item="BOLT-9")
        receipt(path, 10), receipt(path, 1)   # rows 4-5
    else:
        receipt(path, 1)                  # rows 2-3: the posted movement and this one
        typo = issue(path, 1, item="BOLT-9")  # rows 4-5: the typo and the receipt
        receipt(path, 10)
    assert typo == (3 if typo_first else 4)
    issue(path, 12)                       # row 6
    trip = RoundTrip(db, replace(settings, workbook=replace(settings.workbook, chunk_rows=chunk_rows)),
                     actor(db, "wes"))
    told = rehearsed(trip, path)
    result = trip.sync(path)
    assert problems_of(result) == told
    assert [(p.code, p.cell[1:]) for p in result.problems + result.conflicts] == [("reference", str(typo))]
    assert movements(db) == 1
