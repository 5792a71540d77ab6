"""Which cells are dates, and their values, exactly as python-calamine gives them.

Why: the round trip reads sheets with our own streaming reader (engine.office.xlsx_rows), and
every value it gives must be what python-calamine's `to_python` gave before, or a workbook that
synced yesterday would show changes today. A number is a date when its cell's number format
is one (Excel stores dates as day numbers): the built-in formats 14-22, 45 and 47, or a
custom code with d, m, y, h or s outside quotes and [brackets]; [h], [m] and [s] make it a
duration. The rules and the rounding below are calamine's (formats.rs, datatype.rs) and
python-calamine's (types/cell.rs), ported one for one, odd corners included: a date-formatted
number below 1 is a time of day, a whole one a date, any other a datetime, and one that
falls outside the years 1-9999 stays a float.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from engine.office.xlsx_strings import xml_text

OTHER, DATETIME, DURATION = 0, 1, 2

_BUILTIN = {b"14": DATETIME, b"15": DATETIME, b"16": DATETIME, b"17": DATETIME, b"18": DATETIME,
            b"19": DATETIME, b"20": DATETIME, b"21": DATETIME, b"22": DATETIME, b"45": DATETIME,
            b"46": DURATION, b"47": DATETIME}
_MS_PER_DAY = 86_400_000
_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()
_I64 = 1 << 63
_U64_MAX = float(1 << 64)  # what a Rust `as u64` cast of a larger float gives, as a float


def format_kind(code: str) -> int:
    """OTHER, DATETIME or DURATION for a custom number format code (calamine's
    `detect_custom_number_format`): only the first section counts, quoted text, escaped
    characters and [colour]/[condition] brackets do not."""
    escaped = quoted = ampm = hms = False
    brackets, prev = 0, " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return OTHER
        elif ch == "[":
            brackets = (brackets + 1) & 0xFF
        elif ch == "]" and brackets == 1 and hms:
            return DURATION
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ampm and brackets == 0:
            ampm = True
        elif ch in "pmPM/" and ampm and brackets == 0:
            return DATETIME
        elif ch in "dmhysDMHYS" and not ampm and brackets == 0:
            return DATETIME
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return OTHER


_XF_SECTION = re.compile(rb"<(?:[\w.-]+:)?cellXfs\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?cellXfs\s*>)", re.S)
_NUMFMTS = re.compile(rb"<(?:[\w.-]+:)?numFmts\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?numFmts\s*>)", re.S)
_NUMFMT = re.compile(rb"<(?:[\w.-]+:)?numFmt\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_XF = re.compile(rb"<(?:[\w.-]+:)?xf(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def attributes(text: bytes) -> dict[bytes, bytes]:
    """The attributes of a start tag's text, raw (entities left as written); the first wins."""
    found: dict[bytes, bytes] = {}
    for m in ATTRIBUTE.finditer(text):
        found.setdefault(m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
    return found


def style_kinds(styles_xml: bytes | None) -> list[int]:
    """The kind (OTHER, DATETIME, DURATION) of each cell format of a styles part, by index.

    As calamine reads it: custom numFmt codes by id (a custom code overrides a built-in id),
    then each <xf> of <cellXfs> in order; an <xf> without numFmtId is OTHER.
    """
    if not styles_xml:
        return []
    codes: dict[bytes, int] = {}
    section = _NUMFMTS.search(styles_xml)
    for m in _NUMFMT.finditer(section.group(1) or b"") if section else ():
        found = attributes(m.group(1))
        if b"numFmtId" in found and b"formatCode" in found:
            codes[found[b"numFmtId"]] = format_kind(xml_text(found[b"formatCode"]))
    section = _XF_SECTION.search(styles_xml)
    kinds = []
    for m in _XF.finditer(section.group(1) or b"") if section else ():
        number_format = attributes(m.group(1)).get(b"numFmtId")
        if number_format is None:
            kinds.append(OTHER)
        else:
            kinds.append(codes[number_format] if number_format in codes else _BUILTIN.get(number_format, OTHER))
    return kinds


def _round_ms(days: float) -> int:
    """Rust's `(days * 86_400_000.0).round() as i64`: half away from zero, saturating, NaN 0."""
    x = days * _MS_PER_DAY
    if x != x:
        return 0
    if x >= _I64:
        return _I64 - 1
    if x <= -_I64:
        return -_I64
    a = abs(x)
    whole = math.floor(a)
    if a - whole >= 0.5:
        whole += 1
    return whole if x >= 0 else -whole


# chrono's calendar runs from -262144-01-01 to 262143-12-31; days from 1899-12-30.
def _days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy


_EPOCH_DAYS = _days_from_civil(1899, 12, 30)
_FIRST_MS = (_days_from_civil(-262144, 1, 1) - _EPOCH_DAYS) * _MS_PER_DAY
_END_MS = (_days_from_civil(262143, 12, 31) + 1 - _EPOCH_DAYS) * _MS_PER_DAY


def _moment_ms(value: float, date1904: bool) -> int | None:
    """Milliseconds from 1899-12-30 of a day number (calamine's `as_datetime`), None outside chrono's calendar."""
    days = value + 1462.0 if date1904 else value
    if not days >= 60.0:
        days += 1.0  # Excel's phantom 29 February 1900
    ms = _round_ms(days)
    return ms if _FIRST_MS <= ms < _END_MS else None


def _time_of(ms: int) -> dt.time:
    rest = ms % _MS_PER_DAY
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return dt.time(hour, minute, second, milli * 1000)


def _datetime_of(ms: int) -> dt.datetime | None:
    days, rest = divmod(ms, _MS_PER_DAY)
    ordinal = _EPOCH_ORDINAL + days
    if not 1 <= ordinal <= 3652059:  # the years 1-9999 Python (and python-calamine) allow
        return None
    day = dt.date.fromordinal(ordinal)
    clock = _time_of(rest)
    return dt.datetime(day.year, day.month, day.day, clock.hour, clock.minute, clock.second, clock.microsecond)


def serial_value(value: float, kind: int, date1904: bool):
    """The value python-calamine gives a number `value` in a cell whose format is `kind`."""
    if kind == DURATION:
        try:
            return dt.timedelta(milliseconds=_round_ms(value))
        except OverflowError:
            return value
    if kind != DATETIME:
        return value
    ms = _moment_ms(value, date1904)
    if ms is None:
        return value
    if value < 1.0:
        return _time_of(ms)
    whole = 0.0 if value != value else (_U64_MAX if value >= _U64_MAX else float(int(value)))
    moment = _datetime_of(ms)
    if moment is None:
        return value
    return moment.date() if value == whole else moment


# chrono's readings of an ISO text: a year of four digits (more with a sign), one or two digits
# for the rest, seconds needed in a datetime and not in a time, any digits of a fraction.
_YEAR = r"([+-]\d{4,}|\d{4})-(\d\d?)-(\d\d?)"
_CLOCK = r"(\d\d?):(\d\d?)"
_ISO_DATETIME = re.compile(_YEAR + "T" + _CLOCK + r":(\d\d?)(?:\.(\d+))?")
_ISO_DATE = re.compile(_YEAR)
_ISO_TIME = re.compile(_CLOCK + r"(?::(\d\d?)(?:\.(\d+))?)?")


def iso_value(text: str):
    """A t="d" cell (an ISO 8601 text) as python-calamine reads it with chrono: with a T a
    datetime, else with a colon a time, else a date; the text itself when it is none of those
    (or falls outside the years 1-9999). A leap second (:60) comes out as :59, as pyo3 gives it."""
    try:
        if "T" in text:
            m = _ISO_DATETIME.fullmatch(text)
            if m:
                year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
                return dt.datetime(year, month, day, hour, minute, 59 if second == 60 else second,
                                   _micro(m.group(7)))
        elif ":" in text:
            m = _ISO_TIME.fullmatch(text)
            if m:
                second = int(m.group(3) or 0)
                return dt.time(int(m.group(1)), int(m.group(2)), 59 if second == 60 else second, _micro(m.group(4)))
        else:
            m = _ISO_DATE.fullmatch(text)
            if m:
                return dt.date(*(int(g) for g in m.groups()))
    except ValueError:
        pass
    return text


def _micro(digits: str | None) -> int:
    return 0 if digits is None else int((digits + "000000")[:6])
