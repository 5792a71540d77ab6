"""The rows of a sheet's base snapshot, kept compactly: a million rows in a few hundred MB less.

A base snapshot holds, per exported record, its version and its values as text, as they were
when the workbook was made (see engine.sheets.meta). Held as Python objects (a dict of tuples
of lists of strings), a 1,048,000-row sheet's base took about 750 MB; a sync needs only the
rows of the records it looks at, one chunk at a time. So the rows are kept here as their JSON
text, one line per record in one byte buffer, with the ids and versions in plain integer
arrays; a row's values are parsed only when it is looked up.

`BaseRows` behaves as a mapping id -> (version, values), as the plain dict did: the merge, the
refresh and the receipts use it unchanged. The payload it is read from and packed into is the
same text (see `lines` and `from_lines`), so the file carries what the memory holds.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from itertools import accumulate
from typing import Any

import numpy as np
import orjson

Row = tuple[int, list[str]]


class BaseRows(MutableMapping[int, Row]):
    """id -> (version, values as text), stored as lines of JSON (see the module's docstring).

    Adding a row appends it; adding an id again replaces the row (the last one counts), and
    a deleted row is left out: iteration follows the order rows were added, like a dict's.
    The look-up index (ids sorted) is built on the first look-up after rows were added in
    bulk; rows added after it are found through a small dict until the next rebuild.
    """

    __slots__ = ("_ids", "_versions", "_data", "_starts", "_dead", "_order", "_sorted", "_recent", "_live")

    def __init__(self, rows: Mapping[int, Row] | Iterable[tuple[int, Row]] = ()):
        self._ids = array("q")
        self._versions = array("q")
        self._data = bytearray()
        self._starts = array("q")          # where each row's line starts in `_data`
        self._dead: set[int] = set()       # positions of rows replaced or deleted
        self._sorted: np.ndarray | None = None   # ids of the index, sorted
        self._order: np.ndarray | None = None    # their positions
        self._recent: dict[int, int] | None = None   # id -> position, added since the index was built
        self._live = 0
        for rid, (version, values) in (rows.items() if isinstance(rows, Mapping) else rows):
            self[rid] = (version, values)

    # -- building ------------------------------------------------------------------------

    def add(self, rid: int, version: int, values: list[str]) -> None:
        """Add (or replace) a row: `self[rid] = (version, values)`."""
        self._append(rid, version, orjson.dumps(values))

    def add_many(self, ids: Sequence[int], versions: Sequence[int], values: Iterable[Sequence[str]]) -> None:
        """Add rows in bulk: `add` of each id, its version and its values, in order (a
        million rows in a second instead of three)."""
        lines = [orjson.dumps(row) for row in values]
        if len(lines) != len(ids) or len(versions) != len(ids):
            raise ValueError("as many ids, versions and rows of values are needed")
        if not lines:
            return
        if self._sorted is not None:      # an index to keep up to date: one by one
            for rid, version, line in zip(ids, versions, lines, strict=True):
                self._append(rid, version, line)
            return
        starts = accumulate((len(line) + 1 for line in lines[:-1]), initial=len(self._data))
        self._ids.extend(ids)
        self._versions.extend(versions)
        self._starts.extend(starts)
        self._data += b"\n".join(lines)
        self._data += b"\n"
        self._live += len(lines)

    def _append(self, rid: int, version: int, line: bytes) -> None:
        # Without an index yet, a repeated id is resolved when it is built (the last counts).
        if self._sorted is not None:
            assert self._recent is not None
            replaced = self._position(rid)
            if replaced is not None:
                self._dead.add(replaced)
                self._live -= 1
            self._recent[rid] = len(self._ids)
            if len(self._recent) > max(4096, len(self._ids) // 8):
                self._drop_index()
        self._ids.append(rid)
        self._versions.append(version)
        self._starts.append(len(self._data))
        self._data += line
        self._data += b"\n"
        self._live += 1

    @classmethod
    def from_lines(cls, ids: list[int], versions: list[int], payload: bytes | bytearray) -> BaseRows:
        """The rows of `ids` and `versions`, their values the lines of `payload`, in that order."""
        rows = cls()
        if len(ids) != len(versions):
            raise ValueError("its base snapshot is damaged (ids and versions differ in number)")
        ends = np.flatnonzero(np.frombuffer(payload, dtype=np.uint8) == 10) if payload else np.empty(0, np.int64)
        if len(ends) != len(ids):
            raise ValueError(f"its base snapshot is damaged ({len(ids)} records, {len(ends)} rows of values)")
        rows._ids = array("q", ids)
        rows._versions = array("q", versions)
        rows._data = bytearray(payload)
        rows._starts = array("q", [0])
        rows._starts.extend((ends[:-1] + 1).tolist())
        if not ids:
            rows._starts = array("q")
        rows._live = len(ids)      # repeated ids are resolved when the index is built
        return rows

    # -- looking up ----------------------------------------------------------------------

    def _drop_index(self) -> None:
        self._sorted = self._order = self._recent = None

    def _position(self, rid: int) -> int | None:
        if self._sorted is None:
            self._build_index()
        assert self._sorted is not None and self._order is not None and self._recent is not None
        found = self._recent.get(rid)
        if found is not None:
            return None if found in self._dead else found
        at = int(np.searchsorted(self._sorted, rid))
        if at < len(self._sorted) and self._sorted[at] == rid:
            position = int(self._order[at])
            return None if position in self._dead else position
        return None

    def _build_index(self) -> None:
        ids = np.frombuffer(self._ids, dtype=np.int64) if len(self._ids) else np.empty(0, np.int64)
        order = np.argsort(ids, kind="stable")
        ranked = ids[order]
        # of repeated ids the last added counts: it is the last of its run in a stable sort
        last = np.ones(len(ranked), dtype=bool)
        if len(ranked) > 1:
            last[:-1] = ranked[1:] != ranked[:-1]
            for position in order[~last].tolist():
                if position not in self._dead:
                    self._dead.add(position)
                    self._live -= 1
        self._sorted, self._order, self._recent = ranked[last], order[last], {}

    def _line(self, position: int) -> bytes:
        start = self._starts[position]
        end = self._starts[position + 1] - 1 if position + 1 < len(self._starts) else len(self._data) - 1
        return bytes(self._data[start:end])

    def __getitem__(self, rid: int) -> Row:
        position = self._position(rid)
        if position is None:
            raise KeyError(rid)
        return self._versions[position], orjson.loads(self._line(position))

    def __contains__(self, rid: object) -> bool:
        return isinstance(rid, int) and self._position(rid) is not None

    def subset(self, ids: Iterable[int]) -> dict[int, Row]:
        """The rows of those of `ids` that are rows here, parsed (a chunk's, for its merge):
        their positions found with one search over the index instead of one search each."""
        if self._sorted is None:
            self._build_index()
        assert self._sorted is not None and self._order is not None and self._recent is not None
        wanted = np.fromiter(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, wanted), max(len(self._sorted) - 1, 0))
        hit = (self._sorted[at] == wanted).tolist() if len(self._sorted) else [False] * len(wanted)
        positions = self._order[at].tolist() if len(self._sorted) else [0] * len(wanted)
        recent, dead, versions = self._recent, self._dead, self._versions
        found: dict[int, Row] = {}
        for rid, position, known in zip(wanted.tolist(), positions, hit, strict=True):
            if rid in recent:
                position, known = recent[rid], True
            if known and position not in dead:
                found[rid] = (versions[position], orjson.loads(self._line(position)))
        return found

    def missing(self, ids: Iterable[int]) -> list[int]:
        """Those of `ids` that are not rows here, in their order: one set operation over the
        arrays instead of a look-up each (the records of a million-row sheet that its rows
        do not show, at the end of a sync)."""
        wanted = np.fromiter(ids, dtype=np.int64)
        have = np.frombuffer(self._ids, dtype=np.int64) if len(self._ids) else np.empty(0, np.int64)
        if self._dead:
            have = np.delete(have, np.fromiter(self._dead, dtype=np.int64))
        return wanted[~np.isin(wanted, have)].tolist()

    def version(self, rid: int) -> int | None:
        """The row's version, without parsing its values (None: no such row)."""
        position = self._position(rid)
        return None if position is None else self._versions[position]

    def __setitem__(self, rid: int, row: Row) -> None:
        version, values = row
        self._append(rid, version, orjson.dumps(values))

    def __delitem__(self, rid: int) -> None:
        position = self._position(rid)
        if position is None:
            raise KeyError(rid)
        self._dead.add(position)
        self._live -= 1

    def __len__(self) -> int:
        if self._sorted is None and len(self._ids):
            self._build_index()     # repeated ids are counted once
        return self._live

    def _positions(self) -> Iterator[int]:
        if self._sorted is None and len(self._ids):
            self._build_index()
        dead = self._dead
        return (p for p in range(len(self._ids)) if p not in dead)

    def __iter__(self) -> Iterator[int]:
        ids = self._ids
        return (ids[p] for p in self._positions())

    def versions(self) -> Iterator[tuple[int, int]]:
        """(id, version) of every row, in order, without parsing any values."""
        ids, versions = self._ids, self._versions
        return ((ids[p], versions[p]) for p in self._positions())

    def lines(self) -> tuple[list[int], list[int], Iterator[bytes]]:
        """What `from_lines` reads back: the ids, the versions and the lines of values (in
        pieces of one or more whole lines, each ending with its line feed)."""
        if self._sorted is None and len(self._ids):
            self._build_index()
        if not self._dead:    # every row as added: the buffer as it is, a megabyte at a time
            return self._ids.tolist(), self._versions.tolist(), self._blocks()
        positions = list(self._positions())
        return ([self._ids[p] for p in positions], [self._versions[p] for p in positions],
                (self._line(p) + b"\n" for p in positions))

    def _blocks(self, size: int = 1 << 20) -> Iterator[bytes]:
        data, start = self._data, 0
        while start < len(data):
            end = data.find(b"\n", start + size - 1)
            end = len(data) if end < 0 else end + 1
            yield bytes(data[start:end])
            start = end

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  (mutable, as a dict)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def as_base_rows(rows: Any) -> BaseRows:
    """`rows` as BaseRows (a plain dict from a caller or an old snapshot is converted)."""
    return rows if isinstance(rows, BaseRows) else BaseRows(rows or {})
