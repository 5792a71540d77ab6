"""Mail runs and Word reports over HTTP: a dry run's previews downloaded (and nothing outside
the caller's preview folder), a merge started once per Idempotency-Key and resumed, the runs
listed; a report answered as a .docx that python-docx opens, its temporary file gone."""

from __future__ import annotations

import email
import io
import tempfile
from email.policy import default as parsed
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.contacts import services as contacts
from engine.mailmerge.models import MailMessage, MailRun
from engine.security.roles import SYSTEM

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def settings(database_url, tmp_path):
    """The server's settings: its output folder and outbox in the test's folder."""
    return Settings(database_url=database_url, output_dir=tmp_path / "out",
                    mail={"sender": "office@widget.example", "sender_name": "Widget Works",
                          "outbox_dir": str(tmp_path / "outbox")})


@pytest.fixture
def readers(people_db):
    """Three organisations tagged `news`, each with an e-mail address."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        for name in ("Ada", "Ben", "Cy"):
            contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": f"{name} Ltd", "country": "GB",
                                                   "email": f"{name.lower()}@example.org", "tags": "news"},
                                 [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP",
                                   "country": "GB"}])
    return people_db


def count(db, model) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_dry_run_over_http_writes_previews_the_caller_downloads_and_nothing_else(api, readers, tmp_path):
    sam = api.as_("sam")
    shown = api.post("/mail/runs", json={"template": "announcement", "to": "tag:news", "dry_run": True}, headers=sam)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["emails"], body["previews"], body["problems"]) == (3, 3, [])
    assert str(tmp_path) not in shown.text                  # the server's folders are not told
    assert count(readers, MailRun) == 0                      # a dry run stores nothing
    listed = api.get(body["previews_url"], headers=sam).json()["files"]
    assert [f["url"] for f in listed] == [f["url"] for f in body["files"]] and len(listed) == 3

    got = api.get(listed[0]["url"], headers=sam)
    assert got.status_code == 200 and got.headers["content-type"].startswith("message/rfc822")
    draft = email.message_from_bytes(got.content, policy=parsed)
    assert draft["X-Unsent"] == "1" and draft["To"].addresses[0].addr_spec.endswith("@example.org")

    (tmp_path / "out" / "secret.eml").write_text("not yours")
    for name in ("..%2Fsecret.eml", "..%2F..%2Fsecret.eml", "%2E%2E", ".hidden.eml", "..%5Csecret.eml"):
        refused = api.get(f"/mail/previews/announcement/{name}", headers=sam)
        assert refused.status_code in (404, 422), (name, refused.status_code)
        assert refused.headers["content-type"] == "application/problem+json" and "not yours" not in refused.text
    assert api.get("/mail/previews/announcement/..%2F..%2Fsecret.eml", headers=sam).json()["problems"][0][
        "code"] == "invalid"
    assert api.get("/mail/previews/..%2Fout/secret.eml", headers=sam).status_code in (404, 422)
    # another person's previews are their own: ada has none of this template
    assert api.get(listed[0]["url"].replace("announcement", "announcement"), headers=api.as_("ada")).status_code == 404
    assert api.get("/mail/previews/announcement", headers=api.as_("ada")).json()["files"] == []


def test_a_merge_started_with_an_idempotency_key_runs_once_and_is_resumed_over_http(api, readers, tmp_path):
    sam = {**api.as_("sam"), "Idempotency-Key": "news-1"}
    started = api.post("/mail/runs", json={"template": "announcement", "to": "tag:news", "limit": 2}, headers=sam)
    assert started.status_code == 201, started.text
    report = started.json()
    assert (report["sent"], report["left"], report["status"]) == (2, 1, "running")
    again = api.post("/mail/runs", json={"template": "announcement", "to": "tag:news", "limit": 2}, headers=sam)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["run_id"] == report["run_id"] and count(readers, MailRun) == 1
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2

    run_id = report["run_id"]
    read = api.get(f"/mail/runs/{run_id}", headers=api.as_("sam"))
    assert read.status_code == 200 and read.headers["ETag"] == f'"{read.json()["version"]}"'
    assert read.json()["messages"] == {"sent": 2, "pending": 1}
    rest = api.post(f"/mail/runs/{run_id}/resume", headers=api.as_("sam"))
    assert rest.status_code == 200 and (rest.json()["sent"], rest.json()["status"]) == (1, "finished")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3
    with readers.reading() as session:
        assert {m.state for m in session.scalars(sa.select(MailMessage))} == {"sent"}
    runs = api.get("/mail/runs", headers=api.as_("sam")).json()
    assert [r["id"] for r in runs["items"]] == [run_id]

    # the same merge again today is refused by the runs' rule, and nothing is stored
    repeat = api.post("/mail/runs", json={"template": "announcement", "to": "tag:news"}, headers=api.as_("sam"))
    assert repeat.status_code >= 400 and count(readers, MailRun) == 1
    # a workbook selection names a file on the server: not offered over HTTP
    sheet = api.post("/mail/runs", json={"template": "announcement", "to": "sheet:/etc/passwd#x", "dry_run": True},
                     headers=api.as_("sam"))
    assert sheet.status_code == 422 and sheet.json()["problems"][0]["field"] == "to"
    assert api.post("/mail/runs", json={"template": "announcement", "to": "tag:news"},
                    headers=api.as_("wes")).status_code == 403
    assert count(readers, MailRun) == 1


def test_a_report_downloads_as_a_docx_python_docx_opens_and_its_temporary_file_is_gone(api, people_db):
    offered = api.get("/reports", headers=api.as_("ada")).json()["items"]
    assert {"name": "staff", "module": "staff", "options": ["year"]}.items() <= next(r for r in offered if r["name"] == "staff").items()
    before = set(Path(tempfile.gettempdir()).glob("backoffice-report-*"))
    got = api.post("/reports/staff", json={"year": 2026}, headers=api.as_("ada"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == DOCX
    assert got.headers["content-disposition"] == 'attachment; filename="staff-2026.docx"'
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(got.content)).paragraphs)
    assert "2026" in text
    assert set(Path(tempfile.gettempdir()).glob("backoffice-report-*")) == before
    refused = api.post("/reports/staff", json={"year": 2026}, headers=api.as_("sam"))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert api.post("/reports/nonsense", headers=api.as_("ada")).status_code == 404
    bad = api.post("/reports/pack", json={"period": "2026-13"}, headers=api.as_("ada"))
    assert bad.status_code in (400, 422) and bad.json()["problems"][0]["field"] == "period", bad.text
    wrong = api.post("/reports/pack", json={"year": 2026}, headers=api.as_("ada"))
    assert wrong.status_code in (400, 422) and wrong.json()["problems"][0]["field"] == "year", wrong.text
