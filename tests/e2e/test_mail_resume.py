"""Mail runs survive being killed: `backoffice mail merge` runs as a real process, is killed
with SIGKILL in the middle of a run, and `backoffice mail resume` finishes it. Every selected
customer gets exactly one message (no duplicates, none missed), each with the Message-ID its
row stored before sending, every row ends `sent` with its attempts counted, and the contact's
history (the audit log) says `mailed` once per contact.

    outbox   killed at a random moment, then again while the process waits to record a
             message the outbox already holds (its .eml written, its row still `sending`)
    smtp     killed while the server (aiosmtpd on loopback) has not yet answered the DATA of a
             message: the dropped connection means it was not accepted, so it is sent again
    --limit  sends part of the run, `resume` the rest; `--dry-run` writes previews and stores
             no run

The customers and their overdue invoices are made in this process through the ledger
services (fast); everything mailed goes through the CLI in its own process. SQLite only:
killing processes is what is tested, not the database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from engine.contacts.services import add_contact
from engine.db.audit import AuditEntry
from engine.ledger.chart import install_chart
from engine.ledger.invoices import LineIn, create_invoice, post_invoice
from engine.ledger.services import open_year
from engine.mailmerge.models import MailMessage, MailRun
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from tests.e2e.conftest import cli_env
from tests.mail_servers import SmtpServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SENDER = "accounts@widget.example"
TODAY = date.today()
MERGE = ("mail", "merge", "overdue_reminder", "--to", "overdue", "--days", "30", "--json")
WAIT = 120          # seconds: generous, for a loaded machine; the tests never sleep this long when all is well


# -- the books: customers with invoices overdue more than 30 days --------------------------------

def make_customers(db, count: int, *, others: bool = False) -> dict[int, str | None]:
    """Accountant `alex`; `count` customers (by name in that order: Customer 000, 001, ...), each
    with a posted invoice 60 days overdue. With `others` also: Dana Post (no e-mail: a printed
    letter), Cog SARL (opted out) and Fresh Ltd (5 days overdue: not selected). Returns the
    selected customers: contact id -> e-mail address (None: a letter)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
    with db.reading() as session:
        alex = resolve_actor(session, "alex")
    issued = TODAY - timedelta(days=90)
    people = [(f"Customer {n:03d}", f"customer{n:03d}@example.org", {}, 60) for n in range(count)]
    if others:
        people += [("Dana Post", None, {}, 60), ("Cog SARL", "compta@cog.example", {"opt_out": True}, 60),
                   ("Fresh Ltd", "fresh@example.org", {}, 5)]
    selected = {}
    with db.unit_of_work(alex) as session:
        install_chart(session, alex)
        for year in sorted({issued.year, TODAY.year}):
            open_year(session, alex, year)
        for name, email, more, late in people:
            contact, _ = add_contact(session, alex, {"kind": "organisation", "name": name, "country": "GB",
                                                     "email": email, **more},
                                     [{"kind": "billing", "line1": "1 High St", "city": "Leeds",
                                       "postcode": "LS1 4AP", "country": "GB"}])
            invoice = create_invoice(session, alex, "sales", contact.id, issued, TODAY - timedelta(days=late),
                                     [LineIn("Widgets", Decimal(2), Decimal("60.25"), "4100")])
            post_invoice(session, alex, invoice.id)
            if late > 30 and not more:
                selected[contact.id] = email
    return selected


# -- running the CLI ---------------------------------------------------------------------------

@pytest.fixture
def mail_env(tmp_path) -> dict[str, str]:
    """Mail settings through the environment, as a user sets them."""
    return {"BACKOFFICE_MAIL__SENDER": SENDER, "BACKOFFICE_MAIL__SENDER_NAME": "Widget Works",
            "BACKOFFICE_MAIL__OUTBOX_DIR": str(tmp_path / "outbox"), "BACKOFFICE_OUTPUT_DIR": str(tmp_path / "out"),
            "BACKOFFICE_MAIL__PER_MINUTE": "100000"}


@pytest.fixture
def start(database_url, tmp_path, mail_env) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `backoffice ARGS --user alex` in its own process (as the `backoffice` fixture runs
    it), without waiting: to be killed. Its output goes to files beside the test's."""
    env = cli_env(database_url) | mail_env
    started = []

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        n = len(started)
        with open(tmp_path / f"process-{n}.out", "wb") as out, open(tmp_path / f"process-{n}.err", "wb") as err:
            process = subprocess.Popen([sys.executable, "-m", "engine.cli", *args, "--user", "alex"], cwd=tmp_path,
                                       env=env | (extra_env or {}), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        process.stderr_file = tmp_path / f"process-{n}.err"
        started.append(process)
        return process

    yield run
    for process in started:        # a test that failed half-way leaves none running
        if process.poll() is None:
            for worker in children(process.pid):
                os.kill(worker, signal.SIGKILL)
            process.kill()
            process.wait()


def ok(result) -> Any:
    assert result.code == 0, result.stderr
    return result.json()


def wait_for(condition: Callable[[], Any], process: subprocess.Popen | None = None, what: str = "") -> Any:
    """Poll `condition` (every few milliseconds) until it holds; the process must still be running."""
    deadline = time.monotonic() + WAIT
    while not (found := condition()):
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}:\n"
                        f"{process.stderr_file.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT} s for {what}")
        time.sleep(0.003)
    return found


def kill(process: subprocess.Popen) -> None:
    """SIGKILL: no clean-up, no `finally`. The processes it started to fill in letters must
    leave with it, not linger for ever waiting for work."""
    workers = children(process.pid)
    process.kill()
    assert process.wait(30) == -9
    try:
        wait_for(lambda: not any(alive(pid) for pid in workers), what=f"the killed run's workers {workers} to leave")
    finally:                       # a failed check leaves none behind either
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc: the test machine's)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, waiting for its parent to collect it, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# -- what the database and the outbox hold -----------------------------------------------------

def rows(db) -> dict[int, MailMessage]:
    """The message rows of the (one) run, by contact."""
    with db.reading() as session:
        return {m.contact_id: m for m in session.scalars(select(MailMessage).order_by(MailMessage.id))}


def the_run(db) -> MailRun:
    with db.reading() as session:
        [run] = session.scalars(select(MailRun)).all()
        return run


def mailed(db) -> Counter:
    """How many `mailed` entries each contact's history has."""
    with db.reading() as session:
        return Counter(dict(session.execute(
            select(AuditEntry.record_id, func.count()).where(AuditEntry.table_name == "contacts",
                                                             AuditEntry.action == "mailed")
            .group_by(AuditEntry.record_id)).all()))


def draft_name(message_id: str) -> str:
    """The outbox's file for a Message-ID: its local part, `.eml`."""
    return message_id.strip().strip("<>").split("@")[0] + ".eml"


def drafts(outbox: Path) -> dict[str, int]:
    """The drafts in the outbox: file name -> inode (a draft written again is a new file).
    Hidden files (a draft being written) are not drafts."""
    try:
        with os.scandir(outbox) as entries:
            return {e.name: e.inode() for e in entries if e.name.endswith(".eml") and not e.name.startswith(".")}
    except FileNotFoundError:
        return {}


def check_after_kill(db, outbox: Path | None, total: int) -> dict[int, MailMessage]:
    """Killed in the middle: the run is not finished, some messages were sent and some not; every
    message handed over has its Message-ID stored on its row."""
    now = rows(db)
    states = Counter(m.state for m in now.values())
    assert len(now) == total and the_run(db).status == "running"
    assert 0 < states["sent"] < total and states["pending"] > 0, states
    assert set(states) <= {"sent", "sending", "pending"} and states["sending"] <= 1, states
    for m in now.values():
        assert (m.message_id is not None) == (m.state != "pending"), m.__dict__
    if outbox is not None:
        stored = {draft_name(m.message_id): m.state for m in now.values() if m.message_id}
        assert set(drafts(outbox)) <= set(stored)                    # no draft without its row's Message-ID
        assert all(name in drafts(outbox) for name, state in stored.items() if state == "sent")
    return now


def check_finished(db, customers: dict[int, str | None], attempts: dict[int, int], backoffice, mail_env) -> None:
    """Every customer's row is sent (with its attempts), the run finished, one `mailed` each."""
    done = rows(db)
    assert set(done) == set(customers)
    assert {c: (m.state, m.address, m.attempts) for c, m in done.items()} == {
        c: ("sent", email, attempts.get(c, 1)) for c, email in customers.items()}
    assert all(m.sent_at is not None and m.error is None for m in done.values())
    [listed] = ok(backoffice("mail", "runs", "--json", user="alex", extra_env=mail_env))
    assert (listed["status"], listed["messages"]) == ("finished", {"sent": len(customers)})
    assert mailed(db) == Counter(dict.fromkeys(customers, 1))


def interrupted(before: dict[int, MailMessage], attempts: dict[int, int], outbox: Path) -> None:
    """Count the attempt a kill cut short: a row left `sending` whose draft the outbox does not
    hold is handed over again; one it holds is only recorded as sent."""
    for contact, m in before.items():
        if m.state == "sending" and not (outbox / draft_name(m.message_id)).exists():
            attempts[contact] = attempts.get(contact, 1) + 1


# -- the outbox ----------------------------------------------------------------------------------

class Watcher:
    """Looks at a running merge from outside: its message rows (SQLite, read as another
    program would) and the outbox."""

    def __init__(self, database: str, outbox: Path):
        self.connection = sqlite3.connect(database, isolation_level=None, timeout=WAIT)
        self.outbox = outbox

    def close(self) -> None:
        self.connection.close()

    def state(self, contact: int) -> str:
        [state] = self.connection.execute("SELECT state FROM mail_messages WHERE contact_id = ?", (contact,)).fetchone()
        return state

    def drafted(self, message_id: str) -> bool:
        return (self.outbox / draft_name(message_id)).exists()

    def building(self, process: subprocess.Popen, candidates: set[int]) -> tuple[int, str]:
        """Wait for a message being built: its row `sending` (its Message-ID stored), its draft
        not written yet. `candidates`: contacts this process sends to (a row left `sending` by
        an earlier kill is not being built until the process comes to it)."""
        def found() -> tuple[int, str] | None:
            for contact, message_id in self.connection.execute(
                    "SELECT contact_id, message_id FROM mail_messages WHERE state = 'sending'"):
                if contact in candidates and not self.drafted(message_id):
                    return contact, message_id
            return None

        return wait_for(found, process, "a message being built")


def kill_while_building(process: subprocess.Popen, watcher: Watcher, candidates: set[int]) -> int:
    """Kill `process` while it builds a message: its row says `sending`, the outbox has not
    got it. The process is stopped (SIGSTOP) to check that, then killed; returns the contact."""
    while True:
        contact, message_id = watcher.building(process, candidates)
        process.send_signal(signal.SIGSTOP)
        try:
            if watcher.state(contact) == "sending" and not watcher.drafted(message_id):
                kill(process)
                return contact
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
        # it got further before it stopped: catch the next one


def kill_while_recording(process: subprocess.Popen, watcher: Watcher, candidates: set[int]) -> int:
    """Kill `process` after the outbox took a message and before its row says `sent`: SQLite's
    write lock is taken while the message is being built (the process touches no database
    meanwhile), so once the draft is written the process waits for the lock to record it, and
    is killed there. Returns the contact."""
    while True:
        contact, message_id = watcher.building(process, candidates)
        watcher.connection.execute("BEGIN IMMEDIATE")      # from now on the process cannot record anything
        try:
            if watcher.state(contact) == "sending":       # not recorded yet: it is writing the draft
                wait_for(lambda: watcher.drafted(message_id), process, "the draft")  # noqa: B023
                time.sleep(0.05)                           # (it now waits for the lock)
                kill(process)
                return contact
        finally:
            watcher.connection.execute("ROLLBACK")
        # it recorded that one before the lock was ours: catch the next


def test_an_outbox_run_killed_twice_and_resumed_mails_everyone_once(db, start, backoffice, mail_env, tmp_path,
                                                                    database_url):
    customers = make_customers(db, 40)
    outbox, total, attempts = tmp_path / "outbox", len(customers), {}
    merging = start(*MERGE, "--via", "outbox")
    watcher = Watcher(make_url(database_url).database, outbox)
    try:
        # 1. The merge, killed while it builds a message (a few drafts written already).
        wait_for(lambda: len(drafts(outbox)) >= 3, merging, "three drafts")
        building = kill_while_building(merging, watcher, set(customers))
        first = check_after_kill(db, outbox, total)
        assert first[building].state == "sending" and not watcher.drafted(first[building].message_id)
        interrupted(first, attempts, outbox)
        run_id, seen = the_run(db).id, drafts(outbox)

        # 2. Resumed, and killed after the outbox took a message but before its row said so.
        resuming = start("mail", "resume", str(run_id), "--json")
        recording = kill_while_recording(resuming, watcher, {c for c, m in first.items() if m.state == "pending"})
        second = check_after_kill(db, outbox, total)
        assert second[building].state == "sent"                       # built again and sent
        assert second[recording].state == "sending" and watcher.drafted(second[recording].message_id)
        interrupted(second, attempts, outbox)
        seen |= drafts(outbox)
    finally:
        watcher.close()

    # 3. Resumed to the end: the outbox's draft of the caught message counts as sent, not written again.
    left = sum(m.state != "sent" for m in second.values())
    report = ok(backoffice("mail", "resume", str(run_id), "--json", user="alex", extra_env=mail_env))
    assert (report["status"], report["sent"], report["left"], report["failed"]) == ("finished", left, 0, [])

    done, written = rows(db), drafts(outbox)
    assert sorted(written) == sorted(draft_name(m.message_id) for m in done.values())    # one each, no other
    assert len(written) == total == len({m.message_id for m in done.values()})
    assert {name: written[name] for name in seen} == seen          # no draft was written twice
    for contact, m in done.items():
        draft = message_from_bytes((outbox / draft_name(m.message_id)).read_bytes(), policy=default)
        assert draft["Message-ID"] == m.message_id and draft["X-Unsent"] == "1"
        assert draft["To"].addresses[0].addr_spec == customers[contact] and draft["From"].addresses[0].addr_spec == SENDER
        assert [a.get_filename() for a in draft.iter_attachments()] == ["overdue_reminder.docx"]
    assert attempts == {building: 2}          # the one caught recording was not handed over again
    assert mailed(db)[recording] == 1         # ... and its contact's history says it was sent
    check_finished(db, customers, attempts, backoffice, mail_env)
    assert ok(backoffice("mail", "resume", str(run_id), "--json", user="alex", extra_env=mail_env))["sent"] == 0
    assert drafts(outbox) == written


# -- SMTP ------------------------------------------------------------------------------------------

def test_an_smtp_run_killed_while_the_server_holds_a_message_sends_it_again_once(db, start, backoffice, mail_env):
    customers = make_customers(db, 12)
    held = customers[sorted(customers)[4]]                 # the fifth message of the run
    with SmtpServer(stall_for=held) as server:
        smtp = mail_env | {"BACKOFFICE_MAIL__SMTP__HOST": "127.0.0.1", "BACKOFFICE_MAIL__SMTP__PORT": str(server.port),
                           "BACKOFFICE_MAIL__SMTP__SECURITY": "none"}
        merging = start(*MERGE, "--via", "smtp", extra_env=smtp)
        wait_for(server.stalled.is_set, merging, "the server to hold the fifth message")
        kill(merging)                                      # while it waits for the answer to DATA
        assert server.lost.wait(WAIT), "the server did not notice the client was gone"
        server.go_on.set()
        assert [d.rcpt_tos for d in server.dropped] == [[held]]          # not accepted
        assert len(server.deliveries) == 4

        before = check_after_kill(db, None, len(customers))
        by_address = {m.address: m for m in before.values()}
        assert by_address[held].state == "sending"
        assert Counter(m.state for m in before.values()) == {"sent": 4, "sending": 1, "pending": 7}
        dropped = message_from_bytes(server.dropped[0].content, policy=default)
        assert dropped["Message-ID"] == by_address[held].message_id      # stored before it was sent

        report = ok(backoffice("mail", "resume", str(the_run(db).id), "--json", user="alex", extra_env=smtp))
        assert (report["status"], report["sent"], report["failed"]) == ("finished", 8, [])

    received = Counter(rcpt for d in server.deliveries for rcpt in d.rcpt_tos)
    assert received == Counter(customers.values())                     # each exactly once
    done = {m.address: m for m in rows(db).values()}
    for delivery in server.deliveries:
        message = message_from_bytes(delivery.content, policy=default)
        assert message["Message-ID"] == done[delivery.rcpt_tos[0]].message_id
        assert delivery.mail_from == SENDER
    check_finished(db, customers, {c: 2 for c, m in before.items() if m.state == "sending"}, backoffice, mail_env)


# -- --limit, and --dry-run ------------------------------------------------------------------

def test_a_limited_merge_is_finished_by_resume_and_a_dry_run_stores_nothing(db, backoffice, mail_env, tmp_path):
    customers = make_customers(db, 6, others=True)          # 6 e-mails, Dana's letter; Cog and Fresh not mailed
    letter_only = [c for c, email in customers.items() if email is None]
    emails = {c: e for c, e in customers.items() if e}
    outbox = tmp_path / "outbox"

    def mail(*args: str):
        return ok(backoffice(*args, user="alex", extra_env=mail_env))

    preview = mail(*MERGE, "--dry-run")
    assert (preview["emails"], preview["letters"]) == (6, 1)
    assert [s["name"] for s in preview["skipped"]] == ["Cog SARL"]
    folder = Path(preview["folder"])
    assert len(list(folder.glob("*.eml"))) == 6 and (folder / "letters.docx").is_file()
    assert mail("mail", "runs", "--json") == [] and rows(db) == {} and not outbox.exists()
    assert mailed(db) == Counter()

    first = mail(*MERGE, "--limit", "3")
    assert (first["sent"], first["left"], first["printed"], first["status"]) == (3, 4, 0, "running")
    sent_first = drafts(outbox)
    assert len(sent_first) == 3
    [listed] = mail("mail", "runs", "--json")
    assert (listed["status"], listed["messages"]) == ("running", {"sent": 3, "pending": 4})

    rest = mail("mail", "resume", str(first["run_id"]), "--json")
    assert (rest["sent"], rest["left"], rest["printed"], rest["status"], rest["failed"]) == (3, 0, 1, "finished", [])
    assert Path(rest["printed_file"]).is_file()
    done = rows(db)
    assert sorted(drafts(outbox)) == sorted(draft_name(m.message_id) for m in done.values() if m.channel == "email")
    assert {n: i for n, i in drafts(outbox).items() if n in sent_first} == sent_first      # not written again
    assert {c: (m.state, m.attempts) for c, m in done.items()} == (
        {c: ("sent", 1) for c in emails} | {c: ("printed", 0) for c in letter_only})
    assert mailed(db) == Counter(dict.fromkeys(customers, 1))
    again = mail("mail", "resume", str(first["run_id"]), "--json")
    assert (again["sent"], again["printed"], again["status"]) == (0, 0, "finished")
