"""The generic limits (engine/limits.py), without a database: read from model columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import limits
from engine.contacts.models import Contact
from engine.inventory.models import StockMovement
from engine.problems import Problem


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in problems}


def test_text_is_held_to_its_column_and_to_a_cell():
    assert codes(limits.check_record(Contact, {"last_name": "L" * 100})) == set()
    assert codes(limits.check_record(Contact, {"last_name": "L" * 101})) == {("last_name", "too_long")}
    assert codes(limits.check_record(Contact, {"notes": "n" * limits.CELL_TEXT})) == set()
    assert codes(limits.check_record(Contact, {"notes": "n" * (limits.CELL_TEXT + 1)})) == {("notes", "too_long")}


@pytest.mark.parametrize("bad", ["\t", "\n", "\r", "\x00", "\x1f", "\x7f", "\u2028", "\u2029"])
def test_a_one_line_field_refuses_control_characters(bad):
    found = limits.check_record(Contact, {"name": f"Acme{bad}Ltd"})
    assert codes(found) == {("name", "control_character")}
    assert "U+" in found[0].message or "tab" in found[0].message or "line" in found[0].message \
        or "separator" in found[0].message


def test_a_multi_line_field_keeps_line_breaks_and_tabs_but_not_other_controls():
    assert limits.check_record(Contact, {"notes": "first line\r\nsecond\tline"}) == []
    assert codes(limits.check_record(Contact, {"notes": "a\x00b"})) == {("notes", "control_character")}
    assert codes(limits.check_record(Contact, {"notes": "a\u2028b"})) == {("notes", "control_character")}


def test_numbers_that_overflow_their_column_or_a_cell():
    bound = D(10) ** (limits.CELL_DIGITS - 4)      # quantities keep 4 places
    assert limits.check_record(StockMovement, {"quantity": bound - D("0.0001")}) == []
    assert codes(limits.check_record(StockMovement, {"quantity": bound})) == {("quantity", "out_of_range")}
    assert codes(limits.check_record(StockMovement, {"quantity": -bound})) == {("quantity", "out_of_range")}
    assert codes(limits.check_record(StockMovement, {"quantity": D("Infinity")})) == {("quantity", "out_of_range")}
    assert limits.check_record(Contact, {"organisation_id": 2 ** 31 - 1}) == []
    assert codes(limits.check_record(Contact, {"organisation_id": 2 ** 31})) == {("organisation_id", "out_of_range")}
    assert codes(limits.check_record(Contact, {"organisation_id": -(2 ** 31) - 1})) == {
        ("organisation_id", "out_of_range")}


def test_dates_outside_the_sane_range():
    assert limits.check_record(StockMovement, {"moved_on": limits.FIRST_DATE}) == []
    assert limits.check_record(StockMovement, {"moved_on": limits.LAST_DATE}) == []
    for day in (date(1899, 12, 31), date(2201, 1, 1), date(1, 1, 1), date(9999, 12, 31)):
        assert codes(limits.check_record(StockMovement, {"moved_on": day})) == {("moved_on", "date_out_of_range")}


def test_values_of_another_type_or_no_column_are_left_to_the_rules():
    assert limits.check_record(StockMovement, {"quantity": "lots", "moved_on": "soon", "unknown": "x" * 99999}) == []


def test_a_rules_own_problem_of_a_field_comes_first_and_alone():
    own = [Problem("last_name", "required", "a person needs a last name")]
    merged = limits.within_limits(own, Contact, {"last_name": "\t" * 200, "first_name": "F" * 101})
    assert codes(merged) == {("last_name", "required"), ("first_name", "too_long")}


def test_a_line_is_kept():
    [found] = limits.check_record(StockMovement, {"reference": "a\tb"}, line=3)
    assert (found.field, found.code, found.line) == ("reference", "control_character", 3)


# -- a whole column at once ---------------------------------------------------------------------

ODD_CHARACTERS = "aé ß\t\n\r\x00\x1f\x7f\u2028\u2029\xa0\u200b😀"
COLUMN_VALUES = st.one_of(
    st.none(), st.text(alphabet="ab ", max_size=6), st.text(alphabet=ODD_CHARACTERS, max_size=6),
    st.integers(min_value=-(2 ** 33), max_value=2 ** 33), st.booleans(), st.floats(),
    st.decimals(allow_nan=True, allow_infinity=True, places=2), st.decimals(min_value=-10 ** 16, max_value=10 ** 16),
    st.dates(), st.datetimes(),
)
COLUMN_LIMITS = st.sampled_from([limits.Limit("text", length=4), limits.Limit("text", length=4, multiline=True),
                                 limits.Limit("text"), limits.Limit("integer"), limits.Limit("exact", places=4),
                                 limits.Limit("exact", places=2), limits.Limit("date")])


@settings(deadline=None, max_examples=400)
@given(st.lists(COLUMN_VALUES, max_size=12), COLUMN_LIMITS)
def test_a_columns_look_finds_every_value_that_breaks_its_limit(values, limit):
    """`outside` may name a fine value too (it is then checked alone), never miss one."""
    broken = {at for at, value in enumerate(values) if limits.check_value("field", value, limit)}
    assert broken <= set(limits.outside(values, limit))


def test_a_column_of_plainly_fine_values_needs_no_value_checked_alone():
    assert limits.outside(["Acme", None, "Bolt", ""], limits.Limit("text", length=4)) == []
    assert limits.outside([1, None, 2 ** 31 - 1, True], limits.Limit("integer")) == []
    assert limits.outside(["Acme", None, "Bo\tlt", "x" * 5], limits.Limit("text", length=4)) == [2, 3]


@settings(deadline=None, max_examples=200)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "last_name": st.one_of(st.none(), st.text(alphabet=ODD_CHARACTERS, max_size=3), st.just("L" * 101)),
    "country": st.one_of(st.none(), st.sampled_from(["GB", "GBR", "g\tb", 7])),
    "organisation_id": st.one_of(st.none(), st.integers(min_value=-(2 ** 32), max_value=2 ** 32)),
    "notes": st.text(alphabet=ODD_CHARACTERS, max_size=4)}), max_size=8))
def test_the_rows_that_may_break_a_limit_are_every_one_check_record_refuses(rows):
    refused = {at for at, row in enumerate(rows) if limits.check_record(Contact, row)}
    assert refused <= limits.doubtful_rows(Contact, limits.Rows(rows))


def test_rows_seen_a_column_at_a_time():
    rows = limits.Rows([{"a": 1, "b": "x"}, {"a": 2}])
    assert rows.column("a") == [1, 2] and rows.column("b") == ["x", None] and rows.column("c") == [None, None]
    assert rows.outside("b", limits.Limit("text", length=0)) == [0]


FILLER = {"text": "fine", "integer": 7, "exact": D("1.5"), "date": date(2020, 1, 1)}


@settings(deadline=None, max_examples=300)
@given(st.lists(st.tuples(COLUMN_VALUES, st.integers(min_value=0, max_value=299)), max_size=6), COLUMN_LIMITS)
def test_a_long_columns_look_finds_its_few_odd_values(odd, limit):
    """A block whose look as a whole fails is looked at again a part at a time."""
    values = [FILLER[limit.kind]] * 300
    for value, at in odd:
        values[at] = value
    broken = {at for at, value in enumerate(values) if limits.check_value("field", value, limit)}
    assert broken <= set(limits.outside(values, limit))


def test_a_few_doubtful_values_are_found_in_their_parts():
    looked = []
    values = [0] * 1000
    values[5] = values[700] = 1
    assert limits.narrowed(values, lambda part: looked.append(len(part)) or not any(part), bool) == [5, 700]
    assert looked == [1000] + [limits.PART] * 15 + [1000 % limits.PART]
