"""The HTTP API in tests: the real application (engine.api.app) over a real database, called
through Starlette's TestClient (httpx, in-process), and tokens made by the real service."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from engine.api.app import create_app
from engine.security import tokens
from engine.security.roles import SYSTEM


def token_for(db, login: str, days: int = 30) -> str:
    with db.unit_of_work(SYSTEM, source="system") as session:
        return tokens.create_token(session, SYSTEM, login, "test", days)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def serving(people_db, settings) -> Iterator[TestClient]:
    """A client of the server over `people_db` (users ada/admin, sam/sales, stef/staff,
    wes/warehouse); `api.as_(login)` gives headers with a fresh token of that user."""
    with TestClient(create_app(settings, database=people_db), raise_server_exceptions=False) as client:
        client.as_ = lambda login: bearer(token_for(people_db, login))   # type: ignore[attr-defined]
        yield client
