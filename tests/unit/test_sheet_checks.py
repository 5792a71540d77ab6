"""The checks of a sync's plan (engine.sheets.checks.check_plan) on a People sheet of several
blocks of rows: every problem at its cell, in the order of the rows, as if each row were
checked alone; one problem a cell, the sheet's own before the module's rule."""

from engine.sheets.checks import BLOCK_ROWS, check_plan
from engine.sheets.merge import Insert, SheetPlan, Update
from engine.sheets.read import SheetInput
from engine.sheets.spec import workbook_spec

LOOKUPS = {"organisations": {7}, "countries": {"GB", "DE"}}


def people_sheet() -> SheetInput:
    spec = workbook_spec("contacts").sheet("People")
    columns = [c for c in spec.columns if not c.computed]
    return SheetInput(spec, columns, {"id": 0, "version": 1, **{c.key: n + 2 for n, c in enumerate(columns)}})


def person(n: int, **cells) -> dict:
    return {"first_name": f"First{n}", "last_name": f"Last{n}", "organisation_id": None, "job_title": "Buyer",
            "email": f"person{n}@example.org", "phone": "+44 20 7946 0000", "country": "gb", "tags": "vip",
            "opt_out": False, **cells}


def plan_of(rows: dict[int, dict], updates=()) -> SheetPlan:
    return SheetPlan("People", inserts=[Insert(row, values) for row, values in rows.items()], updates=list(updates))


def found(issues) -> list[tuple]:
    return [(i.cell, i.code) for i in issues]


def test_the_problems_of_a_large_sheet_come_out_at_their_cells_in_row_order():
    data = people_sheet()
    rows = {n: person(n) for n in range(2, 2 + 2 * BLOCK_ROWS + 500)}
    rows[10]["first_name"] = "F" * 101                       # the sheet's limit
    rows[BLOCK_ROWS + 5]["country"] = "XX"                    # the rule's
    rows[BLOCK_ROWS + 6]["last_name"] = None                  # the sheet's required, not the rule's too
    rows[BLOCK_ROWS + 7]["organisation_id"] = 8               # not one of the drop-down's
    rows[2 * BLOCK_ROWS + 400]["email"] = "a\tb@example.org"  # the sheet's control character, not the rule's invalid
    rows[2 * BLOCK_ROWS + 401]["email"] = "bad"               # the rule's
    plan = plan_of(rows)
    issues = check_plan(data, plan, {}, LOOKUPS)
    assert found(issues) == [
        ("C10", "too_long"), (f"I{BLOCK_ROWS + 5}", "invalid"), (f"D{BLOCK_ROWS + 6}", "required"),
        (f"E{BLOCK_ROWS + 7}", "reference"), (f"G{2 * BLOCK_ROWS + 400}", "control_character"),
        (f"G{2 * BLOCK_ROWS + 401}", "invalid")]
    assert [i.stored["name"] for i in plan.inserts[:2]] == ["First2 Last2", "First3 Last3"]
    assert {i.stored["country"] for i in plan.inserts} == {"GB", "XX"}
    # as each row alone gives
    alone = [issue for row, values in rows.items() for issue in check_plan(data, plan_of({row: values}), {}, LOOKUPS)]
    assert issues == alone


def test_a_saved_rows_unchanged_cells_are_not_reported_and_its_changed_ones_are():
    data = people_sheet()
    db = {5: (1, {**person(5), "kind": "person", "name": "First5 " + "L" * 101, "last_name": "L" * 101}),
          6: (1, {**person(6), "kind": "person", "name": "First6 Last6"})}
    updates = [Update(3, 5, 1, {"first_name": "Ann"}), Update(4, 6, 1, {"phone": "1\n2"})]
    issues = check_plan(data, plan_of({}, updates), db, LOOKUPS)
    assert found(issues) == [("H4", "control_character")]
    assert [i.record_id for i in issues] == [6]
    assert updates[0].stored["name"] == "Ann " + "L" * 101
