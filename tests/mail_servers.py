"""Real mail servers on loopback for the transport tests: an SMTP server (aiosmtpd) with
login and TLS, a Microsoft Graph look-alike (the sign-in service and sendMail over HTTPS),
a certificate authority made on the spot, and the letter they all carry."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.mailmerge.message import Attachment, Outgoing, build_message

# --- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path        # the authority a client must trust
    cert_file: Path      # the server's certificate (for localhost, 127.0.0.1, ::1)
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(folder: Path) -> Certificates:
    """A fresh certificate authority and a server certificate it signed, valid for loopback."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Backoffice test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    certs = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certs.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certs.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return certs


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the letter ---------------------------------------------------------------------------

DOCX_BYTES = b"PK\x03\x04" + bytes(range(256)) * 40   # every byte value: the transfer must be exact
TEXT = "Dear Ann,\n\nyour invoice 2024-017 is attached.\n\nKind regards,\nFront Office\n"
HTML = "<p>Dear Ann,</p><p>your invoice <b>2024-017</b> is attached.</p>"


def letter(to: str = "ann@example.org", number: int = 1) -> EmailMessage:
    """A letter as the mail merge builds it: text and HTML bodies, a .docx attached."""
    return build_message(Outgoing(
        sender="office@example.com", sender_name="Front Office", to=to, to_name="Ann Example",
        subject="Your invoice – März", text=TEXT, html=HTML,
        attachments=(Attachment("invoice-2024-017.docx", DOCX_BYTES),),
        message_id=f"<run7-{number}@backoffice.example>"))


def assert_same_letter(received: bytes, sent: EmailMessage) -> None:
    """What a server got, parsed back, is the letter that was sent: headers, bodies, attachment."""
    got = message_from_bytes(received, policy=default)
    for header in ("From", "To", "Subject", "Message-ID"):
        assert str(got[header]) == str(sent[header]), header
    assert got["Subject"] == "Your invoice – März"
    assert got.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert got.get_body(("html",)).get_content().strip() == HTML
    attachments = list(got.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["invoice-2024-017.docx"]
    assert attachments[0].get_content_type() == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert attachments[0].get_content() == DOCX_BYTES


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None
    peer: Any


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1. `users`: login -> password (AUTH offered when given);
    `certificates` with `implicit_tls` for SMTP over TLS (465), else for STARTTLS;
    recipients starting with `refused` get 550, with `later` 451.

    `stall_for`: the first message to this recipient is held after its DATA, unanswered:
    `stalled` is set (the client now waits for the answer) and the server waits for `go_on`.
    A client that hangs up meanwhile sees its message not accepted: it goes to `dropped`, not
    `deliveries`, and `lost` is set."""

    users: dict[str, str] = field(default_factory=dict)
    certificates: Certificates | None = None
    implicit_tls: bool = False
    auth_require_tls: bool = True
    port: int = field(default_factory=free_port)
    deliveries: list[Delivery] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)   # (login, password, over TLS)
    _controller: Controller | None = None
    stall_for: str | None = None
    stalled: threading.Event = field(default_factory=threading.Event)   # a message is held, unanswered
    go_on: threading.Event = field(default_factory=threading.Event)     # set it to answer the held message
    lost: threading.Event = field(default_factory=threading.Event)      # its client hung up before the answer
    dropped: list[Delivery] = field(default_factory=list)               # held messages never accepted

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.auth_require_tls)
        if self.certificates and self.implicit_tls:
            kwargs["ssl_context"] = self.certificates.server_context()
            kwargs["auth_require_tls"] = False   # (aiosmtpd only counts STARTTLS as TLS)
        elif self.certificates:
            kwargs.update(tls_context=self.certificates.server_context(), require_starttls=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.logins.append((login, password, tls))
        return AuthResult(success=self.users.get(login) == password, auth_data=login, handled=False)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("later"):
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        delivery = Delivery(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                            session.auth_data if session.authenticated else None, session.peer)
        if self.stall_for in envelope.rcpt_tos and not self.stalled.is_set():
            if not await self._hold(server, delivery):
                return "451 4.3.0 Connection lost before the message was accepted"
        self.deliveries.append(delivery)
        return "250 2.0.0 Message accepted"

    async def _hold(self, server, delivery: Delivery) -> bool:
        """Leave the client waiting for the answer to its DATA until `go_on`; False (the
        message not accepted) when the client hung up meanwhile."""
        self.stalled.set()
        try:
            while not self.go_on.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:      # aiosmtpd cancels the session when the client is gone
            self.dropped.append(delivery)
            self.lost.set()
            raise
        if server.transport is None or server.transport.is_closing():
            self.dropped.append(delivery)
            self.lost.set()
            return False
        return True


# --- Microsoft Graph ----------------------------------------------------------------------


@dataclass
class GraphServer:
    """The sign-in service (OpenID configuration, token endpoint) and Graph's sendMail, over
    HTTPS on 127.0.0.1. Recipients starting with `refused` get a 400 with Graph's error JSON,
    with `busy` a 429 with Retry-After, with `down` a 503."""

    certificates: Certificates
    tenant: str = "contoso-tenant"
    client_id: str = "11111111-2222-3333-4444-555555555555"
    client_secret: str = "s3cret~value"
    sender: str = "office@example.com"
    tokens_issued: list[str] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)          # MIME of every accepted message
    problems: list[str] = field(default_factory=list)        # what the server found wrong
    reject_token: str | None = None                          # answer 401 to this token
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> GraphServer:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                graph._get(self)

            def do_POST(self) -> None:
                graph._post(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.socket = self.certificates.server_context().wrap_socket(
            self._httpd.socket, server_side=True)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: Any = None,
                headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        request.send_response(status)
        if body is not None:
            request.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        if request.path.split("?")[0] == f"/{self.tenant}/v2.0/.well-known/openid-configuration":
            root = f"{self.base}/{self.tenant}"
            self._answer(request, 200, {
                "issuer": f"{root}/v2.0",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "response_types_supported": ["code", "token"],
            })
            return
        self._answer(request, 404, {"error": "not_found"})

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        path = request.path.split("?")[0]
        if path == f"/{self.tenant}/oauth2/v2.0/token":
            self._token(request, body)
        elif path.startswith("/v1.0/users/") and path.endswith("/sendMail"):
            self._send_mail(request, unquote(path.removeprefix("/v1.0/users/").removesuffix("/sendMail")), body)
        else:
            self._answer(request, 404, {"error": {"code": "BadRequest", "message": f"no {path}"}})

    def _token(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.token_requests.append(form)
        expected = {"grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": self.client_secret, "scope": f"{self.base}/.default"}
        wrong = {k: form.get(k) for k, v in expected.items() if form.get(k) != v}
        if wrong:
            self.problems.append(f"token request: {sorted(wrong)}")
            self._answer(request, 401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret provided."})
            return
        token = f"token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        self._answer(request, 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _send_mail(self, request: BaseHTTPRequestHandler, mailbox: str, body: bytes) -> None:
        bearer = request.headers.get("Authorization", "")
        if not self.tokens_issued or bearer != f"Bearer {self.tokens_issued[-1]}" \
                or bearer == f"Bearer {self.reject_token}":
            self._answer(request, 401, {"error": {"code": "InvalidAuthenticationToken",
                                                  "message": "Access token has expired or is not yet valid."}})
            return
        if request.headers.get("Content-Type") != "text/plain" or mailbox != self.sender:
            self.problems.append(f"sendMail: {request.headers.get('Content-Type')} for {mailbox}")
            self._answer(request, 400, {"error": {"code": "ErrorInvalidRequest", "message": "bad request"}})
            return
        mime = base64.b64decode(body, validate=True)
        to = message_from_bytes(mime, policy=default)["To"].addresses[0].addr_spec
        if to.startswith("refused"):
            self._answer(request, 400, {"error": {
                "code": "ErrorInvalidRecipients",
                "message": f"At least one recipient is not valid., Recipient '{to}' is not resolved."}})
        elif to.startswith("busy"):
            self._answer(request, 429, {"error": {"code": "ApplicationThrottled",
                                                  "message": "Application is over its MailboxConcurrency limit."}},
                         headers={"Retry-After": "17"})
        elif to.startswith("down"):
            self._answer(request, 503, {"error": {"code": "ServiceUnavailable",
                                                  "message": "Service is temporarily unavailable."}})
        else:
            self.sent.append(mime)
            self._answer(request, 202)
