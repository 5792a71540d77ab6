"""Sheets whose rows go through a module's services one at a time: `post_each` and
`update_each` make a SheetSpec's `post` and `update` from a service that adds or changes one
record. Each row is handed over in sheet order, the audit rows it writes name it, and every
refusal is placed at the cell of its problem's field (`refusals_of`), never read from its
text; if any row is refused, none is saved (RowsRefused, the sync rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import BackofficeError
from engine.sheets.merge import Update
from engine.sheets.spec import NewRows, RowsRefused, refusals_of


def post_each(add: Callable[[Session, Any, dict[str, Any]], Any], default: str,
               columns: Mapping[str, str] | None = None):
    """A sheet's `post`: each new row through `add(session, actor, values)`, in sheet order;
    each refusal at the cell of its problem's field (`columns` where they differ; `default`
    for a problem of the whole record)."""
    def post(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
        context, ids, refused = session.info["audit"], [], []
        for row, values in rows:
            context.posting_row = (sheet, row)
            try:
                ids.append(add(session, actor, values).id)
            except BackofficeError as exc:
                refused += refusals_of(row, exc.problems, columns, default)
            finally:
                context.posting_row = None
        if refused:
            raise RowsRefused(refused)
        return ids
    return post


def update_each(change: Callable[..., Any], columns: Mapping[str, str] | None = None):
    """A sheet's `update`: each changed row through `change(session, actor, id, version,
    changes)` (the changes as the sheet's `derive` stores them); refusals at their cells."""
    def update(session: Session, actor, sheet: str, updates: list[Update]) -> None:
        context, refused = session.info["audit"], []
        for upd in updates:
            context.posting_row = (sheet, upd.row)
            try:
                change(session, actor, upd.record_id, upd.version,
                       {k: (upd.stored or {}).get(k, v) for k, v in upd.changes.items()})
            except BackofficeError as exc:
                refused += refusals_of(upd.row, exc.problems, columns, next(iter(upd.changes), None))
            finally:
                context.posting_row = None
        if refused:
            raise RowsRefused(refused)
    return update
