"""Posting many movements at once: a workbook sync of 100,000 rows.

The result is the one `services.post_movement` would give posting them one by one in the
same order (a test holds the two to that), because the work is the same: each movement goes
through the same check (`services.check_request`) and the same costing (`costing.apply`).
Only where the figures are held differs: lock every cost row, balance and open FIFO layer
the batch touches (in id order, as the single path does), post the movements one by one
against those figures in memory, then write the movements, their audit rows, the new
balances, costs and layers with a handful of executemany statements.

Every refused movement is reported (not only the first); if any is refused nothing is
written, and the caller's transaction is rolled back.
"""

from __future__ import annotations

import bisect
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.db.audit import write_audit
from engine.db.base import utcnow
from engine.db.bulk import insert_many
from engine.db.upsert import insert_missing
from engine.errors import ValidationFailed
from engine.inventory import costing
from engine.inventory.costing import balance_changes
from engine.inventory.hooks import lots_received, stock_moved
from engine.inventory.models import (
    CostLayer,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockMovement,
)
from engine.inventory.services import AREA, Known, Movement, check_request, shortage
from engine.problems import Problem
from engine.security.roles import Actor
from engine.sheets.apply import allocate_ids

CHUNK = 5000  # rows per bulk statement, and ids per IN (...) list


class MovementsRefused(ValidationFailed):
    """Movements of a batch that cannot be posted: `refused` maps each one's index in the
    batch to its problems; `problems` lists them all, each with its line (index + 1)."""

    def __init__(self, refused: dict[int, list[Problem]]):
        self.refused = refused
        super().__init__([Problem(p.field, p.code, p.message, n + 1)
                          for n, problems in sorted(refused.items()) for p in problems])


class _Held:
    """A balance in memory: its row id, its quantity now and as loaded."""

    __slots__ = ("id", "quantity", "loaded")

    def __init__(self, row_id: int, quantity: Decimal):
        self.id, self.quantity, self.loaded = row_id, quantity, quantity


class _Layer:
    """A FIFO layer in memory; `key` is its FIFO order: (received_on, 0, id) for stored
    layers, (received_on, 1, n) for new ones, so new layers sort after old ones of a day."""

    __slots__ = ("key", "id", "movement", "remaining", "loaded", "unit_cost")

    def __init__(self, key: tuple, layer_id: int | None, movement: int | None, remaining: Decimal,
                 unit_cost: Decimal):
        self.key, self.id, self.movement, self.unit_cost = key, layer_id, movement, unit_cost
        self.remaining = self.loaded = remaining


class _Figures:
    """One item's figures in memory (see costing.Figures)."""

    __slots__ = ("state", "item_id", "quantity", "value", "layers", "posting")

    def __init__(self, state: _State, item_id: int, quantity: Decimal, value: Decimal):
        self.state, self.item_id, self.quantity, self.value = state, item_id, quantity, value
        self.layers: list[_Layer] = []
        self.posting: int | None = None     # the id of the movement being posted

    def balance(self, key: tuple[int, int]) -> _Held:
        return self.state.balances[(self.item_id, *key)]

    def open_layers(self) -> list[_Layer]:
        return [x for x in self.layers if x.remaining > 0]

    def newest_unit_cost(self) -> Decimal | None:
        if self.layers:
            return self.layers[-1].unit_cost
        found = self.state.session.execute(select(CostLayer.unit_cost).where(CostLayer.item_id == self.item_id)
                                           .order_by(CostLayer.received_on.desc(), CostLayer.id.desc())).first()
        return found[0] if found else None

    def own_layer(self, movement_id: int) -> _Layer | None:
        return next((x for x in self.layers if x.movement == movement_id), None)

    def add_layer(self, received_on: date, remaining: Decimal, unit_cost: Decimal) -> None:
        self.state.new_layer_count += 1
        bisect.insort(self.layers, _Layer((received_on, 1, self.state.new_layer_count), None, self.posting,
                                          remaining, unit_cost), key=lambda x: x.key)


class _Loaded(Known):
    """The lots, locations and contacts a batch names, loaded at once (see services.Known)."""

    def __init__(self, session: Session, requests: list[Movement]):
        super().__init__(session)
        self.lots = {lot.id: lot for lot in _in(session, select(Lot), Lot.id,
                                                  sorted({r.lot_id for r in requests if r.lot_id is not None}))}
        places = sorted({p for r in requests for p in (r.from_location_id, r.to_location_id) if p is not None})
        self.locations = {i for i, in _rows(session, select(Location.id), Location.id, places)}
        contacts = sorted({c for r in requests for c in (r.supplier_id, r.customer_id) if c is not None})
        self.contacts = {i for i, in _rows(session, select(Contact.id), Contact.id, contacts)}

    def lot(self, lot_id: int) -> Lot | None:
        return self.lots.get(lot_id)

    def location(self, location_id: int) -> bool:
        return location_id in self.locations

    def contact(self, contact_id: int) -> bool:
        return contact_id in self.contacts


def post_movements(session: Session, actor: Actor, requests: list[Movement],
                   origins: list[tuple[str, int]] | None = None, *, checked: bool = False) -> list[int]:
    """Post `requests` in order; returns the new movement ids. `origins` gives each one's
    (sheet, row) for the audit log when they come from a workbook. `checked`: each request
    has passed `rules.check_movement` already (see `services.check_request`)."""
    actor.require("write", AREA)
    if not requests:
        return []
    state = _State(session, requests)
    known = _Loaded(session, requests)
    refused: dict[int, list[Problem]] = {}
    rows: list[dict] = []
    ids = allocate_ids(session.connection(), StockMovement.__table__, len(requests))
    for n, (request, new_id) in enumerate(zip(requests, ids, strict=True)):
        item = state.items.get(request.item_id)
        problems = check_request(known, item, request, checked=checked)
        if not problems:
            problems = state.post(item, request, new_id, rows)
        if problems:
            refused[n] = problems
    if refused:
        raise MovementsRefused(refused)
    state.write(actor, rows, origins)
    return ids


class _State:
    """The figures a batch changes, locked and held in memory while it is worked out."""

    def __init__(self, session: Session, requests: list[Movement]):
        self.session = session
        item_ids = sorted({r.item_id for r in requests if r.item_id is not None})
        self.items = {i.id: i for i in _in(session, select(Item), Item.id, item_ids)}
        _ensure(session, ItemCost, [{"item_id": i} for i in self.items])
        self.figures = {c.item_id: _Figures(self, c.item_id, c.quantity, c.value) for c in _in(
            session, select(ItemCost).order_by(ItemCost.item_id).with_for_update(), ItemCost.item_id, list(self.items))}
        keys = sorted({(r.item_id, *key) for r in requests if r.item_id in self.items
                       for key in balance_changes(r) if key[0] is not None})
        _ensure(session, StockBalance, [{"item_id": i, "location_id": loc, "lot_key": lot} for i, loc, lot in keys])
        self.balances: dict[tuple[int, int, int], _Held] = {}
        for chunk in _chunks(keys):
            query = (select(StockBalance.id, StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key,
                            StockBalance.quantity)
                     .where(tuple_(StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key).in_(chunk))
                     .order_by(StockBalance.id).with_for_update())
            for bid, item, location, lot, quantity in session.execute(query):
                self.balances[(item, location, lot)] = _Held(bid, quantity)
        fifo = [i for i, item in self.items.items() if item.valuation == "fifo"]
        for layer in _in(session, select(CostLayer).where(CostLayer.remaining > 0)
                         .order_by(CostLayer.item_id, CostLayer.received_on, CostLayer.id).with_for_update(),
                         CostLayer.item_id, fifo):
            self.figures[layer.item_id].layers.append(_Layer((layer.received_on, 0, layer.id), layer.id,
                                                             layer.movement_id, layer.remaining, layer.unit_cost))
        self.new_layer_count = 0

    def post(self, item: Item, m: Movement, new_id: int, rows: list) -> list[Problem]:
        """Apply one movement to the figures; the problems if it cannot be posted."""
        if m.reverses_id is not None or m.value is not None:
            return [Problem("reverses_id", "invalid", "a reversal is posted on its own: "
                                                      "`backoffice stock reverse MOVEMENT_ID`")]
        figures = self.figures[item.id]
        figures.posting = new_id
        try:
            value = costing.apply(item, figures, m)
        except costing.Short as short:
            return [shortage(self.session, item, place) for place in short.places]
        except costing.Uncostable as refused:
            return [refused.problem]
        rows.append({**{k: getattr(m, k) for k in _FIELDS}, "id": new_id, "value": value})
        return []

    def write(self, actor: Actor, rows: list[dict], origins: list[tuple[str, int]] | None) -> None:
        connection, now = self.session.connection(), utcnow()
        common = {"version": 1, "created_at": now, "updated_at": now, "updated_by": actor.login}
        for start in range(0, len(rows), CHUNK):  # a chunk at a time: audit rows are not all held at once
            chunk = rows[start:start + CHUNK]
            insert_many(connection, StockMovement.__table__, [{**row, **common} for row in chunk])
            audit = []
            for n, row in enumerate(chunk, start=start):
                entry = {"table_name": "stock_movements", "record_id": row["id"], "action": "insert",
                         "changes": {k: (None, v) for k, v in row.items() if v is not None and k != "id"}}
                if origins is not None:
                    entry["sheet"], entry["row_number"] = origins[n]
                audit.append(entry)
            write_audit(connection, self.session.info["audit"], audit)
        _update(connection, StockBalance, "id", "quantity",
                [(x.id, x.quantity) for x in self.balances.values() if x.quantity != x.loaded])
        _update(connection, ItemCost, "item_id", ("quantity", "value"),
                [(item, f.quantity, f.value) for item, f in self.figures.items()])
        layers = [x for f in self.figures.values() for x in f.layers]
        _update(connection, CostLayer, "id", "remaining",
                [(x.id, x.remaining) for x in layers if x.id and x.remaining != x.loaded])
        insert_many(connection, CostLayer.__table__, [
            {"item_id": f.item_id, "movement_id": x.movement, "received_on": x.key[0], "remaining": x.remaining,
             "unit_cost": x.unit_cost}
            for f in self.figures.values() for x in f.layers if x.id is None])
        self.session.expire_all()  # the ORM's copies of what was just written are stale
        stock_moved.announce(self.session, [(row["moved_on"], row["kind"], row["value"]) for row in rows])
        received = {row["lot_id"]: row["supplier_id"] for row in rows
                    if row["kind"] == "receipt" and row["lot_id"] is not None and row["reverses_id"] is None}
        if received:
            lots_received.announce(self.session, list(received.items()))


_FIELDS = ("moved_on", "kind", "reason", "item_id", "quantity", "from_location_id", "to_location_id", "lot_id",
           "unit_cost", "supplier_id", "customer_id", "cost_centre", "reference", "reverses_id")


def _chunks(values: list) -> list[list]:
    return [values[n:n + CHUNK] for n in range(0, len(values), CHUNK)]


def _in(session: Session, query, column, values: list) -> list[Any]:
    """ORM objects whose `column` is in `values`, a chunk at a time (bounded IN lists)."""
    found = []
    query = query.execution_options(populate_existing=True)  # what is in the database now, not a stale copy
    for chunk in _chunks(values):
        found += session.scalars(query.where(column.in_(chunk))).all()
    return found


def _rows(session: Session, query, column, values: list) -> list[Any]:
    """Rows whose `column` is in `values`, a chunk at a time."""
    found = []
    for chunk in _chunks(values):
        found += session.execute(query.where(column.in_(chunk))).all()
    return found


def _ensure(session: Session, model, keys: list[dict]) -> None:
    """Create the missing rows (empty) without failing on rows another writer just made."""
    for chunk in _chunks(keys):
        insert_missing(session, model.__table__, chunk)


def _update(connection, model, key: str, columns, rows: list[tuple]) -> None:
    """UPDATE model SET columns WHERE key = ..., one executemany per chunk."""
    columns = (columns,) if isinstance(columns, str) else columns
    if not rows:
        return
    table = model.__table__
    statement = update(table).where(table.c[key] == bindparam("_key")).values(
        **{c: bindparam(f"_{c}") for c in columns})
    for chunk in _chunks(rows):
        connection.execute(statement, [{"_key": r[0], **{f"_{c}": v for c, v in zip(columns, r[1:], strict=True)}}
                                       for r in chunk])
