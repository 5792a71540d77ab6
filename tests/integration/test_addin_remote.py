"""The add-in through the server: the open workbook's cells go to `POST /workbooks/open/...`
and the changes answered are made in it; with the person's token from their own settings
file, and refused without one (nothing saved, the workbook as it was)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from addin import ribbon
from engine.sheets.exporting import new_workbook
from tests.integration.addin_support import acting_in_addin, header, open_in_excel, type_row
from tests.integration.api_client import token_for
from tests.integration.conftest import read_sheet
from tests.integration.doors import actor, fingerprint


def _settings_file(folder: Path, token: str | None) -> str:
    """The user's add-in settings file: the server and (maybe) their token, never in the workbook."""
    path = folder / "backoffice-addin.toml"
    path.write_text("" if token is None else f'token = "{token}"\n', encoding="utf-8")
    return str(path)


def _website(db, name: str) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT website FROM contacts WHERE name = :n"), {"n": name}).scalar_one()


def test_sync_and_refresh_through_the_server_with_a_token(people_db, server, tmp_path, excel_engine):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", path)
    token = token_for(people_db, "sam")
    remote = {"BACKOFFICE_SERVER_URL": server, "BACKOFFICE_ADDIN_SETTINGS": _settings_file(tmp_path, token),
              "BACKOFFICE_DATABASE_URL": None, "BACKOFFICE_USER": None}
    with open_in_excel(path, save=True, engine=excel_engine) as book, acting_in_addin(people_db, "sam", **remote):
        sheet = book.sheets["Organisations"]
        acme = type_row(sheet, {"Website": "www.acme.example"}, find=("Name", "Acme Ltd"))
        new = type_row(sheet, {"Name": "Dee Ltd", "Country": "IE"})
        answer = ribbon.sync()
        assert (answer["status"], answer["inserted"], answer["updated"]) == ("applied", 1, 1), answer
        labels = header(sheet)
        assert isinstance(sheet.range((new, labels.index("ID") + 1)).value, float), "the new row got its id"
        assert sheet.range((acme, labels.index("Version") + 1)).value == 2
        assert "sam" in ribbon.who_am_i()["message"]
        with people_db.unit_of_work(actor(people_db, "ada")) as session:   # someone changes Acme meanwhile
            session.execute(sa.text("UPDATE contacts SET website = 'acme.example', version = version + 1 "
                                    "WHERE name = 'Acme Ltd'"))
        assert ribbon.refresh()["refreshed"]["updated"] == 1
        assert sheet.range((acme, labels.index("Website") + 1)).value == "acme.example"
    assert _website(people_db, "Dee Ltd") is None and _website(people_db, "Acme Ltd") == "acme.example"
    rows = read_sheet(path, "Organisations")
    assert any(r[rows[0].index("Name")] == "Dee Ltd" and r[0] for r in rows[1:]), "saved into the file as well"


def test_without_a_token_the_server_refuses_and_nothing_changes(people_db, server, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor(people_db, "sam"), "contacts", path)
    before = fingerprint(people_db)
    remote = {"BACKOFFICE_SERVER_URL": server, "BACKOFFICE_ADDIN_SETTINGS": _settings_file(tmp_path, None),
              "BACKOFFICE_DATABASE_URL": None, "BACKOFFICE_USER": None}
    with open_in_excel(path) as book, acting_in_addin(people_db, "sam", **remote):
        sheet = book.sheets["Organisations"]
        type_row(sheet, {"Website": "www.acme.example"}, find=("Name", "Acme Ltd"))
        for press in (ribbon.sync, ribbon.refresh):
            answer = press()
            assert answer["status"] == "refused" and answer["exit_code"] == 2, answer
            assert "token" in answer["message"]
        assert "Issues" not in [s.name for s in book.sheets] or book.sheets["Issues"].range("A2").value is None
        last = sheet.used_range.last_cell
        assert "www.acme.example" in str(sheet.range((1, 1), (last.row, last.column)).value), "the edit stays"
    with open_in_excel(path) as book, acting_in_addin(people_db, "sam", **remote,
                                                      BACKOFFICE_TOKEN="bo_not-a-real-token"):
        answer = ribbon.sync()
        assert answer["status"] == "refused" and answer["error"]["exit_code"] == 2, answer
    assert fingerprint(people_db) == before
