"""The SMTP transport against a real SMTP server (aiosmtpd) on loopback: STARTTLS, TLS and a
plain local connection, each with a login; what the server received is parsed back."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.transports import TransportError, make_transport
from engine.mailmerge.transports.smtp import SmtpTransport
from tests.mail_servers import SmtpServer, assert_same_letter, free_port, letter, make_certificates

USERS = {"clerk@example.com": "pa55 wörd"}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def smtp_settings(monkeypatch, port: int, security: str, ca_file: str = "", host: str = "127.0.0.1",
                  username: str = "clerk@example.com", timeout: float = 10) -> Settings:
    monkeypatch.setenv("BACKOFFICE_SMTP_PASSWORD", USERS["clerk@example.com"])
    return Settings(mail={"transport": "smtp", "sender": "office@example.com",
                          "smtp": {"host": host, "port": port, "security": security,
                                   "username": username, "ca_file": ca_file,
                                   "timeout_seconds": timeout}})


@pytest.fixture
def starttls_server(certificates):
    with SmtpServer(users=USERS, certificates=certificates) as server:
        yield server


@pytest.fixture
def starttls(monkeypatch, starttls_server, certificates):
    transport = make_transport(smtp_settings(monkeypatch, starttls_server.port, "starttls",
                                             str(certificates.ca_file)))
    yield transport
    transport.close()


def test_starttls_with_login_delivers_the_letter_as_built(starttls, starttls_server):
    assert isinstance(starttls, SmtpTransport)
    sent = letter()
    starttls.send(sent)
    [delivery] = starttls_server.deliveries
    assert delivery.mail_from == "office@example.com"          # envelope sender = From
    assert delivery.rcpt_tos == ["ann@example.org"]
    assert delivery.login == "clerk@example.com"
    assert starttls_server.logins == [("clerk@example.com", "pa55 wörd", True)]   # only over TLS
    assert_same_letter(delivery.content, sent)


def test_tls_from_the_first_byte_delivers_the_letter(monkeypatch, certificates):
    with SmtpServer(users=USERS, certificates=certificates, implicit_tls=True) as server:
        transport = SmtpTransport.from_settings(
            smtp_settings(monkeypatch, server.port, "ssl", str(certificates.ca_file)))
        sent = letter()
        transport.send(sent)
        transport.close()
    assert [d.login for d in server.deliveries] == ["clerk@example.com"]
    assert server.logins[0][2] is True
    assert_same_letter(server.deliveries[0].content, sent)


def test_no_tls_is_allowed_for_a_server_on_this_machine(monkeypatch):
    with SmtpServer(users=USERS, auth_require_tls=False) as server:
        transport = SmtpTransport.from_settings(smtp_settings(monkeypatch, server.port, "none"))
        sent = letter()
        transport.send(sent)
        transport.close()
    assert server.logins == [("clerk@example.com", "pa55 wörd", False)]
    assert_same_letter(server.deliveries[0].content, sent)


def test_one_connection_and_one_login_carry_every_message(starttls, starttls_server):
    for n in range(1, 4):
        starttls.send(letter(f"person{n}@example.org", n))
    assert [d.rcpt_tos for d in starttls_server.deliveries] == [
        ["person1@example.org"], ["person2@example.org"], ["person3@example.org"]]
    assert len({d.peer for d in starttls_server.deliveries}) == 1
    assert len(starttls_server.logins) == 1


def test_a_refused_recipient_fails_for_good_and_the_next_message_still_goes(starttls, starttls_server):
    with pytest.raises(TransportError) as refused:
        starttls.send(letter("refused@example.org", 1))
    assert refused.value.permanent
    assert "550 5.1.1" in refused.value.reason and "User unknown" in refused.value.reason
    sent = letter("ann@example.org", 2)
    starttls.send(sent)
    assert [d.rcpt_tos for d in starttls_server.deliveries] == [["ann@example.org"]]
    assert_same_letter(starttls_server.deliveries[0].content, sent)


def test_a_recipient_refused_for_now_is_tried_again_later(starttls, starttls_server):
    with pytest.raises(TransportError) as later:
        starttls.send(letter("later@example.org"))
    assert not later.value.permanent
    assert "451 4.3.0 Mailbox temporarily unavailable" in later.value.reason


def test_a_server_that_is_down_is_a_transient_failure(monkeypatch):
    transport = SmtpTransport.from_settings(smtp_settings(monkeypatch, free_port(), "none", timeout=5))
    with pytest.raises(TransportError) as down:
        transport.send(letter())
    assert not down.value.permanent
    assert "connection refused" in down.value.reason and "127.0.0.1" in down.value.reason


def test_a_connection_the_server_dropped_is_opened_again(monkeypatch, certificates):
    port = free_port()
    with SmtpServer(users=USERS, certificates=certificates, port=port) as first:
        transport = SmtpTransport.from_settings(
            smtp_settings(monkeypatch, port, "starttls", str(certificates.ca_file), timeout=5))
        transport.send(letter("one@example.org", 1))
    with SmtpServer(users=USERS, certificates=certificates, port=port) as second:   # restarted
        transport.send(letter("two@example.org", 2))
        transport.close()
    assert [d.rcpt_tos for d in first.deliveries + second.deliveries] == [
        ["one@example.org"], ["two@example.org"]]
    assert len(second.logins) == 1


def test_a_server_without_starttls_is_refused_before_the_password_is_sent(monkeypatch):
    # This server would take a login in clear: the transport must not offer one.
    with SmtpServer(users=USERS, auth_require_tls=False) as server:
        transport = SmtpTransport.from_settings(smtp_settings(monkeypatch, server.port, "starttls"))
        with pytest.raises(TransportError) as refused:
            transport.send(letter())
        transport.close()
    assert "does not offer STARTTLS" in refused.value.reason
    assert not refused.value.permanent
    assert server.logins == [] and server.deliveries == []


def test_a_certificate_from_an_unknown_authority_is_refused(monkeypatch, starttls_server):
    transport = SmtpTransport.from_settings(smtp_settings(monkeypatch, starttls_server.port, "starttls"))
    with pytest.raises(TransportError) as untrusted:
        transport.send(letter())
    assert "certificate" in untrusted.value.reason and not untrusted.value.permanent
    assert starttls_server.logins == [] and starttls_server.deliveries == []


def test_a_wrong_password_is_reported_with_the_user_and_the_environment_variable(
        monkeypatch, starttls_server, certificates):
    settings = smtp_settings(monkeypatch, starttls_server.port, "starttls", str(certificates.ca_file))
    monkeypatch.setenv("BACKOFFICE_SMTP_PASSWORD", "wrong")
    transport = SmtpTransport.from_settings(Settings(mail=settings.mail))
    with pytest.raises(TransportError) as refused:
        transport.send(letter())
    assert "535" in refused.value.reason and "clerk@example.com" in refused.value.reason
    assert "BACKOFFICE_SMTP_PASSWORD" in refused.value.reason
    assert starttls_server.deliveries == []


def test_no_tls_to_another_machine_is_refused_before_connecting(monkeypatch):
    settings = smtp_settings(monkeypatch, 25, "none", host="mail.example.com")
    with pytest.raises(BackofficeError, match="only allowed for a server on this machine"):
        SmtpTransport.from_settings(settings)


def test_a_login_without_a_password_names_the_environment_variable(monkeypatch):
    settings = smtp_settings(monkeypatch, 587, "starttls", host="mail.example.com")
    monkeypatch.delenv("BACKOFFICE_SMTP_PASSWORD")
    with pytest.raises(BackofficeError, match="BACKOFFICE_SMTP_PASSWORD"):
        SmtpTransport.from_settings(Settings(mail=settings.mail))
