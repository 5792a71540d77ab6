"""The installation's identity: a random id made when the database is created.

Every workbook carries it, so a workbook exported from another company's (or a test)
database is recognised and refused instead of being merged into the wrong records.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UTCDateTime, utcnow


class Installation(Base):
    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def installation_id(session: Session) -> str:
    value = session.scalar(select(Installation.installation_id).order_by(Installation.id).limit(1))
    if value is None:
        raise RuntimeError("the database has no installation id; run `backoffice db upgrade`")
    return value
