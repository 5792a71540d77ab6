"""Sheet specs: how a module's tables appear in a workbook.

A spec is the single place a column is described: its Excel label, type, whether staff may
edit it, the drop-down it offers, the records it must point at, and its sensitivity (taken
from config/policies.toml, see `with_policy`). Export, reading, validation, merge,
permissions and layouts are all derived from it, so no column list is ever written twice.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine import registry
from engine.errors import BackofficeError
from engine.problems import Problem
from engine.security.policies import active_policies

TYPES = ("text", "integer", "decimal", "money", "date", "bool", "choice")
# How numbers are shown (the same codes in Excel and LibreOffice): money with two places,
# quantities with as many places as they have (one at least, so 74,324.3 reads as a number),
# rates as percentages (0.2 shows 20.0%). A column takes its type's, or the one it names.
NUMBER_FORMATS = {"integer": "0", "decimal": "#,##0.0###", "quantity": "#,##0.0###", "money": "#,##0.00",
                  "percent": "0.0#%", "date": "yyyy-mm-dd", "text": "@"}


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
    # Why a set-once column is locked, in the business's words, shown at the cell (a leave
    # request's dates were checked against the balance when it was made). None: the default,
    # that other records name this one by it.
    locked_because: str | None = None
    # How the number is shown, a key of NUMBER_FORMATS ("percent" for a tax rate); None: by type.
    number_format: str | None = None
    # The cell shows the label of the record its id names (an item's SKU and name, a
    # contact's name), from the lookup of Choices named here, and a label read back becomes
    # the id again (engine.sheets.labels). The column's type stays "integer", the id stored.
    labels: str | None = None

    def __post_init__(self) -> None:
        if self.labels is not None and self.type != "integer":
            raise ValueError(f"column {self.key}: a labelled column stores an id (type integer)")
        if self.number_format is not None and self.number_format not in NUMBER_FORMATS:
            raise ValueError(f"column {self.key}: unknown number format {self.number_format!r}")
        if self.type not in TYPES:
            raise ValueError(f"column {self.key}: unknown type {self.type!r}")
        if self.computed and self.editable:
            object.__setattr__(self, "editable", False)
        if self.computed and self.entered:
            raise ValueError(f"column {self.key}: entered columns are read back; computed ones are not")


RowRule = Callable[[Mapping[str, Any]], list[Problem]]


@dataclass(frozen=True)
class Saved:
    """What a sync saved of one sheet, as stored values (with id and version): the rows
    inserted, the rows updated as (before, after), and the rows deleted as they were."""

    inserted: list[dict[str, Any]]
    updated: list[tuple[dict[str, Any], dict[str, Any]]]
    deleted: list[dict[str, Any]]

Derive = Callable[[dict[str, Any]], dict[str, Any]]
# The WHERE clause limiting a sheet to the rows one user may see (a manager's own team), or
# None for all of them: (session, actor) -> a SQLAlchemy condition on the sheet's table.
RowsFor = Callable[[Session, Any], Any]


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
    # The same rules over many stored rows at once: [stored] -> each row's problems, exactly
    # what `rule` finds in it (the rows may come as engine.limits.Rows, seen a column at a
    # time). Given where that is faster, for a sheet of 100,000 rows; the sheet's checks
    # then use it instead of `rule`.
    rule_of_rows: Callable[[Sequence[dict[str, Any]]], list[Sequence[Problem]]] | None = None
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
    # A new row whose cell in this column is empty is not filled in yet: left alone on sync
    # (a count line until its count is typed). A tuple of columns: left alone until any one
    # of them is filled in (a measurement: its value, or its pass/fail).
    new_rows_need: str | tuple[str, ...] | None = None
    # New rows with the same value in this column belong together (the lines of one journal
    # entry): a problem in one of them holds back the others too when the rest of a rejected
    # sync is rehearsed for its posting problems (RoundTrip._problems_beside).
    grouped_by: str | None = None
    # A rule over all new rows together, as they would be stored (rows that belong together,
    # like the lines of one journal entry): [(workbook row, stored values)] -> [(row, column
    # key or None, message)]. Pure, so validate shows these problems before any sync.
    check_new: Callable[[list[tuple[int, dict[str, Any]]]], list[tuple[int, str | None, str]]] | None = None
    # Values of computed columns, from the loaded rows (id -> stored values) -> id -> {key: value}
    computed: Callable[[Session, dict[int, dict[str, Any]]], dict[int, dict[str, Any]]] | None = None
    order_by: tuple[str, ...] = ("id",)
    # Rows limited per user (see RowsFor): a manager's Team workbook holds their own reports
    # only. Applied wherever rows are loaded for a user (export, validate, sync, refresh), so
    # rows outside it are neither shown nor changeable; None: every row of the scope.
    rows_for: RowsFor | None = None
    # Changes to saved rows that only the module's service may make (deciding a leave
    # request checks who decides and that it is still waiting), instead of the bulk update:
    # update(session, actor, sheet name, [merge.Update]), before the sheet's new rows are
    # saved. Each record is still at the version the merge saw (checked and locked first).
    # It raises RowsRefused naming every refused row; the sync is then rolled back.
    update: Callable[[Session, Any, str, list[Any]], None] | None = None
    # Deleted rows that only the module's service may remove (an entry of a contact's list:
    # removing the primary makes another one primary), instead of the bulk delete:
    # delete(session, actor, sheet name, [merge.Delete]), after the sheet's updates; each
    # record was checked to be at the version the merge saw before any change was made.
    delete: Callable[[Session, Any, str, list[Any]], None] | None = None
    # Saved rows the module no longer lets change (a decided leave request), from the row's
    # stored values: the file locks all their cells, as it does every row of a sheet that
    # cannot be updated (posted movements) and set-once cells of saved rows.
    settled: Callable[[Mapping[str, Any]], bool] | None = None
    # What the module keeps in step with the sheet's records (a contact's e-mail and the
    # primary entry of its list of addresses): after(session, actor, sheet name, Saved),
    # run once the sheet's changes are saved, in the same transaction, whichever path saved
    # them (bulk or services). It returns the records it changed, {table name: ids} (or
    # None), read again for the refresh of every sheet over those tables, so the synced
    # workbook shows them. It raises RowsRefused, as `post` does.
    after: Callable[[Session, Any, str, Saved], Mapping[str, Iterable[int]] | None] | None = None

    def __post_init__(self) -> None:
        if self.model is not None:
            object.__setattr__(self, "columns", with_policy(self.model.__table__.name, self.columns))
        entered = [c.key for c in self.columns if c.entered]
        if entered and (self.post is None or self.computed is None or (self.can_update and self.update is None)):
            # Only the module's service knows where an entered value goes; a saved row shows
            # it back from `computed`, and only the module's `update` can change it there.
            raise ValueError(f"sheet {self.name}: entered columns {entered} need post, computed, "
                             "and update or can_update=False")

    def visible_columns(self, sees: Callable[[str | None], bool]) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if sees(c.sensitivity))

    def rows_limit(self, session: Session, actor: Any) -> Any:
        """The condition limiting the rows to those `actor` may see (None: no limit)."""
        return self.rows_for(session, actor) if self.rows_for is not None else None

    def locked_keys(self, values: Mapping[str, Any]) -> frozenset[str]:
        """The columns locked in the file on a saved row holding `values` (see `settled`)."""
        if not self.can_update or (self.settled is not None and self.settled(values)):
            return self._every_key
        return self._set_once_keys

    # Worked out once a spec: a refresh asks `locked_keys` for every row it saved.
    @functools.cached_property
    def _every_key(self) -> frozenset[str]:
        return frozenset(c.key for c in self.columns)

    @functools.cached_property
    def _set_once_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.columns if c.set_once)

    @property
    def filled_in_by(self) -> tuple[str, ...]:
        """The columns of `new_rows_need`, as a tuple (empty: every new row counts)."""
        need = self.new_rows_need
        return (need,) if isinstance(need, str) else tuple(need or ())

    @property
    def entered_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.columns if c.entered)


def with_policy(table: str, columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns with their sensitivity as config/policies.toml declares it.

    Which fields are sensitive is declared once, in the policy file: a spec column over a
    table column takes its class from there, so no module can forget one (nor type it a
    second time and let the two drift apart). A spec that names a different class is a
    mistake, refused when the spec is built.
    """
    policies = active_policies()
    adjusted = []
    for column in columns:
        declared = policies.sensitivity(table, column.key)
        if declared is not None and column.sensitivity not in (None, declared):
            raise ValueError(f"column {table}.{column.key}: the spec says {column.sensitivity!r}, "
                             f"config/policies.toml says {declared!r}; leave it to the policy")
        adjusted.append(column if declared is None or column.sensitivity == declared
                        else dataclasses.replace(column, sensitivity=declared))
    return tuple(adjusted)


def audited_keys(sheet: SheetSpec, columns: Iterable[Column]) -> list[str]:
    """Keys of those `columns` whose every read is audited (policy `audit_reads`, e.g. a
    medical reason): handing one of their values to a user writes an audit row naming them."""
    if sheet.model is None:
        return []
    policies, table = active_policies(), sheet.model.__table__.name
    return [c.key for c in columns if policies.audited(table, c.key)]


def sensitive_keys(sheet: SheetSpec, columns: Iterable[Column]) -> list[str]:
    """Keys of those `columns` that hold sensitive data (a class in config/policies.toml):
    a workbook holding one is written readable by its owner only."""
    if sheet.model is None:
        return []
    policies, table = active_policies(), sheet.model.__table__.name
    return [c.key for c in columns if policies.sensitivity(table, c.key) is not None]


@dataclass(frozen=True)
class PerUser:
    """Values that depend on who asks: a manager's drop-down of employees lists their own
    team only, and so do the employees a reference check accepts and a report's rows.
    Called with (session, actor), where a plain lookup or report gets the session only."""

    values: Callable[[Session, Any], list[Any]]


Lookup = Callable[[Session], list[Any]] | PerUser


def asked_by(source: Lookup, session: Session, actor: Any) -> list[Any]:
    """The values of a lookup or a report's rows, for `actor`."""
    return source.values(session, actor) if isinstance(source, PerUser) else source(session)


def for_readers_of(area: str, source: Lookup) -> PerUser:
    """A lookup listing records of `area`, offered only to those who may read that area: a
    sheet of one area with a drop-down of another's records (a task's invoice) would
    otherwise hand those records to anyone who reads the sheet. A reader who may not gets an
    empty list, and a record of theirs linked to one shows it by its #ID."""
    def values(session: Session, actor: Any) -> list[Any]:
        return asked_by(source, session, actor) if actor.may("read", area) else []

    return PerUser(values)


# What a sheet's `post` hook gets, and what it refuses: (workbook row, stored values) and
# (workbook row, column key or None, message[, code]); a refusal without a code is "refused".
NewRows = list[tuple[int, dict[str, Any]]]
Refusal = tuple[int, str | None, str] | tuple[int, str | None, str, str]
Refusals = list[Refusal]


def as_refusal(refusal: Refusal, default_code: str = "refused") -> tuple[int, str | None, str, str]:
    """(row, column key, message, code), whichever form it was given in."""
    return refusal if len(refusal) == 4 else (*refusal, default_code)  # type: ignore[return-value]


def refusals_of(row: int, problems: Iterable[Problem], columns: Mapping[str, str] | None = None,
                default: str | None = None) -> Refusals:
    """A service's structured problems (`ValidationFailed.problems`, or any refusal's
    `.problems`), each placed at the cell of its field in workbook row `row`, with its code.
    `columns`: the service's field -> the sheet's column key, where they differ; a problem
    of no field (or of a field the sheet does not show) is marked at `default`'s cell."""
    columns = columns or {}
    return [(row, columns.get(p.field, p.field) or default, p.message, p.code) for p in problems]


class RowsRefused(Exception):
    """A module's `post` or `update` refuses workbook rows: each (row, column key to mark or
    None, message[, code])."""

    def __init__(self, refused: Refusals):
        self.refused = [as_refusal(r) for r in refused]
        super().__init__("; ".join(message for _, _, message, _ in self.refused))


@dataclass(frozen=True)
class ReportSheet:
    """A read-only sheet the workbook shows (on hand, a reorder list): rewritten from the
    database on every export, sync and refresh; typing into it changes nothing."""

    name: str
    area: str                                       # permission area needed to read it
    columns: tuple[tuple[str, float], ...]          # (label, width)
    rows: Callable[[Session], list[list[Any]]] | PerUser   # the rows under the header
    # Column label -> a key of NUMBER_FORMATS ("money", "quantity", "percent"); others: General.
    formats: Mapping[str, str] = field(default_factory=dict)

    def number_formats(self) -> list[str | None]:
        """The number format code of each column, in order (None: Excel's General)."""
        return [NUMBER_FORMATS[self.formats[label]] if label in self.formats else None
                for label, _width in self.columns]

    def shown_to(self, session: Session, actor: Any) -> list[list[Any]]:
        return asked_by(self.rows, session, actor)


@dataclass(frozen=True)
class WorkbookSpec:
    module: str                        # "contacts"
    title: str
    sheets: tuple[SheetSpec, ...]
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    reports: tuple[ReportSheet, ...] = ()

    def sheet(self, name: str) -> SheetSpec:
        return next(s for s in self.sheets if s.name == name)

    def lookup_values(self, session: Session, actor: Any) -> dict[str, list[Any]]:
        """Each lookup's values for `actor`: plain values (country codes, account codes) or
        Choices (records with their labels, see engine.sheets.labels)."""
        return {name: asked_by(source, session, actor) for name, source in self.lookups.items()}

    @property
    def fingerprint(self) -> str:
        """Changes whenever a sheet or column changes: a workbook made from an older spec is
        recognised and refused rather than misread."""
        shape = [
            [s.name, s.area, [[c.key, c.label, c.type, c.editable, c.choices, c.sensitivity,
                               *(["entered"] * c.entered), *(["set once"] * c.set_once),
                               *([f"labels {c.labels}"] * bool(c.labels))]
                              for c in s.columns]]
            for s in self.sheets
        ]
        if self.reports:  # (only when there are some: older specs keep their fingerprints)
            shape.append(["reports", [[r.name, [label for label, _ in r.columns]] for r in self.reports]])
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


# Workbooks registered directly (a test, a tool); the modules' own come from the registry
# the composition root put in force (`registry.workbook(name, "engine.<module>.sheets:...")`).
_REGISTRY: dict[str, Callable[[], WorkbookSpec]] = {}


def register(name: str, factory: Callable[[], WorkbookSpec]) -> None:
    _REGISTRY[name] = factory


def _factories() -> dict[str, Callable[[], WorkbookSpec]]:
    declared = {w.name: w.target for w in registry.current().workbooks}
    return {name: (lambda target=target: registry.load(target)()) for name, target in declared.items()} | _REGISTRY


def workbook_spec(name: str) -> WorkbookSpec:
    """The spec of the workbook `name`, from the modules switched on."""
    factories = _factories()
    if name not in factories:
        off = registry.current().switched_off("workbooks", name)
        why = f" (the {off} module is switched off)" if off else ""
        raise BackofficeError(f"there is no workbook for {name!r}{why}; choose from: {', '.join(sorted(factories))}.")
    return factories[name]()


def modules() -> list[str]:
    """The names of the workbooks on offer (the modules switched on)."""
    return sorted(_factories())
