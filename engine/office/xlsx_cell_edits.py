"""One cell element (`<c>`) of a worksheet: read from its bytes, written anew when edited.

An edited cell keeps what is not ours to change: its style (unless we mark it), attributes
such as `ph`, and for a mark-only edit its value and formula, byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from engine.office.xlsx_cells import cell_ref, cell_xml, column_number
from engine.office.xlsx_formulas import FormulaGuard

UNCHANGED: Any = type("Unchanged", (), {"__repr__": lambda self: "UNCHANGED"})()

_ATTRIBUTES = re.compile(rb"""\s([\w:.-]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
R_ATTRIBUTE = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
S_ATTRIBUTE = re.compile(rb"""\ss\s*=\s*["'](\d*)["']""")
_CM_ATTRIBUTE = re.compile(rb"""\scm\s*=\s*["'][^"']*["']""")
# Dropped when a value is written: r, s and t are rewritten, cm (a spill) and vm (an in-cell
# picture) describe the value that is gone.
_DROPPED_WITH_VALUE = {b"r", b"s", b"t", b"cm", b"vm"}
_OTHER_ATTRIBUTE = re.compile(rb"""\s(?!(?:r|s|t|cm|vm)\s*=)[\w:.-]+\s*=""")


_PLAIN_VALUES = (int, str)  # exactly these classes: bool and dates take the general path


@dataclass(slots=True)
class CellEdit:
    """What to do to one cell: a value, our mark on or off, or drop its (array) formula."""

    value: Any = UNCHANGED
    mark: Any = UNCHANGED  # "problem" | "changed" | None (remove ours) | UNCHANGED
    clear: bool = False  # remove our mark (clear_marks)
    drop_formula: bool = False  # keep the cached value, forget the formula
    lock: bool = False  # lock the cell under the sheet's protection (a posted row)

    @property
    def creates_cell(self) -> bool:
        return self.value is not UNCHANGED or isinstance(self.mark, str) or self.lock


class StylePlan(Protocol):
    """Decides styles: our marks on and off (see xlsx_patch._MarkPlan)."""

    def style_for(self, ref: str, current: int, edit: CellEdit) -> int: ...

    def unmarked(self, ref: str, style: int) -> int: ...


@dataclass
class CellElement:
    column: int
    attributes: bytes  # between "<c" and ">" or "/>"
    content: bytes | None  # None for <c .../>
    has_ref: bool
    text: bytes  # the element as written

    @property
    def style(self) -> int:
        return style_of(self.attributes)


def style_of(attributes: bytes) -> int:
    found = S_ATTRIBUTE.search(attributes)
    return int(found.group(1) or 0) if found else 0


def parse_cell(match: re.Match, previous_column: int) -> CellElement:
    """A cell matched by CellWriter.pattern; a cell without `r` follows the one before it."""
    attributes = match.group(1)
    found = R_ATTRIBUTE.search(attributes)
    if found:
        column = column_number(found.group(1).rstrip(b"0123456789").lstrip(b"$").decode())
    else:
        column = previous_column + 1
    return CellElement(column, attributes, match.group(2), bool(found), match.group(0))


class CellWriter:
    """Writes edited, kept and new cells of one sheet."""

    def __init__(self, prefix: str, plan: StylePlan, formulas: FormulaGuard, date1904: bool):
        p = re.escape(prefix.encode())
        self.pattern = re.compile(rb"<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.S)
        self.prefix, self.plan, self.formulas, self.date1904 = prefix, plan, formulas, date1904

    def edited(self, cell: CellElement, row: int, edit: CellEdit) -> bytes:
        ref = cell_ref(row, cell.column)
        current = cell.style
        if (edit.value.__class__ in _PLAIN_VALUES and edit.mark is UNCHANGED and not edit.clear
                and not edit.lock and not cell.content and not _OTHER_ATTRIBUTE.search(cell.attributes)):
            # The bulk of a sync: a number or text into an empty cell (a new row's ID and
            # Version). No formula to drop, no mark, no date format to add: style as it is.
            return self._value_cell(ref, current, edit.value, "")
        style = self.plan.style_for(ref, current, edit)
        formula = self.formulas.find(cell.content)
        if edit.value is not UNCHANGED:
            if formula:
                self.formulas.remove(formula, ref)
            kept = ""
            if _OTHER_ATTRIBUTE.search(cell.attributes):
                kept = "".join(
                    match.group(0).decode()
                    for match in _ATTRIBUTES.finditer(cell.attributes)
                    if match.group(1) not in _DROPPED_WITH_VALUE
                )
            return self._value_cell(ref, style, edit.value, kept)
        attributes, content = cell.attributes, cell.content
        if style != current:
            attributes = _with_style(attributes, style)
        if edit.drop_formula and formula:
            self.formulas.remove(formula, ref)
            content = content[: formula.start()] + content[formula.end() :]
            attributes = _CM_ATTRIBUTE.sub(b"", attributes)
        return self._element(attributes, content, ref, cell.has_ref)

    def kept(self, cell: CellElement, row: int) -> bytes:
        """An unedited cell: as it was, with its `r` spelled out and orphaned formulas adopted."""
        ref = cell_ref(row, cell.column)
        content = cell.content
        if self.formulas.pending and content and b"si=" in content:
            content = self.formulas.adopt(content, ref)
        if cell.has_ref and content is cell.content:
            return cell.text
        return self._element(cell.attributes, content, ref, cell.has_ref)

    def new(self, ref: str, style: int, edit: CellEdit) -> bytes:
        return self._value_cell(ref, style, None if edit.value is UNCHANGED else edit.value, "")

    def _value_cell(self, ref: str, style: int, value: Any, kept: str) -> bytes:
        try:
            return cell_xml(self.prefix, ref, style, value, self.date1904, kept).encode("utf-8")
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"cell {ref}: {exc}") from exc

    def _element(self, attributes: bytes, content: bytes | None, ref: str, has_ref: bool) -> bytes:
        if not has_ref:
            attributes = b' r="' + ref.encode() + b'"' + attributes
        p = self.prefix.encode()
        if not content:
            return b"<" + p + b"c" + attributes.rstrip() + b"/>"
        return b"<" + p + b"c" + attributes + b">" + content + b"</" + p + b"c>"


def _with_style(attributes: bytes, style: int) -> bytes:
    replacement = b' s="%d"' % style if style else b""
    if S_ATTRIBUTE.search(attributes):
        return S_ATTRIBUTE.sub(replacement, attributes, count=1)
    return attributes + replacement
