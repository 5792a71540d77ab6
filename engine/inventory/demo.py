"""Sample stock for the demo: three warehouses with bins, about 200 items and a year of
movements, so the on-hand, valuation and reorder reports have something real to show.

The year is simulated day by day and every movement goes through the stock services (as the
system, in batches: `batch.post_movements`, which gives what posting them one by one would): the balances, cost layers and audit log come out as
production would build them. A running tally of what is where, kept here alongside, is what
stops any issue asking for more than is on hand. Items are reordered at their reorder point
and arrive after a lead time, so the items with an order still on its way end the year at or
below their point and fill the reorder list. The dates end on a fixed day, not today, so
every run (seeded with `engine.demo.SEED`) posts the same movements.

Chemicals and raw materials are tracked by lot, every delivery a lot of its own. A module
whose own sample data acts on lots as the days pass (quality holds, inspects and disposes of
them) listens to the year's two demo hooks (`hooks.demo_year_starting`, `demo_day_starting`):
the year then posts its queue whenever the listener asks, reads back what it did, and takes
stock only from lots that are available, as the services would insist.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.demo import SEED, DemoSummary
from engine.inventory.batch import post_movements
from engine.inventory.hooks import demo_day_starting, demo_year_starting
from engine.inventory.models import Item, Location, Lot, StockBalance
from engine.inventory.services import Count, Movement, post_stock_take
from engine.security.roles import SYSTEM

END = date(2026, 11, 27)            # the demo's "today"
START = END - timedelta(days=364)   # a year of history, END included
STOCK_TAKE = date(2026, 9, 30)      # quarter end: the central warehouse is counted

DEPOT_BINS = {"A": "Shelving A", "B": "Shelving B", "C": "Pallet racking"}
WAREHOUSES = {"MAIN": ("Central warehouse", {"A": "Aisle A, small parts", "B": "Aisle B, boxed goods",
                                             "C": "Bulk and long goods", "HAZ": "Hazardous goods store"}),
              "NORTH": ("North depot", DEPOT_BINS), "SOUTH": ("South depot", DEPOT_BINS)}
# category: (bin suffix, who takes the stock: "sold" to customers, else the cost centres)
CATEGORIES = {"Fasteners": ("A", "sold"), "Electrical": ("A", "sold"), "Packaging": ("C", "consumed"),
              "Raw materials": ("C", "consumed"), "Chemicals": ("HAZ", "consumed"), "Safety": ("B", "issued"),
              "Tools": ("B", "issued"), "Spares": ("B", "issued"), "Cleaning": ("B", "issued")}
COST_CENTRES = {"consumed": ["Production", "Assembly", "Dispatch"],
                "issued": ["Maintenance", "Production", "Facilities", "Quality lab", "Dispatch"]}
# Tracked by lot (each delivery a lot of its own): the chemicals, whose lots expire, and the raw
# materials, whose lots are the mills' heats and casts. Neither is ever kept in a depot.
LOT_TRACKED = ("Chemicals", "Raw materials")
# (category, SKU prefix, unit, unit cost range in cents, name, variants)
CATALOGUE = [
    ("Fasteners", "BLT", "box", 850, 3400, "Hex bolt {} zinc, box of 100", ["M6x20", "M6x30", "M8x25", "M8x40", "M10x50", "M10x60", "M12x80"]),
    ("Fasteners", "NUT", "box", 400, 1900, "Hex nut {} A2 stainless, box of 200", ["M4", "M5", "M6", "M8", "M10", "M12", "M16"]),
    ("Fasteners", "WSH", "box", 300, 1200, "Flat washer {} DIN 125, box of 500", ["M5", "M6", "M8", "M10", "M12", "M16"]),
    ("Fasteners", "SCR", "box", 650, 2400, "Wood screw {} Torx, box of 200", ["4x30", "4x40", "5x50", "5x60", "6x80"]),
    ("Fasteners", "RIV", "box", 900, 2900, "Blind rivet {} aluminium, box of 500", ["3.2x8", "4.0x10", "4.8x12"]),
    ("Electrical", "CBL", "m", 95, 690, "Rubber cable H07RN-F {}", ["3G1.5", "3G2.5", "5G1.5", "5G2.5", "5G4"]),
    ("Electrical", "NYM", "m", 60, 310, "Installation cable NYM-J {}", ["3x1.5", "3x2.5", "5x1.5", "5x2.5"]),
    ("Electrical", "MCB", "each", 420, 1650, "Circuit breaker {} 1P 6 kA", ["B6", "B10", "B16", "B20", "C6", "C10", "C16", "C20", "C32"]),
    ("Electrical", "CTR", "each", 1800, 6400, "Contactor {} 230 V coil", ["9 A", "12 A", "18 A", "25 A"]),
    ("Electrical", "LED", "each", 2400, 5900, "LED panel 600x600 {}", ["3000 K 36 W", "4000 K 36 W", "4000 K 40 W"]),
    ("Electrical", "TRM", "box", 1100, 3900, "Terminal block {}, box of 50", ["2.5 mm²", "4 mm²", "6 mm²", "10 mm²"]),
    ("Electrical", "TIE", "box", 250, 1400, "Cable tie {} black, box of 100", ["2.5x100", "3.6x200", "4.8x300", "7.6x450"]),
    ("Packaging", "CTN", "each", 45, 420, "Carton {} double wall", ["200x150x100", "300x200x150", "400x300x200", "500x400x300", "600x400x400", "800x600x400", "1200x800x600"]),
    ("Packaging", "FLM", "each", 890, 1990, "Stretch film 500 mm x 300 m, {}", ["17 µm", "23 µm", "pre-stretched"]),
    ("Packaging", "TAP", "box", 2900, 6900, "Packing tape {}, box of 36", ["brown 48 mm", "clear 48 mm", "FRAGILE 50 mm"]),
    ("Packaging", "BUB", "m", 40, 180, "Bubble wrap {}", ["500 mm", "1000 mm", "1500 mm"]),
    ("Packaging", "BAG", "box", 1200, 4800, "Zip bag {} mm, box of 1000", ["100x150", "150x200", "200x300", "300x400"]),
    ("Packaging", "LBL", "box", 1900, 5200, "Thermal label {} mm, box of 12 rolls", ["100x150", "100x50", "57x32"]),
    ("Raw materials", "STF", "m", 290, 1490, "Steel flat bar {} S235", ["20x3", "30x5", "40x5", "50x8", "60x10"]),
    ("Raw materials", "STR", "m", 240, 1990, "Steel round bar {} S355", ["Ø10", "Ø16", "Ø20", "Ø25", "Ø32"]),
    ("Raw materials", "ALS", "kg", 520, 890, "Aluminium sheet {} EN AW-5754", ["1 mm", "2 mm", "3 mm", "5 mm"]),
    ("Raw materials", "ALP", "m", 450, 2200, "Aluminium profile {}", ["20x20 slot 6", "30x30 slot 8", "40x40 slot 8", "40x80 slot 8"]),
    ("Raw materials", "CUW", "kg", 1150, 1690, "Enamelled copper wire {}", ["0.5 mm", "1.0 mm", "1.5 mm"]),
    ("Raw materials", "PPG", "kg", 140, 290, "Polypropylene granulate, {}", ["natural", "black", "white"]),
    ("Raw materials", "SST", "m", 690, 2400, "Stainless tube {} 1.4301", ["12x1", "20x1.5", "25x2", "40x2"]),
    ("Chemicals", "ADH", "kg", 2400, 6900, "Epoxy adhesive 2K, {}", ["fast cure", "structural", "high temperature"]),
    ("Chemicals", "PWC", "kg", 690, 1490, "Powder coating RAL {}", ["9005 black", "9010 white", "7016 grey", "5010 blue", "3000 red"]),
    ("Chemicals", "GRS", "kg", 890, 2900, "Grease, {}", ["lithium EP2", "food grade H1", "high temperature"]),
    ("Chemicals", "OIL", "kg", 390, 990, "Cutting oil, {}", ["water soluble", "neat"]),
    ("Chemicals", "SIL", "each", 450, 1200, "Silicone sealant 310 ml, {}", ["clear", "white", "grey"]),
    ("Chemicals", "DGR", "kg", 290, 790, "Degreaser, {}", ["water based", "solvent based"]),
    ("Chemicals", "TLK", "each", 1290, 2900, "Threadlocker 50 ml, {}", ["medium strength", "high strength"]),
    ("Safety", "GLV", "box", 690, 1490, "Nitrile gloves size {}, box of 100", ["S", "M", "L", "XL"]),
    ("Safety", "GLC", "each", 390, 990, "Cut-resistant gloves level C, size {}", ["7", "8", "9", "10", "11"]),
    ("Safety", "GLS", "each", 290, 1290, "Safety glasses, {}", ["clear", "tinted", "over-spectacle"]),
    ("Safety", "HLM", "each", 890, 1900, "Safety helmet EN 397, {}", ["white", "yellow", "blue"]),
    ("Safety", "HVV", "each", 250, 690, "Hi-vis vest size {}", ["S", "M", "L", "XL", "XXL", "3XL"]),
    ("Safety", "BTS", "each", 3900, 8900, "Safety boots S3 size {}", ["40", "41", "42", "43", "44", "45", "46"]),
    ("Tools", "DRL", "each", 120, 1490, "HSS drill bit {} mm", ["3", "4", "5", "6", "8", "10", "12"]),
    ("Tools", "DSC", "each", 90, 390, "Cutting disc 125 x 1.0 mm, {}", ["inox", "steel"]),
    ("Tools", "FLP", "each", 190, 490, "Flap disc 125 mm, grit {}", ["40", "60", "80", "120"]),
    ("Spares", "BRG", "each", 290, 2400, "Ball bearing {} 2RS", ["6001", "6002", "6003", "6201", "6202", "6203", "6204", "6205", "6206", "6305"]),
    ("Spares", "VBT", "each", 690, 2400, "V-belt {}", ["SPZ 1000", "SPZ 1250", "SPA 1500", "SPB 2000"]),
    ("Spares", "FLT", "each", 1200, 8900, "Filter, {}", ["F7 592x592", "G4 592x592", "compressor intake", "hydraulic return"]),
    ("Cleaning", "WIP", "box", 1900, 4900, "Industrial wipes, {}", ["blue roll 2-ply", "white roll 3-ply", "solvent-resistant", "lint-free", "microfibre"]),
    ("Cleaning", "ABS", "kg", 90, 190, "Absorbent granules, {}", ["oil", "universal"]),
    ("Cleaning", "SOP", "each", 690, 1900, "Hand cleaner {}", ["5 l", "2.5 l"]),
]
# The smallest quantity a unit is handled in, and a typical issue in those steps.
STEPS = {"each": (Decimal(1), (1, 8)), "box": (Decimal(1), (1, 3)),
         "m": (Decimal("0.5"), (10, 80)), "kg": (Decimal("0.1"), (5, 150))}


@dataclass
class _Plan:
    """What drives one item's year: how often and how much is taken, and the reordering."""

    item: Item
    category: str
    cost_cents: int
    chance: float            # of an issue on any one day
    typical: int             # issue size, in steps of the unit
    step: Decimal
    lead_days: int
    home: int                # its bin in the central warehouse
    depots: list[int]        # bins in the depots that also hold it
    shelf_days: int = 0      # lots that expire (chemicals): how long one keeps
    on_order: Decimal = Decimal(0)


def seed_inventory(session: Session, summary: DemoSummary) -> None:

    year = _Year(session, random.Random(f"inventory-{SEED}"))
    year.run()
    summary.created["items"] = len(year.plans)
    summary.created["locations"] = len(year.bins) + len(WAREHOUSES)
    summary.created["stock movements"] = year.posted


class _Year:
    def __init__(self, session: Session, rng: random.Random):
        self.session, self.rng, self.posted, self.serial = session, rng, 0, itertools.count(1)
        self.pending: list[Movement] = []                                         # queued for _flush
        self.held: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)   # (plan, bin, lot id or 0)
        self.lots: dict[int, list[Lot]] = defaultdict(list)                      # plan -> lots, oldest first
        self.arrivals: dict[date, list[tuple[int, Decimal]]] = defaultdict(list)
        self.lot_plan: dict[int, int] = {}                                       # lot id -> plan
        # With a listener on the days (see _day_starting): the lots nothing is taken from (held
        # or rejected, or received and not yet posted), those received and not yet posted, and
        # the rejected ones whose stock was read back.
        self.watched = False
        self.unavailable: set[int] = set()
        self.unposted: set[int] = set()
        self.emptied: set[int] = set()
        suppliers = self._contacts("supplier")
        self.customers = self._contacts("customer")
        self.bins = self._locations()
        self.plans = self._items(suppliers)

    def _contacts(self, tag: str) -> list[int]:
        """Organisations with the tag, else anyone with it (an empty list if nobody has it)."""
        query = select(Contact.id).where(Contact.tags.like(f"%{tag}%")).order_by(Contact.id)
        return list(self.session.scalars(query.where(Contact.kind == "organisation"))) or list(self.session.scalars(query))

    def _locations(self) -> dict[str, int]:
        bins = {}
        for code, (name, places) in WAREHOUSES.items():
            warehouse = Location(code=code, name=name, kind="warehouse")
            self.session.add(warehouse)
            self.session.flush()
            places = [Location(code=f"{code}-{suffix}", name=f"{name}: {bin_name}", kind="bin", warehouse_id=warehouse.id)
                      for suffix, bin_name in places.items()]
            self.session.add_all(places)
            self.session.flush()
            bins |= {place.code: place.id for place in places}
        return bins

    def _items(self, suppliers: list[int]) -> list[_Plan]:
        rng, plans = self.rng, []
        entries = [(family, variant) for family in CATALOGUE for variant in family[6]]
        averaged = set(rng.sample(range(len(entries)), k=len(entries) // 3))
        for n, ((category, prefix, unit, low, high, name, _), variant) in enumerate(entries):
            step, (few, many) = STEPS[unit]
            chance, typical = rng.choice([0.02, 0.04, 0.06, 0.1]), rng.randint(few, many)
            lead = rng.randint(5, 20)
            daily = step * typical * Decimal(str(chance))
            point = max(step, (daily * lead * Decimal("1.5") / step).to_integral_value() * step)
            quantity = max(step * 5, (daily * rng.randint(30, 75) / step).to_integral_value() * step)
            cents = rng.randint(low, high)
            slug = "".join(ch for ch in variant.upper() if ch.isascii() and ch.isalnum())[:10]
            item = Item(sku=f"{prefix}-{slug}", name=name.format(variant), unit=unit, category=category,
                        valuation="average" if n in averaged else "fifo", standard_cost=Decimal(cents).scaleb(-2),
                        reorder_point=point, reorder_quantity=quantity, lot_tracked=category in LOT_TRACKED,
                        preferred_supplier_id=rng.choice(suppliers) if suppliers else None)
            suffix = CATEGORIES[category][0]
            depots = [] if suffix == "HAZ" or category == "Raw materials" or rng.random() > 0.25 else \
                [self.bins[f"{code}-{suffix}"] for code in rng.sample(["NORTH", "SOUTH"], k=rng.choice([1, 1, 2]))]
            plans.append(_Plan(item, category, cents, chance, typical, step, lead, self.bins[f"MAIN-{suffix}"],
                               depots, shelf_days=rng.randint(90, 540) if category == "Chemicals" else 0))
        self.session.add_all([p.item for p in plans])
        self.session.flush()
        self._detach([p.item for p in plans])
        return plans

    def _detach(self, records: list) -> None:
        """The year reads its items and lots every day, and each posted batch expires what the
        session holds: detached, they keep what they were made with instead of being loaded
        again row by row (the batches and the listeners read the database, not these)."""
        for record in records:
            self.session.expunge(record)

    # -- the year, day by day ----------------------------------------------------------------

    def run(self) -> None:
        demo_year_starting.announce(self.session, [plan.item for plan in self.plans])
        self.watched = bool(demo_day_starting.listeners)
        for n, plan in enumerate(self.plans):   # opening stock: a delivery on the first day
            self._receive(n, plan.item.reorder_point + plan.item.reorder_quantity, START)
        day = START
        while day <= END:
            if self.watched:
                self._day_starting(day)
            for n, quantity in self.arrivals.pop(day, []):
                self.plans[n].on_order -= quantity
                self._receive(n, quantity, day)
            self._expire(day)
            if day == START or day.weekday() == 0:
                self._replenish_depots(day)
            for n, plan in enumerate(self.plans):
                if self.rng.random() < plan.chance:
                    self._issue(n, day)
            if self.rng.random() < 0.08:
                self._damage(day)
            if day == STOCK_TAKE:
                self._flush()  # the count compares with the books as they are that day
                self._stock_take(day)
            self._reorder(day)
            day += timedelta(days=1)
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            post_movements(self.session, SYSTEM, self.pending)
        self.pending, self.unposted = [], set()

    def _day_starting(self, day: date) -> None:
        """With a listener (see `hooks.demo_day_starting`): let it act on the lots, posting
        what is queued first when it asks; if it did, read back which lots may be taken from (a
        lot received is taken from only once it is known to be available) and what a rejected
        lot still holds (quality scraps it or returns it to its supplier)."""
        asked = []

        def post_queued() -> None:
            self._flush()
            asked.append(day)

        demo_day_starting.announce(self.session, day, post_queued)
        if not asked:
            return
        unavailable = dict(self.session.execute(select(Lot.id, Lot.status).where(Lot.status != "available")).all())
        rejected = [lot for lot, status in unavailable.items() if status == "rejected" and lot not in self.emptied]
        for lot_id in rejected:
            n = self.lot_plan[lot_id]
            for key in [key for key in self.held if key[0] == n and key[2] == lot_id]:
                self.held[key] = Decimal(0)
            for place, quantity in self.session.execute(select(StockBalance.location_id, StockBalance.quantity)
                                                        .where(StockBalance.lot_key == lot_id)):
                self.held[n, place, lot_id] = quantity
            self.emptied.add(lot_id)
        self.unavailable = set(unavailable) | self.unposted

    def _post(self, request: Movement, plan: int) -> None:
        self.pending.append(request)  # posted in batches (see _flush): the same result, much faster
        lot = request.lot_id or 0
        if request.from_location_id is not None:
            self.held[plan, request.from_location_id, lot] -= abs(request.quantity)
        if request.to_location_id is not None:
            self.held[plan, request.to_location_id, lot] += abs(request.quantity)
        self.posted += 1

    def _stock_at(self, n: int, place: int) -> list[tuple[int | None, Decimal]]:
        """What the bin holds, by lot, first to expire first (FEFO); (None, quantity) without lots."""
        if not self.plans[n].item.lot_tracked:
            return [(None, self.held[n, place, 0])]
        return [(lot.id, self.held[n, place, lot.id]) for lot in self.lots[n]
                if self.held[n, place, lot.id] > 0 and lot.id not in self.unavailable]

    def _receive(self, n: int, quantity: Decimal, day: date) -> None:
        plan, rng = self.plans[n], self.rng
        lot_id = None
        if plan.item.lot_tracked:
            expires = day + timedelta(days=plan.shelf_days) if plan.shelf_days else None
            lot = Lot(item_id=plan.item.id, lot_number=f"L{day:%y%m%d}", expires_on=expires)
            self.session.add(lot)
            self.session.flush()
            self._detach([lot])
            self.lots[n].append(lot)
            self.lot_plan[lot.id] = n
            lot_id = lot.id
            if self.watched:
                self.unposted.add(lot_id)
                self.unavailable.add(lot_id)
        drift = 1000 + (day - START).days * 40 // 365 + rng.randint(-40, 60)   # prices creep up over the year
        supplier = plan.item.preferred_supplier_id
        if supplier is not None and rng.random() < 0.1:
            supplier = self.plans[rng.randrange(len(self.plans))].item.preferred_supplier_id
        self._post(Movement("receipt", "received", plan.item.id, quantity, day, to_location_id=plan.home, lot_id=lot_id,
                            unit_cost=Decimal(plan.cost_cents * drift // 1000).scaleb(-2), supplier_id=supplier,
                            reference="Opening stock" if day == START else f"PO-{next(self.serial):05d}"), n)

    def _issue(self, n: int, day: date) -> None:
        plan, rng = self.plans[n], self.rng
        wanted = plan.step * max(1, plan.typical * rng.randint(40, 160) // 100)
        place = rng.choice(plan.depots) if plan.depots and rng.random() < 0.5 else plan.home
        if sum(q for _, q in self._stock_at(n, place)) == 0:
            place = plan.home
        reason = CATEGORIES[plan.category][1]
        if reason == "sold" and (not self.customers or rng.random() < 0.2):
            reason = "consumed"
        whom = {"customer_id": rng.choice(self.customers)} if reason == "sold" else \
            {"cost_centre": rng.choice(COST_CENTRES[reason])}
        reference = f"{'SO' if reason == 'sold' else 'REQ'}-{next(self.serial):05d}"
        for lot_id, there in self._stock_at(n, place):
            take = min(wanted, there)
            if take > 0:
                self._post(Movement("issue", reason, plan.item.id, take, day, from_location_id=place, lot_id=lot_id,
                                    reference=reference, **whom), n)
                wanted -= take
            if wanted == 0:
                break

    def _replenish_depots(self, day: date) -> None:
        """Weekly: a depot below two weeks' demand gets four weeks' from the central warehouse."""
        for n, plan in enumerate(self.plans):
            for depot in plan.depots:
                weekly = plan.step * plan.typical * Decimal(str(plan.chance)) * 7 / 2
                there, spare = self.held[n, depot, 0], self.held[n, plan.home, 0]
                send = min(spare, ((4 * weekly - there) / plan.step).to_integral_value() * plan.step)
                if there < 2 * weekly and send > 0:
                    self._post(Movement("transfer", "moved", plan.item.id, send, day, from_location_id=plan.home,
                                        to_location_id=depot, reference=f"TR-{next(self.serial):05d}"), n)

    def _damage(self, day: date) -> None:
        rng = self.rng
        n = rng.randrange(len(self.plans))
        plan = self.plans[n]
        place = rng.choice([plan.home, *plan.depots])
        for lot_id, there in self._stock_at(n, place)[:1]:
            lost = min(there, plan.step * rng.randint(1, 3))
            if lost > 0:
                reason, why = ("scrapped", "offcut too short to use") if plan.item.unit in ("m", "kg") \
                    else ("damaged", "damaged in handling")
                self._post(Movement("adjustment", reason, plan.item.id, -lost, day, from_location_id=place,
                                    lot_id=lot_id, reference=why), n)

    def _expire(self, day: date) -> None:
        """Lots past their date are written off (lots only ever sit in the central warehouse)."""
        for n, lots in self.lots.items():
            home = self.plans[n].home
            for lot in (lot for lot in lots if lot.expires_on is not None and lot.expires_on < day
                        and self.held[n, home, lot.id] > 0):
                self._post(Movement("adjustment", "expired", self.plans[n].item.id, -self.held[n, home, lot.id], day,
                                    from_location_id=home, lot_id=lot.id, reference=f"lot {lot.lot_number} expired"), n)

    def _stock_take(self, day: date) -> None:
        """Count every place in the central warehouse; a few counts differ from the books."""
        main = {place for code, place in self.bins.items() if code.startswith("MAIN-")}
        counts, counted = [], {}
        for (n, place, lot), quantity in sorted(self.held.items()):
            if place in main and quantity > 0:
                found = quantity
                if self.rng.random() < 0.07:
                    found = max(Decimal(0), quantity + self.plans[n].step * self.rng.choice([-3, -2, -1, -1, 1]))
                counts.append(Count(self.plans[n].item.id, place, found, lot or None))
                counted[n, place, lot] = found
        post_stock_take(self.session, SYSTEM, counts, day, reference="Q3 stock take, central warehouse")
        self.posted += sum(1 for key, found in counted.items() if found != self.held[key])   # a count that differs
        self.held.update(counted)

    def _reorder(self, day: date) -> None:
        """An order for the reorder quantity once stock (and what is on order) is at the point."""
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for (n, _, _), quantity in self.held.items():
            totals[n] += quantity
        for n, plan in enumerate(self.plans):
            if totals[n] + plan.on_order <= plan.item.reorder_point:
                quantity = plan.item.reorder_quantity
                plan.on_order += quantity
                self.arrivals[day + timedelta(days=plan.lead_days)].append((n, quantity))
