"""A problem found in input: what field, a stable code, and a message a person can act on.

Validators return every problem they find (never only the first), so one pass over a form
or a workbook tells the user all that needs fixing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
