"""Sample asset register for the demo: 80 assets (laptops, phones, monitors, desks, vehicles,
machines) bought over the four years before the demo's "today", assigned to the demo
employees, and their depreciation recorded through the month before it.

Everything goes through the register's services (`engine.admin.assets`) as the system, in date
order, so every rule holds: one holder at a time (an asset changing hands is returned first),
nobody receives one after their last day (a leaver's assets come back on it), a disposed asset
is with nobody. A few are returned and handed to someone else; a few old ones are disposed of
(sold, or scrapped). The draws are seeded (`engine.demo.SEED`) and the dates fixed, so every run
builds the same register; a database that has assets already gets none.

The demo does not switch `admin.post_depreciation` on (its books are one year, closed but for
the last three months, and most assets are older). When it is on, the assets bought before
the books' open periods are registered as not in the books (as if added while the setting was
off), and those bought later go to the books with their depreciation.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.admin import assets as services
from engine.admin.depreciation import add_months, month_of
from engine.admin.models import Asset, AssetAssignment
from engine.contacts.models import Contact
from engine.demo import SEED, DemoSummary
from engine.ledger.models import FiscalPeriod
from engine.security.roles import SYSTEM
from engine.staff.models import Employee

TODAY = date(2026, 11, 27)          # the demo's "today" (the books' and the stock's)
FIRST = date(2022, 12, 1)           # the oldest purchase
# category: (tag prefix, how many, what, cost range in euros, life in months, method, yearly rate,
# residual as a share of cost, handed to someone)
KINDS = {
    "laptops": ("LAP", 24, ("Laptop 14in", "Laptop 16in", "Ultrabook 13in"), (900, 2200), 36, "straight_line",
                None, 0, True),
    "phones": ("PHN", 18, ("Smartphone", "Smartphone Pro"), (300, 1100), 24, "straight_line", None, 0, True),
    "monitors": ("MON", 16, ("Monitor 27in", "Monitor 32in 4K"), (150, 600), 48, "straight_line", None, 0, True),
    "desks": ("DSK", 10, ("Standing desk", "Desk 160x80"), (250, 900), 120, "straight_line", None, 0, False),
    "vehicles": ("VEH", 6, ("Delivery van", "Estate car", "Electric hatchback"), (18000, 42000), 60,
                 "declining_balance", Decimal("0.25"), Decimal("0.15"), True),
    "machines": ("MCH", 6, ("Forklift", "Pallet wrapper", "Label printer line"), (8000, 60000), 96,
                 "declining_balance", Decimal("0.20"), Decimal("0.10"), False),
}
LOCATIONS = ("Head office", "Warehouse", "Branch north", "Branch south")


def seed_assets(session: Session, summary: DemoSummary) -> None:
    if session.scalar(select(func.count(Asset.id))):
        return
    rng = random.Random(f"assets-{SEED}")
    people = list(session.execute(select(Employee.id, Employee.start_date, Employee.end_date)
                                  .where(Employee.purged_at.is_(None)).order_by(Employee.employee_number)))
    suppliers = list(session.scalars(select(Contact.id).where(Contact.kind == "organisation",
                                                              Contact.tags.like("%supplier%")).order_by(Contact.id)))
    books_from = session.scalar(select(func.min(FiscalPeriod.starts_on)).where(FiscalPeriod.status == "open"))
    admin = session.info.get("admin")
    span = (TODAY - timedelta(days=20) - FIRST).days
    planned = []
    for category, (prefix, count, names, (low, high), life, method, rate, residual, handed) in KINDS.items():
        for n in range(1, count + 1):
            bought = FIRST + timedelta(days=rng.randrange(span))
            cost = Decimal(rng.randrange(low * 100, high * 100)) / 100
            planned.append((bought, {
                "tag": f"{prefix}-{n:04d}", "description": rng.choice(names), "category": category,
                "purchased_on": bought, "cost": cost, "useful_life_months": life, "method": method,
                "declining_rate": rate, "residual_value": (cost * residual).quantize(Decimal("0.01")),
                "supplier_id": rng.choice(suppliers) if suppliers else None, "location": rng.choice(LOCATIONS),
                "warranty_ends_on": bought + timedelta(days=730) if category in ("laptops", "phones", "monitors")
                else None}, handed))
    planned.sort(key=lambda p: (p[0], p[1]["tag"]))
    for bought, values, handed in planned:
        in_books = admin is None or not admin.post_depreciation or (books_from is not None and bought >= books_from)
        session.info["admin"] = admin if in_books else dataclasses.replace(admin, post_depreciation=False)
        try:
            asset = services.add_asset(session, SYSTEM, values)
        finally:
            session.info["admin"] = admin
        if handed:
            _hand_around(session, rng, asset, people)
    _dispose_some(session, rng)
    services.record_depreciation(session, SYSTEM, add_months(month_of(TODAY), -1))
    summary.created["assets"] = len(planned)
    summary.created["asset assignments"] = session.scalar(select(func.count(AssetAssignment.id))) or 0


def _hand_around(session: Session, rng: random.Random, asset: Asset, people: list) -> None:
    """Assign the asset a few days after its purchase; a leaver's comes back on their last
    day, and some change hands; each next holder was employed by then."""
    on = asset.purchased_on + timedelta(days=rng.randrange(1, 10))
    for _turn in range(3):
        staff = [p for p in people if p.start_date <= on and (p.end_date is None or p.end_date > on)]
        if on >= TODAY or not staff:
            return
        holder = rng.choice(staff)
        services.assign_asset(session, SYSTEM, asset.id, holder.id, on)
        until = holder.end_date if holder.end_date is not None and holder.end_date < TODAY else None
        if until is None and rng.random() < 0.25:      # handed back to be given to someone else
            until = on + timedelta(days=rng.randrange(60, 500))
        if until is None or until >= TODAY:
            return
        services.return_asset(session, SYSTEM, asset.id, until)
        on = until + timedelta(days=rng.randrange(1, 20))


def _dispose_some(session: Session, rng: random.Random) -> None:
    """Five of the oldest laptops, phones and vehicles: sold or scrapped."""
    old = list(session.scalars(select(Asset).where(Asset.category.in_(("laptops", "phones", "vehicles")),
                                                   Asset.purchased_on < date(2024, 3, 1)).order_by(Asset.tag)))
    on = add_months(month_of(TODAY), -2) + timedelta(days=9)
    last_moved = dict(session.execute(select(AssetAssignment.asset_id, func.max(func.coalesce(
        AssetAssignment.returned_on, AssetAssignment.assigned_on))).group_by(AssetAssignment.asset_id)).all())
    old = [a for a in old if last_moved.get(a.id, a.purchased_on) <= on]
    for asset in rng.sample(old, min(5, len(old))):
        sold = asset.category == "vehicles" or rng.random() < 0.5
        proceeds = (asset.cost * Decimal("0.2")).quantize(Decimal("0.01")) if sold else Decimal(0)
        services.dispose_asset(session, SYSTEM, asset.id, on, proceeds, "sold" if sold else "broken, scrapped")
