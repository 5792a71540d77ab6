"""The VML drawing behind Excel comments: one hidden yellow box (a "Note" shape) per comment.

Excel still needs these legacy shapes to show comments. The VML Excel writes is not always
well-formed XML, so it is edited as text: note shapes are found by their row and column,
removed, or appended; every other shape (form controls, the user's note boxes) stays as it
was, byte for byte.
"""

from __future__ import annotations

import re

from engine.office.xlsx_cells import cell_ref, parse_ref
from engine.office.xlsx_package import NotPatchable, Package, closing_tag_position

VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_SHAPE = re.compile(rb"<v:shape\b[^>]*?(?:/>|>.*?</v:shape>)", re.S)
_DRAWN = re.compile(rb"<v:(?:shape|rect|roundrect|oval|line|polyline|arc|curve|image|group)\b")
_VML_NAMESPACES = {
    b"v": b"urn:schemas-microsoft-com:vml",
    b"o": b"urn:schemas-microsoft-com:office:office",
    b"x": b"urn:schemas-microsoft-com:office:excel",
}
_NOTE_SHAPE_TYPE = (
    b'<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
    b'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
    b'<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)


class NoteDrawing:
    """A VML drawing part as text; note shapes are found by their row and column."""

    def __init__(self, xml: bytes):
        if closing_tag_position(xml, "", "xml") < 0:
            raise NotPatchable("the comment drawing (VML) has no closing </xml>")
        self.xml = xml

    def _notes(self) -> list[tuple[re.Match, str]]:
        found = []
        for match in _SHAPE.finditer(self.xml):
            shape = match.group(0)
            row = re.search(rb"<x:Row>\s*(\d+)\s*</x:Row>", shape)
            column = re.search(rb"<x:Column>\s*(\d+)\s*</x:Column>", shape)
            if re.search(rb"ObjectType\s*=\s*[\"']Note[\"']", shape) and row and column:
                found.append((match, cell_ref(int(row.group(1)) + 1, int(column.group(1)) + 1)))
        return found

    def note_refs(self) -> set[str]:
        return {ref for _, ref in self._notes()}

    def draws_anything(self) -> bool:
        return bool(_DRAWN.search(self.xml))

    def remove_notes(self, refs: set[str]) -> None:
        kept, position = [], 0
        for match, ref in self._notes():
            if ref in refs:
                kept.append(self.xml[position : match.start()])
                position = match.end()
        self.xml = b"".join(kept) + self.xml[position:]

    def add_notes(self, refs: set[str]) -> None:
        if not refs:
            return
        self._declare_namespaces()
        numbers = [int(n) for n in re.findall(rb"_x0000_s(\d+)", self.xml)]
        block = re.search(rb"data\s*=\s*[\"'](\d+)", self.xml)
        next_id = max(numbers, default=(int(block.group(1)) if block else 1) * 1024) + 1
        shapes = [b"" if b'id="_x0000_t202"' in self.xml else _NOTE_SHAPE_TYPE]
        for number, ref in enumerate(sorted(refs, key=parse_ref), start=next_id):
            shapes.append(_note_shape(number, *parse_ref(ref)))
        at = closing_tag_position(self.xml, "", "xml")
        self.xml = self.xml[:at] + b"".join(shapes) + self.xml[at:]

    def _declare_namespaces(self) -> None:
        root = re.search(rb"<xml\b[^>]*>", self.xml)
        missing = b"".join(
            b" xmlns:" + prefix + b'="' + uri + b'"'
            for prefix, uri in _VML_NAMESPACES.items()
            if b"xmlns:" + prefix + b"=" not in root.group(0)
        )
        if missing:
            end = root.end() - 1
            self.xml = self.xml[:end] + missing + self.xml[end:]


def new_drawing(package: Package) -> bytes:
    """An empty VML drawing whose shape-id block no other drawing in the package uses."""
    taken = set()
    for part in package.part_names():
        if part.lower().endswith(".vml"):
            for data in re.findall(rb"idmap\b[^>]*data\s*=\s*[\"']([\d,\s]+)", package.read(part)):
                taken.update(int(n) for n in data.replace(b" ", b"").split(b",") if n)
    block = next(n for n in range(1, 10_000) if n not in taken)
    namespaces = b"".join(b" xmlns:" + p + b'="' + uri + b'"' for p, uri in _VML_NAMESPACES.items())
    return (
        b"<xml" + namespaces + b'><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="%d"/>'
        b"</o:shapelayout></xml>" % block
    )


def _note_shape(shape_id: int, row: int, column: int) -> bytes:
    anchor = f"{column}, 15, {max(row - 2, 0)}, 10, {column + 2}, 15, {max(row - 2, 0) + 4}, 4"
    return (
        f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute;'
        'margin-left:59.25pt;margin-top:1.5pt;width:144pt;height:79pt;z-index:1;visibility:hidden" '
        'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
        '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
        '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f"<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill>"
        f"<x:Row>{row - 1}</x:Row><x:Column>{column - 1}</x:Column></x:ClientData></v:shape>"
    ).encode()
