"""Declarative base and the columns every business table shares.

`version` is SQLAlchemy's version counter: every UPDATE carries `WHERE version = :v`, so a
change made from a stale copy (an old workbook, a second window) fails instead of silently
overwriting someone else's work. `StaleRecordError` turns that into a message naming the
record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import StaleRecordError

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A time stamp stored in UTC and always read back as an aware UTC datetime.

    SQLite has no time zones; without this a value would come back naive and could be
    mistaken for local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("time stamps must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Record:
    """Mixin for business tables: id, version, created_at, updated_at, updated_by."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False, default="system")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}

    def label(self) -> str:
        """How the record is named in messages, e.g. 'contacts #12'."""
        return f"{self.__tablename__} #{self.id}"  # type: ignore[attr-defined]


COMMON_COLUMNS = ("id", "version", "created_at", "updated_at", "updated_by")


def flush_guarded(session, record: Record, expected_version: int) -> None:
    """Flush, turning a lost race on the row version into a conflict naming the record.

    The service checked the version it read; this catches the writer that got in between
    that read and our UPDATE ... WHERE version = :v.
    """
    label = record.label()  # read before the flush: a failed flush leaves it unreadable
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleRecordError(label, expected_version, None) from exc


def require_version(record: Record, expected_version: int | None, label: str | None = None) -> None:
    """Refuse a change made from another version of `record` than it has now (None: the
    change was made from what is there now, as a command's is)."""
    if expected_version is not None and record.version != expected_version:
        raise StaleRecordError(label or record.label(), expected_version, record.version)


def apply_changes(session, record: Record, values: Mapping[str, Any], by: str,
                  expected_version: int | None = None) -> bool:
    """Set the fields of `record` that `values` changes and save them in the name of `by`,
    guarded by the version the change was made from (the record's own if None). Nothing is
    written, and the version stays, when nothing changed; returns whether something did."""
    changed = False
    for field, value in values.items():
        if getattr(record, field) != value:
            setattr(record, field, value)
            changed = True
    if changed:
        record.updated_by = by
        flush_guarded(session, record, record.version if expected_version is None else expected_version)
    return changed

