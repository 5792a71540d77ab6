"""How much text reading a workbook's sheets would bring, counted before they are read.

Why: a cell holding a shared string names it by number, so a 99 KB file can hold one 30,000-
character string and 50,000 cells that each name it. calamine hands every such cell over as a
string of its own: 1.5 GB, in memory at once, before a single value can be looked at. The
size limits of the guard cannot see this (the parts are small); only counting the cells can.

`TextBudget` counts, per sheet and before the sheet is read, the text its cells would bring:
the length of the shared string each cell names, and the length of every other value written
in the sheet. It streams the sheet part in bounded chunks and refuses, naming the file and
the sheet, as soon as the workbook's total passes the limit. The count does not trust the
cell type: any value that is the number of a shared string is charged that string's length
(a number cell that happens to match is over-counted, never a text cell under-counted), so an
odd way of writing the type attribute cannot get a cell past it.

A sheet too big to keep whole is read by our own reader a chunk of rows at a time
(engine.office.xlsx_rows), never more than about 2 MB of its XML at once, each cell naming a
shared string given that one string, not a copy. Counting it beforehand was a pass of its own
over the whole sheet (a tenth of a sync's time); it is charged instead as the reader reads it
(`taking`): each chunk's text, the strings its values are, before any of its rows goes
further, refused at the same total.
"""

from __future__ import annotations

import re
import zipfile
from array import array
from collections.abc import Callable
from itertools import filterfalse
from pathlib import Path

from engine.errors import UnusableInput
from engine.office.sheet_scan import iter_member
from engine.office.xlsx_row_cells import Rows

# The text of a <v> (any value) or a <t> (inline and rich text) element, up to the next tag.
# It finds what `<(?:[\w.-]+:)?[vt](?:\s[^>]*)?>([^<]*)<` finds, a quarter faster: at each '<'
# the name without a prefix is tried first, and no part gives back what it took (possessive:
# a name holds no ':', attributes no '>', a text no '<', so giving back could not help).
_VALUE = re.compile(rb"<(?:[vt]|[\w.-]++:[vt])(?:\s[^>]*+)?>([^<]*+)<")
_SHARED_ITEM_END = re.compile(rb"</(?:[\w.-]+:)?si\s*>|<(?:[\w.-]+:)?si\s*/>")  # an item's end, or an empty one
_TEXT = re.compile(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)<")


class TextBudget:
    """The text a workbook may still bring; `charge` each sheet before reading it."""

    def __init__(self, path: Path, limit: int):
        self.path, self.limit, self.used = Path(path), limit, 0
        self._zip: zipfile.ZipFile | None = None
        self._shared: array | None = None
        self._taken: dict[str, int] = {}   # sheet -> chunks charged as read (see `taking`)

    def __enter__(self) -> TextBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def charge(self, sheet: str, member: str) -> None:
        """Count the text of sheet `sheet` (zip member `member`); refuse past the limit."""
        zf = self._open()
        shared = self._shared_lengths(zf)
        count = len(shared)
        carry = b""
        for block in iter_member(zf, zf.getinfo(member)):
            piece = carry + block
            cut = piece.rfind(b"<")
            if cut < 0:  # a long run of text: all of it counts
                self._add(sheet, len(piece))
                carry = b""
                continue
            values = _VALUE.findall(piece, 0, cut + 1)
            # In C (a million cells in a fraction of a second): every value's own length, and
            # for each plain number that names a shared string, that string's length...
            used = sum(map(len, values))
            used += sum(map(shared.__getitem__, filter(count.__gt__, map(int, filter(bytes.isdigit, values)))))
            # ...then one by one the rest, where " 7" or "+7" may still name string 7.
            for value in filterfalse(bytes.isdigit, values):
                number = value.strip().lstrip(b"+")
                if number.isdigit() and int(number) < count:
                    used += shared[int(number)]
            self._add(sheet, used)
            carry = piece[cut:]
        self._add(sheet, len(carry))

    def taking(self, sheet: str) -> Callable[[Rows], None]:
        """For one pass of the reader over a sheet read a chunk at a time (the `taking` of
        SheetReader.iter_rows): each chunk's rows charged with the text their values are,
        before they are yielded. A later pass over the sheet cuts the same chunks: only
        those no earlier pass reached are charged."""
        chunk = 0

        def take(rows: Rows) -> None:
            nonlocal chunk
            if chunk >= self._taken.get(sheet, 0):
                self._add(sheet, sum([len(v) for _number, values in rows for v in values if v.__class__ is str]))
                self._taken[sheet] = chunk + 1
            chunk += 1
        return take

    def _add(self, sheet: str, amount: int) -> None:
        self.used += amount
        if self.used > self.limit:
            raise UnusableInput(self.path, (
                f"sheet '{sheet}' brings more text than a workbook may (over {self.limit:,} characters, "
                "the limit workbook.max_text_bytes; a short text repeated in many cells counts each time): "
                "split it into smaller workbooks, or ask the sender for a fresh copy"))

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        return self._zip

    def _shared_lengths(self, zf: zipfile.ZipFile) -> array:
        """The length of each shared string by number (the longest, if several parts claim it)."""
        if self._shared is None:
            lengths = array("q")
            for info in zf.infolist():
                if info.filename.replace("\\", "/").lower().endswith("sharedstrings.xml"):
                    for n, length in enumerate(_item_lengths(zf, info)):
                        if n < len(lengths):
                            lengths[n] = max(lengths[n], length)
                        else:
                            lengths.append(length)
            self._shared = lengths
        return self._shared


_EXACT_OVER = 256  # an item's XML bytes above which its text is measured, not bounded
_LEAST_MARKUP = len("<si><t></t>")  # what any item holding text has besides its text


def _item_lengths(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> array:
    """The text length of each <si> of a shared-strings part, in order, streamed.

    A short item counts as its XML size less the least markup an item has (its text cannot
    be longer); a long one, the few that matter, is measured.
    """
    lengths, carry = array("q"), b""
    for block in iter_member(zf, info):
        items = _SHARED_ITEM_END.split(carry + block)
        carry = items.pop()
        sizes = array("q", (max(size - _LEAST_MARKUP, 0) for size in map(len, items)))
        for n in [n for n, size in enumerate(sizes) if size > _EXACT_OVER]:
            sizes[n] = sum(map(len, _TEXT.findall(items[n])))
        lengths.extend(sizes)
    return lengths
