"""The round trip for one workbook file: validate, sync (or dry run) and refresh.

    read -> merge against base and database -> check -> apply (one transaction) -> write back

A sync is all or nothing: on any problem or conflict nothing is applied, the workbook gets
its cells marked and an Issues sheet, and the status says why. A successful sync refreshes
the workbook (new ids, versions, computed columns, a new base) before the transaction
commits, into a temporary file that replaces the original only once the commit succeeded:
so a workbook is never left claiming rows that the database does not have, or missing ids
of rows it does.
"""

from __future__ import annotations

import functools
import glob
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from engine.config import Settings
from engine.db.audit import AuditEntry
from engine.db.commit import commit_while
from engine.db.engine import large_write_cache, statistics_refreshed
from engine.db.installation import seal
from engine.db.session import Database
from engine.db.write_behind import behind, settle, writing_behind
from engine.errors import UnusableInput
from engine.office.files import keep_mode
from engine.office.xlsx_owned import OwnedSheet
from engine.office.xlsx_patch import SheetPatch
from engine.security.gate import record_reads as read_audited
from engine.security.roles import Actor
from engine.sheets import annotate, receipts
from engine.sheets.apply import (
    Applied,
    ApplyConflict,
    apply_plan,
    delete_plan,
    load_rows,
    lock_at_versions,
    post_plan,
    refusals_at_cells,
    saved_rows,
    update_plan,
)
from engine.sheets.checks import UniqueValues, check_plan
from engine.sheets.collector import without_cyclic_gc
from engine.sheets.issues import CellIssue
from engine.sheets.labels import Labels, LaterLabels, as_ids
from engine.sheets.live import BookSnapshot
from engine.sheets.merge import DbRows, SheetPlan, merge_sheet
from engine.sheets.meta import ISSUES_SHEET, LISTS_SHEET, SheetBase
from engine.sheets.read import (
    RowInput,
    SheetInput,
    WorkbookInput,
    read_in_chunks,
    read_open_workbook,
    read_workbook,
    resolve_labels,
    saved_in_bulk,
)
from engine.sheets.spec import (
    Column,
    SheetSpec,
    WorkbookSpec,
    asked_by,
    audited_keys,
    workbook_spec,
)
from engine.sheets.values import canonical


@dataclass
class FileResult:
    file: str
    status: str                          # applied, unchanged, rejected, invalid; refreshed (refresh)
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    recovered: int = 0                   # new rows an earlier sync had saved (its write-back never arrived)
    written_to: str | None = None        # the refreshed copy, when the file itself could not be replaced
    warning: str | None = None
    problems: list[CellIssue] = field(default_factory=list)
    conflicts: list[CellIssue] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)   # the diff, for --dry-run
    annotated: bool = False              # problems were marked in the workbook
    refreshed: annotate.RefreshCounts | None = None   # what `refresh` brought into the file

    @property
    def exit_code(self) -> int:
        return 1 if self.status in ("rejected", "invalid") else 0

    def as_json(self, with_changes: bool = False) -> dict[str, Any]:
        data = {
            "file": self.file, "status": self.status, "inserted": self.inserted,
            "updated": self.updated, "deleted": self.deleted, "recovered": self.recovered,
            "written_to": self.written_to, "warning": self.warning,
            "problems": [i.as_json() for i in self.problems],
            "conflicts": [i.as_json() for i in self.conflicts],
        }
        if with_changes:
            data["changes"] = self.changes
        if self.refreshed is not None:
            data["refreshed"] = self.refreshed.as_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileResult:
        """The result `as_json` gave (a server's answer to the remote command line), so that
        it is reported by the same code as a local one."""
        def issues(key: str, conflict: bool) -> list[CellIssue]:
            return [CellIssue(**{**issue, "conflict": conflict}) for issue in data.get(key) or ()]

        refreshed = data.get("refreshed")
        return cls(data["file"], data["status"], inserted=data.get("inserted", 0), updated=data.get("updated", 0),
                   deleted=data.get("deleted", 0), recovered=data.get("recovered", 0),
                   written_to=data.get("written_to"), warning=data.get("warning"),
                   problems=issues("problems", False), conflicts=issues("conflicts", True),
                   changes=data.get("changes") or [],
                   refreshed=annotate.RefreshCounts(**refreshed) if refreshed is not None else None)


Progress = Callable[[str, int], None]   # (stage description, units done)


@dataclass
class EarlyRefresh:
    """A sync's refresh of its sheets read in chunks, made a chunk at a time as each chunk is
    saved (its rows and records are then at hand), instead of reading the sheet again once
    everything is saved: reading a full sheet again cost a fifth of the sync. Each chunk sees
    the database as the sync left it so far, which is what the refresh at the end sees of it
    as long as no later sheet saves anything (`saved_after`) and its own deletions run no
    `after` step: otherwise it is read again at the end, as before. Kept only while nothing
    was refused.

    `sheets`: sheet name -> its refresh so far; `handed`: table -> the audited values shown
    (engine.security.gate.record_reads)."""

    sheets: dict[str, annotate.RefreshedSheet] = field(default_factory=dict)
    handed: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def saved_after(self, name: str) -> None:
        """Sheet `name` saved changes: the sheets refreshed before it are read again at the
        end (its services or `after` step may have changed their records, their computed
        values or their labels: a contact's e-mail follows its E-mails sheet)."""
        for earlier in [other for other in self.sheets if other != name]:
            del self.sheets[earlier]


@dataclass
class ChunkBehind:
    """The chunk saved last, while its rows may still be being written behind
    (engine.db.write_behind): its savepoint, released once they are stored, or rolled back
    with the refusal they met (`settled`). That is decided once the next chunk is read, before
    anything of it is looked up, not at once: meanwhile the database stores this chunk's rows
    while the sync refreshes it and reads the next one (PostgreSQL kept a million-person sync
    waiting 13 s at the ends of its chunks)."""

    savepoint: SessionTransaction | None = None
    sheet: SheetSpec | None = None
    data: SheetInput | None = None

    def settled(self, session: Session) -> list[CellIssue]:
        """The problems the chunk's rows met being stored (its savepoint then rolled back)."""
        if self.savepoint is None:
            return []
        savepoint, sheet, data = self.savepoint, self.sheet, self.data
        self.savepoint = self.sheet = self.data = None
        try:
            with refusals_at_cells(sheet, data):
                settle(session.connection())
        except ApplyConflict as refused:
            savepoint.rollback()
            return refused.issues
        savepoint.commit()
        return []


@dataclass
class RefreshedBook:
    """A workbook's refresh, read from the database and not yet written: writing it needs
    no database, so a sync commits while it is written (`commit_while`)."""

    book: WorkbookInput
    sheets: dict[str, annotate.RefreshedSheet]

    @property
    def counts(self) -> annotate.RefreshCounts:
        """What the refresh brings into the file."""
        return sum((s.counts for s in self.sheets.values()), annotate.RefreshCounts())

    def changes_file(self, rewrites_reports: bool) -> bool:
        """Whether writing it over the file itself changes anything: new values, marks or an
        Issues sheet to clear, a lists sheet a LibreOffice save unhid, reports to rewrite."""
        book = self.book
        lists_shown = (LISTS_SHEET in book.package.sheet_names
                       and book.package.hidden.get(LISTS_SHEET) != "veryHidden")
        return (bool(book.meta.marked) or lists_shown or any(s.patch.cells for s in self.sheets.values())
                or ISSUES_SHEET in book.package.sheet_names or rewrites_reports)

    def write(self, target: Path, reports: dict[str, OwnedSheet]) -> None:
        """Write it to `target`, with the read-only report sheets `reports` rebuilt."""
        annotate.write_refresh(self.book, self.sheets, self.book.meta, target, reports=reports)


WHOLE = 1 << 62   # a chunk size no sheet reaches: the sheet in one chunk


def _quiet(stage: str, n: int) -> None:
    pass


# How many times a sync is planned again when a record it changes was saved by someone else
# between its read and its write, before the race is shown as a conflict.
RACE_RETRIES = 3


@dataclass
class RoundTrip:
    db: Database
    settings: Settings
    actor: Actor
    allow_macros: bool = False
    progress: Progress = _quiet

    # -- the public operations -------------------------------------------------------------

    # Each operation takes a workbook file (Path) or a workbook open in Excel (BookSnapshot,
    # engine.sheets.live): the second gets its write-back as `snapshot.changes`, for the
    # add-in to make in the open workbook, instead of a patched file.

    @without_cyclic_gc
    def validate(self, workbook: Path | BookSnapshot, annotate_file: bool = True) -> FileResult:
        """Every problem a sync would meet, posting rules included (stock on hand, closed
        periods, leave balances): the whole sync is rehearsed and rolled back."""
        book, spec = self._read(workbook)
        plans, issues, _applied = self._attempt(book, spec, rehearsal=True)
        result = self._result(book, plans, issues, "invalid" if issues else "unchanged", counts=False)
        if annotate_file:
            book.meta.shown = _shown_from(plans)
            annotate.annotate(book, issues)
            result.annotated = bool(issues)
        return result

    @without_cyclic_gc
    def sync(self, workbook: Path | BookSnapshot, dry_run: bool = False) -> FileResult:
        if isinstance(workbook, Path):
            remove_abandoned_temps(workbook)
        book, spec = self._read(workbook)
        if dry_run:     # the whole sync, rolled back: it reports exactly what a sync would
            plans, issues, _applied = self._attempt(book, spec, rehearsal=True, describe=True)
            result = self._result(book, plans, issues, "rejected" if issues else "unchanged")
            with self.db.reading() as session:
                result.changes = _describe_changes(book, plans, self._labels(session, spec, book.meta.labels))
            return result
        plans, issues, applied = self._attempt(book, spec, rehearsal=False, target=book.path)
        if applied is not None:
            if all(p.empty for p in plans.values()):
                return self._result(book, plans, [], "unchanged")
            result = self._result(book, plans, [], "applied", applied=applied)
            if applied.kept_copy is not None:   # (a file's only: an open workbook is changed in place)
                kept_beside(result, book.path, applied.kept_copy, applied.not_replaced)
            elif applied.not_replaced:
                result.warning = (f"{applied.not_replaced}: the records are saved, but {book.path.name} does not "
                                  "show them yet. Free some space on that disk (or let this account write to the "
                                  f"folder), then sync {book.path.name} again: the rows already saved are matched "
                                  "to their records, never added twice.")
            return result
        book.meta.shown = _shown_from(plans)
        annotate.annotate(book, issues)
        result = self._result(book, plans, issues, "rejected")
        result.annotated = True
        return result

    def _attempt(self, book: WorkbookInput, spec: WorkbookSpec, rehearsal: bool,
                 target: Path | None = None, describe: bool = False,
                 ) -> tuple[dict[str, SheetPlan], list[CellIssue], Applied | None]:
        """Plan, check and apply the workbook in one transaction: committed with the
        refreshed file written (a sync), or rolled back (a rehearsal: validate, dry run).

        A record saved by someone else between our read and our write (its version moved)
        is not yet a conflict: the sync is planned again against what they saved, so two
        people editing different cells of one record both get their change; only when the
        same cells differ, or after `RACE_RETRIES` races, is a conflict shown at its cell.
        Returns (plans, issues, applied); `applied` is None when nothing was saved.
        `describe`: the plans must keep every change, to be listed (a dry run)."""
        if not all(data.kept_whole for data in book.sheets.values()):
            return self._attempt_in_chunks(book, spec, rehearsal, target, describe)
        for attempt in range(RACE_RETRIES + 1):
            with self.db.unit_of_work(self.actor, source="workbook", workbook_id=book.meta.workbook_id) as session:
                plans, issues, db_rows = self._plan(session, book, spec)
                if issues:
                    issues += self._problems_beside(session, book, spec, plans, issues, db_rows)
                    session.rollback()
                    return plans, issues, None
                try:
                    applied = self._apply(session, book, spec, plans, db_rows)
                except ApplyConflict as conflict:
                    session.rollback()
                    if attempt < RACE_RETRIES and all(i.conflict for i in conflict.issues):
                        continue                     # someone saved meanwhile: merge again
                    with self.db.reading() as again:  # show the conflict at its cell, both values
                        plans, issues, _db = self._plan(again, book, spec)
                    return plans, issues or conflict.issues, None
                if rehearsal:
                    session.rollback()
                    return plans, [], None
                receipts.remember(session, book, applied.inserted_ids,
                                  {name: {rid: db_rows[name][rid][0] for (n, _row), rid in applied.inserted_ids.items()
                                          if n == name} for name in plans})
                receipts.forget_older(session, book.meta)
                self._write_back(session, book, spec, plans, applied, db_rows, target)
                return plans, [], applied
        raise AssertionError("unreachable: the last attempt returns")

    def _attempt_in_chunks(self, book: WorkbookInput, spec: WorkbookSpec, rehearsal: bool,
                           target: Path | None, describe: bool,
                           ) -> tuple[dict[str, SheetPlan], list[CellIssue], Applied | None]:
        """`_attempt` for a workbook with a sheet too large to keep whole in memory (over
        `workbook.chunk_rows` rows, see SheetInput.chunks): every sheet is merged, checked and
        saved `chunk_rows` rows at a time, in sheet order, in the one transaction, which is
        committed only if no chunk had a problem. What differs from a workbook kept whole:
        a sheet is planned after the sheets before it were saved (in the same transaction),
        and the plans keep counts, not every change (unless `describe`: a dry run lists them).

        Validate (a rehearsal that is not a dry run) does not write the rows of a sheet read in
        chunks and saved in bulk: nothing of its rows is decided while writing (no posting
        rules, see `saved_in_bulk`); its checks, references, uniqueness and conflicts are all
        found without writing, and writing a million rows only to roll them back would cost
        most of the time (issue 19). A sheet whose new rows a module's service posts (read in
        chunks too, see `read_in_chunks`) and the other sheets are rehearsed as ever."""
        for attempt in range(RACE_RETRIES + 1):
            with self.db.unit_of_work(self.actor, source="workbook", workbook_id=book.meta.workbook_id) as session:
                early = None if rehearsal else EarlyRefresh()
                try:
                    with large_write_cache(session.connection()), writing_behind(session.connection()):
                        plans, issues, applied = self._save_in_chunks(session, book, spec, keep_plans=describe,
                                                                      write_chunked=describe or not rehearsal,
                                                                      early=early)
                except ApplyConflict as conflict:
                    session.rollback()
                    if attempt < RACE_RETRIES:
                        continue                     # someone saved meanwhile: merge again
                    with self.db.reading() as again:  # show the conflict at its cell, both values
                        plans, issues, _saved = self._save_in_chunks(again, book, spec, keep_plans=False, save=False)
                    return plans, issues or conflict.issues, None
                if issues or rehearsal:
                    session.rollback()
                    return plans, issues, None
                receipts.forget_older(session, book.meta)
                self._write_back(session, book, spec, plans, applied, None, target, early)
                return plans, [], applied
        raise AssertionError("unreachable: the last attempt returns")

    def _save_in_chunks(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, keep_plans: bool,
                        save: bool = True, write_chunked: bool = True, early: EarlyRefresh | None = None,
                        ) -> tuple[dict[str, SheetPlan], list[CellIssue], Applied]:
        """Each sheet a chunk at a time: merge, check, save (in a savepoint, so that one
        chunk's refusal leaves the transaction usable for finding the problems of the rest).
        Once a chunk has a problem the sync will be refused: the later chunks are still
        checked, and their rows rehearsed for the posting problems, as a workbook kept whole.
        `save` False: merged and checked only (to show a race's conflicts); `write_chunked` False:
        the same for the sheets read in chunks only (validate, see `_attempt_in_chunks`).
        `early` (a sync): each chunk of a sheet read in chunks is refreshed into it once saved,
        while its rows and records are at hand, as long as nothing was refused (see EarlyRefresh)."""
        book.saved = receipts.recover(session, book)
        issues: list[CellIssue] = list(book.issues)
        reported = len(book.issues)
        read_before: dict[str, list[CellIssue]] = {}   # found as the sheets read whole were read
        for issue in book.issues:
            read_before.setdefault(issue.sheet, []).append(issue)
        plans: dict[str, SheetPlan] = {}
        total = Applied()
        lookups: dict[str, set] | None = None
        size = self.settings.workbook.chunk_rows
        for name, data in book.sheets.items():
            sheet, base = spec.sheet(name), book.meta.base.get(name)
            if not self.actor.may("read", sheet.area):
                plans[name] = plan = _refuse_every_change(data, base)
                issues += plan.issues
                continue
            if lookups is None:
                lookups = {name: {v.upper() if isinstance(v, str) else v for v in as_ids(values)}
                           for name, values in spec.lookup_values(session, self.actor).items()}
            may_write = self.actor.may("write", sheet.area)
            writable = {c.key for c in sheet.columns if c.editable and may_write and self.actor.sees(c.sensitivity)}
            saved, shown, changed_by = _rows_of(book.saved, name), _shown_in(book.meta, name), _changed_by(session, sheet)
            plans[name] = whole = SheetPlan(name)
            seen: set[int] = set()
            unique = UniqueValues(data)
            last = ChunkBehind()
            # (validate: a sheet whose new rows a service posts is rehearsed, even in chunks)
            saving = save and (write_chunked or data.kept_whole or not saved_in_bulk(sheet))
            refreshing = early is not None and not data.kept_whole
            if refreshing:
                labels = self._sheet_labels(session, spec, sheet, data)

            # A sheet whose rules look across its rows (an entry's lines, checked together) is
            # read whole and taken as one chunk: a chunk's end must not split an entry.
            for rows in data.chunks(size if read_in_chunks(sheet) else WHOLE):
                issues += last.settled(session)   # the chunk before, its rows stored while this one was read
                part = data.part(rows)
                reading, reported = book.issues[reported:], len(book.issues)
                ids = [row.record_id if row.record_id is not None else saved.get(row.row) for row in rows]
                db = self._load_records(session, sheet, ids)
                plan = merge_sheet(part, base, db, writable, _out_of_reach(session, sheet, part, None, db),
                                   saved=saved, shown=shown, changed_by=changed_by, seen=seen, deletions=False,
                                   base_rows=base.rows.subset(rid for rid in ids if rid is not None) if base else None)
                plan.issues += _permission_issues(part, plan, may_write, writable)
                found = [*reading, *plan.issues, *check_plan(part, plan, db, lookups, unique=False)]
                # and what reading found in these rows (a label naming nobody: its cell is left
                # out of the row), or in the whole sheet: those rows are not rehearsed either
                earlier = _issues_in(read_before.get(name, []), rows)
                issues += found + self._take_chunk(session, book, spec, part, plan, db, [*earlier, *found],
                                                   bool(issues), total, whole, unique, keep_plans, saving, last)
                if refreshing and not issues:
                    early.sheets[name] = self._refresh_chunk(session, book, sheet, part, base, db, total,
                                                             saved, labels, early)
                self.progress(f"checked {name}", len(rows))
            issues += last.settled(session)
            # the records of the base no row shows any more: deleted in the workbook
            gone = [rid for rid in (base.rows if base else ()) if rid not in seen]
            if gone and early is not None and sheet.after is not None:
                early.sheets.pop(name, None)   # its `after` step may change the records shown
            if gone:
                part, db = data.part([]), self._load_records(session, sheet, gone)
                plan = merge_sheet(part, base, db, writable, seen=seen)
                plan.issues += _permission_issues(part, plan, may_write, writable)
                issues += plan.issues + self._take_chunk(session, book, spec, part, plan, db, plan.issues,
                                                         bool(issues), total, whole, unique, keep_plans, saving)
            if early is not None and not whole.empty:
                early.saved_after(name)
            if unique.keys:   # against the records as they were: those this sync added are its new rows
                added = {rid for (n, _row), rid in total.inserted_ids.items() if n == name}
                stored = load_rows(session.connection(), sheet, sheet.rows_limit(session, self.actor), columns=unique.keys)
                issues += unique.check(data, {rid: row for rid, row in stored.items() if rid not in added})
        return plans, issues, total

    def _take_chunk(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, part: SheetInput,
                    plan: SheetPlan, db: DbRows, found: list[CellIssue], refused: bool, total: Applied,
                    whole: SheetPlan, unique: UniqueValues, keep_plans: bool, save: bool,
                    last: ChunkBehind | None = None) -> list[CellIssue]:
        """Count a chunk's plan into its sheet's (`whole`, every change kept only if
        `keep_plans`), its unique values into `unique`, and save it (`_save_chunk`) if `save`."""
        unique.add(plan)
        if keep_plans:
            whole.inserts += plan.inserts
            whole.updates += plan.updates
            whole.deletes += plan.deletes
            whole.shown.update(plan.shown)
        else:
            whole.tally(plan)
        if not save:
            return []
        return self._save_chunk(session, book, spec, part, plan, db, found, refused, total, last)

    def _save_chunk(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, part: SheetInput,
                    plan: SheetPlan, db: DbRows, found: list[CellIssue], refused: bool, total: Applied,
                    last: ChunkBehind | None = None) -> list[CellIssue]:
        """Save one chunk's plan in a savepoint; a chunk with problems of its own (`found`)
        has its other rows rehearsed instead. Returns the problems saving met; a race with
        another sync raises ApplyConflict. While the sync writes behind, the savepoint is
        left to `last` (a ChunkBehind), which releases it once the rows are stored.

        Once the sync is refused (`refused`, or `found`), what a chunk's rows without problems
        wrote is still kept until the transaction is rolled back at the end: the later chunks
        are then checked after them, as a workbook read whole rehearses all its rows without
        problems together (a movement issuing what an earlier chunk's receipt brought in is
        not taken for an issue of stock that is not there)."""
        name = plan.sheet
        if found:
            return self._problems_beside(session, book, spec, {name: plan}, found, {name: db}, keep=True)
        if plan.empty:
            return []
        savepoint = session.begin_nested()
        db_rows = {name: db}
        later = last is not None and behind(session.connection()) is not None
        try:
            done = self._apply(session, book, spec, {name: plan}, db_rows, False, settled=not later)  # (not whole)
        except ApplyConflict as conflict:
            savepoint.rollback()
            if all(i.conflict for i in conflict.issues):
                raise
            return conflict.issues
        if later:
            last.savepoint, last.sheet, last.data = savepoint, spec.sheet(name), book.sheets[name]
        else:
            savepoint.commit()
        if db_rows[name] is not db:   # read again as the module's services stored them
            db.clear()
            db.update(db_rows[name])
        if refused:
            return []                # rehearsed: the sync is refused already
        total.inserted_ids.update(done.inserted_ids)
        total.updated += done.updated
        total.deleted += done.deleted
        for other, added in done.added_alongside.items():
            total.added_alongside.setdefault(other, set()).update(added)
        for table, count in done.written_beside.items():
            total.written_beside[table] = total.written_beside.get(table, 0) + count
        new = {row for (_n, row) in done.inserted_ids}
        receipts.remember(session, book, done.inserted_ids,
                          {name: {rid: db_rows[name][rid][0] for rid in done.inserted_ids.values() if rid in db_rows[name]}},
                          rows=((name, row) for row in part.rows if row.row in new))
        return []

    def _refresh_chunk(self, session: Session, book: WorkbookInput, sheet: SheetSpec, part: SheetInput,
                       base: SheetBase | None, db: DbRows, total: Applied, saved: Mapping[int, int],
                       labels: dict[str, Labels], early: EarlyRefresh) -> annotate.RefreshedSheet:
        """A chunk just saved, refreshed into its sheet's early refresh from `db`, its records
        as saved: only those its rows show (records added beside them are appended at the end,
        with the records others added, as `_chunks_to_refresh` does)."""
        name = sheet.name
        inserted = {row.row: rid for row in part.rows if row.record_id is None
                    and (rid := total.inserted_ids.get((name, row.row), saved.get(row.row))) is not None}
        ids = (row.record_id or inserted.get(row.row) for row in part.rows)
        shown = {rid: db[rid] for rid in ids if rid in db}
        return self._refresh_part(session, book, sheet, part, base, shown, inserted, labels, keep_edits=False,
                                  alongside=frozenset(), into=early.sheets.get(name), handed=early.handed,
                                  whole=False)

    def _load_records(self, session: Session, sheet: SheetSpec, ids: Iterable[int | None]) -> DbRows:
        """The records of `ids` the user may see (a chunk's), read a thousand at a time."""
        wanted = sorted({rid for rid in ids if rid is not None})
        limit = sheet.rows_limit(session, self.actor)
        db: DbRows = {}
        for some in _chunks(wanted):
            db.update(load_rows(session.connection(), sheet, limit, only=some))
        if db and sheet.update is not None and sheet.entered_keys:
            db = _with_entered(session, sheet, db)
        return db

    def _problems_beside(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, plans, issues,
                         db_rows, keep: bool = False) -> list[CellIssue]:
        """The posting problems (stock on hand, closed periods, leave balances...) of the rows
        that have no problem of their own, found by rehearsing their part of the sync in a
        savepoint rolled back at once: one pass tells every problem, not the type problems
        first and the posting ones only once those are fixed. Rows grouped with a row that has
        a problem (the lines of one entry) are held back with it; a problem of a whole sheet
        (a missing sheet, a permission) leaves nothing to rehearse. `keep`: what the rehearsal
        wrote stays (a chunk's, for the chunks after it: see _save_chunk)."""
        held = _rows_with_problems(book, spec, issues)
        if held is None:
            return []
        rest = {name: SheetPlan(name, inserts=[i for i in plan.inserts if i.row not in held[name]],
                                updates=[u for u in plan.updates if u.row not in held[name]],
                                deletes=[d for d in plan.deletes
                                         if d.record_id not in {i.record_id for i in issues if i.sheet == name}])
                for name, plan in plans.items()}
        if all(p.empty for p in rest.values()):
            return []
        savepoint = session.begin_nested()
        try:
            self._apply(session, book, spec, rest, {name: dict(rows) for name, rows in db_rows.items()})
        except ApplyConflict as refused:
            savepoint.rollback()
            return [replace(i, message=f"{i.message} (checked without the rows that have other problems)")
                    for i in refused.issues if not i.conflict]
        except BaseException:
            savepoint.rollback()
            raise
        if keep:        # a chunk's: kept for the chunks after it (see _save_chunk)
            savepoint.commit()
        else:
            savepoint.rollback()
        return []

    def _write_back(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, plans, applied: Applied,
                    db_rows, target: Path, early: EarlyRefresh | None = None) -> None:
        """Commit, with the refreshed workbook written first into a temporary file that
        replaces the original once the commit succeeded. If it cannot replace it (the file
        is open in Excel on Windows, or read-only), the refreshed copy is kept beside it
        under a name of its own (`applied.kept_copy`, and why in `applied.not_replaced`):
        what was saved stays saved, and the old file, if synced again, has its new rows
        matched to their records (engine.sheets.receipts)."""
        if all(p.empty for p in plans.values()):
            # Nothing to save; the file is rewritten only if the database moved on or old
            # marks need clearing (or an earlier sync's ids were never written into it).
            self._refresh_into(session, book, spec, applied, keep_edits=False, target=target, db_rows=db_rows,
                               early=early)
            return
        book.meta.generation += 1     # the file that arrives says these receipts are done with
        if book.live is not None:
            # An open workbook: its changes are collected, then made by the add-in once this
            # commits (if they never arrive, receipts match its new rows at the next sync).
            self._refresh_into(session, book, spec, applied, keep_edits=False, target=target, db_rows=db_rows,
                               early=early)
            statistics_refreshed(session.connection(), _rows_added(spec, applied))
            session.commit()
            return
        temp = _temp_beside(target)
        try:
            refreshed = self._refreshed(session, book, spec, applied, keep_edits=False, db_rows=db_rows, early=early)
            reports = self._reports(session, spec)   # (read before the commit: the writing needs no database)
            self.progress("writing the workbook", 0)
            # (the statistics of the tables a large sync filled refreshed with the commit, beside the writing)
            analyze = functools.partial(statistics_refreshed, session.connection(), _rows_added(spec, applied))
            unwritten = commit_while(session, functools.partial(refreshed.write, temp, reports), tolerate=OSError,
                                     first=analyze)
            if unwritten is None:
                applied.kept_copy, applied.not_replaced = put_in_place(temp, target)
            else:   # saved all the same: the next sync matches the rows to their records (receipts)
                applied.not_replaced = (f"the synced workbook could not be written beside {target.name} "
                                        f"({unwritten.strerror or unwritten})")
        finally:
            temp.unlink(missing_ok=True)

    @without_cyclic_gc
    def refresh(self, workbook: Path | BookSnapshot) -> FileResult:
        if isinstance(workbook, Path):
            remove_abandoned_temps(workbook)
        book, spec = self._read(workbook)
        self._require_read(spec)  # a refresh only hands out data: all of it must be the user's to read
        # Handing over an audited value (a medical reason) writes an audit row: a unit of work then.
        audits = any(audited_keys(spec.sheet(name), data.columns) for name, data in book.sheets.items())
        opened = (self.db.unit_of_work(self.actor, source="workbook", workbook_id=book.meta.workbook_id)
                  if audits else self.db.reading())
        with opened as session:
            book.saved = receipts.recover(session, book)
            counts = self._refresh_into(session, book, spec, Applied(), keep_edits=True, target=book.path)
        return FileResult(str(book.path), "refreshed" if counts.anything or book.saved else "unchanged",
                          refreshed=counts, recovered=len(book.saved))

    # -- steps -------------------------------------------------------------------------------

    def _read(self, workbook: Path | BookSnapshot) -> tuple[WorkbookInput, WorkbookSpec]:
        self.progress(f"reading {Path(workbook.name).name}", 0)
        with self.db.reading() as session:
            ours = seal(session)
        if isinstance(workbook, BookSnapshot):
            book = read_open_workbook(workbook, workbook_spec, self.settings.workbook, ours)
        else:
            book = read_workbook(workbook, workbook_spec, self.settings.workbook, ours, self.allow_macros)
        spec = workbook_spec(book.meta.module)
        book.issues += _unseen_columns(book, self.actor)
        with self.db.reading() as session:
            resolve_labels(book, self._labels(session, spec, book.meta.labels))
        return book, spec

    def _labels(self, session: Session, spec: WorkbookSpec,
                shown: dict[str, dict[str, int]]) -> Callable[[SheetSpec, Column], Labels]:
        """The Labels of a labelled column, read once per lookup: the records it offers this
        user today, and the labels the file was given (`shown`). A sheet of an area the user
        may not read gets the file's own labels only: nothing is read from the database.
        The records are read when first needed (LaterLabels), in `session`: an empty sheet
        reads none."""
        made: dict[tuple, Labels] = {}

        def labels_of(sheet: SheetSpec, column: Column) -> Labels:
            readable = self.actor.may("read", sheet.area)
            key = (column.labels, column.lookup, readable)
            if key not in made:
                given = {**shown.get(column.lookup or "", {}), **shown.get(column.labels or "", {})}
                source = spec.lookups.get(column.labels or "")
                offered = functools.partial(asked_by, source, session, self.actor) if readable and source else tuple
                made[key] = LaterLabels(offered, given)
            return made[key]

        return labels_of

    def _require_read(self, spec: WorkbookSpec) -> None:
        for sheet in spec.sheets:
            self.actor.require("read", sheet.area)

    def _plan(self, session: Session, book: WorkbookInput, spec: WorkbookSpec):
        """Merge and check every sheet. A sheet of an area the user may not read (someone
        else's workbook) is checked against its base alone: every change in it is refused at
        its cell, and nothing about it is read from the database."""
        lookups: dict[str, set] | None = None   # read once, and only for a sheet the user may read
        book.saved = receipts.recover(session, book)
        plans: dict[str, SheetPlan] = {}
        issues: list[CellIssue] = list(book.issues)
        db_rows = {}
        for name, data in book.sheets.items():
            sheet, base = spec.sheet(name), book.meta.base.get(name)
            if not self.actor.may("read", sheet.area):
                plans[name] = plan = _refuse_every_change(data, base)
                db_rows[name] = {}
                issues += plan.issues
                continue
            if lookups is None:
                lookups = {name: {v.upper() if isinstance(v, str) else v for v in as_ids(values)}
                           for name, values in spec.lookup_values(session, self.actor).items()}
            db_rows[name] = db = self._load(session, sheet)
            out_of_reach = _out_of_reach(session, sheet, data, base, db)
            may_write = self.actor.may("write", sheet.area)
            writable = {c.key for c in sheet.columns if c.editable and may_write and self.actor.sees(c.sensitivity)}
            plan = merge_sheet(data, base, db, writable, out_of_reach, saved=_rows_of(book.saved, name),
                               shown=_shown_in(book.meta, name), changed_by=_changed_by(session, sheet))
            plan.issues += _permission_issues(data, plan, may_write, writable)
            issues += plan.issues
            issues += check_plan(data, plan, db, lookups)
            plans[name] = plan
            self.progress(f"checked {name}", len(data.rows))
        return plans, issues, db_rows

    def _load(self, session: Session, sheet: SheetSpec) -> DbRows:
        """The sheet's rows the user may see (its `rows_for`)."""
        db = load_rows(session.connection(), sheet, sheet.rows_limit(session, self.actor))
        if sheet.update is not None and sheet.entered_keys:
            db = _with_entered(session, sheet, db)
        return db

    def _apply(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, plans, db_rows,
               whole: bool = True, settled: bool = True) -> Applied:
        """Save the plans; `db_rows` (each sheet's records as loaded) is brought up to date.
        `whole` False: the plans are a chunk's, and only its records are read again.
        `settled` False: the rows written behind may still be being stored on return (the
        caller settles them: see ChunkBehind); else what they met is raised here."""
        total = Applied()
        context = session.info["audit"]
        for name, plan in plans.items():
            if plan.empty:
                continue
            sheet = spec.sheet(name)
            before = ({c.record_id: db_rows[name][c.record_id][1] for c in (*plan.updates, *plan.deletes)}
                      if sheet.after is not None else {})
            if sheet.post is not None or sheet.update is not None or sheet.delete is not None:
                done = self._through_services(session, sheet, plan, book.sheets[name], db_rows[name])
                # as the services stored them
                db_rows[name] = (load_rows(session.connection(), sheet, sheet.rows_limit(session, self.actor)) if whole
                                 else self._load_records(session, sheet, [*db_rows[name], *done.inserted_ids.values()]))
            else:   # (what rows written behind met may be raised by any statement after them)
                with refusals_at_cells(sheet, book.sheets[name]):
                    done = apply_plan(session.connection(), sheet, plan, db_rows[name], context,
                                      progress=lambda n, name=name: self.progress(f"saving {name}", n))
            if sheet.after is not None:
                context.posting_row = (name, None)     # what it writes is audited as the sheet's
                try:
                    with refusals_at_cells(sheet, book.sheets[name]):
                        changed = sheet.after(session, self.actor, name, saved_rows(plan, done, before, db_rows[name]))
                finally:
                    context.posting_row = None
                for table, ids in (changed or {}).items():
                    total.written_beside[table] = total.written_beside.get(table, 0) + len(ids)
                with refusals_at_cells(sheet, book.sheets[name]):
                    for other, added in self._read_again(session, spec, db_rows, changed or {}).items():
                        total.added_alongside.setdefault(other, set()).update(added)
            if settled:
                with refusals_at_cells(sheet, book.sheets[name]):
                    settle(session.connection())
            total.inserted_ids.update({(name, row): rid for row, rid in done.inserted_ids.items()})
            total.updated += done.updated
            total.deleted += done.deleted
        return total

    def _read_again(self, session: Session, spec: WorkbookSpec, db_rows: dict[str, DbRows],
                    changed: Mapping[str, Iterable[int]]) -> dict[str, set[int]]:
        """The records a sheet's `after` step changed ({table: ids}), read again into every
        sheet over their tables that the user may read, for the refresh; returns, per sheet,
        those new to it."""
        added: dict[str, set[int]] = {}
        for name, db in db_rows.items():
            sheet = spec.sheet(name)
            ids = changed.get(sheet.model.__table__.name)
            if ids and self.actor.may("read", sheet.area):
                for wanted in _chunks(sorted(set(ids))):
                    found = load_rows(session.connection(), sheet, sheet.rows_limit(session, self.actor), wanted)
                    added.setdefault(name, set()).update(found.keys() - db.keys())
                    db.update(found)
        return added

    def _through_services(self, session: Session, sheet: SheetSpec, plan: SheetPlan, data: SheetInput,
                          db: DbRows) -> Applied:
        """A sheet some of whose writes go through the module's services (`update`, `post`,
        `delete`); the rest in bulk. Changes to saved rows come first: a request rejected in the same
        sync no longer stands in the way of a new one for the same days."""
        if sheet.delete is not None:   # checked before the updates' services change anything
            lock_at_versions(session, sheet, data, plan.deletes)
        done = update_plan(session, self.actor, sheet, plan, data) if sheet.update is not None else Applied()
        if sheet.delete is not None:
            done.deleted += delete_plan(session, self.actor, sheet, plan, data).deleted
        rest = SheetPlan(sheet.name, inserts=[] if sheet.post is not None else plan.inserts,
                         updates=[] if sheet.update is not None else plan.updates,
                         deletes=[] if sheet.delete is not None else plan.deletes)
        if not rest.empty:
            bulk = apply_plan(session.connection(), sheet, rest, db, session.info["audit"])
            done.inserted_ids.update(bulk.inserted_ids)
            done.updated += bulk.updated
            done.deleted += bulk.deleted
        if sheet.post is not None and plan.inserts:
            done.inserted_ids.update(post_plan(session, self.actor, sheet, plan, data).inserted_ids)
        return done

    def _refresh_into(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, applied: Applied,
                      keep_edits: bool, target: Path, db_rows: dict | None = None,
                      early: EarlyRefresh | None = None) -> annotate.RefreshCounts:
        """Write the refreshed workbook to `target` (skipped when nothing would change) and
        count what it brought in.

        `db_rows`, the records as loaded and then updated by the apply step, spares a reload;
        `early`, the sheets read in chunks already refreshed chunk by chunk as they were saved,
        spares reading them again (only the records others added are still to append).
        """
        refreshed = self._refreshed(session, book, spec, applied, keep_edits, db_rows, early)
        if target == book.path and not refreshed.changes_file(keep_edits and bool(spec.reports)):
            return refreshed.counts
        self.progress("writing the workbook", 0)
        refreshed.write(target, self._reports(session, spec))
        return refreshed.counts

    def _refreshed(self, session: Session, book: WorkbookInput, spec: WorkbookSpec, applied: Applied,
                   keep_edits: bool, db_rows: dict | None = None, early: EarlyRefresh | None = None,
                   ) -> RefreshedBook:
        """`_refresh_into`'s reading: the refreshed sheets, everything read from the database,
        ready to be written without it (`RefreshedBook.write`, given the report sheets)."""
        sheets = {}
        early = early or EarlyRefresh()
        handed = early.handed   # table -> audited values the file gets
        labels_of = self._labels(session, spec, {})
        for name, data in book.sheets.items():
            sheet, base = spec.sheet(name), book.meta.base.get(name)
            if not self.actor.may("read", sheet.area):
                # Someone else's workbook: nothing from the database goes into a sheet its
                # user may not read; the sheet and its base stay as they were.
                if base is not None:
                    sheets[name] = annotate.RefreshedSheet(SheetPatch(clear_marks=book.meta.marked), base)
                continue
            refreshed = early.sheets.get(name)
            inserted: dict[int, int] = {}
            if refreshed is None or data.kept_whole:   # (refreshed early: its new rows' ids are in already)
                inserted = {row: rid for (n, row), rid in applied.inserted_ids.items() if n == name}
                inserted.update(_rows_of(book.saved, name))
            labels = self._sheet_labels(session, spec, sheet, data, labels_of)
            if data.kept_whole:
                db = db_rows[name] if db_rows is not None else self._load(session, sheet)
                parts: Iterable[tuple[SheetInput, DbRows]] = [(data, db)]
            else:
                parts = self._chunks_to_refresh(session, sheet, data, base, inserted, refreshed)
            for part, db in parts:
                refreshed = self._refresh_part(session, book, sheet, part, base, db, inserted, labels, keep_edits,
                                               applied.added_alongside.get(name, set()), refreshed, handed,
                                               data.kept_whole)
            sheets[name] = refreshed
            # The labels now written mean their records from now on; a sheet that shows no
            # row (an empty Addresses sheet) wrote none, unless it got records others added.
            shows_rows = not data.kept_whole or bool(data.rows)
            for column in data.columns:
                made = labels.get(column.key)
                if made is not None and (shows_rows or made.loaded):
                    book.meta.labels[column.labels] = {
                        **{label: rid for rid, label in made.label_of.items()},
                        **book.meta.labels.get(column.labels, {})}
        for table, values in handed.items():
            read_audited(session, table, values)
        book.meta.shown = {}     # the file now shows the database's values as its base
        if book.meta.installation_id is None:  # an empty layout: bind it to this database now
            book.meta.installation_id = book.seal.installation_id
            book.meta.workbook_id = uuid.uuid4().hex
            book.meta.user, book.meta.roles = self.actor.login, self.actor.role_names
        return RefreshedBook(book, sheets)

    def _refresh_part(self, session: Session, book: WorkbookInput, sheet: SheetSpec, part: SheetInput,
                      base: SheetBase | None, db: DbRows, inserted: Mapping[int, int], labels: dict[str, Labels],
                      keep_edits: bool, alongside: Set[int], into: annotate.RefreshedSheet | None,
                      handed: dict[str, dict[int, dict[str, Any]]], whole: bool) -> annotate.RefreshedSheet:
        """Refresh `part` (a sheet, or a chunk of one: `whole` False) from its records `db`
        into `into`; the audited values it newly shows are gathered in `handed`."""
        computed = sheet.computed(session, {k: v for k, (_ver, v) in db.items()}) if sheet.computed else {}
        audited = audited_keys(sheet, part.columns)
        if audited:
            handed.setdefault(sheet.model.__table__.name, {}).update(_newly_shown(part, base, db, audited, inserted))
        return annotate.refresh_sheet(
            part, base, db, computed, inserted, keep_edits, clear_marks=book.meta.marked,
            out_of_reach=_out_of_reach(session, sheet, part, base if whole else None, db),
            labels=labels, alongside=alongside, into=into)

    def _sheet_labels(self, session: Session, spec: WorkbookSpec, sheet: SheetSpec, data: SheetInput,
                      labels_of: Callable[[SheetSpec, Column], Labels] | None = None) -> dict[str, Labels]:
        """The Labels of the sheet's labelled columns, as the database has them now."""
        labels_of = labels_of or self._labels(session, spec, {})
        return {c.key: labels_of(sheet, c) for c in data.columns if c.labels and not c.computed}

    def _chunks_to_refresh(self, session: Session, sheet: SheetSpec, data: SheetInput, base: SheetBase | None,
                           inserted: Mapping[int, int], early: annotate.RefreshedSheet | None,
                           ) -> Iterator[tuple[SheetInput, DbRows]]:
        """A sheet read in chunks, refreshed a chunk at a time: each chunk of rows read anew
        with its records (unless `early`: refreshed already as the sync saved them, see
        EarlyRefresh); then, with no rows, the records the user may see that neither the
        sheet nor its base shows (added by others: appended after the last row)."""
        shown: set[int] = set()
        if early is None:
            for rows in data.chunks(self.settings.workbook.chunk_rows):
                ids = [row.record_id or inserted.get(row.row) for row in rows]
                shown.update(rid for rid in ids if rid is not None)
                yield data.part(rows), self._load_records(session, sheet, ids)
        table = sheet.model.__table__
        every = select(table.c.id).where(*(table.c[k] == v for k, v in sheet.scope.items()))
        limit = sheet.rows_limit(session, self.actor)
        if limit is not None:
            every = every.where(limit)
        every_id = session.scalars(every)
        if early is not None:   # every row's record that still exists is in its new base (none shown here)
            others = early.base.rows.missing(every_id)
        else:
            others = [rid for rid in every_id if rid not in shown]
        if base is not None:
            others = base.rows.missing(others)
        yield data.part([]), self._load_records(session, sheet, others)

    def _reports(self, session: Session, spec: WorkbookSpec) -> dict[str, OwnedSheet]:
        """The read-only sheets, rebuilt from the database (those the user's role may read)."""
        return {r.name: OwnedSheet(rows=[[label for label, _ in r.columns], *r.shown_to(session, self.actor)],
                                   column_widths={n: width for n, (_, width) in enumerate(r.columns, start=1)},
                                   bold_first_row=True, printed=True, protected=True,
                                   number_formats={n: code for n, code in enumerate(r.number_formats(), start=1)
                                                   if code})
                for r in spec.reports if self.actor.may("read", r.area)}

    def _result(self, book: WorkbookInput, plans: dict[str, SheetPlan], issues: list[CellIssue], status: str,
                applied: Applied | None = None, counts: bool = True) -> FileResult:
        result = FileResult(str(book.path), status,
                            problems=[i for i in issues if not i.conflict],
                            conflicts=[i for i in issues if i.conflict], recovered=len(book.saved))
        if applied is not None:
            result.inserted, result.updated, result.deleted = len(applied.inserted_ids), applied.updated, applied.deleted
        elif counts and status != "rejected":
            result.inserted, result.updated, result.deleted = (
                sum(p.counts[n] for p in plans.values()) for n in range(3))
        return result


def _permission_issues(data, plan: SheetPlan, may_write: bool, writable: set[str]) -> list[CellIssue]:
    """New rows and deletions the user's role does not allow (merge_sheet covers the updates)."""
    name, area = data.spec.name, data.spec.area
    if not may_write:
        return [CellIssue(name, data.cell(ins.row, None), None, None, "permission",
                          f"you may not add {area} records; remove this row") for ins in plan.inserts] + [
                CellIssue(name, None, None, gone.record_id, "permission",
                          f"you may not delete {area} records; put record {gone.record_id} back")
                for gone in plan.deletes]
    if all(c.key in writable for c in data.spec.columns if c.key in data.positions and not c.computed):
        return []
    return [CellIssue(name, data.cell(ins.row, key), data.label(key), None, "permission",
                      f"you may not fill in {data.label(key)}")
            for ins in plan.inserts for key, value in ins.values.items()
            if value is not None and key not in writable]


def _unseen_columns(book: WorkbookInput, actor: Actor) -> list[CellIssue]:
    """Columns holding fields the user may not see (someone else's workbook, or a header
    typed in): refused at their header, and left out of what is checked and refreshed, so
    no database value is ever written into them."""
    issues = []
    for name, data in book.sheets.items():
        hidden = [c for c in data.columns if not actor.sees(c.sensitivity)]
        for column in hidden:
            issues.append(CellIssue(name, data.cell(1, column.key), column.label, None, "permission",
                                    f"your role may not see {column.label}: delete this column (its values "
                                    "cannot be saved by you) and sync again"))
        data.columns = [c for c in data.columns if actor.sees(c.sensitivity)]
    return issues


def _refuse_every_change(data: SheetInput, base: SheetBase | None) -> SheetPlan:
    """The plan of a sheet the user may not read: merged against its base alone (as if the
    database still held it), with nothing writable, so every edit, new row and deletion is
    a problem at its cell and no database value is looked at."""
    as_exported = {rid: (version, {}) for rid, (version, _values) in (base.rows.items() if base else ())}
    plan = merge_sheet(data, base, as_exported, writable=set())
    plan.issues += _permission_issues(data, plan, may_write=False, writable=set())
    return plan


def _with_entered(session: Session, sheet: SheetSpec, db: DbRows) -> DbRows:
    """Saved rows with their entered values (a new employee's name, kept in contacts), so
    the merge compares those cells with the database like any other."""
    computed = sheet.computed(session, {rid: values for rid, (_v, values) in db.items()})
    entered = sheet.entered_keys
    return {rid: (version, {**values, **{k: computed.get(rid, {}).get(k) for k in entered}})
            for rid, (version, values) in db.items()}


def _out_of_reach(session: Session, sheet: SheetSpec, data: SheetInput, base: SheetBase | None,
                  db: DbRows) -> frozenset[int]:
    """Records the workbook shows that exist but are not among the rows the user may see
    (someone else's workbook, or a report who moved to another team): changes to them are
    refused as not theirs, and a refresh empties their rows, rather than either taking them
    for records deleted meanwhile."""
    if sheet.rows_for is None:
        return frozenset()
    shown = {row.record_id for row in data.rows if row.record_id is not None} | set(base.rows if base else ())
    missing = shown - db.keys()
    if not missing:
        return frozenset()
    table = sheet.model.__table__
    return frozenset(session.scalars(select(table.c.id).where(table.c.id.in_(sorted(missing)))))


def _newly_shown(data: SheetInput, base: SheetBase | None, db: DbRows, keys: list[str],
                 inserted: dict[int, int]) -> dict[int, dict[str, Any]]:
    """The audited values a refresh hands over: those the file does not show already and
    that changed in the database since the workbook's base (or records new to the file).
    A value the user typed themselves is not a read."""
    rows = {row.record_id or inserted.get(row.row): row for row in data.rows}
    position = {key: base.columns.index(key) for key in keys if base and key in base.columns}
    handed = {}
    for rid, (_version, values) in db.items():
        row, before = rows.get(rid), base.rows.get(rid) if base else None
        fresh = {}
        for key in keys:
            value = canonical(values.get(key))
            if not value or (row is not None and canonical(row.values.get(key)) == value):
                continue
            if before is None or key not in position or before[1][position[key]] != value:
                fresh[key] = values.get(key)
        if fresh:
            handed[rid] = fresh
    return handed


def _rows_with_problems(book: WorkbookInput, spec: WorkbookSpec, issues: list[CellIssue]) -> dict[str, set[int]] | None:
    """Per sheet, the rows that have a problem, with the rows grouped with them (see
    SheetSpec.grouped_by); None when a problem is not at a cell (it concerns a whole sheet)."""
    held: dict[str, set[int]] = {name: set() for name in book.sheets}
    for issue in issues:
        row = _row_of(issue.cell)
        if row is None or issue.sheet not in held:
            return None
        held[issue.sheet].add(row)
    for name, rows in held.items():
        key = spec.sheet(name).grouped_by
        if key and rows:
            data = book.sheets[name]
            groups = {r.values.get(key) for r in data.rows if r.row in rows}
            rows.update(r.row for r in data.rows if r.values.get(key) in groups)
    return held


def _issues_in(issues: list[CellIssue], rows: list[RowInput]) -> list[CellIssue]:
    """Those of a sheet's `issues` at a cell of `rows`, or at no cell (the whole sheet's)."""
    if not issues:
        return []
    numbers = {row.row for row in rows}
    return [i for i in issues if (at := _row_of(i.cell)) is None or at in numbers]


def _chunks(ids: list[int], size: int = 1000) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def _row_of(cell: str | None) -> int | None:
    digits = "".join(ch for ch in cell or "" if ch.isdigit())
    return int(digits) if digits else None


def _shown_in(meta, sheet: str) -> dict[int, dict[str, tuple[int, str]]]:
    """The database's side of the conflicts the workbook was last shown, for one sheet."""
    return {int(rid): {key: (int(seen[0]), str(seen[1])) for key, seen in keys.items()}
            for rid, keys in meta.shown.get(sheet, {}).items()}


def _shown_from(plans: dict[str, SheetPlan]) -> dict[str, dict[str, dict[str, list]]]:
    shown: dict[str, dict[str, dict[str, list]]] = {}
    for name, plan in plans.items():
        for (rid, key), (version, value) in plan.shown.items():
            shown.setdefault(name, {}).setdefault(str(rid), {})[key] = [version, value]
    return shown


def _changed_by(session: Session, sheet: SheetSpec) -> Callable[[int, str], str | None]:
    """Who last changed a field of a record of the sheet, and when (from the audit log)."""
    table = sheet.model.__table__.name

    def who(record_id: int, key: str) -> str | None:
        recent = session.execute(select(AuditEntry.actor, AuditEntry.at, AuditEntry.changes).where(
            AuditEntry.table_name == table, AuditEntry.record_id == record_id, AuditEntry.action == "update")
            .order_by(AuditEntry.id.desc()).limit(50)).all()
        for actor, at, changes in recent:
            if key in (changes or {}):
                return f"{actor} on {at:%Y-%m-%d %H:%M} UTC"
        return None

    return who


def _rows_added(spec: WorkbookSpec, applied: Applied) -> dict[str, int]:
    """Table name -> the rows a sync added to it or changed in it: its sheets' new rows, and
    the records their `after` steps wrote (a new person's e-mail and phone entries)."""
    added = dict(applied.written_beside)
    for name, _row in applied.inserted_ids:
        table = spec.sheet(name).model.__table__.name
        added[table] = added.get(table, 0) + 1
    return added


def _rows_of(saved: dict[tuple[str, int], int], sheet: str) -> dict[int, int]:
    """One sheet's rows an earlier sync saved: row -> record id."""
    return {row: rid for (name, row), rid in saved.items() if name == sheet}


TEMP_MARK = ".backoffice-"


def _temp_beside(path: Path) -> Path:
    """A hidden temporary file beside the workbook, named with this process's id so that
    one left by a killed sync can be told from one another sync is writing (see
    `remove_abandoned_temps`). Refused as unusable when nothing can be written there."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}{TEMP_MARK}{os.getpid()}-", suffix=".xlsx",
                                        dir=path.parent)
    except OSError as exc:
        raise UnusableInput(path, f"nothing can be written in its folder ({exc.strerror or exc}); nothing was "
                                  "saved: move the workbook to a folder you may write in and sync again") from None
    os.close(handle)
    return Path(name)


def remove_abandoned_temps(path: Path) -> list[Path]:
    """Delete the temporary files killed syncs of this workbook left beside it (those of a
    process that no longer runs); returns them."""
    removed = []
    for temp in path.parent.glob(f".{glob.escape(path.stem)}{TEMP_MARK}*.xlsx"):
        pid = temp.name[len(path.stem) + 1 + len(TEMP_MARK):].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:      # not ours to signal (or not POSIX): assume it runs
        return True
    return True


def put_in_place(temp: Path, target: Path, replace: bool = True,
                 why_not: str | None = None) -> tuple[Path | None, str | None]:
    """Put a synced workbook written at `temp` in `target`'s place; when it cannot be
    replaced (open in Excel on Windows, read-only; or `replace` is False, `why_not` saying
    why), keep it beside under a name of its own. Returns (kept copy, why) or (None, None).
    Used by the local sync after its commit and by the remote client (engine.remote) with
    the server's answer: what was saved stays saved either way."""
    if replace:
        try:
            _replace_keeping_mode(temp, target)
            return None, None
        except OSError as exc:
            why_not = f"{target} could not be replaced ({exc.strerror or exc})"
    kept = _synced_copy_name(target)
    os.replace(temp, kept)
    return kept, why_not


def kept_beside(result: FileResult, path: Path, kept: Path, why: str | None) -> None:
    """Tell in `result` that the synced workbook was kept beside `path`, and what to do."""
    result.written_to = str(kept)
    result.warning = (f"{why}: the records are saved, and the up-to-date "
                      f"workbook is {kept.name} beside it. Keep that file and "
                      f"delete {path.name} (or close it and sync it again: rows already saved "
                      "are matched to their records, never added twice).")


def temp_beside(path: Path) -> Path:
    """A temporary file beside `path` (see `_temp_beside`), for the remote client."""
    return _temp_beside(path)


def replace_keeping_mode(temp: Path, target: Path) -> None:
    """`_replace_keeping_mode`, for the remote client."""
    _replace_keeping_mode(temp, target)


def _replace_keeping_mode(temp: Path, target: Path) -> None:
    """Put the refreshed file in the workbook's place with the workbook's permissions."""
    keep_mode(target, temp)
    os.replace(temp, target)


def _synced_copy_name(path: Path) -> Path:
    """A free name beside the workbook for its refreshed copy: "stock (synced 2026-12-04 0915).xlsx"."""
    stamp = datetime.now().strftime("%Y-%m-%d %H%M")
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem} (synced {stamp}{'' if n == 1 else f' {n}'}){path.suffix}")
        if not candidate.exists():
            return candidate
    raise UnusableInput(path, "too many synced copies beside it; tidy the folder")


def _as_shown(labelled: dict[str, Labels], key: str, value: Any) -> str:
    """A value as the workbook shows it: a record by its label in a labelled column."""
    if key in labelled and value not in (None, ""):
        return str(labelled[key].show(int(value)))
    return canonical(value)


def _describe_changes(book: WorkbookInput, plans: dict[str, SheetPlan],
                      labels_of: Callable[[SheetSpec, Column], Labels]) -> list[dict[str, Any]]:
    """The diff a dry run prints: every insert, update (cell old -> new) and delete, each
    value as the workbook shows it (a record by its label, as in its drop-down)."""
    changes = []
    for name, plan in plans.items():
        data = book.sheets[name]
        shown = functools.partial(_as_shown, {c.key: labels_of(data.spec, c) for c in data.columns if c.labels})
        for ins in plan.inserts:
            changes.append({"sheet": name, "row": ins.row, "action": "insert",
                            "values": {data.label(k): shown(k, v) for k, v in ins.values.items() if v is not None}})
        for upd in plan.updates:
            base = book.meta.base[name]
            old = dict(zip(base.columns, base.rows[upd.record_id][1], strict=False))
            changes.append({"sheet": name, "row": upd.row, "record_id": upd.record_id, "action": "update",
                            "cells": [{"cell": data.cell(upd.row, k), "column": data.label(k),
                                       "old": shown(k, old.get(k)), "new": shown(k, v)}
                                      for k, v in upd.changes.items()]})
        for gone in plan.deletes:
            changes.append({"sheet": name, "record_id": gone.record_id, "action": "delete"})
    return changes
