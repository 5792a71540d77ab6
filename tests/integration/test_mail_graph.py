"""The Graph transport against a loopback look-alike of Microsoft Entra ID (OpenID
configuration, token endpoint) and Graph's sendMail, over HTTPS with a certificate made for
the test. msal and requests are the real libraries; only the far end is ours."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.transports import TransportError, make_transport
from engine.mailmerge.transports.graph import GraphTransport
from tests.mail_servers import GraphServer, assert_same_letter, free_port, letter, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def graph_server(certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))   # trust the test's CA
    with GraphServer(certificates) as server:
        yield server
    assert server.problems == []


def graph_settings(monkeypatch, server: GraphServer, base: str | None = None,
                   secret: str | None = None) -> Settings:
    base = base or server.base
    monkeypatch.setenv("BACKOFFICE_GRAPH_CLIENT_SECRET", secret or server.client_secret)
    return Settings(mail={"transport": "graph", "sender": "office@example.com",
                          "graph": {"tenant_id": server.tenant, "client_id": server.client_id,
                                    "authority": base, "endpoint": f"{base}/v1.0"}})


@pytest.fixture
def graph(monkeypatch, graph_server):
    transport = make_transport(graph_settings(monkeypatch, graph_server))
    yield transport
    transport.close()


def test_sendmail_carries_the_letter_as_mime(graph, graph_server):
    assert isinstance(graph, GraphTransport)
    sent = letter()
    graph.send(sent)
    [mime] = graph_server.sent
    assert_same_letter(mime, sent)
    [token_request] = graph_server.token_requests
    assert token_request["grant_type"] == "client_credentials"
    assert token_request["scope"] == f"{graph_server.base}/.default"


def test_the_token_is_fetched_once_for_several_messages(graph, graph_server):
    for n in range(1, 4):
        graph.send(letter(f"person{n}@example.org", n))
    assert len(graph_server.sent) == 3
    assert graph_server.tokens_issued == ["token-1"]


def test_a_refused_message_fails_for_good_with_graphs_reason_and_the_next_still_goes(graph, graph_server):
    with pytest.raises(TransportError) as refused:
        graph.send(letter("refused@example.org", 1))
    assert refused.value.permanent
    assert "400" in refused.value.reason and "ErrorInvalidRecipients" in refused.value.reason
    assert "Recipient 'refused@example.org' is not resolved" in refused.value.reason
    graph.send(letter("ann@example.org", 2))
    assert len(graph_server.sent) == 1


def test_throttling_is_transient_and_says_when_to_try_again(graph, graph_server):
    with pytest.raises(TransportError) as throttled:
        graph.send(letter("busy@example.org"))
    assert not throttled.value.permanent
    assert "429" in throttled.value.reason and "try again in 17 seconds" in throttled.value.reason
    assert "MailboxConcurrency" in throttled.value.reason


def test_graph_unavailable_is_transient(graph):
    with pytest.raises(TransportError) as down:
        graph.send(letter("down@example.org"))
    assert not down.value.permanent and "503" in down.value.reason


def test_a_token_graph_no_longer_accepts_is_replaced_once(graph, graph_server):
    graph_server.reject_token = "token-1"
    sent = letter()
    graph.send(sent)
    assert graph_server.tokens_issued == ["token-1", "token-2"]
    assert_same_letter(graph_server.sent[0], sent)


def test_a_wrong_client_secret_is_reported_with_entra_ids_reason(monkeypatch, graph_server):
    transport = GraphTransport.from_settings(graph_settings(monkeypatch, graph_server, secret="wrong"))
    with pytest.raises(TransportError) as refused:
        transport.send(letter())
    graph_server.problems.clear()   # (the server saw the wrong secret: that was the point)
    assert "invalid_client" in refused.value.reason and "AADSTS7000215" in refused.value.reason
    assert "BACKOFFICE_GRAPH_CLIENT_SECRET" in refused.value.reason
    assert not refused.value.permanent and graph_server.sent == []


def test_graph_out_of_reach_is_a_transient_failure(monkeypatch, graph_server):
    nowhere = f"https://127.0.0.1:{free_port()}"
    transport = GraphTransport.from_settings(graph_settings(monkeypatch, graph_server, base=nowhere))
    with pytest.raises(TransportError) as down:
        transport.send(letter())
    assert not down.value.permanent and "127.0.0.1" in down.value.reason


def test_a_missing_client_secret_names_the_environment_variable(monkeypatch, graph_server):
    settings = graph_settings(monkeypatch, graph_server)
    monkeypatch.delenv("BACKOFFICE_GRAPH_CLIENT_SECRET")
    with pytest.raises(BackofficeError, match="BACKOFFICE_GRAPH_CLIENT_SECRET"):
        GraphTransport.from_settings(Settings(mail=settings.mail))


def test_an_endpoint_without_tls_is_refused(monkeypatch, graph_server):
    settings = graph_settings(monkeypatch, graph_server, base="http://127.0.0.1:1")
    with pytest.raises(BackofficeError, match="https://"):
        GraphTransport.from_settings(settings)
