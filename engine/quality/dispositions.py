"""Dispositions of held lots: what the quality role decides for a lot awaiting inspection or
quarantined (release, rework, scrap, return to its supplier), inside the caller's unit of
work, with the stock movements scrapping and returning post.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.inventory.models import Lot, StockBalance
from engine.inventory.services import Movement, post_movement
from engine.problems import Problem
from engine.quality import rules
from engine.quality.models import Disposition
from engine.quality.services import AREA, lot_supplier
from engine.security.roles import SYSTEM, Actor

# -- dispositions ------------------------------------------------------------------------------

def dispose(session: Session, actor: Actor, lot_id: int, decision: str, reason: str, on: date) -> Disposition:
    """Release, rework, scrap or return a held lot (the quality role decides). Scrapping and
    returning post the stock movements, as the engine on the quality officer's behalf (the
    quality role need not write inventory; the audit log names the officer)."""
    actor.require("write", AREA)
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"there is no lot #{lot_id}", "lot_id")
    problems = rules.check_disposition(lot.status, lot.lot_number, decision, reason)
    supplier = lot_supplier(session, lot.id) if decision == "return" else None
    if decision == "return" and supplier is None:
        problems.append(Problem("decision", "no_supplier", f"lot {lot.lot_number} was not received from a "
                                                           "supplier on record: scrap it, or record the supplier"))
    if problems:
        raise ValidationFailed(problems)
    before = lot.status
    held = list(session.execute(select(StockBalance.location_id, StockBalance.quantity).where(
        StockBalance.lot_key == lot.id, StockBalance.quantity > 0).order_by(StockBalance.location_id)))
    quantity = sum((q for _, q in held), Decimal(0))
    lot.status = {"release": "available", "rework": "awaiting inspection"}.get(decision, "rejected")
    lot.updated_by = actor.login
    session.flush()
    record = Disposition(lot_id=lot.id, decided_on=on, decision=decision, reason=reason.strip(),
                         status_before=before, quantity=quantity if decision in ("scrap", "return") else Decimal(0),
                         updated_by=actor.login)
    session.add(record)
    session.flush()
    reference = f"quality disposition #{record.id}: {decision} by {actor.login}"[:200]
    for location, held_there in held if decision in ("scrap", "return") else ():
        if decision == "scrap":
            request = Movement("adjustment", "scrapped", lot.item_id, -held_there, on, from_location_id=location,
                               lot_id=lot.id, reference=reference)
        else:
            request = Movement("issue", "returned", lot.item_id, held_there, on, from_location_id=location,
                               lot_id=lot.id, supplier_id=supplier, reference=reference)
        post_movement(session, SYSTEM, request)
    return record
