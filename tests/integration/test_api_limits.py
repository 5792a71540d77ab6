"""What one request may bring and how often a token may call, and the tokens' own commands."""

from __future__ import annotations

import json
from datetime import date

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from engine.api.app import create_app
from engine.cli import app as cli
from engine.config import Settings
from engine.ledger.rules import check_range
from tests.integration.api_client import bearer, token_for


def test_a_token_calling_too_often_gets_429_with_retry_after(people_db, database_url):
    settings = Settings(database_url=database_url, server={"requests_per_minute": 3})
    with TestClient(create_app(settings, database=people_db)) as client:
        headers = bearer(token_for(people_db, "sam"))
        assert [client.get("/me", headers=headers).status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/me", headers=headers)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert refused.json()["code"] == "too_many_requests"
        other = bearer(token_for(people_db, "ada"))    # another person's token is counted apart
        assert client.get("/me", headers=other).status_code == 200


def test_a_body_larger_than_the_setting_is_refused_with_413_before_it_is_read(people_db, database_url):
    settings = Settings(database_url=database_url, server={"max_request_bytes": 2048})
    with TestClient(create_app(settings, database=people_db)) as client:
        headers = bearer(token_for(people_db, "ada"))
        body = {"kind": "organisation", "name": "Big Ltd", "country": "GB", "notes": "x" * 4000}
        reply = client.post("/contacts", json=body, headers=headers)
        assert reply.status_code == 413
        assert reply.json()["code"] == "too_large"
        streamed = client.post("/contacts", content=(b"x" * 1024 for _ in range(4)),
                               headers={**headers, "content-type": "application/json"})
        assert streamed.status_code == 413
        assert client.get("/contacts", params={"search": "Big"}, headers=headers).json()["total"] == 0


def test_tokens_are_made_shown_once_listed_without_their_secret_and_revoked(people_db, database_url, api):
    runner = CliRunner()
    env = {"BACKOFFICE_DATABASE_URL": database_url}
    made = runner.invoke(cli, ["users", "token", "create", "--name", "Leeds office", "--for", "sam",
                               "--days", "7", "--json", "-u", "ada"], env=env)
    assert made.exit_code == 0, made.output
    token = json.loads(made.stdout)["token"]
    assert api.get("/me", headers=bearer(token)).json()["login"] == "sam"
    listed = runner.invoke(cli, ["users", "token", "list", "--for", "*", "--json", "-u", "ada"], env=env)
    assert token not in listed.stdout and token[:10] in listed.stdout
    token_id = json.loads(made.stdout)["id"]
    assert runner.invoke(cli, ["users", "token", "revoke", str(token_id), "-u", "sam"], env=env).exit_code == 0
    assert api.get("/me", headers=bearer(token)).status_code == 401


def test_only_an_administrator_makes_a_token_for_someone_else(people_db, database_url):
    refused = CliRunner().invoke(cli, ["users", "token", "create", "--name", "x", "--for", "ada", "-u", "sam"],
                                 env={"BACKOFFICE_DATABASE_URL": database_url})
    assert refused.exit_code == 2
    assert "may not write users" in refused.output


def test_ids_dates_and_text_no_column_holds_are_refused_with_the_limits_codes_and_nothing_saved(api):
    """Values a route would look up before the rules see them (an id past PostgreSQL's integer,
    a NUL, a date outside the books' range) are 422 with engine.limits' codes, never a 500."""
    headers = api.as_("ada")
    huge = 2**31
    for path in (f"/inventory/items/{huge}", f"/ledger/invoices/{huge}", f"/mail/runs/{huge}",
                 f"/quality/ncrs/{huge}", f"/quality/lots/{huge}/inspection"):
        assert api.get(path, headers=headers).status_code == 422, path
    refused = api.get("/ledger/entries", params={"account": "1\x00"}, headers=headers)
    assert refused.status_code == 422
    assert [(p["field"], p["code"]) for p in refused.json()["problems"]] == [("account", "control_character")]
    refused = api.get("/ledger/pnl", params={"from": "0001-01-01", "to": "0001-12-31"}, headers=headers)
    assert [(p["field"], p["code"]) for p in refused.json()["problems"]] == [
        ("from", "date_out_of_range"), ("to", "date_out_of_range")]
    invoice = {"kind": "sales", "contact_id": huge, "issued_on": "2026-01-05",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]}
    refused = api.post("/ledger/invoices", json=invoice, headers=headers)
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["contact_id"]
    assert api.get("/ledger/invoices", headers=headers).json()["total"] == 0


def test_a_report_span_outside_the_books_dates_is_refused_at_every_door():
    assert [(p.field, p.code) for p in check_range(date(1, 1, 1), date(1, 1, 31))] == [
        ("start", "date_out_of_range"), ("end", "date_out_of_range")]
    assert [p.code for p in check_range(date(2026, 2, 1), date(2026, 1, 1))] == ["before_start"]
