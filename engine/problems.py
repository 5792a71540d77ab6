"""A problem found in input: what field, a stable code, and a message a person can act on.

Validators return every problem they find (never only the first), so one pass over a form
or a workbook tells the user all that needs fixing. Every door places a problem by its
`field` (and `line`, for a record typed as several lines: an entry's lines, an invoice's)
and branches on its `code`, never on the message text: the workbook marks the cell of that
column, the CLI prints it, the API returns it as a JSON field. Codes are stable words
(`required`, `invalid`, `not_found`, `duplicate`, `insufficient_stock`, `period_closed`, ...);
messages may be reworded at any time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str            # the field it is about ("" for the record as a whole)
    code: str             # stable, machine-readable: doors branch on it
    message: str          # for a person: what is wrong and what to do
    line: int | None = None   # 1-based line of a multi-line record, None for the record

    def __str__(self) -> str:
        """As a person reads it: "line 2: ...", "ends on: ...", or the message alone."""
        if self.line:
            return f"line {self.line}: {self.message}"
        return f"{self.field.replace('_', ' ')}: {self.message}" if self.field else self.message


def problem(message: str, code: str = "invalid", field: str = "", line: int | None = None) -> Problem:
    """A problem from a message (the field last: most refusals are about the record)."""
    return Problem(field, code, message, line)
