"""The users table (who may act, and in which roles) and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, Record, UTCDateTime


class User(Record, Base):
    __tablename__ = "users"

    login: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    # Space-separated role names, e.g. "accountant manager"; checked against roles.toml.
    roles: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    @property
    def role_names(self) -> list[str]:
        return self.roles.split()


class ApiToken(Record, Base):
    """A person's key to the HTTP API: whoever presents it acts as that user.

    Only a SHA-256 digest of the token is kept: the token itself is shown once, when it is
    made, and cannot be read back (a stolen database copy yields no usable token). Tokens are
    long random strings, so a plain digest (no slow password hash) is enough to make them
    unguessable from their digest. A token ends at `expires_at`, or when revoked.
    """

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)   # shown in lists, to tell tokens apart
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
