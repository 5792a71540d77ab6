"""Save the headless engine's workbook back into its .xlsx, through `patch_xlsx` only.

What changed since the file was loaded becomes patches: values, our marks on and off, our
notes (and a user's note the add-in deleted or replaced), locks, a table's new last row, a
sheet put very hidden; a sheet made in memory, or a loaded one cleared with `.clear()` and
written again, becomes an OwnedSheet written whole. Everything else in the file is copied
byte for byte by the patcher. A change the patcher cannot make (a user's own fill, a deleted
sheet, a renamed or moved one, a format on a user's sheet...) raises NotImplementedError
naming it before anything is written: nothing the add-in did is dropped without a word.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from addin.headless.model import CellError, NoteData, SheetData
from engine.office.xlsx_cells import cell_ref
from engine.office.xlsx_comments import note_fingerprint
from engine.office.xlsx_patch import CellPatch, OwnedSheet, SheetPatch, patch_xlsx
from engine.office.xlsx_styles import MARK_FILLS

if TYPE_CHECKING:
    from addin.headless.engine import Book

_KIND_OF_FILL = {argb: kind for kind, argb in MARK_FILLS.items()}


class _Refusals(list):
    def check(self, path: Path) -> None:
        if self:
            raise NotImplementedError(f"{path.name}: the headless engine cannot save " + "; ".join(self))


def save_book_data(book: Book, path: Path | None = None) -> None:
    source = book.path
    target = Path(path).resolve() if path else source
    refusals = _Refusals()
    for sheet in book.deleted:
        refusals.append(f"the deletion of the sheet {sheet.name!r} (patch_xlsx cannot delete sheets)")
    patches: dict[str, SheetPatch] = {}
    owned: dict[str, OwnedSheet] = {}
    very_hidden: list[str] = []
    known_notes: dict[str, list[str]] = {}
    order = book.sheet_data
    loaded_positions = [n for n, s in enumerate(order) if s.loaded]
    for index, sheet in enumerate(order):
        if not sheet.loaded or sheet.cleared:
            first = index == 0 and sheet is book.active_sheet
            if not sheet.loaded and not first and loaded_positions and index < loaded_positions[-1]:
                refusals.append(f"the new sheet {sheet.name!r} between sheets of the file (new sheets go "
                                "last, or first as the active sheet)")
            owned[sheet.name] = _owned(sheet, "first" if first else None, refusals)
            continue
        patch, previous = _patch(sheet, refusals)
        if patch.cells or patch.table_last_row is not None:
            patches[sheet.name] = patch
        if previous:
            known_notes[sheet.name] = previous
        if sheet.state != sheet.loaded_state:
            if sheet.state == "veryHidden":
                very_hidden.append(sheet.name)
            else:
                refusals.append(f"the sheet {sheet.name!r} made {sheet.state} (only 'very hidden' can be saved "
                                "on a sheet of the file)")
        if sheet.page_setup:
            refusals.append(f"the page setup of the sheet {sheet.name!r} (only a sheet written whole takes one)")
        if sheet.protected and not sheet.loaded_protected:
            refusals.append(f"the protection of the sheet {sheet.name!r} (the file's sheet was not protected)")
    refusals.check(target)
    if not patches and not owned and not very_hidden and target == source:
        return
    result = patch_xlsx(source, target, patches, owned, very_hidden=tuple(very_hidden),
                        previous_notes=known_notes)
    if result.notes_skipped:  # cannot happen: a cell holds one note, ours replaced the user's
        raise RuntimeError(f"{target.name}: notes not written where a user's comment is: {result.notes_skipped}")
    _settle(book, target)


def _patch(sheet: SheetData, refusals: _Refusals) -> tuple[SheetPatch, list[str]]:
    """The changes of one sheet of the file, and fingerprints of the user's notes the add-in
    deleted or replaced (handed to the patcher as notes it may take off)."""
    cells: dict[tuple[int, int], CellPatch] = {}

    def cell(where: tuple[int, int]) -> CellPatch:
        if where not in cells:
            cells[where] = CellPatch()
        return cells[where]

    for r, (now, was) in enumerate(zip(sheet.rows, sheet.loaded_rows, strict=False), start=1):
        if now == was and all(a.__class__ is b.__class__ for a, b in zip(now, was, strict=False)):
            continue
        for c in range(1, max(len(now), len(was)) + 1):
            new = now[c - 1] if c <= len(now) else None
            old = was[c - 1] if c <= len(was) else None
            if new is not old and (new.__class__ is not old.__class__ or new != old):
                cell((r, c)).value = _file_value(new)
    for r in range(len(sheet.loaded_rows) + 1, len(sheet.rows) + 1):
        for c, new in enumerate(sheet.rows[r - 1], start=1):
            if new is not None:
                cell((r, c)).value = _file_value(new)
    for where in set(sheet.fills) | set(sheet.loaded_fills):
        new, old = sheet.fills.get(where), sheet.loaded_fills.get(where)
        if new == old:
            continue
        if new in _KIND_OF_FILL:
            cell(where).mark = _KIND_OF_FILL[new]
        elif new is None and where in sheet.marks:
            cell(where).mark = None
        elif new is None:
            refusals.append(f"{sheet.name}!{cell_ref(*where)}: taking off a fill that is not our mark")
        else:
            refusals.append(f"{sheet.name}!{cell_ref(*where)}: the colour #{new[2:]} (only the mark colours "
                            f"{', '.join('#' + v[2:] for v in MARK_FILLS.values())} can be saved)")
    previous: list[str] = []
    for where in set(sheet.notes) | set(sheet.loaded_notes):
        new, old = sheet.notes.get(where), sheet.loaded_notes.get(where)
        if new == old:
            continue
        cell(where).note = None if new is None else new.text
        if old is not None and old.author != "Backoffice":
            previous.append(note_fingerprint(old.text))
    for where in sorted(w for w in sheet.locked_now if sheet.was_unlocked(w) and not sheet.is_unlocked(w)):
        # api.Locked = True on a cell the file left open
        cell(where).lock = True
    for where in (sheet.unlocked - sheet.loaded_unlocked) | (sheet.loaded_closed - sheet.closed):
        if sheet.was_unlocked(where):
            continue
        refusals.append(f"{sheet.name}!{cell_ref(*where)}: unlocking a cell (patch_xlsx only locks)")
    table_last_row = None
    for table in sheet.tables:
        if (table.top, table.left, table.right) != table.loaded_corner:
            refusals.append(f"{sheet.name}: the table {table.name!r} moved or widened (only its last row can change)")
        elif table.bottom != table.loaded_bottom:
            table_last_row = table.bottom
    for what, present in (("hyperlinks", sheet.links), ("column widths", sheet.column_widths),
                          ("bold cells", sheet.bold), ("number formats", sheet.formats)):
        if present:
            refusals.append(f"{what} on the sheet {sheet.name!r} of the file (only on sheets written whole)")
    return SheetPatch(cells=dict(cells), table_last_row=table_last_row), sorted(set(previous))


def _owned(sheet: SheetData, placement: str | None, refusals: _Refusals) -> OwnedSheet:
    top, left, bottom, right = sheet.extent()
    rows = [[_file_value(v) for v in row[:right]] for row in sheet.read(1, 1, bottom, right)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    links = {}
    for where, address in sheet.links.items():
        if address.startswith("#"):
            links[cell_ref(*where)] = address[1:]
        else:
            refusals.append(f"{sheet.name}!{cell_ref(*where)}: a link out of the workbook ({address})")
    bold_first_row = bool(sheet.bold)
    if any(r != 1 for r, _ in sheet.bold):
        refusals.append(f"{sheet.name}: bold cells outside the first row")
    formats: dict[int, set[str]] = {}
    for _top, f_left, f_bottom, f_right, code in sheet.formats:
        if code in ("@", "General") or f_bottom < 2:
            continue  # "@" decided how text was taken when written; the header keeps its own
        for column in range(f_left, min(f_right, right) + 1):
            formats.setdefault(column, set()).add(code)
    number_formats = {}
    for column, codes in formats.items():
        if len(codes) > 1:
            refusals.append(f"{sheet.name}: column {column} with more than one number format {sorted(codes)}")
        number_formats[column] = min(codes)
    if sheet.fills:
        refusals.append(f"{sheet.name}: cell colours on a sheet written whole")
    if sheet.notes:
        refusals.append(f"{sheet.name}: notes on a sheet written whole")
    if sheet.unlocked or sheet.open_columns:
        refusals.append(f"{sheet.name}: unlocked cells on a sheet written whole")
    if sheet.cleared and sheet.tables:
        refusals.append(f"{sheet.name}: a cleared sheet that holds an Excel table")
    if placement == "first" and sheet.state != "visible":
        placement = None
    return OwnedSheet(rows=rows, state=sheet.state, links=links, column_widths=dict(sheet.column_widths),
                      bold_first_row=bold_first_row, number_formats=number_formats, placement=placement,
                      protected=sheet.protected, printed=sheet.printed)


def _file_value(value: Any) -> Any:
    """A value as the patcher writes it: a datetime at midnight is a date (a date format)."""
    if value.__class__ is dt.datetime and not (value.hour or value.minute or value.second or value.microsecond):
        return value.date()
    if value.__class__ is CellError:
        raise NotImplementedError(f"writing the error value {value.text} into a cell")
    return value


def _settle(book: Book, target: Path) -> None:
    """After saving, the file holds what memory holds: the next save writes only newer changes."""
    book.path = target
    for sheet in book.sheet_data:
        sheet.loaded = True
        sheet.cleared = False
        sheet.loaded_rows = [list(row) for row in sheet.rows]
        sheet.loaded_fills = dict(sheet.fills)
        sheet.marks = {where: _KIND_OF_FILL[argb] for where, argb in sheet.fills.items() if argb in _KIND_OF_FILL}
        sheet.loaded_unlocked = set(sheet.unlocked)
        sheet.loaded_closed = set(sheet.closed)
        sheet.locked_now = set()
        sheet.loaded_notes = {where: NoteData(note.text, note.author) for where, note in sheet.notes.items()}
        sheet.loaded_state = sheet.state
        sheet.loaded_protected = sheet.protected
        for table in sheet.tables:
            table.loaded_bottom, table.loaded_corner = table.bottom, (table.top, table.left, table.right)
        sheet.links, sheet.column_widths, sheet.bold, sheet.formats = {}, {}, set(), []
