"""The command line through a real server (uvicorn on loopback, in a thread), with no database
reachable from the command: the same files, output and exit codes as the local command line
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socket
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.db.installation import Installation
from engine.db.session import Database
from tests.integration.api_client import token_for
from tests.integration.conftest import (
    edit_by_label,
    fill_people,
    find_row,
    read_meta,
    second_database,
)
from tests.integration.remote_world import NO_DATABASE


@pytest.fixture
def twin(people_db, database_url, pg_admin_engine, tmp_path) -> Iterator[Database]:
    """A second database holding what `people_db` holds, of the same installation (its id
    and secret copied), so one workbook can be synced into each."""
    with second_database(database_url, pg_admin_engine, tmp_path) as database:
        with people_db.reading() as session:
            ours = session.execute(sa.select(Installation.installation_id, Installation.workbook_key)).one()
        with database.engine.begin() as conn:
            conn.execute(sa.update(Installation.__table__).values(installation_id=ours[0], workbook_key=ours[1]))
        yield fill_people(database)


def remote(server: str, token: str):
    """`backoffice ...` run through `server` with `token`; no database it could reach."""
    from engine.cli import app

    env = {"BACKOFFICE_SERVER_URL": server, "BACKOFFICE_TOKEN": token, "BACKOFFICE_DATABASE_URL": NO_DATABASE,
           "BACKOFFICE_USER": None, "COLUMNS": "200", "NO_COLOR": "1"}
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def local(db: Database, user: str = "ada"):
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    env = {"BACKOFFICE_SERVER_URL": None, "BACKOFFICE_TOKEN": None, "BACKOFFICE_USER": user,
           "COLUMNS": "200", "NO_COLOR": "1"}
    return lambda *args: CliRunner().invoke(app, ["--database-url", url, *args], env=env)


@pytest.fixture
def ada(server, people_db):
    return remote(server, token_for(people_db, "ada"))


def exported(run, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "contacts.xlsx"
    done = run("workbook", "new", "contacts", "--out", str(path))
    assert done.exit_code == 0, done.output
    return path


# -- what is compared ---------------------------------------------------------------------------

def table_rows(db: Database, *tables: str) -> dict[str, list[dict]]:
    """The rows of `tables`, time stamps left out (they tell when, not what)."""
    found = {}
    with db.engine.connect() as conn:
        for name in tables:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
            found[name] = [{k: v for k, v in row.items() if not isinstance(v, datetime)} for row in rows]
    return found


def cell_values(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cell values but the `_backoffice` sheet's (signed, time-stamped)."""
    book = openpyxl.load_workbook(path)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
            for ws in book.worksheets if ws.title != "_backoffice"}


# -- the workbook round trip --------------------------------------------------------------------

def test_a_remote_sync_and_a_local_one_give_the_same_database_and_workbook(ada, people_db, twin, tmp_path):
    path = exported(ada, tmp_path / "remote")
    row = find_row(path, "Organisations", "Name", "Acme Ltd")
    edit_by_label(path, "Organisations", row, {"Phone": "+44 113 496 0000"})
    edit_by_label(path, "Organisations", len(openpyxl.load_workbook(path)["Organisations"]["A"]) + 1,
                  {"Name": "Nova SA", "Country": "FR"})
    copy = tmp_path / "local" / "contacts.xlsx"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())

    far = ada("sync", str(path), "--json")
    near = local(twin)("sync", str(copy), "--json")
    assert far.exit_code == near.exit_code == 0, (far.output, near.output)
    assert json.loads(far.stdout) == {**json.loads(near.stdout), "file": str(path)}
    assert json.loads(far.stdout)["inserted"] == 1

    assert table_rows(people_db, "contacts", "addresses") == table_rows(twin, "contacts", "addresses")
    assert cell_values(path) == cell_values(copy)
    far_meta, near_meta = read_meta(path, people_db), read_meta(copy, twin)
    assert far_meta.base == near_meta.base and far_meta.labels == near_meta.labels
    assert (far_meta.workbook_id, far_meta.user, far_meta.generation) == (
        near_meta.workbook_id, near_meta.user, near_meta.generation)
    assert not [p for p in path.parent.iterdir() if p.name != "contacts.xlsx"]   # no temporary file left


def test_the_human_report_is_the_local_one(ada, twin, tmp_path):
    path = exported(ada, tmp_path / "remote")
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Bolt GmbH"), {"Phone": "+49 1"})
    copy = tmp_path / "contacts.xlsx"
    copy.write_bytes(path.read_bytes())
    far, near = ada("sync", "--dry-run", str(path)), local(twin)("sync", "--dry-run", str(copy))
    assert far.exit_code == near.exit_code == 0
    assert far.stdout.replace(str(path), "FILE") == near.stdout.replace(str(copy), "FILE")
    assert "+49 1" in far.stdout


def test_a_remote_validate_with_a_bad_cell_exits_1_and_marks_the_local_file(ada, people_db, tmp_path):
    path = exported(ada, tmp_path)
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Acme Ltd"), {"Country": "ZZ"})
    done = ada("validate", str(path))
    assert done.exit_code == 1, done.output
    assert f"{path}: 1 problem found" in done.stdout and "The cells are marked" in done.stdout
    assert "Issues" in openpyxl.load_workbook(path).sheetnames
    assert read_meta(path, people_db).marks       # the bad cell carries our mark


def test_a_remote_refresh_brings_in_what_others_saved(ada, people_db, tmp_path):
    from engine.contacts import services
    from engine.security.roles import SYSTEM

    path = exported(ada, tmp_path)
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Later Ltd", "country": "GB"})
    done = ada("refresh", str(path))
    assert done.exit_code == 0 and "1 row added" in done.stdout
    find_row(path, "Organisations", "Name", "Later Ltd")


@pytest.mark.parametrize("hostile", ["zip bomb", "macros"])
def test_a_hostile_file_is_refused_with_exit_2_and_nothing_is_written(ada, people_db, tmp_path, hostile):
    path = exported(ada, tmp_path / "files")
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Acme Ltd"), {"Phone": "+44 1"})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        if hostile == "zip bomb":
            package.writestr("xl/media/zeros.xml", b"\0" * (50 << 20))
        else:
            package.writestr("xl/vbaProject.bin", b"\xcc" * 64)
    before = path.read_bytes()
    done = ada("sync", str(path), "--json")
    assert done.exit_code == 2
    shown = json.loads(done.stdout)
    assert shown["file"] == str(path) and shown["status"] == "unusable"
    assert ("zip bomb" if hostile == "zip bomb" else "macro") in shown["error"]
    assert path.read_bytes() == before and sorted(path.parent.iterdir()) == [path]
    with people_db.reading() as session:
        assert session.scalar(sa.text("SELECT phone FROM contacts WHERE name = 'Acme Ltd'")) is None


def test_workbook_new_never_replaces_a_file_that_is_not_ours(ada, tmp_path):
    mine = tmp_path / "contacts.xlsx"
    mine.write_bytes(b"my own notes")
    done = ada("workbook", "new", "contacts", "--out", str(mine))
    assert done.exit_code == 2 and "not a Backoffice workbook" in done.output
    assert mine.read_bytes() == b"my own notes"


def test_workbook_new_keeps_unsynced_edits_unless_forced(ada, tmp_path):
    path = exported(ada, tmp_path)
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Acme Ltd"), {"Phone": "+44 1"})
    done = ada("workbook", "new", "contacts", "--out", str(path))
    assert done.exit_code == 2 and "unsynced change" in done.output
    assert ada("workbook", "new", "contacts", "--out", str(path), "--force").exit_code == 0


# -- the read commands ----------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["contacts", "list", "--json"], ["contacts", "list"],
                                     ["contacts", "list", "--kind", "person", "--json"],
                                     ["contacts", "show", "1"], ["contacts", "show", "1", "--json"]])
def test_a_remote_read_prints_exactly_what_the_local_one_prints(ada, people_db, command):
    far, near = ada(*command), local(people_db)(*command)
    assert far.exit_code == near.exit_code == 0, far.output
    assert far.stdout == near.stdout


def test_the_remote_audit_is_the_local_one(ada, people_db, tmp_path):
    path = exported(ada, tmp_path)
    edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Acme Ltd"), {"Phone": "+44 1"})
    assert ada("sync", str(path)).exit_code == 0
    for args in (["audit", "--json"], ["audit", "--limit", "2", "--json"], ["audit", "--table", "contacts"],
                 ["audit", "--since", date.today().isoformat(), "--json"]):
        far, near = ada(*args), local(people_db)(*args)
        assert far.exit_code == near.exit_code == 0, far.output
        # Each read of the log may add audit rows of its own (audited reads): compare what both saw.
        if "--json" in args:
            near_rows = {r["id"]: r for r in json.loads(near.stdout)}
            far_rows = json.loads(far.stdout)
            assert far_rows and all(near_rows.get(r["id"], r) == r for r in far_rows)
            if "--limit" in args:
                assert len(far_rows) == 2
        else:
            assert far.stdout == near.stdout


def test_a_refusal_by_the_server_prints_and_exits_as_a_local_one(ada, people_db):
    far, near = ada("contacts", "show", "999"), local(people_db)("contacts", "show", "999")
    assert far.exit_code == near.exit_code == 2
    assert far.stderr == near.stderr


# -- identity and reachability ---------------------------------------------------------------------

def test_a_wrong_token_exits_2_with_a_clear_message(server, tmp_path):
    done = remote(server, "bo_not-a-token")("contacts", "list")
    assert done.exit_code == 2
    assert "token" in done.stderr.lower() and "Traceback" not in done.output


def test_acting_as_someone_else_than_the_token_is_refused(ada, server, people_db):
    done = ada("contacts", "list", "--user", "sam")
    assert done.exit_code == 2 and "token is your identity" in done.stderr and "ada" in done.stderr
    assert ada("contacts", "list", "--user", "ada").exit_code == 0


def test_an_unreachable_server_is_a_refusal_naming_the_setting(people_db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = remote(f"http://127.0.0.1:{port}", "bo_anything")("contacts", "list")
    assert done.exit_code == 2
    assert "BACKOFFICE_SERVER_URL" in done.stderr and "Traceback" not in done.output


def test_a_missing_token_is_named(server):
    from engine.cli import app

    done = CliRunner().invoke(app, ["--server", server, "contacts", "list"],
                              env={"BACKOFFICE_TOKEN": None, "BACKOFFICE_DATABASE_URL": NO_DATABASE})
    assert done.exit_code == 2 and "BACKOFFICE_TOKEN" in done.stderr


def test_a_file_saved_again_during_a_remote_sync_is_kept_and_the_synced_copy_put_beside(tmp_path):
    import hashlib

    from engine.remote import Answer, write_back
    from engine.sheets.roundtrip import FileResult

    path = tmp_path / "stock.xlsx"
    path.write_bytes(b"as uploaded")
    sent = hashlib.sha256(path.read_bytes()).digest()
    path.write_bytes(b"saved again in Excel meanwhile")
    answer = Answer(FileResult(str(path), "applied", inserted=1), b"synced", sent)
    write_back(path, answer, synced=True)
    assert path.read_bytes() == b"saved again in Excel meanwhile"
    kept = Path(answer.result.written_to)
    assert kept.parent == tmp_path and kept.read_bytes() == b"synced" and "(synced " in kept.name
    assert "changed while the server synced it" in answer.result.warning
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, kept.name])
