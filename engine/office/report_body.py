"""What a Word report says, before it is a Word document: sections of key figures, tables,
charts and text, holding the values themselves (Decimals, dates, counts), not their text.

A module builds its report or its part of the monthly pack out of these (`Section`), from
its own queries; `engine.office.word` lays them out in the template's styles and writes each
value in the organisation's locale (`engine.office.locale`). So a module never formats a
number for a report, and a test can hold every figure of a report against the query it came
from, formatted the one way the report formats it.

`Month` is the period most reports cover: `--period 2026-11`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from engine.errors import BackofficeError


# How a value is written: money to the cent; a count as a whole number; a quantity as typed
# (10, 2.5); a percentage with one decimal; a ratio (a change) as a signed percentage.
class NotAMonth(BackofficeError):
    code = "not_a_month"
    field = "period"


Kind = Literal["text", "money", "count", "quantity", "percent", "change", "date"]


@dataclass(frozen=True)
class Month:
    """A calendar month, the period of the monthly pack and of most reports."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str, name: str = "--period") -> Month:
        """`2026-11` as a month; refused naming `name` otherwise."""
        try:
            year, month = (int(part) for part in text.strip().split("-"))
            if not (1900 < year < 3000 and 1 <= month <= 12):
                raise ValueError
        except ValueError:
            raise NotAMonth(f"{name} {text!r} is not a month; write it as YYYY-MM, e.g. 2026-11") from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def previous(self) -> Month:
        return self.shifted(-1)

    @property
    def year_before(self) -> Month:
        return self.shifted(-12)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Figure:
    """A key figure of the month, with the same figure a month and a year before (None where
    there is nothing to compare with), so the pack can show the change against each."""

    label: str
    value: Decimal | int
    previous: Decimal | int | None = None
    year_before: Decimal | int | None = None
    kind: Kind = "money"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"


@dataclass
class Table:
    """Rows of values under their columns, and an optional total row (bold). A table with no
    rows prints `empty` instead."""

    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None
    empty: str = "None."

    def __post_init__(self) -> None:
        for row in [*self.rows, *([self.total] if self.total else [])]:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of {len(row)} values under {len(self.columns)} columns: {row!r}")


@dataclass(frozen=True)
class Chart:
    """A chart drawn to PNG (`engine.office.charts`), with its title as the caption."""

    title: str
    png: bytes
    width_cm: float = 16.0


@dataclass(frozen=True)
class Text:
    text: str
    note: bool = False      # a remark in small italics (what was left out, and why)


@dataclass(frozen=True)
class Heading:
    text: str


Block = Table | Chart | Text | Heading


@dataclass
class Section:
    """One module's part of a report: a heading, key figures for the pack's first page, and
    its blocks in order."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Body:
    """A report's sections, put where the template says `{{p body }}`."""

    sections: list[Section]

    @property
    def key_figures(self) -> KeyFigures:
        return KeyFigures([f for s in self.sections for f in s.figures])


@dataclass
class KeyFigures:
    """The key figures of every section, in one table, where the template says
    `{{p key_figures }}`."""

    figures: list[Figure]


def reader_name(session: Any, login: str) -> str:
    """"Ada Lovelace (ada)": whom a report was made for, as its cover says."""
    from sqlalchemy import select  # here: only a report's cover needs the users table

    from engine.security.models import User  # here: likewise

    name = session.scalar(select(User.name).where(User.login == login))
    return f"{name} ({login})" if name else login


def report_context(session: Any, actor: Any, title: str, subtitle: str, sections: list[Section],
                   **more: Any) -> dict[str, Any]:
    """The context of a report laid out by the standard template (templates/reports/
    standard.docx): its title and subtitle (what it covers), when and for whom it was made,
    and its body. `more` adds what a template of its own may print besides."""
    from engine.office.locale import of_reader  # here: Babel's locale data

    return {"title": title, "subtitle": subtitle, "made_on": of_reader(session).date(date.today()),
            "made_for": reader_name(session, actor.login), "body": Body(sections), **more}
