"""The CRM on SQLite and PostgreSQL: interactions (a contact's history newest first, the
follow-ups due by owner, changed by their owner only); opportunities through their stages,
closed ones final; the pipeline's weighted values and the won/lost figures; a bad
`crm.stages` refused on first use; a won opportunity made a draft invoice through the
ledger's bridge, refused in another currency or with the ledger off; every e-mail and letter
of a mail run logged once, to the outbox and to a real SMTP server, a resumed run logging
nothing twice; and the commands printing what the queries give."""

from __future__ import annotations

import email
import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from email.policy import default

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app
from engine.cli import app as cli_app
from engine.config import CrmSettings, Settings, SettingsError
from engine.contacts import services as contacts
from engine.contacts.models import Contact
from engine.crm import queries, services
from engine.crm.models import Interaction, Opportunity
from engine.errors import PermissionDenied, ValidationFailed
from engine.ledger.chart import install_chart
from engine.ledger.models import Invoice, InvoiceLine
from engine.mailmerge.models import MailMessage, MailRun
from engine.mailmerge.runs import process_run, start_run
from engine.security.roles import SYSTEM
from engine.security.users import add_user
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from tests.integration.conftest import column_letter, edit_by_label, find_row, read_sheet
from tests.mail_servers import SmtpServer

DAY = date(2026, 3, 2)


@pytest.fixture
def crm(people_db, actor_for):
    """people_db with mia (manager) and alex (accountant), the default chart; `crm.acme` is
    Acme Ltd's id, `crm.bolt` Bolt GmbH's, `crm.as_(login)` an actor."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "mia", "Mia", ["manager"], None)
        add_user(session, SYSTEM, "alex", "Alex", ["accountant"], None)
        install_chart(session, SYSTEM)
        ids = dict(session.execute(sa.select(Contact.name, Contact.id)).all())
    people_db.acme, people_db.bolt, people_db.as_ = ids["Acme Ltd"], ids["Bolt GmbH"], actor_for
    return people_db


def test_a_contacts_history_is_newest_first_and_follow_ups_are_due_by_owner(crm):
    sam, mia = crm.as_("sam"), crm.as_("mia")
    with crm.unit_of_work(sam) as session:
        first = services.add_interaction(session, sam, {"contact_id": crm.acme, "kind": "call", "summary": "asked",
                                                        "occurred_on": date(2026, 3, 1),
                                                        "follow_up_on": date(2026, 3, 5)})
        services.add_interaction(session, mia, {"contact_id": crm.acme, "kind": "Meeting", "summary": " visit ",
                                                "occurred_on": DAY, "follow_up_on": date(2026, 3, 4)})
        services.add_interaction(session, sam, {"contact_id": crm.bolt, "kind": "note", "summary": "later",
                                                "occurred_on": DAY, "follow_up_on": date(2026, 4, 1)})
    with crm.unit_of_work(sam) as session:
        history = queries.history(session, sam, crm.acme)
        assert [(h["kind"], h["summary"], h["owner"]) for h in history] == [("meeting", "visit", "mia"),
                                                                            ("call", "asked", "sam")]
        assert [f["summary"] for f in queries.follow_ups(session, sam, date(2026, 3, 31))] == ["visit", "asked"]
        assert [f["summary"] for f in queries.follow_ups(session, sam, date(2026, 3, 31), "sam")] == ["asked"]
        assert queries.follow_ups(session, sam, date(2026, 3, 3)) == []
        # done: its follow-up cleared by its owner; another's is not theirs to change
        services.update_interaction(session, sam, first.id, None, {"follow_up_on": None})
        with pytest.raises(PermissionDenied):
            services.update_interaction(session, mia, first.id, None, {"summary": "mine now"})
        with pytest.raises(ValidationFailed) as refused:
            services.add_interaction(session, sam, {"contact_id": 999, "kind": "fax", "summary": "x",
                                                    "owner": "nobody"})
        assert {(p.field, p.code) for p in refused.value.problems} == {
            ("contact_id", "reference"), ("kind", "invalid"), ("owner", "reference")}
    with crm.unit_of_work(sam) as session:
        assert [f["summary"] for f in queries.follow_ups(session, sam, date(2026, 3, 31), "sam")] == []
        with pytest.raises(PermissionDenied):   # the warehouse reads contacts but writes no CRM record
            services.add_interaction(session, crm.as_("wes"), {"contact_id": crm.acme, "kind": "call",
                                                               "summary": "x"})
        services.delete_interaction(session, crm.as_("ada"), first.id, None)   # an administrator may
    with crm.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 2


def test_opportunities_move_through_their_stages_and_closed_ones_are_final(crm):
    sam, mia = crm.as_("sam"), crm.as_("mia")
    with crm.unit_of_work(sam) as session:
        add = lambda **v: services.add_opportunity(session, sam, {"contact_id": crm.acme, "title": "Bolts", **v})  # noqa: E731
        lead = add(value=D("1000.10"))
        proposal = add(stage="proposal", value=D(3000), owner="mia")
        dollars = add(stage="proposal", value=D("400"), currency="usd")
        nego = add(stage="negotiation", value=D("200"), owner="mia")
        lost = add(stage="qualified", value=D("999"))
        assert (lead.stage, lead.currency, lead.owner) == ("lead", "EUR", "sam")
        services.update_opportunity(session, sam, lead.id, None, {"stage": "qualified"})
        services.win_opportunity(session, mia, nego.id, on=date(2026, 3, 10))
        with pytest.raises(ValidationFailed) as no_reason:
            services.lose_opportunity(session, sam, lost.id, "  ")
        assert [(p.field, p.code) for p in no_reason.value.problems] == [("lost_reason", "lost_reason")]
        services.lose_opportunity(session, sam, lost.id, "price", on=date(2026, 3, 12))
    with crm.unit_of_work(sam) as session:
        assert session.get(Opportunity, nego.id).closed_on == date(2026, 3, 10)
        for reopen in ({"stage": "proposal"}, {"stage": "won"}, {"value": D(1)}):
            with pytest.raises(ValidationFailed) as closed:
                services.update_opportunity(session, sam, lost.id, None, reopen)
            assert ("stage", "closed") in {(p.field, p.code) for p in closed.value.problems}
        with pytest.raises(ValidationFailed) as unknown:
            services.update_opportunity(session, sam, proposal.id, None, {"stage": "maybe", "currency": "EUX"})
        assert {(p.field, p.code) for p in unknown.value.problems} == {("stage", "unknown_stage"),
                                                                        ("currency", "unknown_currency")}

        by_stage = queries.pipeline(session, sam)
        assert [(r["stage"], r["currency"], r["count"], r["value"], r["weighted"]) for r in by_stage] == [
            ("qualified", "EUR", 1, D("1000.1"), D("250.02")), ("proposal", "EUR", 1, D(3000), D("1500.00")),
            ("proposal", "USD", 1, D(400), D("200.00"))]
        by_owner = queries.pipeline(session, sam, "owner")
        assert [(r["owner"], r["currency"], r["count"], r["weighted"]) for r in by_owner] == [
            ("mia", "EUR", 1, D("1500.00")), ("sam", "EUR", 1, D("250.02")), ("sam", "USD", 1, D("200.00"))]
        assert [r["stage"] for r in queries.pipeline(session, sam, owner="mia")] == ["proposal"]
        figures = queries.won_lost(session, sam, date(2026, 3, 1), date(2026, 3, 31))
        assert (figures["won"], figures["lost"], figures["win_rate"]) == (1, 1, D("0.5"))
        assert figures["by_currency"] == [{"currency": "EUR", "won_count": 1, "won_value": D(200), "lost_count": 1,
                                           "lost_value": D(999)}]
        assert queries.won_lost(session, sam, date(2026, 4, 1), date(2026, 4, 30))["win_rate"] is None
        assert queries.opportunity(session, sam, dollars.id)["weighted"] == D("200.00")
        assert queries.opportunity(session, sam, nego.id)["weighted"] is None     # closed: not in the pipeline

    crm.crm = CrmSettings(stages=["lead:10", "lead:50", "won:100", "lost:0"])
    with crm.unit_of_work(sam) as session, pytest.raises(SettingsError) as bad:
        queries.pipeline(session, sam)
    assert bad.value.field == "crm.stages"


def test_a_won_opportunity_becomes_a_draft_invoice_in_the_base_currency_only(crm):
    alex, sam = crm.as_("alex"), crm.as_("sam")
    with crm.unit_of_work(alex) as session:
        euros = services.add_opportunity(session, alex, {"contact_id": crm.acme, "title": "Bolt contract",
                                                         "stage": "negotiation", "value": D("1250.50")})
        dollars = services.add_opportunity(session, alex, {"contact_id": crm.bolt, "title": "Nuts",
                                                           "value": D(10), "currency": "USD"})
        services.win_opportunity(session, alex, euros.id, on=DAY, invoice=True)
    with crm.unit_of_work(alex) as session:
        won = session.get(Opportunity, euros.id)
        invoice = session.get(Invoice, won.invoice_id)
        [line] = session.scalars(sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        assert (invoice.kind, invoice.status, invoice.contact_id, invoice.issued_on) == ("sales", "draft", crm.acme, DAY)
        assert (line.description, line.quantity, line.unit_price, line.account_code, line.tax_rate) == (
            "Bolt contract", D(1), D("1250.50"), "4100", D(0))
    with pytest.raises(ValidationFailed) as foreign, crm.unit_of_work(alex) as session:
        services.win_opportunity(session, alex, dollars.id, invoice=True)
    assert [(p.field, p.code) for p in foreign.value.problems] == [("currency", "not_base_currency")]
    with crm.unit_of_work(sam) as session:
        assert session.get(Opportunity, dollars.id).stage == "lead"       # nothing saved
        euros_again = services.add_opportunity(session, sam, {"contact_id": crm.acme, "title": "More", "value": D(5)})
    with pytest.raises(PermissionDenied), crm.unit_of_work(sam) as session:
        services.win_opportunity(session, sam, euros_again.id, invoice=True)   # sales may not write the ledger
    with app.started(["contacts", "crm", "mailmerge"]):
        with pytest.raises(ValidationFailed) as off, crm.unit_of_work(alex) as session:
            services.win_opportunity(session, alex, euros_again.id, invoice=True)
        assert [(p.field, p.code) for p in off.value.problems] == [("invoice", "ledger_off")]
    with crm.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 1
        assert session.get(Opportunity, euros_again.id).stage == "lead"


# -- mail merge --------------------------------------------------------------------------------

@pytest.fixture
def readers(crm):
    """Three contacts tagged `news`: two with an e-mail address, one with a postal address only."""
    with crm.unit_of_work(SYSTEM, source="system") as session:
        for name, email in (("Ada Reader", "ada@example.org"), ("Ben Reader", "ben@example.org"),
                            ("Cy Reader", None)):
            contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": name, "country": "GB",
                                                   "email": email, "tags": "news"},
                                 [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP",
                                   "country": "GB"}])
    return crm


def mail_settings(database_url, tmp_path, **mail) -> Settings:
    return Settings(database_url=database_url, output_dir=tmp_path / "out",
                    mail={"sender": "office@widget.example", "outbox_dir": str(tmp_path / "outbox"), **mail})


def logged(db):
    with db.reading() as session:
        return session.execute(sa.select(Contact.name, Interaction.kind, Interaction.owner, Interaction.mail_run_id,
                                         Interaction.message_id)
                               .join(Contact, Contact.id == Interaction.contact_id).order_by(Contact.name)).all()


def test_every_e_mail_and_letter_of_a_mail_run_is_logged_once(readers, database_url, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.mailmerge.runs.soffice", lambda: None)     # the .docx alone: no PDF wanted here
    sam, settings = readers.as_("sam"), mail_settings(database_url, tmp_path)
    run_id = start_run(readers, settings, sam, "announcement", "tag", {"tag": "news"}, "outbox")
    first = process_run(readers, settings, sam, run_id, limit=1)
    assert (first.sent, first.left) == (1, 2)
    assert [(n, k) for n, k, *_ in logged(readers)] == [("Ada Reader", "email")]
    rest = process_run(readers, settings, sam, run_id)
    assert (rest.sent, rest.printed, rest.status) == (1, 1, "finished")
    process_run(readers, settings, sam, run_id)      # resumed once more: nothing sent, nothing logged twice
    with readers.reading() as session:
        ids = dict(session.execute(sa.select(MailMessage.name, MailMessage.message_id)).all())
    assert logged(readers) == [("Ada Reader", "email", "sam", run_id, ids["Ada Reader"]),
                               ("Ben Reader", "email", "sam", run_id, ids["Ben Reader"]),
                               ("Cy Reader", "letter", "sam", run_id, None)]
    with readers.unit_of_work(sam) as session:
        [ada] = queries.history(session, sam, session.scalar(sa.select(Contact.id).where(Contact.name == "Ada Reader")))
        assert ada["summary"] == f"announcement sent by e-mail (mail run {run_id})"
        with pytest.raises(ValidationFailed) as kept:
            services.delete_interaction(session, sam, ada["id"], None)
        assert [(p.field, p.code) for p in kept.value.problems] == [("summary", "logged")]
        services.log_mailed(session, contact_id=ada["contact_id"], channel="email", run_id=run_id,   # heard again
                            message_id=ada["message_id"], template="announcement", sent_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                            started_by="sam")
    assert len(logged(readers)) == 3


def test_e_mails_sent_through_a_real_smtp_server_are_logged_with_their_message_id(readers, database_url, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setattr("engine.mailmerge.runs.soffice", lambda: None)
    sam = readers.as_("sam")
    with SmtpServer() as server:
        settings = mail_settings(database_url, tmp_path, transport="smtp", per_minute=100_000,
                                 smtp={"host": "127.0.0.1", "port": server.port, "security": "none"})
        run_id = start_run(readers, settings, sam, "announcement", "tag", {"tag": "news"}, "smtp")
        assert process_run(readers, settings, sam, run_id).sent == 2
        delivered = sorted(server.deliveries, key=lambda d: d.rcpt_tos[0])
    sent_ids = [email.message_from_bytes(d.content, policy=default)["Message-ID"] for d in delivered]
    assert [m for _, kind, _, _, m in logged(readers) if kind == "email"] == sent_ids


# -- the commands ------------------------------------------------------------------------------

def cli(db, login: str, *args: str, code: int = 0):
    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli_app, ["--database-url", url, *args, "--json", "--user", login])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout if code == 0 else result.stderr)


def test_the_commands_record_and_show_what_the_queries_give(crm):
    added = cli(crm, "sam", "crm", "interaction", "add", str(crm.acme), "--kind", "call", "--summary", "quote",
                "--on", "2026-03-01", "--follow-up", "2026-03-04")
    assert (added["owner"], added["contact"], added["follow_up_on"]) == ("sam", "Acme Ltd", "2026-03-04")
    assert cli(crm, "sam", "crm", "follow-ups", "--due", "2026-03-04")[0]["id"] == added["id"]
    url = crm.engine.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(cli_app, ["--database-url", url, "crm", "follow-ups", "--due", "2026-03-04",
                                         "--user", "sam"]).stdout
    assert "2026-03-04" in shown and "2026-03-01" in shown       # when it is due, and what it follows up
    cli(crm, "sam", "crm", "interaction", "change", str(added["id"]), "--done")
    assert cli(crm, "sam", "crm", "follow-ups", "--due", "2026-03-04") == []
    assert [h["id"] for h in cli(crm, "sam", "crm", "history", str(crm.acme))] == [added["id"]]

    opp = cli(crm, "alex", "crm", "opportunity", "add", str(crm.acme), "--title", "Bolts", "--value", "2,000",
              "--stage", "proposal")
    assert (opp["value"], opp["currency"], opp["weighted"], opp["probability"]) == ("2000.00", "EUR", "1000.00", "50")
    assert cli(crm, "sam", "crm", "pipeline")[0] == {"stage": "proposal", "currency": "EUR", "count": 1,
                                                     "value": "2000.00", "weighted": "1000.00", "probability": "50"}
    shown = CliRunner().invoke(cli_app, ["--database-url", url, "crm", "pipeline", "--user", "sam"]).stdout
    assert "2,000.00" in shown and "1,000.00" in shown       # money as every other command shows it
    refused = cli(crm, "alex", "crm", "opportunity", "lose", str(opp["id"]), "--reason", "", code=1)
    assert refused["problems"][0]["code"] == "lost_reason"
    won = cli(crm, "alex", "crm", "opportunity", "win", str(opp["id"]), "--on", "2026-03-02", "--invoice")
    assert won["stage"] == "won" and won["closed_on"] == "2026-03-02" and won["invoice_id"]
    figures = cli(crm, "sam", "crm", "won-lost", "--from", "2026-03-01", "--to", "2026-03-31")
    assert (figures["won"], figures["win_rate"]) == (1, "1.0000")
    assert [o["id"] for o in cli(crm, "sam", "crm", "opportunity", "list", "--open")] == []


# -- the CRM workbook --------------------------------------------------------------------------

def test_the_crm_workbook_round_trip_goes_through_the_crm_rules_marked_at_their_cells(crm, settings, tmp_path):
    sam = crm.as_("sam")
    with crm.unit_of_work(SYSTEM, source="system") as session:
        services.add_opportunity(session, SYSTEM, {"contact_id": crm.bolt, "title": "Nuts", "value": D(800),
                                                   "owner": "mia", "stage": "qualified"})
        services.log_mailed(session, contact_id=crm.acme, channel="email", run_id=_a_run(session), message_id="<m1@x>",
                            template="announcement", sent_at=datetime(2026, 3, 1, tzinfo=UTC), started_by="sam")
    path = tmp_path / "crm.xlsx"
    new_workbook(crm, sam, "crm", path)
    book = openpyxl.load_workbook(path)
    assert [s for s in book.sheetnames if not s.startswith("_")] == [
        "Organisations", "People", "E-mails", "Phones", "Interactions", "Opportunities", "Pipeline"]
    assert read_sheet(path, "Pipeline")[1][:5] == ["qualified", "EUR", 1, 800, 200]
    logged_row = find_row(path, "Interactions", "Message-ID", "<m1@x>")
    assert book["Interactions"][f"{column_letter(path, 'Interactions', 'Summary')}{logged_row}"].protection.locked

    trip = RoundTrip(crm, settings, sam)
    talk = len(read_sheet(path, "Interactions")) + 1
    edit_by_label(path, "Interactions", talk, {"Contact": "Acme Ltd", "Kind": "meeting", "Date": DAY,
                                               "Summary": "visited", "Follow up": date(2026, 3, 1)})
    deal = len(read_sheet(path, "Opportunities")) + 1
    edit_by_label(path, "Opportunities", deal, {"Contact": "Acme Ltd", "Title": "Bolts", "Stage": "maybe",
                                                "Value": 1000, "Currency": "EUX"})
    result = trip.sync(path)
    assert result.status == "rejected"
    found = {(p.code, p.cell) for p in result.problems}
    assert found == {("before_occurred", f"{column_letter(path, 'Interactions', 'Follow up')}{talk}"),
                     ("unknown_stage", f"{column_letter(path, 'Opportunities', 'Stage')}{deal}"),
                     ("unknown_currency", f"{column_letter(path, 'Opportunities', 'Currency')}{deal}")}, found

    edit_by_label(path, "Interactions", talk, {"Follow up": date(2026, 3, 9)})
    edit_by_label(path, "Opportunities", deal, {"Stage": "proposal", "Currency": None})
    assert trip.sync(path).status == "applied"
    with crm.reading() as session:
        bolts = session.scalars(sa.select(Opportunity).where(Opportunity.title == "Bolts")).one()
        visit = session.scalars(sa.select(Interaction).where(Interaction.summary == "visited")).one()
    assert (bolts.stage, bolts.currency, bolts.owner, bolts.value) == ("proposal", "EUR", "sam", D(1000))
    assert (visit.owner, visit.follow_up_on) == ("sam", date(2026, 3, 9))
    assert [r[:5] for r in read_sheet(path, "Pipeline")[1:]] == [["qualified", "EUR", 1, 800, 200],
                                                                 ["proposal", "EUR", 1, 1000, 500]]

    row = find_row(path, "Opportunities", "Title", "Bolts")
    edit_by_label(path, "Opportunities", row, {"Stage": "lost"})                       # no reason given
    [problem] = trip.sync(path).problems
    assert (problem.code, problem.cell) == ("lost_reason", f"{column_letter(path, 'Opportunities', 'Lost reason')}{row}")
    edit_by_label(path, "Opportunities", row, {"Lost reason": "price"})
    assert trip.sync(path).status == "applied"
    with crm.reading() as session:
        assert (session.get(Opportunity, bolts.id).stage, session.get(Opportunity, bolts.id).closed_on) == (
            "lost", date.today())


def _a_run(session) -> int:
    run = MailRun(template="announcement", selection="tag news", options={}, transport="outbox", status="finished",
                  started_by="sam", updated_by="sam")
    session.add(run)
    session.flush()
    return run.id


# -- over HTTP ---------------------------------------------------------------------------------

def test_the_crm_routes_answer_what_the_commands_print_with_etags_and_problem_details(crm, api):
    sam, mia, alex = api.as_("sam"), api.as_("mia"), api.as_("alex")
    made = api.post("/crm/interactions", json={"contact_id": crm.acme, "kind": "call", "summary": "quote",
                                               "occurred_on": "2026-03-01", "follow_up_on": "2026-03-04"}, headers=sam)
    assert made.status_code == 201 and made.headers["ETag"] == '"1"'
    talk = made.json()
    assert api.get(f"/crm/contacts/{crm.acme}/interactions", headers=mia).json()["items"] == [talk]
    assert api.get("/crm/follow-ups", params={"due_by": "2026-03-04", "owner": "sam"}, headers=mia).json()[
        "items"] == cli(crm, "mia", "crm", "follow-ups", "--due", "2026-03-04", "--owner", "sam")
    theirs = api.patch(f"/crm/interactions/{talk['id']}", json={"summary": "mine"}, headers={**mia, "If-Match": '"1"'})
    assert theirs.status_code == 403 and theirs.json()["code"] == "permission"
    assert api.delete(f"/crm/interactions/{talk['id']}", headers={**sam, "If-Match": '"1"'}).status_code == 204

    deal = api.post("/crm/opportunities", json={"contact_id": crm.acme, "title": "Bolts", "value": "1200.50",
                                                "stage": "qualified"}, headers=sam).json()
    assert (deal["value"], deal["currency"], deal["weighted"]) == ("1200.50", "EUR", "300.12")
    stale = api.patch(f"/crm/opportunities/{deal['id']}", json={"stage": "proposal"}, headers={**sam, "If-Match": '"7"'})
    assert stale.status_code == 412
    moved = api.patch(f"/crm/opportunities/{deal['id']}", json={"stage": "proposal"}, headers={**sam, "If-Match": '"1"'})
    assert moved.status_code == 200 and moved.headers["ETag"] == '"2"' and moved.json()["stage"] == "proposal"
    assert api.get("/crm/pipeline", headers=mia).json()["items"] == cli(crm, "mia", "crm", "pipeline")
    no_reason = api.post(f"/crm/opportunities/{deal['id']}/lose", json={}, headers=sam)
    assert no_reason.status_code == 422
    assert [(p["field"], p["code"]) for p in no_reason.json()["problems"]] == [("lost_reason", "lost_reason")]
    won = api.post(f"/crm/opportunities/{deal['id']}/win", json={"on": "2026-03-02", "invoice": True}, headers=alex)
    assert won.status_code == 200 and won.json()["invoice_id"] and won.json()["closed_on"] == "2026-03-02"
    reopened = api.patch(f"/crm/opportunities/{deal['id']}", json={"stage": "lead"},
                         headers={**sam, "If-Match": won.headers["ETag"]})
    assert reopened.status_code == 422 and reopened.json()["problems"][0]["code"] == "closed"
    assert api.get("/crm/won-lost", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=mia).json() == cli(
        crm, "mia", "crm", "won-lost", "--from", "2026-03-01", "--to", "2026-03-31")
    assert api.get(f"/crm/opportunities/{deal['id']}", headers=mia).json() == cli(
        crm, "mia", "crm", "opportunity", "show", str(deal["id"]))
