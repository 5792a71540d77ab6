"""Validation of what a sync would write: types were checked on reading; here come required
columns, references (foreign keys), uniqueness and the module's own rules, on the rows as they
would be after the merge. Every problem is reported at its cell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Mapping
from typing import Any

from engine.limits import Limit, check_value, limits_of
from engine.sheets.issues import CellIssue
from engine.sheets.merge import DbRows, Insert, SheetPlan, Update
from engine.sheets.read import SheetInput
from engine.sheets.spec import as_refusal
from engine.sheets.values import canonical


def check_plan(data: SheetInput, plan: SheetPlan, db: DbRows, lookups: Mapping[str, set],
               unique: bool = True) -> list[CellIssue]:
    """Every problem of the planned inserts and updates; also sets each one's `stored` row.
    `unique` False: the unique columns are checked for the whole sheet afterwards (a sheet
    read in chunks, see UniqueValues)."""
    spec = data.spec
    issues: list[CellIssue] = []
    present = [c for c in data.columns if not c.computed]

    def problem(row: int, key: str | None, record_id: int | None, code: str, message: str) -> None:
        if key is not None and key not in data.positions:
            key = None
        issues.append(CellIssue(spec.name, data.cell(row, key), data.label(key), record_id, code, message))

    derive = spec.derive or (lambda values: values)
    scope = dict(spec.scope)

    # Only columns with something to check are visited, once per row: 100,000 rows add up.
    checked = [(c.key, c.label, c.required, lookups.get(c.references) if c.references else None) for c in present]
    checked = [(key, label, required, valid) for key, label, required, valid in checked
               if required or valid is not None]

    limits = sheet_limits(data)

    def check_row(row: int, record_id: int | None, full: dict[str, Any], changed: Container[str]) -> dict[str, Any]:
        """Check one row as it would be stored; returns that stored form."""
        stored = derive({**scope, **full})
        reported: set[str] = set()   # one problem per cell is enough
        for key, limit in limits:
            if key in changed and full.get(key) is not None:
                for p in check_value(key, full[key], limit):
                    reported.add(key)
                    problem(row, key, record_id, p.code, p.message)
        for key, label, required, valid in checked:
            if key not in changed:
                continue
            value = full.get(key)
            if key in reported:
                continue
            if value is None:
                if required:
                    reported.add(key)
                    problem(row, key, record_id, "required", f"{label} is required")
            elif valid is not None and (value.upper() if value.__class__ is str else value) not in valid:
                reported.add(key)
                problem(row, key, record_id, "reference",
                        f"{value!r} is not a valid {label}: pick one from the drop-down")
        if spec.rule is not None:
            for p in spec.rule(stored):
                if p.field not in reported and (p.field in changed or p.field not in data.positions):
                    problem(row, p.field, record_id, p.code, p.message)
        return stored

    for insert in plan.inserts:
        # A cell missing from `values` already has a reading problem: don't report it twice.
        insert.stored = check_row(insert.row, None, insert.values, insert.values)
    for update in plan.updates:
        full = {**db[update.record_id][1], **update.changes}
        update.stored = check_row(update.row, update.record_id, full, update.changes)

    if spec.check_new is not None and plan.inserts:
        for refusal in spec.check_new([(i.row, i.stored) for i in plan.inserts]):
            row, key, message, code = as_refusal(refusal, "invalid")
            problem(row, key, None, code, message)
    if unique:
        issues += _check_unique(data, plan, db)
    return issues


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
