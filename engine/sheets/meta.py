"""The hidden `_backoffice` sheet: which workbook this is, for whom, and its base snapshot.

The base snapshot is every exported record's values as they were when the workbook was made
(or last refreshed). Comparing it with the workbook and the database tells, per cell, who
changed what: the three-way merge. It is stored compressed, in chunks under Excel's cell
limit, so a 100,000-row workbook carries it in a few dozen cells, not a million.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

META_SHEET = "_backoffice"
LISTS_SHEET = "_lists"
ISSUES_SHEET = "Issues"
MAGIC = "Backoffice workbook"
CHUNK = 32000  # Excel keeps at most 32,767 characters in a cell
ID, VERSION = "ID", "Version"
# A column where the sheet allows deleting: "yes" there deletes the row's record (a row
# itself cannot be deleted while the sheet is protected).
DELETE, DELETE_YES = "Delete", "yes"


@dataclass
class SheetBase:
    """Base snapshot of one sheet: column keys, and per record id its version and values."""

    columns: list[str]
    rows: dict[int, tuple[int, list[str]]] = field(default_factory=dict)


@dataclass
class WorkbookMeta:
    workbook_id: str
    installation_id: str | None      # None for an empty layout, usable in any installation
    module: str
    spec: str                        # the spec fingerprint it was made from
    user: str | None
    roles: list[str]
    created_at: str
    refreshed_at: str
    base: dict[str, SheetBase] = field(default_factory=dict)
    marks: dict[str, dict[str, int]] = field(default_factory=dict)  # our cell marks (see xlsx_patch)
    generation: int = 0              # syncs that saved something and were written back (engine.sheets.receipts)
    # The database's side of the conflicts shown at the last rejected sync:
    # sheet -> record id -> column key -> [version, value] (see merge_sheet's `shown`).
    shown: dict[str, dict[str, dict[str, list]]] = field(default_factory=dict)
    # The labels the file was given, lookup -> {label: record id} (see engine.sheets.labels):
    # a label shown here keeps naming its record after the record is renamed.
    labels: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_rows(self) -> list[list[Any]]:
        rows: list[list[Any]] = [
            [MAGIC, "Managed by Backoffice: do not edit this sheet."],
            ["workbook_id", self.workbook_id],
            ["installation_id", self.installation_id or ""],
            ["module", self.module],
            ["spec", self.spec],
            ["user", self.user or ""],
            ["roles", " ".join(self.roles)],
            ["created_at", self.created_at],
            ["refreshed_at", self.refreshed_at],
            ["generation", str(self.generation)],
        ]
        base = {name: {"columns": b.columns, "rows": b.rows} for name, b in self.base.items()}
        rows += [["base", chunk] for chunk in _pack(base)]
        rows += [["marks", chunk] for chunk in _pack(self.marks)]
        rows += [["shown", chunk] for chunk in _pack(self.shown)]
        rows += [["labels", chunk] for chunk in _pack(self.labels)]
        return rows

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> WorkbookMeta:
        """Parse the sheet; raises ValueError when it is not ours or is damaged."""
        if not rows or not rows[0] or rows[0][0] != MAGIC:
            raise ValueError("its _backoffice sheet is not one Backoffice wrote")
        values: dict[str, str] = {}
        chunks: dict[str, list[str]] = {"base": [], "marks": [], "shown": [], "labels": []}
        for row in rows[1:]:
            if len(row) < 2 or not row[0]:
                continue
            key, value = str(row[0]), "" if row[1] is None else str(row[1])
            if key in chunks:
                chunks[key].append(value)
            else:
                values[key] = value
        base_data = _unpack(chunks["base"]) or {}
        base = {
            name: SheetBase(d["columns"], {int(k): (int(v), list(vals)) for k, (v, vals) in d["rows"].items()})
            for name, d in base_data.items()
        }
        labels = _labels(_unpack(chunks["labels"]))
        try:
            return cls(
                workbook_id=values["workbook_id"], installation_id=values.get("installation_id") or None,
                module=values["module"], spec=values["spec"], user=values.get("user") or None,
                roles=values.get("roles", "").split(), created_at=values.get("created_at", ""),
                refreshed_at=values.get("refreshed_at", ""), base=base,
                marks=_unpack(chunks["marks"]) or {}, generation=int(values.get("generation") or 0),
                shown=_unpack(chunks["shown"]) or {}, labels=labels,
            )
        except KeyError as missing:
            raise ValueError(f"its _backoffice sheet lacks {missing}") from None
        except ValueError:
            raise ValueError("its _backoffice sheet is damaged (the generation is not a number)") from None


def _labels(data: Any) -> dict[str, dict[str, int]]:
    """The stored labels, checked to be {lookup: {label: id}} (ValueError otherwise)."""
    if not data:
        return {}
    if not isinstance(data, dict) or not all(
            isinstance(m, dict) and all(isinstance(rid, int) and not isinstance(rid, bool) for rid in m.values())
            for m in data.values()):
        raise ValueError("its labels are damaged")
    return {str(name): {str(label): rid for label, rid in m.items()} for name, m in data.items()}


def _pack(data: Any) -> list[str]:
    if not data:
        return []
    # Level 1: a 100,000-row snapshot compresses in 0.05 s instead of 0.25 s, a little larger.
    # Ids as object keys, (version, values) pairs as arrays: {"7": [3, ["Acme", ...]]}.
    text = base64.b64encode(zlib.compress(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), 1)).decode()
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]


def _unpack(chunks: list[str]) -> Any:
    if not chunks:
        return None
    try:
        return orjson.loads(zlib.decompress(base64.b64decode("".join(chunks))))
    except (ValueError, zlib.error) as exc:  # orjson.JSONDecodeError is a ValueError
        raise ValueError(f"its base snapshot is damaged ({exc})") from None
