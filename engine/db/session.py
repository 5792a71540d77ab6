"""The unit of work: one transaction per service call, audited, all or nothing.

    db = Database.open(settings)
    with db.unit_of_work(actor, source="cli") as session:
        services.add_contact(session, ...)

Everything flushed inside the block is audited with the actor and source; leaving the block
normally commits, an exception rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.config import AdminSettings, CrmSettings, LedgerSettings, OrganisationSettings, Settings
from engine.db.audit import AuditContext, install_audit
from engine.db.engine import READ_ONLY, check_reachable, create_db_engine
from engine.db.schema_version import is_current
from engine.errors import StaleRecordError
from engine.security.roles import Actor


class Database:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        install_audit(self.sessions)
        install_audit(self.read_sessions)
        self.ledger = LedgerSettings()  # how the books are kept (services read it from session.info)
        self.crm = CrmSettings()        # the CRM's opportunity stages (likewise)
        self.admin = AdminSettings()    # whether and where the asset register posts (likewise)
        self.organisation = OrganisationSettings()   # whose reports, in which locale (likewise)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True, create: bool = False) -> Database:
        """Connect; bring an empty database to the current schema; refuse a mismatched one.

        A SQLite file that does not exist is refused unless `create` (only `db upgrade` and
        `demo` pass it, and the test suite's fixtures, which make a database the same way):
        a mistyped path must not quietly start an empty database. A server that cannot be
        reached, or refuses the role, password or database, is refused naming the setting."""
        password = settings.database_password.get_secret_value() if settings.database_password else None
        db = cls(create_db_engine(settings.database_url, settings.busy_timeout_seconds, create=create,
                                  password=password))
        try:
            check_reachable(db.engine)
        except BaseException:
            db.dispose()
            raise
        db.ledger = settings.ledger
        db.crm = settings.crm
        db.admin = settings.admin
        db.organisation = settings.organisation
        if migrate and not is_current(db.engine):
            from engine.db.migrate import ensure_current  # here: Alembic is a slow import

            ensure_current(db.engine)
        return db

    @contextmanager
    def unit_of_work(
        self, actor: Actor | str, source: str = "cli", workbook_id: str | None = None
    ) -> Iterator[Session]:
        login = actor if isinstance(actor, str) else actor.login
        context = AuditContext(actor=login, source=source, workbook_id=workbook_id)
        with self.sessions() as session:
            session.info["audit"] = context
            session.info["actor"] = actor
            session.info["ledger"] = self.ledger
            session.info["crm"] = self.crm
            session.info["admin"] = self.admin
            session.info["organisation"] = self.organisation
            try:
                yield session
                session.commit()
            except StaleDataError as exc:
                session.rollback()
                raise StaleRecordError(_stale_table(exc), None, None) from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session: any attempt to write fails at flush time."""
        with self.read_sessions() as session:  # closing ends the transaction, keeps loaded objects
            session.info["crm"] = self.crm      # (the stages a workbook offers and weighs by)
            session.info["organisation"] = self.organisation
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _stale_table(exc: StaleDataError) -> str:
    # "UPDATE statement on table 'contacts' expected to update 1 row(s); 0 were matched."
    text = str(exc)
    if "table '" in text:
        return "a record in " + text.split("table '", 1)[1].split("'", 1)[0]
    return "a record"
