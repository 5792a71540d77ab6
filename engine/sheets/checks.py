"""Validation of what a sync would write: types were checked on reading; here come required
columns, references (foreign keys), uniqueness and the module's own rules, on the rows as they
would be after the merge. Every problem is reported at its cell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from itertools import compress, count
from operator import is_
from typing import Any

from engine.limits import Limit, Rows, check_value, limits_of
from engine.sheets.issues import CellIssue
from engine.sheets.merge import DbRows, Insert, SheetPlan, Update
from engine.sheets.read import SheetInput
from engine.sheets.spec import as_refusal
from engine.sheets.values import canonical

# Rows checked together, a column at a time: few enough that the rows' values are still at
# hand (in the processor's cache) from one column to the next.
BLOCK_ROWS = 1000


def check_plan(data: SheetInput, plan: SheetPlan, db: DbRows, lookups: Mapping[str, set],
               unique: bool = True) -> list[CellIssue]:
    """Every problem of the planned inserts and updates; also sets each one's `stored` row.
    `unique` False: the unique columns are checked for the whole sheet afterwards (a sheet
    read in chunks, see UniqueValues).

    100,000 rows add up: the rows are checked a block at a time, each check a column at a
    time over the block (`_doubtful_cells`); only the cells that may have a problem are
    then checked one by one (`check_cells`), as every cell once was. The module's rule
    runs over the whole block where it can (`rule_of_rows`). The problems come out row by
    row, in the order of the plan, as if each row were checked alone."""
    spec = data.spec
    issues: list[CellIssue] = []
    present = [c for c in data.columns if not c.computed]

    def problem(row: int, key: str | None, record_id: int | None, code: str, message: str) -> None:
        if key is not None and key not in data.positions:
            key = None
        issues.append(CellIssue(spec.name, data.cell(row, key), data.label(key), record_id, code, message))

    derive = spec.derive or (lambda values: values)
    scope = dict(spec.scope)

    # Only columns with something to check are visited.
    checked = [(c.key, c.label, c.required, lookups.get(c.references) if c.references else None) for c in present]
    checked = [(key, label, required, valid) for key, label, required, valid in checked
               if required or valid is not None]

    limits = sheet_limits(data)

    def check_cells(row: int, record_id: int | None, cells: Mapping[str, Any], keys: Container[str]) -> set[str]:
        """The sheet's own checks of one row's cells `keys` (changed cells; any other cell of
        the row has no problem): limits, then required and references. Returns the keys
        reported (one problem per cell is enough)."""
        reported: set[str] = set()
        for key, limit in limits:
            if key in keys and cells.get(key) is not None:
                for p in check_value(key, cells[key], limit):
                    reported.add(key)
                    problem(row, key, record_id, p.code, p.message)
        for key, label, required, valid in checked:
            if key not in keys or key in reported:
                continue
            value = cells[key]
            if value is None:
                if required:
                    reported.add(key)
                    problem(row, key, record_id, "required", f"{label} is required")
            elif valid is not None and (value.upper() if value.__class__ is str else value) not in valid:
                reported.add(key)
                problem(row, key, record_id, "reference",
                        f"{value!r} is not a valid {label}: pick one from the drop-down")
        return reported

    def check_rows(entries: list[Insert] | list[Update], changed: Rows, stored: Rows) -> None:
        """Check a block of rows: `changed`, each one's changed cells; `stored`, each as it
        would be stored (set as its `stored`)."""
        for entry, row_stored in zip(entries, stored, strict=True):
            entry.stored = row_stored
        if spec.rule_of_rows is not None:
            ruled = spec.rule_of_rows(stored)
        elif spec.rule is not None:
            ruled = [spec.rule(row_stored) for row_stored in stored]
        else:
            ruled = [()] * len(stored)
        doubtful = _doubtful_cells(changed, stored, limits, checked)
        for at in sorted(doubtful.keys() | set(compress(count(), ruled))):    # the rows with a problem
            entry, cells = entries[at], changed[at]
            record_id = entry.record_id if isinstance(entry, Update) else None
            reported = check_cells(entry.row, record_id, cells, doubtful[at]) if at in doubtful else set()
            for p in ruled[at]:
                if p.field not in reported and (p.field in cells or p.field not in data.positions):
                    problem(entry.row, p.field, record_id, p.code, p.message)

    # A block of rows at a time: its rows, new and as stored, are still at hand for each
    # column's check. A cell missing from a new row's `values` already has a reading
    # problem: it is not reported twice.
    for start in range(0, len(plan.inserts), BLOCK_ROWS):
        inserts = plan.inserts[start:start + BLOCK_ROWS]
        check_rows(inserts, Rows([i.values for i in inserts]), Rows([derive({**scope, **i.values}) for i in inserts]))
    for start in range(0, len(plan.updates), BLOCK_ROWS):
        updates = plan.updates[start:start + BLOCK_ROWS]
        check_rows(updates, Rows([u.changes for u in updates]),
                   Rows([derive({**scope, **db[u.record_id][1], **u.changes}) for u in updates]))

    if spec.check_new is not None and plan.inserts:
        for refusal in spec.check_new([(i.row, i.stored) for i in plan.inserts]):
            row, key, message, code = as_refusal(refusal, "invalid")
            problem(row, key, None, code, message)
    if unique:
        issues += _check_unique(data, plan, db)
    return issues


def _doubtful_cells(changed: Rows, stored: Rows, limits: list[tuple[str, Limit]],
                    checked: list[tuple[str, str, bool, Container | None]]) -> dict[int, set[str]]:
    """Row position -> the keys of its changed cells that may have a problem of the sheet's
    own checks (limits, required, references): every such cell (perhaps a few more), found
    a column at a time; a cell left out has none. A column whose cells are the very values
    stored (the derive left them as they were) has their limit problems: it takes the
    stored values' look (`stored.outside`), which the rule has taken already where it
    checks its table's limits, rather than looking again."""
    doubtful: dict[int, set[str]] = defaultdict(set)

    def doubtful_at(key: str, positions: Iterable[int]) -> None:
        for at in positions:
            doubtful[at].add(key)

    for key, limit in limits:
        values = changed.column(key)    # None for a cell a row has not changed
        same = all(map(is_, values, stored.column(key)))
        doubtful_at(key, stored.outside(key, limit) if same else changed.outside(key, limit))
    for key, _label, required, valid in checked:
        values = changed.column(key)
        if required and not all(values) and None in values:
            doubtful_at(key, (at for at, value in enumerate(values) if value is None and key in changed[at]))
        if valid is not None:
            try:
                known = all(value is None or (value.upper() if value.__class__ is str else value) in valid
                            for value in set(values))
            except TypeError:   # a value that cannot be told apart from the others: each is looked at
                known = False
            if not known:
                doubtful_at(key, (at for at, value in enumerate(values) if value is not None
                                  and (value.upper() if value.__class__ is str else value) not in valid))
    return doubtful


class UniqueValues:
    """What the rows of a sheet read in chunks ask of its unique columns (new rows' values,
    changed values, deleted records), gathered chunk by chunk and checked once against every
    record of the sheet (`check`). Only the unique columns' values are kept, and only for a
    sheet that has such a column."""

    def __init__(self, data: SheetInput):
        self.keys = [c.key for c in data.columns if c.unique and not c.computed]
        self.plan = SheetPlan(data.spec.name)

    def add(self, plan: SheetPlan) -> None:
        if not self.keys:
            return
        for insert in plan.inserts:
            self.plan.inserts.append(Insert(insert.row, {k: insert.values.get(k) for k in self.keys}))
        for update in plan.updates:
            changes = {k: update.changes[k] for k in self.keys if k in update.changes}
            if changes:
                self.plan.updates.append(Update(update.row, update.record_id, update.version, changes))
        self.plan.deletes += plan.deletes

    def check(self, data: SheetInput, db: DbRows) -> list[CellIssue]:
        """`db`: every record of the sheet the user may see, with (at least) its unique columns."""
        return _check_unique(data, self.plan, db) if self.keys and not self.plan.empty else []


_TYPED = {"text": Limit("text"), "date": Limit("date"), "integer": Limit("integer")}


def sheet_limits(data: SheetInput) -> list[tuple[str, Limit]]:
    """The limits of the sheet's typed columns (see engine.limits): its table column's where
    it is one, a cell's otherwise (an entered column: a journal line's entry label)."""
    of_table = limits_of(data.spec.model) if data.spec.model is not None else {}
    found = []
    for column in data.columns:
        if column.computed:
            continue
        limit = of_table.get(column.key) or _TYPED.get(column.type)
        if limit is not None:
            found.append((column.key, limit))
    return found


def _check_unique(data: SheetInput, plan: SheetPlan, db: DbRows) -> list[CellIssue]:
    unique = [c for c in data.columns if c.unique and not c.computed]
    if not unique:
        return []
    deleted = {d.record_id for d in plan.deletes}
    issues = []
    for column in unique:
        final: dict[int | tuple, Any] = {rid: vals.get(column.key) for rid, (_v, vals) in db.items() if rid not in deleted}
        rows_of: dict[int | tuple, int] = {}
        for update in plan.updates:
            if column.key in update.changes:
                final[update.record_id] = update.changes[column.key]
                rows_of[update.record_id] = update.row
        for insert in plan.inserts:
            final[("new", insert.row)] = insert.values.get(column.key)
            rows_of[("new", insert.row)] = insert.row
        holders: dict[str, list] = defaultdict(list)
        for key, value in final.items():
            if value is not None:
                holders[canonical(value).casefold()].append(key)
        for keys in holders.values():
            if len(keys) < 2:
                continue
            for key in keys:
                if key in rows_of:
                    others = [k for k in keys if k != key]
                    issues.append(CellIssue(
                        data.spec.name, data.cell(rows_of[key], column.key), column.label,
                        key if isinstance(key, int) else None, "duplicate",
                        f"{column.label} {final[key]!r} is already used (also by {_describe(others)}); it must be unique"))
    return issues


def _describe(keys: list) -> str:
    return ", ".join(f"new row {k[1]}" if isinstance(k, tuple) else f"record {k}" for k in keys)
