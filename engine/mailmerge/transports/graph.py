"""Microsoft Graph: Exchange Online's way in now that it has shut EWS.

The message goes as it was built: its MIME text, base64-encoded, posted with
`Content-Type: text/plain` to `POST {endpoint}/users/{sender}/sendMail` (Graph answers 202
Accepted). The token is app-only (OAuth client credentials) from Microsoft Entra ID through
msal, for `{resource}/.default` where the resource is the endpoint's origin
(https://graph.microsoft.com); msal keeps it and asks for a new one only when it runs out.

Every failure of one message is a `TransportError`: permanent when Graph refused the message
itself (400 with Graph's error, 413 too large), transient otherwise (no connection, a timeout,
429 throttling or 5xx: the reason says when to try again; 401/403/404, which are the
settings' or the tenant's fault and hold for every message until fixed). Settings that can
never work (no client secret, no tenant) are a `BackofficeError` before anything is sent.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any
from urllib.parse import quote, urlsplit

import msal
import requests
from msal.exceptions import MsalError

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.transports import TransportError


class _Session(requests.Session):
    """A requests session with a timeout on every call (msal's calls included)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


class GraphTransport:
    name = "graph"

    def __init__(self, tenant_id: str, client_id: str, client_secret: str | None, sender: str,
                 authority: str = "https://login.microsoftonline.com",
                 endpoint: str = "https://graph.microsoft.com/v1.0", timeout: float = 30):
        missing = [name for name, value in (("mail.graph.tenant_id", tenant_id),
                                            ("mail.graph.client_id", client_id),
                                            ("mail.graph.sender (or mail.sender)", sender)) if not value]
        if missing:
            raise BackofficeError(f"to send through Microsoft Graph set {', '.join(missing)}")
        if not client_secret:
            raise BackofficeError(
                "no client secret for Microsoft Graph: put it in the environment variable "
                "BACKOFFICE_GRAPH_CLIENT_SECRET (never in a settings file)."
            )
        for setting, url in (("mail.graph.authority", authority), ("mail.graph.endpoint", endpoint)):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.netloc:
                raise BackofficeError(f"{setting} must be an https:// address, not {url!r}")
        self.tenant_id, self.client_id, self.sender = tenant_id, client_id, sender
        self.authority = f"{authority.rstrip('/')}/{tenant_id}"
        self.endpoint = endpoint.rstrip("/")
        origin = urlsplit(self.endpoint)
        self.scopes = [f"{origin.scheme}://{origin.netloc}/.default"]
        self._secret = client_secret
        self._session = _Session(timeout)
        self._app: msal.ConfidentialClientApplication | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphTransport:
        graph = settings.mail.graph
        secret = settings.graph_client_secret.get_secret_value() if settings.graph_client_secret else None
        return cls(graph.tenant_id, graph.client_id, secret, graph.sender or settings.mail.sender,
                   graph.authority, graph.endpoint)

    def _token(self) -> str:
        """An access token: msal's cached one while it lasts, else a new one."""
        try:
            if self._app is None:
                # msal reads the tenant's OpenID configuration here (a network call).
                # instance_discovery=False: the authority is the one the settings name, msal
                # need not ask login.microsoftonline.com whether it knows it.
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self._secret, authority=self.authority,
                    http_client=self._session, instance_discovery=False)
            result = self._app.acquire_token_for_client(scopes=self.scopes)
        except requests.RequestException as exc:
            self._app = None
            raise TransportError(f"cannot reach the sign-in service {self.authority}: {_describe(exc)}") from None
        except (ValueError, RuntimeError, MsalError) as exc:
            self._app = None
            raise TransportError(f"cannot sign in at {self.authority}: {exc}", kind="configuration") from None
        if "access_token" not in result:
            raise TransportError(
                f"Microsoft Entra ID gave no token to the app {self.client_id} "
                f"({result.get('error')}: {result.get('error_description')}); check "
                "mail.graph.tenant_id, mail.graph.client_id and BACKOFFICE_GRAPH_CLIENT_SECRET",
                kind="configuration")
        return result["access_token"]

    def send(self, message: EmailMessage) -> None:
        """POST the MIME message to sendMail; 202 means Exchange took it."""
        body = base64.b64encode(message.as_bytes(policy=SMTP))
        url = f"{self.endpoint}/users/{quote(self.sender, safe='@')}/sendMail"
        for attempt in (1, 2):
            token = self._token()
            try:
                response = self._session.post(url, data=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
            except requests.RequestException as exc:
                raise TransportError(f"cannot reach Microsoft Graph at {self.endpoint}: {_describe(exc)}") from None
            if 200 <= response.status_code < 300:
                return
            if response.status_code == 401 and attempt == 1:
                self._app = None  # the token was revoked or ran out early: a new one, once
                continue
            raise self._refusal(response)

    def _refusal(self, response: requests.Response) -> TransportError:
        status, said = response.status_code, _graph_error(response)
        who = f"Microsoft Graph answered {status} for the mailbox {self.sender}"
        if status == 400:
            return TransportError(f"{who}: {said}", permanent=True)
        if status == 413:
            return TransportError(f"{who}: the message is too large for sendMail (about 4 MB "
                                  f"with its attachments): {said}", permanent=True)
        if status == 429 or status >= 500:
            wait = response.headers.get("Retry-After")
            when = f"try again in {wait} seconds (Retry-After)" if wait else "try again later"
            busy = "is throttling this app" if status == 429 else "is unavailable"
            return TransportError(f"{who}: Graph {busy}; {when}: {said}")
        if status in (401, 403):
            return TransportError(
                f"{who}: {said}; the app needs the Mail.Send application permission with admin "
                "consent, and an application access policy (if any) must include this mailbox", kind="configuration")
        if status == 404:
            return TransportError(f"{who}: {said}; is mail.graph.sender an Exchange Online mailbox?",
                                  kind="configuration")
        return TransportError(f"{who}: {said}")

    def close(self) -> None:
        self._session.close()


def _graph_error(response: requests.Response) -> str:
    """Graph's own words: `{"error": {"code": ..., "message": ...}}`, else the raw text."""
    try:
        error = response.json().get("error", {})
        if isinstance(error, dict) and (error.get("code") or error.get("message")):
            return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):  # not JSON, or not Graph's shape
        pass
    return " ".join(response.text.split())[:500] or response.reason or "no reason given"


def _describe(exc: requests.RequestException) -> str:
    """What went wrong on the wire, in a few words."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time (timed out)"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"its certificate cannot be trusted ({_innermost(exc)})"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({_innermost(exc)})"
    return str(exc) or type(exc).__name__


def _innermost(exc: BaseException) -> str:
    """The reason at the bottom of requests' and urllib3's wrapping ('Connection refused')."""
    reason: object = exc
    while isinstance(reason, BaseException):
        nested = getattr(reason, "reason", None) or (reason.args[0] if reason.args else None)
        if not isinstance(nested, BaseException):
            break
        reason = nested
    text = str(reason)
    return text.split(": ", 1)[-1] if "Failed to establish a new connection" in text else text
