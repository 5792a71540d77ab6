"""Making workbooks: one for a user from the database, or the empty layouts in `workbooks/`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from engine.db.installation import installation_id
from engine.db.session import Database
from engine.office.files import make_private
from engine.security.gate import record_reads as read_audited
from engine.security.roles import Actor
from engine.sheets.apply import load_rows
from engine.sheets.export import ReportData, SheetData, write_workbook
from engine.sheets.meta import WorkbookMeta
from engine.sheets.spec import (
    SheetSpec,
    WorkbookSpec,
    audited_keys,
    modules,
    sensitive_keys,
    workbook_spec,
)


def new_workbook(db: Database, actor: Actor, module: str, out: Path) -> dict[str, int]:
    """Export the records `actor` may see; returns the number of rows per sheet.

    Only the columns the actor's role sees, only the rows its sheet's `rows_for` gives them,
    drop-down lists and reports as they are for them. Handing over an audited field (a
    medical reason) writes an audit row per record naming the actor: the export then runs in
    a unit of work, and the file is written before it commits, so a failed export leaves no
    audit row for a read that never happened (and a read is never missing one).
    """
    spec = workbook_spec(module)
    for sheet in spec.sheets:
        actor.require("read", sheet.area)
    workbook_id = uuid.uuid4().hex
    audits = any(audited_keys(sheet, sheet.visible_columns(actor.sees)) for sheet in spec.sheets)
    private = any(sensitive_keys(sheet, sheet.visible_columns(actor.sees)) for sheet in spec.sheets)
    opened = db.unit_of_work(actor, source="workbook", workbook_id=workbook_id) if audits else db.reading()
    with opened as session:
        sheets = [_sheet_for(session, actor, sheet) for sheet in spec.sheets]
        lookups = spec.lookup_values(session, actor)
        meta = _meta(spec, installation_id(session), actor, workbook_id)
        reports = [ReportData(r.name, r.columns, r.shown_to(session, actor))
                   for r in spec.reports if actor.may("read", r.area)]
        if private:      # an HR workbook: readable by its owner only, before a byte is written
            make_private(out)
        write_workbook(out, meta, sheets, lookups, reports=reports)
    return {s.spec.name: len(s.records) for s in sheets}


def _sheet_for(session: Session, actor: Actor, sheet: SheetSpec) -> SheetData:
    """One sheet's columns and rows as `actor` may see them; audited values read are logged."""
    columns = sheet.visible_columns(actor.sees)
    rows = load_rows(session.connection(), sheet, sheet.rows_limit(session, actor))
    computed = sheet.computed(session, {k: v for k, (_ver, v) in rows.items()}) if sheet.computed else {}
    records = [(rid, version, {**values, **computed.get(rid, {})}) for rid, (version, values) in rows.items()]
    audited = audited_keys(sheet, columns)
    if audited:
        read_audited(session, sheet.model.__table__.name,
                     {rid: {key: values.get(key) for key in audited} for rid, _version, values in records})
    offered = sheet.prefill(session) if sheet.prefill else []
    return SheetData(sheet, columns, records, new_rows=offered)


def _meta(spec: WorkbookSpec, installation: str | None, actor: Actor | None,
          workbook_id: str = "layout") -> WorkbookMeta:
    now = datetime.now(UTC).isoformat()
    return WorkbookMeta(
        workbook_id=workbook_id, installation_id=installation,
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
