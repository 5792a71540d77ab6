"""Receipts: what a sync created for each new row, so a repeated sync never creates it twice.

A sync commits first and then replaces the workbook with its refreshed copy (new ids,
versions, a new base). If that replacement never happens (the file is open in Excel on
Windows, read-only, or the process is killed in between), the file still shows the new rows
without ids, and syncing it again would insert them again. So every workbook carries a sync
generation (`WorkbookMeta.generation`, raised by each sync that saves something), and in the
same transaction as the records a sync writes its receipts: the workbook, the generation, and
per new row the row as typed and the record it became.

A later sync of a file still at that generation first matches its new rows to those
receipts by what was typed (not by row number: a row inserted above, or a copy of the file
with other rows, must not be taken for another record), and treats each matched row as the
record it became, with what was typed as its base: a row unchanged since is nothing to
apply, a row edited since is an edit of that record. A file at a later generation proves the
earlier write-back arrived, so older receipts are deleted then.

An empty layout (a template, bound to the database at its first sync) has no receipts: its
copies share one workbook id, and one person's rows must never be matched to another's.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UTCDateTime, utcnow
from engine.db.bulk import insert_many
from engine.sheets.meta import SheetBase, WorkbookMeta
from engine.sheets.read import RowInput, SheetInput, WorkbookInput
from engine.sheets.values import canonical


class WorkbookReceipt(Base):
    """One sheet's new rows of one sync: the rows, compressed, as [[row number, record id,
    version once saved, the row's values as typed], ...] (one insert per sheet, whatever the
    number of rows: a 100,000-row sync pays about a tenth of a second for its receipts)."""

    __tablename__ = "workbook_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workbook_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    generation: Mapped[int] = mapped_column(Integer, nullable=False)
    sheet: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def typed_values(row: RowInput, data: SheetInput) -> dict[str, str]:
    """A new row as typed, in canonical text, for the columns a base snapshot keeps."""
    return {c.key: canonical(row.values.get(c.key)) for c in data.columns if not c.computed}


def _as_stored(values: dict[str, Any]) -> bytes:
    """A row's typed values as a receipt keeps them (JSON; decimals as their text)."""
    return orjson.dumps(values, default=str)


def remember(session: Session, book: WorkbookInput, inserted: dict[tuple[str, int], int],
             versions: dict[str, dict[int, int]], rows: Iterable[tuple[str, RowInput]] | None = None) -> None:
    """The receipts of the rows this sync inserted (`inserted`: (sheet, row) -> record id;
    `versions`: sheet -> record id -> version once saved), in the sync's transaction.
    `rows`: the (sheet, row) read that hold them (a chunk's), when not every row is kept."""
    meta = book.meta
    if meta.installation_id is None or not inserted:
        return
    if rows is None:
        rows = ((name, row) for name, data in book.sheets.items() for row in data.rows)
    values_of = {(name, row.row): row.values for name, row in rows if row.record_id is None}
    packers: dict[str, _Packed] = {}
    for (name, number), rid in inserted.items():
        packed = packers.get(name) or packers.setdefault(name, _Packed())
        packed.add(orjson.dumps([number, rid, versions.get(name, {}).get(rid, 1), values_of[(name, number)]],
                                default=str))
    insert_many(session.connection(), WorkbookReceipt.__table__, [   # (behind a sync's rows, when it writes behind)
        {"workbook_id": meta.workbook_id, "generation": meta.generation, "sheet": name, "rows": packed.done(),
         "created_at": utcnow()}
        for name, packed in packers.items()])


class _Packed:
    """A receipt's rows as one compressed JSON list, compressed as it grows (bounded memory)
    a block of rows at a time (one call per row cost a second per million rows)."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1)
        self._out = [self._compressor.compress(b"[")]
        self._waiting: list[bytes] = []
        self._first = True

    def add(self, row: bytes) -> None:
        self._waiting.append(row)
        if len(self._waiting) == self.BLOCK:
            self._flush_waiting()

    def _flush_waiting(self) -> None:
        if self._waiting:
            self._out.append(self._compressor.compress((b"" if self._first else b",") + b",".join(self._waiting)))
            self._first = False
            self._waiting.clear()

    def done(self) -> bytes:
        self._flush_waiting()
        return b"".join([*self._out, self._compressor.compress(b"]"), self._compressor.flush()])


def recover(session: Session, book: WorkbookInput) -> dict[tuple[str, int], int]:
    """Match the file's new rows to the receipts of its generation: each matched row is the
    record it was saved as (what was typed is entered as that record's base; the merge and the
    refresh take the row for that record). Returns (sheet, row) -> record id of those rows."""
    meta = book.meta
    if meta.installation_id is None:
        return {}
    receipts = session.execute(select(WorkbookReceipt.sheet, WorkbookReceipt.rows).where(
        WorkbookReceipt.workbook_id == meta.workbook_id, WorkbookReceipt.generation == meta.generation)
        .order_by(WorkbookReceipt.id)).all()
    matched: dict[tuple[str, int], int] = {}
    for name, data in book.sheets.items():
        waiting: dict[bytes, list[tuple[int, int]]] = {}     # typed values -> [(record id, version)]
        for sheet, packed in receipts:
            if sheet == name:
                for _number, rid, version, values in orjson.loads(zlib.decompress(packed)):
                    waiting.setdefault(_key(values), []).append((rid, version))
        if not waiting:
            continue
        for row in data.rows:
            if row.record_id is not None:
                continue
            found = waiting.get(_key(orjson.loads(_as_stored(row.values))))
            if not found:
                continue
            rid, version = found.pop(0)
            _as_saved(meta, name, data, row, rid, version)
            matched[(name, row.row)] = rid
    return matched


def _key(values: dict[str, Any]) -> bytes:
    """What was typed in a row, the same whatever the order of its cells (empty cells left out)."""
    return orjson.dumps({k: v for k, v in values.items() if v is not None and v != ""}, option=orjson.OPT_SORT_KEYS)


def _as_saved(meta: WorkbookMeta, name: str, data: SheetInput, row: RowInput, rid: int, version: int) -> None:
    """What was typed becomes the base of the record the row was saved as."""
    base = meta.base.get(name)
    if base is None:
        base = meta.base[name] = SheetBase(columns=[c.key for c in data.columns if not c.computed])
    typed = typed_values(row, data)
    base.rows[rid] = (version, [typed.get(key, "") for key in base.columns])


def forget_older(session: Session, meta: WorkbookMeta) -> None:
    """Delete the receipts of the generations before the file's: it carries a later
    generation only because their write-back arrived."""
    session.execute(delete(WorkbookReceipt).where(WorkbookReceipt.workbook_id == meta.workbook_id,
                                                  WorkbookReceipt.generation < meta.generation))
