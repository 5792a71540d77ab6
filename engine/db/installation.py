"""The installation's identity: a random id and a secret, made when the database is created.

Every workbook carries the id, so a workbook exported from another company's (or a test)
database is recognised and refused instead of being merged into the wrong records. The
secret signs what a workbook carries about itself (its base snapshot, its user, its id: see
engine/sheets/meta.py), so a file altered outside Backoffice is refused. It stays in the
database: no command prints it, no file is written with it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UTCDateTime, utcnow


def new_workbook_key() -> str:
    """A fresh signing secret: 32 random bytes as hex."""
    return secrets.token_hex(32)


class Installation(Base):
    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    workbook_key: Mapped[str] = mapped_column(String(64), nullable=False, default=new_workbook_key)

    def __repr__(self) -> str:  # never the secret, even in a traceback
        return f"Installation(installation_id={self.installation_id!r})"


@dataclass(frozen=True)
class Seal:
    """This installation's id and the secret its workbooks are signed with."""

    installation_id: str
    key: bytes = field(repr=False)


def installation_id(session: Session) -> str:
    return seal(session).installation_id


def seal(session: Session) -> Seal:
    row = session.execute(select(Installation.installation_id, Installation.workbook_key)
                          .order_by(Installation.id).limit(1)).first()
    if row is None:
        raise RuntimeError("the database has no installation id; run `backoffice db upgrade`")
    return Seal(row.installation_id, bytes.fromhex(row.workbook_key))
