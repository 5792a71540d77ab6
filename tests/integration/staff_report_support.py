"""The staff of the staff report (build_staff), its sensitive values and the .docx readers (every_part, document_text), for test_staff_report.py and tests/e2e/test_report_cli.py."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import docx

from engine.db.session import Database
from engine.staff.models import LeaveType
from engine.staff.services import Hire, add_contract, add_department, hire, request_leave
from tests.conftest import actor_with

HANA = actor_with("hr", login="hana")          # HR officer
MO = actor_with("manager", login="mo")         # heads sales
MEG = actor_with("manager", login="meg")       # heads the lab
ALEX = actor_with("accountant", login="alex")  # neither HR nor a manager of anyone
YEAR = 2026

# Ann's sensitive values, each unlike anything else in the data
ANN = {"date_of_birth": date(1971, 7, 19), "national_id": "QQ123456C", "bank_account": "GB29NWBK60161331926819"}
SALARY = D("48250.5")
MEDICAL = "migraine with aura"
# ... and how they could appear in a document
SENSITIVE = ["1971-07-19", "19.07.1971", "07/19/1971", "QQ123456C", "GB29NWBK60161331926819", "48250", "48,250",
             "migraine", "aura", "Date of birth", "Salary", "Medical", "medical"]
HOSTILE_DEPARTMENT = "R&D <b>& Co"
HOSTILE_TITLE = "{{ 7*7 }} {% if true %}yes{% endif %}"


def build_staff(db: Database) -> dict[str, int]:
    """Sales: mo heads it, lee reports to mo, ann to lee. The lab (a hostile name): meg,
    whose job title looks like Jinja. Annual leave (20 days) and sick leave."""
    with db.unit_of_work(HANA) as session:
        sales = add_department(session, HANA, "SAL", "Sales")
        lab = add_department(session, HANA, "LAB", HOSTILE_DEPARTMENT)
        session.add_all([LeaveType(code="annual", name="Annual leave", yearly_allowance=D(20), needs_balance=True,
                                   updated_by="hana"),
                         LeaveType(code="sick", name="Sick leave", updated_by="hana")])
        session.flush()

        def person(number, first, dept, boss=None, login=None, title="Clerk", **sensitive):
            return hire(session, HANA, Hire(first, "Tester", "GB", number, dept.id, date(2025, 1, 6), job_title=title,
                                            manager_id=boss, login=login, work_email=f"{first.lower()}@firm.example",
                                            **sensitive))

        mo = person("E1", "Mo", sales, login="mo", title="Head of sales")
        lee = person("E2", "Lee", sales, mo.id, login="lee")
        ann = person("E3", "Ann", sales, lee.id, **ANN)
        meg = person("E4", "Meg", lab, login="meg", title=HOSTILE_TITLE)
        sales.manager_id, lab.manager_id = mo.id, meg.id
        add_contract(session, HANA, ann.id, "permanent", D(40), SALARY, "EUR", date(2025, 1, 6))
        add_contract(session, HANA, meg.id, "permanent", D(40), D("61000"), "EUR", date(2025, 1, 6))
        request_leave(session, HANA, ann.id, "annual", date(YEAR, 3, 2), date(YEAR, 3, 6))            # 5 days
        sick = request_leave(session, HANA, ann.id, "sick", date(YEAR, 5, 4), date(YEAR, 5, 5), medical_reason=MEDICAL)
        return {"mo": mo.id, "lee": lee.id, "ann": ann.id, "meg": meg.id, "sick": sick.id}


def every_part(path: Path) -> bytes:
    """Every part of the .docx, unzipped, as one byte string."""
    with zipfile.ZipFile(path) as package:
        return b"\n".join(package.read(name) for name in package.namelist())


def document_text(path: Path) -> str:
    """The text Word shows: paragraphs, table cells, footers."""
    document = docx.Document(path)
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    footers = [p.text for section in document.sections for p in section.footer.paragraphs]
    return "\n".join([p.text for p in document.paragraphs] + cells + footers)
