"""Posting many movements at once: a workbook sync of 100,000 rows.

The result is the one `services.post_movement` would give posting them one by one in the
same order (a test holds the two to that), but the work is done in memory and written in
bulk: lock every cost row, balance and open FIFO layer the batch touches (in id order, as
the single path does), run the movements through the same checks and the same costing
against those in-memory figures, then write the movements, their audit rows, the new
balances, costs and layers with a handful of executemany statements.

Every refused movement is reported (not only the first); if any is refused nothing is
written, and the caller's transaction is rolled back.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.db.audit import write_audit
from engine.db.base import utcnow
from engine.db.bulk import insert_many
from engine.inventory import valuation
from engine.inventory.hooks import stock_moved
from engine.inventory.models import CostLayer, Item, ItemCost, Lot, StockBalance, StockMovement
from engine.inventory.services import AREA, Movement, balance_changes, check_movement, shortage
from engine.security.roles import Actor
from engine.sheets.apply import allocate_ids

CHUNK = 5000  # rows per bulk statement, and ids per IN (...) list


class MovementsRefused(Exception):
    """Movements of a batch that cannot be posted: index in the batch -> problems."""

    def __init__(self, refused: dict[int, list[str]]):
        self.refused = refused
        super().__init__("; ".join(p for problems in refused.values() for p in problems))


@dataclass
class _Layer:
    key: tuple                       # (received_on, id) : FIFO order; new layers sort after old ones of a day
    id: int | None
    movement: int | None
    remaining: Decimal
    unit_cost: Decimal
    changed: bool = False


def post_movements(session: Session, actor: Actor, requests: list[Movement],
                   origins: list[tuple[str, int]] | None = None) -> list[int]:
    """Post `requests` in order; returns the new movement ids. `origins` gives each one's
    (sheet, row) for the audit log when they come from a workbook."""
    actor.require("write", AREA)
    if not requests:
        return []
    state = _State(session, requests)
    refused: dict[int, list[str]] = {}
    rows: list[dict] = []
    ids = allocate_ids(session.connection(), StockMovement.__table__, len(requests))
    for n, (request, new_id) in enumerate(zip(requests, ids, strict=True)):
        item = state.items.get(request.item_id)
        if item is None:
            refused[n] = [f"no item with id {request.item_id}"]
            continue
        problems = check_movement(session, item, request)
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
        item_ids = sorted({r.item_id for r in requests})
        self.items = {i.id: i for i in _in(session, select(Item), Item.id, item_ids)}
        _in(session, select(Lot), Lot.id, sorted({r.lot_id for r in requests if r.lot_id}))  # for check_movement
        _ensure(session, ItemCost, [{"item_id": i} for i in self.items])
        self.costs = {c.item_id: [c.quantity, c.value] for c in _in(
            session, select(ItemCost).order_by(ItemCost.item_id).with_for_update(), ItemCost.item_id, list(self.items))}
        keys = sorted({(r.item_id, *key) for r in requests if r.item_id in self.items
                       for key in balance_changes(r) if key[0] is not None})
        _ensure(session, StockBalance, [{"item_id": i, "location_id": loc, "lot_key": lot} for i, loc, lot in keys])
        self.balances: dict[tuple[int, int, int], list] = {}
        for chunk in _chunks(keys):
            query = (select(StockBalance.id, StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key,
                            StockBalance.quantity)
                     .where(tuple_(StockBalance.item_id, StockBalance.location_id, StockBalance.lot_key).in_(chunk))
                     .order_by(StockBalance.id).with_for_update())
            for bid, item, location, lot, quantity in session.execute(query):
                self.balances[(item, location, lot)] = [bid, quantity, quantity]
        fifo = [i for i, item in self.items.items() if item.valuation == "fifo"]
        self.layers: dict[int, list[_Layer]] = {i: [] for i in fifo}
        for layer in _in(session, select(CostLayer).where(CostLayer.remaining > 0)
                         .order_by(CostLayer.item_id, CostLayer.received_on, CostLayer.id).with_for_update(),
                         CostLayer.item_id, fifo):
            self.layers[layer.item_id].append(_Layer((layer.received_on, 0, layer.id), layer.id, layer.movement_id,
                                                     layer.remaining, layer.unit_cost))
        self.new_layer_count = 0

    def post(self, item: Item, m: Movement, new_id: int, rows: list) -> list[str]:
        """Apply one movement to the figures; the problems if it cannot be posted."""
        if m.reverses_id is not None or m.value is not None:
            return ["a reversal is posted on its own: `backoffice stock reverse MOVEMENT_ID`"]
        changes = balance_changes(m)
        short = [(key, self.balances[(item.id, *key)][1], -delta) for key, delta in changes.items()
                 if self.balances[(item.id, *key)][1] + delta < 0]
        if short:
            return [shortage(self.session, item, key, on_hand, wanted) for key, on_hand, wanted in short]
        cost = self.costs[item.id]
        inbound = sum(changes.values(), Decimal(0))
        try:
            value = self._value(item, m, cost, inbound)
        except valuation.NotEnoughStock as exc:
            return [f"{item.sku}: the cost records hold less than the balances ({exc})"]
        for key, delta in changes.items():
            self.balances[(item.id, *key)][1] += delta
        cost[0] += inbound
        cost[1] += value
        if item.valuation == "fifo" and inbound > 0:
            self.new_layer_count += 1
            layer = _Layer((m.moved_on, 1, self.new_layer_count), None, new_id, inbound,
                           valuation.money(value / inbound))
            bisect.insort(self.layers[item.id], layer, key=lambda x: x.key)
        rows.append({**{k: getattr(m, k) for k in _FIELDS}, "id": new_id, "value": value})
        return []

    def _value(self, item: Item, m: Movement, cost: list, change: Decimal) -> Decimal:
        if change == 0:
            return Decimal(0)
        if change > 0:
            unit = m.unit_cost if m.unit_cost is not None else self._inbound_cost(item, cost)
            return valuation.money(change * unit)
        if item.valuation == "average":
            return -valuation.average_issue(cost[0], cost[1], -change)
        open_layers = [x for x in self.layers[item.id] if x.remaining > 0]
        spent, taken = valuation.fifo_issue(
            [valuation.Layer(n, x.remaining, x.unit_cost) for n, x in enumerate(open_layers)], -change)
        for n, units in taken:
            open_layers[n].remaining -= units
            open_layers[n].changed = True
        return -cost[1] if cost[0] + change == 0 else -spent

    def _inbound_cost(self, item: Item, cost: list) -> Decimal:
        """As services.inbound_cost, from the figures in memory."""
        if item.valuation == "average" and cost[0] > 0:
            return valuation.average_cost(cost[0], cost[1])
        if item.valuation == "fifo":
            newest = self.layers[item.id][-1] if self.layers[item.id] else self._newest_spent_layer(item.id)
            if newest is not None:
                return newest.unit_cost
        return item.standard_cost

    def _newest_spent_layer(self, item_id: int) -> _Layer | None:
        found = self.session.execute(select(CostLayer.unit_cost).where(CostLayer.item_id == item_id)
                                     .order_by(CostLayer.received_on.desc(), CostLayer.id.desc())).first()
        return _Layer((), None, None, Decimal(0), found[0]) if found else None

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
                [(bid, now_q) for bid, now_q, was in self.balances.values() if now_q != was])
        _update(connection, ItemCost, "item_id", ("quantity", "value"),
                [(item, q, v) for item, (q, v) in self.costs.items()])
        _update(connection, CostLayer, "id", "remaining",
                [(x.id, x.remaining) for layers in self.layers.values() for x in layers if x.id and x.changed])
        insert_many(connection, CostLayer.__table__, [
            {"item_id": row_item, "movement_id": x.movement, "received_on": x.key[0], "remaining": x.remaining,
             "unit_cost": x.unit_cost}
            for row_item, layers in self.layers.items() for x in layers if x.id is None])
        self.session.expire_all()  # the ORM's copies of what was just written are stale
        stock_moved.announce(self.session, [(row["moved_on"], row["kind"], row["value"]) for row in rows])


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


def _ensure(session: Session, model, keys: list[dict]) -> None:
    """Create the missing rows (empty) without failing on rows another writer just made."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    for chunk in _chunks(keys):
        session.execute(insert(model.__table__).values(chunk).on_conflict_do_nothing())


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
