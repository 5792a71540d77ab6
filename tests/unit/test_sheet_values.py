"""Reading cells into the spec's types: convert when unambiguous, else a problem."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.sheets.spec import Column
from engine.sheets.values import CellError, canonical, convert, from_canonical

TEXT, INT, MONEY = Column("t", "T"), Column("i", "I", type="integer"), Column("m", "M", type="money")
DATE, BOOL = Column("d", "D", type="date"), Column("b", "B", type="bool")
KIND = Column("k", "K", type="choice", choices=("billing", "shipping"))


@pytest.mark.parametrize(("column", "cell", "expected"), [
    (TEXT, 12345.0, "12345"), (TEXT, "  Acme ", "Acme"), (TEXT, "=1+1", "=1+1"),
    (INT, 7.0, 7), (INT, "1,234", 1234), (INT, " 42 ", 42),
    (MONEY, 0.1, Decimal("0.1")), (MONEY, "1,234.50", Decimal("1234.50")), (MONEY, 3, Decimal(3)),
    (DATE, date(2026, 3, 1), date(2026, 3, 1)), (DATE, datetime(2026, 3, 1), date(2026, 3, 1)),
    (DATE, "2026-03-01", date(2026, 3, 1)), (DATE, "31/01/2026", date(2026, 1, 31)),
    (DATE, 46082.0, date(2026, 3, 1)),
    (BOOL, True, True), (BOOL, "yes", True), (BOOL, "N", False), (BOOL, 0.0, False),
    (KIND, "Shipping", "shipping"),
    (TEXT, "", None), (INT, None, None), (DATE, "  ", None),
])
def test_cells_are_converted_when_the_meaning_is_unambiguous(column, cell, expected):
    assert convert(column, cell) == expected


def test_a_1904_workbook_serial_date_uses_the_1904_epoch():
    assert convert(DATE, 44561.0, date1904=True) == date(2026, 1, 1)
    assert convert(DATE, 44561.0, date1904=False) == date(2021, 12, 31)


@pytest.mark.parametrize(("column", "cell", "code"), [
    (INT, 7.5, "type"), (INT, "seven", "type"), (INT, True, "type"),
    (MONEY, "12,34", "type"), (MONEY, "€12", "type"),
    (DATE, "03/04/2026", "ambiguous"), (DATE, "2026-02-30", "type"), (DATE, "soon", "type"),
    (DATE, datetime(2026, 3, 1, 12, 30), "type"),
    (BOOL, "maybe", "type"), (KIND, "home", "choice"),
])
def test_ambiguous_or_wrong_cells_are_problems_that_say_what_to_type(column, cell, code):
    with pytest.raises(CellError) as caught:
        convert(column, cell)
    assert caught.value.code == code and str(caught.value)


@pytest.mark.parametrize(("column", "value"), [
    (MONEY, Decimal("12.50")), (MONEY, Decimal("100")), (DATE, date(2026, 1, 2)), (BOOL, False),
    (INT, 5), (TEXT, "x"), (KIND, "billing"),
])
def test_canonical_text_round_trips(column, value):
    assert from_canonical(column, canonical(value)) == value


def test_canonical_money_ignores_trailing_zeros_so_12_5_equals_12_50():
    assert canonical(Decimal("12.50")) == canonical(Decimal("12.5")) == "12.5"
    assert canonical(convert(MONEY, 12.5)) == canonical(Decimal("12.50"))
