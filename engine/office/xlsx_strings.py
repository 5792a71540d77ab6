"""Cell text as python-calamine reads it, and a workbook's shared strings kept compactly.

Why: our streaming reader (engine.office.xlsx_rows) must give every text cell exactly the
string calamine gave. calamine's rules for a <t> element: XML entities and character
references decoded, line ends normalised (\\r\\n and \\r become \\n) in literal text only,
then, unless xml:space="preserve", spaces, tabs and line ends trimmed at both ends, then
Excel's escapes _x00HH_ decoded. A rich text (<si> or <is> with <r> runs) is its <t> texts
joined; phonetic guides (<rPh>) are left out.

A sheet of a million rows can name three million distinct shared strings (100 MB of XML).
As Python strings they take about 290 MB; `SharedStrings` keeps them as texts of 4096 strings
(one character a byte for Latin-1 text) and makes Python strings of the few blocks the rows
being read name: about 120 MB at its peak while loading, and as fast to look up.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import closing
from itertools import repeat
from operator import rshift

from engine.office.zip_ahead import inflate_ahead

_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z][\w.-]*);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_CDATA = re.compile(rb"<!\[CDATA\[(.*?)\]\]>", re.S)
_EXCEL_ESCAPE = re.compile(r"_x00([0-9A-Fa-f+][0-9A-Fa-f])_")
_TRIM = " \t\r\n"
_T = re.compile(rb"<(/?)(?:[\w.-]+:)?(t|rPh)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_PRESERVE = re.compile(rb"""\bxml:space\s*=\s*(?:"preserve"|'preserve')""")
_ITEM = re.compile(rb"<(?:[\w.-]+:)?si(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>(.*?)</(?:[\w.-]+:)?si\s*>)", re.S)
# The common items: one plain <t> (Excel, xlsxwriter, openpyxl, LibreOffice write them so).
# An optional group costs the regex twice the time: the three forms are tried apart.
_PLAIN_ITEM = re.compile(rb"<si><t>([^<]*)</t></si>")
_KEPT_ITEM = re.compile(rb'<si><t xml:space="preserve">([^<]*)</t></si>')
_EITHER_ITEM = re.compile(rb'<si><t( xml:space="preserve")?>([^<]*)</t></si>')
_STRIP = {b"": b" \t\r\n", b' xml:space="preserve"': b""}  # what bytes.strip takes off each


class BadText(ValueError):
    """Text calamine would refuse to read (an unknown entity, bytes that are not UTF-8)."""


def xml_text(raw: bytes) -> str:
    """The characters of XML content `raw`: entities and character references decoded, CDATA
    taken as is, line ends of the literal text normalised as an XML parser does."""
    if b"<![CDATA[" in raw:
        parts, at = [], 0
        for m in _CDATA.finditer(raw):
            parts.append(xml_text(raw[at:m.start()]))
            parts.append(_decode(m.group(1)).replace("\r\n", "\n").replace("\r", "\n"))
            at = m.end()
        return "".join(parts) + xml_text(raw[at:])
    text = _decode(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ENTITY.sub(_entity, text) if "&" in text else text


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name[0] != "#":
        found = _NAMED.get(name)
        if found is None:
            raise BadText(f"the unknown entity &{name};")
        return found
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise BadText(f"the character reference &{name};")
    return chr(code)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadText("text that is not UTF-8") from exc


def excel_unescape(text: str) -> str:
    """Excel's _x00HH_ escapes decoded (_x000D_ is a carriage return, _x005F_ an underscore)."""
    if "_x00" not in text:
        return text
    return _EXCEL_ESCAPE.sub(_excel_char, text)


def _excel_char(m: re.Match) -> str:
    return chr(int(m.group(1), 16))


def cell_text(raw: bytes, preserve: bool) -> str:
    """The text of one <t> element whose content is `raw`."""
    text = xml_text(raw)
    return excel_unescape(text if preserve else text.strip(_TRIM))


def rich_text(inner: bytes) -> str:
    """The text of an <si> or <is> element whose content is `inner`: its <t> texts joined,
    phonetic guides (<rPh>) left out."""
    parts: list[str] = []
    phonetic, at = False, 0
    for m in _T.finditer(inner):
        if m.start() < at:
            continue  # a tag inside a <t> text already taken (cannot be: '<' is escaped)
        ends, name, attrs = m.group(1), m.group(2), m.group(3)
        if name == b"rPh":
            phonetic = not ends and not attrs.endswith(b"/")
            continue
        if ends or phonetic:
            continue
        if attrs.endswith(b"/"):
            text = b""
            at = m.end()
        else:
            end = _T_END.search(inner, m.end())
            if end is None:
                raise BadText("a <t> element without its end")
            text, at = inner[m.end():end.start()], end.end()
        parts.append(cell_text(text, bool(_PRESERVE.search(attrs))))
    return "".join(parts)


_T_END = re.compile(rb"</(?:[\w.-]+:)?t\s*>")


def texts_of(raw: list[bytes], spaces: bytes | Sequence[bytes]) -> list[str]:
    """Cell texts of many plain <t> contents at once, the common ones at C speed (maps over
    the list), the few with entities, carriage returns or Excel escapes one by one.
    `spaces`: what their <t> tags held besides the name, b"" or b' xml:space="preserve"',
    for all of them or for each."""
    one = isinstance(spaces, bytes)
    strip = repeat(_STRIP[spaces]) if one else map(_STRIP.__getitem__, spaces)
    texts = list(map(bytes.strip, raw, strip))
    joined = b"".join(texts)
    try:
        out = list(map(bytes.decode, texts, repeat("ascii" if joined.isascii() else "utf-8")))
    except UnicodeDecodeError as exc:
        raise BadText("text that is not UTF-8") from exc
    if b"&" in joined or b"\r" in joined or b"_x00" in joined:
        for i, text in enumerate(texts):
            if b"&" in text or b"\r" in text or b"_x00" in text:
                out[i] = cell_text(raw[i], bool(spaces if one else spaces[i]))
    return out


def xml_texts(raw: list[bytes]) -> list[str]:
    """The characters of many XML texts (see xml_text), the plain ones at C speed."""
    joined = b"".join(raw)
    if b"&" in joined or b"\r" in joined or b"<" in joined:
        return list(map(xml_text, raw))
    try:
        return list(map(bytes.decode, raw, repeat("ascii" if joined.isascii() else "utf-8")))
    except UnicodeDecodeError as exc:
        raise BadText("text that is not UTF-8") from exc


class SharedStrings:
    """A workbook's shared strings by number, kept compactly: blocks of 4096, each one text in
    which every string ends with a NUL (a character XML cannot hold).

    `take(numbers)` gives the strings of many cells at once. A block is cut into Python
    strings (one `split`) when a cell first names one of its strings, and kept in `_view`, a
    list as long as there are strings, while it is among the `live` blocks used last: a sheet
    names its strings mostly in order, so few blocks are live at once, and a look-up is one
    list index, in C. `compact=False` keeps every string as a Python string instead (for the
    comparison in benchmarks/bench_sheet_read.py).
    """

    SIZE = 4096  # strings a block
    SHIFT = 12

    def __init__(self, blocks: list[str] | None = None, count: int = 0, items: list[str] | None = None,
                 live: int = 32):
        self.blocks, self.live = blocks or [], live
        self.items = items  # the list form (compact=False)
        self._view: list[str | None] = items if items is not None else [None] * count
        self._used: dict[int, int] = {}  # live block -> when it was last used
        self._clock = 0

    def __len__(self) -> int:
        return len(self._view)

    def __getitem__(self, number: int) -> str:
        return self.take([number])[0]

    def take(self, numbers: list[int]) -> list[str]:
        """The strings numbered `numbers` (IndexError for one the workbook does not have)."""
        if self.items is None and numbers:
            self._clock += 1
            needed = set(map(rshift, numbers, repeat(self.SHIFT)))
            for block in needed.difference(self._used):
                self._cut(block)
            for block in needed:
                self._used[block] = self._clock
            if len(self._used) > self.live:
                oldest = sorted(self._used, key=self._used.__getitem__)
                for block in oldest[:len(self._used) - self.live]:
                    if block not in needed:
                        first = block << self.SHIFT
                        size = min(self.SIZE, len(self._view) - first)
                        self._view[first:first + size] = repeat(None, size)
                        del self._used[block]
        return list(map(self._view.__getitem__, numbers))

    def _cut(self, block: int) -> None:
        if not 0 <= block < len(self.blocks):
            raise IndexError(block << self.SHIFT)
        strings = self.blocks[block].split("\x00")
        strings.pop()  # after the last NUL
        first = block << self.SHIFT
        self._view[first:first + len(strings)] = strings

    @classmethod
    def read(cls, zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, *, compact: bool = True,
             max_item: int = 16 << 20) -> SharedStrings:
        """Read a sharedStrings part in bounded chunks (None: a workbook without one).

        Raises BadText for text calamine would refuse, ValueError for an item longer than
        `max_item` bytes of XML (no real item comes near: Excel caps a cell at 32,767
        characters).
        """
        blocks: list[str] = []
        pending: list[str] = []  # compact: the strings of the block being filled
        count = 0
        carry = b""
        with closing(inflate_ahead(zf, info, 4 << 20) if info is not None else _no_blocks()) as pieces:
            while True:
                block = next(pieces, None)
                piece = carry + (block or b"")
                cut = len(piece) if block is None else _last_item_end(piece)
                if cut:
                    pending.extend(_strings_of(piece, cut))
                    carry = piece[cut:]
                    if compact:
                        full = len(pending) - len(pending) % cls.SIZE if block is not None else len(pending)
                        for at in range(0, full, cls.SIZE):
                            part = pending[at:at + cls.SIZE]
                            text = "\x00".join(part) + "\x00"
                            if text.count("\x00") != len(part):
                                raise BadText("a NUL character, which XML cannot hold")
                            blocks.append(text)
                        count += full
                        del pending[:full]
                elif len(piece) > max_item:
                    raise ValueError("a shared string longer than any workbook holds")
                else:
                    carry = piece
                if block is None:
                    break
        return cls(blocks, count) if compact else cls(items=pending)


def _no_blocks() -> Iterator[bytes]:
    yield from ()


def _last_item_end(piece: bytes) -> int:
    """Offset just past the last complete item of a chunk of a sharedStrings part (0: none)."""
    at = piece.rfind(b"</si>")
    if at >= 0:
        return at + 5
    ends = [m.end() for m in _ITEM_END.finditer(piece)]  # a prefix (</x:si>) or a space (</si >): rare
    return ends[-1] if ends else 0


_ITEM_END = re.compile(rb"</(?:[\w.-]+:)?si\s*>")


def _strings_of(piece: bytes, end: int) -> list[str]:
    """The strings of the complete items in piece[:end], in order."""
    count = piece.count(b"<si>", 0, end)
    # Only <si> items: no <si/>, no <si attr=...>, no prefixed </x:si>.
    if count and count == piece.count(b"<si", 0, end) and piece.find(b":si>", 0, end) < 0:
        found = _PLAIN_ITEM.findall(piece, 0, end)
        if len(found) == count:
            return texts_of(found, b"")
        found = _KEPT_ITEM.findall(piece, 0, end)
        if len(found) == count:
            return texts_of(found, b' xml:space="preserve"')
        found = _EITHER_ITEM.findall(piece, 0, end)
        if len(found) == count:
            spaces, raw = zip(*found, strict=True)
            return texts_of(list(raw), spaces)
    return [rich_text(m.group(1) or b"") for m in _ITEM.finditer(piece, 0, end)]
