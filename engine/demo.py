"""Sample data for a first look: users for every role, then each switched-on module's own
sample records.

Seeded, so every run builds the same data. Each module registers its demo step
(`registry.demo_step(name, "engine.<module>.demo:seed_...", order)`); a module that is
switched off adds nothing. Running the demo again without `--reset` changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select, table
from sqlalchemy.orm import Session

from engine import registry
from engine.security.roles import SYSTEM
from engine.security.users import add_user, user_count

SEED = 20261127

DEMO_USERS = [
    ("admin", "Ada Admin", ["admin"]),
    ("mia", "Mia Manager", ["manager"]),
    ("alex", "Alex Accountant", ["accountant"]),
    ("wes", "Wes Warehouse", ["warehouse"]),
    ("hana", "Hana HR", ["hr"]),
    ("sam", "Sam Sales", ["sales"]),
    ("quinn", "Quinn Quality", ["quality"]),
    ("stef", "Stef Staff", ["staff"]),
]


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    already_present: bool = False


Step = Callable[[Session, DemoSummary], None]


def has_data(session: Session) -> bool:
    # (the contacts table by name: the demo knows no module's models)
    return user_count(session) > 0 or (session.scalar(select(func.count()).select_from(table("contacts"))) or 0) > 0


def seed_users(session: Session, summary: DemoSummary) -> None:
    for login, name, roles in DEMO_USERS:
        add_user(session, SYSTEM, login, name, roles, f"{login}@backoffice.example")
    summary.created["users"] = len(DEMO_USERS)


def demo_steps() -> list[tuple[str, Step]]:
    """(name, step) in order: the users, then the switched-on modules' steps by their order."""
    steps = sorted(registry.current().demo_steps, key=lambda s: s.order)
    return [("users", seed_users)] + [(s.name, registry.load(s.target)) for s in steps]


def build_demo(session: Session, only: Iterable[str] | None = None) -> DemoSummary:
    """Every demo step (or, with `only`, the steps so named) on an empty database."""
    summary = DemoSummary()
    if has_data(session):
        summary.already_present = True
        return summary
    wanted = set(only) if only is not None else None
    for name, step in demo_steps():
        if wanted is None or name in wanted:
            step(session, summary)
    return summary
