"""Cell values from their raw XML, as python-calamine's `to_python` gives them.

Why: engine.office.xlsx_rows reads sheets in chunks of a few MB instead of calamine's whole
sheet in memory, and must give the same values. A cell's type comes from its attributes: t=
("s" shared string, "b" boolean, "e" error, "str" formula text, "d" ISO date, "inlineStr",
none or "n" a number) and s= (its cell format: a number formatted as a date is a date).
calamine's rules, kept here one for one: every number is a float (1 reads as 1.0), a boolean
is any value but "0", an error or an uncalculated formula is '' (the round trip reports those
from engine.office.sheet_scan), a shared string number that is not digits names string 0,
and an empty <v> is no value at all except in t="str" and t="d" cells, where it is ''.

`ValueKinds` turns the attribute text of a cell (` s="3" t="s"`, as written) into a kind
once per distinct text, and `convert` turns all the raw values of one kind in a chunk into
Python values at once, with C-speed maps where it can: a million cells are a million
dictionary look-ups, not a million Python function calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from engine.office.xlsx_dates import DATETIME, DURATION, OTHER, attributes, iso_value, serial_value
from engine.office.xlsx_strings import SharedStrings, texts_of, xml_texts

# Kinds of cells. An EMPTY cell holds no value (calamine skips it); UNKNOWN is a t= calamine
# refuses, which makes the whole sheet unreadable.
EMPTY, SHARED, BOOL, ERROR, TEXT, ISO, INLINE, UNKNOWN = range(8)
NUMBER = 8  # + OTHER, DATETIME or DURATION: a number (t="n" or no t), by its cell format
NUMBER_N = 12  # the same with an explicit t="n": a value that is not a number is an error, not text
INLINE_TEXT, INLINE_KEPT = 16, 17  # the <t> text of an inline string (<is>), trimmed or xml:space="preserve"
_TYPES = {None: NUMBER, b"n": NUMBER_N, b"s": SHARED, b"b": BOOL, b"e": ERROR, b"str": TEXT, b"d": ISO,
          b"inlineStr": INLINE, b"is": INLINE}
# Cell kinds whose empty <v></v> is a value (''), not an empty cell.
EMPTY_IS_VALUE = frozenset({TEXT, ISO})
# A number as Rust's fast-float parses it (Python's float() also takes spaces and underscores).
_NUMBER = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))")
_NUMBER_CHARS = b"0123456789.eE+-"


class BadCell(ValueError):
    """A cell calamine refuses to read (the whole sheet fails): the reason, for the user."""


class ValueKinds(dict):
    """Attribute text of a cell -> its kind; a dict, so that a chunk's look-ups run in C."""

    def __init__(self, styles: list[int]):
        super().__init__()
        self.styles = styles

    def __missing__(self, text: bytes) -> int:
        kind = self.kind_of(attributes(text))
        if len(self) < 10_000:  # a sheet has a few dozen distinct ones; a made-up file, any number
            self[text] = kind
        return kind

    def kind_of(self, found: dict[bytes, bytes]) -> int:
        """The kind of a cell whose attributes are `found` (see `attributes`)."""
        kind = _TYPES.get(found.get(b"t"), UNKNOWN)
        if kind in (NUMBER, NUMBER_N):
            style = found.get(b"s")
            if style is None:
                kind += OTHER
            else:
                number = int(style) if style.isdigit() else 0  # calamine: a style it cannot read is 0
                # a style number past the workbook's formats has no format: a plain number
                kind += self.styles[number] if number < len(self.styles) else OTHER
        return kind


class _Lookup(dict):
    """raw bytes -> value, computed once by `make` (bounded: dates repeat, most other values do not)."""

    def __init__(self, make: Callable[[bytes], Any], limit: int = 10_000):
        super().__init__()
        self.make, self.limit = make, limit

    def __missing__(self, raw: bytes) -> Any:
        value = self.make(raw)
        if len(self) < self.limit:
            self[raw] = value
        return value


def _bool(raw: bytes) -> bool:
    return raw.partition(b"&")[0] != b"0"


class Converter:
    """Raw values of one kind -> Python values, for one workbook (its strings and date system)."""

    def __init__(self, strings: SharedStrings, date1904: bool):
        self.strings, self.date1904 = strings, date1904
        self.bools = _Lookup(_bool)
        self.bools.update({b"0": False, b"1": True})
        self.dates = {NUMBER + DATETIME: _Lookup(self._date_maker(NUMBER + DATETIME)),
                      NUMBER + DURATION: _Lookup(self._date_maker(NUMBER + DURATION)),
                      NUMBER_N + DATETIME: _Lookup(self._date_maker(NUMBER_N + DATETIME)),
                      NUMBER_N + DURATION: _Lookup(self._date_maker(NUMBER_N + DURATION))}

    def _date_maker(self, kind: int) -> Callable[[bytes], Any]:
        def make(raw: bytes) -> Any:
            number = self.number(raw, kind)
            return number if isinstance(number, str) else serial_value(number, kind % 4, self.date1904)
        return make

    def convert(self, kind: int, raw: list[bytes]) -> list[Any]:
        """The values of cells of one kind whose raw <v> texts are `raw` (none empty, except
        for the kinds in EMPTY_IS_VALUE); raises BadCell where calamine would fail."""
        if kind == SHARED:
            return self.shared(raw)
        if kind in (NUMBER + OTHER, NUMBER_N + OTHER):
            joined = b",".join(raw)
            if not joined.translate(None, _NUMBER_CHARS + b","):
                try:  # JSON's number grammar is within fast-float's; it reads a list at C speed
                    return json.loads(b"[" + joined + b"]", parse_int=float)
                except ValueError:  # +1, .5, 1. (numbers all the same, not JSON)
                    pass
            return [self.number(v, kind) for v in raw]
        if kind == BOOL:
            return list(map(self.bools.__getitem__, raw))
        if kind in self.dates:
            return list(map(self.dates[kind].__getitem__, raw))
        if kind == ERROR:
            return [""] * len(raw)
        if kind == TEXT:
            return xml_texts(raw)
        if kind == ISO:
            return [iso_value(text) for text in xml_texts(raw)]
        if kind == INLINE_TEXT:
            return texts_of(raw, b"")
        if kind == INLINE_KEPT:
            return texts_of(raw, b' xml:space="preserve"')
        raise BadCell("a cell of a type calamine does not know (its t= attribute)")

    def number(self, raw: bytes, kind: int) -> Any:
        """A number cell's raw value: a float, or (no t=) the text when it is not a number."""
        raw = raw.partition(b"&")[0]  # calamine reads these types' first text only
        if _NUMBER.fullmatch(raw):
            return float(raw)
        if kind < NUMBER_N:
            return raw.decode("utf-8", "replace")
        raise BadCell(f"the number {raw[:40].decode('utf-8', 'replace')!r} cannot be read")

    def shared(self, raw: list[bytes]) -> list[str]:
        joined = b",".join(raw)
        if joined.replace(b",", b"").isdigit():
            try:  # the JSON parser reads a list of numbers faster than int() one by one
                numbers = json.loads(b"[" + joined + b"]")
            except ValueError:  # a leading zero
                numbers = list(map(int, raw))
        else:  # calamine takes a number it cannot read as 0
            numbers = [int(v) if v.isdigit() else 0 for v in (r.partition(b"&")[0] for r in raw)]
        try:
            return self.strings.take(numbers)
        except IndexError:
            missing = max(numbers)
            raise BadCell(f"a cell names shared string {missing}, and the workbook has {len(self.strings)}") from None
