"""Walks over the server's whole route table (`tests/integration/api_walk.py`), so that a
route added later is checked without this file knowing of it:

- every route refuses a missing, unknown, malformed, expired or revoked token, and a
  deactivated user's, with 401 before it reads anything of the request;
- a role that may not see HR data receives no salary, national id, bank account, date of
  birth or medical reason from any GET route, in any body or header (the values looked
  for are those seeded, read back from every column the field policies mark);
- a user whose roles read nothing is refused (403) every POST, PATCH and DELETE.

Each walk is also run on a copy of the application with one faulty route added, to show
it finds what it looks for.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.api.app import create_app
from engine.api.problems import JSONReply
from engine.api.support import CallerDep, RequireToken
from engine.db.base import utcnow
from engine.models import Base
from engine.security import tokens
from engine.security.models import ApiToken, User
from engine.security.policies import active_policies
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.staff.models import LeaveType
from engine.staff.services import Hire, add_contract, add_department, hire, request_leave
from tests.integration.api_client import bearer, token_for
from tests.integration.api_walk import (
    concrete,
    documented,
    operations,
    path_names,
    plausible,
    request_body,
    spellings,
    takes_caller,
    texts_of,
)

NOT_HR = ("mo", "sam", "stef", "nora")        # manager (ann's manager), sales, staff, no role at all
SELF_SERVICE = {("POST", "/tokens")}           # anyone may make their own token
# The uploaded file says which module's workbook it is, so a file that is no workbook at all is
# refused (422, nothing read) before anyone's rights can be weighed; a real workbook edited by
# someone who may not write it is rejected at the cell, as at the command line
# (tests/integration/test_api_workbooks.py).
# The same for the add-in's routes: the cells sent say which workbook it is.
FILE_FIRST = {("POST", f"/workbooks{open_}/{operation}") for open_ in ("", "/open")
              for operation in ("validate", "sync", "refresh")}
# Path values that must name something real for the permission to be the question (a report
# not on offer is 404, whoever asks: the reports on offer are listed to anyone).
REAL_NAMES = {"/reports/{name}": {"name": "staff"}}


@pytest.fixture
def walk_db(people_db):
    """people_db, plus hana (HR), mo (manager), nora (no role), and staff with every
    sensitive field filled: mo heads Sales, ann reports to mo and is on sick leave with a
    medical reason."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        for login, roles in (("hana", ["hr"]), ("mo", ["manager"])):
            add_user(session, SYSTEM, login, login.title(), roles, None)
        session.add(User(login="nora", name="Nora", roles="", updated_by="system"))   # no role: reads nothing
    with people_db.reading() as session:
        hana = resolve_actor(session, "hana")
    with people_db.unit_of_work(hana) as session:
        sales = add_department(session, hana, "SAL", "Sales")
        session.add(LeaveType(code="sick", name="Sick leave", updated_by="hana"))
        session.flush()
        mo = hire(session, hana, Hire("Mo", "Test", "GB", "E1", sales.id, date(2025, 1, 6), login="mo",
                                      national_id="QQ551204D", bank_account="DE89370400440532013000",
                                      date_of_birth=date(1979, 11, 23)))
        ann = hire(session, hana, Hire("Ann", "Test", "GB", "E2", sales.id, date(2025, 1, 6), manager_id=mo.id,
                                       national_id="QQ738291C", bank_account="GB29NWBK60161331926819",
                                       date_of_birth=date(1987, 6, 14)))
        add_contract(session, hana, mo.id, "permanent", D(40), D("58777.10"), "EUR", date(2025, 1, 6))
        add_contract(session, hana, ann.id, "permanent", D(40), D("36123.45"), "EUR", date(2025, 1, 6))
        request_leave(session, hana, ann.id, "sick", date(2026, 5, 11), date(2026, 5, 12),
                      medical_reason="recurrent migraine xq")
    return people_db


@pytest.fixture
def walk_api(walk_db, settings):
    with TestClient(create_app(settings, database=walk_db), raise_server_exceptions=False) as client:
        yield client


# -- 401 ------------------------------------------------------------------------------------------

def unusable_tokens(db) -> dict[str, dict[str, str]]:
    """Authorization headers that must each be refused: none, not a bearer, unknown, expired,
    revoked, and a deactivated user's."""
    expired, revoked, gone = (token_for(db, login) for login in ("ada", "ada", "sam"))
    with db.unit_of_work(SYSTEM, source="system") as session:
        session.execute(sa.update(ApiToken).where(ApiToken.digest == tokens.digest(expired))
                        .values(expires_at=utcnow() - timedelta(days=1)))
        revoked_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.digest == tokens.digest(revoked)))
        tokens.revoke_token(session, SYSTEM, revoked_id)
        session.execute(sa.update(User).where(User.login == "sam").values(active=False))
    return {"missing": {}, "basic": {"Authorization": "Basic YWRhOmFkYQ=="},
            "unknown": bearer("bo_" + "x" * 43), "expired": bearer(expired), "revoked": bearer(revoked),
            "deactivated user": bearer(gone)}


BODIES = {"no body": {}, "empty JSON": {"json": {}},
          "broken JSON": {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}},
          "not UTF-8": {"content": b"\xd4\xff", "headers": {"Content-Type": "application/json"}},
          "a form": {"files": {"file": ("x.xlsx", b"PK\x03\x04", "application/octet-stream")}}}


def not_refused(client: TestClient, app: Any, tries: dict[str, dict[str, str]]) -> list[str]:
    """Every (route, token, body) that did not get a 401 `unauthenticated` problem."""
    wrong = []
    for (method, path, _route), (token, auth), (shape, body) in itertools.product(
            operations(app), tries.items(), BODIES.items()):
        sent = {**body, "headers": {**body.get("headers", {}), **auth}}
        reply = client.request(method, concrete(path), **sent)
        code = reply.json().get("code") if reply.headers.get("content-type", "").endswith("json") else None
        if reply.status_code != 401 or code != "unauthenticated" or "WWW-Authenticate" not in reply.headers:
            wrong.append(f"{method} {path} ({token} token, {shape}): {reply.status_code} {reply.text[:80]}")
    return wrong


def without_caller(app: Any) -> list[str]:
    return [f"{method} {path}" for method, path, route in operations(app) if not takes_caller(route)]


def test_every_route_refuses_an_unusable_token_with_401_before_reading_the_request(walk_api, walk_db):
    app = walk_api.app
    assert len(list(operations(app))) >= 8
    assert without_caller(app) == []
    assert not_refused(walk_api, app, unusable_tokens(walk_db)) == []


def _leaky(settings, db):
    """A copy of the application with one route that forgot its caller."""
    app = create_app(settings, database=db)

    @app.get("/leak/{item}")
    def leak(item: str) -> JSONReply:
        return JSONReply({"item": item})

    return app


def test_the_token_walk_finds_a_route_without_the_caller(walk_db, settings):
    app = _leaky(settings, walk_db)
    assert without_caller(app) == ["GET /leak/{item}"]
    # and a route that answers without a token: the same copy, without the token check in front
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RequireToken]
    with TestClient(app, raise_server_exceptions=False) as client:
        wrong = not_refused(client, app, {"missing": {}})
    assert any(line.startswith("GET /leak/{item} (missing token, no body): 200") for line in wrong)
    # without it, FastAPI also reads a body before any dependency: a broken one was a 422
    assert any(line.startswith("POST /contacts (missing token, broken JSON): 422") for line in wrong)


# -- field policy ---------------------------------------------------------------------------------

def sensitive_values(db, login: str) -> dict[str, set[str]]:
    """Every value stored in a column the field policies hide from `login`, as it could be
    spelt in an answer: {"table.column=value": spellings}."""
    with db.reading() as session:
        who = resolve_actor(session, login)
        found = {}
        for table, columns in active_policies().by_table.items():
            if table not in Base.metadata.tables:
                continue
            hidden = [c for c, policy in columns.items() if not who.sees(policy.sensitivity)]
            for column in hidden:
                values = session.scalars(sa.select(Base.metadata.tables[table].c[column])
                                         .where(Base.metadata.tables[table].c[column].is_not(None)))
                for value in values:
                    found[f"{table}.{column}={value}"] = spellings(value)
    return found


def _collect(value: Any, ids: set[int], words: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, int) and not isinstance(inner, bool) and (key == "id" or key.endswith("_id")):
                ids.add(inner)
            elif isinstance(inner, str) and key in ("code", "name", "login", "module", "template") and len(inner) < 60:
                words.add(inner)
            else:
                _collect(inner, ids, words)
    elif isinstance(value, list):
        for inner in value:
            _collect(inner, ids, words)


def _query(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    parameters = document["paths"][documented(path)][method.lower()].get("parameters", [])
    return {p["name"]: plausible(document, p["schema"], p["name"]) for p in parameters
            if p["in"] == "query" and p.get("required")}


def _reads(client: TestClient, headers: dict[str, str], document: dict[str, Any], ids: list[int],
           words: list[str]):
    """Every GET route, each path parameter filled with each of the ids or words seen (at most
    12 combinations a route): yields (what was asked, the reply)."""
    for method, path, route in operations(client.app):
        if method != "GET":
            continue
        choices = []
        for name in path_names(path):
            param = next((p for p in route.dependant.path_params if p.name == name), None)
            numeric = param is not None and param.field_info.annotation is int
            choices.append([(name, v) for v in (ids if numeric else [*words, *map(str, ids)])])
        for values in itertools.islice(itertools.product(*choices), 12):
            url = concrete(path, dict(values))
            yield url, client.get(url, params=_query(document, method, path), headers=headers)


def leaks(client: TestClient, db, login: str) -> list[str]:
    """What of the values hidden from `login` any GET route handed them, in a body or header."""
    document = client.get("/openapi.json").json()
    ids, words = {1}, set()
    for _url, reply in _reads(client, bearer(token_for(db, "ada")), document, [1], ["1"]):
        if reply.status_code == 200 and "json" in reply.headers.get("content-type", ""):
            _collect(reply.json(), ids, words)
    hidden = sensitive_values(db, login)
    assert hidden, "nothing sensitive was seeded"
    found = []
    for url, reply in _reads(client, bearer(token_for(db, login)), document, sorted(ids), sorted(words)):
        assert reply.status_code < 500, f"{url}: {reply.status_code}"
        texts = [*texts_of(reply.content), "\n".join(f"{k}: {v}" for k, v in reply.headers.items())]
        found += [f"{url} -> {name}" for name, spelt in hidden.items()
                  if any(s in text for s in spelt for text in texts)]
    return found


@pytest.mark.parametrize("login", NOT_HR)
def test_no_get_route_hands_hr_data_to_a_role_that_may_not_see_it(walk_api, walk_db, login):
    assert leaks(walk_api, walk_db, login) == []


def test_the_field_walk_finds_a_route_that_hands_out_a_salary(walk_db, settings):
    app = create_app(settings, database=walk_db)

    @app.get("/leak/salaries")
    def salaries(who: CallerDep) -> JSONReply:
        return JSONReply({"salary": D("36123.45")})

    with TestClient(app, raise_server_exceptions=False) as client:
        assert [leak.split("=")[0] for leak in leaks(client, walk_db, "sam")] == ["/leak/salaries -> contracts.salary"]


# -- 403 ------------------------------------------------------------------------------------------

def not_forbidden(client: TestClient, db, login: str) -> list[str]:
    """Every POST, PATCH and DELETE (with the smallest body it accepts and an If-Match) that
    did not answer 403 `permission` to `login`."""
    document = client.get("/openapi.json").json()
    token_for(db, "ada")                # so a record 1 of every kind is someone else's (token 1 too)
    headers = {**bearer(token_for(db, login)), "If-Match": '"1"', "Idempotency-Key": "walk"}
    wrong = []
    for method, path, _route in operations(client.app):
        if method == "GET" or (method, path) in SELF_SERVICE | FILE_FIRST:
            continue
        body = request_body(document, method, path)
        reply = client.request(method, concrete(path, REAL_NAMES.get(path)), headers=headers, params=_query(document, method, path),
                               **{k: v for k, v in body.items() if v is not None})
        if reply.status_code != 403 or reply.json().get("code") != "permission":
            wrong.append(f"{method} {path}: {reply.status_code} {reply.text[:120]}")
    return wrong


def test_a_user_whose_roles_read_nothing_is_refused_every_change_with_403(walk_api, walk_db):
    wrong = not_forbidden(walk_api, walk_db, "nora")
    assert wrong == [], "\n".join(wrong)
    # what anyone may do: make a token of their own
    mine = walk_api.post("/tokens", json={"name": "laptop"}, headers=bearer(token_for(walk_db, "nora")))
    assert mine.status_code == 201 and mine.json()["login"] == "nora"


def test_the_403_walk_finds_a_change_anyone_may_make(walk_db, settings):
    app = create_app(settings, database=walk_db)

    @app.post("/leak/notes")
    def note(who: CallerDep) -> JSONReply:
        return JSONReply({"saved": True}, status_code=201)

    with TestClient(app, raise_server_exceptions=False) as client:
        assert [w.split(":")[0] for w in not_forbidden(client, walk_db, "nora")] == ["POST /leak/notes"]
