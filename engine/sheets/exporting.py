"""Making workbooks: one for a user from the database, or the empty layouts in `workbooks/`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from engine.db.installation import installation_id
from engine.db.session import Database
from engine.security.roles import Actor
from engine.sheets.apply import load_rows
from engine.sheets.export import ReportData, SheetData, write_workbook
from engine.sheets.meta import WorkbookMeta
from engine.sheets.spec import WorkbookSpec, modules, workbook_spec


def new_workbook(db: Database, actor: Actor, module: str, out: Path) -> dict[str, int]:
    """Export the records `actor` may see; returns the number of rows per sheet."""
    spec = workbook_spec(module)
    for sheet in spec.sheets:
        actor.require("read", sheet.area)
    with db.reading() as session:
        connection = session.connection()
        sheets = []
        for sheet in spec.sheets:
            columns = sheet.visible_columns(actor.sees)
            rows = load_rows(connection, sheet)
            computed = sheet.computed(session, {k: v for k, (_ver, v) in rows.items()}) if sheet.computed else {}
            records = [(rid, version, {**values, **computed.get(rid, {})}) for rid, (version, values) in rows.items()]
            offered = sheet.prefill(session) if sheet.prefill else []
            sheets.append(SheetData(sheet, columns, records, new_rows=offered))
        lookups = {name: fn(session) for name, fn in spec.lookups.items()}
        meta = _meta(spec, installation_id(session), actor)
        reports = [ReportData(r.name, r.columns, r.rows(session)) for r in spec.reports if actor.may("read", r.area)]
    write_workbook(out, meta, sheets, lookups, reports=reports)
    return {s.spec.name: len(s.records) for s in sheets}


def _meta(spec: WorkbookSpec, installation: str | None, actor: Actor | None) -> WorkbookMeta:
    now = datetime.now(UTC).isoformat()
    return WorkbookMeta(
        workbook_id=uuid.uuid4().hex if actor else "layout", installation_id=installation,
        module=spec.module, spec=spec.fingerprint, user=actor.login if actor else None,
        roles=actor.role_names if actor else [], created_at=now if actor else "", refreshed_at=now if actor else "",
    )


LAYOUT_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def write_layout(module: str, folder: Path) -> Path:
    """The empty layout of a module's workbook (every column, no records, no lists)."""
    spec = workbook_spec(module)
    path = folder / f"{module}.xlsx"
    sheets = [SheetData(s, s.columns, []) for s in spec.sheets]
    reports = [ReportData(r.name, r.columns, []) for r in spec.reports]
    write_workbook(path, _meta(spec, None, None), sheets, lookups={}, created=LAYOUT_DATE, reports=reports)
    return path


def write_layouts(folder: Path) -> list[Path]:
    return [write_layout(module, folder) for module in modules()]
