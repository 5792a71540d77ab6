"""Writing results back into the user's workbook: problem marks, the Issues sheet, refreshed
values and the new base snapshot. Only the parts we own are rewritten (see xlsx_patch);
everything else the user put in the file survives byte for byte."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.office.xlsx_cell_store import CellPatches
from engine.office.xlsx_patch import CellPatch, OwnedSheet, PatchResult, SheetPatch, patch_xlsx
from engine.sheets.base_rows import BaseRows
from engine.sheets.export import SPARE_ROWS
from engine.sheets.issues import CellIssue
from engine.sheets.labels import Labels
from engine.sheets.meta import ISSUES_SHEET, LISTS_SHEET, META_SHEET, SheetBase, WorkbookMeta
from engine.sheets.read import SheetInput, WorkbookInput
from engine.sheets.values import canonical, is_blank

ISSUES_HEADER = ["Sheet", "Cell", "Column", "Record", "Problem", "Message"]


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def issues_sheet(issues: list[CellIssue]) -> OwnedSheet:
    if not issues:
        return OwnedSheet(rows=[ISSUES_HEADER, ["", "", "", "", "", f"No problems found ({now_text()})."]],
                          column_widths={1: 16, 2: 8, 3: 18, 4: 9, 5: 14, 6: 90}, bold_first_row=True,
                          printed=True, placement="last")
    rows: list[list[Any]] = [ISSUES_HEADER]
    links = {}
    for n, issue in enumerate(issues, start=2):
        # The kind of problem in words ("insufficient stock"); `--json` keeps the code itself.
        kind = "conflict" if issue.conflict else issue.code.replace("_", " ").replace("-", " ")
        rows.append([issue.sheet, issue.cell or "", issue.column or "", issue.record_id or "", kind, issue.message])
        if issue.cell:
            links[f"B{n}"] = f"'{issue.sheet}'!{issue.cell}"
    # First and active: the person opening the file sees what to fix before anything else.
    return OwnedSheet(rows=rows, links=links, column_widths={1: 16, 2: 8, 3: 18, 4: 9, 5: 14, 6: 90},
                      bold_first_row=True, printed=True, placement="first")


def annotate(book: WorkbookInput, issues: list[CellIssue], dst: Path | None = None) -> None:
    """Mark every problem at its cell with a note; list them all on the Issues sheet.

    The previous run's marks are cleared first, so fixed cells lose their colour.
    """
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for issue in issues:
        if issue.cell:
            notes[(issue.sheet, issue.cell)].append(issue.message)
    patches = {name: SheetPatch(clear_marks=True) for name in book.sheets}
    for (sheet, cell), messages in notes.items():
        patches.setdefault(sheet, SheetPatch(clear_marks=True)).cells[cell] = CellPatch(
            mark="problem", note="\n".join(messages))
    _write(book, patches, issues, book.meta, dst)


def _write(book: WorkbookInput, patches: dict[str, SheetPatch], issues: list[CellIssue],
           meta: WorkbookMeta, dst: Path | None, reports: dict[str, OwnedSheet] | None = None) -> None:
    # Marks on sheets we do not patch this time are carried over untouched.
    patches = {name: p for name, p in patches.items() if name in book.package.sheet_names}

    def meta_sheet(result: PatchResult) -> dict[str, OwnedSheet]:
        meta.marks, meta.notes = result.marks, result.notes
        return {META_SHEET: OwnedSheet(rows=meta.to_rows(book.seal.key), state="veryHidden", protected=True)}

    owned = {**(reports or {}), ISSUES_SHEET: issues_sheet(issues)}
    if book.live is not None:   # a workbook open in Excel: the add-in makes the changes in it
        book.live.record(patches, owned, meta.marks, meta_sheet, (LISTS_SHEET,), meta.notes)
        return
    patch_xlsx(book.path, dst or book.path, patches, owned=owned, previous_marks=meta.marks, owned_after=meta_sheet,
               very_hidden=(LISTS_SHEET,), previous_notes=meta.notes)


@dataclass
class RefreshCounts:
    """What a refresh brought into a sheet, counted in rows of the file: records others added
    (appended), rows showing a value the database changed, rows emptied (their record was
    deleted or is no longer the user's to see), and cells marked where an unsynced edit and a
    database change differ."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    conflicts: int = 0

    def __add__(self, other: RefreshCounts) -> RefreshCounts:
        return RefreshCounts(self.added + other.added, self.updated + other.updated,
                             self.removed + other.removed, self.conflicts + other.conflicts)

    @property
    def anything(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.conflicts)

    def as_json(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "removed": self.removed, "conflicts": self.conflicts}


@dataclass
class RefreshedSheet:
    patch: SheetPatch
    base: SheetBase
    counts: RefreshCounts = field(default_factory=RefreshCounts)


def refresh_sheet(
    data: SheetInput,
    old_base: SheetBase | None,
    db: dict[int, tuple[int, dict[str, Any]]],
    computed: dict[int, dict[str, Any]],
    inserted_ids: dict[int, int],
    keep_edits: bool,
    clear_marks: bool = True,
    out_of_reach: Set[int] = frozenset(),
    labels: Mapping[str, Labels] = MappingProxyType({}),
    alongside: Set[int] = frozenset(),
    into: RefreshedSheet | None = None,
) -> RefreshedSheet:
    """Bring one sheet up to the database.

    After a sync (`keep_edits=False`) every cell ends equal to the database. For `refresh`
    (`keep_edits=True`) the user's unsynced edits stay; a cell the database changed is
    written and marked, and a cell both changed differently is marked as a conflict.
    Records others added are appended and marked (those in `alongside`, added with this
    sync's own changes, unmarked); rows of records others deleted are emptied and marked.
    Rows of records that exist but are not among those the user may see (`out_of_reach`: a
    report who moved to another team) are emptied too, so the file keeps nothing of them.
    `labels`: column key -> the Labels of a labelled column; its cells get the record's label
    (values compared, and the base, stay ids).
    `into`: a sheet read in chunks is refreshed a chunk at a time into one patch and base
    (`data` the chunk's rows, `db` their records); the records others added are appended by
    a last call with no rows and those records.
    """
    keys = [c.key for c in data.columns if not c.computed]
    computed_keys = [c.key for c in data.columns if c.computed]
    entered = data.spec.entered_keys
    column_of = {key: index + 1 for key, index in data.positions.items()}  # 1-based, as the patcher counts
    refreshed = into or RefreshedSheet(SheetPatch(clear_marks=clear_marks), SheetBase(columns=keys))
    patch, base, counts = refreshed.patch, refreshed.base, refreshed.counts
    cells = patch.cells
    # A value without mark or note goes straight into the patch's store (two million IDs and
    # Versions after a full sheet's sync), without a CellPatch made for each.
    add_value = cells.add_value if isinstance(cells, CellPatches) else (
        lambda row, column, value: cells.__setitem__((row, column), CellPatch(value)))
    old_rows = old_base.rows if old_base else {}
    old_columns = old_base.columns if old_base else []
    # The old base rows of the records these rows show, looked up at once: a compact base
    # (BaseRows) searches its index once for the lot, not once a row (and a fresh workbook's
    # empty base is not asked a million times for rows it does not have).
    old_of = _old_rows_of(old_rows, [row.record_id or inserted_ids.get(row.row) for row in data.rows])

    def put(row: int, key: str, value: Any, mark: str | None = None, note: str | None = None) -> None:
        if key in labels:
            value = labels[key].show(value)
        if key in column_of:
            if mark:
                cells[(row, column_of[key])] = CellPatch(value=value, mark=mark, note=note)
            else:
                add_value(row, column_of[key], value)

    def as_cell(key: str, text: str) -> str:
        """A canonical value as the cell shows it (a labelled column's id as its label)."""
        return labels[key].show(int(text)) if key in labels and text.isdigit() else text

    def flag(row: int, key: str, kind: str, note: str) -> None:
        if key in column_of:
            cells[(row, column_of[key])] = CellPatch(mark=kind, note=note)

    every_key = frozenset(keys)

    def lock(row: int, values: dict[str, Any]) -> None:
        """Lock the cells the module no longer lets change on a row now saved or settled
        (a movement just posted, a leave request just decided), as the export does."""
        locked = data.spec.locked_keys(values)
        if locked >= every_key and "delete" in column_of:
            locked = locked | {"delete"}
        for key in locked:
            if key in column_of:
                cell = cells.get((row, column_of[key]))
                if cell is None:
                    cells[(row, column_of[key])] = CellPatch(lock=True)
                else:
                    cell.lock = True

    shown: set[int] = set()
    lock_after: list[tuple[int, dict[str, Any]]] = []
    for row in data.rows:
        rid = row.record_id or inserted_ids.get(row.row)
        if rid is None:
            continue  # a new row not synced yet (refresh): left as typed
        r = row.row
        if rid not in db:
            for key in ("id", "version", *keys, *computed_keys, "delete"):
                put(r, key, None)
            counts.removed += not row.deleted
            if rid in out_of_reach:   # emptied to the last cell: the file keeps nothing of it
                put(r, keys[0] if keys else "id", None, "changed",
                    f"Record {rid} is not among the records you may see: removed from this workbook.")
            elif not row.deleted and row.record_id is not None:
                flag(r, keys[0] if keys else "id", "changed", f"Record {rid} was deleted in the database.")
            continue
        shown.add(rid)
        version, values = db[rid]
        if entered:  # shown as a stored column, from what the module computed
            values = {**values, **{key: computed.get(rid, {}).get(key) for key in entered}}
        for key, value in computed.get(rid, {}).items():
            if key in entered:
                continue
            shown_value = row.computed.get(key)
            if shown_value.__class__ is float:   # a number as Excel keeps it: 119.0 shows 119
                shown_value = Decimal(repr(shown_value))
            if canonical(value) != canonical(None if is_blank(shown_value) else shown_value):
                put(r, key, value)
        previous = old_of.get(rid)
        if previous is not None and previous[0] == version and row.version == version and old_columns == keys:
            # Nobody changed the record since the workbook's base: the database still equals
            # the base, so nothing to write and the base entry stands (the common case).
            base.rows[rid] = previous
            continue
        if row.record_id is None:
            put(r, "id", rid)
        if row.version != version:
            put(r, "version", version)
        texts = [v if v.__class__ is str else canonical(v) for v in map(values.get, keys)]
        base.rows[rid] = (version, texts)
        if row.record_id is None or row.version != version:
            lock_after.append((r, values))   # saved or changed since: lock what is now final
        for key in row.retyped:   # a label typed loosely ("sku-1", "#12"): shown as the label
            put(r, key, values.get(key))
        try:
            if row.values.items() <= values.items():
                continue  # every cell already shows what is stored (the common case after a sync)
        except TypeError:  # an unhashable value: compare cell by cell below
            pass
        old: dict[str, str] | None = None   # the old base of this row, looked up only if needed
        changed_here = False
        for key, db_text in zip(keys, texts, strict=True):
            typed = canonical(row.values.get(key))
            if typed == db_text:
                continue
            if old is None:
                old = dict(zip(old_columns, old_of.get(rid, (0, []))[1], strict=False))
            was = old.get(key)
            if keep_edits and was is not None and typed != was:   # the user's unsynced edit
                if db_text != was:
                    flag(r, key, "problem", f"Conflict: the database now has {as_cell(key, db_text)!r}; you "
                                            f"typed {as_cell(key, typed)!r}. Keep one and sync.")
                    counts.conflicts += 1
            elif was is not None and db_text != was:             # someone else changed it
                put(r, key, values.get(key), "changed", f"Changed in the database (was {as_cell(key, was)!r}).")
                changed_here = True
            else:                                                # stored in its tidy form
                put(r, key, values.get(key))
        counts.updated += changed_here

    next_row = data.last_row + 1
    for rid, (version, values) in db.items():
        if rid in shown or rid in old_rows:
            continue  # already shown, or removed by the user and not yet synced
        if entered:
            values = {**values, **{key: computed.get(rid, {}).get(key) for key in entered}}
        put(next_row, "id", rid)
        put(next_row, "version", version)
        for n, key in enumerate(keys):
            if n == 0 and rid not in alongside:
                put(next_row, key, values.get(key), "changed", "Added in the database.")
            else:
                put(next_row, key, values.get(key))
        for key, value in computed.get(rid, {}).items():
            put(next_row, key, value)
        base.rows[rid] = (version, [canonical(values.get(k)) for k in keys])
        lock_after.append((next_row, values))
        next_row += 1
    for r, values in lock_after:
        lock(r, values)
    counts.added += next_row - data.last_row - 1
    if next_row > data.last_row + 1:
        patch.table_last_row = next_row - 1 + SPARE_ROWS
    return refreshed


def _old_rows_of(rows: Mapping[int, tuple[int, list[str]]], ids: list[int | None]) -> Mapping[int, tuple[int, list[str]]]:
    """The rows of `ids` (None left out) that `rows`, a base's rows, holds."""
    if isinstance(rows, BaseRows):
        return rows.subset(rid for rid in ids if rid is not None) if rows else {}
    return rows


def write_refresh(book: WorkbookInput, sheets: dict[str, RefreshedSheet], meta: WorkbookMeta,
                  dst: Path, issues: list[CellIssue] | None = None,
                  reports: dict[str, OwnedSheet] | None = None) -> None:
    """Write the refreshed sheets, a new base, and the read-only report sheets rewritten."""
    meta.base = {name: s.base for name, s in sheets.items()}
    meta.refreshed_at = datetime.now(UTC).isoformat()
    _write(book, {name: s.patch for name, s in sheets.items()}, issues or [], meta, dst, reports or {})
