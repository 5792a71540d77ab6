"""Requests done once: the reply to a create, kept under the key its sender chose.

A client that sends a create and loses the connection before the answer cannot know whether
it was made. It sends the request again with the same `Idempotency-Key`; the reply kept here
is returned instead of making the record twice. The reply is stored in the same transaction
as the record it reports, so either both exist or neither does. Two copies of the request
racing each other meet at the unique key: the loser's transaction is rolled back whole and
it answers with the winner's reply.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UTCDateTime, utcnow

KEPT_FOR = timedelta(days=2)


class KeptReply(Base):
    __tablename__ = "idempotent_replies"
    __table_args__ = (UniqueConstraint("login", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request: Mapped[str] = mapped_column(String(64), nullable=False)   # digest of method, path and body
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[Any] = mapped_column(JSON, nullable=False)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def request_digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


def kept_reply(session: Session, login: str, key: str) -> KeptReply | None:
    return session.scalar(select(KeptReply).where(KeptReply.login == login, KeptReply.key == key))


def keep_reply(session: Session, login: str, key: str, request: str, status: int, body: Any,
               headers: dict[str, str]) -> None:
    """Keep the reply in the caller's transaction (flushed now: a racing twin fails here), and
    forget this user's replies older than `KEPT_FOR`: a retry comes within minutes, not days."""
    session.execute(delete(KeptReply).where(KeptReply.login == login, KeptReply.created_at < utcnow() - KEPT_FOR))
    session.add(KeptReply(login=login, key=key, request=request, status=status, body=body, headers=headers))
    session.flush()
