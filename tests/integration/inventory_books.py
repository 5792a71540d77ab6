"""The Inventory workbook as its tests use it: export one as a user, type a movement into it, sync it."""

from __future__ import annotations

from engine.security.users import resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, read_sheet


def actor(db, login):
    with db.reading() as session:
        return resolve_actor(session, login)


def export(db, login, path):
    new_workbook(db, actor(db, login), "inventory", path)
    return path


def add_movement(path, **cells):
    """Type a new movement into the first empty row of the Movements sheet."""
    row = len(read_sheet(path, "Movements")) + 1
    labels = {"on": "Date", "kind": "Kind", "reason": "Reason", "item": "Item", "quantity": "Quantity",
              "frm": "From", "to": "To", "cost": "Unit cost"}
    edit_by_label(path, "Movements", row, {labels[k]: v for k, v in cells.items()})
    return row


def sync(db, settings, login, path):
    return RoundTrip(db, settings, actor(db, login)).sync(path)
