"""A bounded fuzz test of the workbook reader and round trip: hypothesis types arbitrary
values into an exported Contacts workbook (text with control characters and formula-like
starts, huge and tiny numbers, dates, booleans, blanks, stray IDs and versions, rows far
below the table) and validates and dry-runs it. Whatever was typed, the answer is a result
with problems at cells or a refusal of the file (UnusableInput), never another exception,
and the database is unchanged. SQLite: the reader and the checks are what is tested."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from engine.db.audit import AuditEntry
from engine.errors import UnusableInput
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SHEETS = ("Organisations", "People", "Addresses")

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["=1+1", "+SUM(A1)", "-3", "@cmd", "\u2028", "a\x00b", "\t", "  ", "TRUE", "#N/A",
                     "2026-02-30", "1e309", "x" * 40000]),
)
values = st.one_of(
    st.none(), texts, st.booleans(),
    st.integers(min_value=-(10 ** 20), max_value=10 ** 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
)
edits = st.lists(st.tuples(st.sampled_from(SHEETS), st.integers(1, 12), st.integers(1, 14), values),
                 min_size=1, max_size=12)


@pytest.fixture
def template(people_db, actor_for, tmp_path):
    path = tmp_path / "template.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


def stored(db) -> tuple[int, int]:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)), session.scalar(
            sa.select(sa.func.max(AuditEntry.id))) or 0


# Bounded: a fixed number of examples and no shrinking (a failure prints the workbook's edits
# as generated; shrinking a file-and-database example can take many minutes).
@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=edits, far_row=st.booleans())
def test_whatever_is_typed_the_answer_is_problems_or_a_refused_file_and_nothing_is_saved(
        people_db, actor_for, settings_, template, tmp_path, typed, far_row):
    path = tmp_path / "fuzzed.xlsx"
    shutil.copy(template, path)
    book = openpyxl.load_workbook(path)
    for sheet, row, column, value in typed:
        cell = book[sheet].cell(row + (5000 if far_row and row > 6 else 0), column)
        try:
            cell.value = value
        except (ValueError, TypeError, IllegalCharacterError):   # openpyxl refuses it: no user can type it
            continue
    try:
        book.save(path)
    except (ValueError, TypeError, OverflowError):
        return
    before = stored(people_db)
    trip = RoundTrip(people_db, settings_, actor_for("ada"))
    for attempt in (lambda: trip.validate(path, annotate_file=False), lambda: trip.sync(path, dry_run=True)):
        try:
            result = attempt()
        except UnusableInput as refused:
            assert str(path) in str(refused)
            continue
        assert result.status in ("unchanged", "invalid", "rejected"), result.as_json()
        for issue in result.problems + result.conflicts:
            assert issue.message and issue.code
    assert stored(people_db) == before


@pytest.fixture
def settings_(settings):
    return settings
