"""Problems and conflicts found in a workbook, each pinned to the cell where it was typed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CellIssue:
    sheet: str
    cell: str | None          # "C7"; None when the issue concerns a whole sheet or a missing row
    column: str | None        # the column's label
    record_id: int | None
    code: str                 # stable: required, type, unique, reference, conflict, ...
    message: str
    conflict: bool = False
    values: dict[str, Any] | None = None   # for conflicts: base, workbook and database values

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("conflict")
        if not self.values:
            data.pop("values")
        return data

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        column = f" ({self.column})" if self.column else ""
        return f"{where}{column}: {self.message}"
