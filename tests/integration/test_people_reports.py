"""Staff, the CRM and the tasks in the monthly pack, the leave statement and the asset register,
on the demo's people, pipeline, assets and tasks, on a real SQLite file and a real PostgreSQL.

Every figure is read back out of the .docx and held against the module's own query, written as
the report writes it (Formatter("en_GB")). The staff section is aggregates only: no salary of
anyone and no employee's name is in it, for any reader; a reader who may not read staff gets
a note instead; a manager's section counts their own team, a member of staff's tasks are
their own; the leave statement is refused to those the staff module does not let ask, and
holds no medical reason."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from engine.admin import asset_queries, task_queries
from engine.admin.asset_demo import seed_assets
from engine.admin.pack import held_on
from engine.admin.task_demo import seed_tasks
from engine.contacts.models import Contact
from engine.crm import queries as crm_queries
from engine.crm.demo import seed_crm
from engine.db.audit import AuditEntry
from engine.demo import DemoSummary, build_demo
from engine.errors import NotFound, PermissionDenied
from engine.ledger.chart import install_chart
from engine.office.docx import convert_to_pdf
from engine.office.locale import Formatter
from engine.office.report_body import Month, Table
from engine.reports.render import write_report
from engine.security.roles import SYSTEM
from engine.security.users import resolve_actor
from engine.staff import pack as staff_pack
from engine.staff import queries as staff_queries
from engine.staff.models import Contract, Employee, LeaveRequest
from engine.staff.services import add_contract
from tests.conftest import actor_with

MONTH = Month(2026, 11)
AS_OF = date(2026, 11, 30)
PLANTED = D("48250.5")
fmt = Formatter("en_GB")


@pytest.fixture
def demo(db):
    """The demo's users, contacts, staff, pipeline, assets and tasks (the books' chart only,
    for the won opportunities' draft invoices)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        build_demo(session, only=("users", "contacts", "staff"))
        install_chart(session, SYSTEM)
        summary = DemoSummary()
        for step in (seed_crm, seed_assets, seed_tasks):
            step(session, summary)
    return db


def actor(db, login: str):
    with db.reading() as session:
        return resolve_actor(session, login)


def write(db, login: str, name: str, target: Path, **options) -> Path:
    who = actor(db, login)
    with db.unit_of_work(who) as session:
        write_report(session, who, name, target, **options)
    return target


def blocks(path: Path) -> list[tuple[str, object]]:
    """The document's body in order: ("h1"/"h2"/"p", text) and ("table", rows of cell texts)."""
    document = docx.Document(path)
    found: list[tuple[str, object]] = []
    for child in document.element.body.iterchildren():
        if child.tag.endswith("}p"):
            paragraph = Paragraph(child, document)
            style = paragraph.style.name if paragraph.style is not None else ""
            kind = "h1" if style == "Heading 1" else "h2" if style == "Heading 2" else "p"
            found.append((kind, paragraph.text))
        elif child.tag.endswith("}tbl"):
            table = DocxTable(child, document)
            found.append(("table", [[cell.text for cell in row.cells] for row in table.rows]))
    return found


def section_of(path: Path, title: str) -> list[tuple[str, object]]:
    """The blocks under the Heading 1 `title`, up to the next Heading 1."""
    body = blocks(path)
    start = next(n for n, (kind, text) in enumerate(body) if kind == "h1" and text == title)
    end = next((n for n in range(start + 1, len(body)) if body[n][0] == "h1"), len(body))
    return body[start + 1:end]


def text_of(found: list[tuple[str, object]]) -> str:
    return "\n".join(str(t) if k != "table" else "\n".join(" | ".join(r) for r in t) for k, t in found)


def rows_after(found: list[tuple[str, object]], heading: str) -> list[list[str]]:
    """The rows (header first) of the first table after the Heading 2 `heading`."""
    start = next(n for n, (kind, text) in enumerate(found) if kind == "h2" and text == heading)
    return next(t for kind, t in found[start:] if kind == "table")


def key_figures(path: Path) -> dict[str, list[str]]:
    table = next(t for kind, t in blocks(path) if kind == "table" and t[0][0] == "Key figure")
    return {row[0]: row[1:] for row in table[1:]}


def as_rows(table: Table) -> list[list[str]]:
    return [[fmt.value(v, c.kind) for v, c in zip(row, table.columns, strict=True)] for row in table.rows]


def test_every_figure_of_the_people_sections_is_the_modules_own(demo, tmp_path):
    pack = write(demo, "hana", "pack", tmp_path / "pack.docx", period="2026-11")   # HR: staff, CRM, own tasks
    figures = key_figures(pack)
    hana = actor(demo, "hana")
    with demo.reading() as session:
        now = staff_queries.headcount(session, hana, MONTH.end)
        before = staff_queries.headcount(session, hana, MONTH.previous.end)
        year_before = staff_queries.headcount(session, hana, MONTH.year_before.end)
        moves = staff_queries.joiners_and_leavers(session, hana, MONTH.start, MONTH.end)
        taken = staff_queries.leave_days(session, hana, MONTH.start, MONTH.end)
        taken_before = staff_queries.leave_days(session, hana, MONTH.previous.start, MONTH.previous.end)
        stages = crm_queries.pipeline(session, hana)
        closed = crm_queries.won_lost(session, hana, MONTH.start, MONTH.end)
        closed_before = crm_queries.won_lost(session, hana, MONTH.previous.start, MONTH.previous.end)
        tasks = task_queries.overdue_summary(session, hana, MONTH.end)
    assert sum(now.values()) > 40 and len(now) == 6 and sum(taken.values()) > 0 and len(stages) > 3

    staff = section_of(pack, "Staff")
    assert rows_after(staff, "Headcount by department")[1:] == [
        *[[d, fmt.count(now.get(d, 0)), fmt.count(before.get(d, 0)), fmt.count(year_before.get(d, 0))]
          for d in sorted(set(now) | set(before) | set(year_before))],
        ["Total", fmt.count(sum(now.values())), fmt.count(sum(before.values())), fmt.count(sum(year_before.values()))]]
    moved = [[d, fmt.count(n["joiners"]), fmt.count(n["leavers"])] for d, n in moves.items()]
    assert (rows_after(staff, "Joiners and leavers in the month")[1:-1] == moved if moves
            else "No one joined or left in the month." in text_of(staff))
    assert rows_after(staff, "Leave taken in the month")[1:] == [
        *[[kind, fmt.quantity(days)] for kind, days in taken.items()], ["Total", fmt.quantity(sum(taken.values()))]]
    assert figures["Headcount at month end"] == [fmt.count(sum(now.values())), fmt.count(sum(before.values())),
                                                 fmt.change(sum(now.values()), sum(before.values())),
                                                 fmt.count(sum(year_before.values())),
                                                 fmt.change(sum(now.values()), sum(year_before.values()))]
    assert figures["Leave days taken"][:2] == [fmt.quantity(sum(taken.values())),
                                               fmt.quantity(sum(taken_before.values()))]

    crm = section_of(pack, "Sales pipeline")
    assert rows_after(crm, "Open pipeline by stage")[1:] == [
        [r["stage"].capitalize(), fmt.percent(r["probability"]), r["currency"], fmt.count(r["count"]),
         fmt.money(r["value"]), fmt.money(r["weighted"])] for r in stages]
    weighted = sum((r["weighted"] for r in stages if r["currency"] == "EUR"), D(0))
    assert figures["Weighted pipeline (EUR)"][0] == fmt.money(weighted)
    won = [[c["currency"], fmt.count(c["won_count"]), fmt.money(c["won_value"]), fmt.count(c["lost_count"]),
            fmt.money(c["lost_value"])] for c in closed["by_currency"]]
    assert won and rows_after(crm, "Won and lost in the month")[1:] == won
    assert ["Opportunities", fmt.count(closed["won"]), fmt.count(closed["lost"]),
            fmt.percent(closed["win_rate"] * 100)] in next(t for k, t in crm if k == "table" and t[0][0] ==
                                                          "Closed in the month")
    won_before = next(c["won_value"] for c in closed_before["by_currency"] if c["currency"] == "EUR")
    assert figures["Won in the month (EUR)"][:2] == [
        fmt.money(next(c["won_value"] for c in closed["by_currency"] if c["currency"] == "EUR")), fmt.money(won_before)]

    # hana reads admin as a member of staff: her own overdue tasks, and the section says so
    mine = section_of(pack, "Tasks: your own")
    assert tasks["count"] >= 1 and {r["owner"] for r in tasks["by_owner"]} == {"hana"}
    assert rows_after(mine, "Overdue tasks by owner")[1:] == [["Hana HR (hana)", fmt.count(tasks["count"])]]
    assert figures["Overdue tasks at month end (yours)"][0] == fmt.count(tasks["count"])

    # those who write admin get everyone's; the oldest ten, most overdue first
    everyone = write(demo, "mia", "pack", tmp_path / "mia.docx", period="2026-11")
    with demo.reading() as session:
        summary = task_queries.overdue_summary(session, actor(demo, "mia"), MONTH.end)
    tasks_section = section_of(everyone, "Tasks")
    assert len({r["owner"] for r in summary["by_owner"]}) > 1
    assert rows_after(tasks_section, "Overdue tasks by owner")[-1] == ["Total", fmt.count(summary["count"])]
    listed = next(t for k, t in tasks_section if k == "table" and t[0][0] == "Due")
    assert [row[:4] for row in listed[1:]] == [[fmt.date(t["due_on"]), fmt.count(t["days_overdue"]), t["title"],
                                               t["owner"]] for t in summary["tasks"][:10]]


def test_the_leave_statement_and_the_asset_register_hold_the_modules_figures(demo, tmp_path):
    with demo.reading() as session:
        hana = resolve_actor(session, "hana")
        number = session.scalar(sa.select(Employee.employee_number).join(LeaveRequest, LeaveRequest.employee_id ==
                                Employee.id).where(LeaveRequest.medical_reason.is_not(None)).limit(1))
        balances = staff_queries.leave_balances(session, hana, number, 2026)
        requests = staff_queries.leave_requests(session, hana, employee=number, year=2026)
        reasons = [r for r, in session.execute(sa.select(LeaveRequest.medical_reason)
                                                .where(LeaveRequest.medical_reason.is_not(None)))]
        audited_before = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == "read"))
    statement = write(demo, "hana", "leave-statement", tmp_path / "leave.docx", employee=number.lower(), year="2026")
    body = blocks(statement)
    assert f"{balances.employee['name']} ({number})" in text_of(body)
    table = next(t for kind, t in body if kind == "table" and t[0][0] == "Leave type")
    assert table[1:] == [[r["name"], fmt.quantity(r["allowance"]), fmt.quantity(r["carried_over"]),
                          fmt.quantity(r["taken"]), fmt.quantity(r["requested"]),
                          "" if r["remaining"] is None else fmt.quantity(r["remaining"])] for r in balances.leave]
    listed = next(t for kind, t in body if kind == "table" and t[0][0] == "From")
    assert requests and listed[1:] == [[fmt.date(r["starts_on"]), fmt.date(r["ends_on"]), r["leave_type_name"],
                                        fmt.quantity(r["days"]), r["status"]] for r in requests]
    assert reasons and not any(reason in text_of(body) for reason in reasons)   # not even for HR
    with demo.reading() as session:   # no medical reason handed out, so no read audited
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "read")) == audited_before

    register = write(demo, "mia", "asset-register", tmp_path / "assets.docx", as_of=AS_OF.isoformat())
    with demo.reading() as session:
        mia = resolve_actor(session, "mia")
        held = [a for a in asset_queries.assets(session, mia, disposed=True, on=AS_OF) if held_on(a, AS_OF)]
        value = asset_queries.value(session, mia, AS_OF)
    totals = section_of(register, "Totals by category")[0][1]
    assert totals[1:] == [*[[c["category"].capitalize(), fmt.count(c["assets"]), fmt.money(c["cost"]),
                             fmt.money(c["accumulated_depreciation"]), fmt.money(c["book_value"])]
                            for c in value["categories"]],
                          ["Total", fmt.count(value["total"]["assets"]), fmt.money(value["total"]["cost"]),
                           fmt.money(value["total"]["accumulated_depreciation"]),
                           fmt.money(value["total"]["book_value"])]]
    assert len(held) == value["total"]["assets"] > 50
    for category in value["categories"]:
        rows = section_of(register, category["category"].capitalize())[0][1]
        mine = [a for a in held if a["category"] == category["category"]]
        assert rows[1:-1] == [[a["tag"], a["description"], a["employee_name"] or "", fmt.money(a["cost"]),
                               fmt.money(a["accumulated_depreciation"]), fmt.money(a["book_value"])] for a in mine]
        assert sum(a["book_value"] for a in mine) == category["book_value"]      # the rows add up to the total
        assert rows[-1][3:] == [fmt.money(category["cost"]), fmt.money(category["accumulated_depreciation"]),
                                fmt.money(category["book_value"])]


def test_who_sees_what_of_the_people_sections(demo, tmp_path):
    hana = actor(demo, "hana")
    with demo.unit_of_work(hana) as session:    # a salary like no other figure of the demo
        someone = session.scalar(sa.select(Employee.id).where(Employee.login == "stef"))
        add_contract(session, hana, someone, "permanent", D(40), PLANTED, "EUR", date(2026, 11, 1))
    with demo.reading() as session:
        salaries = [s for s, in session.execute(sa.select(Contract.salary).where(Contract.salary.is_not(None)))]
        names = [n for n, in session.execute(sa.select(Contact.name).join(Employee, Employee.contact_id == Contact.id))]
    assert len(salaries) > 50 and len(names) > 50

    # the accountant may not read staff: a note, and no salary anywhere in the pack
    alex = write(demo, "alex", "pack", tmp_path / "alex.docx", period="2026-11")
    text = text_of(blocks(alex))
    assert "Staff is left out: your roles do not let you read team." in text
    assert not any(h == "Staff" for k, h in blocks(alex) if k == "h1")
    # HR (and the administrator) read staff: the section is there, still with no salary and no name in it
    for login in ("alex", "hana", "admin"):
        path = alex if login == "alex" else write(demo, login, "pack", tmp_path / f"{login}.docx", period="2026-11")
        whole = text_of(blocks(path))
        assert PLANTED in salaries and not any(shown in whole for shown in ("48,250.50", "48250.5", "48,250")), login
        if login != "alex":
            staff = text_of(section_of(path, "Staff"))
            assert "Headcount by department" in staff
            assert not any(fmt.money(s) in staff or format(s.normalize(), "f") in staff for s in salaries), login
            assert not any(name in staff for name in names), login

    # a manager's staff section counts their own team only, and says so
    with demo.reading() as session:
        mia = resolve_actor(session, "mia")
        team = staff_pack.section(session, mia, MONTH)
        theirs = staff_queries.headcount(session, mia, MONTH.end)
        everyone = staff_queries.headcount(session, hana, MONTH.end)
    assert team.title == "Staff: your team" and "your team only" in team.blocks[0].text
    managers = text_of(blocks(write(demo, "mia", "pack", tmp_path / "mia.docx", period="2026-11")))
    assert "Staff: your team" in managers and "Staff is left out" not in managers     # the pack as she gets it
    assert 0 < sum(theirs.values()) < sum(everyone.values())
    assert team.figures[0].label == "Headcount of your team at month end"
    assert team.figures[0].value == sum(theirs.values())
    by_department = team.blocks[2]
    assert [r[:2] for r in as_rows(by_department)] == [[d, fmt.count(n)] for d, n in theirs.items()]
    assert by_department.total[:2] == ["Total", sum(theirs.values())]

    # a member of staff: their own tasks; a warehouse worker may not read admin
    stef = write(demo, "stef", "pack", tmp_path / "stef.docx", period="2026-11")
    own = text_of(section_of(stef, "Tasks: your own"))
    assert "Stef Staff (stef)" in own and "(sam)" not in own and "(alex)" not in own


def test_the_leave_statement_is_refused_to_those_the_staff_module_does_not_let_ask(demo, tmp_path):
    with demo.reading() as session:
        numbers = dict(session.execute(sa.select(Employee.login, Employee.employee_number)
                                       .where(Employee.login.in_(["stef", "hana", "mia"]))).all())
        mia = resolve_actor(session, "mia")
        outside = session.scalar(sa.select(Employee.employee_number).where(
            Employee.id.not_in(sorted(staff_queries.visible(session, mia))), Employee.login != "mia").limit(1))
    # an employee their own (without a role that reads staff)
    own = write(demo, "stef", "leave-statement", tmp_path / "stef.docx", employee=numbers["stef"], year="2026")
    assert f"Stef Staff ({numbers['stef']})" in text_of(blocks(own))
    # ... and no one else's, not saying whether they exist
    for number in (numbers["hana"], "E9999"):
        with pytest.raises(PermissionDenied) as refused:
            write(demo, "stef", "leave-statement", tmp_path / "x.docx", employee=number, year="2026")
        assert refused.value.field == "employee" and "their own leave statement only" in str(refused.value)
    # a manager their team only; an unknown employee is not found
    with pytest.raises(PermissionDenied) as refused:
        write(demo, "mia", "leave-statement", tmp_path / "x.docx", employee=outside, year="2026")
    assert refused.value.field == "employee" and "not in your team" in str(refused.value)
    with pytest.raises(NotFound) as missing:
        write(demo, "hana", "leave-statement", tmp_path / "x.docx", employee="E9999", year="2026")
    assert missing.value.field == "employee"
    # the asset register is admin's: a role that does not read admin is refused
    warehouse = actor_with("warehouse", login="wes")
    with demo.unit_of_work(warehouse) as session, pytest.raises(PermissionDenied):
        write_report(session, warehouse, "asset-register", tmp_path / "x.docx", as_of="2026-11-30")
    assert not (tmp_path / "x.docx").exists()


@pytest.mark.libreoffice
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_libreoffice_turns_the_asset_register_into_a_pdf_holding_its_total(demo, tmp_path):
    register = write(demo, "admin", "asset-register", tmp_path / "assets.docx", as_of=AS_OF.isoformat())
    pdf = convert_to_pdf(register)
    with demo.reading() as session:
        value = asset_queries.value(session, actor(demo, "admin"), AS_OF)
    shown = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Asset register" in shown and fmt.money(value["total"]["book_value"]) in shown
