"""The ledger over HTTP: the same services, rules and numbers as `backoffice ledger`.

Entries posted over HTTP show in the trial balance as the query computes it; a refusal carries
the command line's problems (field, code, line) and saves nothing; money goes in and out as
exact decimals, never through a float."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine.ledger import reports
from engine.ledger.models import JournalEntry
from engine.ledger.reports import exact
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from tests.integration.doors import fingerprint

ACME = 1   # people_db's first contact, an organisation

RENT = {"entry_date": "2026-03-05", "memo": "March rent",
        "lines": [{"account": "6200", "debit": "1200.10"}, {"account": "1100", "credit": 1200.1}]}


@pytest.fixture
def ledger_api(api, people_db, books):
    """The API over the people database with the books (default chart, 2026 open) and an
    accountant, alex."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
    return api


def entries(db) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(JournalEntry))


def cli(db, *args: str) -> tuple[int, str, str]:
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", "alex"])
    return result.exit_code, result.stdout, result.stderr


def test_an_entry_posted_over_http_is_in_the_trial_balance_as_the_query_and_the_cli_give_it(ledger_api, people_db):
    headers = ledger_api.as_("alex")
    posted = ledger_api.post("/ledger/entries", json=RENT, headers=headers)
    assert posted.status_code == 201, posted.text
    entry = posted.json()
    assert entry["number"] == "JE-2026-00001" and entry["posted_by"] == "alex"
    assert [(x["account"], x["debit"], x["credit"]) for x in entry["lines"]] == [
        ("6200", "1200.1000", "0.0000"), ("1100", "0.0000", "1200.1000")]

    over_http = ledger_api.get("/ledger/trial-balance", params={"as_of": "2026-03-31"}, headers=headers)
    assert over_http.status_code == 200
    with people_db.reading() as session:
        alex = resolve_actor(session, "alex")
        queried = reports.trial_balance(session, alex, date(2026, 3, 31))
    assert over_http.json() == {"as_of": "2026-03-31", **exact(queried)}
    code, out, _ = cli(people_db, "ledger", "trial-balance", "--as-of", "2026-03-31")
    assert code == 0 and json.loads(out) == over_http.json()
    assert over_http.json()["total_debit"] == over_http.json()["total_credit"] == "1200.1000"


def test_amounts_are_read_as_exact_decimals_and_answered_as_exact_strings(ledger_api, people_db):
    """0.1 + 0.2 balances 0.3 only in decimals; the largest amount the books keep, sent as a
    bare JSON number, arrives and comes back digit for digit."""
    headers = {**ledger_api.as_("alex"), "Content-Type": "application/json"}
    small = ('{"entry_date": "2026-03-06", "lines": [{"account": "6200", "debit": 0.1}, '
             '{"account": "6200", "debit": 0.2}, {"account": "1100", "credit": 0.3}]}')
    reply = ledger_api.post("/ledger/entries", content=small, headers=headers)
    assert reply.status_code == 201, reply.text
    assert [x["debit"] for x in reply.json()["lines"]] == ["0.1000", "0.2000", "0.0000"]
    large = ('{"entry_date": "2026-03-06", "lines": [{"account": "6200", "debit": 99999999999.9999}, '
             '{"account": "1100", "credit": "99999999999.9999"}]}')
    reply = ledger_api.post("/ledger/entries", content=large, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["lines"][0]["debit"] == "99999999999.9999"
    tb = ledger_api.get("/ledger/trial-balance", params={"as_of": "2026-03-06"}, headers=headers).json()
    assert tb["total_debit"] == "100000000000.2999"
    nan = '{"entry_date": "2026-03-06", "lines": [{"account": "6200", "debit": NaN}, {"account": "1100"}]}'
    refused = ledger_api.post("/ledger/entries", content=nan, headers=headers)
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "lines.0.debit"
    assert entries(people_db) == 2


def test_an_unbalanced_entry_gets_the_clis_problems_as_422_and_saves_nothing(ledger_api, people_db):
    alex = ledger_api.as_("alex")
    before = fingerprint(people_db)
    body = {"entry_date": "2026-03-05", "lines": [{"account": "6200", "debit": "100"},
                                                  {"account": "9999", "credit": "90"},
                                                  {"account": "1000", "debit": "5", "credit": "5"}]}
    reply = ledger_api.post("/ledger/entries", json=body, headers=alex)
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    over_http = [(p["field"], p["code"], p["line"]) for p in reply.json()["problems"]]
    code, out, err = cli(people_db, "ledger", "post", "--date", "2026-03-05", "--line", "6200:100:",
                         "--line", "9999::90", "--line", "1000:5:5")
    assert code == 1 and out == ""
    assert over_http == [(p["field"], p["code"], p["line"]) for p in json.loads(err)["problems"]]
    assert ("entry", "unbalanced", None) in over_http and ("account", "reference", 2) in over_http
    assert ("account", "parent_account", 3) in over_http and ("debit", "one_side", 3) in over_http
    assert reply.json()["exit_code"] == 1
    assert fingerprint(people_db) == before


def test_a_closed_period_refuses_postings_and_only_a_role_that_may_reopen_it_does(ledger_api, people_db):
    alex, sam = ledger_api.as_("alex"), ledger_api.as_("sam")
    assert ledger_api.post("/ledger/entries", json={**RENT, "entry_date": "2026-01-10"}, headers=alex).status_code == 201
    closed = ledger_api.post("/ledger/periods/2026-01/close", headers=alex)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closing_entry"] == "JE-2026-00002"
    before = fingerprint(people_db)
    refused = ledger_api.post("/ledger/entries", json={**RENT, "entry_date": "2026-01-15"}, headers=alex)
    assert refused.status_code == 422
    assert [(p["field"], p["code"]) for p in refused.json()["problems"]] == [("entry_date", "period_closed")]
    again = ledger_api.post("/ledger/periods/2026-01/close", headers=alex)
    assert again.status_code == 422 and again.json()["code"] == "period_closed"
    # sam (sales) reads the ledger but may not reopen a period
    assert ledger_api.post("/ledger/periods/2026-01/reopen", headers=sam).status_code == 403
    assert ledger_api.post("/ledger/periods/2026-02/close", headers=sam).status_code == 403
    assert fingerprint(people_db) == before
    reopened = ledger_api.post("/ledger/periods/2026-01/reopen", headers=alex)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    periods = ledger_api.get("/ledger/periods", params={"limit": 2}, headers=alex).json()
    assert periods["total"] == 12 and [p["name"] for p in periods["items"]] == ["2026-01", "2026-02"]
    missing = ledger_api.post("/ledger/periods/2031-13/close", headers=alex)
    assert missing.status_code == 404 and missing.json()["problems"][0]["field"] == "period"


def test_a_warehouse_user_posting_gets_403_and_nothing_is_saved(ledger_api, people_db):
    wes, stef = ledger_api.as_("wes"), ledger_api.as_("stef")
    before = fingerprint(people_db)
    reply = ledger_api.post("/ledger/entries", json=RENT, headers={**wes, "Idempotency-Key": "w1"})
    assert reply.status_code == 403 and reply.json()["code"] == "permission"
    assert ledger_api.get("/ledger/entries", headers=wes).status_code == 403
    assert ledger_api.get("/ledger/trial-balance", params={"as_of": "2026-03-31"}, headers=stef).status_code == 403
    assert fingerprint(people_db) == before


def test_a_retried_post_with_the_same_idempotency_key_posts_once(ledger_api, people_db):
    headers = {**ledger_api.as_("alex"), "Idempotency-Key": "rent-2026-03"}
    first = ledger_api.post("/ledger/entries", json=RENT, headers=headers)
    again = ledger_api.post("/ledger/entries", json=RENT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["ETag"] == again.headers["ETag"]
    assert entries(people_db) == 1
    other = ledger_api.post("/ledger/entries", json={**RENT, "memo": "other"}, headers=headers)
    assert other.status_code == 422 and other.json()["problems"][0]["code"] == "idempotency_key_reused"
    assert entries(people_db) == 1


def test_an_entry_is_read_with_its_etag_and_reversed_once(ledger_api, people_db):
    alex = ledger_api.as_("alex")
    entry = ledger_api.post("/ledger/entries", json=RENT, headers=alex).json()
    by_id = ledger_api.get(f"/ledger/entries/{entry['id']}", headers=ledger_api.as_("sam"))
    by_number = ledger_api.get("/ledger/entries/je-2026-00001", headers=alex)
    assert by_id.status_code == by_number.status_code == 200
    assert by_id.json() == by_number.json() and by_id.headers["ETag"] == '"1"'
    headers = {**alex, "Idempotency-Key": "undo-rent"}
    mirror = ledger_api.post(f"/ledger/entries/{entry['id']}/reverse", json={"entry_date": "2026-03-07"},
                             headers=headers)
    replay = ledger_api.post(f"/ledger/entries/{entry['id']}/reverse", json={"entry_date": "2026-03-07"},
                             headers=headers)
    assert mirror.status_code == replay.status_code == 201 and mirror.json() == replay.json()
    assert mirror.json()["reverses"] == "JE-2026-00001" and mirror.json()["entry_date"] == "2026-03-07"
    assert [(x["debit"], x["credit"]) for x in mirror.json()["lines"]] == [("0.0000", "1200.1000"),
                                                                          ("1200.1000", "0.0000")]
    twice = ledger_api.post(f"/ledger/entries/{entry['id']}/reverse", headers=alex)
    assert twice.status_code == 422 and twice.json()["code"] == "reversed_already"
    assert ledger_api.get("/ledger/entries/JE-2026-00001", headers=alex).json()["reversed_by"] == "JE-2026-00002"
    assert ledger_api.get("/ledger/entries/JE-2099-00001", headers=alex).status_code == 404
    assert entries(people_db) == 2


def test_entries_are_listed_filtered_sorted_and_a_page_at_a_time(ledger_api):
    alex = ledger_api.as_("alex")
    for day, amount in (("2026-03-05", "30"), ("2026-03-01", "10"), ("2026-04-02", "20")):
        body = {"entry_date": day, "lines": [{"account": "6200", "debit": amount}, {"account": "1100", "credit": amount}]}
        assert ledger_api.post("/ledger/entries", json=body, headers=alex).status_code == 201
    march = ledger_api.get("/ledger/entries", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=alex).json()
    assert [(e["entry_date"], e["total"]) for e in march["items"]] == [("2026-03-01", "10.0000"),
                                                                     ("2026-03-05", "30.0000")]
    first = ledger_api.get("/ledger/entries", params={"sort": "-total", "limit": 2}, headers=alex).json()
    rest = ledger_api.get("/ledger/entries", params={"sort": "-total", "limit": 2, "cursor": first["next"]},
                          headers=alex).json()
    assert [e["total"] for e in first["items"] + rest["items"]] == ["30.0000", "20.0000", "10.0000"]
    assert ledger_api.get("/ledger/entries", params={"account": "4100"}, headers=alex).json()["total"] == 0
    assert ledger_api.get("/ledger/entries", params={"account": "6200"}, headers=alex).json()["total"] == 3


def test_the_chart_is_listed_and_an_account_read_with_its_version(ledger_api):
    sam = ledger_api.as_("sam")
    chart = ledger_api.get("/ledger/accounts", params={"limit": 500}, headers=sam).json()
    assert {"code": "1100", "name": "Bank", "postable": True} .items() <= next(
        a for a in chart["items"] if a["code"] == "1100").items()
    bank = ledger_api.get("/ledger/accounts/1100", headers=sam)
    assert bank.status_code == 200 and bank.headers["ETag"] == f'"{bank.json()["version"]}"'
    assert ledger_api.get("/ledger/accounts/0000", headers=sam).status_code == 404
    assert ledger_api.post("/ledger/accounts/install", headers=sam).status_code == 403
    assert ledger_api.post("/ledger/accounts/install", headers=ledger_api.as_("alex")).json() == {"added": 0}


def test_an_invoice_is_drafted_posted_once_and_paid_and_the_reports_agree(ledger_api, people_db):
    alex = ledger_api.as_("alex")
    draft = ledger_api.post("/ledger/invoices", headers=alex, json={
        "kind": "sales", "contact_id": ACME, "issued_on": "2026-03-02",
        "lines": [{"description": "Bolts", "quantity": 3, "unit_price": "19.99", "tax_rate": "0.2"}]})
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft" and draft.json()["due_on"] == "2026-04-01"
    assert draft.json()["lines"][0]["account_code"] == "4100"
    invoice_id = draft.json()["id"]
    headers = {**alex, "Idempotency-Key": "post-inv-1"}
    posted = ledger_api.post(f"/ledger/invoices/{invoice_id}/post", headers=headers)
    replay = ledger_api.post(f"/ledger/invoices/{invoice_id}/post", headers=headers)
    assert posted.status_code == replay.status_code == 200 and posted.json() == replay.json()
    assert (posted.json()["number"], posted.json()["net"], posted.json()["tax"], posted.json()["gross"]) == (
        "INV-2026-00001", "59.9700", "11.9900", "71.9600")
    twice = ledger_api.post(f"/ledger/invoices/{invoice_id}/post", headers=alex)
    assert twice.status_code == 422 and twice.json()["code"] == "posted"

    paid = ledger_api.post("/ledger/payments", headers={**alex, "Idempotency-Key": "pay-1"}, json={
        "kind": "received", "contact_id": ACME, "paid_on": "2026-03-20", "amount": "50",
        "settles": [{"invoice": "INV-2026-00001", "amount": 50}]})
    assert paid.status_code == 201, paid.text
    assert paid.json()["settles"] == [{"invoice_id": invoice_id, "invoice": "INV-2026-00001", "amount": "50.0000"}]
    over = ledger_api.post("/ledger/payments", headers=alex, json={
        "kind": "received", "contact_id": ACME, "paid_on": "2026-03-21", "amount": "100",
        "settles": [{"invoice": invoice_id, "amount": "30"}]})
    assert over.status_code == 422
    assert [(p["field"], p["code"], p["line"]) for p in over.json()["problems"]] == [("settles", "overpaid", 1)]

    read = ledger_api.get(f"/ledger/invoices/{invoice_id}", headers=ledger_api.as_("sam"))
    assert read.json()["open_amount"] == "21.9600" and read.headers["ETag"] == f'"{read.json()["version"]}"'
    listed = ledger_api.get("/ledger/invoices", params={"status": "posted", "kind": "sales"}, headers=alex).json()
    assert [i["number"] for i in listed["items"]] == ["INV-2026-00001"]
    aging = ledger_api.get("/ledger/aging", params={"as_of": "2026-05-15"}, headers=alex).json()
    assert [(r["contact"], r["days_31_60"], r["total"]) for r in aging["rows"]] == [("Acme Ltd", "21.9600", "21.9600")]
    sheet = ledger_api.get(f"/ledger/statement/{ACME}", params={"from": "2026-03-01", "to": "2026-03-31"},
                           headers=alex).json()
    assert (sheet["opening"], sheet["closing"]) == ("0.0000", "21.9600")
    assert [x["number"] for x in sheet["lines"]] == ["JE-2026-00001", "JE-2026-00002"]
    pnl = ledger_api.get("/ledger/pnl", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=alex).json()
    assert (pnl["total_income"], pnl["result"]) == ("59.9700", "59.9700")
    balance = ledger_api.get("/ledger/balance-sheet", params={"as_of": "2026-03-31"}, headers=alex).json()
    assert balance["total_assets"] == balance["total_liabilities_and_equity"] == "71.9600"
    backwards = ledger_api.get("/ledger/pnl", params={"from": "2026-03-31", "to": "2026-03-01"}, headers=alex)
    assert backwards.status_code == 422 and backwards.json()["problems"][0]["field"] == "end"


def test_a_bad_invoice_gets_the_rules_problems_and_saves_nothing(ledger_api, people_db):
    alex = ledger_api.as_("alex")
    before = fingerprint(people_db)
    reply = ledger_api.post("/ledger/invoices", headers=alex, json={
        "kind": "rental", "contact_id": 999, "issued_on": "2026-03-02", "due_on": "2026-03-01",
        "lines": [{"description": "Bolts", "quantity": "0", "unit_price": "-1", "account_code": "9999"}]})
    assert reply.status_code == 422
    found = {(p["field"], p["code"]) for p in reply.json()["problems"]}
    assert {("contact_id", "reference"), ("kind", "invalid"), ("quantity", "not_positive"),
            ("unit_price", "negative"), ("account_code", "reference")} <= found
    assert fingerprint(people_db) == before


def test_a_year_is_opened_an_accounts_postings_read_and_the_books_exported(ledger_api):
    alex = ledger_api.as_("alex")
    opened = ledger_api.post("/ledger/periods", json={"year": 2027}, headers=alex)
    assert opened.status_code == 201 and opened.json()["opened"][0] == "2027-01"
    assert ledger_api.post("/ledger/periods", json={"year": 20270}, headers=alex).json()["code"] == "invalid"
    assert ledger_api.post("/ledger/entries", json=RENT, headers=alex).status_code == 201
    rent = ledger_api.get("/ledger/accounts/6200/ledger", params={"from": "2026-03-01", "to": "2026-03-31"},
                          headers=alex).json()
    assert (rent["opening"], rent["closing"], rent["lines"][0]["number"]) == ("0.0000", "1200.1000", "JE-2026-00001")
    books = ledger_api.get("/ledger/export/beancount", headers=alex)
    assert books.status_code == 200 and books.headers["content-type"].startswith("text/plain")
    assert "1200.1" in books.text and "March rent" in books.text
