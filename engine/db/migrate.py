"""Schema migrations (Alembic, shipped inside the package) and the start-up schema check.

Every command calls `ensure_current`: an empty database is brought to the current schema
automatically; a database newer than this code, or older than it but already holding data,
is refused with a message saying what to do, before anything reads or writes it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect

from engine.errors import SchemaMismatch

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    """The migrations shipped with this code (read once per process)."""
    return ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after)."""
    before = current_revision(engine)
    _refuse_newer(before)
    command.upgrade(alembic_config(engine), "head")
    return before, head_revision()


def status(engine: Engine) -> dict[str, object]:
    current, head = current_revision(engine), head_revision()
    known = current is None or _is_known(current)
    state = "up to date" if current == head else ("newer than this code" if not known else "needs upgrade")
    return {"current": current, "head": head, "state": state, "url": engine.url.render_as_string()}


def ensure_current(engine: Engine) -> None:
    current = current_revision(engine)
    if current is None:
        if inspect(engine).get_table_names():
            raise SchemaMismatch(
                f"the database at {engine.url.render_as_string()} holds tables but no Backoffice "
                "schema version; point BACKOFFICE_DATABASE_URL at an empty or Backoffice database."
            )
        command.upgrade(alembic_config(engine), "head")
        return
    _refuse_newer(current)
    if current != head_revision():
        raise SchemaMismatch(
            f"the database schema is at revision {current}, this Backoffice expects "
            f"{head_revision()}; back it up, then run `backoffice db upgrade`."
        )


def _is_known(revision: str) -> bool:
    return any(rev.revision == revision for rev in _scripts().walk_revisions())


def _refuse_newer(revision: str | None) -> None:
    if revision is not None and not _is_known(revision):
        raise SchemaMismatch(
            f"the database schema (revision {revision}) is newer than this Backoffice; "
            "nothing was touched: install the newer Backoffice version that created it."
        )


def reset(engine: Engine) -> None:
    """Remove every Backoffice table (and its data), then rebuild the empty schema."""
    if current_revision(engine) is not None:
        _refuse_newer(current_revision(engine))
        command.downgrade(alembic_config(_without_foreign_keys(engine)), "base")
    command.upgrade(alembic_config(engine), "head")


def _without_foreign_keys(engine: Engine) -> Engine:
    """For dropping everything: SQLite empties a table row by row before DROP TABLE, checking
    every reference as it goes (a bin before its warehouse is fine, the other way round is
    not), so the drop runs on a connection without foreign key enforcement. PostgreSQL drops
    a table whole: the engine as it is."""
    if engine.dialect.name != "sqlite":
        return engine
    return create_engine(engine.url)
