"""The compact base snapshot (engine.sheets.base_rows): what the round trip asks of it beyond a mapping."""

from __future__ import annotations

from engine.sheets.base_rows import BaseRows


def test_missing_names_the_ids_that_are_not_rows_in_their_order():
    rows = BaseRows({1: (1, ["a"]), 2: (1, ["b"]), 3: (1, ["c"])})
    del rows[2]
    rows[3] = (2, ["c2"])                   # replaced: still a row
    assert rows.missing([5, 3, 2, 1, 4]) == [5, 2, 4]
    assert rows.missing([]) == []
    assert BaseRows().missing([7, 8]) == [7, 8]


def test_missing_counts_rows_added_in_bulk_and_one_by_one_alike():
    rows = BaseRows()
    rows.add_many([10, 11, 12], [1, 1, 1], [["x"], ["y"], ["z"]])
    assert 11 in rows                       # the index is built
    rows.add(13, 1, ["w"])                  # added after it
    assert rows.missing(range(9, 15)) == [9, 14]


def test_subset_is_what_looking_up_each_id_gives():
    rows = BaseRows()
    rows.add_many([10, 11, 12, 11], [1, 1, 1, 2], [["x"], ["y"], ["z"], ["y2"]])   # 11 given twice: the last counts
    assert 10 in rows
    rows.add(13, 1, ["w"])                                                         # after the index was built
    rows[10] = (3, ["x3"])
    del rows[12]
    wanted = [9, 10, 11, 12, 13, 14]
    assert rows.subset(wanted) == {rid: rows[rid] for rid in wanted if rid in rows}
    assert rows.subset(wanted) == {10: (3, ["x3"]), 11: (2, ["y2"]), 13: (1, ["w"])}
    assert BaseRows().subset([1, 2]) == {}
