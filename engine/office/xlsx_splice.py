"""A package written by xlsxwriter with the rows of some sheets made elsewhere and spliced in.

A workbook export has xlsxwriter write everything but the rows of its big sheets: their
columns, table, drop-downs, header, protection and print set-up, every other sheet, the
styles (see engine.sheets.export). Those rows are made first (engine.office.xlsx_rows),
deflated as they are made into a temporary file (`DeflatedRows`), since what xlsxwriter
writes depends on how many there are. Then the package is copied member by member, and a
sheet with rows of its own becomes its skeleton's XML up to the end of its first row, the
rows, and the rest of the skeleton: three deflate streams one after the other, the first
two ended on a byte boundary (Z_SYNC_FLUSH), which a reader inflates as one. Its CRC-32 is
combined from the three parts' (`crc32_combine`), so the rows are never read back.

The rows are deflated at level 1: a 600 MB sheet in a few seconds instead of fifteen, for
a file a tenth larger. The sheet's `<dimension>` is widened to its last row.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from engine.office.xlsx_zip import PackageWriter, new_entry

ROWS_LEVEL = 1          # measured in benchmarks/bench_export.py
SKELETON_LEVEL = 6      # the small parts around the rows: as small as zlib makes them
_BLOCK = 1 << 20
_SHEET_DATA = re.compile(rb"<sheetData>")
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"/>')


class DeflatedRows:
    """The `<row>` elements of one sheet, deflated as they are written into a temporary
    file (in `folder`, readable by its owner only, gone when closed): a million rows take
    the file a tenth of their size, and none of the memory.

    Each batch of rows is deflated on a thread of its own while the next batch is made
    (zlib lets go of the interpreter while it works): on two cores the deflating costs
    next to nothing. Batches are deflated in order, one at a time.
    """

    def __init__(self, folder: Path, level: int = ROWS_LEVEL):
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - closed in close()
        self._squeeze = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deflate")
        self._pending: Future[None] | None = None
        self.crc = 0
        self.size = 0          # bytes of XML written
        self.last_row = 0      # the last row number written (1-based)
        self._compressed = 0
        self._finished = False

    def write(self, xml: str, last_row: int) -> None:
        """Add rows (`xml`, their `<row>` elements in order); `last_row`: the number of the last."""
        if not xml:
            return
        data = xml.encode("utf-8")
        self.size += len(data)
        self.last_row = max(self.last_row, last_row)
        self._wait()
        self._pending = self._worker.submit(self._deflate, data)

    def _deflate(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self._store(self._squeeze.compress(data))

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()          # its failure (a full disk) is the writer's

    def _store(self, data: bytes) -> None:
        self._file.write(data)
        self._compressed += len(data)

    def finish(self) -> None:
        """End the stream on a byte boundary, not as its last block (more follows it)."""
        self._wait()
        if not self._finished:
            self._store(self._squeeze.flush(zlib.Z_SYNC_FLUSH))
            self._finished = True

    @property
    def compressed_size(self) -> int:
        return self._compressed

    def chunks(self) -> Iterator[bytes]:
        self.finish()
        self._file.seek(0)
        while block := self._file.read(_BLOCK):
            yield block

    def close(self) -> None:
        try:
            if self._pending is not None:
                self._pending.cancel()
            self._worker.shutdown(wait=True)
        finally:
            self._file.close()


def splice_package(skeleton: BinaryIO, out: Path, rows: dict[str, DeflatedRows]) -> None:
    """Write `out`: the package `skeleton` with `rows` (member name -> its rows) put after
    the first row of each named sheet part; every other member copied as it is."""
    with zipfile.ZipFile(skeleton) as package, PackageWriter(out, skeleton) as writer:
        found = set()
        for info in package.infolist():
            spliced = rows.get(info.filename)
            if spliced is None or spliced.size == 0:
                writer.copy(info, lambda info=info: package.read(info))
                continue
            found.add(info.filename)
            _write_spliced(writer, info, package.read(info), spliced)
        if missing := set(n for n, r in rows.items() if r.size) - found:
            raise ValueError(f"the package has no part {sorted(missing)} to put rows into")


def _write_spliced(writer: PackageWriter, info: zipfile.ZipInfo, xml: bytes, rows: DeflatedRows) -> None:
    head, tail = _split_after_first_row(xml)
    head = _widened(head, rows.last_row)
    start = zlib.compressobj(SKELETON_LEVEL, zlib.DEFLATED, -15)
    head_packed = start.compress(head) + start.flush(zlib.Z_SYNC_FLUSH)
    end = zlib.compressobj(SKELETON_LEVEL, zlib.DEFLATED, -15)
    tail_packed = end.compress(tail) + end.flush(zlib.Z_FINISH)
    rows.finish()
    crc = zlib.crc32(tail, crc32_combine(zlib.crc32(head), rows.crc, rows.size))
    entry = new_entry(info.filename, info)

    def pieces() -> Iterator[bytes]:
        yield head_packed
        yield from rows.chunks()
        yield tail_packed

    writer.write_deflated(entry, pieces(), crc=crc, file_size=len(head) + rows.size + len(tail),
                          compress_size=len(head_packed) + rows.compressed_size + len(tail_packed))


def _split_after_first_row(xml: bytes) -> tuple[bytes, bytes]:
    """The sheet's XML up to the end of its first `<row>`, and the rest."""
    opened = _SHEET_DATA.search(xml)
    if opened is None:
        raise ValueError("the sheet's skeleton has no rows to put more rows after")
    first_row_end = xml.find(b"</row>", opened.end())
    if first_row_end < 0:
        raise ValueError("the sheet's skeleton has no first row to put more rows after")
    cut = first_row_end + len(b"</row>")
    return xml[:cut], xml[cut:]


def _widened(head: bytes, last_row: int) -> bytes:
    """The `<dimension>` of the sheet widened down to `last_row` (its columns as they are)."""
    found = _DIMENSION.search(head)
    if found is None:
        return head
    first_col, first_row = found.group(1), found.group(2)
    last_col, old_last = found.group(3) or first_col, int(found.group(4) or first_row)
    ref = b'<dimension ref="%s%s:%s%d"/>' % (first_col, first_row, last_col, max(old_last, last_row))
    return head[:found.start()] + ref + head[found.end():]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from A's CRC, B's CRC and B's length (zlib's crc32_combine, which
    Python's zlib does not offer): the rows' CRC is known before the sheet's head is."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]   # the operator for one zero bit
    even = _square(odd)                                # two zero bits
    odd = _square(even)                                # four zero bits
    while True:   # apply length2 zero bytes to crc1
        even = _square(odd)
        if length2 & 1:
            crc1 = _times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _square(even)
        if length2 & 1:
            crc1 = _times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def _times(matrix: list[int], vector: int) -> int:
    total, n = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[n]
        vector >>= 1
        n += 1
    return total


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, matrix[n]) for n in range(32)]
