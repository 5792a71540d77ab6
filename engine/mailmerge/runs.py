"""Mail runs: start one (its recipients stored first), work through it, resume it.

Sending one message is three steps, each its own transaction, so a run killed at any moment
can be resumed without sending a message twice or missing one:

    1. the message row becomes `sending`, with its Message-ID (committed)
    2. the transport takes the message
    3. the row becomes `sent` (committed), audited on the contact

A resumed run takes every row still `pending`, `sending` (interrupted between 1 and 3) or
failed for a reason that may have passed: a setting or a server (`configuration`,
`transient`), or the contact's data once the contact was changed since (`data`); never one
the recipient's server refused for good (`refused`). It reports which failed messages it
tried again. For an interrupted row it first asks the transport whether it already holds
that Message-ID (the outbox and Exchange can tell); a transport that cannot tell (SMTP,
Graph) gets the message again with the same Message-ID, which mail programs show once. One
failed recipient never stops the run: a value that cannot go into a header (a name holding a
line break) fails that message alone, naming the contact and the field.

Before anything is stored or sent, the template's fields are checked against what the
selection's recipients provide and what no template may do is refused
(`engine.mailmerge.fields`), and a second merge of the same template to the same selection
with the same options on the same day is refused unless asked for again (`again`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select

from engine.config import Settings
from engine.contacts.models import Contact
from engine.db.audit import write_audit
from engine.db.installation import installation_id
from engine.db.session import Database
from engine.errors import BackofficeError, NotFound, ValidationFailed
from engine.mailmerge import recipients as chosen
from engine.mailmerge.failures import SenderMissing, why_not_built
from engine.mailmerge.fields import check_template
from engine.mailmerge.hooks import message_sent
from engine.mailmerge.letters import print_batch
from engine.mailmerge.message import Attachment, Outgoing, build_message
from engine.mailmerge.models import PERMANENT, MailMessage, MailRun
from engine.mailmerge.repeats import RepeatedMerge, earlier_today, plain_options, repeated_message
from engine.mailmerge.templates import MailTemplate, has_letter, render_letter
from engine.mailmerge.transports import Transport, TransportError, make_transport
from engine.mailmerge.transports.outbox import OutboxTransport
from engine.office.docx import soffice
from engine.problems import Problem
from engine.security.roles import Actor

RETRIED = ("pending", "sending", "failed")
Progress = Callable[[str, int, int], None]   # (what, done, of)


@dataclass
class RunReport:
    run_id: int
    status: str
    transport: str
    sent: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)      # [{contact_id, name, error, kind, field, permanent}]
    retried: list[dict[str, Any]] = field(default_factory=list)     # failed before, tried again: [{contact_id, name, error, kind}]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    printed: int = 0
    printed_file: str | None = None
    printed_pdf: str | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)     # opted out, ... (at selection)
    left: int = 0                                                   # still to send (--limit, or a resume)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def start_run(db: Database, settings: Settings, actor: Actor, template: str, selection: str,
              options: dict[str, Any], transport: str, again: bool = False) -> int:
    """Store a run and its recipient list (every message pending); nothing is sent yet.
    Refused before anything is stored: a misspelt template or field (UnknownFields), or the
    same merge as one earlier today (RepeatedMerge) unless `again`."""
    actor.require("write", "contacts")
    mail = MailTemplate.load(template)   # a misspelt template stops here, before anything is stored
    with db.unit_of_work(actor) as session:
        recipients, skipped = select_recipients(session, actor, settings, selection, options)
        check_template(mail, selection, [r.context for r in recipients])
        earlier = earlier_today(session, template, selection, options)
        if earlier and not again:
            raise RepeatedMerge(repeated_message(template, selection, options, earlier))
        run = MailRun(template=template, selection=selection, options=plain_options(options), transport=transport,
                      status="running", started_by=actor.login, updated_by=actor.login,
                      skipped=[{"contact_id": s.contact_id, "name": s.name, "reason": s.reason} for s in skipped])
        session.add(run)
        session.flush()
        session.add_all([MailMessage(run_id=run.id, contact_id=r.contact_id, name=r.name, address=r.email,
                                     channel="email" if r.email else "letter", state="pending",
                                     updated_by=actor.login) for r in recipients])
        return run.id


def process_run(db: Database, settings: Settings, actor: Actor, run_id: int, transport: Transport | None = None,
                limit: int | None = None, progress: Progress | None = None) -> RunReport:
    """Send what is left of a run (at most `limit` e-mails), then print its letters."""
    actor.require("write", "contacts")
    with db.reading() as session:
        run = session.get(MailRun, run_id)
        if run is None:
            raise NotFound(f"there is no mail run {run_id}; `backoffice mail runs` lists them")
        todo = list(session.scalars(_todo(run_id)))
        template, selection, options, via = run.template, run.selection, dict(run.options), run.transport
        domain_key = installation_id(session)[:8]
        # The context is worked out now: an invoice paid since the run began is not in a reminder.
        fresh = {r.contact_id: r for r in select_recipients(session, actor, settings, selection, options)[0]} if todo else {}
    report = RunReport(run_id, "running", via)
    mail = MailTemplate.load(template)
    if todo:   # (the template may have been edited since the run began)
        check_template(mail, selection, [r.context for r in fresh.values()])
    emails = [m for m in todo if m.channel == "email"]
    letters = [m for m in todo if m.channel == "letter"]
    transport = transport or make_transport(settings, via)
    pace = _Pace(settings.mail.per_minute if via != "outbox" else None)
    batch = emails[:limit] if limit is not None else emails
    try:
        with Letters(template, [fresh[m.contact_id] for m in batch if m.contact_id in fresh]) as attached:
            for n, message in enumerate(batch, start=1):
                if message.state == "failed":
                    report.retried.append({"contact_id": message.contact_id, "name": message.name,
                                           "error": message.error, "kind": message.failure})
                _send_one(db, actor, settings, run_id, mail, message, fresh.get(message.contact_id),
                          transport, pace, domain_key, report, attached)
                if progress:
                    progress("sending", n, len(batch))
    finally:
        transport.close()
    if letters and (limit is None or limit > len(emails)):
        _print_letters(db, actor, settings, run_id, template, letters, fresh, report)
    return _finish(db, actor, run_id, report)


def _todo(run_id: int):
    """The messages a pass works on: not sent yet, interrupted, or failed for a reason that may
    have passed (a setting, a server), or for the contact's data once the contact was changed."""
    corrected = and_(MailMessage.failure == "data", Contact.updated_at > MailMessage.updated_at)
    return (select(MailMessage).join(Contact, Contact.id == MailMessage.contact_id)
            .where(MailMessage.run_id == run_id, MailMessage.state.in_(RETRIED),
                   or_(MailMessage.permanent.is_(False), corrected))
            .order_by(MailMessage.id))


def _send_one(db: Database, actor: Actor, settings: Settings, run_id: int, mail: MailTemplate,
              message: MailMessage, recipient, transport: Transport, pace: _Pace, domain_key: str,
              report: RunReport, attached: Letters) -> None:
    template = attached.template
    interrupted = message.state == "sending"
    message_id = message.message_id or _message_id(run_id, message.contact_id, domain_key, settings)
    note = f"{template} via {transport.name} {message_id}"
    if interrupted and getattr(transport, "holds", None) and transport.holds(message_id):
        _settle(db, actor, message.id, "sent", sent=True, note=note)   # it got there before the interruption
        report.sent += 1
        return
    if recipient is None:
        _settle(db, actor, message.id, "dropped", error="no longer in the selection (paid, opted out or changed "
                                                         "since the run began)", permanent=True)
        report.dropped.append({"contact_id": message.contact_id, "name": message.name})
        return
    _settle(db, actor, message.id, "sending", message_id=message_id)
    try:
        built = _build(settings, template, mail, recipient, message_id, attached.of(recipient))
    except BackofficeError as refused:   # a header with a line break, a bad address, no sender set
        _fail(db, actor, message, *why_not_built(refused, recipient), report)
        return
    pace.wait()
    try:
        transport.send(built)
    except TransportError as failure:
        _fail(db, actor, message, failure.reason, failure.kind, "", report)
        return
    _settle(db, actor, message.id, "sent", sent=True, note=note)
    report.sent += 1


def _build(settings: Settings, template: str, mail: MailTemplate, recipient, message_id: str,
           letter: bytes | None) -> EmailMessage:
    if not settings.mail.sender:
        raise SenderMissing("set mail.sender (the From address) before sending: BACKOFFICE_MAIL__SENDER")
    subject, html, text = mail.render(recipient.context)
    attachments = (Attachment(f"{template}.docx", letter),) if letter is not None else ()
    return build_message(Outgoing(settings.mail.sender, settings.mail.sender_name, recipient.email, recipient.name,
                                  subject, text, html, attachments, message_id))


def _message_id(run_id: int, contact_id: int, installation: str, settings: Settings) -> str:
    """Fixed per run and contact, unique per installation: a resent message keeps it."""
    domain = settings.mail.sender.rpartition("@")[2] or "backoffice.invalid"
    return f"<backoffice.{installation}.run{run_id}.c{contact_id}@{domain}>"


def _fail(db: Database, actor: Actor, message: MailMessage, reason: str, kind: str, where: str,
          report: RunReport) -> None:
    permanent = kind in PERMANENT
    _settle(db, actor, message.id, "failed", error=reason, permanent=permanent, failure=kind)
    report.failed.append({"contact_id": message.contact_id, "name": message.name, "error": reason,
                          "kind": kind, "field": where, "permanent": permanent})


def _settle(db: Database, actor: Actor, row: int, state: str, *, message_id: str | None = None,
            sent: bool = False, error: str | None = None, permanent: bool = False, failure: str | None = None,
            note: str | None = None) -> None:
    """One committed step of a message's life (its own transaction); `note`: what the
    contact's history records (the audit log, on the contact)."""
    with db.unit_of_work(actor) as session:
        message = session.get(MailMessage, row)
        message.state, message.error, message.permanent, message.updated_by = state, error, permanent, actor.login
        message.failure = failure
        if message_id is not None:
            message.message_id = message_id
        if state == "sending":
            message.attempts += 1
        if sent:
            message.sent_at = datetime.now(UTC)
        if note:
            write_audit(session.connection(), session.info["audit"], [
                {"table_name": "contacts", "record_id": message.contact_id, "action": "mailed",
                 "changes": {"mail": [None, note]}}])
        if state in ("sent", "printed"):   # whoever keeps a contact's history hears of it
            run = session.get(MailRun, message.run_id)
            message_sent.announce(session, contact_id=message.contact_id, channel=message.channel, run_id=run.id,
                                  message_id=message.message_id, template=run.template,
                                  sent_at=message.sent_at or datetime.now(UTC), started_by=run.started_by)


def _print_letters(db: Database, actor: Actor, settings: Settings, run_id: int, template: str,
                   letters: list[MailMessage], fresh: dict, report: RunReport) -> None:
    """Recipients without an e-mail address: one document of all their letters, to print."""
    kept = [m for m in letters if m.contact_id in fresh]
    for gone in (m for m in letters if m.contact_id not in fresh):
        _settle(db, actor, gone.id, "dropped", error="no longer in the selection", permanent=True)
        report.dropped.append({"contact_id": gone.contact_id, "name": gone.name})
    if not kept:
        return
    target = Path(settings.output_dir) / f"letters-run-{run_id}.docx"
    # And a PDF beside it where LibreOffice is installed (the .docx alone prints as well).
    _docx, pdf = print_batch(template, [fresh[m.contact_id].context for m in kept], target, pdf=soffice() is not None)
    for m in kept:
        _settle(db, actor, m.id, "printed", note=f"{template} printed in {target.name}")
    with db.unit_of_work(actor) as session:
        session.get(MailRun, run_id).printed_file = str(target)
    report.printed, report.printed_file = len(kept), str(target)
    report.printed_pdf = str(pdf) if pdf else None


def _finish(db: Database, actor: Actor, run_id: int, report: RunReport) -> RunReport:
    with db.unit_of_work(actor) as session:
        run = session.get(MailRun, run_id)
        left = session.scalars(select(MailMessage.id).where(
            MailMessage.run_id == run_id, MailMessage.state.in_(RETRIED), MailMessage.permanent.is_(False))).all()
        report.left = len(left)
        if not left and run.status != "finished":
            run.status, run.finished_at, run.updated_by = "finished", datetime.now(UTC), actor.login
        report.status = run.status
        report.skipped = list(run.skipped)
        report.printed_file = report.printed_file or run.printed_file
    return report


def _leave_with(run_process: int) -> None:
    """Start-up of a letter-filling process: leave as soon as the run that started it is gone.
    A run killed outright (`kill -9`, the machine's out-of-memory killer) cannot stop its
    workers, which would otherwise wait for work for ever."""

    def watch() -> None:
        while os.getppid() == run_process:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-the-run", daemon=True).start()


class Letters:
    """The .docx letters attached to a run's e-mails, filled in ahead by other processes while
    this one sends: filling in a Word file is the slowest step of a message (about 60% of it),
    and pure, so on a machine with several cores the letters of a 1,000-message run are ready
    as they are needed. A small run fills them in here, one by one."""

    AHEAD = 20   # fewer letters than this: not worth starting processes

    def __init__(self, template: str, recipients: list):
        self.template = template
        self.wanted = has_letter(template)
        self.pool: ProcessPoolExecutor | None = None
        self.ready: dict[int, Future] = {}
        if self.wanted and len(recipients) >= self.AHEAD and (os.cpu_count() or 1) > 1:
            self.pool = ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                            initializer=_leave_with, initargs=(os.getpid(),))
            self.ready = {r.contact_id: self.pool.submit(render_letter, template, r.context) for r in recipients}

    def of(self, recipient) -> bytes | None:
        if not self.wanted:
            return None
        future = self.ready.pop(recipient.contact_id, None)
        return future.result() if future is not None else render_letter(self.template, recipient.context)

    def __enter__(self) -> Letters:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


class _Pace:
    """At most `per_minute` messages a minute (None: as fast as it goes)."""

    def __init__(self, per_minute: int | None):
        self.gap = 60 / per_minute if per_minute else 0.0
        self.last = 0.0

    def wait(self) -> None:
        if self.gap:
            delay = self.last + self.gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.last = time.monotonic()


def select_recipients(session, actor: Actor, settings: Settings, selection: str, options: dict[str, Any]):
    """The selection's recipients, with who the letters come from (settings) and the run's
    own options (as stored: dates as ISO text)."""
    mail = settings.mail
    given = {k: (date.fromisoformat(v) if k == "as_of" and isinstance(v, str) else v) for k, v in options.items()}
    extra = {"currency": settings.ledger.base_currency} if "currency" in chosen.options_of(selection) else {}
    return chosen.select(session, actor, selection, sender=chosen.sender_fields(
        mail.sender_name, mail.sender, mail.sender_phone, mail.sender_address),
        from_country=mail.country or None, **extra, **given)


def _run_row(run: MailRun, counts: dict[str, int]) -> dict[str, Any]:
    return {"id": run.id, "version": run.version, "template": run.template, "selection": run.selection,
            "options": run.options, "transport": run.transport, "status": run.status, "started_by": run.started_by,
            "started_at": run.created_at.isoformat(), "messages": counts, "skipped": len(run.skipped),
            "printed_file": run.printed_file}


def list_runs(session, actor: Actor) -> list[dict[str, Any]]:
    """Every mail run: template, selection, transport, and how many messages are in each state."""
    actor.require("read", "contacts")
    counts: dict[int, dict[str, int]] = {}
    for run_id, state, n in session.execute(select(MailMessage.run_id, MailMessage.state, func.count())
                                            .group_by(MailMessage.run_id, MailMessage.state)):
        counts.setdefault(run_id, {})[state] = n
    return [_run_row(r, counts.get(r.id, {})) for r in session.scalars(select(MailRun).order_by(MailRun.id))]


def run_record(session, actor: Actor, run_id: int) -> dict[str, Any]:
    """One mail run as `list_runs` shows it, with who was skipped and why."""
    actor.require("read", "contacts")
    run = session.get(MailRun, run_id)
    if run is None:
        raise NotFound(f"there is no mail run {run_id}; `backoffice mail runs` lists them", field="id")
    counts = dict(session.execute(select(MailMessage.state, func.count()).where(MailMessage.run_id == run_id)
                                  .group_by(MailMessage.state)).all())
    return {**_run_row(run, counts), "skipped_contacts": list(run.skipped)}


def run_transport(db: Database, actor: Actor, run_id: int) -> str:
    """The transport a run was started with (read in its own session: a unit of work open
    around it holds SQLite's write lock until it ends)."""
    actor.require("read", "contacts")
    with db.reading() as reading:
        run = reading.get(MailRun, run_id)
    if run is None:
        raise BackofficeError(f"there is no mail run {run_id}; `backoffice mail runs` lists them")
    return run.transport


def preview(db: Database, settings: Settings, actor: Actor, template: str, selection: str, options: dict[str, Any],
            limit: int | None = None) -> dict[str, Any]:
    """A dry run: the messages rendered as .eml files (and the letters as one document) in
    `<output_dir>/previews/<template>-<login>/` (each person's own: two people previewing one
    template never clear each other's), to open and check; nothing is sent or stored.

    It refuses what the merge would refuse before sending (a field no recipient has), and
    reports every message that would fail, with the contact and why (`problems`); the
    previews of the others are written. Earlier previews in the folder are removed first, so
    what is there is this dry run's. `earlier`: the same merge run earlier today (a merge
    would need --again)."""
    actor.require("read", "contacts")
    mail = MailTemplate.load(template)
    with db.reading() as session:
        recipients, skipped = select_recipients(session, actor, settings, selection, options)
        earlier = earlier_today(session, template, selection, options)
    check_template(mail, selection, [r.context for r in recipients])
    folder = preview_folder(settings, actor, template)
    _clear_previews(folder)
    drafts, problems, written = OutboxTransport(folder), [], 0
    emails = [r for r in recipients if r.email]
    letters = [r for r in recipients if not r.email]
    for n, recipient in enumerate(emails[:limit] if limit else emails, start=1):
        try:
            letter = render_letter(template, recipient.context) if has_letter(template) else None
            drafts.send(_build(settings, template, mail, recipient, f"<preview.{n}.c{recipient.contact_id}@preview>",
                               letter))
            written += 1
        except BackofficeError as refused:
            reason, kind, where = why_not_built(refused, recipient)
            problems.append({"contact_id": recipient.contact_id, "name": recipient.name, "error": reason,
                             "kind": kind, "field": where})
        except TransportError as refused:
            problems.append({"contact_id": recipient.contact_id, "name": recipient.name, "error": refused.reason,
                             "kind": refused.kind, "field": ""})
    if letters:
        print_batch(template, [r.context for r in letters], folder / "letters.docx", pdf=False)
    return {"template": template, "selection": selection, "emails": len(emails), "letters": len(letters),
            "previews": written, "folder": str(folder), "problems": problems, "earlier": earlier,
            "skipped": [{"contact_id": s.contact_id, "name": s.name, "reason": s.reason} for s in skipped]}


def _clear_previews(folder: Path) -> None:
    """Remove an earlier dry run's previews (only the files a dry run writes)."""
    if folder.is_dir():
        for old in [*folder.glob("*.eml"), folder / "letters.docx"]:
            old.unlink(missing_ok=True)


# -- the previews of a dry run, handed out (the HTTP API's downloads) ---------------------------

PREVIEW_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,199}$")


def _plain_name(name: str, field: str) -> str:
    """A template or file name that names nothing but itself: no folder, no `..`, not hidden."""
    if not PREVIEW_NAME.match(name or "") or ".." in name:
        raise ValidationFailed([Problem(field, "invalid", f"{name!r} is not a {field.replace('_', ' ')} name: a "
                                        "preview is named by its file name alone, as the list of previews gives it")])
    return name


def preview_folder(settings: Settings, actor: Actor, template: str) -> Path:
    """Where `actor`'s dry runs of `template` write their previews (their own folder)."""
    return Path(settings.output_dir) / "previews" / f"{_plain_name(template, 'template')}-{actor.login}"


def preview_files(settings: Settings, actor: Actor, template: str) -> list[dict[str, Any]]:
    """The previews `actor`'s last dry run of `template` wrote: name and size of each."""
    actor.require("read", "contacts")
    folder = preview_folder(settings, actor, template)
    found = sorted([*folder.glob("*.eml"), folder / "letters.docx"]) if folder.is_dir() else []
    return [{"name": f.name, "bytes": f.stat().st_size} for f in found if f.is_file()]


def preview_file(settings: Settings, actor: Actor, template: str, name: str) -> Path:
    """One preview of `actor`'s last dry run of `template`: only a file of that folder (a name
    reaching outside it is refused, whatever it is spelt with)."""
    actor.require("read", "contacts")
    folder = preview_folder(settings, actor, template).resolve()
    path = (folder / _plain_name(name, "file")).resolve()
    if path.parent != folder or not path.is_file() or path.suffix not in (".eml", ".docx"):
        raise NotFound(f"there is no preview {name!r} of {template}: a dry run (`mail merge --dry-run`) writes "
                       "them, and the list of previews names them", field="file")
    return path
