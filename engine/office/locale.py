"""Numbers and dates of a report as the organisation writes them (`organisation.locale`).

Babel formats the Decimal itself, so an amount never passes through a float: money is rounded
half up to the cent first (`engine.formats`' rule), then written with the locale's separators
(1,234.50 in en_GB, 1.234,50 in de_DE, 1 234,50 in fr_FR). A test that reads a figure back out
of a report formats the query's value with the same `Formatter`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

from engine.errors import BackofficeError
from engine.formats import CENT

TENTH = Decimal("0.1")


class UnknownLocale(BackofficeError):
    code = "unknown_locale"
    field = "organisation.locale"


def of_reader(session: Any) -> Formatter:
    """The Formatter of the organisation's locale, as the unit of work `session` carries its
    settings (`session.info["organisation"]`; en_GB outside one): for the dates and numbers a
    report's own sentences hold."""
    settings = session.info.get("organisation")
    return Formatter(settings.locale if settings else "en_GB")


class Formatter:
    """Writes a report's values in one locale."""

    def __init__(self, locale: str = "en_GB"):
        try:
            self.locale = Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            raise UnknownLocale(f"organisation.locale {locale!r} is not a locale; write a language and country "
                                "code such as en_GB, de_DE or fr_CH (config/backoffice.toml)") from None

    def money(self, value: Decimal | int) -> str:
        return format_decimal(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "#,##0.00", locale=self.locale)

    def count(self, value: Decimal | int) -> str:
        return format_decimal(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP), "#,##0", locale=self.locale)

    def quantity(self, value: Decimal | int) -> str:
        return format_decimal(Decimal(value).normalize(), "#,##0.####", locale=self.locale)

    def percent(self, value: Decimal | int) -> str:
        """A percentage given in percent (12.5 -> "12.5 %" in en_GB; the space does not break, so
        the sign stays with its number in a narrow column)."""
        shown = format_decimal(Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP), "#,##0.0", locale=self.locale)
        return f"{shown}\u00a0%"

    def change(self, value: Decimal | int | None, before: Decimal | int | None) -> str:
        """The change from `before` to `value` in percent, signed ("+12.5 %"); a dash where
        there is nothing to compare with (no figure before, or zero)."""
        if value is None or before is None or Decimal(before) == 0:
            return "–"
        ratio = (Decimal(value) - Decimal(before)) * 100 / abs(Decimal(before))
        shown = self.percent(abs(ratio))
        return ("+" if ratio > 0 else "−" if ratio < 0 else "±") + shown

    def date(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def month(self, year: int, month: int) -> str:
        """"November 2026" in the locale's words."""
        return format_date(date(year, month, 1), "LLLL yyyy", locale=self.locale)

    def value(self, value: Any, kind: str = "text") -> str:
        """`value` written as its column's kind says; None is empty."""
        if value is None or value == "":
            return ""
        if isinstance(value, date) or kind == "date":
            return self.date(value) if isinstance(value, date) else str(value)
        if kind in ("money", "count", "quantity", "percent") and isinstance(value, Decimal | int):
            return getattr(self, kind)(value)
        return str(value)
