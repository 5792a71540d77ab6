"""The users table: who may act, and in which roles."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, Record


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
