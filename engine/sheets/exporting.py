"""Making workbooks: one for a user from the database, or the empty layouts in `workbooks/`."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from engine.config import WorkbookLimits
from engine.db.installation import Seal, seal
from engine.db.session import Database
from engine.errors import UnusableInput
from engine.office.files import make_ordinary
from engine.office.xlsx_guard import check_package
from engine.security.gate import record_reads as read_audited
from engine.security.roles import Actor
from engine.sheets.apply import stream_rows
from engine.sheets.collector import without_cyclic_gc
from engine.sheets.export import ReportData, SheetData, write_workbook
from engine.sheets.export_rows import Records
from engine.sheets.labels import Labels
from engine.sheets.merge import merge_sheet
from engine.sheets.meta import META_SHEET, WorkbookMeta
from engine.sheets.read import WorkbookInput, read_workbook, resolve_labels
from engine.sheets.spec import (
    Column,
    SheetSpec,
    WorkbookSpec,
    audited_keys,
    modules,
    sensitive_keys,
    workbook_spec,
)

# Records read from the database, given their computed values and written at a time: a run
# of this many is all an export holds of a sheet's records (a computed hook asked for a run
# looks up what the run names, which a SQLite IN list takes at most 32,766 of).
RUN = 10_000


@without_cyclic_gc
def new_workbook(db: Database, actor: Actor, module: str, out: Path, force: bool = False) -> dict[str, int]:
    """Export the records `actor` may see; returns the number of rows per sheet.

    The file is written beside `out` and then put in its place, so a killed export leaves the
    old file (or none), never half a workbook. A file at `out` that is not a Backoffice
    workbook is never overwritten; one of ours holding edits not yet synced only with `force`
    (see `check_replaceable`).

    Only the columns the actor's role sees, only the rows its sheet's `rows_for` gives them,
    drop-down lists and reports as they are for them. Handing over an audited field (a
    medical reason) writes an audit row per record naming the actor: the export then runs in
    a unit of work, and the file is written before it commits, so a failed export leaves no
    audit row for a read that never happened (and a read is never missing one).
    """
    spec = workbook_spec(module)
    for sheet in spec.sheets:
        actor.require("read", sheet.area)
    if out.exists():
        with db.reading() as session:
            check_replaceable(out, seal(session), force)
    workbook_id = uuid.uuid4().hex
    audits = any(audited_keys(sheet, sheet.visible_columns(actor.sees)) for sheet in spec.sheets)
    private = is_private(spec, actor)
    opened = db.unit_of_work(actor, source="workbook", workbook_id=workbook_id) if audits else db.reading()
    with opened as session:
        sheets = [_sheet_for(session, actor, sheet) for sheet in spec.sheets]
        lookups = spec.lookup_values(session, actor)
        ours = seal(session)
        meta = _meta(spec, ours.installation_id, actor, workbook_id)
        reports = [ReportData(r.name, r.columns, r.shown_to(session, actor), r.number_formats())
                   for r in spec.reports if actor.may("read", r.area)]
        write_in_place_of(out, lambda temp: write_workbook(temp, meta, sheets, lookups, reports=reports,
                                                            key=ours.key), private=private)
    return {s.spec.name: s.written for s in sheets}


def is_private(spec: WorkbookSpec, actor: Actor) -> bool:
    """Whether `actor`'s workbook holds sensitive fields (an HR workbook): its file is then
    readable by its owner only (also when the remote command line writes it)."""
    return any(sensitive_keys(sheet, sheet.visible_columns(actor.sees)) for sheet in spec.sheets)


def check_replaceable(out: Path, ours: Seal | None, force: bool = False) -> None:
    """Refuse to write a new workbook over a file that is not one of ours (someone's own
    spreadsheet, a report), and over one of ours with edits not yet synced unless `force`:
    those edits would be lost. One of ours that cannot be checked (another installation's,
    an older layout's) needs `force` too; an empty file is replaced. `ours` None: the
    remote command line, which holds no installation secret, counts the edits against the
    file's own base without checking its signature (enough to know what would be lost)."""
    if not out.exists():
        return
    if out.is_dir():
        raise UnusableInput(out, "is a folder; give a file name with --out")
    if out.stat().st_size == 0:
        return          # holds nothing (an export killed by an older Backoffice left such files)
    limits = WorkbookLimits()
    try:
        package = check_package(out, limits)
    except UnusableInput:
        package = None
    if package is None or META_SHEET not in package.sheet_names:
        raise UnusableInput(out, "exists and is not a Backoffice workbook, so it is not replaced; "
                                 "choose another file with --out, or move that file away")
    if force:
        return
    try:
        edits = unsynced_edits(read_workbook(out, workbook_spec, limits, ours))
    except UnusableInput as exc:
        raise UnusableInput(out, f"is a Backoffice workbook that cannot be checked for unsynced edits "
                                 f"({exc.reason}); pass --force to replace it anyway") from None
    if edits:
        raise UnusableInput(out, f"holds {edits} unsynced change{'s' if edits != 1 else ''}; sync it first "
                                 "(`backoffice sync FILE`), or pass --force to replace it and lose them")


def unsynced_edits(book: WorkbookInput) -> int:
    """How many new rows, changed records and deleted records a workbook holds against its
    own base snapshot (what a sync would send, whatever the database holds)."""
    count = 0
    # its labels as the file was given them (a label typed since that is not one of them
    # is left out, like any unreadable cell: it is not counted)
    shown = book.meta.labels
    resolve_labels(book, lambda _sheet, column: Labels(
        (), {**shown.get(column.lookup or "", {}), **shown.get(column.labels or "", {})}))
    for name, data in book.sheets.items():
        base = book.meta.base.get(name)
        as_exported = {rid: (version, {}) for rid, (version, _values) in (base.rows.items() if base else ())}
        plan = merge_sheet(data, base, as_exported, writable={c.key for c in data.columns})
        # Against a database "holding" only the base, an edit shows as an update or, where the
        # base had a value, as a conflict or refusal naming the record: each record counts once.
        changed = {u.record_id for u in plan.updates} | {i.record_id for i in plan.issues if i.record_id}
        count += len(plan.inserts) + len(changed) + len(plan.deletes)
    return count


def write_in_place_of(out: Path, write: Callable[[Path], None], private: bool) -> None:
    """`write` a file beside `out`, then put it in `out`'s place (a kill leaves no half file).
    The file is made readable by its owner only before a byte is written (`private`: an HR
    workbook), or given the mode any new file gets."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.stem}.new-", suffix=out.suffix or ".xlsx", dir=out.parent)
    os.close(handle)                  # mkstemp's file is the owner's only
    temp = Path(name)
    try:
        if not private:
            make_ordinary(temp)
        write(temp)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)


def _sheet_for(session: Session, actor: Actor, sheet: SheetSpec) -> SheetData:
    """One sheet's columns and rows as `actor` may see them; its records are read from the
    database as the file is written (see `_records`)."""
    columns = sheet.visible_columns(actor.sees)
    offered = sheet.prefill(session) if sheet.prefill else []
    return SheetData(sheet, columns, _records(session, actor, sheet, columns), new_rows=offered)


def _records(session: Session, actor: Actor, sheet: SheetSpec, columns: Sequence[Column]) -> Iterator[Records]:
    """The sheet's records, a run at a time as the database hands them over, with their
    computed values; the audited values handed out are logged run by run."""
    audited = audited_keys(sheet, columns)
    # The sheet's own columns are all a sheet without computed values or settled rows looks
    # at (a million people sorted by name: a third less for the database to sort).
    needed = None if sheet.computed or sheet.settled else [c.key for c in columns if not c.computed]
    for values in stream_rows(session.connection(), sheet, sheet.rows_limit(session, actor), size=RUN,
                              columns=needed):
        ids = values["id"]
        if sheet.computed:
            keys = list(values)
            stored = {rid: dict(zip(keys, row, strict=True))
                      for rid, row in zip(ids, zip(*values.values(), strict=True), strict=True)}
            values = _with_computed(values, ids, sheet.computed(session, stored))
        if audited:
            read = [values.get(key) or [None] * len(ids) for key in audited]
            read_audited(session, sheet.model.__table__.name,
                         {rid: dict(zip(audited, row, strict=True))
                          for rid, row in zip(ids, zip(*read, strict=True), strict=True)})
        yield Records(ids, values["version"], values)


def _with_computed(values: dict[str, Sequence], ids: Sequence[int],
                   computed: dict[int, dict[str, object]]) -> dict[str, Sequence]:
    """The run's values with each record's computed ones over its stored ones."""
    of_each = [computed.get(rid, {}) for rid in ids]
    for key in {key for found in of_each for key in found}:
        stored = values.get(key) or [None] * len(ids)
        values[key] = [found[key] if key in found else value for found, value in zip(of_each, stored, strict=True)]
    return values


def _meta(spec: WorkbookSpec, installation: str | None, actor: Actor | None,
          workbook_id: str = "layout") -> WorkbookMeta:
    if actor is None:
        return WorkbookMeta.layout(spec.module, spec.fingerprint)
    now = datetime.now(UTC).isoformat()
    return WorkbookMeta(
        workbook_id=workbook_id, installation_id=installation,
        module=spec.module, spec=spec.fingerprint, user=actor.login,
        roles=actor.role_names, created_at=now, refreshed_at=now,
    )


LAYOUT_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def write_layout(module: str, folder: Path) -> Path:
    """The empty layout of a module's workbook (every column, no records, no lists)."""
    spec = workbook_spec(module)
    path = folder / f"{module}.xlsx"
    sheets = [SheetData(s, s.columns, []) for s in spec.sheets]
    reports = [ReportData(r.name, r.columns, [], r.number_formats()) for r in spec.reports]
    write_workbook(path, _meta(spec, None, None), sheets, lookups={}, created=LAYOUT_DATE, reports=reports)
    return path


def write_layouts(folder: Path) -> list[Path]:
    return [write_layout(module, folder) for module in modules()]
