"""The contacts over HTTP: tokens, versions as ETags, creates done once, problems as details."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.contacts.models import Contact
from engine.security import tokens
from engine.security.roles import SYSTEM
from tests.conftest import at_once
from tests.integration.api_client import bearer, token_for


def count_contacts(db) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Contact))


def test_a_request_without_a_usable_token_is_refused_with_401(api, people_db):
    assert api.get("/contacts").status_code == 401
    assert api.get("/contacts", headers={"Authorization": "Bearer bo_nonsense"}).status_code == 401
    assert api.get("/contacts", headers={"Authorization": "Basic YWRhOmFkYQ=="}).status_code == 401
    expired = token_for(people_db, "ada")
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        token_id = tokens.list_tokens(session, SYSTEM, "ada")[-1].id
        tokens.revoke_token(session, SYSTEM, token_id)
    reply = api.get("/contacts", headers=bearer(expired))
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["problems"][0]["field"] == "authorization"


def test_health_needs_no_token_and_names_the_schema(api):
    reply = api.get("/health")
    assert reply.status_code == 200
    assert reply.json()["schema"]["current"] == reply.json()["schema"]["head"]


def test_a_forbidden_action_is_403_and_saves_nothing(api, people_db):
    before = count_contacts(people_db)
    reply = api.post("/contacts", json={"kind": "organisation", "name": "Nope", "country": "GB"},
                     headers=api.as_("wes"))
    assert reply.status_code == 403
    assert reply.json()["code"] == "permission"
    assert count_contacts(people_db) == before


def test_bad_input_gets_the_rules_problems_as_422_and_nothing_is_saved(api, people_db):
    before = count_contacts(people_db)
    reply = api.post("/contacts", json={"kind": "organisation", "country": "ZZ"}, headers=api.as_("ada"))
    assert reply.status_code == 422
    found = {(p["field"], p["code"]) for p in reply.json()["problems"]}
    assert found == {("name", "required"), ("country", "invalid")}
    assert "Traceback" not in reply.text
    assert count_contacts(people_db) == before


def test_an_update_needs_if_match_and_a_stale_one_gets_412_with_the_current_record(api, people_db):
    headers = api.as_("ada")
    read = api.get("/contacts/1", headers=headers)
    tag = read.headers["ETag"]
    assert api.patch("/contacts/1", json={"phone": "1"}, headers=headers).status_code == 428
    first = api.patch("/contacts/1", json={"phone": "+44 1"}, headers={**headers, "If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] != tag
    stale = api.patch("/contacts/1", json={"phone": "+44 2"}, headers={**headers, "If-Match": tag})
    assert stale.status_code == 412
    assert stale.json()["current"]["phone"] == "+44 1"
    assert api.get("/contacts/1", headers=headers).json()["phone"] == "+44 1"


def test_a_retried_create_with_the_same_idempotency_key_creates_one_record(api, people_db):
    before = count_contacts(people_db)
    headers = {**api.as_("ada"), "Idempotency-Key": "4d1c-retry"}
    body = {"kind": "organisation", "name": "Once Ltd", "country": "GB"}
    first = api.post("/contacts", json=body, headers=headers)
    again = api.post("/contacts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_contacts(people_db) == before + 1
    other = api.post("/contacts", json={**body, "name": "Twice Ltd"}, headers=headers)
    assert other.status_code == 422 and other.json()["problems"][0]["code"] == "idempotency_key_reused"
    assert count_contacts(people_db) == before + 1


def test_lists_come_a_page_at_a_time_sorted_and_filtered(api):
    headers = api.as_("sam")
    first = api.get("/contacts", params={"sort": "name", "limit": 2}, headers=headers).json()
    assert [c["name"] for c in first["items"]] == sorted((c["name"] for c in first["items"]), key=str.casefold)
    second = api.get("/contacts", params={"sort": "name", "limit": 2, "cursor": first["next"]}, headers=headers).json()
    rest = api.get("/contacts", params={"sort": "name", "limit": 10, "cursor": second["next"]}, headers=headers).json()
    names = [c["name"] for page in (first, second, rest) for c in page["items"]]
    assert len(names) == len(set(names)) == first["total"] == 5
    people = api.get("/contacts", params={"kind": "person"}, headers=headers).json()
    assert {c["kind"] for c in people["items"]} == {"person"}
    assert api.get("/contacts", params={"sort": "nonsense"}, headers=headers).status_code == 422


def test_two_copies_of_a_create_racing_with_one_key_make_one_record(people_db, settings, database_url):
    """The retry arrives while the first is still being made: they meet at the kept reply's
    unique key, and the loser answers with the winner's record (PostgreSQL: SQLite has one
    writer at a time, so there is no race to lose)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time")
    from fastapi.testclient import TestClient

    from engine.api.app import create_app

    before = count_contacts(people_db)
    headers = {**bearer(token_for(people_db, "ada")), "Idempotency-Key": "race-1"}
    body = {"kind": "organisation", "name": "Raced Ltd", "country": "GB"}
    app = create_app(settings, database=people_db)
    with TestClient(app) as one, TestClient(app) as two:
        clients = iter((one, two))
        replies = at_once(lambda: (reply := next(clients).post("/contacts", json=body, headers=headers))
                          .status_code and reply.json()["id"])
    assert len(set(replies)) == 1
    assert count_contacts(people_db) == before + 1


def test_the_audit_log_comes_newest_first_a_page_at_a_time_as_the_caller_may_read_it(api, people_db):
    from engine.security.audit_log import audit_entries
    from engine.security.users import resolve_actor

    headers = api.as_("ada")
    pages, cursor = [], None
    while True:
        reply = api.get("/audit", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert reply.status_code == 200
        pages.append(reply.json()["items"])
        cursor = reply.json()["next"]
        if cursor is None:
            break
    ids = [row["id"] for page in pages for row in page]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    assert all(len(page) <= 3 for page in pages) and len(pages) > 2
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        local = audit_entries(session, resolve_actor(session, "ada"))
    assert ids == [row["id"] for row in reversed(local)]
    assert api.get("/audit", headers=api.as_("wes")).status_code == 403
