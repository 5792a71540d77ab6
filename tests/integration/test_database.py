"""The central database on SQLite and PostgreSQL: migrations, versions, audit log, users."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from engine.config import Settings
from engine.contacts import services
from engine.contacts.models import Contact
from engine.db import migrate
from engine.db.audit import AuditEntry
from engine.db.engine import NEW_PAGE_BYTES, large_write_cache
from engine.db.session import Database
from engine.errors import (
    PermissionDenied,
    SchemaMismatch,
    StaleRecordError,
    UnknownUser,
    ValidationFailed,
)
from engine.security.users import add_user, resolve_actor
from tests.conftest import actor_with

ACME = {"kind": "organisation", "name": "Acme Ltd", "country": "GB", "email": "info@acme.example"}


def _add(db, actor, data=ACME, addresses=()):
    with db.unit_of_work(actor) as session:
        contact, duplicates = services.add_contact(session, actor, data, list(addresses))
    return contact, duplicates


def test_an_empty_database_is_migrated_to_head_on_first_use(db):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"contacts", "addresses", "users", "audit_log", "alembic_version"} <= tables
    assert migrate.status(db.engine)["state"] == "up to date"


def test_migrations_go_down_to_empty_and_up_again(db):
    migrate.reset(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_a_database_newer_than_the_code_is_refused(db, settings):
    with db.engine.begin() as conn:
        MigrationContext.configure(conn).stamp(migrate.ScriptDirectory.from_config(
            migrate.alembic_config(db.engine)), "base")
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32))"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9999_future')"))
    with pytest.raises(SchemaMismatch, match="newer than this Backoffice"):
        Database.open(settings)


def test_a_database_with_foreign_tables_is_refused(settings):
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE payroll (id integer)"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="no Backoffice schema"):
        Database.open(settings)


def test_every_business_table_has_the_common_columns(db):
    inspector = sa.inspect(db.engine)
    for table in ("contacts", "addresses", "users"):
        names = {c["name"] for c in inspector.get_columns(table)}
        assert {"id", "version", "created_at", "updated_at", "updated_by"} <= names, table


def test_an_update_from_a_stale_version_is_refused_and_names_the_record(db, admin):
    contact, _ = _add(db, admin)
    with db.unit_of_work(admin) as session:
        services.update_contact(session, admin, contact.id, 1, {"phone": "+44 1"})
    with pytest.raises(StaleRecordError, match=rf"contacts #{contact.id} was changed by someone else"):
        with db.unit_of_work(admin) as session:
            services.update_contact(session, admin, contact.id, 1, {"phone": "+44 2"})
    with db.reading() as session:
        assert session.get(Contact, contact.id).phone == "+44 1"


def test_two_writers_at_once_never_lose_an_update(db, admin):
    """SQLite queues the second writer (it then sees the new version); PostgreSQL lets both
    read version 1 and the second UPDATE ... WHERE version = 1 fails as a named conflict."""
    contact, _ = _add(db, admin)
    first_has_updated, outcome = threading.Event(), {}

    def first_writer():
        with db.unit_of_work(admin) as session:
            services.update_contact(session, admin, contact.id, 1, {"phone": "from first"})
            first_has_updated.set()
            time.sleep(0.5)

    def second_writer():
        first_has_updated.wait(5)
        try:
            with db.unit_of_work(admin) as session:
                current = session.get(Contact, contact.id)
                services.update_contact(session, admin, contact.id, current.version, {"website": "https://b.example"})
            outcome["second"] = "saved"
        except StaleRecordError as exc:
            outcome["second"] = str(exc)

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with db.reading() as session:
        final = session.get(Contact, contact.id)
    assert final.phone == "from first"
    if outcome["second"] == "saved":
        assert (final.website, final.version) == ("https://b.example", 3)
    else:
        assert f"contacts #{contact.id} was changed by someone else" in outcome["second"]
        assert (final.website, final.version) == (None, 2)


def test_create_update_delete_write_one_audit_row_each_with_old_and_new(db, admin):
    contact, _ = _add(db, admin)
    with db.unit_of_work(admin, source="api") as session:
        services.update_contact(session, admin, contact.id, 1, {"phone": "+44 20 1234", "name": "Acme Tools"})
    with db.unit_of_work(admin) as session:
        services.delete_contact(session, admin, contact.id, 2)
    with db.reading() as session:
        rows = session.scalars(sa.select(AuditEntry).where(AuditEntry.record_id == contact.id,
                                                            AuditEntry.table_name == "contacts")).all()
    assert [r.action for r in rows] == ["insert", "update", "delete"]
    assert rows[0].changes["name"] == [None, "Acme Ltd"] and rows[0].actor == "admin"
    assert rows[1].source == "api"
    assert rows[1].changes == {"name": ["Acme Ltd", "Acme Tools"], "phone": [None, "+44 20 1234"],
                               "name_key": ["acme", "acme tools"]}
    assert rows[2].changes["name"] == ["Acme Tools", None]
    assert all(r.at.tzinfo is not None for r in rows)


def test_an_update_that_changes_nothing_writes_no_audit_row(db, admin):
    contact, _ = _add(db, admin)
    with db.unit_of_work(admin) as session:
        services.update_contact(session, admin, contact.id, 1, {"name": "Acme Ltd"})
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.table_name == "contacts")) == 1
        assert session.get(Contact, contact.id).version == 1


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_alter_or_delete_audit_rows(db, admin, statement):
    _add(db, admin)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.reading() as session:
        assert session.scalar(sa.select(AuditEntry.actor).limit(1)) == "admin"


def test_a_failed_unit_of_work_leaves_no_trace(db, admin):
    with pytest.raises(ValidationFailed):
        with db.unit_of_work(admin) as session:
            services.add_contact(session, admin, ACME)
            services.add_contact(session, admin, {"kind": "person", "country": "GB"})
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0
        assert session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


def test_duplicates_are_found_by_normalised_name_and_postcode_or_by_email(db, admin):
    original, none = _add(db, admin, ACME, [{"line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP", "country": "GB"}])
    assert none == []
    _, by_name = _add(db, admin, {"kind": "organisation", "name": "ACME limited", "country": "GB"},
                      [{"line1": "2 Low St", "city": "Leeds", "postcode": "ls14ap", "country": "GB"}])
    _, by_email = _add(db, admin, {"kind": "person", "last_name": "Roe", "country": "GB", "email": "INFO@acme.example"})
    _, other_postcode = _add(db, admin, {"kind": "organisation", "name": "Acme", "country": "GB"},
                             [{"line1": "3 St", "city": "York", "postcode": "YO1 7HH", "country": "GB"}])
    assert [(d.contact_id, d.reason) for d in by_name] == [(original.id, "same name and postcode LS14AP")]
    assert [d.contact_id for d in by_email] == [original.id]
    assert other_postcode == []


def test_an_unknown_user_is_refused(db):
    with db.reading() as session:
        with pytest.raises(UnknownUser, match="'ghost' is not known"):
            resolve_actor(session, "ghost")
        with pytest.raises(UnknownUser, match="--user"):
            resolve_actor(session, None)


def test_a_forbidden_action_is_refused_and_changes_nothing(db):
    staff = actor_with("staff", login="stef")
    with pytest.raises(PermissionDenied, match="'stef' .* may not write contacts"):
        _add(db, staff)
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_the_first_user_must_be_an_admin_and_later_users_need_one(db, admin):
    from engine.errors import BackofficeError
    from engine.security.roles import SYSTEM

    with pytest.raises(BackofficeError, match="first user must have the admin role"):
        with db.unit_of_work(SYSTEM) as session:
            add_user(session, None, "bob", "Bob", ["sales"], None)
    with db.unit_of_work(SYSTEM) as session:
        add_user(session, None, "ada", "Ada", ["admin"], "ada@example.org")
    with pytest.raises(UnknownUser, match="users exist already"):
        with db.unit_of_work(SYSTEM) as session:
            add_user(session, None, "eve", "Eve", ["admin"], None)
    with db.reading() as session:
        ada = resolve_actor(session, "ada")
    with db.unit_of_work(ada) as session:
        add_user(session, ada, "bob", "Bob", ["sales"], None)
    with pytest.raises(PermissionDenied):
        with db.unit_of_work(ada) as session:
            add_user(session, actor_with("sales"), "carl", "Carl", ["sales"], None)


def test_time_stamps_are_utc(db, admin):
    contact, _ = _add(db, admin)
    with db.reading() as session:
        stored = session.get(Contact, contact.id)
    assert stored.created_at.utcoffset().total_seconds() == 0


def test_sqlite_is_set_up_for_several_writers(tmp_path):
    db = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_seconds=7), create=True)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    db.dispose()


def test_a_new_sqlite_database_gets_16_kb_pages_and_an_existing_one_keeps_its_own(tmp_path):
    """Larger pages for the gigabytes a large sync writes (see NEW_PAGE_BYTES); a database
    made before keeps the size its file has, and works as ever."""
    new = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"), create=True)
    with new.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == NEW_PAGE_BYTES == 16384
    new.dispose()
    old_file = tmp_path / "old.db"
    made_before = sqlite3.connect(old_file)            # a file from before: 4 KB pages, no tables yet
    made_before.execute("PRAGMA page_size = 4096")
    made_before.execute("VACUUM")
    made_before.close()
    old = Database.open(Settings(database_url=f"sqlite:///{old_file}"), create=True)
    _add(old, actor_with("admin"))
    with old.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.execute(sa.select(Contact.name)).scalars().all() == ["Acme Ltd"]
    old.dispose()


def test_the_migrations_build_exactly_the_tables_the_models_declare(db):
    """A model changed without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata

    import engine.models  # noqa: F401
    from engine.db.base import Base

    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_only_contacts_of_an_organisation_are_indexed_by_it_and_its_members_are_found_through_it(db, admin):
    """Migration 0020: the index on organisation_id skips the contacts of no organisation
    (most of them), and both databases still use it to find an organisation's members and
    to refuse deleting an organisation that has some."""
    acme, _ = _add(db, admin)
    jo, _ = _add(db, admin, {"kind": "person", "first_name": "Jo", "last_name": "Smith", "country": "GB",
                             "organisation_id": acme.id})
    members = "SELECT id FROM contacts WHERE organisation_id = :org"
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_contacts_organisation_id'").scalar_one()
            plan = " ".join(row[-1] for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {members}"), {"org": acme.id}))
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname = 'ix_contacts_organisation_id'").scalar_one()
            conn.exec_driver_sql("SET enable_seqscan = off")   # (three rows: a scan would win on cost)
            plan = " ".join(conn.execute(sa.text(f"EXPLAIN {members}"), {"org": acme.id}).scalars())
        assert conn.execute(sa.text(members), {"org": acme.id}).scalars().all() == [jo.id]
    assert "organisation_id IS NOT NULL" in definition.replace("(", "").replace(")", "")
    assert "ix_contacts_organisation_id" in plan
    with pytest.raises(ValidationFailed), db.unit_of_work(admin) as session:
        services.delete_contact(session, admin, acme.id, acme.version)


def test_a_contact_added_with_anothers_primary_email_is_warned_of_through_the_lists_index(db, admin):
    """Migration 0021: contacts.email (the primary address, kept twice) has no index of its
    own; the duplicate warning finds the contact whose primary e-mail it is, in any case,
    through contact_emails' index on address, and follows the primary when it changes."""
    from engine.contacts import channels

    acme, _ = _add(db, admin)                                    # info@acme.example, its primary
    with db.unit_of_work(admin) as session:
        channels.add_entry(session, admin, "email", acme.id, "sales@acme.example")   # a second address
    _, warned = _add(db, admin, {**ACME, "name": "Acme Trading", "email": "INFO@Acme.example"})
    assert [(d.contact_id, d.reason) for d in warned] == [(acme.id, "same e-mail info@acme.example")]

    def warned_of(email):
        with db.reading() as session:
            return [d.contact_id for d in services.find_duplicates(session, name="Zed", email=email, postcodes=[])]

    assert warned_of("Sales@acme.example") == []                 # not a primary address: as before
    with db.unit_of_work(admin) as session:                      # the second becomes the primary
        entry = channels.find_entry(session, admin, "email", acme.id, "sales@acme.example")
        channels.make_primary(session, admin, "email", entry.id)
    assert warned_of("Sales@acme.example") == [acme.id]
    assert acme.id not in warned_of("info@acme.example")
    by_address = "SELECT contact_id FROM contact_emails WHERE address = :address"
    with db.engine.connect() as conn:
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("contacts")}
        if conn.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {by_address}"),
                                                          {"address": "x"}))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")   # (a few rows: a scan would win on cost)
            plan = " ".join(conn.execute(sa.text(f"EXPLAIN {by_address}"), {"address": "x"}).scalars())
    assert "ix_contacts_email" not in indexes and "ix_contacts_name_key" in indexes
    assert "ix_contact_emails_address" in plan


def test_bulk_and_orm_writes_store_time_stamps_and_json_alike(db):
    """The bulk path (a workbook sync) goes through the same column types as the ORM: the same
    stored form of a time stamp, and JSON with exact values (money as text, never a float)."""
    from decimal import Decimal

    from engine.db.audit import AuditContext, write_audit
    from engine.db.base import utcnow

    actor = actor_with("admin", login="ada")
    _add(db, actor)
    with db.unit_of_work(actor) as session:
        write_audit(session.connection(), AuditContext("ada", "workbook"), [{
            "table_name": "contacts", "record_id": 1, "action": "update",
            "changes": {"price": (Decimal("0.10"), Decimal("19.99")), "when": (None, utcnow())}}])
    with db.engine.connect() as conn:
        stamps = conn.execute(sa.text("SELECT at FROM audit_log")).scalars().all()  # written in bulk
        stamps += conn.execute(sa.text("SELECT created_at FROM contacts")).scalars().all()  # by the ORM
        raw = conn.execute(sa.text("SELECT changes FROM audit_log ORDER BY id DESC")).scalars().first()
    assert len({type(s) for s in stamps}) == 1
    if db.engine.dialect.name == "sqlite":  # text: one format for every row, whichever path wrote it
        assert len({len(s) for s in stamps}) == 1 and not any(s.endswith("+00:00") for s in stamps)
    with db.reading() as session:
        entry = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.changes["price"] == ["0.10", "19.99"] and entry.changes["when"][1].endswith("+00:00")
    assert "19.99" in (raw if isinstance(raw, str) else str(raw))


def test_a_large_write_gets_a_larger_sqlite_page_cache_for_its_transaction_only(db):
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with large_write_cache(connection):    # PostgreSQL keeps its own buffers: nothing to do
                assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
            return
        size = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with large_write_cache(connection, megabytes=32):
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -32 * 1024
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == size
        with pytest.raises(RuntimeError), large_write_cache(connection):
            raise RuntimeError("the save failed")
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == size


def test_new_ids_are_taken_in_one_run_and_every_one_is_given_when_they_are_not(db):
    """`allocate_ids` gives as many new ids as asked, ascending and never given before; on
    PostgreSQL they come from the table's sequence in one statement, sent back as a first and
    a last when they are one run, and each of them when they are not (here: a sequence that
    steps by two, as if another session had taken every other one)."""
    from engine.sheets.apply import allocate_ids

    table = Contact.__table__
    with db.engine.begin() as conn:
        first = allocate_ids(conn, table, 5)
        assert first == list(range(first[0], first[0] + 5))
        if conn.dialect.name == "postgresql":
            sequence = conn.execute(sa.select(sa.func.pg_get_serial_sequence("contacts", "id"))).scalar_one()
            conn.execute(sa.text(f"ALTER SEQUENCE {sequence} INCREMENT BY 2"))   # (our own name, from the catalogue)
            stepped = allocate_ids(conn, table, 4)
            assert stepped == [first[-1] + 2 + 2 * n for n in range(4)]
            conn.execute(sa.text(f"ALTER SEQUENCE {sequence} INCREMENT BY 1"))
            assert allocate_ids(conn, table, 3) == [stepped[-1] + 1 + n for n in range(3)]
        assert allocate_ids(conn, table, 0) == []
