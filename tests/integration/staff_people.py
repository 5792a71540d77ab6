"""The people (HANA, MO, MEG, LEE) and the `staff` fixture of test_staff.py and test_audit_gate.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.staff.models import LeaveType
from engine.staff.services import Hire, add_contract, add_department, hire
from tests.conftest import actor_with

HANA = actor_with("hr", login="hana")         # HR officer
MO = actor_with("manager", login="mo")        # heads sales
MEG = actor_with("manager", login="meg")      # a manager elsewhere
LEE = actor_with("manager", login="lee")      # under mo, manages ann


@pytest.fixture
def staff(db):
    """Sales: mo heads it, lee reports to mo, ann to lee; ops: meg. Annual leave 20 days
    (5 carry over), sick leave without a balance."""
    with db.unit_of_work(HANA) as session:
        sales = add_department(session, HANA, "SAL", "Sales")
        ops = add_department(session, HANA, "OPS", "Operations")
        session.add_all([LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                                   carry_over_days=D(5), updated_by="hana"),
                         LeaveType(code="sick", name="Sick leave", updated_by="hana")])

        def person(number, first, dept, boss=None, login=None, start=date(2025, 1, 6)):
            return hire(session, HANA, Hire(first, "Test", "GB", number, dept.id, start, manager_id=boss,
                                            login=login, national_id=f"QQ{number}", bank_account=f"GB00{number}",
                                            date_of_birth=date(1990, 1, 1)))

        mo = person("E1", "Mo", sales, login="mo")
        lee = person("E2", "Lee", sales, mo.id, login="lee")
        ann = person("E3", "Ann", sales, lee.id)
        meg = person("E4", "Meg", ops, login="meg")
        add_contract(session, HANA, ann.id, "permanent", D(40), D("36000"), "EUR", date(2025, 1, 6))
        return {"mo": mo.id, "lee": lee.id, "ann": ann.id, "meg": meg.id, "sales": sales.id}
