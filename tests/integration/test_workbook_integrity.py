"""The workbook's own integrity: its signed `_backoffice` sheet, the limits on what a file may
bring once read, and our marks whichever program saved the file last (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import re
import time
import tracemalloc
import zipfile
import zlib

import openpyxl
import pytest
import python_calamine
import sqlalchemy as sa

from engine.config import WorkbookLimits
from engine.contacts import services
from engine.contacts.models import Contact
from engine.db.installation import seal
from engine.errors import UnusableInput
from engine.office.xlsx_patch import OwnedSheet, patch_xlsx
from engine.sheets.exporting import new_workbook
from engine.sheets.meta import CHUNK, META_SHEET, sign
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import column_letter, edit_by_label, find_row, read_meta

ALTERED = "altered outside Backoffice"


@pytest.fixture
def exported(people_db, actor_for, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


@pytest.fixture
def trip(people_db, actor_for, settings):
    return lambda login="ada", **limits: RoundTrip(
        people_db, dataclasses.replace(settings, workbook=dataclasses.replace(settings.workbook, **limits)),
        actor_for(login))


def meta_rows(path) -> list[list[str]]:
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(META_SHEET).to_python()
    return [[str(v) for v in row] for row in rows]


def write_meta(path, rows) -> None:
    """Replace the _backoffice sheet as someone editing the unzipped file would."""
    patch_xlsx(path, path, {}, owned={META_SHEET: OwnedSheet(rows=rows, state="veryHidden")})


def replaced(rows, key, value):
    return [[key, value] if row and row[0] == key else row for row in rows]


def key_of(db) -> bytes:
    with db.reading() as session:
        return seal(session).key


def contact_named(db, name):
    with db.reading() as session:
        return session.scalar(sa.select(Contact).where(Contact.name == name))


def phone(db, name):
    return contact_named(db, name).phone


# -- the signature --------------------------------------------------------------------------

def test_a_forged_base_cannot_overwrite_someone_elses_change(exported, trip, people_db, actor_for):
    """Someone else saves a phone number; the workbook's base is forged to claim it had seen
    it (new version, new value), so the stale edit would pass as a plain change: refused."""
    bolt_row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    bolt = contact_named(people_db, "Bolt GmbH")
    with people_db.unit_of_work(actor_for("sam")) as session:
        services.update_contact(session, actor_for("sam"), bolt.id, 1, {"phone": "+49 by sam"})
    meta = read_meta(exported, people_db)
    columns = meta.base["Organisations"].columns
    version, values = meta.base["Organisations"].rows[bolt.id]
    values[columns.index("phone")] = "+49 by sam"
    meta.base["Organisations"].rows[bolt.id] = (2, values)
    forged_base = meta.to_rows(b"not the installation's secret")
    rows = [row for row in meta_rows(exported) if row[0] != "base"]
    at = next(n for n, row in enumerate(rows) if row[0] == "signature")
    rows[at:at] = [row for row in forged_base if row[0] == "base"]   # the old signature kept
    write_meta(exported, rows)
    edit_by_label(exported, "Organisations", bolt_row, {"Version": 2, "Phone": "+49 stale"})
    with pytest.raises(UnusableInput, match=ALTERED) as refused:
        trip().sync(exported)
    assert "contacts.xlsx" in str(refused.value) and "backoffice workbook new contacts" in str(refused.value)
    assert phone(people_db, "Bolt GmbH") == "+49 by sam"


@pytest.mark.parametrize("forgery", ["user", "blank installation", "blank installation unsigned",
                                     "no signature", "two signatures", "workbook id", "extra cell"])
def test_every_forged_field_is_refused(exported, trip, people_db, forgery):
    rows = meta_rows(exported)
    if forgery == "user":
        rows = replaced(rows, "user", "sam")
    elif forgery == "blank installation":
        rows = replaced(rows, "installation_id", "")
    elif forgery == "blank installation unsigned":
        rows = [row for row in replaced(rows, "installation_id", "") if row[0] != "signature"]
    elif forgery == "no signature":
        rows = [row for row in rows if row[0] != "signature"]
    elif forgery == "two signatures":
        rows = [*rows, ["signature", "0" * 64]]
    elif forgery == "workbook id":
        rows = replaced(rows, "workbook_id", "0" * 32)
    else:
        rows = [[*row, "x"] if row[0] == "module" else row for row in rows]
    write_meta(exported, rows)
    with pytest.raises(UnusableInput, match=ALTERED):
        trip().sync(exported)
    with pytest.raises(UnusableInput, match=ALTERED):
        trip().validate(exported)


def test_a_field_added_later_is_covered_without_being_named(exported, trip, people_db):
    """A row no code of today reads (a sync generation, say) is signed with the rest: kept
    as written it passes, changed it is refused."""
    key = key_of(people_db)
    rows = meta_rows(exported)
    write_meta(exported, sign([*rows, ["generation", "3"]], key))
    assert trip().sync(exported).status == "unchanged"
    write_meta(exported, replaced(meta_rows(exported), "generation", "4"))
    with pytest.raises(UnusableInput, match=ALTERED):
        trip().sync(exported)


def test_the_real_workbook_is_signed_and_the_secret_never_leaves_the_database(exported, people_db):
    rows = meta_rows(exported)
    assert rows[-1][0] == "signature" and len(rows[-1][1]) == 64
    key = key_of(people_db)
    with zipfile.ZipFile(exported) as package:
        raw = b"".join(package.read(name) for name in package.namelist())
    assert key.hex().encode() not in raw and key not in raw
    assert read_meta(exported, people_db).user == "ada"


def test_the_empty_layout_is_accepted_unsigned_and_signed_once_used(people_db, trip, tmp_path):
    from engine.sheets.exporting import write_layout

    layout = write_layout("contacts", tmp_path)
    assert "signature" not in [row[0] for row in meta_rows(layout)]
    new_row = 2
    edit_by_label(layout, "Organisations", new_row, {"Name": "Cog SARL", "Country": "FR"})
    assert trip().sync(layout).status == "applied"
    assert meta_rows(layout)[-1][0] == "signature" and read_meta(layout, people_db).user == "ada"


def test_an_unsigned_layout_claiming_a_user_is_refused(people_db, trip, tmp_path):
    from engine.sheets.exporting import write_layout

    layout = write_layout("contacts", tmp_path)
    write_meta(layout, replaced(meta_rows(layout), "user", "ada"))
    with pytest.raises(UnusableInput, match=ALTERED):
        trip().sync(layout)


@pytest.mark.libreoffice
def test_a_genuine_workbook_saved_by_libreoffice_still_verifies(exported, trip, people_db, tmp_path):
    from tests.libreoffice import save_with_libreoffice

    before = meta_rows(exported)
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 via LibreOffice"})
    save_with_libreoffice(exported, tmp_path)
    assert [r for r in meta_rows(exported) if any(r)] == [r for r in before if any(r)]
    assert trip().sync(exported).status == "applied"
    assert phone(people_db, "Bolt GmbH") == "+49 via LibreOffice"
    assert openpyxl.load_workbook(exported)[META_SHEET].sheet_state == "veryHidden"


# -- what a file may bring ----------------------------------------------------------------------

def _bomb_chunks(unpacked: int) -> list[str]:
    """A base snapshot of `unpacked` bytes of JSON-ish zeros, compressed (about 1000:1)."""
    squeeze = zlib.compressobj(9)
    block = b"0" * (64 << 20)
    packed = [squeeze.compress(b"[" + b"0," * 8)]
    for _ in range(unpacked // len(block)):
        packed.append(squeeze.compress(block))
    packed.append(squeeze.flush())
    text = base64.b64encode(b"".join(packed)).decode()
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]


def test_a_snapshot_bomb_is_refused_quickly_in_bounded_memory(exported, trip, people_db):
    """A signed snapshot (as if our own secret had signed it) that unpacks to 1 GiB: refused
    at the limit, never unpacked whole. Unsigned, the same file is refused before unpacking."""
    rows = [row for row in meta_rows(exported) if row[0] not in ("base", "signature")]
    bomb = [["base", chunk] for chunk in _bomb_chunks(1 << 30)]
    write_meta(exported, [*rows, *bomb, ["signature", "0" * 64]])
    with pytest.raises(UnusableInput, match=ALTERED):
        trip().sync(exported)
    write_meta(exported, sign([*rows, *bomb], key_of(people_db)))
    limit = 16 << 20
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(UnusableInput, match="max_snapshot_bytes") as refused:
            trip(max_snapshot_bytes=limit).sync(exported)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "contacts.xlsx" in str(refused.value)
    assert time.monotonic() - started < 60
    assert peak < limit * 6, f"{peak / (1 << 20):.0f} MB"   # the 1 GiB never in memory


def test_the_default_snapshot_limit_is_documented_and_sane():
    assert WorkbookLimits().max_snapshot_bytes == 256 << 20


def _inflate_shared_strings(path, sheet: str, copies: int, length: int) -> None:
    """One shared string of `length` characters, named by `copies` new cells of `sheet`."""
    with zipfile.ZipFile(path) as package:
        parts = {info: package.read(info) for info in package.infolist()}
    workbook = next(v for k, v in parts.items() if k.filename == "xl/workbook.xml").decode()
    index = [m for m in re.findall(r'<sheet [^>]*name="([^"]+)"', workbook)].index(sheet) + 1
    strings = next(k for k in parts if k.filename.lower() == "xl/sharedstrings.xml")
    xml = parts[strings].decode()
    count = xml.count("<si>")
    parts[strings] = xml.replace("</sst>", f"<si><t>{'W' * length}</t></si></sst>").encode()
    member = next(k for k in parts if k.filename == f"xl/worksheets/sheet{index}.xml")
    rows = "".join(f'<row r="{n}"><c r="C{n}" t="s"><v>{count}</v></c></row>' for n in range(2000, 2000 + copies))
    parts[member] = parts[member].replace(b"</sheetData>", rows.encode() + b"</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for info, data in parts.items():
            package.writestr(info.filename, data, zipfile.ZIP_DEFLATED)


def test_a_short_file_naming_one_long_text_in_many_cells_is_refused_before_it_is_read(exported, trip, people_db):
    """50,000 cells naming one 30,000-character string: 1.5 GB once read, from a file of a
    few hundred kilobytes. Counted from the file and refused, naming the file and the sheet."""
    _inflate_shared_strings(exported, "People", copies=50_000, length=30_000)
    assert exported.stat().st_size < 1 << 20
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(UnusableInput, match="max_text_bytes") as refused:
            trip().sync(exported)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "contacts.xlsx" in str(refused.value) and "'People'" in str(refused.value)
    assert time.monotonic() - started < 60
    assert peak < 64 << 20, f"{peak / (1 << 20):.0f} MB"


def test_the_text_limit_counts_each_cell_naming_a_string(exported, trip):
    """Under the limit the same trick reads (and is refused cell by cell for other reasons);
    a lower limit refuses it: the count is of cells, not of the file."""
    _inflate_shared_strings(exported, "People", copies=20, length=1000)
    with pytest.raises(UnusableInput, match="max_text_bytes"):
        trip(max_text_bytes=15_000).validate(exported)
    assert trip(max_text_bytes=200_000).validate(exported).status == "invalid"



def _stored(db) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(Contact.__table__).order_by(Contact.id))]


def test_a_sheet_read_in_chunks_has_the_text_its_cells_name_counted_as_it_is_read(exported, trip, people_db):
    """The same 50,000 cells on a sheet too big to keep whole (here any sheet of more than
    two rows): it is not counted beforehand but as the reader reads it, each chunk before
    its rows go further. Refused all the same, in bounded memory, nothing saved."""
    _inflate_shared_strings(exported, "People", copies=50_000, length=30_000)
    before, kept = _stored(people_db), exported.read_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(UnusableInput, match="max_text_bytes") as refused:
            trip(chunk_rows=2).sync(exported)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "contacts.xlsx" in str(refused.value) and "'People'" in str(refused.value)
    assert peak < 64 << 20, f"{peak / (1 << 20):.0f} MB"
    assert _stored(people_db) == before and exported.read_bytes() == kept


def test_a_sheet_read_in_chunks_is_counted_once_however_often_it_is_read(exported, trip):
    """A sheet read a chunk at a time is read more than once (its header, then its rows):
    its text counts once. 20 cells naming one 1,000-character string: refused under 20,000
    characters, read (and refused cell by cell for other reasons) well under twice that."""
    _inflate_shared_strings(exported, "People", copies=20, length=1000)
    with pytest.raises(UnusableInput, match="max_text_bytes"):
        trip(chunk_rows=2, max_text_bytes=19_000).validate(exported)
    assert trip(chunk_rows=2, max_text_bytes=30_000).validate(exported).status == "invalid"


# -- marks ------------------------------------------------------------------------------------

def _issues_first_and_active(path) -> bool:
    book = openpyxl.load_workbook(path)
    selected = [sheet.title for sheet in book if sheet.sheet_view.tabSelected]
    return book.sheetnames[0] == "Issues" and book.active.title == "Issues" and selected == ["Issues"]


def test_the_issues_sheet_comes_first_and_active_on_a_rejection_and_steps_back_when_clean(exported, trip):
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"E-mail": "broken"})
    assert trip().sync(exported).status == "rejected"
    assert _issues_first_and_active(exported)
    edit_by_label(exported, "Organisations", row, {"E-mail": "sales@bolt.example"})
    assert trip().sync(exported).status == "applied"
    book = openpyxl.load_workbook(exported)
    assert book.sheetnames[0] == "Organisations" and book.sheetnames[-1] == "Issues"
    assert book.active.title == "Organisations"
    assert not any(sheet.sheet_view.tabSelected for sheet in book if sheet.title == "Issues")


@pytest.mark.libreoffice
def test_marks_are_cleared_after_libreoffice_saved_the_file(exported, trip, tmp_path):
    """LibreOffice saves every comment with the author " " and its own drawing: our note on
    a fixed cell is still found and removed, with its fill; a comment of the user's stays."""
    from tests.libreoffice import save_with_libreoffice

    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    cell = f"{column_letter(exported, 'Organisations', 'E-mail')}{row}"
    edit_by_label(exported, "Organisations", row, {"E-mail": "broken"})
    book = openpyxl.load_workbook(exported)
    book["Organisations"]["A1"].comment = openpyxl.comments.Comment("the user's own note", "Kim")
    book.save(exported)
    assert trip().sync(exported).status == "rejected"
    save_with_libreoffice(exported, tmp_path)
    assert _issues_first_and_active(exported)          # LibreOffice keeps what we chose
    assert openpyxl.load_workbook(exported)["Organisations"][cell].comment is not None
    edit_by_label(exported, "Organisations", row, {"E-mail": "sales@bolt.example"})
    save_with_libreoffice(exported, tmp_path)          # the person saves the fix in LibreOffice
    assert trip().sync(exported).status == "applied"
    book = openpyxl.load_workbook(exported)
    fixed = book["Organisations"][cell]
    assert fixed.comment is None and not (fixed.fill.fgColor.rgb or "").endswith("FFC7CE")
    assert book["Organisations"]["A1"].comment.text.strip() == "the user's own note"
    assert "No problems" in str(book["Issues"]["F2"].value)
    # and nothing of ours is left in the drawing either
    with zipfile.ZipFile(exported) as package:
        drawings = b"".join(package.read(n) for n in package.namelist() if n.endswith(".vml"))
    assert drawings.count(b'ObjectType="Note"') == 1


def test_an_existing_database_gets_its_secret_from_the_migration(db):
    """A database made before workbooks were signed (revision 0009) gets a secret of its own
    on `db upgrade`, keeping its installation id."""
    from alembic import command

    from engine.db import migrate

    with db.reading() as session:
        before = seal(session)
    command.downgrade(migrate.alembic_config(db.engine), "0009")
    assert "workbook_key" not in {c["name"] for c in sa.inspect(db.engine).get_columns("installation")}
    migrate.upgrade(db.engine)
    with db.reading() as session:
        after = seal(session)
    assert after.installation_id == before.installation_id
    assert len(after.key) == 32 and after.key != before.key
    assert "key" not in repr(after) and after.key.hex() not in repr(after)
