"""The `ews` transport: the real exchangelib talking SOAP over HTTP to a loopback stand-in
for Exchange 2016 (tests/ews_server.py), which checks each request and keeps a mailbox."""

from __future__ import annotations

import base64
import socket
from email import message_from_bytes, policy
from email.policy import SMTP

import pytest

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.message import Attachment, Outgoing, build_message
from engine.mailmerge.transports import TransportError, make_transport
from tests.ews_server import EwsServer, M, T

USER, PASSWORD, MAILBOX = "OFFICE\\mailer", "Winter:2026!", "letters@example.com"
LETTER = b"PK\x03\x04 a Word letter \x00\xff"


@pytest.fixture
def server():
    with EwsServer(USER, PASSWORD, MAILBOX) as ews:
        yield ews
        assert ews.problems == [], "requests Exchange would have refused"


def ews_settings(url: str, mode: str = "drafts", password: str | None = PASSWORD) -> Settings:
    return Settings(
        mail={"transport": "ews", "sender": MAILBOX, "sender_name": "Acme Letters",
              "ews": {"url": url, "username": USER, "mode": mode, "auth": "basic"}},
        ews_password=password,
    )


@pytest.fixture
def transport_for(server):
    made = []

    def make(mode: str = "drafts", password: str = PASSWORD, url: str | None = None):
        transport = make_transport(ews_settings(url or server.url, mode, password))
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def letter(to: str = "zoe@example.org", number: int = 1):
    return build_message(Outgoing(
        sender=MAILBOX, sender_name="Acme Letters", to=to, to_name="Zoë Brontë",
        subject=f"Ihre Bestellung Nr. {number} – Grüße", text=f"Dear Zoë,\nletter {number} is attached.\n",
        html=f"<p>Dear Zoë,</p><p>letter <b>{number}</b> is attached.</p>",
        attachments=(Attachment(f"letter-{number}.docx", LETTER),),
        message_id=f"<run7.{number}@backoffice.example.com>",
    ))


def mime_of(call) -> bytes:
    (item,) = call.element.find(f"{{{M}}}Items")
    return base64.b64decode(item.findtext(f"{{{T}}}MimeContent"), validate=True)


def folder_named(parent) -> str:
    (ref,) = list(parent)
    assert ref.tag == f"{{{T}}}DistinguishedFolderId"
    assert ref.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress") == MAILBOX
    return ref.get("Id")


def test_drafts_mode_saves_the_mime_message_unchanged_in_drafts(server, transport_for):
    message = letter()
    transport_for("drafts").send(message)

    assert server.operations() == ["GetFolder", "GetFolder", "CreateItem"]
    create = server.calls[-1]
    assert create.element.get("MessageDisposition") == "SaveOnly"
    assert folder_named(create.element.find(f"{{{M}}}SavedItemFolderId")) == "drafts"
    mime = mime_of(create)
    assert mime == message.as_bytes(policy=SMTP)
    got = message_from_bytes(mime, policy=policy.default)
    assert got["From"].addresses[0].addr_spec == MAILBOX
    assert str(got["To"]) == "Zoë Brontë <zoe@example.org>"
    assert got["Subject"] == "Ihre Bestellung Nr. 1 – Grüße"
    assert got["Message-ID"] == "<run7.1@backoffice.example.com>"
    assert got.get_body(("plain",)).get_content().splitlines() == ["Dear Zoë,", "letter 1 is attached."]
    assert got.get_body(("html",)).get_content().strip() == "<p>Dear Zoë,</p><p>letter <b>1</b> is attached.</p>"
    (attached,) = got.iter_attachments()
    assert attached.get_filename() == "letter-1.docx"
    assert attached.get_content() == LETTER
    assert len(server.mailbox.folder("drafts")) == 1
    assert server.logins_refused == 0  # Basic auth carried the configured user and password
    assert server.mailbox.outgoing == []  # a draft waits for a person: nothing left the building


def test_drafts_mode_looks_the_folders_up_once_for_a_whole_run(server, transport_for):
    transport = transport_for("drafts")
    for number in (1, 2, 3):
        transport.send(letter(number=number))

    assert server.operations() == ["GetFolder", "GetFolder", "CreateItem", "CreateItem", "CreateItem"]
    ids = [item.message["Message-ID"] for item in server.mailbox.folder("drafts")]
    assert ids == [f"<run7.{n}@backoffice.example.com>" for n in (1, 2, 3)]


def test_send_mode_sends_the_saved_draft_and_keeps_the_copy_in_sent_items(server, transport_for):
    message = letter()
    transport_for("send").send(message)

    assert server.operations() == ["GetFolder", "GetFolder", "GetFolder", "CreateItem", "SendItem"]
    create, send = server.calls[-2:]
    assert create.element.get("MessageDisposition") == "SaveOnly"
    assert folder_named(create.element.find(f"{{{M}}}SavedItemFolderId")) == "drafts"
    assert mime_of(create) == message.as_bytes(policy=SMTP)
    (sent_id,) = send.element.find(f"{{{M}}}ItemIds")
    assert (sent_id.get("Id"), sent_id.get("ChangeKey")) == ("item-1", "ck-1")  # what CreateItem answered
    assert send.element.get("SaveItemToFolder") == "true"
    assert folder_named(send.element.find(f"{{{M}}}SavedItemFolderId")) == "sentitems"
    (outgoing,) = server.mailbox.outgoing
    assert message_from_bytes(outgoing, policy=policy.default)["Message-ID"] == "<run7.1@backoffice.example.com>"
    assert server.mailbox.folder("drafts") == []
    assert len(server.mailbox.folder("sentitems")) == 1


@pytest.mark.parametrize(("fault", "permanent"), [("ErrorSchemaValidation", True), ("ErrorServerBusy", False)])
def test_a_soap_fault_fails_only_that_message(server, transport_for, fault, permanent):
    server.fault_for["bad@example.org"] = fault
    transport = transport_for("drafts")

    with pytest.raises(TransportError) as failed:
        transport.send(letter(to="bad@example.org", number=1))
    transport.send(letter(number=2))

    assert failed.value.permanent is permanent
    assert fault in failed.value.reason
    assert [c.answer for c in server.calls if c.operation == "CreateItem"] == [fault, "Success"]
    (draft,) = server.mailbox.folder("drafts")
    assert draft.message["Message-ID"] == "<run7.2@backoffice.example.com>"


def test_a_refused_recipient_is_permanent_its_draft_is_removed_and_the_next_message_goes(server, transport_for):
    server.refused.add("nobody@example.org")
    transport = transport_for("send")

    with pytest.raises(TransportError) as failed:
        transport.send(letter(to="nobody@example.org", number=1))
    transport.send(letter(number=2))

    assert failed.value.permanent is True
    assert "ErrorInvalidRecipients" in failed.value.reason
    assert server.operations()[3:] == ["CreateItem", "SendItem", "DeleteItem", "CreateItem", "SendItem"]
    assert [c.answer for c in server.calls[3:]] == ["Success", "ErrorInvalidRecipients", "Success", "Success", "Success"]
    assert server.mailbox.folder("drafts") == []  # no stray draft left for someone to send by hand
    (outgoing,) = server.mailbox.outgoing
    assert message_from_bytes(outgoing, policy=policy.default)["To"].addresses[0].addr_spec == "zoe@example.org"


def test_a_server_that_is_down_is_a_transient_failure(transport_for):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = transport_for("send", url=f"http://127.0.0.1:{port}/EWS/Exchange.asmx")

    with pytest.raises(TransportError) as failed:
        transport.send(letter())

    assert failed.value.permanent is False
    assert "could not be reached" in failed.value.reason


def test_a_wrong_password_is_a_clear_error_and_is_not_tried_again(server, transport_for):
    transport = transport_for("drafts", password="Summer:2025!")

    with pytest.raises(TransportError) as first:
        transport.send(letter(number=1))
    with pytest.raises(TransportError) as second:
        transport.send(letter(number=2))

    assert first.value.permanent is False  # once the password is corrected, a resumed run sends it
    assert "refused the login" in first.value.reason
    assert "BACKOFFICE_EWS_PASSWORD" in first.value.reason and repr(USER) in first.value.reason
    assert "Summer:2025!" not in first.value.reason
    assert second.value.reason == first.value.reason
    assert server.logins_refused == 1  # (asking again could lock the account out)
    assert server.calls == []


def test_a_missing_password_names_the_environment_variable(monkeypatch):
    monkeypatch.delenv("BACKOFFICE_EWS_PASSWORD", raising=False)

    with pytest.raises(BackofficeError, match="BACKOFFICE_EWS_PASSWORD"):
        make_transport(ews_settings("https://mail.example.com/EWS/Exchange.asmx", password=None))


@pytest.mark.parametrize("url", ["http://mail.example.com/EWS/Exchange.asmx", "http://10.0.0.5/EWS/Exchange.asmx",
                                 "ftp://mail.example.com/EWS/Exchange.asmx", "mail.example.com"])
def test_an_address_that_is_not_https_is_refused(url):
    with pytest.raises(BackofficeError, match="must start with https://"):
        make_transport(ews_settings(url))


@pytest.mark.parametrize("url", ["https://mail.example.com/EWS/Exchange.asmx", "http://localhost:8080/EWS/Exchange.asmx",
                                 "http://127.0.0.1/EWS/Exchange.asmx", "http://[::1]:81/EWS/Exchange.asmx"])
def test_https_or_a_server_on_this_machine_is_accepted_without_connecting(url):
    transport = make_transport(ews_settings(url))

    assert transport.name == "ews"
    transport.close()
