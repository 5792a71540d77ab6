"""The ledger's bad inputs through every door (the services, `backoffice ledger ...` and the
Ledger workbook's Journal, Invoices and Payments sheets): the same field and code, and the
same line of a multi-line entry, at each; nothing saved."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from engine.errors import ValidationFailed
from engine.ledger.invoices import LineIn, create_invoice, record_payment
from engine.ledger.services import Line, post_entry, reverse_entry
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import edit_by_label, read_sheet
from tests.integration.doors import Api, Case, Sheet, actor, assert_same_at_every_door, fingerprint
from tests.integration.ledger_books import CUSTOMER, CUSTOMER_NAME, MEMO_100_KB, ledger_db  # noqa: F401  (the fixture)

MARCH = date(2026, 3, 5)


def _post(on, *lines):
    return lambda s, a: post_entry(s, a, on, list(lines))


def _entry(on, *lines, **values):
    """`POST /ledger/entries`: lines as (account, debit, credit), money as JSON strings."""
    return Api("POST", "/ledger/entries", {"entry_date": on.isoformat(), **values, "lines": [
        {"account": account, **({"debit": str(debit)} if debit is not None else {}),
         **({"credit": str(credit)} if credit is not None else {})} for account, debit, credit in lines]})


def _journal(on, first, second):
    """The two lines of entry "A", as typed into the Journal sheet."""
    return Sheet("ledger", "Journal", {"Entry": "A", "Date": on, **first}, more=({"Entry": "A", **second},))


def _invoice(**changes):
    values = {"kind": "sales", "contact_id": CUSTOMER, "issued_on": date(2026, 3, 6), "due_on": date(2026, 4, 5),
              "lines": [LineIn("Bolts", D(2), D(10), "4100")], **changes}
    return lambda s, a: create_invoice(s, a, values["kind"], values["contact_id"], values["issued_on"],
                                       values["due_on"], values["lines"])


def _invoice_row(**values):
    return Sheet("ledger", "Invoices", {"Invoice": "new", "Kind": "sales", "Contact": CUSTOMER_NAME,
                                        "Date": date(2026, 3, 6), "Description": "Bolts", "Quantity": 2,
                                        "Unit price": 10, "Account": "4100", **values})


def _invoice_api(**values):
    return Api("POST", "/ledger/invoices", {"kind": "sales", "contact_id": CUSTOMER, "issued_on": "2026-03-06",
                                            "due_on": "2026-04-05", "lines": [
                                                {"description": "Bolts", "quantity": "2", "unit_price": "10",
                                                 "account_code": values.pop("account_code", "4100")}], **values})


def _payment_api(on, amount, settles=()):
    return Api("POST", "/ledger/payments", {"kind": "received", "contact_id": CUSTOMER, "paid_on": on.isoformat(),
                                            "amount": str(amount), "settles": [
                                                {"invoice": number, "amount": str(share)} for number, share in settles]})


def _pay(on, amount, settles=()):
    return lambda s, a: record_payment(s, a, "received", CUSTOMER, on, D(amount), list(settles))


POST = ("ledger", "post", "--date")
INVOICE = ("ledger", "invoice", "--customer", str(CUSTOMER), "--date", "2026-03-06")
PAY = ("ledger", "pay", "--customer", str(CUSTOMER))

CASES = [
    Case("an unbalanced entry", "alex", ("entry", "unbalanced"),
         service=_post(MARCH, Line("6200", debit=D(450)), Line("1100", credit=D(400))),
         cli=(*POST, "2026-03-05", "--line", "6200:450:", "--line", "1100::400"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 450}, {"Account": "1100", "Credit": 400}),
         api=_entry(MARCH, ("6200", 450, None), ("1100", None, 400))),
    Case("an entry dated in a closed period", "alex", ("entry_date", "period_closed"),
         service=_post(date(2026, 1, 20), Line("6200", debit=D(80)), Line("1100", credit=D(80))),
         cli=(*POST, "2026-01-20", "--line", "6200:80:", "--line", "1100::80"),
         workbook=_journal(date(2026, 1, 20), {"Account": "6200", "Debit": 80}, {"Account": "1100", "Credit": 80}),
         api=_entry(date(2026, 1, 20), ("6200", 80, None), ("1100", None, 80))),
    Case("an entry dated where no period is open", "alex", ("entry_date", "no_period"),
         service=_post(date(2027, 6, 1), Line("6200", debit=D(80)), Line("1100", credit=D(80))),
         cli=(*POST, "2027-06-01", "--line", "6200:80:", "--line", "1100::80"),
         workbook=_journal(date(2027, 6, 1), {"Account": "6200", "Debit": 80}, {"Account": "1100", "Credit": 80}),
         api=_entry(date(2027, 6, 1), ("6200", 80, None), ("1100", None, 80))),
    Case("an account that does not exist", "alex", ("account", "reference"),
         service=_post(MARCH, Line("6200", debit=D(10)), Line("9999", credit=D(10))),
         cli=(*POST, "2026-03-05", "--line", "6200:10:", "--line", "9999::10"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 10}, {"Account": "9999", "Credit": 10}),
         api=_entry(MARCH, ("6200", 10, None), ("9999", None, 10))),
    Case("posting to an account with sub-accounts", "alex", ("account", "parent_account"),
         service=_post(MARCH, Line("6000", debit=D(10)), Line("1100", credit=D(10))),
         cli=(*POST, "2026-03-05", "--line", "6000:10:", "--line", "1100::10"),
         workbook=_journal(MARCH, {"Account": "6000", "Debit": 10}, {"Account": "1100", "Credit": 10}),
         api=_entry(MARCH, ("6000", 10, None), ("1100", None, 10))),
    Case("a negative debit", "alex", ("debit", "negative"),
         service=_post(MARCH, Line("6200", debit=D(-10)), Line("1100", debit=D(10))),
         cli=(*POST, "2026-03-05", "--line", "6200:-10:", "--line", "1100:10:"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": -10}, {"Account": "1100", "Debit": 10}),
         api=_entry(MARCH, ("6200", -10, None), ("1100", 10, None))),
    # Posted entries are never edited (a reversal puts a mistake right): only the workbook shows
    # a posted row to type over; the API has no PATCH of an entry, the services no change of one.
    Case("an edit of a posted journal row", "alex", ("account", "posted"),
         workbook=Sheet("ledger", "Journal", {"Account": "6300"}, find=("Entry", "JE-2026-00001")),
         doors=("workbook",)),
    Case("reversing an entry a second time", "alex", ("entry", "reversed_already"),
         service=lambda s, a: reverse_entry(s, a, "JE-2026-00001"),
         cli=("ledger", "reverse", "JE-2026-00001"),
         api=Api("POST", "/ledger/entries/JE-2026-00001/reverse", {}),
         doors=("service", "cli")),
    Case("a role that may not write the ledger", "sam", ("", "permission"),
         service=_post(MARCH, Line("6200", debit=D(10)), Line("1100", credit=D(10))),
         cli=(*POST, "2026-03-05", "--line", "6200:10:", "--line", "1100::10"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 10}, {"Account": "1100", "Credit": 10}),
         api=_entry(MARCH, ("6200", 10, None), ("1100", None, 10))),
    Case("an invoice for a contact that does not exist", "alex", ("contact_id", "reference"),
         service=_invoice(contact_id=9999),
         cli=("ledger", "invoice", "--customer", "9999", "--date", "2026-03-06", "--line", "2:10:4100:0:Bolts"),
         workbook=_invoice_row(**{"Contact": "Nobody Ltd"}),
         api=_invoice_api(contact_id=9999)),
    Case("an invoice line booked to a heading account", "alex", ("account_code", "parent_account"),
         service=_invoice(lines=[LineIn("Bolts", D(2), D(10), "4000")]),
         cli=(*INVOICE, "--line", "2:10:4000:0:Bolts"),
         workbook=_invoice_row(Account="4000"),
         api=_invoice_api(account_code="4000")),
    Case("an invoice due before it is dated", "alex", ("due_on", "before_issued"),
         service=_invoice(due_on=date(2026, 3, 1)),
         cli=(*INVOICE, "--terms", "-5", "--line", "2:10:4100:0:Bolts"),
         workbook=_invoice_row(Due=date(2026, 3, 1)),
         api=_invoice_api(due_on="2026-03-01")),
    Case("settling an invoice on which nothing is open", "alex", ("settles", "overpaid"),
         service=_pay(MARCH, 10, [("INV-2026-00001", D(10))]),
         cli=(*PAY, "--date", "2026-03-05", "--amount", "10", "--invoice", "INV-2026-00001:10"),
         workbook=Sheet("ledger", "Payments", {"Date": MARCH, "Kind": "received", "Contact": CUSTOMER_NAME,
                                               "Amount": 10, "Settles": "INV-2026-00001"}),
         api=_payment_api(MARCH, 10, [("INV-2026-00001", 10)])),
    Case("a payment of nothing", "alex", ("amount", "not_positive"),
         service=_pay(MARCH, 0),
         cli=(*PAY, "--date", "2026-03-05", "--amount", "0"),
         workbook=Sheet("ledger", "Payments", {"Date": MARCH, "Kind": "received", "Contact": CUSTOMER_NAME,
                                               "Amount": 0}),
         api=_payment_api(MARCH, 0)),
    Case("a payment dated in a closed period", "alex", ("paid_on", "period_closed"),
         service=_pay(date(2026, 1, 15), 5),
         cli=(*PAY, "--date", "2026-01-15", "--amount", "5"),
         workbook=Sheet("ledger", "Payments", {"Date": date(2026, 1, 15), "Kind": "received",
                                               "Contact": CUSTOMER_NAME, "Amount": 5}),
         api=_payment_api(date(2026, 1, 15), 5)),
    # Limits (engine/limits.py): what the column or a cell cannot hold is refused, never cut.
    Case("a memo of 100 KB", "alex", ("memo", "too_long"),
         service=lambda s, a: post_entry(s, a, MARCH, [Line("6200", debit=D(10)), Line("1100", credit=D(10))],
                                         memo=MEMO_100_KB),
         cli=(*POST, "2026-03-05", "--line", "6200:10:", "--line", "1100::10", "--memo", MEMO_100_KB),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 10, "Memo": MEMO_100_KB},
                           {"Account": "1100", "Credit": 10}),
         api=_entry(MARCH, ("6200", 10, None), ("1100", None, 10), memo=MEMO_100_KB)),
    Case("a line break in a memo", "alex", ("memo", "control_character"),
         service=lambda s, a: post_entry(s, a, MARCH, [Line("6200", debit=D(10)), Line("1100", credit=D(10))],
                                         memo="rent\nMarch"),
         cli=(*POST, "2026-03-05", "--line", "6200:10:", "--line", "1100::10", "--memo", "rent\nMarch"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 10, "Memo": "rent\nMarch"},
                           {"Account": "1100", "Credit": 10}),
         api=_entry(MARCH, ("6200", 10, None), ("1100", None, 10), memo="rent\nMarch")),
    Case("an amount no cell holds exactly", "alex", ("debit", "out_of_range"),
         service=_post(MARCH, Line("6200", debit=D(500_000_000_000)), Line("1100", credit=D(500_000_000_000))),
         cli=(*POST, "2026-03-05", "--line", "6200:500000000000:", "--line", "1100::500000000000"),
         workbook=_journal(MARCH, {"Account": "6200", "Debit": 500_000_000_000},
                           {"Account": "1100", "Credit": 500_000_000_000}),
         api=_entry(MARCH, ("6200", 500_000_000_000, None), ("1100", None, 500_000_000_000))),
    Case("an entry dated in the year 2300", "alex", ("entry_date", "date_out_of_range"),
         service=_post(date(2300, 1, 1), Line("6200", debit=D(10)), Line("1100", credit=D(10))),
         cli=(*POST, "2300-01-01", "--line", "6200:10:", "--line", "1100::10"),
         workbook=_journal(date(2300, 1, 1), {"Account": "6200", "Debit": 10}, {"Account": "1100", "Credit": 10}),
         api=_entry(date(2300, 1, 1), ("6200", 10, None), ("1100", None, 10))),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_ledger_input_is_refused_alike_at_every_door(case, ledger_db, settings, tmp_path):  # noqa: F811
    assert_same_at_every_door(case, ledger_db, settings, tmp_path)


def test_a_line_problem_names_the_same_line_at_every_door(ledger_db, settings, tmp_path):  # noqa: F811
    """Line 2 names an unknown account: the service, the CLI and the API say line 2, the
    workbook marks the Account cell of the entry's second row."""
    case = CASES[3]
    who = actor(ledger_db, "alex")
    before = fingerprint(ledger_db)
    with pytest.raises(ValidationFailed) as refused:
        with ledger_db.unit_of_work(who) as session:
            case.service(session, who)
    assert {(p.field, p.code, p.line) for p in refused.value.problems} == {("account", "reference", 2)}

    from engine.cli import app

    url = ledger_db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *case.cli, "--json", "--user", "alex"])
    assert result.exit_code == 1 and result.stdout == ""
    assert [(p["field"], p["code"], p["line"]) for p in json.loads(result.stderr)["problems"]] == [
        ("account", "reference", 2)]

    path = tmp_path / "ledger.xlsx"
    new_workbook(ledger_db, who, "ledger", path)
    first = len(read_sheet(path, "Journal")) + 1
    edit_by_label(path, "Journal", first, case.workbook.values)
    edit_by_label(path, "Journal", first + 1, case.workbook.more[0])
    synced = RoundTrip(ledger_db, settings, who).sync(path)
    assert [(p.column, p.code, p.cell[1:]) for p in synced.problems + synced.conflicts] == [
        ("Account", "reference", str(first + 1))]
    assert fingerprint(ledger_db) == before

    from fastapi.testclient import TestClient

    from engine.api.app import create_app
    from tests.integration.api_client import token_for

    token = token_for(ledger_db, "alex")      # saves the token: the request must save nothing more
    before = fingerprint(ledger_db)
    with TestClient(create_app(settings, database=ledger_db)) as client:
        reply = client.post(case.api.path, json=case.api.body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 422, reply.text
    assert [(p["field"], p["code"], p["line"]) for p in reply.json()["problems"]] == [("account", "reference", 2)]
    assert fingerprint(ledger_db) == before
