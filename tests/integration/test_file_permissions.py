"""Who may read the files Backoffice writes (issue 13), on SQLite and PostgreSQL: a workbook
holding a sensitive field (HR's Staff workbook) is readable by its owner only, whatever path,
even over an existing file others could read; one without (a manager's Team workbook, the
contacts) is an ordinary file; a sync keeps a workbook's permissions as they were. (The staff
report and its PDF: tests/e2e/test_report_cli.py and below.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.office.docx import render_docx
from engine.office.files import make_private
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, find_row
from tests.integration.staff_books import HANA, MO, staff  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """A permissive umask, as on many shared machines: files are readable by all by default."""
    before = os.umask(0o022)
    yield 0o644
    os.umask(before)


def test_an_hr_workbook_is_readable_by_its_owner_only(db, staff, tmp_path, umask):  # noqa: F811
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    hers = folder / "staff.xlsx"
    hers.write_bytes(b"")                 # a file everyone could read, overwritten by the export
    hers.chmod(0o666)
    new_workbook(db, HANA, "staff", hers)
    assert mode(hers) == 0o600
    team = folder / "team.xlsx"
    new_workbook(db, MO, "team", team)    # no sensitive field in it: an ordinary file
    assert mode(team) == umask


def test_a_sync_keeps_the_workbooks_permissions(people_db, settings, actor_for, tmp_path, umask):
    path = tmp_path / "contacts.xlsx"
    ada = actor_for("ada")
    new_workbook(people_db, ada, "contacts", path)
    assert mode(path) == umask
    for wanted, phone in ((0o640, "+44 1"), (0o600, "+44 2"), (0o664, "+44 3")):
        row = find_row(path, "Organisations", "Name", "Acme Ltd")
        edit_by_label(path, "Organisations", row, {"Phone": phone})
        path.chmod(wanted)
        synced = RoundTrip(people_db, settings, ada).sync(path)
        assert (synced.status, synced.updated) == ("applied", 1), synced.as_json()
        assert mode(path) == wanted
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary file left


def test_a_sync_of_an_hr_workbook_keeps_it_private(db, settings, staff, tmp_path, umask):  # noqa: F811
    path = tmp_path / "staff.xlsx"
    new_workbook(db, HANA, "staff", path)
    row = find_row(path, "Employees", "Number", "E2")
    edit_by_label(path, "Employees", row, {"Job title": "Head of accounts"})
    synced = RoundTrip(db, settings, HANA).sync(path)
    assert synced.status == "applied", synced.as_json()
    assert mode(path) == 0o600


def test_a_word_document_is_private_whatever_was_there(tmp_path, umask):
    import docx

    template = tmp_path / "note.docx"
    document = docx.Document()
    document.add_paragraph("For {{ name }}")
    document.save(template)
    target = tmp_path / "report.docx"
    target.write_bytes(b"old")
    target.chmod(0o644)
    render_docx(template, {"name": "Hana"}, target)
    assert mode(target) == 0o600
    assert b"old" != target.read_bytes()[:3]


def test_make_private_creates_or_narrows(tmp_path, umask):
    fresh = make_private(tmp_path / "new" / "file.bin")
    assert fresh.exists() and mode(fresh) == 0o600
    old = tmp_path / "old.bin"
    old.write_bytes(b"x")
    old.chmod(0o644)
    assert mode(make_private(old)) == 0o600 and old.read_bytes() == b"x"
