"""HTTP API load benchmark: `backoffice serve` on PostgreSQL under many concurrent clients, then
checks that nothing was lost, stock never went below zero and the ledger still balances.

    .venv/bin/python benchmarks/bench_api.py [--pg-url URL] [--workers 4] [--clients 100]
                                             [--seconds 60] [--quick]

Loopback only and bounded in time. What it does, in order:
  1. makes a PostgreSQL database of its own on the server of BACKOFFICE_TEST_PG_URL (or
     --pg-url) and fills it with the demo data (`backoffice demo`);
  2. makes one API token per client (the demo's admin for contact updates and workbooks, mia
     for reads, wes for stock issues);
  3. starts `backoffice serve --workers N` on 127.0.0.1 as a child process (stopped and reaped
     at the end whatever happens; the run fails if a process of it is left);
  4. baseline: the read mix with ONE client for a few seconds;
  5. load: --clients concurrent clients (httpx.AsyncClient, asyncio) for --seconds, mixing
       reads          GET /contacts pages, GET /inventory/on-hand
       updates        GET /contacts/{id} for its ETag, then PATCH with If-Match, on 5 shared
                      organisations (200 or 412: both are right answers; each PATCH writes a
                      value of its own into `notes`)
       stock issues   POST /inventory/issues of 3 items at one bin (201, or 422 insufficient_stock)
       workbook syncs GET /workbooks/contacts, change one phone number, POST /workbooks/sync
     and reports requests per second, p50/p95/p99 latency per kind, and errors (5xx or
     connection errors), with the ratio to the baseline;
  6. checks, reading the database: every PATCH answered 200 is in the audit log and no 412
     changed anything, each record's final value and version are those of its last accepted
     update; every accepted issue is a movement and on hand = before - accepted issues, never
     below zero; every applied workbook edit is in the audit log; the trial balance's totals
     are equal. Any failed check (or a left-over process) exits 1.

A kind whose route is not on this server (404, or missing from /openapi.json) is skipped with
a note, its clients reading instead; the run still checks what it could exercise.
The per-token rate limit is raised for the run (BACKOFFICE_SERVER__REQUESTS_PER_MINUTE):
the benchmark measures the server, not the limiter. --quick: 10 s of load, 3 s of baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED_CONTACTS = 5        # organisations every updater fights over
STOCK_ITEMS = 3            # items every issuer takes from
SHARE = {"read": 0.50, "update": 0.25, "issue": 0.17, "workbook": 0.08}
EXPECTED = {               # (kind, status) that are right answers; anything else is reported
    "contacts_page": {200}, "on_hand": {200}, "contact_get": {200}, "contact_patch": {200, 412},
    "issue": {201, 422}, "workbook_get": {200}, "workbook_sync": {200, 422, 409}, "health": {200},
}


# -- the database --------------------------------------------------------------------------------

def _admin_url(pg_url: str):
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit(f"--pg-url must be a PostgreSQL URL, not {url.drivername}")
    return url


def create_database(pg_url: str, name: str) -> str:
    """A new, empty database `name` on the server of `pg_url`; returns its URL."""
    import sqlalchemy as sa
    from psycopg import sql

    url = _admin_url(pg_url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(pg_url: str, name: str) -> None:
    import sqlalchemy as sa
    from psycopg import sql

    engine = sa.create_engine(_admin_url(pg_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        engine.dispose()


def _env(database_url: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env.update(BACKOFFICE_DATABASE_URL=database_url, BACKOFFICE_OUTPUT_DIR=str(folder / "out"),
               BACKOFFICE_SERVER__REQUESTS_PER_MINUTE="1000000",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return env


def seed(database_url: str, folder: Path) -> None:
    """The demo data, made as an administrator would: `backoffice demo`."""
    done = subprocess.run([sys.executable, "-m", "engine.cli", "demo", "--json"], env=_env(database_url, folder),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"`backoffice demo` failed ({done.returncode}):\n{done.stderr[-3000:]}")


@dataclass
class Fixture:
    """What the clients act on, read from the database before the load."""

    tokens: dict[str, list[str]]                 # login -> one token per client
    shared: list[int]                            # organisations the updaters share
    workbook_orgs: list[int]                     # one organisation per workbook client
    stock: list[tuple[str, str, Decimal]]        # (sku, bin, on hand before)
    start_audit: int = 0
    start_movement: int = 0
    before: dict[int, tuple[str | None, int]] = field(default_factory=dict)   # contact -> (notes, version)


def open_db(database_url: str):
    from engine import app as application
    from engine.config import Settings
    from engine.db.session import Database

    application.start()
    return Database.open(Settings(database_url=database_url))


def prepare(db, clients: int) -> Fixture:
    """Tokens for every client and the records they will fight over."""
    from sqlalchemy import text

    from engine.security import tokens
    from engine.security.roles import SYSTEM

    with db.unit_of_work(SYSTEM, source="system") as session:
        made = {login: [tokens.create_token(session, SYSTEM, login, f"bench {n}", 1)[1] for n in range(clients)]
                for login in ("admin", "mia", "wes")}
    with db.reading() as session:
        orgs = list(session.scalars(text("SELECT id FROM contacts WHERE kind = 'organisation' ORDER BY id")))
        stock = session.execute(text(
            "SELECT i.sku, l.code, b.quantity FROM stock_balances b JOIN items i ON i.id = b.item_id "
            "JOIN locations l ON l.id = b.location_id WHERE l.kind = 'bin' AND b.lot_key = 0 "
            "AND b.quantity BETWEEN 300000 AND 2000000 AND i.lot_tracked = false ORDER BY b.quantity, i.sku "
            "LIMIT :n"), {"n": STOCK_ITEMS}).all()
        fixture = Fixture(made, orgs[:SHARED_CONTACTS], orgs[SHARED_CONTACTS:],
                          [(sku, code, Decimal(q).scaleb(-4)) for sku, code, q in stock])
        fixture.start_audit = session.scalar(text("SELECT coalesce(max(id), 0) FROM audit_log"))
        fixture.start_movement = session.scalar(text("SELECT coalesce(max(id), 0) FROM stock_movements"))
        for cid, notes, version in session.execute(text(
                "SELECT id, notes, version FROM contacts WHERE id = ANY(:ids)"), {"ids": fixture.shared}):
            fixture.before[cid] = (notes, version)
    return fixture


# -- the server ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """The processes below `pid` (Linux /proc), to check afterwards that none is left."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children[ppid].append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """`backoffice serve` in a process group of its own: stopped (TERM, then KILL) and reaped
    whatever happens; `stop()` says which of its processes, if any, outlived it."""

    def __init__(self, database_url: str, folder: Path, workers: int, port: int):
        self.port, self.log_path = port, folder / "server.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)], env=_env(database_url, folder), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.seen: set[int] = {self.process.pid}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, workers: int, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    self.seen |= descendants(self.process.pid)
                    if len(self.seen) >= workers + 1:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"the server did not answer /health within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> list[int]:
        self.seen |= descendants(self.process.pid) if self.process.poll() is None else set()
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.process.poll()
                if self.process.returncode is not None and not any(alive(p) for p in self.seen):
                    break
                time.sleep(0.1)
            if self.process.returncode is not None and not any(alive(p) for p in self.seen):
                break
        self.process.wait(timeout=10)
        self.log.close()
        return sorted(p for p in self.seen if alive(p))


# -- the clients ---------------------------------------------------------------------------------

@dataclass
class Tally:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: list[str] = field(default_factory=list)       # 5xx and connection errors
    unexpected: list[str] = field(default_factory=list)   # other answers no client should get
    acked: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))  # contact -> (version, value)
    refused: set[str] = field(default_factory=set)        # values of PATCHes answered 412
    unsure: set[str] = field(default_factory=set)         # values of PATCHes with no answer
    issued: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    issues_unsure: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    synced: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # org -> phones applied
    requests: int = 0


class Plan:
    """Which kinds this server can take, and the shape of their bodies (from /openapi.json)."""

    def __init__(self, document: dict[str, Any]):
        self.document, self.notes = document, []
        paths = document.get("paths", {})
        self.has = {
            "read": "get" in paths.get("/contacts", {}),
            "on_hand": "get" in paths.get("/inventory/on-hand", {}),
            "update": "patch" in paths.get("/contacts/{contact_id}", {}),
            "issue": "post" in paths.get("/inventory/issues", {}),
            "workbook": "post" in paths.get("/workbooks/sync", {}) and any(
                p.startswith("/workbooks/{") and "get" in v for p, v in paths.items()),
        }
        for kind, route in (("on_hand", "GET /inventory/on-hand"), ("issue", "POST /inventory/issues"),
                            ("workbook", "GET /workbooks/{module}, POST /workbooks/sync")):
            if not self.has[kind]:
                self.notes.append(f"{kind}: route not on this server ({route}); skipped")
        self.issue_fields = self._issue_fields() if self.has["issue"] else None
        self.upload_field = self._upload_field() if self.has["workbook"] else "file"

    def _schema(self, path: str, method: str, media: str) -> dict[str, Any]:
        body = self.document["paths"][path][method].get("requestBody", {}).get("content", {}).get(media, {})
        schema = body.get("schema", {})
        while "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _issue_fields(self) -> dict[str, str] | None:
        """The issue body's names for the item, the place and the quantity, whichever of the
        CLI's spellings the route took."""
        props = self._schema("/inventory/issues", "post", "application/json").get("properties", {})
        pick = {role: next((n for n in names if n in props), None) for role, names in {
            "item": ("sku", "item", "item_sku"), "location": ("from_location", "location", "from", "at", "source"),
            "quantity": ("quantity", "qty")}.items()}
        if None in pick.values():
            self.notes.append(f"issue: cannot tell the body's fields from {sorted(props)}; skipped")
            self.has["issue"] = False
            return None
        return pick  # type: ignore[return-value]

    def _upload_field(self) -> str:
        props = self._schema("/workbooks/sync", "post", "multipart/form-data").get("properties", {})
        return next((n for n, p in props.items() if p.get("format") == "binary"
                     or p.get("contentMediaType") == "application/octet-stream"), "file")

    def skip(self, kind: str, why: str) -> None:
        if self.has.get(kind):
            self.has[kind] = False
            self.notes.append(f"{kind}: {why}; skipped from then on")


def edit_workbook(content: bytes, org_id: int, phone: str) -> bytes | None:
    """The contacts workbook with one organisation's phone changed, as Excel would save it
    (run in a helper process: the clients' event loop must not wait on it)."""
    import python_calamine
    from xlsxwriter.utility import xl_col_to_name

    from engine.office.xlsx_patch import CellPatch, SheetPatch, patch_xlsx

    with tempfile.TemporaryDirectory(prefix="bench-api-wb-") as folder:
        source, target = Path(folder) / "in.xlsx", Path(folder) / "out.xlsx"
        source.write_bytes(content)
        rows = python_calamine.CalamineWorkbook.from_path(str(source)).get_sheet_by_name("Organisations").to_python()
        header = rows[0]
        row = next((n for n, r in enumerate(rows[1:], start=2) if r and r[0] == org_id), None)
        if row is None or "Phone" not in header:
            return None
        cell = f"{xl_col_to_name(header.index('Phone'))}{row}"
        patch_xlsx(source, target, {"Organisations": SheetPatch(cells={cell: CellPatch(value=phone)})})
        return target.read_bytes()


class Load:
    def __init__(self, client, plan: Plan, fixture: Fixture, tally: Tally, until: float,
                 editors: ProcessPoolExecutor | None):
        self.client, self.plan, self.fixture, self.tally = client, plan, fixture, tally
        self.until, self.editors = until, editors
        self.counter = itertools.count()

    async def call(self, kind: str, method: str, url: str, token: str, **kw: Any):
        """One request, timed and counted; None on a connection error."""
        import httpx

        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        started = time.perf_counter()
        try:
            reply = await self.client.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.tally.requests += 1
        self.tally.latency[kind].append(time.perf_counter() - started)
        self.tally.status[kind][reply.status_code] += 1
        if reply.status_code >= 500:
            self.tally.errors.append(f"{kind}: {reply.status_code} {reply.text[:300]}")
        elif reply.status_code not in EXPECTED[kind]:
            self.tally.unexpected.append(f"{kind}: {reply.status_code} {reply.text[:300]}")
        return reply

    def running(self) -> bool:
        return time.monotonic() < self.until

    async def reader(self, n: int, token: str) -> None:
        rng, cursor = random.Random(n), None
        while self.running():
            if self.plan.has["on_hand"] and rng.random() < 0.4:
                sku, _, _ = rng.choice(self.fixture.stock) if self.fixture.stock else (None, None, None)
                await self.call("on_hand", "GET", "/inventory/on-hand", token,
                                params={"item": sku} if sku and rng.random() < 0.5 else {})
                continue
            params = {"limit": 50, "sort": "name"} | ({"cursor": cursor} if cursor else {})
            reply = await self.call("contacts_page", "GET", "/contacts", token, params=params)
            cursor = reply.json().get("next") if reply is not None and reply.status_code == 200 else None

    async def updater(self, n: int, token: str) -> None:
        rng = random.Random(1000 + n)
        while self.running():
            contact = rng.choice(self.fixture.shared)
            read = await self.call("contact_get", "GET", f"/contacts/{contact}", token)
            if read is None or read.status_code != 200:
                continue
            value = f"bench {n}-{next(self.counter)}"
            reply = await self.call("contact_patch", "PATCH", f"/contacts/{contact}", token,
                                    json={"notes": value}, headers={"If-Match": read.headers["ETag"]})
            if reply is None:
                self.tally.unsure.add(value)
            elif reply.status_code == 200:
                self.tally.acked[contact].append((int(reply.headers["ETag"].strip('W/"')), value))
            elif reply.status_code == 412:
                self.tally.refused.add(value)

    async def issuer(self, n: int, token: str) -> None:
        rng, names = random.Random(2000 + n), self.plan.issue_fields or {}
        while self.running() and self.plan.has["issue"]:
            sku, place, _ = rng.choice(self.fixture.stock)
            quantity = Decimal(rng.randint(1, 3))
            body = {names["item"]: sku, names["location"]: place, names["quantity"]: str(quantity),
                    **({"reason": "consumed"} if "reason" in self._issue_props() else {})}
            reply = await self.call("issue", "POST", "/inventory/issues", token, json=body,
                                    headers={"Idempotency-Key": f"bench-{n}-{next(self.counter)}"})
            if reply is None:
                self.tally.issues_unsure[sku] += quantity
            elif reply.status_code == 201:
                self.tally.issued[sku] += quantity
            elif reply.status_code == 422 and "insufficient_stock" not in reply.text:
                self.tally.unexpected.append(f"issue: 422 other than insufficient_stock: {reply.text[:300]}")

    def _issue_props(self) -> dict[str, Any]:
        return self.plan._schema("/inventory/issues", "post", "application/json").get("properties", {})

    async def syncer(self, n: int, token: str) -> None:
        loop = asyncio.get_running_loop()
        org = self.fixture.workbook_orgs[n % len(self.fixture.workbook_orgs)]
        while self.running() and self.plan.has["workbook"]:
            got = await self.call("workbook_get", "GET", "/workbooks/contacts", token)
            if got is None or got.status_code != 200:
                continue
            if not got.content.startswith(b"PK"):
                self.plan.skip("workbook", f"GET /workbooks/contacts did not answer an .xlsx "
                                           f"({got.headers.get('content-type')})")
                return
            phone = f"+1 555 {n:03d} {next(self.counter):05d}"
            edited = await loop.run_in_executor(self.editors, edit_workbook, got.content, org, phone)
            if edited is None:
                self.plan.skip("workbook", f"organisation {org} not found in the exported workbook")
                return
            reply = await self.call("workbook_sync", "POST", "/workbooks/sync", token, files={
                self.plan.upload_field: ("contacts.xlsx", edited,
                                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
            if reply is not None and reply.status_code == 200:
                status = None
                if reply.headers.get("content-type", "").startswith("application/json"):
                    status = reply.json().get("status")
                if status in (None, "applied"):
                    self.tally.synced[org].append(phone)


async def run_clients(base: str, plan: Plan, fixture: Fixture, seconds: float, clients: int,
                      baseline: bool, editors: ProcessPoolExecutor | None) -> tuple[Tally, float]:
    import httpx

    tally = Tally()
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(120, connect=10)) as client:
        started = time.monotonic()
        load = Load(client, plan, fixture, tally, started + seconds, editors)
        if baseline:
            tasks = [load.reader(0, fixture.tokens["mia"][0])]
        else:
            counts = {kind: int(clients * share) for kind, share in SHARE.items()}
            counts["read"] += clients - sum(counts.values())
            for kind in ("issue", "workbook"):
                if not plan.has[kind]:
                    counts["read"], counts[kind] = counts["read"] + counts[kind], 0
            tasks = []
            serial = itertools.count()
            for kind, run, login in (("read", load.reader, "mia"), ("update", load.updater, "admin"),
                                     ("issue", load.issuer, "wes"), ("workbook", load.syncer, "admin")):
                for n in range(counts[kind]):
                    tasks.append(run(n, fixture.tokens[login][next(serial) % clients]))
            print(f"  clients: {counts['read']} reading, {counts['update']} updating, {counts['issue']} issuing "
                  f"stock, {counts['workbook']} syncing workbooks")
        await asyncio.gather(*tasks)
        return tally, time.monotonic() - started


# -- the report and the checks -------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(load: Tally, seconds: float, base: Tally, base_seconds: float) -> None:
    print(f"\n{'kind':<15}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses")
    for kind, values in sorted(load.latency.items()):
        statuses = ", ".join(f"{s}: {c}" for s, c in sorted(load.status[kind].items()))
        print(f"{kind:<15}{len(values):>9}{percentile(values, 50) * 1000:>9.1f}{percentile(values, 95) * 1000:>9.1f}"
              f"{percentile(values, 99) * 1000:>9.1f}  {statuses}")
    rps = load.requests / seconds
    base_rps = base.requests / base_seconds if base_seconds else 0
    reads = load.latency.get("contacts_page", [])
    base_reads = base.latency.get("contacts_page", [])
    print(f"\nthroughput under load: {rps:,.0f} requests/s ({load.requests:,} in {seconds:.1f} s); "
          f"errors (5xx or connection): {len(load.errors)}")
    if base_rps and reads and base_reads:
        print(f"baseline, the read mix with 1 client: {base_rps:,.0f} requests/s, GET /contacts p50 "
              f"{statistics.median(base_reads) * 1000:.1f} ms")
        print(f"ratio: throughput x{rps / base_rps:.1f} of one client; GET /contacts p50 under load "
              f"x{statistics.median(reads) / statistics.median(base_reads):.1f} of one client's")
    for line in load.errors[:10] + load.unexpected[:10]:
        print(f"  ! {line}")


def check(db, fixture: Fixture, load: Tally, plan: Plan) -> list[str]:
    """What the database says after the load; each string is a failed check."""
    from sqlalchemy import text

    from engine.inventory import queries
    from engine.ledger.reports import trial_balance
    from engine.security.roles import SYSTEM

    failed: list[str] = []
    with db.reading() as session:
        # updates: every 200 is in the audit log, no 412 is, the last 200 is what is stored
        audited: dict[int, list[str]] = defaultdict(list)
        # (whichever source a door writes: only the PATCHes touch the shared contacts' notes,
        # only the workbook syncs the other organisations' phones)
        for record, changes in session.execute(text(
                "SELECT record_id, changes FROM audit_log WHERE id > :start AND table_name = 'contacts' "
                "AND action = 'update' ORDER BY id"), {"start": fixture.start_audit}):
            changes = json.loads(changes) if isinstance(changes, str) else changes
            if "notes" in changes and record in fixture.before:
                audited[record].append(changes["notes"][1])
            if "phone" in changes:
                audited[-record].append(changes["phone"][1])
        now = {cid: (notes, version) for cid, notes, version in session.execute(text(
            "SELECT id, notes, version FROM contacts WHERE id = ANY(:ids)"), {"ids": fixture.shared})}
        accepted = 0
        for cid in fixture.shared:
            acked = sorted(load.acked.get(cid, []))
            accepted += len(acked)
            values = set(audited.get(cid, []))
            missing = [v for _, v in acked if v not in values]
            if missing:
                failed.append(f"contact {cid}: {len(missing)} updates answered 200 are not in the audit log "
                              f"(lost updates), e.g. {missing[:3]}")
            if refused := values & load.refused:
                failed.append(f"contact {cid}: {len(refused)} updates answered 412 changed the record")
            strays = values - {v for _, v in acked} - load.unsure
            if strays:
                failed.append(f"contact {cid}: {len(strays)} changes in the audit log no client sent")
            versions = [v for v, _ in acked]
            if len(set(versions)) != len(versions):
                failed.append(f"contact {cid}: two updates answered 200 with the same new version")
            if acked and not load.unsure and now[cid] != (acked[-1][1], acked[-1][0]):
                failed.append(f"contact {cid}: stored {now[cid]}, but the last accepted update wrote "
                              f"{acked[-1][1]!r} at version {acked[-1][0]}")
            if not load.unsure and now[cid][1] != fixture.before[cid][1] + len(acked):
                failed.append(f"contact {cid}: version went {fixture.before[cid][1]} -> {now[cid][1]} "
                              f"with {len(acked)} accepted updates")
        print(f"\nchecks: {accepted} updates answered 200 and {len(load.refused)} answered 412 on "
              f"{len(fixture.shared)} shared contacts; {len(load.unsure)} without an answer")
        # workbook syncs: every applied edit is in the audit log
        if plan.has["workbook"] or load.synced:
            for org, phones in load.synced.items():
                lost = [p for p in phones if p not in set(audited.get(-org, []))]
                if lost:
                    failed.append(f"organisation {org}: {len(lost)} applied workbook edits not in the audit log")
            print(f"        {sum(map(len, load.synced.values()))} workbook edits applied")
        # stock: on hand = before - accepted issues, never below zero
        for sku, place, before in fixture.stock:
            moved = session.scalar(text(
                "SELECT coalesce(sum(m.quantity), 0) FROM stock_movements m JOIN items i ON i.id = m.item_id "
                "WHERE m.id > :start AND i.sku = :sku AND m.kind = 'issue'"),
                {"start": fixture.start_movement, "sku": sku})
            moved = Decimal(moved).scaleb(-4)
            held = sum((r.quantity for r in queries.on_hand(session, SYSTEM, sku=sku) if r.location == place),
                       Decimal(0))
            issued, unsure = load.issued.get(sku, Decimal(0)), load.issues_unsure.get(sku, Decimal(0))
            if not issued <= moved <= issued + unsure:
                failed.append(f"{sku}: {issued} issued with 201 but {moved} in the movements")
            if held != before - moved:
                failed.append(f"{sku} at {place}: on hand {held}, but {before} before and {moved} issued")
            if held < 0:
                failed.append(f"{sku} at {place}: on hand went below zero ({held})")
            print(f"        {sku} at {place}: {before} before, {issued} issued (201), {held} on hand")
        negative = session.scalar(text("SELECT count(*) FROM stock_balances WHERE quantity < 0"))
        if negative:
            failed.append(f"{negative} stock balances are below zero")
        # the ledger still balances
        books = trial_balance(session, SYSTEM, date(2199, 12, 31))
        if books.total_debit != books.total_credit:
            failed.append(f"trial balance: debits {books.total_debit} != credits {books.total_credit}")
        print(f"        trial balance: debits {books.total_debit}, credits {books.total_credit}")
    return failed


# -- the driver ----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("BACKOFFICE_TEST_PG_URL"),
                        help="a PostgreSQL server's URL (default BACKOFFICE_TEST_PG_URL); the benchmark makes "
                             "and drops a database of its own there")
    parser.add_argument("--workers", type=int, default=4, help="`backoffice serve --workers`")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of load (default 60; --quick 10)")
    parser.add_argument("--quick", action="store_true", help="10 s of load and 3 s of baseline")
    args = parser.parse_args()
    if not args.pg_url:
        parser.error("give --pg-url or set BACKOFFICE_TEST_PG_URL")
    seconds = args.seconds or (10 if args.quick else 60)
    base_seconds = 3 if args.quick else 10

    name = f"bench_api_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = db = editors = None
    failed: list[str] = []
    try:
        print(f"database {name}: creating and filling it with the demo data ...", flush=True)
        database_url = create_database(args.pg_url, name)
        seed(database_url, folder)
        db = open_db(database_url)
        fixture = prepare(db, args.clients)
        server = Server(database_url, folder, args.workers, free_port())
        server.wait_ready(args.workers)
        import httpx

        plan = Plan(httpx.get(server.url + "/openapi.json", timeout=30).json())
        if not fixture.stock:
            plan.skip("issue", "no item in the demo data fits (held in one bin, 30 to 200 on hand, no lots)")
        print(f"server: {server.url}, {args.workers} workers (pids {sorted(server.seen)})")
        for note in plan.notes:
            print(f"  note: {note}")

        print(f"baseline: the read mix with 1 client for {base_seconds} s ...", flush=True)
        base, base_took = asyncio.run(run_clients(server.url, plan, fixture, base_seconds, 1, True, None))
        print(f"load: {args.clients} clients for {seconds:.0f} s ...", flush=True)
        editors = ProcessPoolExecutor(max_workers=1) if plan.has["workbook"] else None
        load, took = asyncio.run(run_clients(server.url, plan, fixture, seconds, args.clients, False, editors))
        for note in plan.notes:
            print(f"  note: {note}")
        report(load, took, base, base_took)
        failed = check(db, fixture, load, plan)
        if load.errors:
            failed.append(f"{len(load.errors)} errors (5xx or connection errors)")
        if load.unexpected:
            failed.append(f"{len(load.unexpected)} answers no client should get (see above)")
        if "Traceback" in server.tail(10**7):
            failed.append("the server's log holds a traceback:\n" + server.tail())
    finally:
        if editors is not None:
            editors.shutdown(cancel_futures=True)
        if server is not None:
            left = server.stop()
            print(f"server stopped; processes left: {left or 'none'}")
            if left:
                failed.append(f"processes of the server outlived it: {left}")
        if db is not None:
            db.dispose()
        drop_database(args.pg_url, name)
        shutil.rmtree(folder, ignore_errors=True)
    for line in failed:
        print(f"CHECK FAILED: {line}")
    print("all checks passed" if not failed else f"{len(failed)} checks failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
