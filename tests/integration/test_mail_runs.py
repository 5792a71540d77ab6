"""Mail runs on a real SQLite file and a real PostgreSQL: reminders to the overdue customers
written to the outbox (parsed back with the `email` parser), a printed letter for the one
without an address, the opted-out listed; a run resumed sends nothing twice; a recipient the
SMTP server refuses fails alone; the per-transport rate limit; sends audited on the contact."""

from __future__ import annotations

import email
import time
from email.policy import default as parsed
from pathlib import Path

import docx
import sqlalchemy as sa

from engine.contacts import services as contacts
from engine.db.audit import AuditEntry
from engine.mailmerge.models import MailMessage, MailRun
from engine.mailmerge.runs import preview, process_run, start_run
from engine.mailmerge.transports import make_transport
from engine.mailmerge.transports.outbox import OutboxTransport
from engine.office.docx import soffice
from tests.integration.conftest import ACCOUNTANT
from tests.integration.mail_customers import AS_OF, customers  # noqa: F401  (the fixture)
from tests.integration.mail_settings import settings_for  # noqa: F401  (the fixture)
from tests.mail_servers import SmtpServer

ALEX = ACCOUNTANT
OVERDUE = {"days": 30, "as_of": AS_OF.isoformat()}


def drafts(folder: Path) -> dict[str, email.message.EmailMessage]:
    return {p.name: email.message_from_bytes(p.read_bytes(), policy=parsed) for p in sorted(folder.glob("*.eml"))}


def rows(db, run_id):
    with db.reading() as session:
        return {m.name: m for m in session.scalars(sa.select(MailMessage).where(MailMessage.run_id == run_id))}


def test_reminders_go_to_the_outbox_once_with_a_letter_for_the_customer_without_e_mail(
        customers, settings_for, tmp_path):  # noqa: F811
    db, ids = customers
    settings = settings_for()
    run_id = start_run(db, settings, ALEX, "overdue_reminder", "overdue", OVERDUE, "outbox")
    report = process_run(db, settings, ALEX, run_id)
    assert (report.sent, report.printed, report.failed, report.status) == (1, 1, [], "finished")
    assert {s["name"]: s["reason"] for s in report.skipped} == {"Cog SARL": "opted out",
                                                                "Eve Ltd": "no e-mail address and no postal address"}

    [(name, draft)] = drafts(tmp_path / "outbox").items()
    stored = rows(db, run_id)
    acme = stored["Acme Ltd"]
    assert (acme.state, acme.attempts, acme.address) == ("sent", 1, "accounts@acme.example")
    assert draft["Message-ID"] == acme.message_id and name == acme.message_id.strip("<>").split("@")[0] + ".eml"
    assert draft["X-Unsent"] == "1" and draft["To"].addresses[0].addr_spec == "accounts@acme.example"
    assert draft["From"].addresses[0].display_name == "Widget Works"
    text, html = draft.get_body(("plain",)).get_content(), draft.get_body(("html",)).get_content()
    for number in ids["acme_invoices"]:
        assert number in text and number in html
    [letter] = list(draft.iter_attachments())
    assert letter.get_filename() == "overdue_reminder.docx" and letter.get_content()[:2] == b"PK"

    assert stored["Dana Wong"].state == "printed"
    printed = docx.Document(report.printed_file)
    assert "Dana Wong" in "\n".join(p.text for p in printed.paragraphs)
    if soffice():   # and the same letters as a PDF, where LibreOffice is installed (CI installs it)
        assert Path(report.printed_pdf).read_bytes()[:5] == b"%PDF-"

    with db.reading() as session:
        mailed = session.execute(sa.select(AuditEntry.record_id, AuditEntry.actor)
                                 .where(AuditEntry.action == "mailed").order_by(AuditEntry.record_id)).all()
    assert mailed == [(ids["acme"], "alex"), (ids["dana"], "alex")]

    again = process_run(db, settings, ALEX, run_id)       # resuming a finished run sends nothing
    assert (again.sent, again.printed) == (0, 0)
    assert len(drafts(tmp_path / "outbox")) == 1


def _newsletter_readers(db, names):
    with db.unit_of_work(ALEX) as session:
        for name in names:
            contacts.add_contact(session, ALEX, {"kind": "organisation", "name": name, "country": "GB",
                                                 "email": f"{name.lower()}@example.org", "tags": "news"},
                                 [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP",
                                   "country": "GB"}])


def test_a_limited_run_is_resumed_where_it_stopped_and_an_interrupted_send_is_not_repeated(
        customers, settings_for, tmp_path):  # noqa: F811
    db, _ids = customers
    _newsletter_readers(db, ["Ada", "Ben", "Cy", "refused"])
    settings = settings_for()
    run_id = start_run(db, settings, ALEX, "announcement", "tag", {"tag": "news"}, "outbox")
    first = process_run(db, settings, ALEX, run_id, limit=2)
    assert (first.sent, first.left, first.status) == (2, 2, "running")
    # As if killed after the outbox took the third message but before its row said so:
    with db.unit_of_work(ALEX) as session:
        third = session.scalars(sa.select(MailMessage).where(MailMessage.run_id == run_id,
                                                             MailMessage.state == "pending")
                                .order_by(MailMessage.id)).first()
        third.state, third.message_id, third.attempts = "sending", f"<interrupted.{third.id}@widget.example>", 1
    OutboxTransport(tmp_path / "outbox").send(_already_written(third.message_id))
    rest = process_run(db, settings, ALEX, run_id)
    assert (rest.sent, rest.left, rest.status) == (2, 0, "finished")
    assert len(drafts(tmp_path / "outbox")) == 4            # one per reader, the interrupted one not twice
    assert {m.state for m in rows(db, run_id).values()} == {"sent"}
    assert rows(db, run_id)[third.name].attempts == 1      # the outbox held it: not handed over again


def _already_written(message_id):
    message = email.message.EmailMessage()
    message["Message-ID"] = message_id
    message.set_content("written before the interruption")
    return message


def test_a_recipient_the_server_refuses_fails_alone_and_is_not_retried(customers, settings_for, monkeypatch):  # noqa: F811
    db, _ids = customers
    _newsletter_readers(db, ["Ada", "refused", "Cy"])
    with SmtpServer() as server:
        settings = settings_for(transport="smtp", per_minute=600,
                                smtp={"host": "127.0.0.1", "port": server.port, "security": "none"})
        run_id = start_run(db, settings, ALEX, "announcement", "tag", {"tag": "news"}, "smtp")
        started = time.monotonic()
        report = process_run(db, settings, ALEX, run_id)
        took = time.monotonic() - started
        [failed] = report.failed
        assert failed["name"] == "refused" and failed["permanent"] and "550" in failed["error"]
        assert report.sent == 2 and report.status == "finished"   # a permanent failure is not "to do"
        delivered = {d.rcpt_tos[0]: d for d in server.deliveries}
        assert sorted(delivered) == ["ada@example.org", "cy@example.org"]
        stored = rows(db, run_id)
        for who in ("Ada", "Cy"):
            got = email.message_from_bytes(delivered[f"{who.lower()}@example.org"].content, policy=parsed)
            assert got["Message-ID"] == stored[who].message_id
        assert process_run(db, settings, ALEX, run_id).sent == 0
    assert took >= 2 * 0.1 * 0.9      # 600 a minute: a tenth of a second between messages


def test_a_dry_run_writes_previews_and_stores_nothing(customers, settings_for, tmp_path):  # noqa: F811
    db, _ids = customers
    shown = preview(db, settings_for(), ALEX, "overdue_reminder", "overdue", OVERDUE)
    assert (shown["emails"], shown["letters"], shown["problems"]) == (1, 1, [])
    assert len(list(Path(shown["folder"]).glob("*.eml"))) == 1 and (Path(shown["folder"]) / "letters.docx").exists()
    assert Path(shown["folder"]).name == f"overdue_reminder-{ALEX.login}"   # each person's own previews
    assert not (tmp_path / "outbox").exists()
    with db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MailRun)) == 0


def test_the_outbox_is_made_from_the_settings(settings_for, tmp_path):  # noqa: F811
    assert isinstance(make_transport(settings_for()), OutboxTransport)
