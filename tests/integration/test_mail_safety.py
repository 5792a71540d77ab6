"""Mail merge fails safe, on a real SQLite file and a real PostgreSQL, through the command line
(in-process) and the real transports (the outbox, SMTP to aiosmtpd on loopback):

- a name a header cannot carry (U+2028, U+2029, CR LF, an escape) fails that message alone,
  naming the contact and the field; the run finishes with the others sent and no header is
  injected; once the contact is corrected, resume sends it;
- a dry run reports each message that would fail and exits 1, writing the others' previews;
- resume tries again what failed for a reason since fixed (the sender setting), never a
  recipient the server refused for good, and says what it tried again;
- a field no recipient has (in the subject, the body or the letter) stops the merge, and a
  resume, before anything is sent or stored;
- the same merge twice in a day is refused, naming the earlier run, unless --again.
"""

from __future__ import annotations

import email
from email.policy import default as parsed

import docx
import pytest
import sqlalchemy as sa

from engine.contacts import services as contacts
from engine.contacts.models import Contact
from engine.mailmerge.models import MailMessage
from tests.integration.mail_cli import (  # noqa: F401  (the fixtures)
    ALEX,
    _templates,
    backoffice,
    readers,
    refusal_of,
    report_of,
    runs,
)
from tests.mail_servers import SmtpServer

MERGE = ("mail", "merge", "announcement", "--to", "tag:news")


def rename_behind_the_rules(db, contact_id: int, name: str) -> None:
    """A name as it may have come in before names were checked (or from an import): stored
    as it is, past the contact rules."""
    with db.unit_of_work(ALEX) as session:
        session.execute(sa.update(Contact).where(Contact.id == contact_id).values(name=name))


def correct(db, contact_id: int, name: str) -> None:
    with db.unit_of_work(ALEX) as session:
        contact = session.get(Contact, contact_id)
        contacts.update_contact(session, ALEX, contact_id, contact.version, {"name": name})


def smtp(server: SmtpServer) -> dict[str, str]:
    return {"BACKOFFICE_MAIL__SMTP__HOST": "127.0.0.1", "BACKOFFICE_MAIL__SMTP__PORT": str(server.port),
            "BACKOFFICE_MAIL__SMTP__SECURITY": "none"}


def messages(db) -> dict[str, MailMessage]:
    with db.reading() as session:
        return {m.address: m for m in session.scalars(sa.select(MailMessage).order_by(MailMessage.id))}


# -- 1. a name a header cannot carry -------------------------------------------------------------

@pytest.mark.parametrize(("bad", "named"), [("\u2028", "U+2028 LINE SEPARATOR"),
                                            ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
                                            ("\r\n", "U+000D"), ("\x1b", "U+001B")])
def test_a_name_a_header_cannot_carry_fails_alone_and_the_run_finishes_with_the_others_sent(
        db, readers, backoffice, bad, named):  # noqa: F811
    ids = readers("Ada", "Cy", "Ben")
    rename_behind_the_rules(db, ids["Cy"], f"Cy{bad}Bcc: everyone@example.net")
    with SmtpServer() as server:
        report = report_of(backoffice(*MERGE, "--via", "smtp", "--json", **smtp(server)), 1)
        assert (report["sent"], report["status"], report["left"]) == (2, "finished", 0)
        [failed] = report["failed"]
        assert (failed["contact_id"], failed["kind"], failed["field"], failed["permanent"]) == (
            ids["Cy"], "data", "to_name", True)
        assert "recipient name" in failed["error"] and named in failed["error"]
        assert "contact.name" in failed["error"]                      # the merge field it came from
        assert sorted(r for d in server.deliveries for r in d.rcpt_tos) == ["ada@example.org", "ben@example.org"]
        for delivery in server.deliveries:                              # no header was injected
            got = email.message_from_bytes(delivery.content, policy=parsed)
            assert got["Bcc"] is None and "everyone@example.net" not in delivery.content.decode("ascii", "replace")
        stored = messages(db)["cy@example.org"]
        assert (stored.state, stored.failure, stored.error) == ("failed", "data", failed["error"])

        # Not tried again as it is ...
        again = report_of(backoffice("mail", "resume", str(report["run_id"]), "--json", **smtp(server)), 0)
        assert (again["sent"], again["retried"], again["failed"]) == (0, [], [])
        # ... but once the contact is corrected, resume sends it.
        correct(db, ids["Cy"], "Cy Jones")
        fixed = report_of(backoffice("mail", "resume", str(report["run_id"]), "--json", **smtp(server)), 0)
        assert (fixed["sent"], [r["contact_id"] for r in fixed["retried"]], fixed["status"]) == (
            1, [ids["Cy"]], "finished")
        assert fixed["retried"][0]["kind"] == "data"
        assert sorted(r for d in server.deliveries for r in d.rcpt_tos) == [
            "ada@example.org", "ben@example.org", "cy@example.org"]
    assert messages(db)["cy@example.org"].state == "sent"


def test_a_subject_merged_from_a_name_with_a_line_separator_fails_alone_in_the_outbox(
        db, readers, backoffice, tmp_path, monkeypatch):  # noqa: F811
    ids = readers("Ada", "Cy")
    rename_behind_the_rules(db, ids["Cy"], "Cy\u2028Subject: hello")
    templates = _templates(tmp_path, monkeypatch)
    (templates / "mail" / "announcement" / "subject.txt").write_text("News for {{ contact.name }}\n")
    report = report_of(backoffice(*MERGE, "--json"), 1)
    assert (report["sent"], report["status"]) == (1, "finished")
    [failed] = report["failed"]
    assert (failed["contact_id"], failed["kind"]) == (ids["Cy"], "data")
    assert "LINE SEPARATOR" in failed["error"] and "contact.name" in failed["error"]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


# -- 2. a dry run tells which messages would fail ----------------------------------------------

def test_a_dry_run_names_each_message_that_would_fail_writes_the_others_and_exits_1(
        db, readers, backoffice, tmp_path):  # noqa: F811
    ids = readers("Ada", "Cy", "Ben")
    rename_behind_the_rules(db, ids["Cy"], "Cy\u2028Lee")
    folder = tmp_path / "out" / "previews" / "announcement-alex"
    folder.mkdir(parents=True)
    (folder / "stale.eml").write_text("from an earlier dry run")

    shown = report_of(backoffice(*MERGE, "--dry-run", "--json"), 1)
    assert [(p["contact_id"], p["kind"], p["field"]) for p in shown["problems"]] == [(ids["Cy"], "data", "to_name")]
    assert "LINE SEPARATOR" in shown["problems"][0]["error"]
    assert (shown["emails"], shown["previews"]) == (3, 2)
    written = {email.message_from_bytes(p.read_bytes(), policy=parsed)["To"].addresses[0].addr_spec
               for p in folder.glob("*.eml")}
    assert written == {"ada@example.org", "ben@example.org"}          # the stale preview is gone
    assert runs(db) == [] and not (tmp_path / "outbox").exists()

    text = backoffice(*MERGE, "--dry-run")
    assert text.exit_code == 1
    assert f"would fail: Cy\\u2028Lee (contact {ids['Cy']}), data:" in text.stderr
    assert "3 e-mails and 0 letters would be made, 1 e-mails would fail" in text.stdout


def test_a_dry_run_in_which_every_message_would_fail_says_so_and_exits_1(db, readers, backoffice, tmp_path):  # noqa: F811
    ids = readers("Ada", "Ben")
    shown = report_of(backoffice(*MERGE, "--dry-run", "--json", BACKOFFICE_MAIL__SENDER=""), 1)
    assert sorted(p["contact_id"] for p in shown["problems"]) == sorted(ids.values())
    assert all(p["kind"] == "configuration" and "mail.sender" in p["error"] for p in shown["problems"])
    assert shown["previews"] == 0
    assert list((tmp_path / "out" / "previews" / "announcement-alex").glob("*.eml")) == []
    assert runs(db) == []


# -- 3. resume tries again what failed for a reason since fixed ----------------------------------

def test_resume_retries_what_failed_for_the_sender_setting_but_not_a_refused_recipient(db, readers, backoffice):  # noqa: F811
    ids = readers("Ada", "Ben", "Refused")
    with SmtpServer() as server:
        first = report_of(backoffice(*MERGE, "--via", "smtp", "--json", BACKOFFICE_MAIL__SENDER="", **smtp(server)), 1)
        assert (first["sent"], first["status"], first["left"]) == (0, "running", 3)
        assert {(f["kind"], f["field"], f["permanent"]) for f in first["failed"]} == {
            ("configuration", "mail.sender", False)}
        assert server.deliveries == []

        fixed = report_of(backoffice("mail", "resume", str(first["run_id"]), "--json", **smtp(server)), 1)
        assert {r["contact_id"]: r["kind"] for r in fixed["retried"]} == dict.fromkeys(ids.values(), "configuration")
        assert all("mail.sender" in r["error"] for r in fixed["retried"])
        assert (fixed["sent"], fixed["status"], fixed["left"]) == (2, "finished", 0)
        [refused] = fixed["failed"]
        assert (refused["contact_id"], refused["kind"], refused["permanent"]) == (ids["Refused"], "refused", True)
        assert "550" in refused["error"]
        assert sorted(r for d in server.deliveries for r in d.rcpt_tos) == ["ada@example.org", "ben@example.org"]

        text = backoffice("mail", "resume", str(first["run_id"]), **smtp(server))
        assert text.exit_code == 0 and "tried again" not in text.stdout    # a refusal for good stays
        assert len(server.deliveries) == 2
    stored = messages(db)
    assert {a: (m.state, m.failure) for a, m in stored.items()} == {
        "ada@example.org": ("sent", None), "ben@example.org": ("sent", None),
        "refused@example.org": ("failed", "refused")}


def test_resume_says_which_failed_messages_it_tried_again(db, readers, backoffice):  # noqa: F811
    readers("Ada")
    first = report_of(backoffice(*MERGE, "--json", BACKOFFICE_MAIL__SENDER=""), 1)
    text = backoffice("mail", "resume", str(first["run_id"]))
    assert text.exit_code == 0, text.stderr
    assert "tried again 1 that had failed (the reason they had failed then):" in text.stdout and "Ada (contact" in text.stdout
    assert "configuration: set mail.sender" in text.stdout


# -- 4. a field no recipient has --------------------------------------------------------------

def test_a_field_no_recipient_has_stops_the_merge_before_anything_is_sent_or_stored(
        db, readers, backoffice, tmp_path, monkeypatch):  # noqa: F811
    readers("Ada", "Ben")
    templates = _templates(tmp_path, monkeypatch)
    folder = templates / "mail" / "announcement"
    (folder / "subject.txt").write_text("News for {{ contact.nmae }}\n")
    (folder / "body.txt").write_text((folder / "body.txt").read_text() + "\nRegion: {{ row.Region }}\n")
    letter = docx.Document(templates / "letters" / "announcement.docx")
    letter.add_paragraph("For {{ contact.organisaton }}")
    letter.save(templates / "letters" / "announcement.docx")

    with SmtpServer() as server:
        refused = refusal_of(backoffice(*MERGE, "--via", "smtp", "--json", **smtp(server)), 2)
        assert [(p["field"], p["code"]) for p in refused["problems"]] == [
            ("subject", "unknown_field"), ("body", "unknown_field"), ("letter", "unknown_field")]
        said = [p["message"] for p in refused["problems"]]
        assert "announcement/subject.txt line 1" in said[0] and "`contact.nmae`" in said[0]
        assert "announcement/body.txt line" in said[1] and "`row`" in said[1]
        assert "letters/announcement.docx" in said[2] and "`contact.organisaton`" in said[2]
        assert "contact.name" in refused["error"]                   # the fields there are
        assert server.deliveries == [] and runs(db) == []

        dry = refusal_of(backoffice(*MERGE, "--dry-run", "--json"), 2)
        assert [p["field"] for p in dry["problems"]] == ["subject", "body", "letter"]
        assert not (tmp_path / "out" / "previews" / "announcement-alex").exists()


def test_a_field_misspelt_after_a_run_began_stops_its_resume_before_anything_more_is_sent(
        db, readers, backoffice, tmp_path, monkeypatch):  # noqa: F811
    readers("Ada", "Ben", "Cy")
    templates = _templates(tmp_path, monkeypatch)
    first = report_of(backoffice(*MERGE, "--limit", "1", "--json"), 0)
    assert (first["sent"], first["left"]) == (1, 2)
    (templates / "mail" / "announcement" / "body.txt").write_text("Dear {{ contact.nmae }},\n")
    refused = refusal_of(backoffice("mail", "resume", str(first["run_id"]), "--json"), 2)
    assert [(p["field"], p["code"]) for p in refused["problems"]] == [("body", "unknown_field")]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert sorted(m.state for m in messages(db).values()) == ["pending", "pending", "sent"]


# -- 5. the same merge twice in a day -----------------------------------------------------------

def test_the_same_merge_twice_in_a_day_is_refused_naming_the_earlier_run_unless_again(
        db, readers, backoffice, tmp_path):  # noqa: F811
    readers("Ada", "Ben")
    first = report_of(backoffice(*MERGE, "--json"), 0)
    assert first["sent"] == 2

    refused = refusal_of(backoffice(*MERGE, "--json"), 2)
    [problem] = refused["problems"]
    assert (problem["field"], problem["code"]) == ("again", "repeated_merge")
    assert f"run {first['run_id']} at " in problem["message"] and "2 sent" in problem["message"]
    assert "--again" in problem["message"] and "by alex via outbox" in problem["message"]
    assert len(runs(db)) == 1 and len(list((tmp_path / "outbox").glob("*.eml"))) == 2

    text = backoffice(*MERGE)
    assert text.exit_code == 2 and "already merged to tag (tag news) today" in text.stderr

    preview = report_of(backoffice(*MERGE, "--dry-run", "--json"), 0)       # a dry run only warns
    assert [e["run_id"] for e in preview["earlier"]] == [first["run_id"]]

    readers("Other")
    with db.unit_of_work(ALEX) as session:
        other = session.scalar(sa.select(Contact).where(Contact.name == "Other"))
        contacts.update_contact(session, ALEX, other.id, other.version, {"tags": "other"})
    assert report_of(backoffice("mail", "merge", "announcement", "--to", "tag:other", "--json"), 0)["sent"] == 1

    again = report_of(backoffice(*MERGE, "--again", "--json"), 0)
    assert (again["sent"], again["status"]) == (2, "finished") and again["run_id"] != first["run_id"]
    assert len(runs(db)) == 3


# -- runs recorded before failures had kinds ------------------------------------------------------

def test_the_upgrade_gives_earlier_failures_their_kind_so_an_empty_sender_is_retried(db, readers, backoffice):  # noqa: F811
    """A run that failed for the empty sender before kinds were recorded was stored as failed
    for good; after `db upgrade` it is configuration, and resume sends it."""
    from alembic import command

    from engine.db import migrate

    ids = readers("Ada", "Refused")
    command.downgrade(migrate.alembic_config(db.engine), "0009")
    now = sa.func.now() if db.engine.dialect.name == "postgresql" else sa.text("CURRENT_TIMESTAMP")
    run = sa.table("mail_runs", *(sa.column(c) for c in ("id", "template", "selection", "options", "transport",
                                                         "status", "started_by", "skipped", "version",
                                                         "created_at", "updated_at", "updated_by")))
    message = sa.table("mail_messages", *(sa.column(c) for c in (
        "run_id", "contact_id", "channel", "address", "name", "state", "error", "permanent", "attempts", "version",
        "created_at", "updated_at", "updated_by")))
    with db.engine.begin() as conn:
        conn.execute(run.insert().values(id=1, template="announcement", selection="tag", options='{"tag": "news"}',
                                         transport="outbox", status="running", started_by="alex", skipped="[]",
                                         version=1, created_at=now, updated_at=now, updated_by="alex"))
        for name, error in (("Ada", "set mail.sender (the From address) before sending: BACKOFFICE_MAIL__SENDER"),
                            ("Refused", "smtp refused the recipient (550 5.1.1 User unknown)")):
            conn.execute(message.insert().values(
                run_id=1, contact_id=ids[name], channel="email", address=f"{name.lower()}@example.org", name=name,
                state="failed", error=error, permanent=True, attempts=1, version=1, created_at=now, updated_at=now,
                updated_by="alex"))
    command.upgrade(migrate.alembic_config(db.engine), "head")
    assert {a: (m.failure, m.permanent) for a, m in messages(db).items()} == {
        "ada@example.org": ("configuration", False), "refused@example.org": ("refused", True)}

    resumed = report_of(backoffice("mail", "resume", "1", "--json"), 0)
    assert ([r["contact_id"] for r in resumed["retried"]], resumed["sent"], resumed["status"]) == (
        [ids["Ada"]], 1, "finished")
