"""The demo's tasks (built on SQLite with the demo's users and contacts, the other modules'
demos left out): open, overdue, done and cancelled tasks owned by the demo users and
linked to demo records, the monthly series keeping its day, fast."""

from __future__ import annotations

import time
from datetime import date

import pytest
import sqlalchemy as sa

from engine.admin import task_demo
from engine.admin.models import Task
from engine.demo import DEMO_USERS, DemoSummary, build_demo
from engine.inventory.demo import END
from engine.security.roles import SYSTEM, Actor, load_roles


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_tasks(db):
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session, only=("users", "contacts"))
        started = time.perf_counter()
        summary = DemoSummary()
        task_demo.seed_tasks(session, summary)
        took = time.perf_counter() - started
    assert took < 2 and summary.created["tasks"] == 29
    with db.reading() as session:
        tasks = session.scalars(sa.select(Task).order_by(Task.id)).all()
    owners = {t.owner for t in tasks}
    assert owners <= {login for login, _, _ in DEMO_USERS} and {"alex", "sam", "stef", "hana"} <= owners
    everyone = load_roles()
    assert all(Actor(login, tuple(everyone[r] for r in roles)).may("read", "admin")   # their own tasks
               for login, _, roles in DEMO_USERS if login in owners)
    assert {t.status for t in tasks} == {"open", "done", "cancelled"}
    overdue = [t for t in tasks if t.status == "open" and t.due_on < END]
    assert len(overdue) >= 6 and any(t.contact_id for t in overdue)
    bank = [t for t in tasks if t.title == "Bank reconciliation"]
    assert [t.due_on for t in bank[:4]] == [date(END.year, 1, 31), date(END.year, 2, 28), date(END.year, 3, 31),
                                            date(END.year, 4, 30)]
    assert [t.status for t in bank] == ["done"] * 10 + ["open"]
    assert all(t.next_id == n.id for t, n in zip(bank, bank[1:], strict=False))
    # (the invoices, employees, nonconformances, opportunities and assets of the demos not run are skipped)
    assert not any(t.invoice_id or t.employee_id or t.ncr_id or t.opportunity_id or t.asset_id for t in tasks)
