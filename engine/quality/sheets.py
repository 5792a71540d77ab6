"""The Quality workbook: Plans and Characteristics (what is inspected and how), Inspections
(the measurements of lots awaiting inspection, typed into rows offered for them), Nonconformances
and Actions (the workflow, step by step), and two read-only sheets, Supplier quality and Held lots.

Why every write goes through the quality services, never a bulk insert: a plan needs a lot-tracked
item and one plan per item and supplier; an inspection is decided on all its measurements or not
at all, and deciding it quarantines or releases the lot; a nonconformance moves one step at a
time, and whoever closes it is its verifier. The sheets hold no rule of their own: rows are
checked by `rules` (the same functions the services call), and a service's refusal is marked at
the cell of its problem's field, never by reading its text. A sync is all or nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.sheets import contact_choices
from engine.errors import BackofficeError
from engine.inventory.models import Item, Lot
from engine.quality import inspections, queries, rules, sampling, services
from engine.quality import ncr as ncrs
from engine.quality.models import (
    ACTION_KINDS,
    ACTION_STATES,
    CHARACTERISTIC_KINDS,
    DEFECT_CLASSES,
    FISHBONE_CATEGORIES,
    NCR_SEVERITIES,
    NCR_STATES,
    ROOT_CAUSE_METHODS,
    SAMPLING_METHODS,
    Action,
    Characteristic,
    Inspection,
    InspectionPlan,
    Measurement,
    Nonconformance,
)
from engine.quality.services import AREA
from engine.sheets.labels import Choice, labelled
from engine.sheets.posting import post_each, update_each
from engine.sheets.spec import (
    Column,
    NewRows,
    PerUser,
    Refusals,
    ReportSheet,
    RowsRefused,
    SheetSpec,
    WorkbookSpec,
)

# -- Plans and Characteristics -------------------------------------------------------------------

def _plan_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """How each plan's next lot from its own supplier is inspected, as switching left it."""
    return {rid: {"inspection_now": inspections.severity_now(session, session.get(InspectionPlan, rid))}
            for rid in rows}


def _limits(c: Characteristic) -> str:
    """A characteristic's tolerance as the inspector reads it: "9.95 to 10.05 mm", "pass/fail"."""
    if c.kind == "attribute":
        return "pass/fail"
    lower, upper = (f"{v.normalize():f}" if v is not None else None for v in (c.lower_limit, c.upper_limit))
    span = f"{lower} to {upper}" if lower and upper else f"at least {lower}" if lower else f"at most {upper}"
    return f"{span} {c.unit}" if c.unit else span


# -- Inspections ---------------------------------------------------------------------------------

def _offer_measurements(session: Session) -> list[dict[str, Any]]:
    """A row to fill in per sample unit and characteristic of every lot awaiting inspection."""
    return [{"lot_id": task.lot.id, "sample_number": n, "characteristic_id": c.id, "limits": _limits(c)}
            for task in inspections.tasks_waiting(session)
            for n in range(1, task.sample_size + 1) for c in task.characteristics]


MEASUREMENT_COLUMNS = frozenset({"value", "passed", "sample_number", "characteristic_id"})


def inspect_rows(session: Session, actor, sheet: str, rows: NewRows) -> list[int]:
    """New Inspections rows: each lot's measurements (its rows with a value or pass/fail),
    handed to `inspections.inspect_lot` together, which decides the lot or refuses them all."""
    lots: dict[int, NewRows] = {}
    for row, values in rows:
        lots.setdefault(values["lot_id"], []).append((row, values))
    context, ids, refused = session.info["audit"], {}, []
    for lot_id, given in lots.items():
        on = next((v["inspected_on"] for _, v in given if v.get("inspected_on")), None)
        apart = [(row, "inspected_on", f"this lot's inspection is dated {on} on an earlier row: an inspection "
                                       "has one date; leave this cell empty or type the same", "inconsistent")
                 for row, v in given if v.get("inspected_on") not in (None, on)]
        if apart:
            refused += apart
            continue
        found = [rules.Found(v["sample_number"], v["characteristic_id"], v.get("value"), v.get("passed"))
                 for _, v in given]
        context.posting_row = (sheet, given[0][0])
        try:
            inspection = inspections.inspect_lot(session, actor, lot_id, found, on or date.today())
        except BackofficeError as exc:
            refused += _lot_refusals(given, exc.problems)
            continue
        finally:
            context.posting_row = None
        saved = {(n, c): mid for mid, n, c in session.execute(
            select(Measurement.id, Measurement.sample_number, Measurement.characteristic_id)
            .where(Measurement.inspection_id == inspection.id))}
        ids.update({row: saved[(v["sample_number"], v["characteristic_id"])] for row, v in given})
    if refused:
        raise RowsRefused(refused)
    return [ids[row] for row, _ in rows]


def _lot_refusals(given: NewRows, problems) -> Refusals:
    """A lot's problems at their cells: a measurement's (its `line` in the order given) at
    its row, one of the whole inspection (measurements missing) at the lot's first row."""
    refused: Refusals = []
    for p in problems:
        row = given[p.line - 1][0] if p.line and p.line <= len(given) else given[0][0]
        refused.append((row, p.field if p.field in MEASUREMENT_COLUMNS else "lot_id", p.message, p.code))
    return refused


def _measurement_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A saved measurement's lot and date (its inspection's), its characteristic's limits as
    they are now, whether it conformed when decided, and what became of the lot since."""
    wanted = {v["inspection_id"] for v in rows.values()}
    inspections = {i: (lot, on, accepted, status) for i, lot, on, accepted, status in session.execute(
        select(Inspection.id, Inspection.lot_id, Inspection.inspected_on, Inspection.accepted, Lot.status)
        .join(Lot, Lot.id == Inspection.lot_id).where(Inspection.id.in_(wanted)))} if wanted else {}
    named = {v["characteristic_id"] for v in rows.values()}
    limits = {c.id: _limits(c) for c in session.scalars(select(Characteristic).where(
        Characteristic.id.in_(named)))} if named else {}
    details = {}
    for rid, v in rows.items():
        lot, on, accepted, status = inspections[v["inspection_id"]]
        details[rid] = {"lot_id": lot, "inspected_on": on, "limits": limits.get(v["characteristic_id"]),
                        "conforms": v["conforms"], "lot_accepted": accepted, "lot_status": status}
    return details


# -- Nonconformances -----------------------------------------------------------------------------

def _open_ncr(session: Session, actor, values: dict[str, Any]) -> Nonconformance:
    """A new nonconformance (`add_ncr`); a Status typed beyond open is its first step."""
    found = ncrs.add_ncr(session, actor, values)
    if values.get("status") not in (None, found.status):
        ncrs.update_ncr(session, actor, found.id, None, {"status": values["status"]})
    return found


# The closer is the verifier: a refusal of who verifies is about the step to closed.
NCR_COLUMNS = {"verifier": "status"}


def _ncr_details(session: Session, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: {"verifier": v["verifier"], "closed_on": v["closed_on"]} for rid, v in rows.items()}


def _ncr_choices(session: Session) -> list[Choice]:
    """A nonconformance by its number and title: "#12 Burrs on M10 bolts"."""
    return [Choice(i, f"#{i} {title}") for i, title in
            session.execute(select(Nonconformance.id, Nonconformance.title).order_by(Nonconformance.id))]


# -- the read-only sheets ------------------------------------------------------------------------

def _supplier_rows(session: Session, actor) -> list[list[Any]]:
    return [[r["supplier"], r["inspected"], r["rejected"], r["rejection_rate"], r["open_ncrs"], r["lowest_cpk"]]
            for r in queries.supplier_quality(session, actor)]


def _held_rows(session: Session, actor) -> list[list[Any]]:
    return [[r["lot"], r["sku"], r["status"], r["on_hand"], r["since"]] for r in queries.held_lots(session, actor)]


def quality_workbook() -> WorkbookSpec:
    plans = SheetSpec(
        name="Plans", model=InspectionPlan, area=AREA, order_by=("code",),
        post=post_each(services.add_plan, default="code"),
        update=update_each(services.update_plan),
        columns=(
            Column("code", "Code", required=True, unique=True, set_once=True, width=18),
            Column("item_id", "Item", type="integer", required=True, lookup="items", references="items",
                   labels="items", width=26),
            Column("supplier_id", "Supplier", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=22),
            Column("sampling", "Sampling", type="choice", choices=SAMPLING_METHODS, width=10),
            Column("level", "Level", type="choice", choices=sampling.INSPECTION_LEVELS, width=7),
            Column("aql", "AQL", type="decimal", width=7),
            Column("sample_size", "Sample size", type="integer", width=10),
            Column("accept_number", "Accept number", type="integer", width=10),
            Column("switching", "Switching", type="bool", width=10),
            Column("active", "Active", type="bool", width=8),
            Column("notes", "Notes", width=28),
            Column("inspection_now", "Inspection now", computed=True, width=14),
        ),
        derive=rules.plan_defaults, rule=rules.check_plan, computed=_plan_details,
    )
    characteristics = SheetSpec(
        name="Characteristics", model=Characteristic, area=AREA, order_by=("plan_id", "id"),
        post=post_each(services.add_characteristic, default="name"),
        update=update_each(services.update_characteristic),
        columns=(
            Column("plan_id", "Plan", type="integer", required=True, lookup="plans", references="plans",
                   labels="plans", width=18),
            Column("name", "Name", required=True, width=22),
            Column("kind", "Kind", type="choice", choices=CHARACTERISTIC_KINDS, width=10),
            Column("unit", "Unit", width=8),
            Column("nominal", "Nominal", type="decimal", width=10),
            Column("lower_limit", "Lower limit", type="decimal", width=10),
            Column("upper_limit", "Upper limit", type="decimal", width=10),
            Column("defect_class", "Class", type="choice", choices=DEFECT_CLASSES, width=9),
        ),
        derive=rules.characteristic_defaults, rule=rules.check_characteristic,
    )
    inspections = SheetSpec(
        name="Inspections", model=Measurement, area=AREA, can_update=False, post=inspect_rows,
        prefill=_offer_measurements, new_rows_need=("value", "passed"), grouped_by="lot_id",
        order_by=("inspection_id", "id"),
        columns=(
            Column("lot_id", "Lot", type="integer", entered=True, required=True, lookup="lots", references="lots",
                   labels="lots", width=18),
            Column("inspected_on", "Date", type="date", entered=True, width=11),
            Column("sample_number", "Sample", type="integer", required=True, width=8),
            Column("characteristic_id", "Characteristic", type="integer", required=True, lookup="characteristics",
                   references="characteristics", labels="characteristics", width=36),
            Column("limits", "Limits", computed=True, width=18),
            Column("value", "Value", type="decimal", width=10),
            Column("passed", "Pass", type="bool", width=7),
            Column("conforms", "Conforms", type="bool", computed=True, width=9),
            Column("lot_accepted", "Lot accepted", type="bool", computed=True, width=11),
            Column("lot_status", "Lot status", computed=True, width=18),
        ),
        computed=_measurement_details,
    )
    nonconformances = SheetSpec(
        name="Nonconformances", model=Nonconformance, area=AREA, order_by=("opened_on", "id"),
        post=post_each(_open_ncr, default="title", columns=NCR_COLUMNS),
        update=update_each(ncrs.update_ncr, columns=NCR_COLUMNS),
        settled=lambda row: row.get("status") == "closed",
        columns=(
            Column("title", "Title", required=True, width=30),
            Column("description", "Description", width=34),
            Column("severity", "Severity", type="choice", choices=NCR_SEVERITIES, width=9),
            Column("status", "Status", type="choice", choices=NCR_STATES, width=13),
            Column("opened_on", "Opened", type="date", width=11),
            Column("owner", "Owner", width=10),
            Column("lot_id", "Lot", type="integer", lookup="lots", references="lots", labels="lots", width=16),
            Column("item_id", "Item", type="integer", lookup="items", references="items", labels="items", width=22),
            Column("supplier_id", "Supplier", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=20),
            Column("customer_id", "Customer", type="integer", lookup="contacts", references="contacts",
                   labels="contacts", width=20),
            Column("containment", "Containment", width=28),
            Column("root_cause_method", "Root-cause method", type="choice", choices=ROOT_CAUSE_METHODS, width=12),
            Column("cause_category", "Cause category", type="choice", choices=FISHBONE_CATEGORIES, width=13),
            Column("root_cause", "Root cause", width=28),
            Column("verifier", "Verifier", computed=True, width=10),
            Column("closed_on", "Closed", type="date", computed=True, width=11),
        ),
        derive=rules.ncr_defaults, computed=_ncr_details,
    )
    actions = SheetSpec(
        name="Actions", model=Action, area=AREA, order_by=("ncr_id", "id"),
        post=post_each(ncrs.add_action, default="description"),
        update=update_each(ncrs.update_action),
        columns=(
            Column("ncr_id", "NCR", type="integer", required=True, lookup="ncrs", references="ncrs",
                   labels="ncrs", width=26),
            Column("kind", "Kind", type="choice", choices=ACTION_KINDS, width=11),
            Column("description", "Description", required=True, width=34),
            Column("owner", "Owner", required=True, width=10),
            Column("due_on", "Due", type="date", required=True, width=11),
            Column("status", "Status", type="choice", choices=ACTION_STATES, width=8),
            Column("done_on", "Done on", type="date", width=11),
        ),
        derive=rules.action_defaults,
    )
    return WorkbookSpec(
        module="quality", title="Quality", sheets=(plans, characteristics, inspections, nonconformances, actions),
        lookups={
            "items": labelled(lambda: select(Item.id, Item.sku, Item.name).order_by(Item.sku)),
            "contacts": contact_choices,
            # a lot by its number and its item's SKU, as the Inventory workbook names it
            "lots": labelled(lambda: select(Lot.id, Lot.lot_number, Item.sku).join(Item, Item.id == Lot.item_id)
                             .order_by(Item.sku, Lot.lot_number)),
            "plans": labelled(lambda: select(InspectionPlan.id, InspectionPlan.code).order_by(InspectionPlan.code)),
            "characteristics": labelled(lambda: select(Characteristic.id, InspectionPlan.code, Characteristic.name)
                                        .join(InspectionPlan, InspectionPlan.id == Characteristic.plan_id)
                                        .order_by(InspectionPlan.code, Characteristic.id)),
            "ncrs": _ncr_choices,
        },
        reports=(
            ReportSheet("Supplier quality", AREA, (("Supplier", 28), ("Lots inspected", 13), ("Rejected", 10),
                                                   ("Rejection rate", 13), ("Open NCRs", 10), ("Lowest Cpk", 11)),
                        PerUser(_supplier_rows), formats={"Rejection rate": "percent", "Lowest Cpk": "decimal"}),
            ReportSheet("Held lots", AREA, (("Lot", 16), ("SKU", 14), ("Status", 20), ("On hand", 11),
                                            ("Since", 11)), PerUser(_held_rows), formats={"On hand": "quantity"}),
        ),
    )

