"""Sample data for a first look: users for every role, then each switched-on module's own
sample records.

Seeded, so every run builds the same data. Each module registers its demo step
(`registry.demo_step(name, "engine.<module>.demo:seed_...", order)`); a module that is
switched off adds nothing. Running the demo again without `--reset` changes nothing.

`--reset` deletes everything, the audit log included, so it is allowed only on a database
that holds demo data and nothing else (`check_resettable`). How the database knows: the demo
run, once it has built everything and run its jobs, appends a marker to the audit log (a row
on `installation` whose action is `demo`, `mark_demo`). The audit log is append-only and every
change through any door writes a row to it, so the database holds demo data only when that
marker is there, no change was audited after it (reads, such as HR opening a medical reason,
change nothing and do not count) and every change before it was made by the demo's own
actors (the system and the demo users running its jobs). A database built by an older
Backoffice, or whose demo run was interrupted, has no marker: it is refused like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select, table
from sqlalchemy.orm import Session

from engine import registry
from engine.db.audit import AuditEntry, write_audit
from engine.errors import BackofficeError
from engine.security.roles import SYSTEM, Actor
from engine.security.users import add_user, user_count

SEED = 20261127

# Everyone but the administrator and the manager is staff too: they see their own tasks.
DEMO_USERS = [
    ("admin", "Ada Admin", ["admin"]),
    ("mia", "Mia Manager", ["manager"]),
    ("alex", "Alex Accountant", ["accountant", "staff"]),
    ("wes", "Wes Warehouse", ["warehouse", "staff"]),
    ("hana", "Hana HR", ["hr", "staff"]),
    ("sam", "Sam Sales", ["sales", "staff"]),
    ("quinn", "Quinn Quality", ["quality", "staff"]),
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


# -- the marker, and what --reset may delete ---------------------------------------------------

MARK = {"table_name": "installation", "record_id": 0, "action": "demo"}
# Who changes a demo database while it is built: the system, and the demo users its jobs act as.
DEMO_ACTORS = frozenset({SYSTEM.login, *(login for login, _, _ in DEMO_USERS)})
RESET = "reset-demo"   # the capability (roles.toml `can`) that allows it


class NotDemoData(BackofficeError):
    """`demo --reset` on a database holding more than the demo's own data."""

    code = "not_demo_data"


def mark_demo(session: Session) -> None:
    """Record in the audit log that the demo built this database (see the module's docstring)."""
    write_audit(session.connection(), session.info["audit"], [{**MARK, "changes": {"demo": [None, "built"]}}])


def check_resettable(session: Session, actor: Actor) -> dict[str, int]:
    """Refuse `demo --reset` unless `actor` may reset the demo (admin) and the database holds
    demo data only; returns what would be deleted, for the confirmation."""
    actor.require_capability(RESET)
    mark = session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.table_name == MARK["table_name"], AuditEntry.action == MARK["action"]))
    keep = ("it may hold real records: nothing was deleted. If it is a demo database whose build was "
            "interrupted, or one made by an older Backoffice, delete the SQLite file or drop the PostgreSQL "
            "database yourself")
    if mark is None:
        raise NotDemoData(f"this database was not built by `backoffice demo` (it has no demo marker), so {keep}")
    changes = AuditEntry.action != "read"
    later = session.scalar(select(func.count()).select_from(AuditEntry).where(changes, AuditEntry.id > mark)) or 0
    others = sorted(session.scalars(select(AuditEntry.actor).distinct().where(
        changes, AuditEntry.actor.not_in(sorted(DEMO_ACTORS)))).all())
    if later or others:
        by = f" by {', '.join(others)}" if others else ""
        raise NotDemoData(f"this database holds more than the demo's data ({later} change(s) audited after the "
                          f"demo was built{by}), so {keep}")
    return {"audit rows": session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            "users": user_count(session)}
