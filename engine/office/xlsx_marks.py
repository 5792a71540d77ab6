"""Recognising our marks by what a cell format looks like, not by its number.

Excel (and openpyxl) rewrite the styles part when they save a workbook: formats may be
renumbered, their attributes reordered, defaults spelled out. So a format "wears our mark"
when its fill is solid in one of our two colours, and taking a mark off means finding the
format that is the same in everything but the fill: the one the cell had before we marked it
(remembered by number, and checked), else any equal format without our fill, else a copy of
the marked format with no fill at all. A cell whose fill the user changed does not wear our
mark any more and is left alone, and so is a cell the user gave Excel's "Bad" or "Neutral"
cell style (the same colours, but coming from a named cell style).
"""

from __future__ import annotations

import re

from engine.office.xlsx_package import get_attribute
from engine.office.xlsx_styles import MARK_FILLS, Styles

_KIND_OF_COLOUR = {rgb: kind for kind, rgb in MARK_FILLS.items()}
_ATTRIBUTE = re.compile(r"""([\w:.-]+)\s*=\s*["']([^"']*)["']""")
_CHILD_TAG = re.compile(r"<(/?)(?:[\w.-]+:)?([\w.-]+)([^>]*?)(/?)>")
_DEFAULT_ZERO = ("numFmtId", "fontId", "borderId", "xfId")


class Marks:
    """Our marks in one styles part; results are cached (the part only grows)."""

    def __init__(self, styles: Styles):
        self.styles = styles
        self._signatures: list[tuple] = []
        self._fill_kinds: dict[int, str] = {}
        self._fills_seen = 0
        self._marked: dict[tuple[int, str], int] = {}
        self._unmarked: dict[tuple[int, int | None], int] = {}
        # style -> its kind: a format, once in the part, keeps its fill, and a fill its colour
        # (every new cell of appended rows asks about the style of the cell above it)
        self._kinds: dict[int, str | None] = {}

    def kind(self, style: int) -> str | None:
        """ "problem" or "changed" if the format `style` carries our fill, else None."""
        if style not in self._kinds:
            found = self._kind(style)
            if found is None and not 0 <= style < len(self.styles.items("cellXfs")):
                return None    # (not yet in the part: not remembered)
            self._kinds[style] = found
        return self._kinds[style]

    def _kind(self, style: int) -> str | None:
        xfs = self.styles.items("cellXfs")
        if not 0 <= style < len(xfs):
            return None
        start_tag = xfs[style][: xfs[style].index(">") + 1]
        kind = self._kinds_of_fills().get(int(get_attribute(start_tag, "fillId") or 0))
        if kind is None:
            return None
        # Excel's own "Bad" and "Neutral" cell styles use our colours: a fill that comes from
        # the cell style the user picked is theirs, not a mark.
        named = self.styles.items("cellStyleXfs")
        style_id = int(get_attribute(start_tag, "xfId") or 0)
        if 0 <= style_id < len(named):
            named_fill = int(
                get_attribute(named[style_id][: named[style_id].index(">") + 1], "fillId") or 0
            )
            if named_fill in self._kinds_of_fills():
                return None
        return kind

    def styles_with_marks(self) -> set[int]:
        return {index for index in range(len(self.styles.items("cellXfs"))) if self.kind(index)}

    def marked(self, base: int, kind: str) -> int:
        """The format `base` (not marked) wearing the mark `kind`; an equal one is reused."""
        key = (base, kind)
        if key not in self._marked:
            wanted = self._signature(base)
            found = next(
                (
                    i
                    for i, sig in enumerate(self._all_signatures())
                    if sig == wanted and self.kind(i) == kind
                ),
                None,
            )
            self._marked[key] = found if found is not None else self.styles.marked(base, kind)
        return self._marked[key]

    def unmarked(self, style: int, original: int | None) -> int:
        """The format a cell wearing our mark (format `style`) goes back to."""
        key = (style, original)
        if key not in self._unmarked:
            wanted = self._signature(style)
            candidates = [original] if original is not None else []
            candidates += range(len(self.styles.items("cellXfs")))
            self._unmarked[key] = next(
                (
                    index
                    for index in candidates
                    if 0 <= index < len(self.styles.items("cellXfs"))
                    and self.kind(index) is None
                    and self._signature(index) == wanted
                ),
                None,
            )
            if self._unmarked[key] is None:
                self._unmarked[key] = self.styles.derived(style, fill="")
        return self._unmarked[key]

    # -- underneath ------------------------------------------------------------------------

    def _kinds_of_fills(self) -> dict[int, str]:
        fills = self.styles.items("fills")
        for index in range(self._fills_seen, len(fills)):
            text = fills[index]
            colour = re.search(
                r"""<(?:[\w.-]+:)?fgColor\b[^>]*\brgb\s*=\s*["']([0-9A-Fa-f]{8})""", text
            )
            solid = re.search(r"""patternType\s*=\s*["']solid["']""", text)
            if solid and colour and colour.group(1).upper() in _KIND_OF_COLOUR:
                self._fill_kinds[index] = _KIND_OF_COLOUR[colour.group(1).upper()]
        self._fills_seen = len(fills)
        return self._fill_kinds

    def _all_signatures(self) -> list[tuple]:
        xfs = self.styles.items("cellXfs")
        self._signatures += [_signature(text) for text in xfs[len(self._signatures) :]]
        return self._signatures

    def _signature(self, style: int) -> tuple:
        signatures = self._all_signatures()
        return signatures[style] if 0 <= style < len(signatures) else signatures[0]


def _signature(xf: str) -> tuple:
    """A format's meaning apart from its fill: attributes and children, order and spelling aside."""
    end = xf.index(">") + 1
    attributes = {
        name: _boolean(value)
        for name, value in _ATTRIBUTE.findall(xf[:end])
        if name != "fillId" and not name.startswith("apply")
    }
    for name in _DEFAULT_ZERO:
        attributes.setdefault(name, "0")
    for name in ("quotePrefix", "pivotButton"):
        if attributes.get(name) == "0":
            del attributes[name]
    children = _CHILD_TAG.sub(_normal_tag, re.sub(r">\s+<", "><", xf[end:].strip()))
    return tuple(sorted(attributes.items())), children


def _normal_tag(tag: re.Match) -> str:
    attributes = sorted(
        f'{name}="{_boolean(value)}"' for name, value in _ATTRIBUTE.findall(tag.group(3))
    )
    return f"<{tag.group(1)}{tag.group(2)}{''.join(' ' + a for a in attributes)}{tag.group(4)}>"


def _boolean(value: str) -> str:
    return {"true": "1", "false": "0"}.get(value, value)
