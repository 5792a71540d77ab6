"""Sheet specs: how a module's tables appear in a workbook.

A spec is the single place a column is described: its Excel label, type, whether staff may
edit it, the drop-down it offers, the records it must point at, and its sensitivity. Export,
reading, validation, merge, permissions and layouts are all derived from it, so no column
list is ever written twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.problems import Problem

TYPES = ("text", "integer", "decimal", "money", "date", "bool", "choice")


@dataclass(frozen=True)
class Column:
    key: str                          # the table column (or computed name)
    label: str                        # the header staff see in Excel
    type: str = "text"
    editable: bool = True
    required: bool = False
    unique: bool = False
    choices: tuple[str, ...] = ()     # for type "choice": the allowed values
    lookup: str | None = None         # drop-down source, see WorkbookSpec.lookups
    references: str | None = None     # a lookup whose keys the value must be one of (foreign key)
    sensitivity: str | None = None    # e.g. "hr": left out unless the role sees it
    width: float = 16
    computed: bool = False            # filled from the database, never read back
    # Typed in on new rows and handed to the sheet's `post`, but not a column of its table:
    # a journal line's entry label and date belong to its entry, its account is typed by
    # code. Saved rows show it from the sheet's `computed`, and it is locked there.
    entered: bool = False
    # Typed on a new row, locked once saved: others name the record by it (an account's code
    # is what postings, invoices and settings name). Changing it is refused at the cell.
    set_once: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.key}: unknown type {self.type!r}")
        if self.computed and self.editable:
            object.__setattr__(self, "editable", False)
        if self.computed and self.entered:
            raise ValueError(f"column {self.key}: entered columns are read back; computed ones are not")


RowRule = Callable[[Mapping[str, Any]], list[Problem]]
Derive = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class SheetSpec:
    name: str                          # sheet name and Excel Table name
    model: Any                         # the SQLAlchemy mapped class
    area: str                          # permission area, e.g. "contacts"
    columns: tuple[Column, ...]
    scope: Mapping[str, Any] = field(default_factory=dict)   # fixed values (kind = 'person')
    can_insert: bool = True
    can_delete: bool = False
    # The row as stored (table columns only): normalised, derived columns filled in. It gets
    # a fresh dict of its own and may change it in place.
    derive: Derive | None = None
    rule: RowRule | None = None        # the module's rules, on the stored row (all problems)
    # Columns kept only to find records again (duplicate-detection keys): no rule looks at
    # them, so they are worked out when a row is saved, not for every row a validate checks.
    search_keys: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    # False: rows once saved are locked (a posted movement); an edit is refused at its cell.
    can_update: bool = True
    # New rows are posted by the module's service, in sheet order, instead of a bulk insert:
    # post(session, actor, sheet name, [(workbook row, stored values)]) -> the new ids, in
    # order. It raises RowsRefused naming every refused row (the sync is then rolled back).
    post: Callable[[Session, Any, str, list[tuple[int, dict[str, Any]]]], list[int]] | None = None
    # New rows offered for filling in when the workbook is made (a count sheet lists every
    # place holding stock); they are left alone on sync until their editable cells change.
    prefill: Callable[[Session], list[dict[str, Any]]] | None = None
    # A new row whose cell in this column is empty is not filled in yet: left alone on sync.
    new_rows_need: str | None = None
    # A rule over all new rows together, as they would be stored (rows that belong together,
    # like the lines of one journal entry): [(workbook row, stored values)] -> [(row, column
    # key or None, message)]. Pure, so validate shows these problems before any sync.
    check_new: Callable[[list[tuple[int, dict[str, Any]]]], list[tuple[int, str | None, str]]] | None = None
    # Values of computed columns, from the loaded rows (id -> stored values) -> id -> {key: value}
    computed: Callable[[Session, dict[int, dict[str, Any]]], dict[int, dict[str, Any]]] | None = None
    order_by: tuple[str, ...] = ("id",)

    def __post_init__(self) -> None:
        entered = [c.key for c in self.columns if c.entered]
        if entered and (self.post is None or self.can_update or self.computed is None):
            # Only the module's service knows where an entered value goes, and only a locked
            # row can show it back from `computed` without a way to change it.
            raise ValueError(f"sheet {self.name}: entered columns {entered} need post, computed and can_update=False")

    def visible_columns(self, sees: Callable[[str | None], bool]) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if sees(c.sensitivity))

    @property
    def entered_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.columns if c.entered)


Lookup = Callable[[Session], list[Any]]


class RowsRefused(Exception):
    """A module's `post` refuses workbook rows: (row, column key to mark or None, message)."""

    def __init__(self, refused: list[tuple[int, str | None, str]]):
        self.refused = refused
        super().__init__("; ".join(message for _, _, message in refused))


@dataclass(frozen=True)
class ReportSheet:
    """A read-only sheet the workbook shows (on hand, a reorder list): rewritten from the
    database on every export, sync and refresh; typing into it changes nothing."""

    name: str
    area: str                                       # permission area needed to read it
    columns: tuple[tuple[str, float], ...]          # (label, width)
    rows: Callable[[Session], list[list[Any]]]      # the rows under the header


@dataclass(frozen=True)
class WorkbookSpec:
    module: str                        # "contacts"
    title: str
    sheets: tuple[SheetSpec, ...]
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    reports: tuple[ReportSheet, ...] = ()

    def sheet(self, name: str) -> SheetSpec:
        return next(s for s in self.sheets if s.name == name)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a sheet or column changes: a workbook made from an older spec is
        recognised and refused rather than misread."""
        shape = [
            [s.name, s.area, [[c.key, c.label, c.type, c.editable, c.choices, c.sensitivity,
                               *(["entered"] * c.entered), *(["set once"] * c.set_once)]
                              for c in s.columns]]
            for s in self.sheets
        ]
        if self.reports:  # (only when there are some: older specs keep their fingerprints)
            shape.append(["reports", [[r.name, [label for label, _ in r.columns]] for r in self.reports]])
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


_REGISTRY: dict[str, Callable[[], WorkbookSpec]] = {}


def register(module: str, factory: Callable[[], WorkbookSpec]) -> None:
    _REGISTRY[module] = factory


def workbook_spec(module: str) -> WorkbookSpec:
    import engine.workbooks  # noqa: F401  (registers every module's specs)
    from engine.errors import BackofficeError

    if module not in _REGISTRY:
        raise BackofficeError(f"there is no workbook for {module!r}; choose from: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[module]()


def modules() -> list[str]:
    import engine.workbooks  # noqa: F401

    return sorted(_REGISTRY)
