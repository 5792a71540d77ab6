"""Write values, marks and notes into a user's .xlsx without disturbing anything else in it.

openpyxl's load/save rewrites the whole file: it drops pictures, fails on pivot tables, and
costs 24 s and 530 MB on a 100,000-row sheet. Instead we patch only the package parts we own:
the cells we write (streamed, see xlsx_sheet), our fills in the styles part, our comments,
our own sheets, and the table's range. Every other zip member is copied unchanged, so
pictures, charts, pivots, conditional formats, defined names, macros, other sheets and the
user's comments survive.

Marks are fills on cells. `patch_xlsx` returns, for every marked cell, the style the cell had
before we marked it; passed back as `previous_marks` on the next patch, it lets us put exactly
that style back when the mark goes. A cell wears our mark as long as its fill is ours (see
xlsx_marks: Excel renumbers styles when it saves, so indexes alone are not trusted); a cell
the user gave another fill is left alone, and `clear_marks` finds marked cells wherever rows
were moved since. Notes are Excel comments by the author "Backoffice", found again by author,
or (LibreOffice drops authors) by the fingerprints of their texts: `patch_xlsx` returns them
per sheet, and they come back as `previous_notes` (see xlsx_comments).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.office.files import keep_mode
from engine.office.xlsx_cell_edits import UNCHANGED, CellEdit
from engine.office.xlsx_cell_store import CellPatch, CellPatches
from engine.office.xlsx_cells import cell_ref, is_date, parse_range, range_text
from engine.office.xlsx_comments import NoteChanges, update_notes
from engine.office.xlsx_marks import Marks
from engine.office.xlsx_owned import OwnedSheet, write_owned_sheet
from engine.office.xlsx_package import (
    NotPatchable,
    Package,
    WorkbookPatchError,
    get_attribute,
    set_attribute,
)
from engine.office.xlsx_sheet import SheetReader, SheetRewriter
from engine.office.xlsx_sheet_edits import SheetEdits
from engine.office.xlsx_styles import DATE_FORMAT, DATETIME_FORMAT, MAIN_NS, MARK_FILLS, Styles
from engine.office.xlsx_workbook import Workbook
from engine.office.xlsx_zip import DeflatedPart

FILL_FROM = 1000  # plain values to write from which the fill pass pays off (xlsx_sheet)

__all__ = [
    "UNCHANGED",
    "CellPatch",
    "CellPatches",
    "OwnedSheet",
    "PatchResult",
    "SheetPatch",
    "WorkbookPatchError",
    "patch_xlsx",
]


@dataclass
class SheetPatch:
    # "C7" or (row, column) -> patch; a large refresh passes tuples, sparing 200,000 parses.
    # By default a CellPatches (value-only patches kept compactly: a sync writes two million);
    # a plain dict does as well.
    cells: MutableMapping[str | tuple[int, int], CellPatch] = field(default_factory=CellPatches)
    clear_marks: bool = False  # first remove every mark and note of ours on this sheet
    table_last_row: int | None = None  # the sheet's Excel Table (and autoFilter) ends at this row


@dataclass
class PatchResult:
    marks: dict[str, dict[str, int]]  # sheet -> {cell ref -> the cell's own style before marking}
    # sheet -> cells where the user's own comment left no room for our note (Excel: one a cell)
    notes_skipped: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # sheet -> fingerprints of our notes


def patch_xlsx(
    src: Path,
    dst: Path,
    sheets: dict[str, SheetPatch],
    owned: dict[str, OwnedSheet] | None = None,
    previous_marks: dict[str, dict[str, int]] | None = None,
    owned_after: Callable[[PatchResult], dict[str, OwnedSheet]] | None = None,
    very_hidden: tuple[str, ...] = (),
    previous_notes: dict[str, list[str]] | None = None,
) -> PatchResult:
    """Write `sheets` patches and `owned` sheets from `src` into `dst` (which may be `src`).

    `owned_after`, if given, is called once the sheets are patched, with the result (the new
    marks), and returns more owned sheets to write in the same pass: the round trip keeps its
    record of marks in a sheet it owns, so this saves rewriting a large file twice.
    `very_hidden`: sheets (where present) put back to very hidden: LibreOffice saves a very
    hidden sheet as an ordinary hidden one, which anyone can unhide.

    All or nothing: on any error `dst` is left as it was. Raises WorkbookPatchError when the
    file cannot be patched safely, ValueError/TypeError for a request that makes no sense.
    """
    src, dst = Path(src), Path(dst)
    owned = owned or {}
    previous_marks = previous_marks or {}
    both = set(sheets) & set(owned)
    if both:
        raise ValueError(f"sheets both patched and owned: {sorted(both)}")
    previous_notes = previous_notes or {}
    result = PatchResult({sheet: dict(marks) for sheet, marks in previous_marks.items()},
                         notes={sheet: list(notes) for sheet, notes in previous_notes.items()})
    package = Package(src)
    try:
        book = Workbook(package)
        styles = Styles(book.read_styles(), book.main_ns or MAIN_NS)
        formulas_removed = False
        if any(sheet.placement for sheet in owned.values()):
            book.unselect_sheets()  # before the sheets are patched: they are streamed out
        for name, patch in sheets.items():
            previous = previous_marks.get(name, {})
            formulas_removed |= _patch_sheet(book, styles, name, patch, result, previous)
        result.marks = {sheet: marks for sheet, marks in result.marks.items() if marks}
        result.notes = {sheet: notes for sheet, notes in result.notes.items() if notes}
        if owned_after is not None:
            owned = {**owned, **owned_after(result)}
        for name, sheet in owned.items():
            write_owned_sheet(book, styles, name, sheet)
        for name in very_hidden:
            if name not in owned and book.find(name) is not None:
                book.set_state(name, "veryHidden")
        if owned:
            book.check_some_sheet_visible()
        if formulas_removed:
            book.drop_calc_chain()
        if styles.changed:
            book.save_styles(styles.to_bytes())
        for part in package.edited_xml_parts():
            package.check_well_formed(part)
        temporary = _save_beside(package, dst)
    except NotPatchable as exc:
        raise WorkbookPatchError(src, str(exc)) from exc
    finally:
        package.close()
    keep_mode(dst if dst.exists() else src, temporary)
    os.replace(temporary, dst)
    return result


def _patch_sheet(
    book: Workbook,
    styles: Styles,
    name: str,
    patch: SheetPatch,
    result: PatchResult,
    previous: dict[str, int],
) -> bool:
    """Patch one sheet, its rows streamed through; returns whether any formula was removed."""
    part = book.worksheet_part(name)
    reader = SheetReader(book.package.stream(part, ahead=True))
    marks = result.marks.setdefault(name, {})
    edits = SheetEdits(patch.cells, patch.clear_marks)
    plan = _MarkPlan(Marks(styles), marks, previous)
    clear_styles: set[int] = set()
    if patch.clear_marks:  # every cell wearing our mark, wherever the user moved it since
        marks.clear()
        clear_styles = plan.marks.styles_with_marks()
    notes = NoteChanges(remove_all=patch.clear_marks, known=set(result.notes.get(name, ())))
    for (row, column), cell in edits.patches.items():  # value-only patches have no mark or note
        if cell.mark is not UNCHANGED and cell.mark is not None and cell.mark not in MARK_FILLS:
            raise ValueError(f"{name}!{cell_ref(row, column)}: a mark is one of {sorted(MARK_FILLS)} or None")
        if cell.note is None:
            notes.remove.add(cell_ref(row, column))
        elif cell.note is not UNCHANGED:
            notes.write[cell_ref(row, column)] = str(cell.note)
        if cell.value is UNCHANGED and cell.mark is UNCHANGED and not cell.lock:
            continue
        edits.add_whole((row, column), CellEdit(cell.value, cell.mark, clear=patch.clear_marks, lock=cell.lock))
    edits.ready()

    def notes_done(prefix: str, tail: bytes) -> bytes:
        outcome = update_notes(book, part, prefix, tail, notes)
        if outcome.skipped:
            result.notes_skipped[name] = outcome.skipped
        if outcome.ours is not None:
            result.notes[name] = sorted(outcome.ours)
        return outcome.tail

    noted = None  # the tail with the notes, when worked out before the rows
    if not edits and not clear_styles:  # at most notes: the rows stay as they are
        tail = reader.read_tail()
        noted = notes_done(reader.prefix, tail)
        if noted == tail:
            _resize(book, part, patch)
            return False
        reader = SheetReader(book.package.stream(part, ahead=True))  # once more, to write the new tail
    rewriter = SheetRewriter(reader.prefix, edits, plan, book.date1904, clear_styles,
                             fill=edits.plain_at_least(FILL_FROM))
    out = DeflatedPart()
    try:
        rewriter.write(reader, out.write,
                       lambda tail: noted if noted is not None else notes_done(reader.prefix, tail))
        out.finish()
    except BaseException:
        out.close()
        raise
    book.package.write(part, out)
    _resize(book, part, patch)
    return rewriter.formulas_removed


def _resize(book: Workbook, part: str, patch: SheetPatch) -> None:
    if patch.table_last_row is not None:
        _resize_table(book, part, patch.table_last_row)


class _MarkPlan:
    """Decides each edited cell's style: our marks on and off, a date format where none is."""

    def __init__(self, marks: Marks, result: dict[str, int], previous: dict[str, int]):
        self.marks, self.result, self.previous = marks, result, previous

    def style_for(self, ref: str, current: int, edit: CellEdit) -> int:
        style = current
        if edit.clear or edit.mark is not UNCHANGED:
            if self.marks.kind(current):  # still wears our mark: back to the user's format
                style = self.marks.unmarked(current, self.previous.get(ref))
            self.result.pop(ref, None)
        if style == 0 and edit.value is not UNCHANGED and is_date(edit.value):
            with_time = isinstance(edit.value, dt.datetime | dt.time)
            style = self.marks.styles.derived(
                0, number_format=DATETIME_FORMAT if with_time else DATE_FORMAT
            )
        if edit.lock:
            style = self.marks.styles.derived(style, locked=True)
        if isinstance(edit.mark, str):
            self.result[ref] = style
            style = self.marks.marked(style, edit.mark)
        return style

    def unmarked(self, ref: str, style: int) -> int:
        """A new cell copies the style of the cell above, but never our mark on it."""
        if not self.marks.kind(style):
            return style
        return self.marks.unmarked(style, self.result.get(ref, self.previous.get(ref)))


def _resize_table(book: Workbook, sheet_part: str, last_row: int) -> None:
    package = book.package
    tables = [
        rel.part
        for rel in package.relationships(sheet_part)
        if rel.kind == "table" and rel.part and package.has(rel.part)
    ]
    if len(tables) != 1:
        raise WorkbookPatchError(
            package.path, f"table_last_row needs one table on the sheet, found {len(tables)}"
        )
    xml = package.read(tables[0]).decode("utf-8")
    root = re.search(r"<(?:[\w.-]+:)?table\b[^>]*>", xml)
    try:
        top, _, _, _ = parse_range(get_attribute(root.group(0), "ref") or "")
    except (AttributeError, ValueError) as exc:
        raise NotPatchable(f"the table part {tables[0]} has no readable range") from exc
    if int(get_attribute(root.group(0), "totalsRowCount") or 0):
        raise WorkbookPatchError(package.path, "cannot resize a table that has a totals row")
    header_rows = int(get_attribute(root.group(0), "headerRowCount") or 1)
    if last_row < top + header_rows:
        raise ValueError(f"table_last_row {last_row}: the table needs at least one data row")

    def resized(match: re.Match) -> str:
        tag = match.group(0)
        old = get_attribute(tag, "ref")
        if not old:
            return tag
        first_row, first_column, _, last_column = parse_range(old)
        return set_attribute(tag, "ref", range_text(first_row, first_column, last_row, last_column))

    xml = re.sub(r"<(?:[\w.-]+:)?(?:table|autoFilter|sortState)\b[^>]*>", resized, xml)
    package.write(tables[0], xml.encode("utf-8"))


def _save_beside(package: Package, dst: Path) -> Path:
    """Write the new package to a temporary file in dst's folder (same disk: atomic replace)."""
    handle, name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        package.save(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


