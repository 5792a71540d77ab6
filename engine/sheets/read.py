"""Reading a workbook back: the guard, our `_backoffice` sheet, then each sheet's rows, typed.

Values come from our streaming reader (engine.office.xlsx_rows: python-calamine's values, a
sheet read in chunks); cells it reads as '' although they are not empty — Excel error values
and formulas never calculated — it reports in the same pass, before the rows they are in, and
they are problems at their cell. Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from engine.config import WorkbookLimits
from engine.db.installation import Seal
from engine.errors import BackofficeError, UnusableInput
from engine.office.sheet_scan import SpecialCell
from engine.office.xlsx_guard import PackageInfo, check_package, too_large
from engine.office.xlsx_rows import SheetReader
from engine.office.xlsx_text import TextBudget
from engine.sheets.issues import CellIssue
from engine.sheets.labels import LabelError, Labels
from engine.sheets.live import BookSnapshot
from engine.sheets.meta import (
    DELETE,
    ID,
    ISSUES_SHEET,
    LISTS_SHEET,
    META_SHEET,
    VERSION,
    WorkbookMeta,
)
from engine.sheets.spec import Column, SheetSpec, WorkbookSpec
from engine.sheets.values import convert_column


@dataclass(slots=True)  # one per row read
class RowInput:
    row: int                          # Excel row number (1 = header)
    record_id: int | None
    version: int | None
    values: dict[str, Any]            # column key -> typed value (cells with problems left out)
    computed: dict[str, Any] = field(default_factory=dict)   # computed columns as shown (raw)
    deleted: bool = False             # every editable cell emptied: a request to delete the record
    invalid: bool = False
    retyped: tuple[str, ...] = ()     # labelled cells typed other than as their label (see resolve_labels)


@dataclass
class SheetInput:
    spec: SheetSpec
    columns: list[Column]             # the spec columns present in the sheet, in sheet order
    positions: dict[str, int]         # column key -> 0-based column index ("id" -> 0, "version" -> 1)
    _rows: list[RowInput] | None = None   # every row, once read whole (see `rows`)
    last_row: int = 1                 # the last non-blank row (of those read so far)
    _source: _RowSource | None = None  # where rows not yet read come from (see `chunks`)

    @property
    def rows(self) -> list[RowInput]:
        """Every row of the sheet, typed, read once and kept. A sheet too large to keep whole
        is read a chunk at a time instead (`chunks`)."""
        if self._rows is None:
            self._rows = [row for chunk in self.chunks(1 << 62) for row in chunk]
            self._source = None
        return self._rows

    @rows.setter
    def rows(self, rows: list[RowInput]) -> None:
        self._rows, self._source = rows, None

    @property
    def kept_whole(self) -> bool:
        """Whether every row is read and kept (otherwise each pass reads them anew)."""
        return self._rows is not None

    def chunks(self, size: int) -> Iterator[list[RowInput]]:
        """The rows, `size` at a time, read from the file unless kept (each pass reads anew)."""
        if self._rows is not None:
            for start in range(0, len(self._rows), size):
                yield self._rows[start:start + size]
        elif self._source is not None:
            yield from self._source.chunks(self, size)

    def part(self, rows: list[RowInput]) -> SheetInput:
        """This sheet holding only `rows` (a chunk): what merge, checks and refresh take."""
        return SheetInput(self.spec, self.columns, self.positions, rows, self.last_row)

    def cell(self, row: int | None, key: str | None) -> str | None:
        if row is None:
            return None
        index = self.positions.get(key or "", None)
        return f"{xl_col_to_name(index if index is not None else 0)}{row}"

    def label(self, key: str | None) -> str | None:
        if key in (None, ""):
            return None
        if key == "id":
            return ID
        if key == "version":
            return VERSION
        if key == "delete":
            return DELETE
        return next((c.label for c in self.spec.columns if c.key == key), key)


@dataclass
class WorkbookInput:
    path: Path
    meta: WorkbookMeta
    package: PackageInfo
    sheets: dict[str, SheetInput]
    issues: list[CellIssue]
    seal: Seal | None                 # what its _backoffice sheet was checked, and is signed again, with
    # New rows an earlier sync of this file saved though its write-back never arrived:
    # (sheet, row) -> record id (see engine.sheets.receipts).
    saved: dict[tuple[str, int], int] = field(default_factory=dict)
    # A workbook open in Excel (engine.sheets.live): read from its cells, and written back by
    # collecting the changes for the add-in to make in it, not by patching a file.
    live: BookSnapshot | None = None


def read_workbook(path: Path, spec_for, limits: WorkbookLimits, seal: Seal | None, allow_macros: bool = False) -> WorkbookInput:
    """Read one of our workbooks, made by the installation `seal` names (its id and secret).

    `spec_for(module)` gives the WorkbookSpec; raises UnusableInput for a file that is hostile,
    not ours, from another installation or altered outside Backoffice.
    """
    package = check_package(path, limits, allow_macros=allow_macros)
    if META_SHEET not in package.sheet_names:
        raise UnusableInput(path, "not a Backoffice workbook (it has no _backoffice sheet); "
                                  "get one with `backoffice workbook new MODULE`")
    def streamed(name: str) -> bool:
        """A sheet over `limits.chunk_rows` rows is read a chunk at a time, never kept whole."""
        return package.dimensions.get(name, (0, 0))[0] > limits.chunk_rows

    with TextBudget(path, limits.max_text_bytes) as budget, \
            SheetReader(path, package, max_rows=limits.max_rows, max_columns=limits.max_columns) as reader:
        budget.charge(META_SHEET, package.sheet_parts[META_SHEET])
        charged = {META_SHEET}
        whole: dict[str, list[list[Any]]] = {}  # a sheet read whole: read once, for its header and its rows

        def rows_of(name: str) -> Iterable[list[Any]]:
            if name != META_SHEET and streamed(name):
                # its text charged as it is read, on later passes too (the budget's count
                # outlives this block: closing it closes only the zip its pre-counts read)
                return _read_anew(reader, name, budget)
            if name not in charged:
                charged.add(name)
                budget.charge(name, package.sheet_parts[name])
            if name not in whole:
                whole[name] = reader.read_rows(name)
            return whole[name]

        def special_of(name: str) -> list[SpecialCell]:
            if name != META_SHEET and streamed(name):
                # found as the rows are read, each before its row comes (see _RowSource.chunks)
                return reader.special.setdefault(name, [])
            rows_of(name)
            return reader.special[name]

        return _read(path, package, rows_of, special_of, spec_for, limits, seal, streamed)


def _read_anew(reader: SheetReader, name: str, budget: TextBudget) -> Iterable[list[Any]]:
    """A streamed sheet's rows, from the file opened again for each pass (the strings and
    formats `reader` read are kept): every row from 1 on ([] for a row holding nothing), as
    python-calamine's `to_python` lists them. The text they bring is charged to `budget` as
    they are read, each chunk before its rows come (TextBudget.taking)."""
    class Rows:
        def __iter__(self) -> Iterator[list[Any]]:
            with reader.again() as again:
                expected = 1
                for number, values in again.iter_rows(name, budget.taking(name)):
                    while expected < number:
                        yield []
                        expected += 1
                    yield values
                    expected += 1
    return Rows()


def read_open_workbook(snapshot: BookSnapshot, spec_for, limits: WorkbookLimits, seal: Seal | None) -> WorkbookInput:
    """Read a workbook open in Excel, as the add-in took it from its ranges (`snapshot`):
    the same checks, rows and problems as a file, from the cells instead of the package."""
    path = Path(snapshot.name)
    if META_SHEET not in snapshot.sheets:
        raise UnusableInput(path, "not a Backoffice workbook (it has no _backoffice sheet); "
                                  "start from one made with New workbook or `backoffice workbook new MODULE`")
    snapshot.check_size(limits)
    package = PackageInfo(sheet_names=list(snapshot.sheets), sheet_parts={}, hidden=dict(snapshot.hidden))
    book = _read(path, package, snapshot.rows, snapshot.special, spec_for, limits, seal)
    book.live = snapshot
    return book


def _read(path: Path, package: PackageInfo, rows_of: Callable[[str], list[list[Any]]],
          special_of: Callable[[str], list[SpecialCell]], spec_for, limits: WorkbookLimits,
          seal: Seal | None, streamed: Callable[[str], bool] = lambda name: False) -> WorkbookInput:
    """The workbook's meta and sheets; a sheet for which `streamed(name)` is true is read a
    chunk at a time whenever its rows are asked for (see SheetInput.chunks), the others whole now."""
    try:
        meta = WorkbookMeta.from_rows(rows_of(META_SHEET), seal, limits.max_snapshot_bytes)
    except ValueError as exc:
        raise UnusableInput(path, f"not a usable Backoffice workbook: {exc}") from None
    try:
        spec: WorkbookSpec = spec_for(meta.module)
    except BackofficeError:
        raise UnusableInput(path, f"made for a {meta.module!r} workbook, which this Backoffice does not have") from None
    if meta.spec != spec.fingerprint:
        raise UnusableInput(path, f"made for an older layout of the {meta.module} workbook; "
                                  f"get a new one with `backoffice workbook new {meta.module}` and copy your edits into it")
    issues: list[CellIssue] = []
    sheets: dict[str, SheetInput] = {}
    ours = {s.name for s in spec.sheets} | {r.name for r in spec.reports} | {META_SHEET, LISTS_SHEET, ISSUES_SHEET}
    unknown = [n for n in package.sheet_names if n not in ours]
    for sheet_spec in spec.sheets:
        base = meta.base.get(sheet_spec.name)
        if sheet_spec.name not in package.sheet_names:
            if base is not None:
                hint = f" (the workbook has sheets {', '.join(unknown)}: was it renamed?)" if unknown else ""
                issues.append(CellIssue(sheet_spec.name, None, None, None, "missing-sheet",
                                        f"sheet {sheet_spec.name!r} is missing{hint}; rename it back"))
            continue
        data = sheets[sheet_spec.name] = _read_sheet(
            sheet_spec, base.columns if base else None, _capped(path, sheet_spec.name, rows_of, limits),
            special_of(sheet_spec.name), package.date1904, issues)
        if not (streamed(sheet_spec.name) and read_in_chunks(sheet_spec)):
            data.rows  # noqa: B018  (read whole now: its reading problems come in sheet order)
    return WorkbookInput(path, meta, package, sheets, issues, seal)


def saved_in_bulk(spec: SheetSpec) -> bool:
    """Whether a sheet's rows are saved in bulk, not through a module's services (a posting
    sheet posts in sheet order, with rules over earlier rows) nor in groups (an entry's lines
    are posted together): nothing about its rows is decided while writing them."""
    return not (spec.grouped_by or spec.post or spec.update or spec.delete)


def read_in_chunks(spec: SheetSpec) -> bool:
    """Whether a large sheet may be read, checked and saved a chunk at a time: its rows are
    saved in bulk, or its new rows are posted by the module's service one chunk after another
    in sheet order, each after the rows before it, as a sheet read whole posts them (an
    append-only ledger: stock movements, stock counts, payments). Not a sheet whose rows are
    posted in groups (an entry's lines go together) or whose new rows are checked together
    (`check_new`), nor one whose saved rows are changed or deleted through a service or that
    runs a step after saving: those look across the rows of the whole sheet."""
    return saved_in_bulk(spec) or not (spec.grouped_by or spec.check_new or spec.update or spec.delete
                                       or spec.after)


RawRows = Callable[[], Iterable[tuple[int, list[Any]]]]   # (Excel row number, cells), read anew on each call


def _capped(path: Path, name: str, rows_of: Callable[[str], list[list[Any]]], limits: WorkbookLimits) -> RawRows:
    """The sheet's rows, read anew on each call, refused past the row limit (the guard
    refuses a sheet whose declared size is over it before anything is read)."""
    def rows() -> Iterator[tuple[int, list[Any]]]:
        read = rows_of(name)      # on each pass, so that a streamed sheet is read anew
        for number, cells in enumerate(read, start=1):
            if number > limits.max_rows:
                raise UnusableInput(path, too_large(name, f"more than {limits.max_rows} rows", limits, rows=number))
            yield number, cells
    return rows


def _read_sheet(spec: SheetSpec, expected: list[str] | None, rows: RawRows, special,
                date1904: bool, issues: list[CellIssue]) -> SheetInput:
    """The sheet's header, checked now; its rows typed as they are asked for (`SheetInput.chunks`)."""
    first = next(iter(rows()), None)
    header = [str(v).strip() if v is not None else "" for v in (first[1] if first and first[0] == 1 else [])]
    by_label = {c.label: c for c in spec.columns}
    positions: dict[str, int] = {}
    columns: list[Column] = []
    for index, label in enumerate(header):
        ref = f"{xl_col_to_name(index)}1"
        if label == ID:
            positions["id"] = index
        elif label == VERSION:
            positions["version"] = index
        elif label == DELETE and spec.can_delete:
            positions["delete"] = index
        elif label in by_label:
            positions[by_label[label].key] = index
            columns.append(by_label[label])
        elif label:
            issues.append(CellIssue(spec.name, ref, label, None, "unknown-column",
                                    f"unknown column {label!r}: rename it back or move it to another sheet"))
    data = SheetInput(spec, columns, positions)
    for key, label in (("id", ID), ("version", VERSION)):
        if key not in positions:
            issues.append(CellIssue(spec.name, "A1", label, None, "missing-column",
                                    f"column {label!r} is missing; it must stay as exported"))
    for key in expected or []:
        if key not in positions:
            label = next(c.label for c in spec.columns if c.key == key)
            issues.append(CellIssue(spec.name, None, label, None, "missing-column",
                                    f"column {label!r} is missing (renamed or deleted?); put it back"))
    if "id" not in positions:
        data._rows = []
        return data
    data._source = _RowSource(rows, special, date1904, issues, list(columns))
    return data


@dataclass
class _RowSource:
    """Where a sheet's rows come from: its cells read anew on each pass, typed a chunk at a
    time. Reading problems are reported once, on the first pass."""

    raw: RawRows
    special: list[SpecialCell]  # of a streamed sheet: filled as its rows are read, each before its row
    date1904: bool
    issues: list[CellIssue]
    # the columns the header named: each is typed, even one then left out of what is checked
    # (a column the user may not see), so that an edit in it is found and refused
    columns: list[Column]
    labels_of: Callable[[SheetSpec, Column], Labels] | None = None
    passes: int = 0

    def chunks(self, data: SheetInput, size: int) -> Iterator[list[RowInput]]:
        issues = self.issues if self.passes == 0 else []
        self.passes += 1
        # calamine reads an error cell as "": a row holding only errors must not pass as blank
        bad_rows: dict[int, list[SpecialCell]] = {}
        by_ref: dict[str, SpecialCell] = {}  # one problem a cell: the last found
        seen = 0

        def catch_up() -> None:
            nonlocal seen
            for cell in self.special[seen:]:
                cells = bad_rows.setdefault(int(cell.ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), [])
                if cell.ref in by_ref:
                    cells.remove(by_ref[cell.ref])
                by_ref[cell.ref] = cell
                cells.append(cell)
            seen = len(self.special)

        catch_up()
        pending: list[tuple[int, list[Any]]] = []
        for number, raw in self.raw():
            if seen != len(self.special):
                catch_up()
            if number == 1:
                continue
            # Blank rows are skipped (a row of spaces only is dropped once its cells are typed).
            if raw.count("") != len(raw) or number in bad_rows:
                pending.append((number, raw))
            if len(pending) >= size:
                yield self._typed(data, pending, bad_rows, issues)
                pending = []
        if pending:
            yield self._typed(data, pending, bad_rows, issues)

    def _typed(self, data: SheetInput, kept: list[tuple[int, list[Any]]], bad_rows, issues) -> list[RowInput]:
        enabled = gc.isenabled()
        gc.disable()  # a row, a dict and a tuple a row, no cycles: the collector would only cost time
        try:
            rows = _type_rows(SheetInput(data.spec, self.columns, data.positions), kept, bad_rows, self.date1904,
                              issues)
        finally:
            if enabled:
                gc.enable()
        data.last_row = max(data.last_row, kept[-1][0])
        if self.labels_of is not None:
            _resolve_rows(data, rows, self.labels_of, issues)
        return rows


def _type_rows(data: SheetInput, kept: list[tuple[int, list[Any]]], bad_rows: dict[int, list[SpecialCell]],
               date1904: bool, issues: list[CellIssue]) -> list[RowInput]:
    """Type a chunk of the sheet's non-blank rows ((row number, cells)), column by column."""
    spec, columns, positions = data.spec, data.columns, data.positions
    numbers = [r for r, _ in kept]
    width = max(positions.values()) + 1
    lines = [raw if len(raw) >= width else raw + [""] * (width - len(raw)) for _, raw in kept]
    cells_of = list(zip(*lines, strict=False))  # column -> its cells (columns past `width` unused)

    # Column by column: each column's cells converted in one pass (see convert_column).
    failed: dict[int, dict[str, tuple[str, str]]] = {}   # row index -> key -> (code, message)
    if bad_rows:
        key_of_letters = {xl_col_to_name(i): k for k, i in positions.items()}
        for i, number in enumerate(numbers):
            for cell in bad_rows.get(number, ()):
                key = key_of_letters.get(cell.ref.rstrip("0123456789"))
                if key is not None:
                    failed.setdefault(i, {})[key] = (cell.kind, _special_message(cell))
    managed = {}
    for key in ("id", "version"):
        if key in positions:
            managed[key], errors = convert_column(_MANAGED, cells_of[positions[key]])
            errors = [*errors, *_beyond_the_database(managed[key])]
            for i in errors:
                failed.setdefault(i, {}).setdefault(key, (
                    "read-only", f"{data.label(key)} is managed by Backoffice; undo this change"))
    stored_keys = [c.key for c in columns if not c.computed]
    converted = []
    for column in columns:
        if column.computed:
            continue
        # a labelled column holds labels, read as text and turned into ids by `resolve_labels`
        values, errors = convert_column(_LABEL if column.labels else column, cells_of[positions[column.key]],
                                        date1904)
        converted.append(values)
        for i, exc in errors.items():
            failed.setdefault(i, {}).setdefault(column.key, (exc.code, str(exc)))
    shown = [(c.key, positions[c.key]) for c in columns if c.computed]
    editable = [n for n, key in enumerate(stored_keys) if next(c for c in columns if c.key == key).editable]
    ids = managed.get("id", [None] * len(numbers))
    versions = managed.get("version", [None] * len(numbers))

    # The rows, built in bulk (maps in C: no step in Python per row but RowInput's own);
    # then the few that need more are visited one by one.
    typed = list(zip(*converted, strict=True)) if converted else [()] * len(numbers)
    rows_in = list(map(RowInput, numbers, ids, versions, map(dict, map(zip, repeat(stored_keys), typed))))
    for key, index in shown:
        for row, cell in zip(rows_in, cells_of[index], strict=True):
            row.computed[key] = cell
    for i in sorted(failed):
        row = rows_in[i]
        row.invalid = True
        for key, (code, message) in failed[i].items():
            row.values.pop(key, None)
            if key == "id":
                row.record_id = None
            issues.append(CellIssue(spec.name, data.cell(row.row, key), data.label(key), row.record_id, code, message))
    # Every editable cell empty: a request to delete the record, or (new row) nothing to do.
    # A sheet with nothing editable (a listing, like a manager's Team) has no cell to clear:
    # its saved rows are never taken for deletions, and a new row typed into it is kept, to
    # be refused.
    skipped = set()
    for i, values in enumerate(typed):
        if values.count(None) >= len(editable) and all(values[n] is None for n in editable):
            row = rows_in[i]
            if row.invalid:
                continue
            if row.record_id is None:
                if editable or values.count(None) == len(values):
                    skipped.add(i)  # only computed cells filled in
            elif editable:
                row.deleted = True
    if "delete" in positions:
        _marked_for_deletion(data, rows_in, cells_of[positions["delete"]], skipped, issues)
    return [row for i, row in enumerate(rows_in) if i not in skipped] if skipped else rows_in


_DELETE = Column("delete", DELETE, type="bool")
_LABEL = Column("label", "label")


def resolve_labels(book: WorkbookInput, labels_of: Callable[[SheetSpec, Column], Labels]) -> None:
    """Turn the labels read in labelled columns into the ids of their records (see
    engine.sheets.labels); `labels_of(sheet, column)` gives the column's Labels. A label
    naming no record, or several, is a problem at its cell, and the cell is left out.
    Rows typed already are resolved now; rows still to be read, as each chunk is typed.
    One dictionary look-up per cell: 100,000 rows take milliseconds."""
    for data in book.sheets.values():
        if data._rows is not None:
            _resolve_rows(data, data._rows, labels_of, book.issues)
        elif data._source is not None:   # looked up now, while `labels_of` may still read
            made = {c.key: labels_of(data.spec, c).load() for c in data.columns if c.labels and not c.computed}
            data._source.labels_of = lambda _sheet, column, made=made: made[column.key]


def _resolve_rows(data: SheetInput, rows: list[RowInput], labels_of: Callable[[SheetSpec, Column], Labels],
                  issues: list[CellIssue]) -> None:
    for column in data.columns:
        if column.labels is None or column.computed:
            continue
        key = column.key
        if all(row.values.get(key) is None for row in rows):
            continue   # nothing typed: its labels are not even read (an empty sheet's)
        labels = labels_of(data.spec, column)
        exact = labels.exact
        for row in rows:
            text = row.values.get(key)
            if text is None:
                continue
            found = exact.get(text)
            if found is None:
                try:
                    found = labels.resolve(text, column.label)
                except LabelError as exc:
                    del row.values[key]
                    row.invalid = True
                    issues.append(CellIssue(data.spec.name, data.cell(row.row, key), column.label,
                                            row.record_id, exc.code, str(exc)))
                    continue
                row.retyped += (key,)
            row.values[key] = found


def _marked_for_deletion(data: SheetInput, rows: list[RowInput], cells: Sequence[Any], skipped: set[int],
                         issues: list[CellIssue]) -> None:
    """Rows whose Delete cell says yes ask to delete their record (then merged, permitted
    and refused like a cleared row); a new row marked so is not saved."""
    marks, errors = convert_column(_DELETE, cells)
    for i, exc in errors.items():
        rows[i].invalid = True
        issues.append(CellIssue(data.spec.name, data.cell(rows[i].row, "delete"), DELETE, rows[i].record_id,
                                exc.code, f"{exc}: choose yes to delete the record, or leave it empty"))
    for i, yes in enumerate(marks):
        if yes and not rows[i].invalid:
            if rows[i].record_id is None:
                skipped.add(i)
            else:
                rows[i].deleted = True


_MANAGED = Column("managed", "ID", type="integer")
_DATABASE_INTEGERS = (-(1 << 63), (1 << 63) - 1)   # what an ID or a Version column can hold


def _beyond_the_database(numbers: list[int | None]) -> list[int]:
    """The positions of numbers no record's ID or version can be (a typed 1E+30): refused at
    their cell, before one is looked up in the database (SQLite cannot even be asked for it)."""
    given = [n for n in numbers if n is not None]
    low, high = _DATABASE_INTEGERS
    if not given or low <= min(given) and max(given) <= high:   # the usual case: no step a row
        return []
    return [i for i, n in enumerate(numbers) if n is not None and not low <= n <= high]


def _special_message(cell) -> str:
    if cell.kind == "error":
        return f"the cell shows the Excel error {cell.text}: fix the formula or type the value"
    return "the formula here was never calculated: open the file in Excel, let it calculate, save, and sync again"
