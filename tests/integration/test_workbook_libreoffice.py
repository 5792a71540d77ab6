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
