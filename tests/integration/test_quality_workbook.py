"""The Quality workbook on SQLite and PostgreSQL: a lot awaiting inspection is offered as blank
rows to measure, and is decided on sync from all of them or not at all; a rejected lot cannot be
issued from the Inventory workbook; plans are checked against the database at their cells; a
nonconformance follows its workflow in the sheet, its closer recorded as verifier; a role that
only reads quality cannot write it; and LibreOffice's save of the file syncs like Excel's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
import sqlalchemy as sa

from engine.contacts import services as contacts
from engine.inventory.models import Item, Location, Lot
from engine.inventory.services import TypedMovement, post_typed
from engine.quality import ncr as ncrs
from engine.quality import services
from engine.quality.models import Inspection, InspectionPlan, Nonconformance
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import (
    column_letter,
    edit_by_label,
    find_row,
    problems_of,
    read_sheet,
    rehearsed,
)

DAY = date(2026, 3, 2)
DIAMETER, FINISH = "IP-BOLT Diameter", "IP-BOLT Finish"


@pytest.fixture
def quality(db):
    """MAIN; BOLT (lot-tracked, plan IP-BOLT: a fixed sample of 3, Ac 0, Diameter 9.95-10.05 mm
    and a minor pass/fail Finish) from Bolt Supply; NUT (not tracked by lot); users wes
    (warehouse), quinn and vic (quality)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, roles in (("wes", ["warehouse"]), ("quinn", ["quality"]), ("vic", ["quality"])):
            add_user(session, SYSTEM, login, login.title(), roles, None)
        supplier, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt Supply",
                                                              "country": "GB"})
        session.add(Location(code="MAIN", name="Main", kind="warehouse"))
        session.add_all([Item(sku="BOLT", name="Bolt M10", lot_tracked=True), Item(sku="NUT", name="Nut M10")])
        session.flush()
        bolt = session.scalars(sa.select(Item.id).where(Item.sku == "BOLT")).one()
        services.add_plan(session, SYSTEM, {"code": "IP-BOLT", "item_id": bolt, "sampling": "fixed", "sample_size": 3,
                                            "accept_number": 0}, [
            {"name": "Diameter", "unit": "mm", "nominal": D(10), "lower_limit": D("9.95"), "upper_limit": D("10.05")},
            {"name": "Finish", "kind": "attribute", "defect_class": "minor"}])
    db.supplier_id, db.bolt_id = supplier.id, bolt
    return db


def receive(db, lot: str, quantity: int = 10) -> int:
    wes = actor(db, "wes")
    with db.unit_of_work(wes) as session:
        post_typed(session, wes, TypedMovement("receipt", "BOLT", D(quantity), DAY, to_location="MAIN", lot=lot,
                                               unit_cost=D(2), supplier_id=db.supplier_id))
        return session.scalars(sa.select(Lot.id).where(Lot.lot_number == lot)).one()


def actor(db, login):
    with db.reading() as session:
        return resolve_actor(session, login)


def export(db, login, path, module="quality"):
    new_workbook(db, actor(db, login), module, path)
    return path


def sync(db, settings, login, path):
    return RoundTrip(db, settings, actor(db, login)).sync(path)


def lot_status(db, lot_id) -> str:
    with db.reading() as session:
        return session.get(Lot, lot_id).status


def inspections(db) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Inspection))


def rows_of_lot(path, lot: str) -> list[tuple[int, dict]]:
    """The Inspections rows of a lot ("L1 BOLT"): (Excel row, {column label: value})."""
    rows = read_sheet(path, "Inspections")
    return [(n, dict(zip(rows[0], row, strict=True))) for n, row in enumerate(rows[1:], start=2)
            if row[rows[0].index("Lot")] == lot]


def measure(path, lot: str, diameters=(10.0, 10.0, 10.0), finishes=(True, True, True), leave_out=()):
    """Type the lot's measurements: the Diameter of each sample unit, its Finish pass/fail;
    the (sample, characteristic) pairs in `leave_out` stay blank."""
    book = openpyxl.load_workbook(path)
    sheet = book["Inspections"]
    value, passed = column_letter(path, "Inspections", "Value"), column_letter(path, "Inspections", "Pass")
    for row, cells in rows_of_lot(path, lot):
        sample, name = cells["Sample"], cells["Characteristic"]
        if (sample, name) in leave_out:
            continue
        if name == DIAMETER:
            sheet[f"{value}{row}"] = diameters[int(sample) - 1]
        else:
            sheet[f"{passed}{row}"] = finishes[int(sample) - 1]
    book.save(path)


def test_a_lot_awaiting_inspection_is_offered_as_blank_rows_and_decided_when_every_one_is_filled(
        quality, settings, tmp_path):
    first, second = receive(quality, "L1"), receive(quality, "L2")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    offered = rows_of_lot(path, "L1 BOLT")
    assert [(c["Sample"], c["Characteristic"]) for _, c in offered] == [
        (s, name) for s in (1.0, 2.0, 3.0) for name in (DIAMETER, FINISH)]          # a row per unit x characteristic
    assert {(c["ID"], c["Value"], c["Pass"]) for _, c in offered} == {("", "", "")}
    assert {c["Limits"] for _, c in offered} == {"9.95 to 10.05 mm", "pass/fail"}
    assert len(rows_of_lot(path, "L2 BOLT")) == 6
    assert sync(quality, settings, "quinn", path).status == "unchanged"           # blank rows are not posted

    measure(path, "L1 BOLT", diameters=(10.05, 9.95, 10.0))                       # exactly on a limit conforms
    result = sync(quality, settings, "quinn", path)
    assert (result.status, result.inserted) == ("applied", 6), result.as_json()
    assert (lot_status(quality, first), lot_status(quality, second)) == ("available", "awaiting inspection")
    with quality.reading() as session:
        decided = session.scalars(sa.select(Inspection)).one()
    assert (decided.lot_id, decided.accepted, decided.inspector, decided.inspected_on) == (
        first, True, "quinn", date.today())
    shown = rows_of_lot(path, "L1 BOLT")
    assert all(c["ID"] for _, c in shown)
    assert {(c["Conforms"], c["Lot accepted"], c["Lot status"]) for _, c in shown} == {(True, True, "available")}
    assert [c["Pass"] for _, c in rows_of_lot(path, "L2 BOLT")] == [""] * 6          # the other lot: still to do
    assert [row[:3] for row in read_sheet(path, "Held lots")[1:]] == [["L2", "BOLT", "awaiting inspection"]]
    assert sync(quality, settings, "quinn", path).status == "unchanged"
    measured = find_row(path, "Inspections", "ID", shown[0][1]["ID"])
    edit_by_label(path, "Inspections", measured, {"Value": 10.01})                  # a decided inspection is final
    assert [p.code for p in sync(quality, settings, "quinn", path).problems] == ["posted"]


def test_a_lot_with_a_blank_measurement_is_refused_at_its_cell_and_nothing_is_saved(quality, settings, tmp_path):
    lot = receive(quality, "L1")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    measure(path, "L1 BOLT", diameters=(10.01, 10.02, 10.03), leave_out={(3.0, FINISH)})
    told = rehearsed(RoundTrip(quality, settings, actor(quality, "quinn")), path)
    result = sync(quality, settings, "quinn", path)
    assert result.status == "rejected" and problems_of(result) == told
    [problem] = result.problems
    first_row = rows_of_lot(path, "L1 BOLT")[0][0]
    assert (problem.code, problem.cell) == ("missing", f"{column_letter(path, 'Inspections', 'Value')}{first_row}")
    assert "sample 3 of Finish" in problem.message
    assert (inspections(quality), lot_status(quality, lot)) == (0, "awaiting inspection")
    kept = rows_of_lot(path, "L1 BOLT")
    assert [c["Value"] for _, c in kept if c["Characteristic"] == DIAMETER] == [10.01, 10.02, 10.03]
    assert [c["ID"] for _, c in kept] == [""] * 6


def test_a_rejected_lot_is_quarantined_and_cannot_be_issued_from_the_inventory_workbook(quality, settings, tmp_path):
    lot = receive(quality, "L1")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    measure(path, "L1 BOLT", diameters=(10.2, 10.0, 10.0))                        # one unit out: Ac 0, rejected
    assert sync(quality, settings, "quinn", path).status == "applied"
    assert lot_status(quality, lot) == "quarantined"
    shown = dict(rows_of_lot(path, "L1 BOLT"))
    assert [c["Conforms"] for c in shown.values()] == [False, True, True, True, True, True]
    assert {(c["Lot accepted"], c["Lot status"]) for c in shown.values()} == {(False, "quarantined")}
    assert read_sheet(path, "Supplier quality")[1][:5] == ["Bolt Supply", 1.0, 1.0, 1.0, 0.0]   # 1 of 1 rejected

    stock = export(quality, "wes", tmp_path / "inventory.xlsx", module="inventory")
    row = len(read_sheet(stock, "Movements")) + 1
    edit_by_label(stock, "Movements", row, {"Date": DAY, "Kind": "issue", "Reason": "issued", "Item": "BOLT",
                                            "Quantity": 1, "From": "MAIN", "Lot": "L1 BOLT"})
    result = sync(quality, settings, "wes", stock)
    assert result.status == "rejected"
    [problem] = result.problems
    assert (problem.code, problem.cell) == ("lot_unavailable", f"{column_letter(stock, 'Movements', 'Lot')}{row}")


def test_a_plan_is_checked_against_the_database_and_its_rules_at_the_cells(quality, settings, tmp_path):
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    assert read_sheet(path, "Plans")[1][read_sheet(path, "Plans")[0].index("Inspection now")] == "normal"
    untracked = len(read_sheet(path, "Plans")) + 1
    edit_by_label(path, "Plans", untracked, {"Code": "IP-NUT", "Item": "NUT", "AQL": 1.0})
    edit_by_label(path, "Plans", untracked + 1, {"Code": "IP-BOLT-BS", "Item": "BOLT", "Supplier": "Bolt Supply",
                                                 "Sampling": "fixed", "Accept number": 0})
    result = sync(quality, settings, "quinn", path)
    assert result.status == "rejected"
    found = {(p.code, p.cell) for p in result.problems}
    assert found == {("not_lot_tracked", f"{column_letter(path, 'Plans', 'Item')}{untracked}"),
                     ("required", f"{column_letter(path, 'Plans', 'Sample size')}{untracked + 1}")}
    with quality.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InspectionPlan)) == 1

    edit_by_label(path, "Plans", untracked, {"Code": None, "Item": None, "AQL": None})   # that row given up
    edit_by_label(path, "Plans", untracked + 1, {"Sample size": 5})
    result = sync(quality, settings, "quinn", path)
    assert (result.status, result.inserted) == ("applied", 1), result.as_json()
    with quality.reading() as session:
        plan = session.scalars(sa.select(InspectionPlan).where(InspectionPlan.code == "IP-BOLT-BS")).one()
    assert (plan.supplier_key, plan.sample_size) == (quality.supplier_id, 5)
    edit_by_label(path, "Plans", untracked + 1, {"Supplier": None})              # a second plan for every supplier
    [problem] = sync(quality, settings, "quinn", path).problems
    assert (problem.code, problem.cell) == ("duplicate", f"{column_letter(path, 'Plans', 'Supplier')}{untracked + 1}")


def ncr_in(db, status: str, **fields) -> int:
    """A nonconformance about BOLT owned by quinn, moved on to `status` by the services (with
    a done action owned by quinn once it needs one)."""
    quinn = actor(db, "quinn")
    with db.unit_of_work(quinn) as session:
        found = ncrs.add_ncr(session, quinn, {"title": "Burrs on M10 bolts", "item_id": db.bolt_id, **fields})
        steps = {"investigating": {"containment": "lots on hold"},
                 "action": {"root_cause": "worn die", "root_cause_method": "5 whys"}, "verification": {}}
        for step, needs in steps.items():
            if found.status == status:
                break
            if step == "verification":
                ncrs.add_action(session, quinn, {"ncr_id": found.id, "description": "replace the die",
                                                 "owner": "quinn", "due_on": DAY, "status": "done"})
            ncrs.advance_ncr(session, quinn, found.id, step, **needs)
        return found.id


def test_the_nonconformance_workflow_is_kept_step_by_step_at_the_status_cell(quality, settings, tmp_path):
    ncr = ncr_in(quality, "open")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    row = find_row(path, "Nonconformances", "Title", "Burrs on M10 bolts")
    status = f"{column_letter(path, 'Nonconformances', 'Status')}{row}"
    edit_by_label(path, "Nonconformances", row, {"Status": "action"})                # skips investigating
    [problem] = sync(quality, settings, "quinn", path).problems
    assert (problem.code, problem.cell) == ("workflow", status) and "goes on to investigating" in problem.message
    edit_by_label(path, "Nonconformances", row, {"Status": "investigating", "Containment": "lots L1-L3 held"})
    added = len(read_sheet(path, "Nonconformances")) + 1                          # opened and moved on at once
    edit_by_label(path, "Nonconformances", added, {"Title": "Rust on nuts", "Item": "NUT", "Status": "investigating",
                                                   "Containment": "nuts on hold"})
    assert sync(quality, settings, "quinn", path).status == "applied"
    with quality.reading() as session:
        assert session.get(Nonconformance, ncr).status == "investigating"
        rust = session.scalars(sa.select(Nonconformance).where(Nonconformance.title == "Rust on nuts")).one()
    assert (rust.status, rust.owner, rust.opened_on) == ("investigating", "quinn", date.today())

    ready = ncr_in(quality, "verification")                                      # every action done
    mine = tmp_path / "quinn.xlsx"
    export(quality, "quinn", mine)
    row = find_row(mine, "Nonconformances", "ID", ready)
    edit_by_label(mine, "Nonconformances", row, {"Status": "closed"})              # by its owner: refused
    [problem] = sync(quality, settings, "quinn", mine).problems
    assert (problem.code, problem.cell) == ("verifier", f"{column_letter(mine, 'Nonconformances', 'Status')}{row}")

    theirs = export(quality, "vic", tmp_path / "vic.xlsx")
    row = find_row(theirs, "Nonconformances", "ID", ready)
    edit_by_label(theirs, "Nonconformances", row, {"Status": "closed"})
    result = sync(quality, settings, "vic", theirs)
    assert (result.status, result.updated) == ("applied", 1), result.as_json()
    with quality.reading() as session:
        closed = session.get(Nonconformance, ready)
    assert (closed.status, closed.verifier, closed.closed_on) == ("closed", "vic", date.today())
    sheet = read_sheet(theirs, "Nonconformances")
    assert sheet[row - 1][sheet[0].index("Verifier")] == "vic"
    cells = openpyxl.load_workbook(theirs)["Nonconformances"]
    title = column_letter(theirs, "Nonconformances", "Title")
    still_open = find_row(theirs, "Nonconformances", "ID", ncr)
    assert cells[f"{title}{row}"].protection.locked and not cells[f"{title}{still_open}"].protection.locked
    edit_by_label(theirs, "Nonconformances", row, {"Root cause": "a worn die, and no spare"})
    [problem] = sync(quality, settings, "vic", theirs).problems                   # closed stays closed
    assert problem.code == "workflow" and "is closed" in problem.message


def test_actions_are_added_and_done_in_the_sheet_through_the_services(quality, settings, tmp_path):
    ncr = ncr_in(quality, "action")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    row = len(read_sheet(path, "Actions")) + 1
    edit_by_label(path, "Actions", row, {"NCR": f"#{ncr}", "Description": "replace the die", "Owner": "nobody",
                                         "Due": DAY})
    [problem] = sync(quality, settings, "quinn", path).problems
    assert (problem.code, problem.cell) == ("reference", f"{column_letter(path, 'Actions', 'Owner')}{row}")
    edit_by_label(path, "Actions", row, {"Owner": "vic"})
    assert sync(quality, settings, "quinn", path).status == "applied"
    assert read_sheet(path, "Actions")[row - 1][read_sheet(path, "Actions")[0].index("NCR")] == \
        f"#{ncr} Burrs on M10 bolts"
    edit_by_label(path, "Actions", row, {"Status": "done"})
    assert sync(quality, settings, "quinn", path).status == "applied"
    with quality.reading() as session:
        [action] = ncrs.actions_of(session, ncr)
    assert (action.status, action.done_on, action.updated_by) == ("done", date.today(), "quinn")


def test_a_warehouse_clerk_reads_the_quality_workbook_but_cannot_change_it(quality, settings, tmp_path):
    receive(quality, "L1")
    path = export(quality, "wes", tmp_path / "quality.xlsx")
    assert len(rows_of_lot(path, "L1 BOLT")) == 6
    plan = find_row(path, "Plans", "Code", "IP-BOLT")
    edit_by_label(path, "Plans", plan, {"Notes": "check the thread too"})
    measure(path, "L1 BOLT")
    result = sync(quality, settings, "wes", path)
    assert result.status == "rejected"
    refused = {(p.sheet, p.code) for p in result.problems}
    assert refused == {("Plans", "read-only"), ("Inspections", "permission")}, result.as_json()
    [edit] = [p for p in result.problems if p.sheet == "Plans"]
    assert edit.cell == f"{column_letter(path, 'Plans', 'Notes')}{plan}" and "you may not change" in edit.message
    assert len([p for p in result.problems if p.sheet == "Inspections"]) == 6      # each measurement typed
    assert inspections(quality) == 0
    with quality.reading() as session:
        assert session.scalars(sa.select(InspectionPlan.notes)).one() is None


@pytest.mark.libreoffice
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)   # LibreOffice reads files: once is enough
def test_a_quality_workbook_saved_by_libreoffice_decides_the_lot_on_sync(quality, settings, tmp_path):
    from tests.libreoffice import (  # here: LibreOffice tests only
        save_with_libreoffice,
        sheets_as_rows,
    )

    lot = receive(quality, "L1")
    path = export(quality, "quinn", tmp_path / "quality.xlsx")
    measure(path, "L1 BOLT", diameters=(10.0, 10.05, 9.99), finishes=(True, False, True))
    save_with_libreoffice(path, tmp_path)
    result = sync(quality, settings, "quinn", path)
    assert (result.status, result.inserted) == ("applied", 6), result.as_json()
    assert lot_status(quality, lot) == "quarantined"                             # one failed finish: Ac 0
    opened = sheets_as_rows(path, tmp_path / "lo")["Inspections"]
    status = opened[0].index("Lot status")
    assert {row[status] for row in opened[1:7]} == {"quarantined"}
    assert sync(quality, settings, "quinn", path).status == "unchanged"


def test_editing_a_held_lot_on_the_inventory_workbook_keeps_it_held(quality, settings, tmp_path):
    """A lot's Status is quality's: shown, not typed. A clerk editing a held lot's expiry, and
    typing "available" over its status while at it, never releases it: the status is not read
    back, and the refresh shows it as it is."""
    lot = receive(quality, "L1")
    stock = export(quality, "wes", tmp_path / "inventory.xlsx", module="inventory")
    row = find_row(stock, "Lots", "Lot", "L1")
    edit_by_label(stock, "Lots", row, {"Expires": date(2027, 6, 30), "Status": "available"})
    assert sync(quality, settings, "wes", stock).status == "applied"
    with quality.reading() as session:
        held = session.get(Lot, lot)
        assert (held.status, held.expires_on) == ("awaiting inspection", date(2027, 6, 30))
    assert read_sheet(stock, "Lots")[row - 1][read_sheet(stock, "Lots")[0].index("Status")] == "awaiting inspection"
