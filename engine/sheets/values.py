"""Turning what a cell holds into the spec's type, and back into canonical text.

Excel is loose: a number may arrive as text, a date as a serial number or as "2026-03-01".
We convert only when the meaning is unambiguous; otherwise the cell gets a problem saying
how to type it. `canonical` gives each typed value one exact text form, used in the base
snapshot so that comparisons never depend on float rounding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.sheets.spec import Column

EXCEL_EPOCH_1900 = date(1899, 12, 30)
EXCEL_EPOCH_1904 = date(1904, 1, 1)
TRUE_WORDS = {"true", "yes", "y", "1", "x", "ja", "oui", "si"}
FALSE_WORDS = {"false", "no", "n", "0", "", "nein", "non"}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")


class CellError(ValueError):
    """The cell's content cannot be read as the column's type; the message says what to type."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def convert(column: Column, value: Any, date1904: bool = False) -> Any:
    """The cell's value in the column's type (None for an empty cell), or CellError."""
    return converter(column, date1904)(value)


def converter(column: Column, date1904: bool = False) -> Callable[[Any], Any]:
    """A function converting one cell of this column; made once per column, called per cell.

    Reading 100,000 rows calls it a million times, so the common case (text that is already
    text) is answered before any other test.
    """
    kind = column.type

    def typed(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def convert_cell(value: Any) -> Any:
            if value.__class__ is str:
                if not value or value.isspace():
                    return None
            elif value is None:
                return None
            return make(value)
        return convert_cell

    if kind == "text":
        def text_cell(value: Any) -> Any:
            if value.__class__ is str:
                return value.strip() or None
            return None if value is None else _text(value)
        return text_cell
    if kind == "integer":
        return typed(_integer)
    if kind in ("decimal", "money"):
        return typed(_decimal)
    if kind == "date":
        return typed(lambda value: _date(value, date1904))
    if kind == "bool":
        return typed(_bool)
    if kind == "choice":
        choices = {c.casefold(): c for c in column.choices}

        def choice_cell(value: Any) -> str:
            text = _text(value)
            try:
                return choices[text.casefold()]
            except KeyError:
                raise CellError("choice", f"{text!r} is not one of: {', '.join(column.choices)}") from None
        return typed(choice_cell)
    raise AssertionError(kind)


_SLOW = object()  # a cell the quick column pass left to the full converter


def convert_column(column: Column, cells: Sequence[Any], date1904: bool = False) -> tuple[list[Any], dict[int, CellError]]:
    """A whole column of cells in the column's type, and the problems by position.

    The common cells (text that is text, whole numbers, booleans, empty cells) are converted
    in one pass (`_quick_column`); only the rest go through `converter` one by one. A column
    of 100,000 cells costs milliseconds instead of a function call per cell.
    """
    values = _quick_column(column.type, cells)
    problems: dict[int, CellError] = {}
    if _SLOW not in values:
        return values, problems
    convert_cell = converter(column, date1904)
    position = -1
    while True:
        try:
            position = values.index(_SLOW, position + 1)
        except ValueError:
            return values, problems
        try:
            values[position] = convert_cell(cells[position])
        except CellError as exc:
            values[position] = None
            problems[position] = exc


_NONE_FOR_EMPTY = {"": None}  # .get(text, text): None for '', the text itself otherwise


def _quick_column(kind: str, cells: Sequence[Any]) -> list[Any]:
    """The column's common cells converted, _SLOW for the others (for `converter`).

    A column of one type of cell, the usual one (texts in a text column, whole numbers in an
    ID column, booleans in a yes/no column), is converted by maps in C without a step in
    Python per cell; a mixed one by a comprehension, a step per cell.
    """
    types = set(map(type, cells))
    if kind == "text":
        if types == {str}:  # the usual: texts, '' for an empty cell
            texts = list(map(str.strip, cells))
            empty = texts.count("")
            if not empty:
                return texts
            return [None] * len(texts) if empty == len(texts) else list(map(_NONE_FOR_EMPTY.get, texts, texts))
        return [v.strip() or None if v.__class__ is str else _SLOW for v in cells]
    if kind == "integer":
        if types == {float} and all(map(float.is_integer, cells)):
            return list(map(int, cells))
        return [int(v) if v.__class__ is float and v.is_integer() else (None if v == "" else _SLOW) for v in cells]
    if kind == "bool":
        if types == {bool}:
            return list(cells)
        return [v if v.__class__ is bool else (None if v == "" else _SLOW) for v in cells]
    return [None if v == "" else _SLOW for v in cells]


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a postcode or phone typed as a number
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError("type", "expected a whole number, found TRUE/FALSE")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError("type", f"expected a whole number, found {value}")
    text = str(value).strip().replace(",", "") if _NUMBER.match(str(value).strip()) else str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise CellError("type", f"expected a whole number, found {value!r}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CellError("type", "expected a number, found TRUE/FALSE")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest text that round-trips: 0.1 -> 0.1, not 0.1000000000000000055
    text = str(value).strip()
    if _NUMBER.match(text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:
            pass
    raise CellError("type", f"expected a number such as 1234.50, found {value!r}")


def excel_serial_to_date(serial: float, date1904: bool) -> date:
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH_1900
    return epoch + timedelta(days=int(serial))


def _date(value: Any, date1904: bool) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise CellError("type", f"expected a date, found a date and time {value}")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466 and float(value).is_integer():
            return excel_serial_to_date(value, date1904)
        raise CellError("type", f"expected a date, found the number {value}")
    text = str(value).strip()
    if m := _ISO_DATE.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _DMY.match(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        if first > 12 >= second:
            return _make_date(year, second, first, text)
        if second > 12 >= first:
            return _make_date(year, first, second, text)
        if first == second:
            return _make_date(year, first, first, text)
        raise CellError("ambiguous", f"{text!r} could be day/month or month/day: type it as YYYY-MM-DD")
    raise CellError("type", f"expected a date, found {text!r}: type it as YYYY-MM-DD")


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("type", f"{text!r} is not a real date") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise CellError("type", f"expected yes or no, found {value}")
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError("type", f"expected yes or no, found {value!r}")


def canonical(value: Any) -> str:
    """One exact text per typed value ('' for empty), for the base snapshot and comparisons."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def canonical_column(values: Sequence[Any]) -> list[str]:
    """`canonical` of each of a column's values: one comprehension where the column holds
    only texts or only whole numbers (and empty cells), a call per value otherwise."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds <= {str}:
        return ["" if value is None else value for value in values]
    if kinds == {int}:
        return ["" if value is None else str(value) for value in values]
    if kinds == {bool}:
        return ["" if value is None else "TRUE" if value else "FALSE" for value in values]
    return [canonical(value) for value in values]


def from_canonical(column: Column, text: str) -> Any:
    """Inverse of `canonical` for the column's type."""
    if text == "":
        return None
    return convert(column, text)
