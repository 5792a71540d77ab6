"""The foundation commands, end to end: demo, users, contacts, audit, config, db."""

import itertools
from pathlib import Path

import pytest


def test_demo_fills_a_fresh_database_and_a_second_run_changes_nothing(backoffice):
    first = backoffice("demo", "--json")
    assert first.code == 0, first.stderr
    created = first.json()["created"]
    assert created["organisations"] >= 50 and created["people"] >= 100
    job = first.json()["main_job"]
    assert (job["status"], job["inserted"], job["updated"]) == ("applied", 1, 1)
    reminders = first.json()["reminders"]       # the overdue customers' reminders, as Outlook drafts
    drafts = sorted(Path(reminders["outbox"]).glob("*.eml"))
    assert reminders["sent"] >= 3 and len(drafts) == reminders["sent"]
    assert reminders["skipped"]                 # an opted-out customer: listed, not written to
    assert all(b"X-Unsent: 1" in d.read_bytes() for d in drafts)
    pack = first.json()["pack"]                 # the manager's monthly pack of the last month that has ended
    assert pack["for"] == "mia" and len(pack["sections"]) == 6 and not pack["left_out"], pack
    assert pack["period"] == "2026-07"          # the latest closed month of the demo's books
    import docx  # here: only this check reads the Word file

    written = docx.Document(str(Path(backoffice.cwd) / pack["file"]))
    assert written.paragraphs[0].text == "Backoffice Demo Ltd" and "Management pack" in written.paragraphs[1].text
    latest = backoffice("audit", "--limit", "8", "--json", user="admin").json()
    assert (latest[-1]["table"], latest[-1]["action"]) == ("installation", "demo")   # the demo marker comes last
    job = list(itertools.takewhile(lambda e: e["source"] == "workbook", reversed(latest[:-1])))
    assert {e["sheet"] for e in job} == {"People"}          # the job's contacts, and their lists' entries with them
    assert [e["table"] for e in job].count("contacts") == 2
    audit_rows = len(backoffice("audit", "--json", user="admin").json())
    again = backoffice("demo", "--json")
    assert again.code == 0 and again.json()["already_present"] is True
    assert len(backoffice("audit", "--json", user="admin").json()) == audit_rows
    countries = {c["country"] for c in backoffice("contacts", "list", "--json", user="stef").json()}
    assert len(countries) >= 5


# `--reset` on PostgreSQL is `migrate.reset`, tested on both databases in
# tests/integration/test_database.py; here, that the seeded demo comes back the same (two whole
# demos, 70 s on PostgreSQL) is checked once.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_reset_rebuilds_the_same_data(backoffice):
    backoffice("demo")
    before = backoffice("contacts", "list", "--json", user="mia").json()
    assert backoffice("demo", "--reset", "--yes", user="admin").code == 0
    assert backoffice("contacts", "list", "--json", user="mia").json() == before


def test_contacts_add_list_show_and_the_duplicate_warning(backoffice):
    backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin")
    added = backoffice("contacts", "add", "--kind", "organisation", "--name", "Müller GmbH",
                       "--country", "de", "--email", "Info@Mueller.example", "--line1", "Hauptstr. 1",
                       "--city", "Köln", "--postcode", "50667", "--json", user="ada")
    assert added.code == 0, added.stderr
    org = added.json()
    assert (org["country"], org["email"], org["possible_duplicates"]) == ("DE", "info@mueller.example", [])
    again = backoffice("contacts", "add", "--kind", "organisation", "--name", "MULLER",
                       "--country", "DE", "--postcode", "50 667", "--line1", "x", "--city", "Köln", user="ada")
    assert again.code == 0 and f"looks like #{org['id']}" in again.stderr
    person = backoffice("contacts", "add", "--kind", "person", "--first-name", "Jo", "--last-name", "Bauer",
                        "--organisation", str(org["id"]), "--country", "DE", "--json", user="ada").json()
    shown = backoffice("contacts", "show", str(person["id"]), "--json", user="ada").json()
    assert (shown["name"], shown["organisation"]) == ("Jo Bauer", "Müller GmbH")
    listed = backoffice("contacts", "list", "--kind", "person", "--json", user="ada").json()
    assert [c["name"] for c in listed] == ["Jo Bauer"]


def test_invalid_input_is_refused_with_every_problem_and_exit_1(backoffice):
    backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin")
    bad = backoffice("contacts", "add", "--kind", "organisation", "--name", "", "--country", "XX",
                     "--email", "not-an-address", user="ada")
    assert bad.code == 1
    for field in ("name", "country", "email"):
        assert field in bad.stderr
    assert backoffice("contacts", "list", "--json", user="ada").json() == []


def test_unknown_user_and_forbidden_action_are_refused_with_exit_2(backoffice):
    backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin")
    backoffice("users", "add", "stef", "--name", "Stef", "--role", "staff", user="ada")
    unknown = backoffice("contacts", "list", user="ghost")
    assert unknown.code == 2 and "'ghost' is not known" in unknown.stderr
    nobody = backoffice("contacts", "list")
    assert nobody.code == 2 and "BACKOFFICE_USER" in nobody.stderr
    forbidden = backoffice("contacts", "add", "--kind", "organisation", "--name", "X", "--country", "GB", user="stef")
    assert forbidden.code == 2 and "may not write contacts" in forbidden.stderr
    assert backoffice("users", "list", user="stef").code == 2
    via_env = backoffice("users", "list", "--json", extra_env={"BACKOFFICE_USER": "ada"})
    assert [u["login"] for u in via_env.json()] == ["ada", "stef"]


def test_audit_filters_by_table_record_and_date(backoffice):
    backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin")
    org = backoffice("contacts", "add", "--kind", "organisation", "--name", "Acme", "--country", "GB",
                     "--json", user="ada").json()
    rows = backoffice("audit", "--table", "contacts", "--record", str(org["id"]), "--json", user="ada").json()
    assert [(r["action"], r["actor"], r["source"]) for r in rows] == [("insert", "ada", "cli")]
    assert backoffice("audit", "--since", "2999-01-01", "--json", user="ada").json() == []
    bad = backoffice("audit", "--since", "yesterday", user="ada")
    assert bad.code == 2 and "YYYY-MM-DD" in bad.stderr


def test_config_show_masks_secrets_and_the_flag_wins(backoffice):
    shown = backoffice("--database-url", "sqlite:///flag.db", "config", "show", "--json",
                       extra_env={"BACKOFFICE_SMTP_PASSWORD": "hunter2"})
    data = shown.json()
    assert data["smtp_password"] == "********" and "hunter2" not in shown.stdout
    assert data["database_url"] == "sqlite:///flag.db"


def test_db_status_and_upgrade(backoffice):
    assert backoffice("db", "upgrade").code == 0
    status = backoffice("db", "status", "--json").json()
    assert status["state"] == "up to date" and status["current"] == status["head"]
