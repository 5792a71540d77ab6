"""Mail merge benchmark: 1,000 overdue reminders merged to the outbox, against the floor of
the file work measured in the same run.

    .venv/bin/python benchmarks/bench_mailmerge.py [--recipients 1000] [--repeat 3] [--profile]

On SQLite: `--recipients` customers, each with a billing address, an e-mail address and one
posted sales invoice 60 days overdue (made through the ledger services, once). Then, timed:
`start_run` (the selection, the run and its message rows stored) + `process_run` through the
outbox transport: for each message the template rendered, the .docx letter filled in and
attached, the MIME message built, the .eml written, and three commits (sending with its
Message-ID, sent, the contact's audit row). The floor: the same messages' bytes (built once,
read back from the first run's outbox) written to as many .eml files. Each timed run is a
new run into an empty outbox; the fastest counts (noise on a shared machine only adds time).
Target (the issue): 1,000 letters in under 30 s. --profile runs one merge more under
cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS, TARGET_RECIPIENTS = 30.0, 1_000
SENDER = "accounts@widget.example"


def make_books(folder: Path, customers: int):
    """A database with `customers` customers, each owing one posted invoice 60 days overdue;
    returns (settings, the accountant)."""
    from engine.config import Settings
    from engine.contacts.services import add_contact
    from engine.db.session import Database
    from engine.ledger.chart import install_chart
    from engine.ledger.invoices import LineIn, create_invoice, post_invoice
    from engine.ledger.services import open_year
    from engine.security.roles import SYSTEM
    from engine.security.users import add_user, resolve_actor

    settings = Settings(database_url=f"sqlite:///{folder / 'mail.db'}",
                        output_dir=folder / "out",
                        mail={"sender": SENDER, "sender_name": "Widget Works",
                              "sender_address": ["9 Mill Lane", "YORK", "YO1 7HH"], "country": "GB"})
    db = Database.open(settings, create=True)
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
    with db.reading() as session:
        alex = resolve_actor(session, "alex")
    today = date.today()
    issued, due = today - timedelta(days=90), today - timedelta(days=60)
    with db.unit_of_work(alex) as session:
        install_chart(session, alex)
        for year in sorted({issued.year, today.year}):
            open_year(session, alex, year)
        for n in range(customers):
            contact, _ = add_contact(session, alex, {
                "kind": "organisation", "name": f"Customer {n:05d} Ltd", "country": "GB",
                "email": f"accounts{n:05d}@customer.example"},
                [{"kind": "billing", "line1": f"{n + 1} High Street", "city": "Leeds", "postcode": "LS1 4AP",
                  "country": "GB"}])
            invoice = create_invoice(session, alex, "sales", contact.id, issued, due,
                                     [LineIn("Widgets", Decimal(3), Decimal("41.50"), "4100")])
            post_invoice(session, alex, invoice.id)
    db.dispose()
    return settings, alex


def merge(settings, actor, outbox: Path) -> tuple[float, dict]:
    """One timed merge of every overdue customer to an empty outbox: (seconds, the report)."""
    from engine.db.session import Database
    from engine.mailmerge.runs import process_run, start_run
    from engine.mailmerge.transports.outbox import OutboxTransport

    shutil.rmtree(outbox, ignore_errors=True)
    db = Database.open(settings)
    try:
        started = time.perf_counter()
        run_id = start_run(db, settings, actor, "overdue_reminder", "overdue", {"days": 30}, "outbox")
        report = process_run(db, settings, actor, run_id, OutboxTransport(outbox))
        seconds = time.perf_counter() - started
    finally:
        db.dispose()
    return seconds, report.as_json()


def floor(messages: list[bytes], target: Path) -> float:
    """Writing the messages' bytes to one .eml file each: the least the file work can cost."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    started = time.perf_counter()
    for n, data in enumerate(messages):
        with open(target / f"message-{n:05d}.eml", "wb") as fh:
            fh.write(data)
    return time.perf_counter() - started


def profile(settings, actor, outbox: Path, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _ = merge(settings, actor, outbox)
    profiler.disable()
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        body = text.getvalue()
        print(f"\n--- profile of one merge ({seconds:.2f} s under cProfile), top {top} by {order} ---")
        print(body[body.find("ncalls"):].rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=TARGET_RECIPIENTS)
    parser.add_argument("--repeat", type=int, default=3, help="timed merges; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="also profile one merge (cProfile)")
    parser.add_argument("--top", type=int, default=30, help="profile lines to print")
    args = parser.parse_args()

    import docxtpl  # noqa: F401  (imports are start-up cost, not the work measured)

    import engine.mailmerge.runs  # noqa: F401
    import engine.mailmerge.transports.outbox  # noqa: F401

    folder = Path(tempfile.mkdtemp(prefix="bench-mailmerge-"))
    try:
        started = time.perf_counter()
        settings, actor = make_books(folder, args.recipients)
        print(f"setup: {args.recipients:,} customers with a posted overdue invoice "
              f"({time.perf_counter() - started:.1f} s, ledger services)")
        runs, floors, messages = [], [], None
        for n in range(args.repeat):
            outbox = folder / f"outbox-{n}"
            seconds, report = merge(settings, actor, outbox)
            drafts = sorted(outbox.glob("*.eml"))
            if report["sent"] != args.recipients or report["status"] != "finished" or len(drafts) != args.recipients:
                raise SystemExit(f"the merge did not send every message: {report['sent']} sent, "
                                 f"{len(drafts)} drafts, {report['status']}, failed {report['failed'][:3]}")
            if messages is None:
                messages = [p.read_bytes() for p in drafts]
            runs.append(seconds)
            floors.append(floor(messages, folder / f"floor-{n}"))
            shutil.rmtree(outbox, ignore_errors=True)
            shutil.rmtree(folder / f"floor-{n}", ignore_errors=True)
        best, base = min(runs), min(floors)
        size = sum(len(m) for m in messages) / len(messages) / 1024
        target = TARGET_SECONDS * args.recipients / TARGET_RECIPIENTS
        print(f"\n{args.recipients:,} overdue reminders to the outbox (SQLite), fastest of {args.repeat}")
        print(f"  merge: start_run + process_run      {best:8.2f} s   runs {', '.join(f'{r:.2f}' for r in runs)}"
              f"   {args.recipients / best:.1f} messages/s")
        print(f"  floor: write the same bytes to .eml {base:8.3f} s   ({size:.0f} KiB a message)")
        print(f"  ratio merge/floor: {best / base:.0f}x")
        verdict = "PASS" if best < target else "FAIL"
        print(f"  target: under {target:.0f} s for {args.recipients:,} ({TARGET_SECONDS:.0f} s per "
              f"{TARGET_RECIPIENTS:,}): {verdict} ({best:.2f} s)")
        if args.profile:
            profile(settings, actor, folder / "outbox-profile", args.top)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
