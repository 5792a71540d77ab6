"""Receipts: what a sync created for each new row, so a repeated sync never creates it twice.

A sync commits first and then replaces the workbook with its refreshed copy (new ids,
versions, a new base). If that replacement never happens (the file is open in Excel on
Windows, read-only, or the process is killed in between), the file still shows the new rows
without ids, and syncing it again would insert them again. So every workbook carries a sync
generation (`WorkbookMeta.generation`, raised by each sync that saves something), and in the
same transaction as the records a sync writes a receipt per new row: the workbook, the
generation, the sheet, the row as typed and the record it became.

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

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UTCDateTime, utcnow
from engine.sheets.meta import SheetBase, WorkbookMeta
from engine.sheets.read import RowInput, SheetInput, WorkbookInput
from engine.sheets.values import canonical


class WorkbookReceipt(Base):
    __tablename__ = "workbook_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workbook_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    generation: Mapped[int] = mapped_column(Integer, nullable=False)
    sheet: Mapped[str] = mapped_column(String(64), nullable=False)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)       # the record's, once saved
    typed: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)  # column key -> canonical text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def typed_values(row: RowInput, data: SheetInput) -> dict[str, str]:
    """A new row as typed, in canonical text, for the columns a base snapshot keeps."""
    return {c.key: canonical(row.values.get(c.key)) for c in data.columns if not c.computed}


def remember(session: Session, book: WorkbookInput, inserted: dict[tuple[str, int], int],
             versions: dict[str, dict[int, int]]) -> None:
    """A receipt for each row this sync inserted (`inserted`: (sheet, row) -> record id;
    `versions`: sheet -> record id -> version once saved), in the sync's transaction."""
    meta = book.meta
    if meta.installation_id is None or not inserted:
        return
    rows = {(name, row.row): (row, data) for name, data in book.sheets.items() for row in data.rows
            if row.record_id is None}
    receipts = []
    for (name, number), rid in inserted.items():
        row, data = rows[(name, number)]
        receipts.append({"workbook_id": meta.workbook_id, "generation": meta.generation, "sheet": name,
                         "row_number": number, "record_id": rid, "version": versions.get(name, {}).get(rid, 1),
                         "typed": typed_values(row, data), "created_at": utcnow()})
    session.execute(insert(WorkbookReceipt), receipts)


def recover(session: Session, book: WorkbookInput) -> dict[tuple[str, int], int]:
    """Match the file's new rows to the receipts of its generation: each matched row is the
    record it was saved as (what was typed is entered as that record's base; the merge and the
    refresh take the row for that record). Returns (sheet, row) -> record id of those rows. Receipts of earlier generations are
    deleted (the file's generation proves their write-back arrived)."""
    meta = book.meta
    if meta.installation_id is None:
        return {}
    receipts = session.scalars(select(WorkbookReceipt).where(
        WorkbookReceipt.workbook_id == meta.workbook_id, WorkbookReceipt.generation == meta.generation)
        .order_by(WorkbookReceipt.id)).all()
    matched: dict[tuple[str, int], int] = {}
    for name, data in book.sheets.items():
        waiting: dict[tuple, list[WorkbookReceipt]] = {}
        for receipt in receipts:
            if receipt.sheet == name:
                waiting.setdefault(_key(receipt.typed), []).append(receipt)
        if not waiting:
            continue
        for row in data.rows:
            if row.record_id is not None:
                continue
            typed = typed_values(row, data)
            found = waiting.get(_key(typed))
            if not found:
                continue
            receipt = found.pop(0)
            _as_saved(meta, name, data, receipt)
            matched[(name, row.row)] = receipt.record_id
    return matched


def _key(typed: dict[str, Any]) -> tuple:
    return tuple(sorted((k, v) for k, v in typed.items() if v != ""))


def _as_saved(meta: WorkbookMeta, name: str, data: SheetInput, receipt: WorkbookReceipt) -> None:
    """What was typed becomes the base of the record the row was saved as."""
    base = meta.base.get(name)
    if base is None:
        base = meta.base[name] = SheetBase(columns=[c.key for c in data.columns if not c.computed])
    base.rows[receipt.record_id] = (receipt.version, [receipt.typed.get(key, "") for key in base.columns])


def forget_older(session: Session, meta: WorkbookMeta) -> None:
    """Delete the receipts of the generations before the file's: it carries a later
    generation only because their write-back arrived."""
    session.execute(delete(WorkbookReceipt).where(WorkbookReceipt.workbook_id == meta.workbook_id,
                                                  WorkbookReceipt.generation < meta.generation))
