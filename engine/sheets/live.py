"""A workbook open in Excel, for the round trip: its cells as read, and the changes to make in it.

The round trip works on two kinds of workbook. A file is read from its package and patched
(engine.office.xlsx_patch). A workbook open in Excel (the add-in, addin/livebook.py) is read
through xlwings ranges into a `BookSnapshot`, goes through the same read -> merge -> check ->
apply stages, and its write-back is collected as `BookChanges`: the same sheet patches and
owned sheets the file patcher would get, which the add-in then makes in the open workbook.
Both are plain data with a JSON form, so the add-in working through the server sends the
snapshot and makes the changes the server answers (engine/api/workbooks.py): one round trip,
whichever way the data is reached, and no xlwings in the engine.

What the file patcher learns from the file (the style a cell had before we marked it, the
notes of ours it finds) the changes carry instead: the cells our last run marked and the
fingerprints of our notes (kept, as for a file, in the `_backoffice` sheet), whose marks
and notes the add-in takes off before it puts the new ones on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office.sheet_scan import SpecialCell
from engine.office.xlsx_cells import cell_ref
from engine.office.xlsx_comments import note_fingerprint
from engine.office.xlsx_patch import UNCHANGED, CellPatch, OwnedSheet, PatchResult, SheetPatch

# What Excel shows in a cell whose formula failed; read with xlwings' `err_to_str`.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
# The mark of a cell marked in an open workbook: its own format is Excel's business, not known
# here. A file patcher meeting it takes off just our fill (xlsx_marks.Marks.unmarked).
LIVE_MARK = -1


@dataclass
class BookSnapshot:
    """The cells of an open workbook, sheet by sheet in tab order, as values: text, numbers,
    booleans, dates and date-times, "" for a blank cell (as the file reader gives them)."""

    name: str                                       # the workbook's name in Excel, for messages
    sheets: dict[str, list[list[Any]]]              # sheet -> rows, row 1 first
    hidden: dict[str, str] = field(default_factory=dict)          # sheet -> "hidden" | "veryHidden"
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> cell -> "#N/A"
    changes: BookChanges | None = None              # set by the round trip's write-back

    @classmethod
    def of_values(cls, name: str, sheets: dict[str, list[list[Any]]], hidden: dict[str, str]) -> BookSnapshot:
        """A snapshot of the values xlwings read (None for blank, error cells as their text):
        blanks become "", and error cells are taken out and kept by cell, to be reported there."""
        cleaned: dict[str, list[list[Any]]] = {}
        errors: dict[str, dict[str, str]] = {}
        for sheet, rows in sheets.items():
            out = []
            for r, row in enumerate(rows):
                line = ["" if v is None else v for v in row]
                for c, value in enumerate(line):
                    if value.__class__ is str and value in EXCEL_ERRORS:
                        errors.setdefault(sheet, {})[cell_ref(r + 1, c + 1)] = value
                        line[c] = ""
                out.append(line)
            while out and all(v == "" for v in out[-1]):
                out.pop()
            cleaned[sheet] = out
        return cls(name, cleaned, dict(hidden), errors)

    def rows(self, sheet: str) -> list[list[Any]]:
        return self.sheets[sheet]

    def special(self, sheet: str) -> list[SpecialCell]:
        return [SpecialCell(ref, "error", text) for ref, text in self.errors.get(sheet, {}).items()]

    def check_size(self, limits: WorkbookLimits) -> None:
        """Refuse a workbook holding more text than a file is allowed (workbook.max_text_bytes,
        counted in UTF-8 as the file's text is)."""
        total = 0
        for sheet, rows in self.sheets.items():
            for row in rows:
                for value in row:
                    if value.__class__ is str:
                        total += len(value) if value.isascii() else len(value.encode("utf-8"))
            if total > limits.max_text_bytes:
                raise UnusableInput(Path(self.name), f"it holds more than {limits.max_text_bytes:,} bytes of text "
                                                     f"(sheet {sheet!r} and before; the limit workbook.max_text_bytes): "
                                                     "split it into smaller workbooks")

    # -- its JSON form (the add-in working through the server) -------------------------------

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "hidden": self.hidden, "errors": self.errors,
                "sheets": {name: [[_encode(v) for v in row] for row in rows] for name, rows in self.sheets.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BookSnapshot:
        try:
            return cls(str(data["name"]), {str(name): [[_decode(v) for v in row] for row in rows]
                                           for name, rows in data["sheets"].items()},
                       {str(k): str(v) for k, v in (data.get("hidden") or {}).items()},
                       {str(s): {str(c): str(t) for c, t in cells.items()} for s, cells in (data.get("errors") or {}).items()})
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a workbook snapshot ({type(exc).__name__}: {exc})") from None

    # -- the round trip's write-back ---------------------------------------------------------

    def record(self, sheets: dict[str, SheetPatch], owned: dict[str, OwnedSheet],
               previous_marks: dict[str, dict[str, int]], owned_after: Callable[[PatchResult], dict[str, OwnedSheet]],
               very_hidden: tuple[str, ...], previous_notes: dict[str, list[str]]) -> PatchResult:
        """Take what `patch_xlsx` would be asked to write as the changes to make in the open
        workbook (`self.changes`), and answer its result: the marks and notes ours afterwards."""
        result = PatchResult({s: dict(m) for s, m in previous_marks.items()},
                             notes={s: list(n) for s, n in previous_notes.items()})
        changes = BookChanges(owned=dict(owned), very_hidden=[s for s in very_hidden if s in self.sheets])
        for name, patch in sheets.items():
            cells = {_ref(key): cell for key, cell in patch.cells.items()}
            marks, notes = result.marks.setdefault(name, {}), result.notes.setdefault(name, [])
            if patch.clear_marks:
                changes.clear_marks[name] = sorted(marks)
                changes.clear_notes[name] = list(notes)
                marks.clear()
                notes.clear()
            for ref, cell in cells.items():
                if cell.mark in ("problem", "changed"):
                    marks[ref] = LIVE_MARK
                elif cell.mark is None:
                    marks.pop(ref, None)
                if isinstance(cell.note, str):
                    notes.append(note_fingerprint(cell.note))
            changes.sheets[name] = SheetPatch(cells, table_last_row=patch.table_last_row)
        result.marks = {s: m for s, m in result.marks.items() if m}
        result.notes = {s: n for s, n in result.notes.items() if n}
        changes.owned.update(owned_after(result))
        self.changes = changes
        return result


@dataclass
class BookChanges:
    """What to change in an open workbook after a round trip: first take off the marks and
    notes of ours that `clear_marks` / `clear_notes` name, then write the cells of `sheets`
    (values, marks, notes, locks; a table grown to `table_last_row`), then replace or add the
    `owned` sheets whole (Issues, the read-only reports, `_backoffice`), very hidden where said."""

    sheets: dict[str, SheetPatch] = field(default_factory=dict)      # cells keyed "C7"
    owned: dict[str, OwnedSheet] = field(default_factory=dict)
    clear_marks: dict[str, list[str]] = field(default_factory=dict)  # sheet -> cells we marked last time
    clear_notes: dict[str, list[str]] = field(default_factory=dict)  # sheet -> fingerprints of our notes
    very_hidden: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "sheets": {name: {"table_last_row": patch.table_last_row,
                              "cells": {ref: _cell_json(cell) for ref, cell in patch.cells.items()}}
                       for name, patch in self.sheets.items()},
            "owned": {name: {"rows": [[_encode(v) for v in row] for row in sheet.rows], "state": sheet.state,
                             "links": sheet.links, "column_widths": {str(k): v for k, v in sheet.column_widths.items()},
                             "bold_first_row": sheet.bold_first_row,
                             "number_formats": {str(k): v for k, v in sheet.number_formats.items()},
                             "printed": sheet.printed, "placement": sheet.placement}
                      for name, sheet in self.owned.items()},
            "clear_marks": self.clear_marks, "clear_notes": self.clear_notes, "very_hidden": self.very_hidden,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BookChanges:
        return cls(
            sheets={name: SheetPatch({ref: _cell_from_json(cell) for ref, cell in patch["cells"].items()},
                                     table_last_row=patch.get("table_last_row"))
                    for name, patch in data.get("sheets", {}).items()},
            owned={name: OwnedSheet(rows=[[_decode(v) for v in row] for row in sheet["rows"]], state=sheet["state"],
                                    links=sheet.get("links") or {},
                                    column_widths={int(k): v for k, v in (sheet.get("column_widths") or {}).items()},
                                    bold_first_row=bool(sheet.get("bold_first_row")),
                                    number_formats={int(k): v for k, v in (sheet.get("number_formats") or {}).items()},
                                    printed=bool(sheet.get("printed")), placement=sheet.get("placement"))
                   for name, sheet in data.get("owned", {}).items()},
            clear_marks={str(k): list(v) for k, v in data.get("clear_marks", {}).items()},
            clear_notes={str(k): list(v) for k, v in data.get("clear_notes", {}).items()},
            very_hidden=list(data.get("very_hidden", [])),
        )


def _ref(key: str | tuple[int, int]) -> str:
    return key if isinstance(key, str) else cell_ref(*key)


def _cell_json(cell: CellPatch) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if cell.value is not UNCHANGED:
        data["value"] = _encode(cell.value)
    if cell.mark is not UNCHANGED:
        data["mark"] = cell.mark
    if cell.note is not UNCHANGED:
        data["note"] = cell.note
    if cell.lock:
        data["lock"] = True
    return data


def _cell_from_json(data: dict[str, Any]) -> CellPatch:
    return CellPatch(value=_decode(data["value"]) if "value" in data else UNCHANGED,
                     mark=data.get("mark", UNCHANGED), note=data.get("note", UNCHANGED), lock=bool(data.get("lock")))


def _encode(value: Any) -> Any:
    """A cell value in JSON: money exact, dates and date-times as ISO text, tagged."""
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "decimal" in value:
            return Decimal(value["decimal"])
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
        raise ValueError(f"not a cell value: {value!r}")
    if isinstance(value, list):
        raise ValueError("a cell holds one value, not a list")
    return value
