"""Streaming byte-level scans of workbook parts: special cells, entity declarations, dimension.

Why `special_cells` exists: python-calamine turns an Excel error cell (#REF!, #N/A, ...) into ''
and a formula that was never calculated into '' as well, so a workbook whose lookups broke
would import as blanks. This scan reads the raw sheet XML in bounded chunks (a 30 MB sheet is
never held at once) and reports those cells, so the reader can say "A7 holds #N/A" instead of
silently storing nothing.

`has_entity_declarations`, `declared_dimension` and `declared_member_count` serve `xlsx_guard`:
they look for attack markers and declared sizes without an XML parser or a zip listing. All
read members through `iter_member`: in chunks and never past the size the zip header
declares, so a lying header cannot make us inflate more than the guard has accepted.
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CHUNK = 1 << 20
_MAX_CARRY = 4 << 20  # more than this without a cell boundary: keep only the tail
_KEEP_TAIL = 1 << 20  # bigger than any real cell (Excel caps text and formulas far below)
_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
HEAD_BYTES = 64 * 1024  # where a worksheet's <dimension> must be
_DTD = re.compile(  # <!DOCTYPE / <!ENTITY in UTF-8 or UTF-16 (either byte order)
    rb"<\x00?!\x00?(?:DOCTYPE|ENTITY|D\x00O\x00C\x00T\x00Y\x00P\x00E|E\x00N\x00T\x00I\x00T\x00Y)",
    re.I,
)
# A part that opens with its root element: optional UTF-8 mark, optional XML declaration.
_PLAIN_START = re.compile(rb"(?:\xef\xbb\xbf)?(?:<\?xml\s[^<>]*\?>)?\s*<[A-Za-z_]")
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s[^>]*?\bref\s*=\s*["']([^"']+)["']""")
_CORNER = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{1,3}[0-9]{1,7})["']""")


@dataclass(frozen=True)
class SpecialCell:
    """A cell whose value calamine would hide: an Excel error or a formula with no value."""

    ref: str  # e.g. "B7"
    kind: str  # "error" or "uncalculated"
    text: str  # the error (#N/A) or the formula text ('' for a shared formula's followers)


def iter_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int | None = None, chunk: int = CHUNK
) -> Iterator[bytes]:
    """Yield a member's bytes in chunks, never more than its declared size (or `limit`).

    Reading to the end lets zipfile verify the CRC (BadZipFile when it does not match).
    """
    budget = info.file_size if limit is None else min(limit, info.file_size)
    with zf.open(info) as fh:
        while budget > 0:
            block = fh.read(min(chunk, budget))
            if not block:
                return
            budget -= len(block)
            yield block


def has_entity_declarations(zf: zipfile.ZipFile, info: zipfile.ZipInfo, prolog_only: bool = False) -> bool:
    """Whether a part holds <!DOCTYPE or <!ENTITY: streamed, with an overlap between chunks.

    `prolog_only`: a part whose root element comes straight after the XML declaration, as
    every spreadsheet program writes it, is passed without reading further. XML allows a
    document type declaration (and so any entity declaration) only before the root element;
    one after it is no declaration to any parser. Worksheets are checked that way: a 40 MB
    sheet is not inflated once more only to look for what cannot matter there. Any other
    start (a comment, a DOCTYPE, UTF-16) gets the full scan.
    """
    if prolog_only and _PLAIN_START.match(b"".join(iter_member(zf, info, limit=HEAD_BYTES))):
        return False
    tail = b""
    for block in iter_member(zf, info):
        data = tail + block
        for marker in (b"<!", b"<\x00!"):  # find() is far faster than a regex over every '<'
            at = data.find(marker)
            while at >= 0:
                if _DTD.match(data, at):
                    return True
                at = data.find(marker, at + 1)
        tail = data[-64:]
    return False


def declared_dimension(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """(last row, last column) of a worksheet's <dimension ref="A1:J100">; None if absent or odd."""
    found = _DIMENSION.search(b"".join(iter_member(zf, info, limit=HEAD_BYTES)))
    corner = _CORNER.match(found.group(1).split(b":")[-1].strip()) if found else None
    if not corner:
        return None
    return int(corner.group(2)), column_number(corner.group(1))


def declared_member_count(path: Path) -> int | None:
    """Member count from a zip's end record: lets the guard refuse before zipfile lists them all."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 65557))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    loc = tail.rfind(b"PK\x06\x06", 0, at)  # ZIP64 end record holds the real count
    if count == 0xFFFF and loc >= 0 and loc + 40 <= len(tail):
        count = struct.unpack_from("<Q", tail, loc + 32)[0]
    return count


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    """Regexes for one namespace prefix ('' or 'x:'), built once; literal starts keep them fast."""
    p = re.escape(prefix)
    error = re.compile(
        rb"<" + p + rb"c((?:\s[^>]*?)?\st\s*=\s*[\"']e[\"'][^>]*?)(?<!/)>(.*?)</" + p + rb"c>",
        re.S,
    )
    # Cell children come in the order f, v, is, extLst: a formula not followed by <v> has no
    # value. An empty self-closing <v/> (openpyxl writes one for every formula) has none either,
    # nor has an empty <v></v> (openpyxl with lxml), unless the cell is text (t="str": a
    # formula that worked out to ""), which `scan_piece` checks.
    formula = re.compile(
        rb"<" + p + rb"f(?:\s[^>]*)?(?:/>|>([^<]*(?:<!\[CDATA\[.*?\]\]>[^<]*)*)</" + p + rb"f>)"
        rb"(?!\s*<" + p + rb"v(?:\s[^>/]*)?>(?!</" + p + rb"v>))",
        re.S,
    )
    value = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?>([^<]*)</" + p + rb"v>")
    has_formula = re.compile(rb"<" + p + rb"f[\s>/]")
    return error, formula, value, has_formula


def _text(raw: bytes) -> str:
    raw = raw.replace(b"<![CDATA[", b"").replace(b"]]>", b"")
    return html.unescape(raw.decode("utf-8", errors="replace")).strip()


def _cell_ref(piece: bytes, pos: int, prefix: bytes) -> tuple[str, int]:
    """The r= of the cell whose content is at `pos`, and the cell's start offset in `piece`."""
    tag = b"<" + prefix + b"c"
    start = piece.rfind(tag, 0, pos)
    while start >= 0 and piece[start + len(tag) : start + len(tag) + 1] not in b" \t\r\n>":
        start = piece.rfind(tag, 0, start)
    if start < 0:
        return "", 0
    found = _ATTR_R.search(piece, start, piece.find(b">", start))
    return (found.group(1).decode("ascii").upper() if found else ""), start


def scan_piece(piece: bytes, prefix: bytes, base: int, out: list[tuple[int, SpecialCell]], end: int | None = None) -> None:
    """Append the special cells of the complete cells in `piece[:end]` (`base` = its offset in the member)."""
    error, formula, value, has_formula = _patterns(prefix)
    end = len(piece) if end is None else end
    # A lone byte search first: most sheets hold hardly any "e" outside their first lines,
    # and quotes are everywhere, so looking for '"e"' straight away is the slow way.
    if piece.find(b"e", 0, end) >= 0 and (piece.find(b'"e"', 0, end) >= 0 or piece.find(b"'e'", 0, end) >= 0):
        for m in error.finditer(piece, 0, end):
            v = value.search(m.group(2))
            if v:  # an error cell with no value is handled as a formula below (or ignored)
                ref = _ATTR_R.search(m.group(1))
                name = ref.group(1).decode("ascii").upper() if ref else ""
                out.append((base + m.start(), SpecialCell(name, "error", _text(v.group(1)))))
    if has_formula.search(piece, 0, end):
        for m in formula.finditer(piece, 0, end):
            ref, start = _cell_ref(piece, m.start(), prefix)
            if _is_text_cell(piece, start) and _empty_value_follows(piece, m.end(), prefix):
                continue  # a formula whose result is the empty text
            text = _text(m.group(1) or b"")
            out.append((base + max(start, 0), SpecialCell(ref, "uncalculated", text)))


_TEXT_TYPE = re.compile(rb"""\st\s*=\s*["'](?:str|inlineStr)["']""")


def _is_text_cell(piece: bytes, start: int) -> bool:
    """Whether the cell opening at `start` is declared as text (t="str")."""
    return bool(_TEXT_TYPE.search(piece, start, piece.find(b">", start)))


def _empty_value_follows(piece: bytes, at: int, prefix: bytes) -> bool:
    rest = piece[at:at + 64].lstrip()
    return rest.startswith(b"<" + prefix + b"v>") and rest[len(prefix) + 3:].startswith(b"</" + prefix + b"v>")


def _last_boundary(piece: bytes, prefix: bytes, start: int) -> int:
    """Offset just past the last </c> or </row> from `start` on (0: none); cells before are whole."""
    ends = []
    for tag in (b"</" + prefix + b"c>", b"</" + prefix + b"row>"):
        at = piece.rfind(tag, start)
        if at >= 0:
            ends.append(at + len(tag))
    return max(ends, default=0)


def worksheet_prefix(head: bytes) -> bytes | None:
    """The namespace prefix of a worksheet's root element in `head` (b"" or b"x:"), None if
    `head` does not hold it; cells are named with that prefix."""
    found = _PREFIX.search(head)
    if found is None:
        return None
    return found.group(1) + b":" if found.group(1) else b""


def _open(zf_or_path: zipfile.ZipFile | str | Path) -> tuple[zipfile.ZipFile, bool]:
    if isinstance(zf_or_path, zipfile.ZipFile):
        return zf_or_path, False
    return zipfile.ZipFile(zf_or_path), True


def special_cells(zf_or_path: zipfile.ZipFile | str | Path, member: str) -> list[SpecialCell]:
    """Error cells and uncalculated formulas of one worksheet part, in sheet order.

    Run only on a package `xlsx_guard.check_package` accepted: it relies on the guard's size
    limits and does no safety checks of its own.
    """
    zf, close = _open(zf_or_path)
    try:
        info = zf.getinfo(member)
        found: list[tuple[int, SpecialCell]] = []
        prefix: bytes | None = None
        carry, offset = b"", 0  # carry: unfinished cells; offset: where carry starts
        for block in iter_member(zf, info, chunk=CHUNK):  # CHUNK read now: tests shrink it
            piece, searched = carry + block, max(len(carry) - 16, 0)
            if prefix is None:  # the root element's prefix ("x:" in <x:worksheet>) names the cells
                prefix = worksheet_prefix(piece)
                if prefix is None and len(piece) < HEAD_BYTES:
                    carry = piece
                    continue
                prefix = prefix or b""
                searched = 0
            cut = _last_boundary(piece, prefix, searched)
            if cut:
                scan_piece(piece, prefix, offset, found, end=cut)
                carry, offset = piece[cut:], offset + cut
            elif len(piece) > _MAX_CARRY:
                carry, offset = piece[-_KEEP_TAIL:], offset + len(piece) - _KEEP_TAIL
            else:
                carry = piece
        if carry:
            scan_piece(carry, prefix or b"", offset, found)
        if any(not cell.ref for _, cell in found):
            refs = _refs_at(zf, info, {pos for pos, cell in found if not cell.ref})
            found = [
                (pos, c if c.ref else SpecialCell(refs.get(pos, "?"), c.kind, c.text))
                for pos, c in found
            ]
        return [cell for _, cell in sorted(found, key=lambda item: item[0])]
    finally:
        if close:
            zf.close()


_ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s>/])([^>]*)>")
_ROW_R = re.compile(rb"""\sr\s*=\s*["']([0-9]+)["']""")


def _refs_at(zf: zipfile.ZipFile, info: zipfile.ZipInfo, wanted: set[int]) -> dict[int, str]:
    """Cell references by byte offset, for writers that leave out r= (positions are implied).

    Slow (a Python step per cell), so only used when a special cell has no r= of its own.
    """
    data = b"".join(iter_member(zf, info))
    refs: dict[int, str] = {}
    row, col = 0, 0
    for m in _ROW_OR_CELL.finditer(data):
        attrs = m.group(2)
        if m.group(1) == b"row":
            r = _ROW_R.search(attrs)
            row, col = (int(r.group(1)) if r else row + 1), 0
            continue
        r = _ATTR_R.search(attrs)
        if r:
            col = column_number(r.group(1).rstrip(b"0123456789"))
        else:
            col += 1
        if m.start() in wanted:
            refs[m.start()] = column_letters(col) + str(row)
    return refs


def column_number(letters: bytes) -> int:
    """b"A" -> 1, b"AA" -> 27."""
    col = 0
    for ch in letters.upper():
        col = col * 26 + ch - 64
    return col


def column_letters(col: int) -> str:
    """1 -> A, 27 -> AA: Excel's column names."""
    name = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        name = chr(65 + rest) + name
    return name
