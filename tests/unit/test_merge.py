"""The three-way cell merge, on small inline sheets (no files, no database)."""

import pytest

from engine.sheets.merge import merge_sheet
from engine.sheets.meta import SheetBase
from engine.sheets.read import RowInput, SheetInput
from engine.sheets.spec import Column, SheetSpec

NAME, CITY = Column("name", "Name"), Column("city", "City")


def sheet(rows, can_delete=False, can_insert=True):
    spec = SheetSpec("Places", model=None, area="contacts", columns=(NAME, CITY),
                     can_delete=can_delete, can_insert=can_insert)
    data = SheetInput(spec, [NAME, CITY], {"id": 0, "version": 1, "name": 2, "city": 3})
    data.rows = rows
    return data


BASE = SheetBase(["name", "city"], {1: (1, ["Acme", "Leeds"]), 2: (1, ["Bolt", "York"])})
DB = {1: (1, {"name": "Acme", "city": "Leeds"}), 2: (1, {"name": "Bolt", "city": "York"})}
BOTH = {"name", "city"}


def row(n, rid, name, city, version=1, **kw):
    return RowInput(n, rid, version if rid else None, {"name": name, "city": city}, **kw)


def test_a_cell_changed_only_in_the_workbook_is_applied():
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, DB, BOTH)
    assert [(u.record_id, u.changes, u.version) for u in plan.updates] == [(1, {"city": "Hull"}, 1)]
    assert plan.issues == []


def test_a_cell_changed_only_in_the_database_is_kept():
    db = {**DB, 1: (2, {"name": "Acme", "city": "Bath"})}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Leeds"), row(3, 2, "Bolt", "York")]), BASE, db, BOTH)
    assert plan.empty and plan.issues == []


def test_both_changed_to_the_same_value_is_fine_and_changes_nothing():
    db = {**DB, 1: (2, {"name": "Acme", "city": "Hull"})}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, db, BOTH)
    assert plan.empty and plan.issues == []


def test_both_changed_differently_is_a_conflict_at_the_cell_showing_both_values():
    db = {**DB, 1: (2, {"name": "Acme", "city": "Bath"})}
    plan = merge_sheet(sheet([row(7, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, db, BOTH)
    [conflict] = plan.issues
    assert (conflict.cell, conflict.conflict, conflict.record_id) == ("D7", True, 1)
    assert conflict.values == {"base": "Leeds", "workbook": "Hull", "database": "Bath"}
    assert "Hull" in conflict.message and "Bath" in conflict.message


def test_different_cells_of_one_row_changed_on_each_side_merge_cleanly():
    db = {**DB, 1: (2, {"name": "Acme Ltd", "city": "Leeds"})}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, db, BOTH)
    assert [(u.changes, u.version) for u in plan.updates] == [({"city": "Hull"}, 2)]


def test_a_record_deleted_in_the_database_but_edited_in_the_workbook_is_a_conflict():
    db = {2: DB[2]}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, db, BOTH)
    assert [(i.code, i.conflict, i.record_id) for i in plan.issues] == [("deleted", True, 1)]


def test_rows_without_id_are_inserts():
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Leeds"), row(3, 2, "Bolt", "York"),
                              row(4, None, "Cog", "Ely")]), BASE, DB, BOTH)
    assert [(i.row, i.values) for i in plan.inserts] == [(4, {"name": "Cog", "city": "Ely"})]


def test_a_removed_row_is_deleted_only_where_the_sheet_allows_it():
    rows = [row(2, 1, "Acme", "Leeds")]
    allowed = merge_sheet(sheet(rows, can_delete=True), BASE, DB, BOTH)
    assert [(d.record_id, d.version) for d in allowed.deletes] == [(2, 1)]
    refused = merge_sheet(sheet(rows, can_delete=False), BASE, DB, BOTH)
    assert refused.deletes == [] and [i.code for i in refused.issues] == ["delete"]


def test_a_row_emptied_of_its_values_is_a_delete_request():
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Leeds"), row(3, 2, None, None, deleted=True)], can_delete=True),
                       BASE, DB, BOTH)
    assert [d.record_id for d in plan.deletes] == [2]


def test_deleting_a_record_changed_in_the_database_since_is_a_conflict():
    db = {**DB, 2: (3, {"name": "Bolt", "city": "Wells"})}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Leeds")], can_delete=True), BASE, db, BOTH)
    assert plan.deletes == [] and [i.conflict for i in plan.issues] == [True]


def test_an_edited_version_a_foreign_id_and_a_doubled_id_are_problems():
    rows = [row(2, 1, "Acme", "Leeds", version=5), row(3, 2, "Bolt", "York"), row(4, 2, "Bolt", "York"),
            row(5, 99, "Zed", "Ayr")]
    codes = [(i.cell, i.code) for i in merge_sheet(sheet(rows), BASE, DB, BOTH).issues]
    assert codes == [("B2", "read-only"), ("A4", "duplicate-id"), ("A5", "unknown-id")]


def test_a_column_the_user_may_not_write_is_refused_at_the_cell():
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "York")]), BASE, DB, {"name"})
    assert plan.updates == [] and [(i.cell, i.code) for i in plan.issues] == [("D2", "read-only")]


def test_new_rows_on_a_sheet_that_takes_none_are_problems():
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Leeds"), row(3, 2, "Bolt", "York"), row(4, None, "Cog", "Ely")],
                             can_insert=False), BASE, DB, BOTH)
    assert plan.inserts == [] and [i.code for i in plan.issues] == ["insert"]


@pytest.mark.parametrize(("need", "kept"), [("city", ["Cog"]), (("name", "city"), ["Cog", "Dun"])])
def test_offered_new_rows_wait_until_a_cell_they_need_is_filled_in(need, kept):
    """A count line waits for its count (one column); a measurement for its value or its
    pass/fail (any one of several)."""
    spec = SheetSpec("Places", model=None, area="contacts", columns=(NAME, CITY), new_rows_need=need)
    data = SheetInput(spec, [NAME, CITY], {"id": 0, "version": 1, "name": 2, "city": 3})
    data.rows = [row(2, 1, "Acme", "Leeds"), row(3, 2, "Bolt", "York"), row(4, None, "Cog", "Ely"),
                 row(5, None, "Dun", None), row(6, None, None, None)]
    plan = merge_sheet(data, BASE, DB, BOTH)
    assert [i.values["name"] for i in plan.inserts] == kept and plan.issues == []


def test_a_set_once_column_is_typed_on_new_rows_and_locked_on_saved_ones():
    code = Column("name", "Name", set_once=True)
    spec = SheetSpec("Places", model=None, area="contacts", columns=(code, CITY))
    data = SheetInput(spec, [code, CITY], {"id": 0, "version": 1, "name": 2, "city": 3})
    data.rows = [row(2, 1, "Acme Ltd", "Hull"), row(3, 2, "Bolt", "Bath"), row(4, None, "Cog", "Ely")]
    plan = merge_sheet(data, BASE, DB, BOTH)
    [locked] = plan.issues
    assert (locked.cell, locked.code) == ("C2", "set-once")            # the whole row 2 waits
    assert [(u.record_id, u.changes) for u in plan.updates] == [(2, {"city": "Bath"})]
    assert [i.values["name"] for i in plan.inserts] == ["Cog"]


def test_entered_columns_belong_only_to_locked_sheets_that_post_their_rows():
    entered = Column("label", "Label", entered=True)
    with pytest.raises(ValueError, match="entered columns"):
        SheetSpec("Lines", model=None, area="ledger", columns=(entered,))
    with pytest.raises(ValueError, match="entered columns"):
        SheetSpec("Lines", model=None, area="ledger", columns=(entered,), post=lambda *a: [], can_update=True,
                  computed=lambda session, rows: {})
    SheetSpec("Lines", model=None, area="ledger", columns=(entered,), post=lambda *a: [], can_update=False,
              computed=lambda session, rows: {})


def test_entered_columns_on_an_updatable_sheet_need_the_modules_update():
    entered, post, computed = Column("label", "Label", entered=True), lambda *a: [], lambda session, rows: {}
    with pytest.raises(ValueError, match="entered columns"):
        SheetSpec("Lines", model=None, area="staff", columns=(entered,), post=post, computed=computed)
    SheetSpec("Lines", model=None, area="staff", columns=(entered,), post=post, computed=computed,
              update=lambda *a: None)


def test_a_set_once_column_says_why_it_is_locked():
    dates = Column("name", "From", set_once=True, locked_because="the balance was checked; undo this change")
    spec = SheetSpec("Leave", model=None, area="staff", columns=(dates, CITY))
    data = SheetInput(spec, [dates, CITY], {"id": 0, "version": 1, "name": 2, "city": 3})
    data.rows = [row(2, 1, "Acme Ltd", "Leeds"), row(3, 2, "Bolt", "York")]
    [locked] = merge_sheet(data, BASE, DB, BOTH).issues
    assert locked.message == "From cannot be changed once saved: the balance was checked; undo this change"


def test_a_change_to_a_record_outside_the_users_rows_is_refused_as_not_theirs():
    """Record 2 exists but is not among this user's rows (another manager's team): an edit
    to it is refused as not theirs, not mistaken for a deletion; left alone, it is ignored."""
    mine = {1: DB[1]}
    plan = merge_sheet(sheet([row(2, 1, "Acme", "Hull"), row(3, 2, "Bolt", "Bath")]), BASE, mine, BOTH,
                       out_of_reach={2})
    [refused] = plan.issues
    assert (refused.cell, refused.code, refused.conflict) == ("D3", "permission", False)
    assert "outside the records you may see" in refused.message
    assert [u.record_id for u in plan.updates] == [1]
    untouched = merge_sheet(sheet([row(2, 1, "Acme", "Leeds"), row(3, 2, "Bolt", "York")]), BASE, mine, BOTH,
                            out_of_reach={2})
    assert untouched.empty and untouched.issues == []
