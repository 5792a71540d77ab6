"""The pieces a workbook export is made of: base snapshot rows added in bulk are the rows
added one by one, packed alike; labels work out what typed text reads as only when asked,
as they did before; a column's canonical texts are `canonical` of each value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.sheets.base_rows import BaseRows
from engine.sheets.labels import Choice, LabelError, Labels, labels_shown
from engine.sheets.meta import SheetBase, _inflate, _pack_base, _unpack_base
from engine.sheets.values import canonical, canonical_column

ROWS = [(7, 1, ["Acme", "", "GB"]), (3, 2, ["Bolt \"B\"", "x\\y", "DE"]), (12, 1, ["é 😀", "\n", ""])]


def _one_by_one() -> BaseRows:
    rows = BaseRows()
    for rid, version, values in ROWS:
        rows.add(rid, version, values)
    return rows


def _in_bulk() -> BaseRows:
    rows = BaseRows()
    rows.add_many([r[0] for r in ROWS[:2]], [r[1] for r in ROWS[:2]], [tuple(r[2]) for r in ROWS[:2]])
    rows.add_many([], [], [])
    rows.add_many([ROWS[2][0]], [ROWS[2][1]], [ROWS[2][2]])
    return rows


def test_rows_added_in_bulk_are_the_rows_added_one_by_one():
    bulk, single = _in_bulk(), _one_by_one()
    assert bulk == single and list(bulk) == [7, 3, 12]
    assert bulk[3] == (2, ["Bolt \"B\"", "x\\y", "DE"]) and bulk.version(12) == 1
    assert bulk.lines()[:2] == single.lines()[:2]
    assert b"".join(bulk.lines()[2]) == b"".join(single.lines()[2])


def test_rows_added_in_bulk_after_a_look_up_keep_the_index_right():
    rows = _in_bulk()
    assert rows[7] == (1, ["Acme", "", "GB"])            # the index is built
    rows.add_many([7, 40], [5, 1], [("Acme 2", "", "GB"), ("New", "", "FR")])
    assert rows[7] == (5, ["Acme 2", "", "GB"]) and rows[40][0] == 1 and len(rows) == 4


def test_a_snapshot_packed_from_its_buffer_unpacks_to_the_same_rows():
    for rows in (_in_bulk(), _one_by_one()):
        del rows[3]                                       # a dead row: packed line by line
        packed = _pack_base({"People": SheetBase(["a", "b", "c"], rows)})
        back = _unpack_base(_inflate(packed, 1 << 20))["People"]
        assert back.columns == ["a", "b", "c"] and dict(back.rows.items()) == dict(rows.items())
    many = BaseRows()
    many.add_many(list(range(1, 60_001)), [1] * 60_000, [(f"name {n}", "x" * 30) for n in range(60_000)])
    back = _unpack_base(_inflate(_pack_base({"S": SheetBase(["a", "b"], many)}), 1 << 30))["S"].rows
    assert len(back) == 60_000 and back[60_000] == (1, ["name 59999", "x" * 30])   # packed a megabyte at a time


@pytest.mark.parametrize("column", [["a", None, ""], [1, None, 12345678901234567890], [True, False, None],
                                    [Decimal("1.50"), None, dt.date(2026, 1, 2), 2.5, "x", True]],
                         ids=["texts", "whole numbers", "booleans", "mixed"])
def test_a_columns_canonical_texts_are_each_values(column):
    assert canonical_column(column) == [canonical(value) for value in column]


def test_labels_read_typed_text_as_before():
    offered = [Choice(1, "Acme"), Choice(2, "acme"), Choice(3, "Bolt", "B-1")]
    labels = Labels(offered, {"Old name": 9})
    assert labels.label_of == {1: "Acme #1", 2: "acme #2", 3: "Bolt"}
    assert labels.shown() == {"Acme #1": 1, "acme #2": 2, "Bolt": 3}
    assert labels.resolve("Old name", "Contact") == 9 and labels.resolve("b-1", "Contact") == 3
    assert labels.resolve("#12", "Contact") == 12 and labels.resolve("acme #2", "Contact") == 2
    with pytest.raises(LabelError, match="names 2 records"):
        labels.resolve("ACME", "Contact")
    assert labels_shown({"contacts": offered, "countries": ["GB"]}) == {"contacts": labels.shown()}
    unique = Labels([Choice(5, "Zed"), Choice(6, "Ann")])
    assert unique.label_of == {5: "Zed", 6: "Ann"} and unique.show(6) == "Ann" and unique.show(8) == "#8"
