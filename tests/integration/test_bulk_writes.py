"""The bulk writes of a workbook sync (engine.db.bulk): on PostgreSQL by COPY from a few dozen
rows up, and what COPY stores is exactly what Core's INSERT or UPDATE stores, column by column,
for every kind of column the models use."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.db import bulk, pg_copy
from engine.db.audit import AuditContext, AuditEntry, write_audit
from engine.db.audit_chain import CONTENT, link_rows, verify_chain
from engine.db.base import UTCDateTime, utcnow
from engine.db.exact import Exact
from engine.db.json_values import dump_json

ONLY_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
CORE_ID = 1000        # Core's twin of COPY's row n is row CORE_ID + n

# One column of each kind the models use (and Numeric, which they could), plus the record's
# own bookkeeping; `flag` is left out of the rows: its default is Core's to add, and COPY's.
# (`on` and `count` are SQL words: the names are quoted.)
probe_metadata = sa.MetaData()
PROBE = sa.Table(
    "bulk_probe", probe_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("count", sa.Integer),
    sa.Column("quantity", Exact(4)),
    sa.Column("price", sa.Numeric(14, 4)),
    sa.Column("on", sa.Date),
    sa.Column("at", UTCDateTime),
    sa.Column("zoned", sa.DateTime(timezone=True)),
    sa.Column("active", sa.Boolean),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False, default=True),
)
TEXTS = ["plain", "", "tab\there", "two\nlines\r\n", "back\\slash", "\\N", "quote ' and \"", "Zoë Ångström ✓",
         "=SUM(A1:A3)", "  spaces  "]
BERLIN = timezone(timedelta(hours=2))


def probe_rows(count: int) -> list[dict]:
    """`count` rows cycling through awkward values of every column (None where it may be)."""
    base = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    rows = []
    for n in range(count):
        text = TEXTS[n % len(TEXTS)]
        empty = n % 7 == 3
        rows.append({
            "id": n + 1, "version": 1, "updated_at": base, "updated_by": "ada", "name": text,
            "notes": None if empty else text * 3, "count": None if empty else (-1) ** n * n * 1000003,
            "quantity": None if empty else Decimal(n) / 16 - Decimal("12.3456"),
            "price": None if empty else Decimal("-0.0001") * n + Decimal("1234567890.1200"),
            "on": None if empty else date(2024, 2, 29) + timedelta(days=n),
            "at": None if empty else (base + timedelta(microseconds=n)).astimezone(BERLIN),
            "zoned": None if empty else (base - timedelta(days=n)).astimezone(BERLIN),
            "active": None if empty else n % 2 == 0,
            "changes": None if n % 11 == 5 else {
                "price": (Decimal("0.10"), Decimal("19.99")), "when": (None, base), "on": (date(2026, 1, 1), None),
                "text": [text, None], "flag": (True, False), "n": n},
        })
    return rows


@pytest.fixture
def probe(db):
    """`bulk_probe`, made in the test's own schema (dropped with it)."""
    probe_metadata.create_all(db.engine)
    return db


@pytest.fixture
def copies(monkeypatch) -> list[str]:
    """The tables each COPY went to, in order (a test that means to exercise COPY checks it did)."""
    seen: list[str] = []
    real = pg_copy.copy_rows

    def spy(connection, table, names, rows, *driver):
        seen.append(table.name)
        return real(connection, table, names, rows, *driver)

    monkeypatch.setattr(pg_copy, "copy_rows", spy)
    return seen


def stored_text(connection, table: sa.Table, ids: list[int], leave_out: tuple[str, ...] = ("id",)) -> list[tuple]:
    """Each row of `ids` as the database keeps it: every column's value cast to text (None
    for NULL), so a difference in a stored form (JSON's spelling, a time stamp's instant, an
    empty text against NULL) shows even where reading it back would hide it."""
    columns = [sa.cast(c, sa.Text) for c in table.c if c.name not in leave_out]
    query = sa.select(*columns).where(table.c.id.in_(ids)).order_by(table.c.id)
    return [tuple(row) for row in connection.execute(query)]


@pytest.fixture
def grouped(monkeypatch) -> list[int]:
    """SQLite's inserts four rows a statement (`bulk._sqlite_rows`), so a few dozen rows go
    in groups and a rest; the size of each many-row INSERT compiled, in order (a test that
    means to exercise them checks there were some)."""
    monkeypatch.setattr(bulk, "ROWS_A_STATEMENT", 4)
    monkeypatch.setattr(bulk, "_COMPILED_ROWS", {})
    seen: list[int] = []
    real = bulk._compiled_rows

    def spy(table, order, dialect, count):
        compiled = real(table, order, dialect, count)
        if compiled is not None:
            seen.append(count)
        return compiled

    monkeypatch.setattr(bulk, "_compiled_rows", spy)
    return seen


def core_only(monkeypatch) -> None:
    monkeypatch.setattr(bulk, "COPY_FROM", 10**9)
    monkeypatch.setattr(bulk, "COPY_UPDATES_FROM", 10**9)


@ONLY_POSTGRESQL
def test_rows_copied_are_stored_as_core_stores_them_column_by_column(probe, copies, monkeypatch):
    rows = probe_rows(max(bulk.COPY_FROM, 3 * len(TEXTS)))
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
    assert copies == ["bulk_probe"]
    core_only(monkeypatch)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, [{**row, "id": CORE_ID + row["id"]} for row in rows])
    assert copies == ["bulk_probe"]
    with probe.engine.connect() as connection:
        by_copy = stored_text(connection, PROBE, [r["id"] for r in rows])
        by_core = stored_text(connection, PROBE, [CORE_ID + r["id"] for r in rows])
    assert len(by_copy) == len(rows)
    names = [c.name for c in PROBE.c if c.name != "id"]
    for n, (copied, core) in enumerate(zip(by_copy, by_core, strict=True)):
        assert dict(zip(names, copied, strict=True)) == dict(zip(names, core, strict=True)), f"row {n + 1}"


@ONLY_POSTGRESQL
def test_rows_copied_read_back_exactly_as_written(probe, copies):
    rows = probe_rows(bulk.COPY_FROM)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
    assert copies == ["bulk_probe"]
    with probe.engine.connect() as connection:
        back = connection.execute(sa.select(PROBE).order_by(PROBE.c.id)).mappings().all()
    for row, got in zip(rows, back, strict=True):
        expected = {**row, "flag": True, "changes": sa_json(row["changes"])}
        assert dict(got) == expected
        assert got["at"] is None or got["at"].tzinfo == UTC


def sa_json(value):
    """A JSON column's value as read back: the engine's exact forms (money and dates as text)."""
    return json.loads(dump_json(value))


@pytest.mark.parametrize("count", [3, "copy"])
def test_rows_given_as_tuples_or_columns_are_stored_as_rows_given_as_dicts(probe, copies, count):
    """`insert_rows` and `insert_columns`, the values every row shares given once, store what
    `insert_many` of the same rows as dicts stores (by COPY or not: below COPY_FROM, Core)."""
    rows = probe_rows(max(bulk.COPY_FROM, 3 * len(TEXTS)) if count == "copy" else count)
    shared = ("version", "updated_at", "updated_by")           # the same in every probe row
    same = {key: rows[0][key] for key in shared}
    keys = [key for key in rows[0] if key not in shared]

    def moved(row, by):
        return {**row, "id": by + row["id"]}

    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
        bulk.insert_rows(connection, PROBE, keys, [tuple(moved(r, CORE_ID)[k] for k in keys) for r in rows], same)
        bulk.insert_columns(connection, PROBE, {k: [moved(r, 2 * CORE_ID)[k] for r in rows] for k in keys}, same)
    uses_copy = probe.engine.dialect.name == "postgresql" and count == "copy"
    assert copies == (["bulk_probe"] * 3 if uses_copy else [])
    with probe.engine.connect() as connection:
        as_dicts, as_tuples, as_columns = (stored_text(connection, PROBE, [by + r["id"] for r in rows])
                                           for by in (0, CORE_ID, 2 * CORE_ID))
    assert as_tuples == as_dicts and as_columns == as_dicts and len(as_dicts) == len(rows)



@pytest.mark.parametrize("count", [3, "copy", "groups"])
def test_rows_of_plain_values_given_as_tuples_are_stored_as_rows_given_as_dicts(probe, copies, count, request):
    """Rows whose own columns convert nothing (integers, text: on SQLite they go to the driver
    as they are, in an order other than the table's, several an INSERT with "groups"),
    every converting column given once in `same`, store what `insert_many` of the same rows
    as dicts stores."""
    groups = request.getfixturevalue("grouped") if count == "groups" else []
    rows = probe_rows(max(bulk.COPY_FROM, 3 * len(TEXTS)) + 1 if count in ("copy", "groups") else count)
    keys = ("name", "id", "count", "notes")
    same = {"version": 1, "updated_at": rows[0]["updated_at"], "updated_by": "ada", "active": True,
            "price": Decimal("19.9900"), "on": date(2024, 2, 29), "at": rows[1]["at"], "changes": rows[0]["changes"],
            "flag": False}
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, [{**{k: r[k] for k in keys}, **same} for r in rows])
        bulk.insert_rows(connection, PROBE, keys, [tuple({**r, "id": CORE_ID + r["id"]}[k] for k in keys)
                                                   for r in rows], same)
        connection.execute(sa.insert(PROBE), [{**{k: r[k] for k in keys}, **same, "id": 2 * CORE_ID + r["id"]}
                                              for r in rows])    # Core's own
    uses_copy = probe.engine.dialect.name == "postgresql" and count in ("copy", "groups")
    assert copies == (["bulk_probe"] * 2 if uses_copy else [])
    assert groups == ([4] * 2 if count == "groups" and not uses_copy else [])
    with probe.engine.connect() as connection:
        as_dicts, as_tuples, by_core = (stored_text(connection, PROBE, [by + r["id"] for r in rows])
                                        for by in (0, CORE_ID, 2 * CORE_ID))
    assert as_tuples == as_dicts == by_core and len(as_dicts) == len(rows)


@ONLY_POSTGRESQL
def test_people_and_audit_rows_copied_are_stored_as_core_stores_them(db, copies, monkeypatch):
    from engine.contacts.models import Contact

    people = Contact.__table__
    now = utcnow()
    rows = [{"id": n, "version": 1, "created_at": now, "updated_at": now, "updated_by": "ada", "kind": "person",
             "name": f"Jo Smith {n}", "first_name": "Jo", "last_name": f"Smith {n}", "organisation_id": None,
             "job_title": TEXTS[n % len(TEXTS)] or None, "email": f"jo{n}@example.org", "phone": None,
             "website": None, "country": "GB", "tags": "vip", "notes": "a\tb\nc" if n % 3 else None,
             "name_key": f"jo smith {n}"} for n in range(1, bulk.COPY_FROM + 1)]     # opt_out: its default
    audit = [{"table_name": "contacts", "record_id": r["id"], "action": "insert", "sheet": "People",
              "row_number": r["id"] + 1, "changes": {k: (None, v) for k, v in r.items() if v is not None}}
             for r in rows]
    context = AuditContext("ada", "workbook", workbook_id="wb-1")
    with db.engine.begin() as connection:
        bulk.insert_many(connection, people, rows)
        write_audit(connection, context, audit)
    assert copies == ["contacts", "audit_log"]
    core_only(monkeypatch)
    with db.engine.begin() as connection:
        bulk.insert_many(connection, people, [{**r, "id": CORE_ID + r["id"]} for r in rows])
        write_audit(connection, context, [{**a, "record_id": CORE_ID + a["record_id"]} for a in audit])
    assert copies == ["contacts", "audit_log"]
    with db.engine.connect() as connection:
        by_copy = stored_text(connection, people, [r["id"] for r in rows])
        by_core = stored_text(connection, people, [CORE_ID + r["id"] for r in rows])
        assert by_copy == by_core and len(by_copy) == len(rows)
        entries = AuditEntry.__table__
        content = [entries.c[c] for c in CONTENT if c not in ("at", "record_id")]
        written = connection.execute(sa.select(entries.c.record_id, *(sa.cast(c, sa.Text) for c in content))
                                     .order_by(entries.c.id)).all()
        assert [tuple(w[1:]) for w in written[:len(rows)]] == [tuple(w[1:]) for w in written[len(rows):]]
        assert [w[0] for w in written] == [r["id"] for r in rows] + [CORE_ID + r["id"] for r in rows]
        assert verify_chain(connection, entries)["intact"]



def test_audit_rows_written_in_bulk_are_stored_as_core_stores_them(db, grouped):
    """`write_audit`'s bulk path (SQLite: each row built once in the driver's form, several
    an INSERT; PostgreSQL: COPY) stores, for awkward values, what Core's INSERT of the same
    rows linked one by one stores, and the rows of both chain."""
    entries = AuditEntry.__table__
    base = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    audit = [{"table_name": "contacts", "record_id": n, "action": ("insert", "update", "delete")[n % 3],
              "sheet": None if n % 4 == 1 else "People", "row_number": None if n % 5 == 2 else n + 1,
              "changes": {"price": (Decimal("0.10"), Decimal(n) / 8), "when": (None, base.astimezone(BERLIN)),
                          "on": (date(2026, 1, 1), None), "text": [TEXTS[n % len(TEXTS)], None], "flag": (True, False),
                          "n": n}}
             for n in range(1, bulk.COPY_FROM + 5)]
    with db.engine.begin() as connection:
        write_audit(connection, AuditContext("ada", "workbook", workbook_id="wb-1"), audit)
    with db.engine.begin() as connection:
        rows = [{"at": utcnow(), "actor": "ada", "source": "workbook", "workbook_id": "wb-1", **a,
                 "record_id": CORE_ID + a["record_id"]} for a in audit]
        link_rows(connection, entries, rows)
        connection.execute(sa.insert(entries), rows)
    with db.engine.connect() as connection:
        content = [entries.c[c] for c in CONTENT if c not in ("at", "record_id")]
        written = connection.execute(sa.select(entries.c.record_id, *(sa.cast(c, sa.Text) for c in content))
                                     .order_by(entries.c.id)).all()
        assert [w[0] for w in written] == [a["record_id"] for a in audit] + [CORE_ID + a["record_id"] for a in audit]
        assert [tuple(w[1:]) for w in written[:len(audit)]] == [tuple(w[1:]) for w in written[len(audit):]]
        assert verify_chain(connection, entries)["intact"]
    assert grouped == ([4] if db.engine.dialect.name == "sqlite" else [])


@ONLY_POSTGRESQL
def test_updates_copied_are_stored_as_core_stores_them(probe, copies, monkeypatch):
    count = bulk.COPY_UPDATES_FROM
    rows = probe_rows(count)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows + [{**r, "id": CORE_ID + r["id"]} for r in rows])
    copies.clear()
    keys = ("name", "notes", "count", "quantity", "price", "on", "at", "zoned", "active", "changes")
    new = probe_rows(count + 3)[3:]          # other values of every column, None among them
    changes = [{"_id": r["id"], "_version": 1, **{k: n[k] for k in keys}} for r, n in zip(rows, new, strict=True)]
    stamp = {"updated_at": utcnow(), "updated_by": "bo"}
    with probe.engine.begin() as connection:
        assert bulk.update_many(connection, PROBE, keys, changes, stamp) == count
        batch_table = connection.scalar(sa.text("SELECT to_regclass('pg_temp.bulk_bulk_probe')"))
    assert copies == ["bulk_bulk_probe"] and batch_table is None     # the batch table, dropped at once
    core_only(monkeypatch)
    with probe.engine.begin() as connection:
        twins = [{**c, "_id": CORE_ID + c["_id"]} for c in changes]
        assert bulk.update_many(connection, PROBE, keys, twins, stamp) == count
    with probe.engine.connect() as connection:
        by_copy = stored_text(connection, PROBE, [r["id"] for r in rows])
        by_core = stored_text(connection, PROBE, [CORE_ID + r["id"] for r in rows])
    assert by_copy == by_core
    assert {(v[0], v[2]) for v in by_copy} == {("2", "bo")}           # version raised, stamped
    assert [v[3] for v in by_copy] == [n["name"] for n in new] != [r["name"] for r in rows]


@pytest.mark.parametrize("count", [3, "copy"])
def test_an_update_of_a_record_whose_version_moved_is_not_counted(probe, copies, count):
    """The guard of every path: a record saved by someone else in between does not match."""
    count = bulk.COPY_UPDATES_FROM if count == "copy" else count
    rows = probe_rows(count)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
        connection.execute(sa.update(PROBE).where(PROBE.c.id == 2).values(version=2))
    copies.clear()
    changes = [{"_id": r["id"], "_version": 1, "name": "changed"} for r in rows]
    with probe.engine.begin() as connection:
        matched = bulk.update_many(connection, PROBE, ("name",), changes, {"updated_at": utcnow(), "updated_by": "bo"})
        names = dict(connection.execute(sa.select(PROBE.c.id, PROBE.c.name)).all())
    assert matched == count - 1
    assert names[2] == rows[1]["name"] and all(names[r["id"]] == "changed" for r in rows if r["id"] != 2)
    uses_copy = probe.engine.dialect.name == "postgresql" and count >= bulk.COPY_UPDATES_FROM
    assert copies == (["bulk_bulk_probe"] if uses_copy else [])   # the batch table


@ONLY_POSTGRESQL
def test_a_duplicate_copied_is_refused_as_core_refuses_it(probe, copies):
    rows = probe_rows(bulk.COPY_FROM)
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows[:1])
    with pytest.raises(sa.exc.IntegrityError) as refused, probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
    assert copies == ["bulk_probe"] and "bulk_probe_pkey" in str(refused.value.orig)
    with probe.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(PROBE)) == 1


def test_a_default_computed_by_a_function_leaves_the_insert_to_core(probe, copies):
    """COPY cannot call a column's Python default: such rows go through Core, which does."""
    rows = [{k: v for k, v in r.items() if k != "updated_at"} for r in probe_rows(bulk.COPY_FROM)]
    with probe.engine.begin() as connection:
        bulk.insert_many(connection, PROBE, rows)
        stamps = connection.execute(sa.select(PROBE.c.updated_at)).scalars().all()
    assert copies == [] and len(stamps) == len(rows) and all(s is not None for s in stamps)
