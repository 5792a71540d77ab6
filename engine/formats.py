"""How the doors read and show numbers and dates: one place, one rounding rule.

Every door (the CLI, Word reports, letters and e-mails) parses what people type and shows
money and quantities through these functions, so the same amount never prints two ways.

- Typed numbers become exact Decimals straight from the text (a float would make 0.1 + 0.2
  of stock differ from 0.3); a value the database cannot hold exactly is refused by name.
- Money shown to a person has 2 decimals, rounded half up (commercial rounding, as people
  round by hand: 2.345 -> 2.35), with thousands separators. The exact value, to the 4 places
  the database keeps, is what `--json` prints (`exact_money`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import BackofficeError

# Largest magnitude accepted: far beyond any real stock or amount, well inside the 64-bit
# integer columns that hold quantities and money to 4 decimal places.
LIMIT = Decimal(10) ** 12
CENT = Decimal("0.01")
STORED = Decimal("0.0001")   # the places the database keeps of money and quantities


def parse_number(text: str, name: str, places: int) -> Decimal:
    """`text` as an exact Decimal with at most `places` decimals; refused naming `name` if not."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise BackofficeError(f"{name} {text!r} is not a number; write it like 12 or 2.5 "
                              "(a decimal point, no thousands separators)")
    if abs(number) >= LIMIT:
        raise BackofficeError(f"{name} {text!r} is too large")
    scaled = number.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise BackofficeError(f"{name} {text!r} has more than {places} decimal places")
    return number


def parse_date(text: str | None, name: str) -> date:
    """An ISO date (YYYY-MM-DD); none given means today."""
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BackofficeError(f"{name} {text!r} is not a date; write it as YYYY-MM-DD.") from None


def quantity_text(quantity: Decimal) -> str:
    """A quantity as people write it: 10, not 10.0000 or 1E+1."""
    return format(quantity.normalize(), "f")


def exact_money(value: Decimal | None) -> str | None:
    """Money as an exact string, to the 4 places the database keeps (for --json)."""
    return None if value is None else str(value.quantize(STORED, rounding=ROUND_HALF_EVEN))


def money(value: Any, currency: str = "") -> str:
    """Money for a person: `1234.5` -> `1,234.50` (with `currency`: `1,234.50 EUR`), from the
    Decimal itself, rounded half up to the cent. Empty for no value."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):        # from a workbook cell: its shortest exact text
        value = repr(value)
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"money: {value!r} is not an amount") from None
    shown = f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    return f"{shown} {currency}".strip()


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def long_date(value: Any) -> str:
    """A date as a letter prints it: `31 March 2026` (the same in every locale). Empty for no
    value; an ISO date's text is read as that date."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
