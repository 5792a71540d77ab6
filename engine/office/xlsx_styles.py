"""Cell styles for our marks and owned sheets, appended to the workbook's styles part.

Existing fills, fonts and cell formats are never changed or reordered (cells all over the
workbook point at them by index). A mark is a copy of the cell's own format with our fill, so
number format, font, borders and alignment stay what the user chose; the copy is appended
once and reused (see xlsx_marks for how marks are recognised again).
"""

from __future__ import annotations

import re

from engine.office.xlsx_package import get_attribute, root_prefix, set_attribute

MARK_FILLS = {"problem": "FFFFC7CE", "changed": "FFFFEB9C"}
DATE_FORMAT, DATETIME_FORMAT = 14, 22  # Excel's built-in "m/d/yyyy" and "m/d/yyyy h:mm"

# Sections of a styleSheet in the order the schema requires.
_ORDER = [
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
]
_ITEM_OF = {
    "fonts": "font",
    "fills": "fill",
    "borders": "border",
    "cellStyleXfs": "xf",
    "cellXfs": "xf",
}
# What a section must hold at least; Excel treats fills 0 and 1 as "none" and "gray125".
_DEFAULTS = {
    "fonts": ['<font><sz val="11"/><name val="Calibri"/></font>'],
    "fills": [
        '<fill><patternFill patternType="none"/></fill>',
        '<fill><patternFill patternType="gray125"/></fill>',
    ],
    "borders": ["<border><left/><right/><top/><bottom/><diagonal/></border>"],
    "cellStyleXfs": ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'],
    "cellXfs": ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'],
}
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
EMPTY_STYLESHEET = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN_NS}"/>'
)


class Styles:
    """The styles part as text, with append-only helpers; `changed` says whether to write it."""

    def __init__(self, xml: bytes | None, main_ns: str = MAIN_NS):
        self.text = xml.decode("utf-8") if xml else EMPTY_STYLESHEET.replace(MAIN_NS, main_ns)
        self.prefix = root_prefix(self.text.encode("utf-8"), b"styleSheet")
        self.changed = xml is None
        self._items: dict[str, list[str]] = {}
        self._derived: dict[tuple, int] = {}

    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8")

    # -- what the patcher asks for ---------------------------------------------------------

    def marked(self, base: int, kind: str) -> int:
        """The format `base` with the fill of a mark of `kind` ("problem" or "changed")."""
        return self.derived(base, fill=MARK_FILLS[kind])

    def derived(
        self,
        base: int,
        *,
        fill: str | None = None,
        bold: bool = False,
        number_format: int | None = None,
        locked: bool = False,
    ) -> int:
        """A format like `base` with a solid fill ("" for none), bold font, number format,
        and/or locked (under sheet protection: a posted row that may no longer be edited).

        Appended once per run, and reused across runs when its text is found again.
        """
        key = (base, fill, bold, number_format, locked)
        if key not in self._derived:
            for section in _ITEM_OF:  # a format points into all of these: they must exist
                self.items(section)
            changes: dict[str, int] = {}
            if fill == "":  # no fill at all
                changes |= {"fillId": 0, "applyFill": 0}
            elif fill:
                changes |= {
                    "fillId": self._append("fills", _fill_text(self.prefix, fill)),
                    "applyFill": 1,
                }
            if bold:
                changes |= {
                    "fontId": self._bold_font(self._xf_attribute(base, "fontId")),
                    "applyFont": 1,
                }
            if number_format is not None:
                changes |= {"numFmtId": number_format, "applyNumberFormat": 1}
            text = self._xf_with(base, **changes)
            if locked:  # locked is every cell's default: drop the protection that unlocks it
                text = re.sub(rf"<{re.escape(self.prefix)}protection\b[^>]*?(?:/>|>\s*</{re.escape(self.prefix)}protection>)",
                              "", text)
            self._derived[key] = self._append("cellXfs", text)
        return self._derived[key]

    def number_format(self, code: str) -> int:
        """The id of the custom number format `code` ("#,##0.00"), added if the part lacks it."""
        for entry in re.findall(rf"<{re.escape(self.prefix)}numFmt\b[^>]*?/>", self._section_text("numFmts")):
            if get_attribute(entry, "formatCode") == code:
                return int(get_attribute(entry, "numFmtId") or 0)
        used = [int(n) for n in re.findall(r'numFmtId="(\d+)"', self._section_text("numFmts"))]
        number = max([163, *used]) + 1
        escaped = code.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        start, inner_end = self._section_span("numFmts")
        self.text = self.text[:inner_end] + (f'<{self.prefix}numFmt numFmtId="{number}" '
                                             f'formatCode="{escaped}"/>') + self.text[inner_end:]
        count = len(re.findall(rf"<{re.escape(self.prefix)}numFmt\b", self._section_text("numFmts")))
        open_end = self.text.index(">", start) + 1
        self.text = self.text[:start] + set_attribute(self.text[start:open_end], "count", str(count)) + self.text[open_end:]
        self.changed = True
        return number

    def _section_text(self, section: str) -> str:
        start, inner_end = self._section_span(section)
        return self.text[start:inner_end]

    # -- the text underneath ---------------------------------------------------------------

    def _xf_with(self, base: int, **attributes: int) -> str:
        xfs = self.items("cellXfs")
        text = xfs[base] if 0 <= base < len(xfs) else xfs[0]
        end = text.index(">") + 1
        start_tag, rest = text[:end], text[end:]
        for name, value in attributes.items():
            start_tag = set_attribute(start_tag, name, str(value))
        return start_tag + rest

    def _xf_attribute(self, base: int, name: str) -> int:
        xfs = self.items("cellXfs")
        text = xfs[base] if 0 <= base < len(xfs) else xfs[0]
        return int(get_attribute(text[: text.index(">") + 1], name) or 0)

    def _bold_font(self, font_id: int) -> int:
        fonts = self.items("fonts")
        text = fonts[font_id] if 0 <= font_id < len(fonts) else fonts[0]
        if re.search(rf"<{self.prefix}b\s*/>", text):
            return font_id
        bold = f"<{self.prefix}b/>"
        if text.rstrip().endswith("/>") and "</" not in text:
            text = text.rstrip()[:-2].rstrip() + f">{bold}</{self.prefix}font>"
        else:
            end = text.index(">") + 1
            text = text[:end] + bold + text[end:]
        return self._append("fonts", text)

    def items(self, section: str) -> list[str]:
        """The section's entries as text, padded to the minimum Excel needs."""
        if section not in self._items:
            tag = self.prefix + _ITEM_OF[section]
            inner = self._section_inner(section)
            pattern = re.compile(rf"<{re.escape(tag)}\b[^>]*?(?:/>|>.*?</{re.escape(tag)}>)", re.S)
            self._items[section] = pattern.findall(inner)
            defaults = [self._prefixed(text) for text in _DEFAULTS[section]]
            while len(self._items[section]) < len(defaults):
                self._append(section, defaults[len(self._items[section])], reuse=False)
        return self._items[section]

    def _append(self, section: str, text: str, reuse: bool = True) -> int:
        items = self.items(section)
        if reuse and text in items:
            return items.index(text)
        start, inner_end = self._section_span(section)
        self.text = self.text[:inner_end] + text + self.text[inner_end:]
        items.append(text)
        open_end = self.text.index(">", start) + 1
        opening = set_attribute(self.text[start:open_end], "count", str(len(items)))
        self.text = self.text[:start] + opening + self.text[open_end:]
        self.changed = True
        return len(items) - 1

    def _section_inner(self, section: str) -> str:
        start, inner_end = self._section_span(section)
        return self.text[self.text.index(">", start) + 1 : inner_end]

    def _section_span(self, section: str) -> tuple[int, int]:
        """(start of the opening tag, start of the closing tag); creates a missing section."""
        name = self.prefix + section
        opening = re.search(rf"<{re.escape(name)}\b[^>]*?(/?)>", self.text)
        if opening and opening.group(1):  # <fills count="0"/>: open it up
            expanded = opening.group(0)[:-2].rstrip() + f"></{name}>"
            self.text = self.text[: opening.start()] + expanded + self.text[opening.end() :]
            opening = re.search(rf"<{re.escape(name)}\b[^>]*?>", self.text)
        if not opening:
            self._insert_section(section)
            opening = re.search(rf"<{re.escape(name)}\b[^>]*?>", self.text)
        return opening.start(), self.text.index(f"</{name}>", opening.end())

    def _insert_section(self, section: str) -> None:
        element = f'<{self.prefix}{section} count="0"></{self.prefix}{section}>'
        for later in _ORDER[_ORDER.index(section) + 1 :]:
            found = re.search(rf"<{re.escape(self.prefix + later)}\b", self.text)
            if found:
                self.text = self.text[: found.start()] + element + self.text[found.start() :]
                return
        root = self.prefix + "styleSheet"
        closing = self.text.rfind(f"</{root}>")
        if closing < 0:  # <styleSheet .../>
            empty = re.search(rf"<{re.escape(root)}\b[^>]*?/>", self.text)
            opened = empty.group(0)[:-2].rstrip() + ">"
            self.text = (
                self.text[: empty.start()]
                + opened
                + element
                + f"</{root}>"
                + self.text[empty.end() :]
            )
        else:
            self.text = self.text[:closing] + element + self.text[closing:]
        self.changed = True

    def _prefixed(self, text: str) -> str:
        return re.sub(r"<(/?)(\w)", rf"<\1{self.prefix}\2", text) if self.prefix else text


def _fill_text(prefix: str, rgb: str) -> str:
    p = prefix
    return (
        f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{rgb}"/>'
        f'<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>'
    )
