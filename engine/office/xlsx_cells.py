"""Cell references and cell values as SpreadsheetML text, for the xlsx patcher.

Values are written the way Excel itself reads them back unchanged: text as inline strings
(so the shared-strings table is never touched, and text that looks like a formula stays
text), numbers as `<v>`, booleans as `t="b"`, dates as serial numbers in the workbook's own
date system. We never write a formula.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from functools import lru_cache
from numbers import Integral, Real
from typing import Any

MAX_ROW = 1_048_576
MAX_COLUMN = 16_384
MAX_TEXT = 32_767  # Excel refuses to open a file with a longer cell text

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([1-9][0-9]{0,6})$")
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel reads "_x000D_" in a text as an escaped character: escape the underscore to keep it.
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")

_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_FIRST_REAL_1900_DAY = dt.datetime(1900, 3, 1)  # before it, Excel's phantom 29 Feb 1900


@lru_cache(maxsize=16384)
def column_number(letters: str) -> int:
    """'A' -> 1, 'AA' -> 27."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


@lru_cache(maxsize=16384)  # called for every cell written; a sheet has few distinct columns
def column_letters(number: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def parse_ref(ref: str) -> tuple[int, int]:
    """'C7' -> (7, 3); raises ValueError for anything that is not one cell inside Excel's grid."""
    match = _REF.match(ref.strip())
    if not match:
        raise ValueError(f"{ref!r} is not a cell reference like 'C7'")
    row, column = int(match.group(2)), column_number(match.group(1))
    if row > MAX_ROW or column > MAX_COLUMN:
        raise ValueError(f"{ref!r} is outside Excel's grid")
    return row, column


def cell_ref(row: int, column: int) -> str:
    return f"{column_letters(column)}{row}"


def parse_range(text: str) -> tuple[int, int, int, int]:
    """'A1:C10' -> (first_row, first_column, last_row, last_column); 'B2' is a 1-cell range."""
    first, _, last = text.partition(":")
    top, left = parse_ref(first)
    bottom, right = parse_ref(last) if last else (top, left)
    return top, left, bottom, right


def range_text(top: int, left: int, bottom: int, right: int) -> str:
    first, last = cell_ref(top, left), cell_ref(bottom, right)
    return first if first == last else f"{first}:{last}"


def escape_text(text: str) -> str:
    """XML-escape a text for element content, dropping characters XML 1.0 cannot hold."""
    text = _ILLEGAL_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(text: str) -> str:
    return escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def excel_text(text: str) -> str:
    """The escaped content of a `<t>` that Excel reads back as exactly `text`.

    A carriage return becomes a character reference: a literal one would be normalised away
    by every XML parser.
    """
    text = escape_text(_LOOKS_ESCAPED.sub(r"_x005F_\1", text))
    return text.replace("\r", "&#13;")


def excel_serial(value: dt.date | dt.datetime | dt.time, date1904: bool) -> int | float:
    """A date as Excel's day number (fraction = time of day) in the workbook's date system."""
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValueError("a time with a time zone cannot be written to Excel")
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return (seconds + value.microsecond / 1e6) / 86400
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{value} has a time zone; Excel dates have none")
        moment = value
    else:
        moment = dt.datetime(value.year, value.month, value.day)
    if date1904:
        delta = moment - _EPOCH_1904
    elif moment >= _FIRST_REAL_1900_DAY:
        delta = moment - _EPOCH_1900
    else:
        delta = moment - _EPOCH_1900 - dt.timedelta(days=1)
    if delta.days < (0 if date1904 else 1):
        raise ValueError(f"{value} is before the first date the workbook can hold")
    if delta.seconds == 0 and delta.microseconds == 0:
        return delta.days
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def is_date(value: Any) -> bool:
    return isinstance(value, dt.date | dt.time)


def value_xml(value: Any, prefix: str, date1904: bool) -> tuple[str, str]:
    """(type attribute text, content) for a cell holding `value`; None gives an empty cell."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"a text of {len(value)} characters is longer than Excel allows")
        return (
            ' t="inlineStr"',
            f'<{prefix}is><{prefix}t xml:space="preserve">{excel_text(value)}</{prefix}t></{prefix}is>',
        )
    if isinstance(value, bool):
        return ' t="b"', f"<{prefix}v>{int(value)}</{prefix}v>"
    if isinstance(value, dt.date | dt.time):
        return "", f"<{prefix}v>{excel_serial(value, date1904)!r}</{prefix}v>"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be stored in Excel")
        return "", f"<{prefix}v>{value}</{prefix}v>"
    if isinstance(value, Integral):
        return "", f"<{prefix}v>{int(value)}</{prefix}v>"
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{number} cannot be stored in Excel")
        return "", f"<{prefix}v>{number!r}</{prefix}v>"
    raise TypeError(f"cannot write a {type(value).__name__} into a cell")


def cell_xml(
    prefix: str, ref: str, style: int, value: Any, date1904: bool, other_attributes: str = ""
) -> str:
    """A whole `<c>` element; `other_attributes` are kept attributes such as ph="1"."""
    kind, content = value_xml(value, prefix, date1904)
    style_text = f' s="{style}"' if style else ""
    head = f'<{prefix}c r="{ref}"{style_text}{other_attributes}{kind}'
    return f"{head}>{content}</{prefix}c>" if content else f"{head}/>"
