"""Workbooks over HTTPS: the same export and round trip as the command line, on a private copy
that never outlives the request (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import tempfile
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.api.app import create_app
from engine.contacts.models import Contact
from engine.sheets.exporting import new_workbook
from tests.integration.api_client import bearer, token_for
from tests.integration.conftest import edit_by_label, find_row, read_meta, read_sheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def server_temp(tmp_path, monkeypatch):
    """The server's temporary folders go here, so a test sees whether any is left behind."""
    folder = tmp_path / "server-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def exported(people_db, actor_for, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


def upload(api, route, path, login="ada", **fields):
    return api.post(f"/workbooks/{route}", headers=api.as_(login),
                    files={"file": (path.name, path.read_bytes(), XLSX)},
                    data={k: str(v).lower() for k, v in fields.items()})


def names(db) -> list[str]:
    with db.reading() as session:
        return sorted(session.scalars(select(Contact.name)))


def phone_of(db, name):
    with db.reading() as session:
        return session.scalar(select(Contact.phone).where(Contact.name == name))


def test_the_exported_workbook_is_the_one_the_command_line_writes(api, people_db, exported, tmp_path,
                                                                   server_temp):
    reply = api.get("/workbooks/contacts", headers=api.as_("ada"))
    assert reply.status_code == 200 and reply.headers["content-type"] == XLSX
    assert reply.headers["content-disposition"] == 'attachment; filename="contacts-ada.xlsx"'
    remote = tmp_path / "remote.xlsx"
    remote.write_bytes(reply.content)
    for sheet in ("Organisations", "People"):
        assert read_sheet(remote, sheet) == read_sheet(exported, sheet)
    meta = read_meta(remote, people_db)      # signed by this installation, for ada
    assert meta.user == "ada" and meta.module == "contacts"
    assert list(server_temp.iterdir()) == []


def test_an_unknown_workbook_is_a_404_problem(api):
    reply = api.get("/workbooks/nonsense", headers=api.as_("ada"))
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["exit_code"] == 2 and "nonsense" in reply.json()["detail"]


def test_a_switched_off_module_has_no_workbook(people_db, settings):
    from engine import app as application

    with application.started(["contacts"]), TestClient(create_app(settings, modules=["contacts"],
                                                                   database=people_db)) as client:
        reply = client.get("/workbooks/inventory", headers=bearer(token_for(people_db, "ada")))
    assert reply.status_code == 404 and "switched off" in reply.json()["detail"]


def test_a_bad_cell_gets_exit_code_1_and_the_annotated_workbook_and_nothing_is_saved(api, people_db, exported,
                                                                                   server_temp):
    row = find_row(exported, "Organisations", "Name", "Acme Ltd")
    edit_by_label(exported, "Organisations", row, {"Country": "ZZ", "Phone": "+44 1"})
    for route in ("validate", "sync"):
        reply = upload(api, route, exported)
        assert reply.status_code == 200
        body = reply.json()
        assert body["exit_code"] == 1 and body["annotated"] is True
        assert body["result"]["status"] == ("invalid" if route == "validate" else "rejected")
        assert body["result"]["file"] == "contacts.xlsx" == body["filename"]
        assert [(p["sheet"], p["column"]) for p in body["result"]["problems"]] == [("Organisations", "Country")]
        marked = exported.with_name(f"{route}-answer.xlsx")
        marked.write_bytes(base64.b64decode(body["workbook"]))
        assert "Issues" in zipfile.ZipFile(marked).read("xl/workbook.xml").decode()
    assert phone_of(people_db, "Acme Ltd") is None
    assert list(server_temp.iterdir()) == []


def test_a_sync_saves_and_answers_the_refreshed_workbook_with_the_new_ids(api, people_db, exported, tmp_path):
    row = len(read_sheet(exported, "Organisations")) + 1
    edit_by_label(exported, "Organisations", row, {"Name": "Nova SA", "Country": "FR"})
    reply = upload(api, "sync", exported)
    body = reply.json()
    assert reply.status_code == 200 and body["exit_code"] == 0
    assert body["result"]["status"] == "applied" and body["result"]["inserted"] == 1
    assert "Nova SA" in names(people_db)
    synced = tmp_path / "synced.xlsx"
    synced.write_bytes(base64.b64decode(body["workbook"]))
    rows = read_sheet(synced, "Organisations")
    ids = {r[rows[0].index("Name")]: r[0] for r in rows[1:]}
    assert ids["Nova SA"]       # the new row has its id written in
    assert upload(api, "sync", synced).json()["result"]["status"] == "unchanged"


def test_a_dry_run_lists_the_changes_and_saves_nothing(api, people_db, exported):
    row = find_row(exported, "Organisations", "Name", "Acme Ltd")
    edit_by_label(exported, "Organisations", row, {"Phone": "+44 1"})
    body = upload(api, "sync", exported, dry_run=True).json()
    assert body["exit_code"] == 0 and body["workbook"] is None
    assert body["result"]["changes"][0]["action"] == "update"
    assert phone_of(people_db, "Acme Ltd") is None


def test_a_refresh_brings_in_a_record_added_meanwhile(api, people_db, exported, tmp_path):
    from engine.contacts import services
    from engine.security.roles import SYSTEM

    with people_db.unit_of_work(SYSTEM, source="system") as session:
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Later Ltd", "country": "GB"})
    body = upload(api, "refresh", exported).json()
    assert body["exit_code"] == 0 and body["result"]["refreshed"]["added"] == 1
    fresh = tmp_path / "fresh.xlsx"
    fresh.write_bytes(base64.b64decode(body["workbook"]))
    rows = read_sheet(fresh, "Organisations")
    assert "Later Ltd" in [r[rows[0].index("Name")] for r in rows]


def _with_zip_bomb(path):
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/media/zeros.xml", b"\0" * (50 << 20))


def test_a_hostile_file_is_refused_422_before_it_is_read_and_nothing_is_kept(api, people_db, exported,
                                                                           server_temp):
    row = find_row(exported, "Organisations", "Name", "Acme Ltd")
    edit_by_label(exported, "Organisations", row, {"Phone": "+44 1"})
    _with_zip_bomb(exported)
    reply = upload(api, "sync", exported)
    assert reply.status_code == 422
    body = reply.json()
    assert body["exit_code"] == 2 and "zip bomb" in body["reason"]
    assert body["detail"].startswith("contacts.xlsx: ") and str(server_temp) not in reply.text
    assert phone_of(people_db, "Acme Ltd") is None
    assert list(server_temp.iterdir()) == []


def test_a_macro_workbook_is_refused_unless_allowed(api, exported):
    with zipfile.ZipFile(exported, "a") as package:
        package.writestr("xl/vbaProject.bin", b"\xcc" * 64)
    reply = upload(api, "validate", exported)
    assert reply.status_code == 422 and "macro" in reply.json()["reason"]


def test_an_upload_larger_than_the_server_accepts_is_413(people_db, settings, exported, server_temp):
    small = dataclasses.replace(settings, server=dataclasses.replace(settings.server, max_request_bytes=4096))
    with TestClient(create_app(small, database=people_db)) as client:
        reply = client.post("/workbooks/sync", headers=bearer(token_for(people_db, "ada")),
                            files={"file": ("contacts.xlsx", exported.read_bytes(), XLSX)})
    assert reply.status_code == 413 and reply.json()["code"] == "too_large"
    assert list(server_temp.iterdir()) == []


def test_without_a_token_nothing_is_read(api, exported):
    assert api.get("/workbooks/contacts").status_code == 401
    reply = api.post("/workbooks/sync", files={"file": ("contacts.xlsx", exported.read_bytes(), XLSX)})
    assert reply.status_code == 401


def test_the_folder_is_removed_when_the_round_trip_fails(api, exported, server_temp, monkeypatch):
    from engine.sheets import roundtrip

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(roundtrip.RoundTrip, "validate", broken)
    reply = upload(api, "validate", exported)
    assert reply.status_code == 500 and "disk on fire" not in reply.text
    assert list(server_temp.iterdir()) == []


def test_a_workbook_synced_by_someone_whose_role_may_not_write_it_is_rejected_at_the_cell(api, people_db,
                                                                                         exported):
    """stef (staff) reads the contacts but writes nothing: their sync of an edited contacts
    workbook is rejected as the command line rejects it, the cell marked `read-only`, and
    nothing is saved."""
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 30 1234"})
    reply = upload(api, "sync", exported, login="stef")
    assert reply.status_code == 200 and reply.json()["exit_code"] == 1, reply.text
    assert reply.json()["result"]["status"] == "rejected"
    assert [(p["column"], p["code"]) for p in reply.json()["result"]["problems"]] == [("Phone", "read-only")]
    assert phone_of(people_db, "Bolt GmbH") is None
