"""Limits and refusals a person can act on, at every door (issue 13): a memo of 100 KB never
gets in and the Ledger workbook keeps syncing; an invoice's second line without an account
is a problem at its cell, never a database message; `%` and `_` typed in a search are
matched as they are."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

from typer.testing import CliRunner

from engine.contacts.services import add_contact, list_contacts
from engine.ledger.services import Line, post_entry
from engine.mailmerge.recipients import tagged
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import ACCOUNTANT, edit_by_label, read_sheet
from tests.integration.doors import fingerprint
from tests.integration.ledger_books import CUSTOMER_NAME, MEMO_100_KB, ledger_db  # noqa: F401  (the fixture)


def _cli(db, *args: str, login: str = "alex"):
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", login])


def test_a_100_kb_memo_is_refused_and_the_ledger_workbook_still_syncs(ledger_db, settings, tmp_path):  # noqa: F811
    """The memo is refused at the service, the CLI and the workbook; a Ledger workbook made
    afterwards syncs as it is (no record was cut on its way into a cell)."""
    before = fingerprint(ledger_db)
    result = _cli(ledger_db, "ledger", "post", "--date", "2026-03-05", "--line", "6200:10:", "--line", "1100::10",
                  "--memo", MEMO_100_KB)
    assert result.exit_code == 1, result.output
    assert [(p["field"], p["code"]) for p in json.loads(result.stderr)["problems"]] == [("memo", "too_long")]
    assert fingerprint(ledger_db) == before

    path = tmp_path / "ledger.xlsx"
    new_workbook(ledger_db, ACCOUNTANT, "ledger", path)
    synced = RoundTrip(ledger_db, settings, ACCOUNTANT).sync(path)
    assert synced.status != "rejected", synced.as_json()
    assert not synced.problems and not synced.conflicts
    assert fingerprint(ledger_db) == before


def test_a_memo_as_long_as_its_column_goes_through_a_workbook_unchanged(ledger_db, settings, tmp_path):  # noqa: F811
    """The longest memo allowed (400 characters) survives export and sync unchanged."""
    memo = "m" * 400
    with ledger_db.unit_of_work(ACCOUNTANT) as session:
        post_entry(session, ACCOUNTANT, date(2026, 3, 9), [Line("6200", debit=D(5)), Line("1100", credit=D(5))],
                   memo=memo)
    path = tmp_path / "ledger.xlsx"
    new_workbook(ledger_db, ACCOUNTANT, "ledger", path)
    journal = read_sheet(path, "Journal")
    assert memo in {row[journal[0].index("Memo")] for row in journal[1:]}
    before = fingerprint(ledger_db)
    synced = RoundTrip(ledger_db, settings, ACCOUNTANT).sync(path)
    assert synced.status != "rejected" and fingerprint(ledger_db) == before


def test_an_invoices_second_line_gets_the_default_account_and_a_missing_one_is_a_problem(ledger_db, settings,  # noqa: F811
                                                                                            tmp_path):
    """A sales invoice typed on two rows, the second without an Account: it is booked to
    sales like the first. A bill's second line without one is `required` at its cell, never
    the database's NOT NULL message."""
    path = tmp_path / "ledger.xlsx"
    new_workbook(ledger_db, ACCOUNTANT, "ledger", path)
    first = len(read_sheet(path, "Invoices")) + 1
    edit_by_label(path, "Invoices", first, {"Invoice": "new", "Kind": "sales", "Contact": CUSTOMER_NAME,
                                            "Date": date(2026, 3, 6), "Description": "Bolts", "Quantity": 2,
                                            "Unit price": 10})
    edit_by_label(path, "Invoices", first + 1, {"Invoice": "new", "Description": "Nuts", "Quantity": 1,
                                                "Unit price": 5})
    synced = RoundTrip(ledger_db, settings, ACCOUNTANT).sync(path)
    assert synced.status != "rejected", synced.as_json()
    rows = read_sheet(path, "Invoices")
    account = rows[0].index("Account")
    assert [rows[first - 1][account], rows[first][account]] == ["4100", "4100"]

    before = fingerprint(ledger_db)
    first = len(rows) + 1
    edit_by_label(path, "Invoices", first, {"Invoice": "bill", "Kind": "purchase", "Contact": CUSTOMER_NAME,
                                            "Date": date(2026, 3, 6), "Description": "Paper", "Quantity": 1,
                                            "Unit price": 10, "Account": "6200"})
    edit_by_label(path, "Invoices", first + 1, {"Invoice": "bill", "Description": "Ink", "Quantity": 1,
                                                "Unit price": 5})
    synced = RoundTrip(ledger_db, settings, ACCOUNTANT).sync(path)
    assert synced.status == "rejected"
    found = [(p.column, p.code, p.cell[1:]) for p in synced.problems + synced.conflicts]
    assert found == [("Account", "required", str(first + 1))]
    assert "database" not in json.dumps(synced.as_json()).lower()
    assert fingerprint(ledger_db) == before


def test_percent_and_underscore_are_matched_as_typed(db):
    """`--search` and `--tag` (and a mail merge's tag) match % and _ literally."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        for name, email, tags in (("Under Score", "kim_1@example.com", "a_b"), ("Other One", "kimx1@example.com", "axb"),
                                  ("Per Cent", "sale50%@example.com", "50%off"), ("Fifty", "sale50@example.com", "50x")):
            add_contact(session, SYSTEM, {"kind": "organisation", "name": name, "country": "GB", "email": email,
                                          "tags": tags})
    with db.reading() as session:
        def names(**filters):
            return [c.name for c in list_contacts(session, SYSTEM, **filters)]

        assert names(search="kim_") == ["Under Score"]
        assert names(search="50%") == ["Per Cent"]
        assert names(tag="a_b") == ["Under Score"]
        assert names(tag="50%") == ["Per Cent"]
        assert names(tag="%") == ["Per Cent"]
        assert len(tagged(session, SYSTEM, "a_b")[0]) == 1
        assert len(tagged(session, SYSTEM, "_")[0]) == 0

    url = db.engine.url.render_as_string(hide_password=False)
    from engine.cli import app

    shown = CliRunner().invoke(app, ["--database-url", url, "contacts", "list", "--tag", "a_b", "--json",
                                     "--user", "sam"])
    assert shown.exit_code == 0, shown.output
    assert [c["name"] for c in json.loads(shown.stdout)] == ["Under Score"]
