"""The records of the cross-door stock fixture (fill_stock, and their ids) and row (a Movements row picking them), for test_cross_door_inventory.py and test_addin_roundtrip.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from engine.contacts import services as contacts
from engine.inventory.models import Item, Location, Lot
from engine.inventory.services import Movement, post_movement, reverse_movement
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.integration.doors import Sheet

DAY = date(2026, 3, 2)

# The fixture's records, made in this order on a fresh database (checked there).
MAIN, EAST = 1, 2
BOLT, GLUE = 1, 2                  # BOLT-8: 5 at MAIN; GLUE: lot tracked
QUARANTINED, OLD = 1, 2            # GLUE's lots Q1 (quarantined) and OLD (expires 2026-03-31), 3 each at MAIN
AWAITING, REJECTED = 3, 4          # GLUE's lots AW (awaiting inspection) and RJ (rejected), 3 each at MAIN
CUSTOMER, SUPPLIER = 1, 2
RECEIVED, REVERSAL = 4, 5          # 2 BOLT-8 received at EAST, and its reversal


# What a person picks in the workbook's drop-downs for the fixture's records (an id the
# fixture does not have is typed as "#999").
PICKED = {"item": {BOLT: "BOLT-8 Bolt M8", GLUE: "GLUE Epoxy glue"}, "frm": {MAIN: "MAIN Main", EAST: "EAST East"},
          "lot": {QUARANTINED: "Q1 GLUE", OLD: "OLD GLUE", AWAITING: "AW GLUE", REJECTED: "RJ GLUE"},
          "customer": {CUSTOMER: "Acme Ltd"}}
PICKED["to"] = PICKED["frm"]


def picked(key: str, value):
    return PICKED[key].get(value, f"#{value}") if key in PICKED else value


def row(kind="issue", reason="issued", item=BOLT, quantity=1, **cells):
    """A new Movements row: {label: value}, records as a person picks them (by label)."""
    labels = {"frm": "From", "to": "To", "lot": "Lot", "cost": "Unit cost", "customer": "Customer",
              "supplier": "Supplier", "cost_centre": "Cost centre", "on": "Date"}
    values = {"Date": DAY, "Kind": kind, "Reason": reason, "Item": picked("item", item), "Quantity": quantity}
    return Sheet("inventory", "Movements", {**values, **{labels[k]: picked(k, v) for k, v in cells.items()}})


def fill_stock(db):
    """`stock_db`'s records, put into `db` (a database made the same way)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        customer, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Acme Ltd",
                                                              "country": "GB"})
        main, east = Location(code="MAIN", name="Main", kind="warehouse"), Location(code="EAST", name="East",
                                                                                     kind="warehouse")
        session.add_all([main, east])
        session.flush()
        bolt = Item(sku="BOLT-8", name="Bolt M8", valuation="average")
        session.add(bolt)
        session.flush()
        glue = Item(sku="GLUE", name="Epoxy glue", valuation="fifo", lot_tracked=True)
        session.add(glue)
        session.flush()
        quarantined = Lot(item_id=glue.id, lot_number="Q1", status="quarantined")
        session.add(quarantined)
        session.flush()
        old = Lot(item_id=glue.id, lot_number="OLD", expires_on=date(2026, 3, 31))
        session.add(old)
        session.flush()
        on = date(2026, 3, 1)
        post_movement(session, SYSTEM, Movement("receipt", "received", bolt.id, D(5), on, to_location_id=main.id,
                                                unit_cost=D("0.2")))
        for lot in (quarantined, old):
            post_movement(session, SYSTEM, Movement("receipt", "received", glue.id, D(3), on, to_location_id=main.id,
                                                    lot_id=lot.id, unit_cost=D(4)))
        received = post_movement(session, SYSTEM, Movement("receipt", "received", bolt.id, D(2), on,
                                                           to_location_id=east.id, unit_cost=D("0.2")))
        reversal = reverse_movement(session, SYSTEM, received.id, on)
        supplier, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Glue Works",
                                                              "country": "GB"})
        held = [Lot(item_id=glue.id, lot_number=number, status=status)
                for number, status in (("AW", "awaiting inspection"), ("RJ", "rejected"))]
        session.add_all(held)
        session.flush()
        for lot in held:
            post_movement(session, SYSTEM, Movement("receipt", "received", glue.id, D(3), on, to_location_id=main.id,
                                                    lot_id=lot.id, unit_cost=D(4), supplier_id=supplier.id))
        assert (main.id, east.id, bolt.id, glue.id, quarantined.id, old.id, customer.id, received.id, reversal.id) == (
            MAIN, EAST, BOLT, GLUE, QUARANTINED, OLD, CUSTOMER, RECEIVED, REVERSAL)
        assert ([lot.id for lot in held], supplier.id) == ([AWAITING, REJECTED], SUPPLIER)
    return db
