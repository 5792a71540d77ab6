"""SMTP: the standard library's smtplib, over TLS, with a login.

    ssl        TLS from the first byte (port 465), SMTP_SSL
    starttls   a plain connection upgraded with STARTTLS (port 587); a server that does not
               offer STARTTLS is refused before anything else is said, so a password never
               travels in clear
    none       no TLS at all: only for a server on this machine (localhost, 127.0.0.1, ::1)

The server's certificate is always checked (the system's certificate authorities, or those in
`mail.smtp.ca_file`). One connection carries every message of a run; a connection the server
dropped while idle is opened again once.

Every failure of one message is a `TransportError`: permanent when the server refused it for
good (a 5xx reply to the recipient or to the message itself), transient otherwise (the server
down or slow, a 4xx reply, a refused login), with the server's own reply in the reason.
Settings that can never work (no password, no TLS to another machine) are a `BackofficeError`
before anything is sent.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.transports import TransportError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for a name or address that can only mean this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Utf8Login:
    """smtplib's login, but a user name or password outside ASCII ("Grüße2024") is sent as
    UTF-8 (RFC 4616) where smtplib would fail with UnicodeEncodeError. The steps are
    smtplib.SMTP.auth's, with UTF-8 in place of ASCII."""

    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        def encoded(text: str) -> str:
            return base64.b64encode(text.encode("utf-8")).decode("ascii")

        mechanism = mechanism.upper()
        initial = authobject() if initial_response_ok else None
        if initial is not None:
            code, resp = self.docmd("AUTH", f"{mechanism} {encoded(initial)}")
            self._auth_challenge_count = 1
        else:
            code, resp = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        while code == 334:
            self._auth_challenge_count += 1
            if self._auth_challenge_count > 5:
                raise smtplib.SMTPException(f"the server's AUTH goes on and on ({code} {resp!r})")
            code, resp = self.docmd(encoded(authobject(base64.decodebytes(resp))))
        if code in (235, 503):
            return code, resp
        raise smtplib.SMTPAuthenticationError(code, resp)

    def auth_cram_md5(self, challenge=None):
        if challenge is None:
            return None
        return f"{self.user} {hmac.HMAC(self.password.encode('utf-8'), challenge, 'md5').hexdigest()}"


class _SMTP(_Utf8Login, smtplib.SMTP):
    pass


class _SMTP_SSL(_Utf8Login, smtplib.SMTP_SSL):
    pass


def _reply(code: int, text: bytes | str) -> str:
    """The server's reply as one readable line: `550 5.1.1 no such user`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


class SmtpTransport:
    name = "smtp"

    def __init__(self, host: str, port: int, security: str = "starttls", username: str = "",
                 password: str | None = None, timeout: float = 30, ca_file: str = ""):
        if security not in ("starttls", "ssl", "none"):
            raise BackofficeError(f"mail.smtp.security is {security!r}; choose starttls, ssl or none")
        if security == "none" and not is_loopback(host):
            raise BackofficeError(
                f"mail.smtp.security = \"none\" would send mail (and any password) to {host} "
                "unencrypted; it is only allowed for a server on this machine (localhost). "
                "Use \"starttls\" (port 587) or \"ssl\" (port 465)."
            )
        if username and not password:
            raise BackofficeError(
                f"mail.smtp.username is {username!r} but no password is set: put it in the "
                "environment variable BACKOFFICE_SMTP_PASSWORD (never in a settings file)."
            )
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.timeout = timeout
        self.ca_file = ca_file
        self._connection: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        smtp = settings.mail.smtp
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(smtp.host, smtp.port, smtp.security, smtp.username, password,
                   smtp.timeout_seconds, smtp.ca_file)

    @property
    def server(self) -> str:
        return f"the SMTP server {self.host}:{self.port}"

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise BackofficeError(f"cannot read mail.smtp.ca_file {self.ca_file!r}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        """A connection ready to send: TLS as configured, logged in when a user is set."""
        context = self._tls_context() if self.security != "none" else None
        if self.security == "ssl":
            connection: smtplib.SMTP = _SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                 context=context)
        else:
            connection = _SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if self.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise TransportError(
                        f"{self.server} does not offer STARTTLS, so nothing was sent (not even the "
                        "login): ask for TLS to be enabled on it, or use security \"ssl\".", kind="configuration")
                connection.starttls(context=context)
                connection.ehlo()
            if self.username:
                try:
                    connection.login(self.username, self._password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    raise TransportError(
                        f"{self.server} refused the login of {self.username!r} "
                        f"({_reply(exc.smtp_code, exc.smtp_error)}): check mail.smtp.username and "
                        "BACKOFFICE_SMTP_PASSWORD", kind="configuration") from None
        except BaseException:
            _quietly_close(connection)
            raise
        return connection

    def _ready_connection(self) -> smtplib.SMTP:
        """The open connection if the server still answers on it, else a new one."""
        if self._connection is not None:
            try:
                if self._connection.noop()[0] == 250:
                    return self._connection
            except (smtplib.SMTPException, OSError):
                pass
            _quietly_close(self._connection)
            self._connection = None
        self._connection = self._connect()
        return self._connection

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server, the From address as the envelope sender."""
        sender = _from_address(message)
        try:
            connection = self._ready_connection()
            refused = connection.send_message(message, from_addr=sender)
        except TransportError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            replies = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in exc.recipients.items())
            raise TransportError(f"{self.server} refused the recipient ({replies})",
                                 permanent=all(code >= 500 for code in codes)) from None
        except smtplib.SMTPSenderRefused as exc:
            # 552: the message is too big for this server, for good. Any other refusal of the
            # sender is the settings' fault (mail.sender) and holds for every message.
            raise TransportError(f"{self.server} refused the sender {sender} "
                                 f"({_reply(exc.smtp_code, exc.smtp_error)})",
                                 permanent=exc.smtp_code == 552,
                                 kind=None if exc.smtp_code == 552 else "configuration") from None
        except smtplib.SMTPDataError as exc:
            raise TransportError(f"{self.server} refused the message ({_reply(exc.smtp_code, exc.smtp_error)})",
                                 permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise TransportError(f"{self.server} answered {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise TransportError(f"{self.server} showed a certificate that cannot be trusted "
                                 f"({exc.verify_message}); nothing was sent", kind="configuration") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failed
            self._drop()
            raise TransportError(f"cannot send through {self.server}: {_describe(exc)}") from None
        if refused:  # some recipients took it, others did not
            replies = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in refused.items())
            raise TransportError(f"{self.server} refused some recipients ({replies})",
                                 permanent=all(code >= 500 for code, _ in refused.values()))

    def _drop(self) -> None:
        if self._connection is not None:
            _quietly_close(self._connection)
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


def _from_address(message: EmailMessage) -> str:
    addresses = getaddresses([str(message.get("From", ""))])
    if len(addresses) != 1 or not addresses[0][1]:
        raise TransportError(f"the message has no single From address ({message.get('From')!r})",
                             permanent=True)
    return addresses[0][1]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, is the port right?)"
    return str(exc) or type(exc).__name__


def _quietly_close(connection: smtplib.SMTP) -> None:
    try:
        connection.close()
    except OSError:
        pass
