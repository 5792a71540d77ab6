"""Who a mail merge goes to, on a real SQLite file and a real PostgreSQL: customers with
invoices overdue more than N days (with the invoices and their open amounts), contacts with
a tag, contacts listed in a workbook sheet. Opted-out contacts are left out and listed; a
contact without e-mail gets a printed letter; the permissions of the sender are checked."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import docx
import openpyxl
import pytest

from engine.contacts import services as contacts
from engine.errors import BackofficeError, PermissionDenied, UnusableInput
from engine.mailmerge.letters import print_batch
from engine.mailmerge.message import Outgoing, build_message
from engine.mailmerge.recipients import OPTED_OUT, UNREACHABLE, Recipient, Skipped, select
from engine.mailmerge.templates import MailTemplate
from engine.sheets.exporting import new_workbook
from tests.conftest import actor_with
from tests.integration.mail_customers import ALEX, AS_OF, customers  # noqa: F401  (the fixture)

SENDER = {"name": "Widget Works", "email": "accounts@widget.example", "address": ["9 Mill Lane", "YORK", "YO1 7HH"]}


def _select(db, selection, actor=ALEX, **options):
    with db.reading() as session:
        return select(session, actor, selection, **options)


def test_customers_more_than_n_days_overdue_get_their_overdue_invoices(customers):  # noqa: F811
    db, ids = customers
    recipients, skipped = _select(db, "overdue", days=30, as_of=AS_OF, currency="EUR", sender=SENDER,
                                  from_country="GB")
    assert [r.name for r in recipients] == ["Acme Ltd", "Dana Wong"]            # Bolt is only 5 days late
    acme, dana = recipients
    assert (acme.contact_id, acme.email, dana.email) == (ids["acme"], "accounts@acme.example", None)
    assert [(i["number"], i["due_on"], i["days_overdue"], i["open_amount"]) for i in acme.context["invoices"]] == [
        (ids["acme_invoices"][0], date(2026, 3, 1), 64, D("1000.42")),
        (ids["acme_invoices"][1], date(2026, 4, 1), 33, D("150")),      # paid after 4 May: still open then
    ]
    assert all(isinstance(i["open_amount"], D) for i in acme.context["invoices"])
    assert acme.context["total_overdue"] == D("1150.42") and acme.context["currency"] == "EUR"
    assert acme.context["invoices"][0]["issued_on"] == date(2026, 1, 5)
    assert acme.context["address"] == ["Acme Ltd", "1 High St", "LEEDS", "LS1 4AP"]       # no country at home
    assert dana.context["address"] == ["Dana Wong", "502 S Spring St", "Springfield 62706", "UNITED STATES"]
    assert acme.context["contact"] | {} == acme.context["contact"]
    assert {k: acme.context["contact"][k] for k in ("name", "email", "country", "organisation", "kind")} == {
        "name": "Acme Ltd", "email": "accounts@acme.example", "country": "GB", "organisation": "Acme Ltd",
        "kind": "organisation"}
    assert dana.context["contact"]["first_name"] == "Dana" and dana.context["contact"]["last_name"] == "Wong"
    assert acme.context["sender"]["name"] == "Widget Works" and acme.context["today"] == date.today()
    assert sorted((s.name, s.reason) for s in skipped) == [("Cog SARL", OPTED_OUT), ("Eve Ltd", UNREACHABLE)]
    assert all(isinstance(s, Skipped) and s.contact_id for s in skipped)


def test_the_overdue_threshold_and_date_decide_who_is_selected(customers):  # noqa: F811
    db, ids = customers
    recipients, _ = _select(db, "overdue", days=0, as_of=AS_OF)
    assert [r.name for r in recipients] == ["Acme Ltd", "Bolt GmbH", "Dana Wong"]
    recipients, _ = _select(db, "overdue", days=63, as_of=AS_OF)     # Acme's first invoice is 64 days late
    assert [(r.name, len(r.context["invoices"])) for r in recipients] == [("Acme Ltd", 1), ("Dana Wong", 1)]
    assert _select(db, "overdue", days=64, as_of=AS_OF) == ([], [])
    recipients, _ = _select(db, "overdue", days=30, as_of=date(2026, 5, 25))    # Acme paid the rest on 20 May
    acme = next(r for r in recipients if r.name == "Acme Ltd")
    assert [i["open_amount"] for i in acme.context["invoices"]] == [D("1000.42")]
    with pytest.raises(BackofficeError, match="cannot be below 0"):
        _select(db, "overdue", days=-1)


def test_contacts_with_a_tag(customers):  # noqa: F811
    db, ids = customers
    recipients, skipped = _select(db, "tag", tag="VIP ")
    assert [(r.name, r.email) for r in recipients] == [("Acme Ltd", "accounts@acme.example"), ("Dana Wong", None)]
    assert recipients[0].context["tag"] == "vip"                     # Fox is tagged "vipers", not "vip"
    assert [(s.name, s.reason) for s in skipped] == [("Cog SARL", OPTED_OUT)]
    with pytest.raises(BackofficeError, match="name one tag"):
        _select(db, "tag", tag="vip, customer")


def test_contacts_chosen_by_id_in_the_order_given_each_once(customers):  # noqa: F811
    """The add-in's selected rows: ids as selected, a repeated one once, an unknown one left out."""
    from engine.mailmerge.recipients import selection_of

    db, ids = customers
    name, options = selection_of(f"contacts:{ids['dana']},{ids['acme']},{ids['dana']},99999,{ids['cog']}", 30, None)
    assert (name, options["ids"][:2]) == ("contacts", [ids["dana"], ids["acme"]])
    recipients, skipped = _select(db, name, **options)
    assert [r.name for r in recipients] == ["Dana Wong", "Acme Ltd"]
    assert [(s.contact_id, s.reason) for s in skipped] == [(99999, "there is no contact 99999"),
                                                           (ids["cog"], OPTED_OUT)]
    with pytest.raises(BackofficeError, match="name contacts by their ids"):
        selection_of("contacts:acme", 30, None)
    with pytest.raises(BackofficeError, match="over 5000"):
        _select(db, "contacts", ids=list(range(1, 5002)))


def test_contacts_listed_in_a_contacts_workbook(customers, tmp_path):  # noqa: F811
    db, ids = customers
    path = tmp_path / "contacts.xlsx"
    new_workbook(db, ALEX, "contacts", path)
    recipients, skipped = _select(db, "sheet", path=path, sheet="Organisations")
    assert [r.name for r in recipients] == ["Acme Ltd", "Bolt GmbH", "Fox Supplies"]   # in the sheet's order
    assert recipients[0].context["row"]["Name"] == "Acme Ltd" and recipients[0].context["sheet"] == "Organisations"
    assert sorted((s.name, s.reason) for s in skipped) == [("Cog SARL", OPTED_OUT), ("Eve Ltd", UNREACHABLE)]
    recipients, _ = _select(db, "sheet", path=path, sheet="People")
    assert [(r.contact_id, r.email) for r in recipients] == [(ids["dana"], None)]
    recipients, skipped = _select(db, "sheet", path=path, sheet="Addresses")   # by their Contact column (names)
    assert [r.name for r in recipients] == ["Acme Ltd", "Bolt GmbH", "Dana Wong", "Fox Supplies"]
    assert recipients[0].context["row"]["City"] == "Leeds"
    with pytest.raises(UnusableInput, match="no sheet 'Nope'; its sheets are Organisations, People, Addresses"):
        _select(db, "sheet", path=path, sheet="Nope")


def test_contacts_listed_in_any_sheet_by_a_contact_id_column(customers, tmp_path):  # noqa: F811
    db, ids = customers
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Invited"
    sheet.append(["Contact ID", "Seats", "Event date"])
    for row in ([ids["bolt"], 2, date(2026, 6, 1)], [f"#{ids['acme']}", 1, None], [None, None, None],
                ["abc", 1, None], [99999, 1, None], [ids["bolt"], 5, None], [ids["cog"], 1, None]):
        sheet.append(row)
    path = tmp_path / "invited.xlsx"
    book.save(path)
    recipients, skipped = _select(db, "sheet", path=path, sheet="Invited")
    assert [r.name for r in recipients] == ["Bolt GmbH", "Acme Ltd"]
    assert recipients[0].context["row"] == {"Contact ID": ids["bolt"], "Seats": 2, "Event date": date(2026, 6, 1)}
    reasons = [s.reason for s in skipped]
    assert "Invited row 5: 'abc' is not a contact ID" in reasons
    assert "Invited row 6: there is no contact 99999" in reasons
    assert f"Invited row 7: contact {ids['bolt']} is listed already in row 2; they get one letter" in reasons
    assert OPTED_OUT in reasons and len(reasons) == 4

    sheet.title = "People"                     # an "ID" column counts only in a Contacts workbook
    sheet["A1"] = "ID"
    book.save(path)
    with pytest.raises(UnusableInput, match="no 'Contact ID' column.*ID column of a Contacts workbook"):
        _select(db, "sheet", path=path, sheet="People")
    with pytest.raises(UnusableInput, match="no sheet 'Invited'; its sheets are People"):
        _select(db, "sheet", path=path, sheet="Invited")


def test_a_hostile_workbook_is_refused_before_it_is_read(customers, tmp_path):  # noqa: F811
    db, ids = customers
    book = openpyxl.Workbook()
    book.active.title = "Invited"
    book.active.append(["Contact ID"])
    book.active.append([ids["acme"]])
    good = tmp_path / "good.xlsx"
    book.save(good)
    bomb = tmp_path / "bomb.xlsx"       # the same workbook with an XML entity bomb in its workbook part
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            target.writestr(item, data)
    with pytest.raises(UnusableInput, match="entity"):
        _select(db, "sheet", path=bomb, sheet="Invited")
    old = tmp_path / "old.xls"
    old.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 2048)
    with pytest.raises(UnusableInput, match=r"\.xls|Excel"):
        _select(db, "sheet", path=old, sheet="Invited")
    macros = tmp_path / "macros.xlsm"
    shutil.copy(good, macros)
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(macros, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
            target.writestr(item, data)
    with pytest.raises(UnusableInput, match="macros"):
        _select(db, "sheet", path=macros, sheet="Invited")


def test_selections_are_checked(customers):  # noqa: F811
    db, _ = customers
    with pytest.raises(BackofficeError, match="needs the quality module"):
        _select(db, "suppliers-with-nonconformances")
    with pytest.raises(BackofficeError, match="no selection 'everyone'"):
        _select(db, "everyone")
    with pytest.raises(BackofficeError, match="has no option dayz; it takes days, as_of, currency"):
        _select(db, "overdue", dayz=30)
    with pytest.raises(BackofficeError, match="needs a workbook and a sheet name"):
        _select(db, "sheet", path="x.xlsx")


def test_the_senders_roles_must_read_contacts_and_for_overdue_the_ledger(customers):  # noqa: F811
    db, _ = customers
    with pytest.raises(PermissionDenied):
        _select(db, "tag", actor=actor_with(login="nobody"), tag="vip")
    warehouse = actor_with("warehouse", login="wes")
    with pytest.raises(PermissionDenied):
        _select(db, "overdue", actor=warehouse, days=30, as_of=AS_OF)
    assert [r.name for r in _select(db, "tag", actor=warehouse, tag="vip")[0]] == ["Acme Ltd", "Dana Wong"]


def test_a_merge_from_selection_to_messages_and_printed_letters(customers, tmp_path):  # noqa: F811
    """What the run does with a selection: an e-mail for those with an address, one printed
    batch for the others."""
    db, ids = customers
    with db.unit_of_work(ALEX) as session:
        contacts.update_contact(session, ALEX, ids["acme"], 1, {"name": "<script>alert(1)</script> & Co"})
    recipients, _ = _select(db, "overdue", days=30, as_of=AS_OF, currency="EUR", sender=SENDER, from_country="GB")
    template = MailTemplate.load("overdue_reminder")
    mailed: list[Recipient] = [r for r in recipients if r.email]
    for recipient in mailed:
        subject, html, text = template.render(recipient.context)
        message = build_message(Outgoing(sender=SENDER["email"], sender_name=SENDER["name"], to=recipient.email,
                                         to_name=recipient.name, subject=subject, text=text, html=html,
                                         message_id=f"<r{recipient.contact_id}@widget.example>"))
        html_part = message.get_body(("html",)).get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html_part and "<script>" not in html_part
        assert "1,150.42 EUR" in message.get_body(("plain",)).get_content()
    letters = [r.context for r in recipients if r.email is None]
    out, pdf = print_batch("overdue_reminder", letters, tmp_path / "letters.docx")
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert "Dana Wong\n502 S Spring St\nSpringfield 62706\nUNITED STATES" in text
    assert "75.25 EUR" in text and pdf is None
    assert Path(out).is_file()
