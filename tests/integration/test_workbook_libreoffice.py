"""LibreOffice opens the workbooks we export, annotate and refresh, and reads our values."""

import pytest

from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import column_letter, edit_by_label, find_row, read_sheet
from tests.libreoffice import sheets_as_rows

pytestmark = pytest.mark.libreoffice


@pytest.fixture
def database_url(tmp_path):
    """LibreOffice reads files, not databases: one SQLite run is enough here."""
    return f"sqlite:///{tmp_path / 'backoffice.db'}"


def test_libreoffice_reads_exported_annotated_and_refreshed_workbooks(people_db, actor_for, settings, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    exported = sheets_as_rows(path, tmp_path / "exported")
    assert exported["People"][0][:4] == ["ID", "Version", "First name", "Last name"]
    assert any(row[2] == "Bolt GmbH" for row in exported["Organisations"])
    assert any(row[2].startswith("=HYPERLINK") for row in exported["Organisations"])  # text, not a formula

    trip = RoundTrip(people_db, settings, actor_for("ada"))
    bolt = find_row(path, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(path, "Organisations", bolt, {"E-mail": "broken"})
    assert trip.sync(path).status == "rejected"
    annotated = sheets_as_rows(path, tmp_path / "annotated")
    assert annotated["Issues"][1][:3] == ["Organisations", f"{column_letter(path, 'Organisations', 'E-mail')}{bolt}",
                                          "E-mail"]

    edit_by_label(path, "Organisations", bolt, {"E-mail": "sales@bolt.example"})
    new_row = len(read_sheet(path, "Organisations")) + 1
    edit_by_label(path, "Organisations", new_row, {"Name": "Cog SARL", "Country": "FR"})
    assert trip.sync(path).status == "applied"
    refreshed = sheets_as_rows(path, tmp_path / "refreshed")
    cog = next(row for row in refreshed["Organisations"] if row[2] == "Cog SARL")
    assert cog[0].isdigit() and cog[1] == "1"


def test_libreoffice_reads_the_inventory_workbook_after_movements_are_posted(db, settings, tmp_path):
    from datetime import date
    from decimal import Decimal

    from engine.inventory.models import Item, Location
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor

    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        session.add_all([Location(code="MAIN", name="Main", kind="warehouse"),
                         Item(sku="BOLT-8", name="Bolt M8", reorder_point=Decimal(10))])
    with db.reading() as session:
        wes = resolve_actor(session, "wes")
    path = tmp_path / "inventory.xlsx"
    new_workbook(db, wes, "inventory", path)
    row = len(read_sheet(path, "Movements")) + 1
    edit_by_label(path, "Movements", row, {"Date": date(2026, 3, 2), "Kind": "receipt", "Reason": "received",
                                           "Item": "BOLT-8 Bolt M8", "Quantity": 4, "To": "MAIN Main", "Unit cost": 0.5})
    assert RoundTrip(db, settings, wes).sync(path).status == "applied"
    opened = sheets_as_rows(path, tmp_path / "lo")
    assert opened["On hand"][1][:5] == ["BOLT-8", "Bolt M8", "MAIN", "", "4"]
    assert opened["Reorder"][1][0] == "BOLT-8"
    assert opened["Movements"][1][:2] == ["1", "1"]
    header = opened["Movements"][0]
    assert opened["Movements"][1][header.index("Item")] == "BOLT-8 Bolt M8"      # its label, not an ID


def test_a_label_chosen_in_a_workbook_saved_by_libreoffice_is_read_as_its_record(people_db, actor_for, settings,
                                                                                 tmp_path):
    """A person picks another organisation for Jo Smith, the file is saved by LibreOffice
    (which rewrites every part its own way): the label still names the record."""
    import sqlalchemy as sa

    from engine.contacts.models import Contact
    from tests.libreoffice import save_with_libreoffice

    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    row = find_row(path, "People", "Last name", "Smith")
    edit_by_label(path, "People", row, {"Organisation": "Bolt GmbH"})
    save_with_libreoffice(path, tmp_path)
    result = RoundTrip(people_db, settings, actor_for("ada")).sync(path)
    assert (result.status, result.updated) == ("applied", 1), result.as_json()
    with people_db.reading() as session:
        bolt = session.scalar(sa.select(Contact.id).where(Contact.name == "Bolt GmbH"))
        assert session.scalar(sa.select(Contact.organisation_id).where(Contact.name == "Jo Smith")) == bolt
    assert read_sheet(path, "People")[row - 1][read_sheet(path, "People")[0].index("Organisation")] == "Bolt GmbH"
    assert RoundTrip(people_db, settings, actor_for("ada")).sync(path).status == "unchanged"


def test_libreoffice_reads_the_ledger_workbook_after_an_entry_is_posted(db, settings, tmp_path):
    from datetime import date

    from engine.ledger.chart import install_chart
    from engine.ledger.services import open_year
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor

    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
        install_chart(session, SYSTEM)
        open_year(session, SYSTEM, date.today().year)
    with db.reading() as session:
        alex = resolve_actor(session, "alex")
    path = tmp_path / "ledger.xlsx"
    new_workbook(db, alex, "ledger", path)
    row = len(read_sheet(path, "Journal")) + 1
    edit_by_label(path, "Journal", row, {"Entry": "A", "Date": date.today(), "Account": "1100", "Debit": 250})
    edit_by_label(path, "Journal", row + 1, {"Entry": "A", "Account": "3100", "Credit": 250})
    assert RoundTrip(db, settings, alex).sync(path).status == "applied"
    opened = sheets_as_rows(path, tmp_path / "lo")
    assert [line[2] for line in opened["Journal"][1:3]] == [f"JE-{date.today().year}-00001"] * 2
    assert opened["Trial balance"][1][:5] == ["1100", "Bank", "asset", "250", ""]
    assert opened["Accounts"][0][:4] == ["ID", "Version", "Code", "Name"]


def test_libreoffice_reads_a_managers_team_workbook(db, tmp_path):
    from datetime import date
    from decimal import Decimal

    from engine.staff.models import LeaveType
    from engine.staff.services import Hire, add_department, hire, request_leave
    from tests.conftest import actor_with

    hana, mo = actor_with("hr", login="hana"), actor_with("manager", login="mo")
    year = date.today().year
    with db.unit_of_work(hana) as session:
        sales = add_department(session, hana, "SAL", "Sales")
        session.add(LeaveType(code="annual", name="Annual leave", yearly_allowance=Decimal(20), needs_balance=True,
                              updated_by="hana"))
        boss = hire(session, hana, Hire("Mo", "Example", "GB", "E1", sales.id, date(year, 1, 1), login="mo"))
        ann = hire(session, hana, Hire("Ann", "Example", "GB", "E2", sales.id, date(year, 1, 1), manager_id=boss.id,
                                       national_id="QQ123456C"))
        request_leave(session, hana, ann.id, "annual", date(year, 3, 2), date(year, 3, 6))
    path = tmp_path / "team.xlsx"
    new_workbook(db, mo, "team", path)
    opened = sheets_as_rows(path, tmp_path / "lo")
    assert opened["Team"][0][:5] == ["ID", "Version", "Number", "First name", "Last name"]
    assert opened["Team"][1][2:5] == ["E2", "Ann", "Example"]
    assert opened["Leave"][1][2:4] == ["E2 Ann Example", "annual Annual leave"]
    assert opened["Balances"][1][:3] == ["E2", "Ann Example", "Annual leave"]
    assert "QQ123456C" not in str(opened)
