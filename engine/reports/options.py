"""What a report may be asked for: the one list behind every report's options at every door.

A module registering a report names the options it takes (`registry.report(..., options=
("period",))`); the command line turns each into a flag (`--period 2026-11`) and the HTTP API
into a field of the request's body, both read by `parse` here, so `--period 2026-13` is
refused with the same words at both doors. A report's code receives the values themselves:
a `Month`, a `date`, a year, or a record's key as typed (the module finds the record, and
refuses it naming the option).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import BackofficeError
from engine.office.report_body import Month


class BadOption(BackofficeError):
    code = "bad_option"

    def __init__(self, message: str, field: str):
        self.field = field
        super().__init__(message)


def _year(text: str) -> int:
    try:
        year = int(str(text).strip())
    except ValueError:
        year = 0
    if not 1900 < year < 3000:
        raise BadOption(f"--year {text!r} is not a year to report on", "year")
    return year


def _day(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise BadOption(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD", "as_of") from None


def _key(name: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        key = str(text).strip()
        if not key:
            raise BadOption(f"--{name} is empty: say which {name} the report is about", name)
        return key
    return parse


@dataclass(frozen=True)
class Option:
    """One option: its flag's help, how its text is read, what it is when not given (None:
    it must be given), and how it names the report's file."""

    name: str
    help: str
    metavar: str
    parse: Callable[[str], Any]
    default: Callable[[], Any] | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def last_month() -> Month:
    return Month.of(date.today()).previous


OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("period", "The month it covers, YYYY-MM (default: last month).", "YYYY-MM",
           lambda text: Month.parse(str(text)), last_month),
    Option("as_of", "The day it is as of, YYYY-MM-DD (default: today).", "YYYY-MM-DD", _day, date.today),
    Option("year", "The year it covers (default: this year).", "YEAR", _year, lambda: date.today().year),
    Option("customer", "The customer: their contact number or exact name.", "CUSTOMER", _key("customer"), None),
    Option("lot", "The lot: its lot number.", "LOT", _key("lot"), None),
    Option("employee", "The employee: their employee number.", "EMPLOYEE", _key("employee"), None),
)}


TIMES = ("period", "year", "as_of")   # the options saying when a report is of (what a button asks for)


def read(names: tuple[str, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """The report's options from what was typed or sent (text, or a value already read), the
    defaults for those not given; refused naming the first option that is wrong or missing,
    and any option the report does not take."""
    unknown = sorted(k for k, v in given.items() if v is not None and k not in names)
    if unknown:
        flags = ", ".join(OPTIONS[k].flag if k in OPTIONS else k for k in unknown)
        raise BadOption(f"this report does not take {flags}; it takes: "
                        f"{', '.join(OPTIONS[n].flag for n in names) or 'no options'}", unknown[0])
    values: dict[str, Any] = {}
    for name in names:
        option = OPTIONS[name]
        raw = given.get(name)
        if raw is None:
            if option.default is None:
                raise BadOption(f"{option.flag} is needed: {option.help[0].lower()}{option.help[1:]}", name)
            values[name] = option.default()
        else:
            values[name] = option.parse(str(raw))   # (a value already read reads again the same)
    return values


def label(values: Mapping[str, Any]) -> str:
    """The options as a report's file name shows them: `pack-2026-11`, `statement-C0012-2026-11`."""
    order = ("customer", "lot", "employee", "year", "period", "as_of")
    return "-".join(str(values[k]).replace("/", "-").replace(" ", "_") for k in order if k in values)


def as_text(values: Mapping[str, Any]) -> dict[str, str]:
    """The options as JSON shows them: a year as a number, a month or a day as its ISO text."""
    return {k: v if isinstance(v, int) else v.isoformat() if isinstance(v, date) else str(v)
            for k, v in values.items()}
