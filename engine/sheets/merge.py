"""The three-way cell merge: workbook against its base snapshot and the database. Pure.

Per cell, with b the value at export (base), w the workbook's and d the database's:
w == b -> nothing to apply (a database change, if any, is kept); d == b -> apply w;
w == d -> both made the same change; otherwise both changed it differently: a conflict
showing both values. Rows without an id are inserts; base rows missing from the sheet are
deletes where the sheet allows it. Values are compared in their canonical text form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from engine.sheets.issues import CellIssue
from engine.sheets.meta import SheetBase
from engine.sheets.read import SheetInput
from engine.sheets.values import canonical


@dataclass(slots=True)
class Insert:
    row: int
    values: dict[str, Any]
    stored: dict[str, Any] | None = None       # the row as it will be stored (set by the checks)


@dataclass
class Update:
    row: int
    record_id: int
    version: int                               # the database version the change applies to
    changes: dict[str, Any]                    # column key -> new value
    stored: dict[str, Any] | None = None       # the whole record as it will be stored


@dataclass
class Delete:
    record_id: int
    version: int


@dataclass
class SheetPlan:
    sheet: str
    inserts: list[Insert] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    issues: list[CellIssue] = field(default_factory=list)
    # (record id, column key) -> (version, value): the database's side of each conflict shown
    shown: dict[tuple[int, str], tuple[int, str]] = field(default_factory=dict)
    # A sheet read in chunks keeps no list of its changes, only how many (see `tally`).
    tallied: list[int] | None = None

    @property
    def counts(self) -> tuple[int, int, int]:
        """How many inserts, updates and deletes."""
        if self.tallied is not None:
            return self.tallied[0], self.tallied[1], self.tallied[2]
        return len(self.inserts), len(self.updates), len(self.deletes)

    @property
    def empty(self) -> bool:
        return not any(self.counts)

    def tally(self, part: SheetPlan) -> None:
        """Count a chunk's plan in (its changes are not kept), and the conflicts it showed."""
        if self.tallied is None:
            self.tallied = [0, 0, 0]
        for n, count in enumerate(part.counts):
            self.tallied[n] += count
        self.shown.update(part.shown)


DbRows = dict[int, tuple[int, dict[str, Any]]]   # id -> (version, values by column key)


def merge_sheet(
    data: SheetInput,
    base: SheetBase | None,
    db: DbRows,
    writable: set[str],
    out_of_reach: Set[int] = frozenset(),
    saved: Mapping[int, int] = MappingProxyType({}),
    shown: Mapping[int, Mapping[str, tuple[int, str]]] = MappingProxyType({}),
    changed_by: Callable[[int, str], str | None] | None = None,
    seen: set[int] | None = None,
    deletions: bool = True,
    base_rows: Mapping[int, tuple[int, list[str]]] | None = None,
) -> SheetPlan:
    """Plan the changes a workbook sheet asks for; `writable` are the column keys the user may change.

    `out_of_reach`: records that exist but are not among the rows this user may see (the
    sheet's `rows_for`), so missing from `db`: a change to one is refused as not theirs,
    rather than mistaken for a record deleted meanwhile.
    `saved`: new rows (row number -> record id) an earlier sync of this file already saved
    (see engine.sheets.receipts): each is that record, at its base's version.
    `shown`: record id -> column key -> (version, value) of the database's side of conflicts
    the workbook was shown at its last rejected sync; `changed_by(record id, key)` says who
    changed a conflicting value and when, for the note.
    A sheet read in chunks is merged a chunk at a time: `seen` (the records of the rows
    merged so far, shared by the calls) finds an ID given twice across chunks, and the base's
    records missing from the sheet are planned for deletion once, after the last chunk
    (`deletions` False before it); `base_rows`, the base's rows of the chunk's records, looked
    up at once (BaseRows.subset), spares a look-up per row.
    """
    spec = data.spec
    plan = SheetPlan(spec.name)
    if base_rows is None:
        base_rows = base.rows if base else {}
    base_cols = base.columns if base else []
    # (key, position in the base's value list) for each base column the sheet has
    compared = [(key, n) for n, key in enumerate(base_cols) if key in data.positions]
    seen = set() if seen is None else seen
    set_once = {c.key: c.locked_because for c in spec.columns if c.set_once}
    filled_in_by = spec.filled_in_by

    def issue(row: int | None, key: str | None, record_id, code: str, message: str, **extra) -> None:
        plan.issues.append(CellIssue(
            spec.name, data.cell(row, key) if row else None, data.label(key), record_id, code, message, **extra))

    for row in data.rows:
        rid = row.record_id if row.record_id is not None else saved.get(row.row)
        if rid is None:
            if filled_in_by and not row.invalid and all(row.values.get(k) is None for k in filled_in_by):
                continue  # offered for filling in (a count line, a measurement), not filled in yet
            if not spec.can_insert:
                issue(row.row, None, None, "insert", "new rows cannot be added to this sheet")
            else:
                plan.inserts.append(Insert(row.row, row.values))  # shared, never changed
            continue
        if rid in seen:
            issue(row.row, "id", rid, "duplicate-id", f"ID {rid} appears twice; each record has one row")
            continue
        seen.add(rid)
        exported = base_rows.get(rid)
        if exported is None:
            issue(row.row, "id", rid, "unknown-id",
                  f"ID {rid} was not exported in this workbook; leave ID empty for a new record")
            continue
        base_version, base_values = exported
        if row.record_id is not None and row.version != base_version:
            issue(row.row, "version", rid, "read-only", "Version is managed by Backoffice; undo this change")
            continue
        values = row.values
        edited = {key: values[key] for key, n in compared
                  if key in values and canonical(values[key]) != base_values[n]}
        if rid in out_of_reach:
            if edited or row.deleted:
                issue(row.row, next(iter(edited), None), rid, "permission",
                      f"record {rid} is outside the records you may see, so you may not change it; "
                      "undo this change")
            continue
        if edited and not spec.can_update:
            for key in edited:
                issue(row.row, key, rid, "posted", f"{data.label(key)} of a posted row cannot be changed; "
                      "undo this change, and add a new row that corrects it")
            continue
        fixed = [key for key in edited if key in set_once]
        if fixed:
            for key in fixed:
                issue(row.row, key, rid, "set-once", f"{data.label(key)} cannot be changed once saved: " + (
                      set_once[key] or "other records name this one by it; undo this change (add a new record "
                                       "if it must differ)"))
            continue
        if rid not in db:
            if edited or row.deleted:
                issue(row.row, next(iter(edited), None), rid, "deleted",
                      "this record was deleted in the database after the workbook was made", conflict=True)
            continue
        if row.deleted:
            _plan_delete(plan, issue, spec, row.row, rid, base_version, db[rid][0])
            continue
        if not edited:
            continue
        base_of = dict(zip(base_cols, base_values, strict=False))
        db_version, db_values = db[rid]
        changes: dict[str, Any] = {}
        for key, new in edited.items():
            current = canonical(db_values.get(key))
            if key not in writable:
                issue(row.row, key, rid, "read-only", f"you may not change {data.label(key)}; undo this change")
            elif current == base_of[key]:
                changes[key] = new
            elif current == canonical(new):
                continue  # both made the same change
            elif shown.get(rid, {}).get(key) == (db_version, current):
                # The person was shown the database's value with this conflict and kept (or
                # typed) theirs, and nobody has changed the record since: theirs is applied.
                changes[key] = new
            else:
                by = changed_by(rid, key) if changed_by else None
                plan.shown[(rid, key)] = (db_version, current)
                issue(row.row, key, rid, "conflict",
                      f"changed in the workbook to {canonical(new)!r} and in the database to {current!r}"
                      f"{f' by {by}' if by else ''} (was {base_of[key]!r}); to keep yours, leave it and "
                      "sync again; to take the database's, type it in (or refresh the workbook)",
                      conflict=True, values={"base": base_of[key], "workbook": canonical(new), "database": current})
        if changes:
            plan.updates.append(Update(row.row, rid, db_version, changes))

    if deletions and base is not None:
        for rid, base_version in base.rows.versions():
            if rid in seen or rid not in db:
                continue
            _plan_delete(plan, issue, spec, None, rid, base_version, db[rid][0])
    return plan


def _plan_delete(plan: SheetPlan, issue, spec, row: int | None, rid: int, base_version: int, db_version: int) -> None:
    if not spec.can_delete:
        issue(row, None, rid, "delete",
              f"record {rid} is missing from the sheet, but rows cannot be deleted here; put it back")
    elif db_version != base_version:
        issue(row, None, rid, "conflict", f"record {rid} was deleted in the workbook but changed in the "
              "database since; refresh the workbook and decide again", conflict=True)
    else:
        plan.deletes.append(Delete(rid, db_version))
