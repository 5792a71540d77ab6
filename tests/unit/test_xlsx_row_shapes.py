"""Rows of one shape are read a row at a time (engine.office.xlsx_row_shapes), each exactly as
python-calamine reads it; a chunk they do not fit is read the usual way; and a whole column of
cells of one type is typed without a step per cell (engine.sheets.values.convert_column)."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.office import xlsx_row_fast, xlsx_rows
from engine.sheets.spec import Column
from engine.sheets.values import CellError, convert, convert_column
from tests.sheet_files import differences, package

SHARED = ["zero", "one", "two"]


def _sheet(rows: int, cell) -> str:
    return "".join(f'<row r="{r}">{"".join(cell(r))}</row>' for r in range(1, rows + 1))


def _people(r: int) -> list[str]:
    """A row as our export writes it, some cells left out, an edited text kept as written."""
    cells = [f'<c r="A{r}" s="1"/>' if r % 7 else f'<c r="A{r}" s="1"><v>{r}</v></c>',
             f'<c r="B{r}" s="2" t="inlineStr"><is><t>First {r}</t></is></c>']
    if r % 3:
        cells.append(f'<c r="C{r}" t="inlineStr"><is><t xml:space="preserve"> kept {r} </t></is></c>'
                     if r % 11 == 0 else f'<c r="C{r}" t="inlineStr"><is><t>{r}@example.org</t></is></c>')
    if r % 5 == 0:
        cells.append(f'<c r="E{r}" s="3"><v>{45000 + r}</v></c>')
    cells.append(f'<c r="F{r}" t="b"><v>{r % 2}</v></c>')
    return cells


@pytest.fixture
def shaped(monkeypatch):
    """How many chunks were read a row at a time."""
    count = []
    real = xlsx_row_fast.shaped_rows

    def counting(*args):
        rows = real(*args)
        if rows is not None:
            count.append(1)
        return rows
    monkeypatch.setattr(xlsx_row_fast, "shaped_rows", counting)
    monkeypatch.setattr(xlsx_rows, "CHUNK", 16 << 10)
    return count


def test_rows_with_cells_left_out_and_texts_kept_are_read_a_row_at_a_time(tmp_path, shaped):
    path = package(tmp_path / "people.xlsx", _sheet(3000, _people), number_formats=("0", "@", "yyyy-mm-dd"))
    assert differences(path) == []
    assert len(shaped) > 10


def test_shared_strings_numbers_and_errors_are_read_a_row_at_a_time(tmp_path, shaped):
    def cells(r: int) -> list[str]:
        return [f'<c r="A{r}" t="s"><v>{r % 3}</v></c>', f'<c r="B{r}"><v>{r}.25</v></c>',
                f'<c r="C{r}" t="e"><v>#N/A</v></c>' if r % 50 == 0 else f'<c r="C{r}" t="str"><v>x{r}</v></c>']
    path = package(tmp_path / "values.xlsx", _sheet(3000, cells), shared=SHARED)
    assert differences(path) == []  # the error cells found as the scan finds them
    assert len(shaped) > 10


@pytest.mark.parametrize("odd", [
    '<row r="40"><c r="B40" t="inlineStr"><is><t>before</t></is></c><c r="A40" s="1"/></row>',  # out of order
    '<row r="40"><c r="A40" s="1"/><c r="B40" t="inlineStr"><is><t></t></is></c></row>',  # '' or nothing?
    '<row r="40"><c r="A40" s="9"/><c r="B40" s="2" t="inlineStr"><is><t>new style</t></is></c></row>',
    '<row r="39"><c r="B39" s="2" t="inlineStr"><is><t>again</t></is></c></row>',  # row 39 twice in a row
    '<row r="40"><c r="B40" s="2" t="s"><v>7</v></c></row>',  # a shared string the workbook lacks
    '<row r="0"><c r="B0" s="2" t="inlineStr"><is><t>row 0</t></is></c></row>',
])
def test_a_row_out_of_the_ordinary_is_read_as_before(tmp_path, monkeypatch, odd):
    """Among rows of one shape, an odd one: the chunk is read the usual way (with the same
    values, or the same refusal, as calamine's)."""
    rows = [f'<row r="{r}"><c r="A{r}" s="1"/><c r="B{r}" s="2" t="inlineStr"><is><t>n{r}</t></is></c></row>'
            for r in range(1, 300)]
    rows.insert(39, odd)
    path = package(tmp_path / "odd.xlsx", "".join(rows), shared=SHARED, number_formats=("0", "@"))
    assert differences(path) == []


def test_a_column_of_one_type_is_typed_as_cell_by_cell():
    columns = {
        Column("t", "T"): ["  Acme ", "", " ", "x", "\tTabbed\n"],
        Column("i", "I", type="integer"): [7.0, 12.0, 3.0],
        Column("b", "B", type="bool"): [True, False, True],
    }
    for column, cells in columns.items():
        values, problems = convert_column(column, cells)
        assert problems == {}
        assert values == [convert(column, cell) for cell in cells]
    values, problems = convert_column(Column("i", "I", type="integer"), [7.0, 1.5, "", dt.date(2026, 1, 1)])
    assert values == [7, None, None, None] and sorted(problems) == [1, 3]
    assert all(isinstance(problem, CellError) for problem in problems.values())
