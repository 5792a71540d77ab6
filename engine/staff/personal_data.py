"""Staff's part in erasing a person (the `erasing` hook of contacts, a bridge).

An employee record has its own retention (`staff.retention_years` after the person left),
and `staff purge` removes what identifies them once it has passed (it also unlinks the
record from the contact). Until then the erasure is refused, pointing to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.security.roles import Actor
from engine.staff.models import Employee


def plan_erasure(session: Session, actor: Actor, plan: Any) -> None:
    """Listener of `engine.contacts.hooks.erasing`."""
    for number, end_date in session.execute(select(Employee.employee_number, Employee.end_date)
                                            .where(Employee.contact_id == plan.contact_id)):
        when = f"left on {end_date}" if end_date else "has not left"
        plan.refuse("employee", "employee", f"employee {number} ({when}) is this person: staff records have "
                    f"their own retention; `backoffice staff purge {number}` removes their data once "
                    "staff.retention_years have passed, and then the contact can be erased")
