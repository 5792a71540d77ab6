"""The workbook round trip on contacts, against SQLite and PostgreSQL."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from engine.contacts import services
from engine.contacts.models import Address, Contact
from engine.db.audit import AuditEntry
from engine.errors import UnusableInput
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import (
    column_letter,
    edit,
    edit_by_label,
    find_row,
    read_meta,
    read_sheet,
)


@pytest.fixture
def exported(people_db, actor_for, settings, tmp_path):
    path = tmp_path / "contacts.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    return path


@pytest.fixture
def trip(people_db, actor_for, settings):
    return lambda login="ada": RoundTrip(people_db, settings, actor_for(login))


def contact_named(db, name):
    with db.reading() as session:
        return session.scalar(sa.select(Contact).where(Contact.name == name))


def audit_count(db):
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count(AuditEntry.id)))


def test_export_has_a_table_per_sheet_locked_ids_frozen_header_and_a_very_hidden_meta_sheet(exported):
    book = openpyxl.load_workbook(exported)
    assert book.sheetnames[:0] == [] and {"Organisations", "People", "Addresses"} <= set(book.sheetnames)
    assert book["_backoffice"].sheet_state == "veryHidden"
    people = book["People"]
    assert list(people.tables) == ["People"]
    assert people.freeze_panes == "A2"
    assert people.protection.sheet is True
    assert people["A2"].protection.locked and not people["C2"].protection.locked
    validations = {str(dv.sqref).split(":")[0][:1]: dv.formula1 for dv in people.data_validations.dataValidation}
    assert any("_lists" in (f or "") for f in validations.values())
    header = [c.value for c in people[1]]
    assert header[:4] == ["ID", "Version", "First name", "Last name"]


def test_text_that_looks_like_a_formula_is_written_as_text(exported):
    book = openpyxl.load_workbook(exported)
    sheet = book["Organisations"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_an_edit_in_the_workbook_is_saved_audited_and_syncing_again_changes_nothing(exported, trip, people_db):
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 30 1234"})
    result = trip().sync(exported)
    assert (result.status, result.updated, result.problems) == ("applied", 1, [])
    bolt = contact_named(people_db, "Bolt GmbH")
    assert (bolt.phone, bolt.version, bolt.updated_by) == ("+49 30 1234", 2, "ada")
    with people_db.reading() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.record_id == bolt.id)
                                .order_by(AuditEntry.id.desc())).first()
    assert (entry.source, entry.sheet, entry.row_number, entry.changes["phone"]) == (
        "workbook", "Organisations", row, [None, "+49 30 1234"])
    assert entry.workbook_id
    assert read_sheet(exported, "Organisations")[row - 1][1] == 2  # the new version is written back
    before = audit_count(people_db)
    again = trip().sync(exported)
    assert (again.status, audit_count(people_db)) == ("unchanged", before)


def test_new_rows_are_inserted_and_get_their_ids_in_the_workbook(exported, trip, people_db):
    rows = read_sheet(exported, "People")
    new_row = len(rows) + 1
    edit_by_label(exported, "People", new_row, {"First name": "Ann", "Last name": "Bauer", "Country": "de"})
    result = trip().sync(exported)
    assert (result.status, result.inserted) == ("applied", 1)
    ann = contact_named(people_db, "Ann Bauer")
    assert (ann.kind, ann.country) == ("person", "DE")
    assert read_sheet(exported, "People")[new_row - 1][:2] == [ann.id, 1]
    assert trip().sync(exported).status == "unchanged"


def test_rows_saved_from_a_workbook_get_their_search_keys(exported, trip, people_db):
    """The duplicate-detection key is worked out when a row is saved (not while checking):
    new rows and renamed records both get it."""
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Name": "Blitz & Donner GmbH"})
    new_row = len(read_sheet(exported, "People")) + 1
    edit_by_label(exported, "People", new_row, {"First name": "Zoë", "Last name": "Ångström", "Country": "SE"})
    assert trip().sync(exported).status == "applied"
    assert contact_named(people_db, "Blitz & Donner GmbH").name_key == "blitz donner"
    assert contact_named(people_db, "Zoë Ångström").name_key == "zoe angstrom"


def test_a_database_change_is_kept_and_shown_after_sync(exported, trip, people_db, actor_for):
    bolt = contact_named(people_db, "Bolt GmbH")
    with people_db.unit_of_work(actor_for("ada")) as session:
        services.update_contact(session, actor_for("ada"), bolt.id, 1, {"website": "https://bolt.example"})
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 1"})
    assert trip().sync(exported).status == "applied"
    bolt = contact_named(people_db, "Bolt GmbH")
    assert (bolt.website, bolt.phone, bolt.version) == ("https://bolt.example", "+49 1", 3)
    website = read_sheet(exported, "Organisations")[0].index("Website")
    assert read_sheet(exported, "Organisations")[row - 1][website] == "https://bolt.example"


def test_a_conflict_is_rejected_marked_at_its_cell_and_nothing_is_applied(exported, trip, people_db, actor_for):
    bolt = contact_named(people_db, "Bolt GmbH")
    with people_db.unit_of_work(actor_for("ada")) as session:
        services.update_contact(session, actor_for("ada"), bolt.id, 1, {"phone": "+49 from db"})
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    other = find_row(exported, "Organisations", "Name", "Acme Ltd")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 from workbook"})
    edit_by_label(exported, "Organisations", other, {"Phone": "+44 fine"})
    before = audit_count(people_db)
    result = trip().sync(exported)
    assert result.status == "rejected" and result.exit_code == 1
    [conflict] = result.conflicts
    cell = f"{column_letter(exported, 'Organisations', 'Phone')}{row}"
    assert (conflict.sheet, conflict.cell, conflict.record_id) == ("Organisations", cell, bolt.id)
    assert conflict.values == {"base": "", "workbook": "+49 from workbook", "database": "+49 from db"}
    assert audit_count(people_db) == before
    assert contact_named(people_db, "Acme Ltd").phone is None  # all or nothing
    book = openpyxl.load_workbook(exported)
    marked = book["Organisations"][cell]
    assert marked.fill.fgColor.rgb.endswith("FFC7CE") and "+49 from db" in marked.comment.text
    assert book["Organisations"][cell].value == "+49 from workbook"  # the user's edit is kept
    issues = [[c.value for c in r] for r in book["Issues"].iter_rows()]
    assert issues[1][:3] == ["Organisations", cell, "Phone"]
    assert book["Issues"]["B2"].hyperlink.location == f"'Organisations'!{cell}"


def test_every_problem_is_reported_and_marks_clear_once_fixed(exported, trip, people_db):
    rows = read_sheet(exported, "Organisations")
    new = len(rows) + 1
    bolt = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", bolt, {"E-mail": "not an address", "Country": "XX"})
    edit_by_label(exported, "Organisations", new, {"Name": None, "Country": "GB", "Website": "x"})
    result = trip().validate(exported)
    assert result.status == "invalid" and result.exit_code == 1
    found = {(p.cell[0] if p.cell else None, p.code) for p in result.problems}
    email, country, name = (column_letter(exported, "Organisations", c) for c in ("E-mail", "Country", "Name"))
    # (a country is checked by the contact rule at every door: code "invalid", as the service says)
    assert {(email, "invalid"), (country, "invalid"), (name, "required")} <= found
    assert trip().sync(exported).status == "rejected"
    edit_by_label(exported, "Organisations", bolt, {"E-mail": "sales@bolt.example", "Country": "DE"})
    edit_by_label(exported, "Organisations", new, {"Name": "Cog SARL", "Country": "FR"})
    fixed = trip().sync(exported)
    assert (fixed.status, fixed.inserted, fixed.updated) == ("applied", 1, 1)
    book = openpyxl.load_workbook(exported)
    cell = book["Organisations"][f"{email}{bolt}"]
    assert cell.comment is None and not (cell.fill.fgColor.rgb or "").endswith("FFC7CE")
    assert "No problems" in str(book["Issues"]["F2"].value)


def test_type_errors_excel_errors_and_uncalculated_formulas_are_problems_not_blanks(exported, trip):
    acme = find_row(exported, "People", "Last name", "Smith")
    org, first, last = (column_letter(exported, "People", c) for c in ("Organisation", "First name", "Last name"))
    edit(exported, "People", {f"{org}{acme}": "ACME", f"{first}{acme}": "#REF!", f"{last}{acme}": "=UPPER(\"x\")"})
    lone = len(read_sheet(exported, "People")) + 1
    edit(exported, "People", {f"{first}{lone}": "#N/A"})   # a new row holding only an error
    result = trip().validate(exported)
    codes = {p.cell: p.code for p in result.problems}
    country = column_letter(exported, "People", "Country")
    assert codes == {f"{org}{acme}": "reference", f"{first}{acme}": "error", f"{last}{acme}": "uncalculated",
                     f"{first}{lone}": "error", f"{last}{lone}": "required", f"{country}{lone}": "required"}
    assert len(result.problems) == 6  # one problem per cell


def test_removing_rows_deletes_only_where_the_sheet_allows_it(exported, trip, people_db):
    street = find_row(exported, "Addresses", "Street", "2 Low St")
    values = {label: None for label in ("Kind", "Street", "City", "Country", "Contact")}
    edit_by_label(exported, "Addresses", street, values)
    result = trip().sync(exported)
    assert (result.status, result.deleted) == ("applied", 1)
    with people_db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(Address.id))) == 1
    kim = find_row(exported, "People", "Last name", "Lee")
    edit_by_label(exported, "People", kim, {label: None for label in (
        "First name", "Last name", "Country", "Job title", "E-mail", "Phone", "Tags", "No mailings", "Organisation")})
    refused = trip().sync(exported)
    assert refused.status == "rejected" and [p.code for p in refused.problems] == ["delete"]


def test_dry_run_lists_the_diff_and_changes_nothing(exported, trip, people_db):
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 2"})
    before_file, before_audit = exported.read_bytes(), audit_count(people_db)
    result = trip().sync(exported, dry_run=True)
    assert result.updated == 1
    [change] = result.changes
    assert change["action"] == "update" and change["cells"][0]["new"] == "+49 2" and change["cells"][0]["old"] == ""
    assert exported.read_bytes() == before_file and audit_count(people_db) == before_audit
    assert contact_named(people_db, "Bolt GmbH").phone is None


def test_refresh_keeps_unsynced_edits_and_marks_what_the_database_changed(exported, trip, people_db, actor_for):
    bolt = contact_named(people_db, "Bolt GmbH")
    with people_db.unit_of_work(actor_for("ada")) as session:
        services.update_contact(session, actor_for("ada"), bolt.id, 1, {"website": "https://bolt.example"})
        services.add_contact(session, actor_for("ada"), {"kind": "organisation", "name": "Dyna AB", "country": "SE"})
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 unsynced"})
    trip().refresh(exported)
    rows = read_sheet(exported, "Organisations")
    header = rows[0]
    assert rows[row - 1][header.index("Phone")] == "+49 unsynced"
    assert rows[row - 1][header.index("Website")] == "https://bolt.example"
    assert any(r[header.index("Name")] == "Dyna AB" for r in rows)
    website = openpyxl.load_workbook(exported)["Organisations"][f"{column_letter(exported, 'Organisations', 'Website')}{row}"]
    assert website.fill.fgColor.rgb.endswith("FFEB9C")
    assert trip().sync(exported).status == "applied"
    assert contact_named(people_db, "Bolt GmbH").phone == "+49 unsynced"


def test_a_user_may_only_sync_what_their_role_may_write(exported, trip, people_db):
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 3"})
    new_row = len(read_sheet(exported, "Organisations")) + 1
    edit_by_label(exported, "Organisations", new_row, {"Name": "Sneaky Ltd", "Country": "GB"})
    result = trip("stef").sync(exported)
    assert result.status == "rejected"
    assert sorted((p.code, p.cell[1:] if p.cell else None) for p in result.problems) == [
        ("permission", str(new_row)), ("read-only", str(row))]
    assert contact_named(people_db, "Bolt GmbH").phone is None


def test_a_workbook_from_another_installation_or_a_foreign_file_is_unusable(exported, trip, tmp_path, people_db):
    with people_db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE installation SET installation_id = 'elsewhere'"))
    with pytest.raises(UnusableInput, match="another Backoffice installation"):
        trip().sync(exported)
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "hello"
    book.save(plain)
    with pytest.raises(UnusableInput, match="not a Backoffice workbook"):
        trip().validate(plain)


def test_columns_a_role_may_not_see_are_not_in_its_workbook_at_all(people_db, actor_for, tmp_path, monkeypatch):
    """A spec column marked sensitive ("hr" here, on the contacts' notes) is left out of the
    file made for a role that does not see it, and kept for one that does."""
    from engine.contacts.models import Contact
    from engine.sheets import spec as specs
    from engine.sheets.spec import Column, SheetSpec, WorkbookSpec

    def private_notes() -> WorkbookSpec:
        sheet = SheetSpec(name="Organisations", model=Contact, area="contacts", scope={"kind": "organisation"},
                          columns=(Column("name", "Name", required=True),
                                   Column("country", "Country", required=True),
                                   Column("notes", "Private notes", sensitivity="hr")))
        return WorkbookSpec(module="private-notes", title="Notes", sheets=(sheet,))

    specs.modules()  # registers the real modules first
    monkeypatch.setitem(specs._REGISTRY, "private-notes", private_notes)
    with people_db.unit_of_work(actor_for("ada")) as session:
        bolt = session.scalar(sa.select(Contact).where(Contact.name == "Bolt GmbH"))
        services.update_contact(session, actor_for("ada"), bolt.id, 1, {"notes": "salary talk"})
    for login, visible in (("sam", False), ("ada", True)):
        path = tmp_path / f"{login}.xlsx"
        new_workbook(people_db, actor_for(login), "private-notes", path)
        header = read_sheet(path, "Organisations")[0]
        assert ("Private notes" in header) is visible
        base = read_meta(path, people_db).base["Organisations"]
        assert ("notes" in base.columns) is visible  # not even in the hidden snapshot
        with zipfile.ZipFile(path) as package:
            raw = b"".join(package.read(name) for name in package.namelist())
        assert (b"salary talk" in raw) is visible


def test_two_workbooks_syncing_the_same_cell_at_once_one_wins_the_other_is_rejected(
        people_db, actor_for, trip, tmp_path):
    """Two people sync edits of the same cell at the same moment: one is applied, the other
    is a conflict at its cell, and the database holds exactly the winner's value."""
    import threading

    paths = [tmp_path / "one.xlsx", tmp_path / "two.xlsx"]
    for n, path in enumerate(paths):
        new_workbook(people_db, actor_for("ada"), "contacts", path)
        row = find_row(path, "Organisations", "Name", "Bolt GmbH")
        edit_by_label(path, "Organisations", row, {"Phone": f"+49 {n}"})
    results = {}
    start = threading.Barrier(2)

    def sync(path):
        start.wait()
        results[path.name] = trip().sync(path)

    threads = [threading.Thread(target=sync, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status for r in results.values())
    assert statuses == ["applied", "rejected"]
    winner = next(name for name, r in results.items() if r.status == "applied")
    loser = next(r for r in results.values() if r.status == "rejected")
    assert loser.conflicts and loser.conflicts[0].column == "Phone"
    assert contact_named(people_db, "Bolt GmbH").phone == ("+49 0" if winner == "one.xlsx" else "+49 1")


def _race(people_db, actor_for, trip, tmp_path, monkeypatch, edits: dict[str, dict]) -> tuple[dict, list]:
    """Workbooks one and two, each with its edit of Bolt; one is synced, and sync two runs
    whole between one's read and one's write (PostgreSQL only: SQLite takes the write lock
    before a sync reads, so the two cannot interleave). Returns (results, the order of writes)."""
    import threading

    if people_db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one writing transaction at a time: the syncs cannot interleave")
    paths = {name: tmp_path / f"{name}.xlsx" for name in edits}
    for name, path in paths.items():
        new_workbook(people_db, actor_for("ada"), "contacts", path)
        edit_by_label(path, "Organisations", find_row(path, "Organisations", "Name", "Bolt GmbH"), edits[name])
    results, apply, attempts = {}, RoundTrip._apply, []

    def apply_after_the_other(self, session, book, *args):
        attempts.append(book.path.name)
        if book.path.name == "one.xlsx" and len(attempts) == 1:   # one has planned; two saves now
            other = threading.Thread(target=lambda: results.setdefault("two", trip().sync(paths["two"])))
            other.start()
            other.join(60)
        return apply(self, session, book, *args)

    monkeypatch.setattr(RoundTrip, "_apply", apply_after_the_other)
    results["one"] = trip().sync(paths["one"])
    return results, attempts


def test_two_syncs_changing_different_cells_of_one_record_at_once_both_apply(
        people_db, actor_for, trip, tmp_path, monkeypatch):
    """Sync one has read Bolt (version 1) when sync two saves another cell of Bolt: one's
    write then finds version 2. That is no conflict: one merges again against what two saved
    and applies its own cell."""
    results, attempts = _race(people_db, actor_for, trip, tmp_path, monkeypatch,
                              {"one": {"Phone": "+49 1"}, "two": {"Website": "https://bolt.example"}})
    assert attempts == ["one.xlsx", "two.xlsx", "one.xlsx"]          # one planned again, once
    assert {n: r.status for n, r in results.items()} == {"one": "applied", "two": "applied"}, results
    bolt = contact_named(people_db, "Bolt GmbH")
    assert (bolt.phone, bolt.website, bolt.version) == ("+49 1", "https://bolt.example", 3)
    one = tmp_path / "one.xlsx"
    website = read_sheet(one, "Organisations")[0].index("Website")
    assert read_sheet(one, "Organisations")[find_row(one, "Organisations", "Name", "Bolt GmbH") - 1][
        website] == "https://bolt.example"


def test_a_race_on_the_same_cell_is_still_a_conflict_with_both_values(people_db, actor_for, trip, tmp_path,
                                                                      monkeypatch):
    """Merging again after a race is no licence to overwrite: the same cell changed by both
    is a conflict at its cell, nothing of one's saved."""
    results, _attempts = _race(people_db, actor_for, trip, tmp_path, monkeypatch,
                               {"one": {"Phone": "+49 one"}, "two": {"Phone": "+49 two"}})
    assert (results["one"].status, results["two"].status) == ("rejected", "applied")
    [conflict] = results["one"].conflicts
    assert conflict.values == {"base": "", "workbook": "+49 one", "database": "+49 two"}
    assert contact_named(people_db, "Bolt GmbH").phone == "+49 two"


def test_after_a_conflict_keeping_ones_value_and_syncing_again_applies_it(exported, trip, people_db, actor_for):
    """The note names who changed the database's value and when; the workbook remembers the
    value it was shown, so keeping one's own and syncing again applies it, unless the record
    changed again meanwhile (then it is a conflict again, with the new value)."""
    bolt = contact_named(people_db, "Bolt GmbH")
    with people_db.unit_of_work(actor_for("sam")) as session:
        services.update_contact(session, actor_for("sam"), bolt.id, 1, {"phone": "+49 from sam"})
    row = find_row(exported, "Organisations", "Name", "Bolt GmbH")
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 mine"})
    [conflict] = trip().sync(exported).conflicts
    assert " by sam on 20" in conflict.message and "to keep yours, leave it and sync again" in conflict.message
    again = trip().sync(exported)                       # kept mine, nobody changed it since
    assert again.status == "applied" and again.updated == 1, again.as_json()
    assert contact_named(people_db, "Bolt GmbH").phone == "+49 mine"

    with people_db.unit_of_work(actor_for("sam")) as session:
        services.update_contact(session, actor_for("sam"), bolt.id, 3, {"phone": "+49 sam again"})
    edit_by_label(exported, "Organisations", row, {"Phone": "+49 mine again"})
    assert trip().sync(exported).conflicts                # shown: +49 sam again
    with people_db.unit_of_work(actor_for("sam")) as session:
        services.update_contact(session, actor_for("sam"), bolt.id, 4, {"phone": "+49 sam a third time"})
    [conflict] = trip().sync(exported).conflicts          # not what was shown: a conflict again
    assert conflict.values["database"] == "+49 sam a third time"
    assert trip().sync(exported).status == "applied"     # now shown, and kept
    assert contact_named(people_db, "Bolt GmbH").phone == "+49 mine again"


# -- drop-downs of labels, not ids ------------------------------------------------------------

def test_references_show_labels_and_a_chosen_label_is_saved_as_its_record(exported, trip, people_db):
    smith = find_row(exported, "People", "Last name", "Smith")
    assert read_sheet(exported, "People")[smith - 1][read_sheet(exported, "People")[0].index("Organisation")] == "Acme Ltd"
    book = openpyxl.load_workbook(exported)
    lists = book["_lists"]
    offered = [c.value for c in next(col for col in lists.iter_cols() if col[0].value == "organisations")[1:]
               if c.value is not None]
    assert offered == ['=HYPERLINK("http://x")', "Acme Ltd", "Bolt GmbH"]    # names, not ids
    edit_by_label(exported, "People", smith, {"Organisation": "Bolt GmbH"})
    lee = find_row(exported, "People", "Last name", "Lee")
    edit_by_label(exported, "People", lee, {"Organisation": "acme ltd"})          # any case
    new = len(read_sheet(exported, "Addresses")) + 1
    edit_by_label(exported, "Addresses", new, {"Contact": f"#{contact_named(people_db, 'Bolt GmbH').id}",
                                              "Kind": "billing", "Street": "3 Mill Rd", "City": "Bonn", "Country": "DE"})
    result = trip().sync(exported)
    assert (result.status, result.updated, result.inserted) == ("applied", 2, 1), result.problems
    bolt, acme = contact_named(people_db, "Bolt GmbH"), contact_named(people_db, "Acme Ltd")
    assert contact_named(people_db, "Jo Smith").organisation_id == bolt.id
    assert contact_named(people_db, "Kim Lee").organisation_id == acme.id
    rows = read_sheet(exported, "People")
    assert rows[lee - 1][rows[0].index("Organisation")] == "Acme Ltd"          # written back as its label
    assert read_sheet(exported, "Addresses")[new - 1][read_sheet(exported, "Addresses")[0].index("Contact")] == "Bolt GmbH"
    base = read_meta(exported, people_db).base["People"]
    assert base.rows[contact_named(people_db, "Jo Smith").id][1][base.columns.index("organisation_id")] == str(bolt.id)


def test_an_unknown_label_is_a_problem_at_its_cell_naming_what_was_typed(exported, trip, people_db):
    smith = find_row(exported, "People", "Last name", "Smith")
    edit_by_label(exported, "People", smith, {"Organisation": "Acme Limited"})
    result = trip().sync(exported)
    assert result.status == "rejected"
    [problem] = result.problems
    assert (problem.cell, problem.code) == (f"{column_letter(exported, 'People', 'Organisation')}{smith}", "reference")
    assert "'Acme Limited'" in problem.message and "drop-down" in problem.message
    assert contact_named(people_db, "Jo Smith").organisation_id == contact_named(people_db, "Acme Ltd").id


def test_two_contacts_of_one_name_are_told_apart_by_their_id(people_db, actor_for, trip, tmp_path):
    with people_db.unit_of_work(actor_for("ada")) as session:
        twin, _ = services.add_contact(session, actor_for("ada"), {"kind": "organisation", "name": "Acme Ltd",
                                                                   "country": "FR"})
    path = tmp_path / "twins.xlsx"
    new_workbook(people_db, actor_for("ada"), "contacts", path)
    with people_db.reading() as session:
        first = session.scalar(sa.select(Contact.id).where(Contact.name == "Acme Ltd").order_by(Contact.id))
    smith = find_row(path, "People", "Last name", "Smith")
    rows = read_sheet(path, "People")
    assert rows[smith - 1][rows[0].index("Organisation")] == f"Acme Ltd #{first}"
    edit_by_label(path, "People", smith, {"Organisation": "Acme Ltd"})
    result = trip().sync(path)
    [problem] = result.problems
    assert (result.status, problem.code) == ("rejected", "ambiguous")
    assert f"'Acme Ltd #{first}' or 'Acme Ltd #{twin.id}'" in problem.message
    edit_by_label(path, "People", smith, {"Organisation": f"Acme Ltd #{twin.id}"})
    assert trip().sync(path).status == "applied"
    assert contact_named(people_db, "Jo Smith").organisation_id == twin.id


def test_a_record_renamed_in_the_database_is_not_taken_for_an_edit(exported, trip, people_db, actor_for):
    acme = contact_named(people_db, "Acme Ltd")
    with people_db.unit_of_work(actor_for("ada")) as session:
        services.update_contact(session, actor_for("ada"), acme.id, acme.version, {"name": "Acme Group"})
    smith = find_row(exported, "People", "Last name", "Smith")
    edit_by_label(exported, "People", smith, {"Job title": "Buyer"})    # the cell still says "Acme Ltd"
    result = trip().sync(exported)
    assert (result.status, result.updated, result.problems) == ("applied", 1, [])
    jo = contact_named(people_db, "Jo Smith")
    assert (jo.organisation_id, jo.job_title) == (acme.id, "Buyer")
    assert trip().refresh(exported).status in ("refreshed", "unchanged")
    assert trip().sync(exported).status == "unchanged"


def test_an_empty_sheet_reads_no_labels_and_gives_the_file_none_until_it_shows_a_row(
        people_db, actor_for, trip, tmp_path):
    """The Addresses sheet's Contact column is labelled by every contact: a sync wrote the
    label of each into the file even when the sheet showed no address (a million contacts:
    seconds and hundreds of MB each time). Only a sheet that shows rows gives the file its
    labels; records others added and appended to an empty sheet count as shown."""
    ada = actor_for("ada")
    with people_db.unit_of_work(ada) as session:     # no addresses left: the sheet is empty
        for name in ("Jo Smith", "Acme Ltd"):
            contact = session.scalar(sa.select(Contact).where(Contact.name == name))
            services.delete_contact(session, ada, contact.id, contact.version)
    path = tmp_path / "no-addresses.xlsx"
    new_workbook(people_db, ada, "contacts", path)
    assert len(read_sheet(path, "Addresses")) == 1                      # the header alone
    with people_db.unit_of_work(ada) as session:
        services.add_contact(session, ada, {"kind": "organisation", "name": "Zed Ltd", "country": "GB"})
    lee = find_row(path, "People", "Last name", "Lee")
    edit_by_label(path, "People", lee, {"Job title": "Buyer"})
    assert trip().sync(path).status == "applied"
    assert "Zed Ltd" not in read_meta(path, people_db).labels.get("contacts", {})
    with people_db.unit_of_work(ada) as session:     # someone adds an address: refreshed into the sheet
        services.add_contact(session, ada, {"kind": "organisation", "name": "Yew Ltd", "country": "GB"},
                             [{"kind": "billing", "line1": "3 Elm St", "city": "Hull", "country": "GB"}])
    assert trip().refresh(path).status == "refreshed"
    rows = read_sheet(path, "Addresses")
    assert [row[rows[0].index("Contact")] for row in rows[1:]] == ["Yew Ltd"]
    given = read_meta(path, people_db).labels["contacts"]
    assert given["Yew Ltd"] == contact_named(people_db, "Yew Ltd").id and given["Zed Ltd"]
