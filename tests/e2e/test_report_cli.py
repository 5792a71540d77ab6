"""`backoffice report staff` from the shell: a manager's report has their team and no
sensitive value in any part of the file; HR's, with its PDF, has them and is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.audit import AuditEntry
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from tests.integration.staff_report_support import (
    MEDICAL,
    SENSITIVE,
    build_staff,
    document_text,
    every_part,
)

pytestmark = pytest.mark.libreoffice   # HR's report is converted to PDF


def test_report_staff_gives_a_manager_their_team_and_hr_everything(backoffice, db, tmp_path):
    build_staff(db)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "mo", "Mo Tester", ["manager"], None)
        add_user(session, SYSTEM, "hana", "Hana Hart", ["hr"], None)

    mine = backoffice("report", "staff", "--year", "2026", "--out", "mo.docx", "--json", user="mo")
    assert mine.code == 0, mine.stderr
    assert mine.json() == {"report": "staff", "file": "mo.docx", "pdf": None, "year": 2026, "departments": 1,
                           "employees": 2, "scope": mine.json()["scope"], "extra_columns": [], "medical": False}
    assert mine.json()["scope"].startswith("the team of")
    report = tmp_path / "mo.docx"
    assert "Ann Tester" in document_text(report) and "Made on" in document_text(report)
    raw = every_part(report)
    assert not [value for value in SENSITIVE if value.encode() in raw]

    hers = backoffice("report", "staff", "--year", "2026", "--pdf", user="hana")
    assert hers.code == 0, hers.stderr
    assert "wrote out/staff-2026-hana.docx and out/staff-2026-hana.pdf: staff report 2026 on everyone" in hers.stdout
    assert "date of birth, salary, medical reasons" in hers.stdout
    shown = document_text(tmp_path / "out" / "staff-2026-hana.docx")
    assert MEDICAL in shown and "48,250.50 EUR" in shown and "for Hana Hart (hana)" in shown
    assert (tmp_path / "out" / "staff-2026-hana.pdf").read_bytes().startswith(b"%PDF")
    # readable by their owner only, the PDF too; the manager's default file is another one
    for written in ("mo.docx", "out/staff-2026-hana.docx", "out/staff-2026-hana.pdf"):
        assert (tmp_path / written).stat().st_mode & 0o777 == 0o600, written
    assert backoffice("report", "staff", "--year", "2026", user="mo").code == 0
    assert "Ann Tester" in document_text(tmp_path / "out" / "staff-2026-mo.docx")
    assert MEDICAL in document_text(tmp_path / "out" / "staff-2026-hana.docx")
    with db.reading() as session:
        readers = session.scalars(sa.select(AuditEntry.actor).where(AuditEntry.action == "read")).all()
    assert readers == ["hana"]
