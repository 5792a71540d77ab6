"""How far a worksheet reaches, found from its XML before calamine reads a cell of it.

Why: calamine lays a sheet out as one dense grid from its first cell to its last, and the
reader could count the rows only after that. Refusing a 5 MB file holding a million-row sheet
took 13 s and 1.4 GB; and a 600-byte sheet with one cell in A1 and one in XFD1048576 asks
calamine for half a terabyte, which aborts the whole process. A sheet's `<dimension>` says
how far it reaches, but it is optional (some writers leave it out, Gnumeric writes the whole
grid for any sheet) and nothing makes it true.

`find_overrun` streams the sheet's XML once, in bounded chunks, and stops at the first sign
that it goes past the row or column cap; memory stays at a few chunks whatever the sheet.
Per chunk, two kinds of evidence, both found at the speed of a byte search:

- any filled cell whose reference has a column of three letters or more, or a row of seven
  digits or more (found in a copy of the chunk with letters and digits folded to one of
  each, then checked exactly against the caps): the cells that make the grid huge, wherever
  they are;
- the last filled cell of the chunk's complete rows: its row (its r=, or counted where rows
  carry none, as calamine counts them) and its column. In a sheet written in order, as every
  spreadsheet program writes them, that is how far the sheet has come.

Empty cells (`<c r="XFD9" s="1"/>`) are no part of the grid for calamine, nor for the scan.
What it does not see: out of order in the middle of a chunk, a cell between the caps and
those bounds, or cells without r= (placed by calamine after the row's or cell's before)
making a row long or a row number far. The reader still counts the rows calamine read.
"""

from __future__ import annotations

import re
import string
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from engine.office.sheet_scan import CHUNK, HEAD_BYTES, column_letters, column_number, iter_member

_OVERLAP = 4096  # bytes of the previous chunk searched again: a reference cut in two is whole
_MAX_CARRY = 4 << 20  # more than this without the end of a row: keep only the tail
_KEEP_TAIL = 1 << 20
_TRIES = 64  # tags tried backwards for the last row or cell before giving up on the sample
_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["']0*([0-9]{1,12})["']""")
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{1,12})0*([0-9]{1,12})["']""")
_TAG_END = frozenset([b"", b" ", b"\t", b"\r", b"\n", b">", b"/"])  # what may follow an element's name

# Letters to "A", digits to "0", either quote to '"', the bytes between tags and attributes
# dropped (a smaller copy is faster to search): then one byte search finds a reference with
# three letters or more (past column ZZ = 702), another a number of seven digits or more
# closing an attribute (a row from 1,000,000 on). Each is then checked exactly.
_FOLD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'",
    b"A" * 52 + b"0" * 10 + b'"',
)
_NOISE = b"<>/= \t\r\n"
_WIDE_MARK, _LONG_MARK = b"AAA0", b'0000000"'
# For the exact check: quotes as '"' and no white space, so r = 'A1' reads r="A1".
_QUOTES, _SPACES = bytes.maketrans(b"'", b'"'), b" \t\r\n"


@dataclass(frozen=True)
class Overrun:
    """The first place a sheet was seen going past a cap: the row and column reached there
    (0 where the evidence says nothing about one of them)."""

    row: int
    column: int


def find_overrun(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_rows: int, max_columns: int) -> Overrun | None:
    """Where the worksheet part `info` goes past `max_rows` or `max_columns`, or None.

    Stops at the first evidence; reads the part in chunks, never past its declared size.
    """
    wide, long = _beyond(max_rows, max_columns)
    rows = _LastRows(max_rows, max_columns)
    tail = b""
    for block in iter_member(zf, info, chunk=CHUNK):
        window = tail + block
        marks = window.translate(_FOLD, _NOISE)
        checks = [exact for mark, exact in ((_WIDE_MARK, wide), (_LONG_MARK, long)) if marks.find(mark) >= 0]
        if checks:
            plain = window.translate(_QUOTES, _SPACES)
            for exact in checks:
                found = exact.search(plain)
                if found:
                    return _overrun(found.group(1))
        tail = window[-_OVERLAP:]
        over = rows.feed(block)
        if over:
            return over
    return None


def _overrun(ref: bytes) -> Overrun:
    letters = ref.rstrip(b"0123456789")
    digits = ref[len(letters):]
    return Overrun(int(digits) if digits else 0, column_number(letters) if letters else 0)


@lru_cache(maxsize=8)
def _beyond(max_rows: int, max_columns: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Regexes for a filled cell whose r= is past the column cap, and past the row cap, in a
    chunk without white space and with '"' for quotes (letters in either case, as calamine
    takes them). Group 1 is the reference."""
    last = column_letters(max_columns)
    columns = _greater(last, string.ascii_uppercase, letters=True)
    rows = _greater(str(max_rows), string.digits, first=string.digits[1:])
    filled = '[^<>]*(?<!/)>(?!</)'  # a cell that is not empty: calamine skips the empty ones
    # The lookaheads turn most references away at once: too few letters, or too few digits.
    wide = f'r="((?=[A-Za-z]{{{len(last)}}}){columns}[0-9]+)"{filled}'
    long = f'r="([A-Za-z]+0*(?=[0-9]{{{len(str(max_rows))}}}){rows})"{filled}'
    return re.compile(wide.encode()), re.compile(long.encode())


def _greater(text: str, symbols: str, first: str | None = None, letters: bool = False) -> str:
    """A regex for the strings over `symbols` (in their order) past `text`: longer ones, or
    as long and later in order (for numbers without leading zeros and for column letters,
    that is greater). `first`: the symbols a string may start with; `letters`: either case."""
    def among(chars: str) -> str:
        return "[" + chars + (chars.lower() if letters else "") + "]"

    first = first or symbols
    alternatives = [f"{among(first)}{among(symbols)}{{{len(text)},}}"]
    for at, symbol in enumerate(text):
        higher = (first if at == 0 else symbols).partition(symbol)[2]
        if higher:
            rest = len(text) - at - 1
            alternatives.append("".join(among(c) for c in text[:at]) + among(higher)
                                + (f"{among(symbols)}{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(alternatives) + ")"


class _LastRows:
    """The last complete row of each chunk: how far a sheet written in order has come."""

    def __init__(self, max_rows: int, max_columns: int):
        self.max_rows, self.max_columns = max_rows, max_columns
        self.prefix: bytes | None = None
        self.carry = b""  # the bytes after the last complete row, not yet looked at
        self.row = 0  # the row the sheet has reached (calamine's count where rows carry no r=)

    def feed(self, block: bytes) -> Overrun | None:
        piece = self.carry + block
        if self.prefix is None:  # the root element's prefix ("x:" in <x:worksheet>) names the rows
            head = _PREFIX.search(piece)
            if not head and len(piece) < HEAD_BYTES:
                self.carry = piece
                return None
            self.prefix = (head.group(1) + b":") if head and head.group(1) else b""
        p = self.prefix
        row_tag, row_end = b"<" + p + b"row", b"</" + p + b"row>"
        cut = piece.rfind(row_end)
        if cut < 0:
            if len(piece) > _MAX_CARRY:  # no row ends here: count the empty rows, keep the tail
                keep = len(piece) - _KEEP_TAIL
                self.row += _count(piece, row_tag, 0, keep)
                piece = piece[keep:]
            self.carry = piece
            return None
        end = cut + len(row_end)
        before, self.carry = self.row, piece[end:]
        self.row = _row_number(piece, row_tag, _last_tag(piece, row_tag, 0, cut), before, end)
        cell = _last_filled_cell(piece, p, end)
        if cell is None:
            return None
        start, opened = cell
        ref = _CELL_REF.search(piece, start, opened)
        if ref:
            row, column = int(ref.group(2)), column_number(ref.group(1))
        else:  # no r=: calamine places a cell after the one before it, in the row it is in
            holder = _last_tag(piece, row_tag, 0, start)
            row = _row_number(piece, row_tag, holder, before, holder + len(row_tag)) if holder >= 0 else before
            column = len(_cell_tags(p).findall(piece, max(holder, 0), start)) + 1
        if row > self.max_rows or column > self.max_columns:
            return Overrun(row, column)
        return None


def _row_number(piece: bytes, row_tag: bytes, at: int, before: int, upto: int) -> int:
    """The number of the row whose tag opens at `at`: its r=, or counted on from `before`
    (the rows of piece[:upto]) as calamine counts rows written without one."""
    if at >= 0:
        number = _ROW_NUMBER.search(piece, at, piece.find(b">", at))
        if number:
            return int(number.group(1))
    return before + _count(piece, row_tag, 0, upto)


def _last_filled_cell(piece: bytes, prefix: bytes, end: int) -> tuple[int, int] | None:
    """(where its tag opens, where that tag ends) of the last cell in piece[:end] holding
    something, or None. Empty cells (<c r="XFD9" s="1"/>, as Gnumeric writes for a whole
    formatted grid) are no part of the sheet for calamine."""
    tag, close = b"<" + prefix + b"c", b"</" + prefix + b"c>"
    at = end
    for _ in range(_TRIES):
        closing = piece.rfind(close, 0, at)
        start = _last_tag(piece, tag, 0, closing) if closing >= 0 else -1
        if start < 0:
            return None
        opened = piece.find(b">", start, closing)
        if opened > 0 and piece[opened - 1] != 0x2F and piece[opened + 1:closing].strip():  # 0x2F: "/"
            return start, opened
        at = start
    return None


def _last_tag(piece: bytes, tag: bytes, start: int, end: int) -> int:
    """Where the last `tag` element opens in piece[start:end] (not a longer name such as
    <rowBreaks> or <color>), or -1."""
    at = end
    for _ in range(_TRIES):
        at = piece.rfind(tag, start, at)
        if at < 0 or piece[at + len(tag):at + len(tag) + 1] in _TAG_END:
            return at
    return -1


def _count(piece: bytes, tag: bytes, start: int, end: int) -> int:
    """How many `tag` elements open in piece[start:end] (row tags: <rowBreaks> is the one
    other element of a worksheet whose name starts the same)."""
    return piece.count(tag, start, end) - piece.count(tag + b"Breaks", start, end)


@lru_cache(maxsize=4)
def _cell_tags(prefix: bytes) -> re.Pattern[bytes]:
    return re.compile(b"<" + re.escape(prefix) + rb"c[\s>/]")
