"""The limits every stored value keeps, whichever door it came through: one place.

A value the database or a workbook cell cannot hold as it is must be refused when it is
typed, never cut later: text longer than a cell holds (32,767 characters) is cut by the next
export, which changes the record (a posted entry's memo could then never be synced again).
So every module's rules, and the workbook's sheet checks for every sheet, ask here:

    too_long            text longer than its column (String(n)) or than a cell holds
    control_character   a tab, line break or other control character in a one-line field
                        (U+0000-U+001F, U+007F, U+2028, U+2029); multi-line fields (a
                        column of type Text: notes) may hold line breaks and tabs
    out_of_range        a number its column cannot hold: a whole number outside the 32-bit
                        range, or an exact number (money, quantities) with more than
                        `CELL_DIGITS` significant digits at its column's places, which a
                        cell could not show exactly
    date_out_of_range   a date before `FIRST_DATE` or after `LAST_DATE`

The limits are read from the model's column definitions, so a new module gets them for
free: `check_record(Model, values)` checks every value named by one of Model's columns.
Pure: no database is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import repeat
from operator import contains, is_, itemgetter
from typing import Any

from sqlalchemy import Date, Integer, String, Text

from engine.problems import Problem

CELL_TEXT = 32_767                 # the most characters an Excel cell holds
CELL_DIGITS = 15                   # significant digits a cell's number holds exactly
FIRST_DATE = date(1900, 1, 1)      # the sane range of any date the business keeps
LAST_DATE = date(2200, 12, 31)
INTEGER_RANGE = (-(2 ** 31), 2 ** 31 - 1)   # an Integer column (PostgreSQL's integer)

# Characters refused in a one-line field; a multi-line one keeps tab, line feed and return.
_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F, 0x2028, 0x2029))
_MULTILINE_OK = frozenset("\t\n\r")
_CONTROL_MULTILINE = _CONTROL - _MULTILINE_OK
_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a line break", "\u2028": "a line separator",
          "\u2029": "a paragraph separator"}


# The codes of the problems below, so a door checking a value before its rules (the HTTP API's
# types) answers with the same code as the rules would.
CODES = frozenset({"too_long", "control_character", "out_of_range", "date_out_of_range"})


@dataclass(frozen=True)
class Limit:
    """What one column can hold: `kind` is text, integer, exact or date."""

    kind: str
    length: int = CELL_TEXT        # text: most characters
    multiline: bool = False        # text: line breaks allowed
    places: int = 0                # exact: decimal places kept


def _said(field: str) -> str:
    return field.replace("_", " ")


def check_text(field: str, value: Any, length: int = CELL_TEXT, multiline: bool = False,
               line: int | None = None) -> list[Problem]:
    """Text of at most `length` characters (and a cell's), without control characters
    (line breaks and tabs allowed where `multiline`)."""
    if value.__class__ is not str:
        return []
    problems = []
    most = min(length, CELL_TEXT)
    if len(value) > most:
        problems.append(Problem(field, "too_long", f"{_said(field)} is {len(value):,} characters long; "
                                                   f"at most {most:,} fit: shorten it", line))
    return problems + check_characters(field, value, multiline, line)


def check_characters(field: str, value: Any, multiline: bool = False, line: int | None = None) -> list[Problem]:
    """Text without control characters (line breaks and tabs allowed where `multiline`).
    With `multiline`, it is what every text any door takes must keep, whatever its column:
    the HTTP API checks it of all text it reads, so that a NUL, which PostgreSQL cannot even
    compare, is refused before a lookup sends it to the database."""
    if value.__class__ is not str:
        return []
    refused = _CONTROL_MULTILINE if multiline else _CONTROL
    if not value.isprintable() and (bad := next((c for c in value if c in refused), None)) is not None:
        what = _NAMES.get(bad, f"the control character U+{ord(bad):04X}")
        return [Problem(field, "control_character",
                        f"{_said(field)} holds {what}, which it cannot: type it on one line, "
                        "without tabs or invisible characters", line)]
    return []


def check_integer(field: str, value: Any, line: int | None = None) -> list[Problem]:
    if value.__class__ is not int:
        return []
    low, high = INTEGER_RANGE
    if not low <= value <= high:
        return [Problem(field, "out_of_range", f"{_said(field)} {value} is out of range: "
                                               f"a whole number from {low:,} to {high:,} fits", line)]
    return []


def check_exact(field: str, value: Any, places: int, line: int | None = None) -> list[Problem]:
    """A Decimal kept to `places` decimals whose whole part leaves those places within the
    digits a cell holds exactly (4 places: below 100,000,000,000)."""
    if value.__class__ is not Decimal:
        return []
    bound = Decimal(10) ** (CELL_DIGITS - places)
    if not value.is_finite() or not -bound < value < bound:
        return [Problem(field, "out_of_range", f"{_said(field)} {value} is out of range: "
                                               f"it must be between -{bound:,} and {bound:,}", line)]
    return []


def check_date(field: str, value: Any, line: int | None = None) -> list[Problem]:
    if not isinstance(value, date):
        return []
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DATE <= day <= LAST_DATE:
        return [Problem(field, "date_out_of_range", f"{_said(field)} {day.isoformat()} is out of range: "
                                                    f"a date from {FIRST_DATE.year} to {LAST_DATE.year} is expected "
                                                    "(check the year)", line)]
    return []


def check_value(field: str, value: Any, limit: Limit, line: int | None = None) -> list[Problem]:
    if value is None:
        return []
    if limit.kind == "text":
        return check_text(field, value, limit.length, limit.multiline, line)
    if limit.kind == "integer":
        return check_integer(field, value, line)
    if limit.kind == "exact":
        return check_exact(field, value, limit.places, line)
    return check_date(field, value, line)


def _limit_of(column) -> Limit | None:
    kind = column.type
    places = getattr(kind, "places", None)
    if places is not None:                        # engine.db.exact.Exact: a scaled 64-bit integer
        return Limit("exact", places=places)
    if isinstance(kind, Text):
        return Limit("text", length=kind.length or CELL_TEXT, multiline=True)
    if isinstance(kind, String):
        return Limit("text", length=kind.length or CELL_TEXT)
    if isinstance(kind, Date):
        return Limit("date")
    if isinstance(kind, Integer) and not column.primary_key:
        return Limit("integer")
    return None


@cache
def limits_of(model: Any) -> dict[str, Limit]:
    """Column key -> its Limit, for a mapped class (or a Table)."""
    table = getattr(model, "__table__", model)
    return {c.key: limit for c in table.columns if (limit := _limit_of(c)) is not None}


@cache
def _quick(model: Any) -> tuple[tuple[str, Limit, Any, Any], ...]:
    """Per column: its key, Limit, and the bounds of a value that is certainly fine."""
    found = []
    for key, limit in limits_of(model).items():
        if limit.kind == "text":
            low, high = 0, min(limit.length, CELL_TEXT)
        elif limit.kind == "integer":
            low, high = INTEGER_RANGE
        elif limit.kind == "exact":
            bound = Decimal(10) ** (CELL_DIGITS - limit.places)
            low, high = -bound + Decimal(1).scaleb(-limit.places), bound - Decimal(1).scaleb(-limit.places)
        else:
            low, high = FIRST_DATE, LAST_DATE
        found.append((key, limit, low, high))
    return tuple(found)


def check_record(model: Any, values: Mapping[str, Any], line: int | None = None) -> list[Problem]:
    """Every limit problem of `values` (field -> value) named by a column of `model`.

    Run for every row of a workbook (100,000 of them): a value that is plainly fine (text
    short and printable, a number or date well inside its range) costs one comparison."""
    problems: list[Problem] = []
    get = values.get
    for key, limit, low, high in _quick(model):
        value = get(key)
        if value is None:
            continue
        if value.__class__ is str:
            if limit.kind != "text" or (len(value) <= high and value.isprintable()):
                continue
        elif value.__class__ is bool:
            continue
        else:
            try:
                if low <= value <= high:
                    continue
            except TypeError:
                continue      # not this column's type: its rule says so
        problems += check_value(key, value, limit, line)
    return problems


def within_limits(problems: list[Problem], model: Any, values: Mapping[str, Any],
                  line: int | None = None) -> list[Problem]:
    """A rule's `problems` and the limit problems of fields it has not reported already (one
    problem per field is enough: the rule's own is the more precise)."""
    reported = {(p.field, p.line) for p in problems}
    return problems + [p for p in check_record(model, values, line) if (p.field, p.line) not in reported]


# -- a whole column at once (a workbook's rows, a block at a time) ------------------------------

PART = 64   # values looked at as a whole again when their block, looked at so, was not clear


def narrowed(values: Sequence[Any], clear: Callable[[Sequence[Any]], bool | None],
             doubtful: Callable[[Any], Any]) -> list[int]:
    """The positions of the `values` that are `doubtful` (looked at one by one) in the parts
    of `values` that are not `clear` (looked at as a whole: True, nothing there; False,
    something may be; None, it cannot tell). A few doubtful values in a block cost a few
    more looks at a part of PART values, not a call per value."""
    verdict = clear(values)
    if verdict:
        return []
    if verdict is None or len(values) <= PART:
        return [at for at, value in enumerate(values) if doubtful(value)]
    found: list[int] = []
    for start in range(0, len(values), PART):
        part = values[start:start + PART]
        if not clear(part):
            found += [start + at for at, value in enumerate(part) if doubtful(value)]
    return found


def outside(values: Sequence[Any], limit: Limit) -> list[int]:
    """The positions in `values` (one column's, None where empty) of the values that may break
    `limit`: every one `check_value` finds a problem with, perhaps a few more. A column whose
    values are all plainly fine (as a sheet's nearly always are) costs a few passes in C, not
    a call per value; only the positions returned need `check_value`."""
    kind = limit.kind
    if kind == "text":
        most, multiline = min(limit.length, CELL_TEXT), limit.multiline
        return narrowed(values, lambda part: _plain_text(part, most, multiline),
                        lambda v: v.__class__ is str and (len(v) > most or not v.isprintable()))
    if kind == "integer":
        low, high = INTEGER_RANGE
        return narrowed(values, _whole_numbers_in_range, lambda v: v.__class__ is int and not low <= v <= high)
    if kind == "exact":
        bound = Decimal(10) ** (CELL_DIGITS - limit.places)
        return [at for at, v in enumerate(values)
                if v.__class__ is Decimal and not (v.is_finite() and -bound < v < bound)]
    # a date; a datetime (or any other kind of date) is left to check_date
    return [at for at, v in enumerate(values)
            if isinstance(v, date) and not (v.__class__ is date and FIRST_DATE <= v <= LAST_DATE)]


_ASCII_CONTROL = bytes((*range(0x20), 0x7F))            # what ASCII text holds but cannot print
_ASCII_CONTROL_MULTILINE = _ASCII_CONTROL.translate(None, b"\t\n\r")


def _plain_text(values: Sequence[Any], most: int, multiline: bool) -> bool | None:
    """Whether the values are plainly text within `most` characters and without a control
    character (line breaks and tabs allowed where `multiline`); None: one is not text."""
    try:
        try:
            whole, texts = "".join(values), values
        except TypeError:   # an empty one (None)
            texts = list(filter(None, values))
            whole = "".join(texts)
    except TypeError:
        return None
    if whole.isascii():     # twice as fast as isprintable, looked at as bytes
        data = whole.encode()
        printable = len(data.translate(None, _ASCII_CONTROL_MULTILINE if multiline else _ASCII_CONTROL)) == len(data)
    else:                   # (every character refused is one isprintable refuses)
        printable = (whole.replace("\t", "").replace("\n", "").replace("\r", "") if multiline else whole).isprintable()
    return printable and max(map(len, texts), default=0) <= most


def _whole_numbers_in_range(values: Sequence[Any]) -> bool | None:
    """Whether every whole number among the values is within INTEGER_RANGE (0 and False are);
    None: they cannot be compared (a decimal NaN, text). A float NaN makes a comparison false."""
    low, high = INTEGER_RANGE
    numbers = list(filter(None, values))
    try:
        return not numbers or (low <= min(numbers) and max(numbers) <= high)
    except (TypeError, ArithmeticError):
        return None


class Rows(list):
    """Rows (column key -> value; not to change any more) also seen a column at a time:
    `column(key)` is every row's value of `key`, in order (None where a row has none), and
    `outside(key, limit)` the positions of those that may break `limit`; each is worked out
    once, for whoever asks first (the sheet's checks and the module's rule share them)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()):
        super().__init__(rows)
        self._columns: dict[str, list[Any]] = {}
        self._outside: dict[tuple[str, Limit], list[int]] = {}

    def column(self, key: str) -> list[Any]:
        values = self._columns.get(key)
        if values is None:
            try:
                values = list(map(itemgetter(key), self))
            except KeyError:    # not in every row (in none, often: a column the sheet has not)
                held = any(map(contains, self, repeat(key)))
                values = [row.get(key) for row in self] if held else [None] * len(self)
            self._columns[key] = values
        return values

    def outside(self, key: str, limit: Limit) -> list[int]:
        found = self._outside.get((key, limit))
        if found is None:
            values = self.column(key)
            if values and all(map(is_, values, repeat(values[0]))):   # one value in every row (a scope's, or none)
                found = list(range(len(values))) if outside(values[:1], limit) else []
            else:
                found = outside(values, limit)
            self._outside[key, limit] = found
        return found


def doubtful_rows(model: Any, rows: Rows) -> set[int]:
    """The positions of the `rows` with a value that may break a limit of `model` (found a
    column at a time, see `outside`): `check_record` finds no problem in any other row."""
    doubtful: set[int] = set()
    for key, limit in limits_of(model).items():
        doubtful.update(rows.outside(key, limit))
    return doubtful
