"""Rows of cells as SpreadsheetML text, exactly as xlsxwriter writes each cell, made a column
at a time: the rows of a million-record sheet in seconds instead of minutes.

xlsxwriter keeps every cell of a sheet as a Python object until the file is closed (about
6 microseconds and a few hundred bytes a cell: 80 s and gigabytes for a full sheet). A
workbook export writes the skeleton of each sheet with xlsxwriter and its rows with this
module (see engine.office.xlsx_splice), so the values must come out as xlsxwriter writes
them: numbers with 16 significant digits (`{:.16G}`), dates as serial numbers the way it
counts them (1900 a leap year), booleans as `t="b"`, text escaped as it escapes it
(control characters as `_xHHHH_`, an existing `_xHHHH_` kept by escaping its underscore,
`xml:space="preserve"` where a text starts or ends with white space, at most 32,767 UTF-16
units). Text is written as an inline string (`t="inlineStr"`): as text, never a formula,
and without a shared-strings table that would hold every distinct text of the sheet in
memory. Excel, LibreOffice and python-calamine read inline strings as they read shared ones.

Values of one column are turned into cells by one list comprehension where the column holds
one kind of value (text, numbers, dates or booleans); a column of mixed values goes cell by
cell through `cell_content`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xlsxwriter.utility import xl_col_to_name

MAX_TEXT = 32_767            # UTF-16 units Excel keeps in a cell; xlsxwriter cuts longer texts there
MAX_ROWS = 1_048_576         # Excel's grid; xlsxwriter ignores a cell beyond it
BLANK = object()             # an empty cell that carries its format (the ID of a row for new records)

# Characters the quick path of a column of texts cannot write as they are: XML's special
# characters, and control characters and non-characters (escaped as _xHHHH_).
_NOT_PLAIN = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")          # xlsxwriter's re_control_chars_1
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")               # xlsxwriter's re_control_chars_2
_LEADING, _TRAILING = re.compile(r"^\s"), re.compile(r"\s$")  # xlsxwriter's _preserve_whitespace
_EXCEL_EPOCH = dt.datetime(1899, 12, 31)
_EPOCH_ORDINAL = _EXCEL_EPOCH.toordinal()
_NOT_FINITE = {"NAN", "INF", "-INF"}


def column_letter(column: int) -> str:
    """0 -> 'A', 27 -> 'AB' (zero-based, as xlsxwriter counts)."""
    return xl_col_to_name(column)


def inline_text(text: str) -> str:
    """The `<is>` of a text cell holding `text`, escaped as xlsxwriter escapes a string."""
    if len(text) > MAX_TEXT // 2 and len(text.encode("utf-16-le", "surrogatepass")) // 2 > MAX_TEXT:
        text = _utf16_cut(text, MAX_TEXT)
    text = _LOOKS_ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    preserve = ' xml:space="preserve"' if _LEADING.search(text) or _TRAILING.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{preserve}>{text}</t></is>"


def _utf16_cut(text: str, units: int) -> str:
    """`text` cut to `units` UTF-16 units without splitting a character (xlsxwriter's cut)."""
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > units:
            return text[:index]
    return text


def number_text(number: float) -> str:
    """A number as xlsxwriter writes it in `<v>`; NaN and infinity have no place in a cell."""
    written = f"{number:.16G}"
    if written in _NOT_FINITE:
        raise TypeError(f"{number} cannot be written into a cell (NaN and infinity are not numbers Excel holds)")
    return written


def date_serial(value: dt.date | dt.datetime | dt.time | dt.timedelta) -> float:
    """Excel's serial number of a date (and time) as xlsxwriter counts it: days since
    1899-12-31, one more from March 1900 on (Excel's phantom 29 February 1900)."""
    moment: Any = value
    is_span = isinstance(value, dt.timedelta)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise TypeError(f"{value} has a time zone; Excel dates and times have none")
        delta = value - _EXCEL_EPOCH
    elif isinstance(value, dt.date):
        moment = dt.datetime.fromordinal(value.toordinal())
        delta = moment - _EXCEL_EPOCH
    elif isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise TypeError(f"{value} has a time zone; Excel dates and times have none")
        moment = dt.datetime.combine(_EXCEL_EPOCH, value)
        delta = moment - _EXCEL_EPOCH
    elif is_span:
        delta = value
    else:
        raise TypeError(f"{value!r} is not a date")
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    if isinstance(value, dt.datetime) and moment.isocalendar() == (1900, 1, 1):
        serial -= 1       # xlsxwriter's own correction for 1900-01-01 with a time of day
    if not is_span and serial > 59:
        serial += 1
    return serial


def cell_content(value: Any) -> tuple[str, str]:
    """(type attribute, content) of a cell holding `value`, as xlsxwriter writes it; `value`
    is never None. Anything that is not a number, a date or a boolean is written as text."""
    if value is BLANK:
        return "", ""
    if isinstance(value, bool):
        return ' t="b"', f"<v>{int(value)}</v>"
    if isinstance(value, int | float | Decimal):
        return "", f"<v>{number_text(float(value))}</v>"
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return "", f"<v>{number_text(date_serial(value))}</v>"
    return ' t="inlineStr"', inline_text(str(value))


@dataclass(frozen=True)
class Cells:
    """One column's cells for a run of rows: a piece of the rows' %-template and its
    arguments, one sequence per placeholder with an item per row (the row numbers and the
    values, which a row is then formatted from in one step), or the cells made whole ("%s")."""

    template: str
    args: tuple[Sequence[Any], ...]

    def strings(self) -> list[str]:
        """Each row's `<c>` element ("" for none)."""
        return [self.template % values for values in zip(*self.args, strict=True)]


def column_cells(letter: str, rows: Sequence[str], values: Sequence[Any], styles: str | Sequence[str]) -> Cells:
    """The `<c>` elements of one column for `rows` (the row numbers as text), one per value:
    none where the value is None. `styles`: the ` s="N"` attribute of every cell, or one per
    row ("" for a cell without a format)."""
    kinds = set(map(type, values))
    if type(None) in kinds:
        kinds.discard(type(None))
        full = False
    else:
        full = True
    if not kinds:
        return Cells("%s", ([""] * len(values),))
    if full and isinstance(styles, str):   # the usual column: a value in every row, one format
        made = _templated(letter, rows, values, styles, kinds)
        if made is not None:
            return made
    if isinstance(styles, str):
        styles = [styles] * len(values)
    return Cells("%s", (_strings(letter, rows, values, styles, kinds),))


def _templated(letter: str, rows: Sequence[str], values: Sequence[Any], style: str, kinds: set[type]) -> Cells | None:
    """The cells of a column of one kind of value with no gaps, as a template (None: made whole)."""
    cell = f'<c r="{letter}%s"{style}'
    if kinds == {str}:
        if _all_plain(values):  # type: ignore[arg-type]
            return Cells(cell + ' t="inlineStr"><is><t>%s</t></is></c>', (rows, values))
        return Cells(cell + ' t="inlineStr">%s</c>', (rows, list(map(inline_text, values))))
    if kinds <= {int, float, Decimal}:
        if kinds != {int} and not all(map(math.isfinite, values)):
            raise TypeError("NaN and infinity cannot be written into a cell (they are not numbers Excel holds)")
        return Cells(cell + "><v>%.16G</v></c>", (rows, values))   # %.16G: xlsxwriter's {:.16G} of float(value)
    if kinds == {bool}:
        return Cells(cell + ' t="b"><v>%d</v></c>', (rows, values))
    if kinds == {dt.date}:
        days = [v.toordinal() - _EPOCH_ORDINAL for v in values]
        return Cells(cell + "><v>%d</v></c>", (rows, [d + 1 if d > 59 else d for d in days]))
    return None


def _strings(letter: str, rows: Sequence[str], values: Sequence[Any], styles: Sequence[str],
             kinds: set[type]) -> list[str]:
    """Each cell whole ("" for a value None)."""
    if kinds == {str}:
        texts = [v for v in values if v is not None]
        if _all_plain(texts):
            return [f'<c r="{letter}{r}"{s} t="inlineStr"><is><t>{v}</t></is></c>' if v is not None else ""
                    for r, v, s in zip(rows, values, styles, strict=True)]
        return [f'<c r="{letter}{r}"{s} t="inlineStr">{inline_text(v)}</c>' if v is not None else ""
                for r, v, s in zip(rows, values, styles, strict=True)]
    if kinds <= {int, float, Decimal}:
        numbers = [f"{float(v):.16G}" if v is not None else None for v in values]
        if not _NOT_FINITE.isdisjoint(numbers):
            raise TypeError("NaN and infinity cannot be written into a cell (they are not numbers Excel holds)")
        return [f'<c r="{letter}{r}"{s}><v>{n}</v></c>' if n is not None else ""
                for r, n, s in zip(rows, numbers, styles, strict=True)]
    if kinds == {bool}:
        return [(f'<c r="{letter}{r}"{s} t="b"><v>1</v></c>' if v else f'<c r="{letter}{r}"{s} t="b"><v>0</v></c>')
                if v is not None else "" for r, v, s in zip(rows, values, styles, strict=True)]
    if kinds == {dt.date}:
        days = [v.toordinal() - _EPOCH_ORDINAL if v is not None else None for v in values]
        return [f'<c r="{letter}{r}"{s}><v>{d + 1 if d > 59 else d}</v></c>' if d is not None else ""
                for r, d, s in zip(rows, days, styles, strict=True)]
    return [_cell(letter, r, v, s) for r, v, s in zip(rows, values, styles, strict=True)]


def _all_plain(texts: list[str]) -> bool:
    """Whether every text is written as it is (nothing to escape, cut or preserve), found
    by a few scans of the texts joined instead of three regular expressions per text."""
    joined = "".join(texts)
    printable = joined.isascii() and joined.isprintable()
    if printable:
        special = "&" in joined or "<" in joined or ">" in joined
    else:
        special = _NOT_PLAIN.search(joined) is not None
    if special or "_x" in joined or max(map(len, texts)) > MAX_TEXT // 2:
        return False
    if printable and " " not in joined:
        return True     # printable ASCII holds no white space but spaces, and there are none
    # white space at either end (str.strip strips what xlsxwriter's \s finds, and more)
    return list(map(len, texts)) == list(map(len, map(str.strip, texts)))


def _cell(letter: str, row: str, value: Any, style: str) -> str:
    if value is None:
        return ""
    kind, content = cell_content(value)
    if not content:   # BLANK: a cell of its own only with a format, as xlsxwriter's write_blank
        return f'<c r="{letter}{row}"{style}/>' if style else ""
    return f'<c r="{letter}{row}"{style}{kind}>{content}</c>'


def rows_xml(rows: Sequence[str], columns: Sequence[Cells]) -> str:
    """`<row>` elements of `rows` (numbers as text) from their cells, column by column in
    order: each row formatted from one template. A row without a cell is left out, as
    xlsxwriter leaves it out (a column with a template has a cell in every row)."""
    if all(column.template == "%s" for column in columns):
        bodies = map("".join, zip(*(column.args[0] for column in columns), strict=True))
        return "".join(f'<row r="{r}">{body}</row>' for r, body in zip(rows, bodies, strict=True) if body)
    template = '<row r="%s">' + "".join(column.template for column in columns) + "</row>"
    args = [rows, *(arg for column in columns for arg in column.args)]
    return "".join(map(template.__mod__, zip(*args, strict=True)))


def style_attribute(xf_index: int | None) -> str:
    """The ` s="N"` of a cell with the format of xf index N (xlsxwriter writes it whenever
    a cell has a format), or "" for none."""
    return "" if xf_index is None else f' s="{xf_index}"'
