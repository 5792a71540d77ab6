"""Tasks and reminders on a real SQLite file and a real PostgreSQL: records linked as people
name them (and refused when they name nothing, or a module switched off), a recurring task
making its next once, the status workflow, who sees which tasks (members of staff their own,
at every door and at the policy gate; the assets of the same area not limited so), the due
list, the management pack's overdue figures, the `tasks` commands, and a real mail merge of
the overdue-tasks selection read back from the outbox."""

from __future__ import annotations

import contextlib
import email
import io
import json
from datetime import date
from decimal import Decimal as D
from email.policy import default as parsed

import docx
import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app as composition
from engine.admin import task_queries as queries
from engine.admin import tasks as services
from engine.admin.models import Asset, Task
from engine.cli import app
from engine.config import Settings
from engine.contacts import services as contacts
from engine.crm.models import Opportunity
from engine.errors import NotFound, PermissionDenied, ValidationFailed
from engine.ledger.models import Invoice
from engine.mailmerge.runs import process_run, start_run
from engine.quality.models import Nonconformance
from engine.security.gate import readable_records
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.staff.models import Department, Employee
from engine.staff.queries import leaving_checklist
from tests.integration.api_client import serving
from tests.integration.conftest import column_letter, edit_by_label, find_row, read_sheet

AS_OF = date(2026, 5, 4)


@pytest.fixture
def office(db):
    """Users mia (manager: writes admin), stef and tom (staff: read admin), alex (accountant:
    no admin); Acme Ltd and Bolt GmbH (with e-mail); Acme's posted invoice INV-1 and Bolt's draft;
    employee E1; a nonconformance; an opportunity with Bolt; asset LAP-1."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("mia", "manager"), ("stef", "staff"), ("tom", "staff"), ("alex", "accountant")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
        address = [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP", "country": "GB"}]
        acme, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Acme Ltd", "country": "GB",
                                                         "email": "info@acme.example"}, address)
        bolt, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt GmbH", "country": "DE",
                                                         "email": "info@bolt.example"}, address)
        department = Department(code="OPS", name="Operations")
        session.add(department)
        session.flush()
        made = [Invoice(kind="sales", number="INV-1", contact_id=acme.id, issued_on=date(2026, 3, 1),
                        due_on=date(2026, 3, 31), status="posted"),
                Invoice(kind="sales", contact_id=bolt.id, issued_on=date(2026, 4, 1), due_on=date(2026, 4, 30)),
                Employee(employee_number="E1", department_id=department.id, start_date=date(2025, 1, 1)),
                Nonconformance(title="Burrs on bolts", opened_on=date(2026, 4, 1), owner="mia"),
                Opportunity(contact_id=bolt.id, title="Framework deal", stage="lead", currency="EUR", owner="mia"),
                Asset(tag="LAP-1", description="Laptop", category="IT", purchased_on=date(2026, 1, 5), cost=D(900),
                      useful_life_months=36)]
        session.add_all(made)
        session.flush()
        db.ids = {"acme": acme.id, "bolt": bolt.id, "draft": made[1].id, "ncr": made[3].id, "opportunity": made[4].id,
                  "asset": made[5].id, "employee": made[2].id}
    return db


def actor(db, login):
    with db.reading() as session:
        return resolve_actor(session, login)


def add(db, login="mia", **values):
    who = actor(db, login)
    with db.unit_of_work(who) as session:
        return queries.task(session, who, services.add_task(session, who, values).id)


def act(db, login, call, *args):
    who = actor(db, login)
    with db.unit_of_work(who) as session:
        return call(session, who, *args)


def refused(db, **values) -> set[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        add(db, **values)
    return {(p.field, p.code) for p in caught.value.problems}


def test_a_task_is_linked_to_a_record_named_as_people_name_it_and_refused_when_it_names_none_or_one_switched_off(
        office):
    ids, due = office.ids, date(2026, 5, 1)
    typed = {f"contact:{ids['acme']}": "Acme Ltd", "invoice:INV-1": "Acme Ltd - posted",
             f"invoice:{ids['draft']}": "Bolt GmbH - draft", "employee:E1": "", f"ncr:{ids['ncr']}": "Burrs on bolts",
             f"opportunity:{ids['opportunity']}": "Bolt GmbH - Framework deal", "asset:lap-1": None}
    shown = {link: add(office, title=f"About {link}", due_on=due, link=link) for link in typed}
    assert shown["invoice:INV-1"]["link"] == "invoice:INV-1"
    assert shown[f"invoice:{ids['draft']}"]["link"] == f"invoice:{ids['draft']}"      # a draft by its id
    assert shown["employee:E1"]["link"] == "employee:E1" and shown["asset:lap-1"] is not None
    assert {link: r["linked"] for link, r in shown.items() if typed[link] is not None} == {
        k: v for k, v in typed.items() if v is not None}
    assert shown["asset:lap-1"]["linked"] == "Laptop" and shown["asset:lap-1"]["link"] == "asset:LAP-1"
    with office.reading() as session:
        stored = session.get(Task, shown["invoice:INV-1"]["id"])
        assert (stored.invoice_id, stored.contact_id, stored.owner, stored.status, stored.priority) == (
            session.scalar(sa.select(Invoice.id).where(Invoice.number == "INV-1")), None, "mia", "open", "normal")

    assert refused(office, title="x", due_on=due, link="planet:3") == {("link", "link")}
    assert refused(office, title="x", due_on=due, link="invoice:INV-404") == {("link", "reference")}
    assert refused(office, title="", due_on=None, owner="nobody", priority="urgent") == {
        ("title", "required"), ("due_on", "required"), ("owner", "reference"), ("priority", "invalid")}
    assert refused(office, title="x", due_on=due, contact_id=ids["acme"], asset_id=ids["asset"]) == {
        ("link", "one_link")}
    assert refused(office, title="x", due_on=due, contact_id=999_999) == {("contact_id", "reference")}

    task_id = shown["invoice:INV-1"]["id"]
    changed = act(office, "mia", services.change_task, task_id, None, {"link": f"contact:{ids['bolt']}"})
    assert (changed.contact_id, changed.invoice_id) == (ids["bolt"], None)       # the old link replaced
    cleared = act(office, "mia", services.change_task, task_id, None, {"link": "", "priority": "high"})
    assert (cleared.contact_id, cleared.priority) == (None, "high")

    with composition.started(["contacts", "inventory", "ledger", "staff", "crm", "admin", "mailmerge"]):  # quality off
        assert refused(office, title="x", due_on=due, link=f"ncr:{ids['ncr']}") == {("link", "switched_off")}
        assert refused(office, title="x", due_on=due, ncr_id=ids["ncr"]) == {("link", "switched_off")}


def test_a_recurring_task_makes_its_next_once_keeping_its_day_where_the_month_has_it(office):
    first = add(office, title="Bank reconciliation", due_on=date(2026, 1, 31), recurrence="monthly", owner="stef",
                link=f"contact:{office.ids['acme']}", priority="high")
    done = act(office, "mia", services.done_task, first["id"], date(2026, 2, 2))
    with office.reading() as session:
        february = session.get(Task, done.next_id)
        assert (done.status, done.done_on, february.due_on, february.owner, february.contact_id, february.priority,
                february.recurrence, february.status) == (
            "done", date(2026, 2, 2), date(2026, 2, 28), "stef", office.ids["acme"], "high", "monthly", "open")
    march = act(office, "mia", services.done_task, february.id, None)
    with office.reading() as session:
        assert session.get(Task, march.next_id).due_on == date(2026, 3, 31)      # back on the 31st

    again = act(office, "mia", services.done_task, first["id"], None)           # done already: nothing changes
    assert (again.done_on, again.next_id) == (date(2026, 2, 2), done.next_id)
    act(office, "mia", services.reopen_task, first["id"])
    act(office, "mia", services.done_task, first["id"], None)                   # done again: no second next
    with office.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Task)) == 3

    yearly = add(office, title="Renew insurance", due_on=date(2028, 2, 29), recurrence="yearly")
    with office.reading() as session:
        assert session.get(Task, act(office, "mia", services.done_task, yearly["id"], None).next_id).due_on == \
            date(2029, 2, 28)
    cancelled = act(office, "mia", services.cancel_task, add(office, title="x", due_on=date(2026, 5, 1))["id"])
    with pytest.raises(ValidationFailed) as caught:
        act(office, "mia", services.done_task, cancelled.id, None)
    assert [(p.field, p.code) for p in caught.value.problems] == [("status", "workflow")]
    assert act(office, "mia", services.reopen_task, cancelled.id).status == "open"


def test_a_leavers_open_tasks_are_on_their_leaving_checklist_to_hand_over(office):
    with office.unit_of_work(SYSTEM, source="system") as session:
        session.get(Employee, office.ids["employee"]).login = "stef"
    add(office, title="Order the toner", due_on=date(2026, 6, 1), owner="stef")
    add(office, title="Old one", due_on=date(2026, 5, 1), owner="stef")
    act(office, "mia", services.done_task, add(office, title="Done", due_on=date(2026, 4, 1), owner="stef")["id"], None)
    add(office, title="Not stef's", due_on=date(2026, 5, 1), owner="tom")
    with office.unit_of_work(SYSTEM) as session:
        items = leaving_checklist(session, SYSTEM, "E1")["items"]
    handed = [i["item"] for i in items if i["item"].startswith("hand over")]
    assert [h.split(" ", 4)[4] for h in handed] == ["Old one (due 2026-05-01)", "Order the toner (due 2026-06-01)"]


def test_members_of_staff_see_their_own_tasks_only_and_writers_of_admin_every_one(office):
    stefs = add(office, title="Stef's", due_on=date(2026, 4, 1), owner="stef")
    toms = add(office, title="Tom's", due_on=date(2026, 4, 2), owner="tom", priority="high")
    add(office, title="Mia's later", due_on=date(2026, 5, 6))
    stef, mia = actor(office, "stef"), actor(office, "mia")
    with office.reading() as session:
        assert [t["id"] for t in queries.tasks(session, stef)] == [stefs["id"]]
        assert [t["id"] for t in queries.due(session, stef, as_of=AS_OF)] == [stefs["id"]]
        assert [t["title"] for t in queries.tasks(session, mia)] == ["Stef's", "Tom's", "Mia's later"]
        with pytest.raises(NotFound):
            queries.task(session, stef, toms["id"])
        with pytest.raises(PermissionDenied) as caught:
            queries.tasks(session, stef, owner="tom")
        assert caught.value.field == "owner"
        with pytest.raises(PermissionDenied):
            queries.tasks(session, actor(office, "alex"))                     # the accountant does not read admin
        # The policy gate says the same (the audit log reads through it); assets are not limited so.
        assert readable_records(session, stef, "tasks") == {stefs["id"]}
        assert readable_records(session, mia, "tasks") is None
        assert readable_records(session, stef, "assets") is None
        with pytest.raises(PermissionDenied):
            readable_records(session, actor(office, "alex"), "tasks")

        due = queries.due(session, mia, within=2, as_of=AS_OF)                # overdue first, flagged
        assert [(t["title"], t["overdue"], t["days_overdue"]) for t in due] == [
            ("Stef's", True, 33), ("Tom's", True, 32), ("Mia's later", False, 0)]
        assert [t["title"] for t in queries.due(session, mia, within=1, as_of=AS_OF)] == ["Stef's", "Tom's"]
        pack = queries.overdue_summary(session, mia, AS_OF)
        assert (pack["count"], pack["by_owner"], pack["by_priority"]) == (
            2, [{"owner": "stef", "count": 1}, {"owner": "tom", "count": 1}],
            [{"priority": "high", "count": 1}, {"priority": "normal", "count": 1}])
        assert queries.overdue_summary(session, stef, AS_OF)["count"] == 1
    with pytest.raises(PermissionDenied):
        add(office, login="stef", title="mine", due_on=date(2026, 5, 1))         # staff read; they do not write
    with pytest.raises(PermissionDenied):
        act(office, "stef", services.done_task, stefs["id"], None)


def test_the_tasks_commands(office):
    url = office.engine.url.render_as_string(hide_password=False)

    def run(*args, user="mia"):
        result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", user])
        text = result.stdout if result.exit_code == 0 else result.stderr
        return result.exit_code, json.loads(text)

    code, added = run("tasks", "add", "Chase INV-1", "--due", "2026-01-31", "--owner", "stef", "--priority", "high",
                      "--link", "invoice:INV-1", "--every", "monthly", "--notes", "call first")
    assert code == 0 and (added["link"], added["recurrence"], added["notes"], added["overdue"]) == (
        "invoice:INV-1", "monthly", "call first", True)
    code, done = run("tasks", "done", str(added["id"]))
    assert code == 0 and (done["status"], done["next"]["due_on"], done["next"]["link"]) == (
        "done", "2026-02-28", "invoice:INV-1")
    code, changed = run("tasks", "change", str(done["next"]["id"]), "--due", "2099-01-01", "--link", "", "--owner", "tom")
    assert code == 0 and (changed["due_on"], changed["link"], changed["owner"]) == ("2099-01-01", None, "tom")
    code, _ = run("tasks", "cancel", str(changed["id"]))
    assert code == 0
    code, problem = run("tasks", "add", "x", "--due", "2026-05-01", "--link", "ncr:999")
    assert code == 1 and problem["problems"][0]["field"] == "link"
    run("tasks", "add", "Overdue", "--due", "2026-01-02", "--owner", "stef")
    run("tasks", "add", "Far away", "--due", "2099-01-02", "--owner", "stef")
    code, rows = run("tasks", "list", "--status", "all")
    assert code == 0 and [r["title"] for r in rows] == ["Overdue", "Chase INV-1", "Chase INV-1", "Far away"]
    code, mine = run("tasks", "due", "--within", "3", user="stef")
    assert code == 0 and [(r["title"], r["overdue"]) for r in mine] == [("Overdue", True)]
    code, refusal = run("tasks", "list", "--owner", "tom", user="stef")
    assert code != 0 and refusal["problems"][0]["field"] == "owner"


def test_overdue_tasks_feed_a_real_mail_merge_to_the_contacts_linked(office, database_url, tmp_path):
    ids = office.ids
    add(office, title="Send the signed contract", due_on=date(2026, 4, 20), link=f"contact:{ids['acme']}")
    add(office, title="Refund the credit note", due_on=date(2026, 4, 1), link="invoice:INV-1", owner="stef")
    add(office, title="Send the price list", due_on=date(2026, 4, 30), link=f"opportunity:{ids['opportunity']}")
    add(office, title="Not yet due", due_on=date(2026, 5, 10), link=f"contact:{ids['bolt']}")
    add(office, title="No contact behind it", due_on=date(2026, 4, 1), link="employee:E1")
    settings = Settings(database_url=database_url, output_dir=tmp_path / "out",
                        mail={"sender": "office@widget.example", "sender_name": "Widget Works",
                              "outbox_dir": str(tmp_path / "outbox")})
    mia = actor(office, "mia")
    run_id = start_run(office, settings, mia, "task_reminder", "overdue-tasks", {"days": 3, "as_of": AS_OF.isoformat()},
                       "outbox")
    report = process_run(office, settings, mia, run_id)
    assert (report.sent, report.printed, report.failed, report.status) == (2, 0, [], "finished")
    drafts = {}
    for path in (tmp_path / "outbox").glob("*.eml"):
        draft = email.message_from_bytes(path.read_bytes(), policy=parsed)
        [letter] = list(draft.iter_attachments())               # the letter, attached as .docx
        printed = "\n".join(p.text for p in docx.Document(io.BytesIO(letter.get_content())).paragraphs)
        assert "days overdue)" in printed
        drafts[draft["To"].addresses[0].addr_spec] = draft.get_body(("plain",)).get_content()
        assert all(line.strip() in printed for line in drafts[draft["To"].addresses[0].addr_spec].splitlines()
                   if "days overdue)" in line)
    acme, bolt = drafts["info@acme.example"], drafts["info@bolt.example"]
    assert "Send the signed contract, due 20 April 2026 (14 days overdue)" in acme
    assert "Refund the credit note, due 1 April 2026 (33 days overdue)" in acme       # through its invoice
    assert "Send the price list" in bolt and "(4 days overdue)" in bolt                # through the opportunity
    assert "Not yet due" not in bolt and "No contact behind it" not in acme + bolt


def tasks_in(path) -> list[dict]:
    header, *rows = read_sheet(path, "Tasks")
    return [dict(zip(header, row, strict=True)) for row in rows if any(row)]


def test_the_office_workbook_edits_tasks_through_their_rules_and_gives_staff_their_own(office, settings, tmp_path):
    add(office, title="Bank reconciliation", due_on=date(2026, 1, 31), recurrence="monthly", owner="stef")
    add(office, title="Tom's call", due_on=date(2026, 4, 2), owner="tom", link="invoice:INV-1")
    path = tmp_path / "office.xlsx"
    new_workbook(office, actor(office, "mia"), "office", path)
    rows = tasks_in(path)
    assert [(r["Title"], r["Due"], r["Invoice"]) for r in rows] == [
        ("Bank reconciliation", date(2026, 1, 31), ""), ("Tom's call", date(2026, 4, 2), "INV-1 Acme Ltd")]
    edit_by_label(path, "Tasks", find_row(path, "Tasks", "Title", "Bank reconciliation"), {"Status": "done"})
    edit_by_label(path, "Tasks", 4, {"Title": "Two links", "Due": date(2026, 6, 1), "Owner": "stef",
                                     "Contact": "Acme Ltd", "Asset": "LAP-1"})
    trip = RoundTrip(office, settings, actor(office, "mia"))
    [problem] = trip.sync(path).problems
    assert (problem.code, problem.cell) == ("one_link", f"{column_letter(path, 'Tasks', 'Contact')}4")
    edit_by_label(path, "Tasks", 4, {"Asset": None, "Priority": "high"})
    result = trip.sync(path)
    assert (result.status, result.inserted, result.updated) == ("applied", 1, 1), result.as_json()
    with office.reading() as session:
        done = session.scalars(sa.select(Task).where(Task.title == "Bank reconciliation", Task.status == "done")).one()
        new = session.scalars(sa.select(Task).where(Task.title == "Two links")).one()
        assert session.get(Task, done.next_id).due_on == date(2026, 2, 28)          # the next, made by the service
        assert (new.contact_id, new.priority, new.owner, new.updated_by) == (office.ids["acme"], "high", "stef", "mia")

    mine = tmp_path / "stef.xlsx"
    new_workbook(office, actor(office, "stef"), "office", mine)
    assert sorted(r["Title"] for r in tasks_in(mine) if r["Title"]) == [
        "Bank reconciliation", "Bank reconciliation", "Two links"]                    # not Tom's call
    # Stef reads no ledger and no quality: no list of invoices and their customers, nor of NCRs.
    listed = {c.value for row in openpyxl.load_workbook(mine)["_lists"].iter_rows() for c in row if c.value}
    assert not any("INV-1" in str(v) or "Burrs" in str(v) for v in listed) and "LAP-1 Laptop" in listed
    everything = {c.value for row in openpyxl.load_workbook(path)["_lists"].iter_rows() for c in row if c.value}
    assert any("INV-1" in str(v) for v in everything) and any("Burrs" in str(v) for v in everything)


def test_tasks_over_http(office, settings):
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(contextlib.contextmanager(serving)(office, settings))
        mia, stef = api.as_("mia"), api.as_("stef")
        made = api.post("/tasks", json={"title": "Call Acme", "due_on": "2026-01-31", "owner": "stef",
                                        "recurrence": "monthly", "link": f"contact:{office.ids['acme']}"}, headers=mia)
        assert made.status_code == 201 and made.json()["link"] == f"contact:{office.ids['acme']}", made.text
        assert api.post("/tasks", json={"title": "x", "due_on": "2026-01-31", "link": "ncr:999"},
                        headers=mia).json()["problems"][0]["field"] == "link"
        assert api.post("/tasks", json={"title": "x", "due_on": "2026-01-31"}, headers=stef).status_code == 403
        task_id, etag = made.json()["id"], made.headers["ETag"]
        changed = api.patch(f"/tasks/{task_id}", json={"priority": "high"}, headers={**mia, "If-Match": etag})
        assert changed.status_code == 200 and changed.json()["priority"] == "high"
        assert api.patch(f"/tasks/{task_id}", json={"priority": "low"},
                         headers={**mia, "If-Match": etag}).status_code == 412
        done = api.post(f"/tasks/{task_id}/done", json={"done_on": "2026-02-01"}, headers=mia).json()
        assert (done["status"], done["next"]["due_on"]) == ("done", "2026-02-28")
        add(office, title="Tom's", due_on=date(2026, 1, 2), owner="tom")
        assert [t["title"] for t in api.get("/tasks", headers=stef).json()["items"]] == ["Call Acme"]
        due = api.get("/tasks/due", params={"within": 0, "as_of": "2026-05-04"}, headers=mia).json()["items"]
        assert [(t["title"], t["overdue"]) for t in due] == [("Tom's", True), ("Call Acme", True)]
        pack = api.get("/tasks/overdue", params={"as_of": "2026-05-04"}, headers=mia).json()
        assert (pack["count"], pack["by_owner"]) == (2, [{"owner": "stef", "count": 1}, {"owner": "tom", "count": 1}])
        assert api.get(f"/tasks/{done['next']['id']}", headers=stef).status_code == 200
        assert api.post(f"/tasks/{done['next']['id']}/cancel", headers=mia).json()["status"] == "cancelled"
        assert api.post(f"/tasks/{done['next']['id']}/reopen", headers=mia).json()["status"] == "open"
