"""EWS: on-premises Exchange through exchangelib, with the mailbox's own name and folders.

The MIME message is handed to Exchange as it was built (headers, both bodies, the letter
attached, our Message-ID), never rebuilt field by field:

    drafts  CreateItem (SaveOnly) into the mailbox's Drafts folder; a person opens it in
            Outlook, checks it and presses Send
    send    the same CreateItem into Drafts, then SendItem, which sends it and keeps the copy
            in Sent Items; a draft whose sending fails is deleted again (DeleteItem), so no
            stray draft waits to be sent by hand next to the one a resumed run makes

Before the first message the mailbox's folders are looked up once (GetFolder: the root,
Drafts and, to send, Sent Items). The server version is fixed to Exchange 2016 (2019
answers to it too; an older server makes exchangelib fall back by itself), so nothing is
guessed and autodiscover is never asked.

exchangelib's own retries are off (FailFast): a failure is reported at once as a
`TransportError`, and the run decides what to try again. A refused login is reported once;
later messages fail at once without asking the server again, so a wrong password cannot lock
the Windows account out.
"""

from __future__ import annotations

import ipaddress
from contextlib import suppress
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import urlsplit

import requests
from exchangelib import BASIC, DELEGATE, NTLM, UTC, Account, Configuration, Credentials, FailFast
from exchangelib import errors as ews
from exchangelib.items import Message
from exchangelib.protocol import Protocol
from exchangelib.version import EXCHANGE_2016, Version

from engine.config import Settings
from engine.errors import BackofficeError
from engine.mailmerge.transports import TransportError

TIMEOUT_SECONDS = 60  # per request; exchangelib's default is 120

# Worth trying again later: the server is busy, restarting, or its mailbox store is moving.
_TRANSIENT = (
    ews.ErrorServerBusy, ews.ErrorTimeoutExpired, ews.ErrorInternalServerTransientError,
    ews.ErrorInternalServerError, ews.ErrorConnectionFailed, ews.ErrorConnectionFailedTransientError,
    ews.ErrorMailboxStoreUnavailable, ews.ErrorMailboxMoveInProgress, ews.ErrorTooManyObjectsOpened,
    ews.ErrorExceededConnectionCount, ews.ErrorBatchProcessingStopped, ews.ErrorSubmissionQuotaExceeded,
    ews.ErrorQuotaExceeded, ews.ErrorProxyRequestProcessingFailed, ews.RateLimitError, ews.CASError,
)
# The set-up is wrong, not the message: every message fails alike until an administrator
# corrects it, then a resumed run sends them.
_SETUP = (
    ews.ErrorAccessDenied, ews.ErrorNonExistentMailbox, ews.ErrorSendAsDenied,
    ews.ErrorImpersonateUserDenied, ews.ErrorFolderNotFound, ews.ErrorInvalidServerVersion,
    ews.ErrorInvalidSchemaVersionForMailboxVersion,
)


class EwsTransport:
    name = "ews"

    def __init__(self, url: str, username: str, password: str, mailbox: str,
                 mode: str = "drafts", auth: str = "ntlm"):
        check_url(url)
        if not username:
            raise BackofficeError("mail.ews.username is not set: give the Exchange user as "
                                  "DOMAIN\\user or user@example.com")
        if "@" not in mailbox:
            raise BackofficeError(f"the mailbox {mailbox!r} is not an e-mail address: set "
                                  "mail.ews.mailbox (or mail.sender) to the mailbox that sends")
        if mode not in ("drafts", "send"):
            raise BackofficeError(f"mail.ews.mode {mode!r} must be drafts or send")
        if auth not in ("ntlm", "basic"):
            raise BackofficeError(f"mail.ews.auth {auth!r} must be ntlm or basic")
        self.url, self.username, self.mailbox, self.mode = url, username, mailbox, mode
        self._config = Configuration(
            service_endpoint=url,
            credentials=Credentials(username, password),
            auth_type=NTLM if auth == "ntlm" else BASIC,
            version=Version(build=EXCHANGE_2016),
            retry_policy=FailFast(),
        )
        self._account: Account | None = None
        self._login_refused: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EwsTransport:
        ews_settings = settings.mail.ews
        if settings.ews_password is None or not settings.ews_password.get_secret_value():
            raise BackofficeError(
                "the EWS transport needs the Exchange password in the environment variable "
                "BACKOFFICE_EWS_PASSWORD (it is never read from the settings file)"
            )
        return cls(
            url=ews_settings.url,
            username=ews_settings.username,
            password=settings.ews_password.get_secret_value(),
            mailbox=ews_settings.mailbox or settings.mail.sender,
            mode=ews_settings.mode,
            auth=ews_settings.auth,
        )

    def send(self, message: EmailMessage) -> None:
        """Save the message to Drafts (mode drafts) or send it, keeping a copy in Sent Items."""
        if self._login_refused:
            raise TransportError(self._login_refused, kind="configuration")
        try:
            account = self._connect()
            drafts = account.drafts
            sent = account.sent if self.mode == "send" else None
            draft = Message(account=account, folder=drafts, is_read=True,  # (as Outlook's own drafts)
                            mime_content=message.as_bytes(policy=SMTP))
            draft.save()
        except Exception as exc:
            raise self._failure(exc, "save the message to Drafts") from exc
        if self.mode == "drafts":
            return
        try:
            draft.send(save_copy=True, copy_to_folder=sent)
        except Exception as exc:
            failure = self._failure(exc, "send the message")
            with suppress(ews.EWSError, requests.RequestException, OSError):
                draft.delete()
            raise failure from exc

    def close(self) -> None:
        if self._account is None:
            return
        protocol, self._account = self._account.protocol, None
        with suppress(KeyError):
            del Protocol[self._config]  # (exchangelib keeps one per server and user)
        protocol.close()

    def _connect(self) -> Account:
        if self._account is None:
            account = Account(primary_smtp_address=self.mailbox, config=self._config,
                              autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
            account.protocol.TIMEOUT = TIMEOUT_SECONDS
            self._account = account
        return self._account

    def _failure(self, exc: Exception, doing: str) -> TransportError:
        """The exchangelib (or network) error as a TransportError an office worker can act on;
        anything else is a defect and goes up as it is."""
        where = f"Exchange at {self.url} (mailbox {self.mailbox})"
        if isinstance(exc, ews.UnauthorizedError):
            self._login_refused = (
                f"{where} refused the login of {self.username!r}: check mail.ews.username, "
                f"mail.ews.auth and the password in BACKOFFICE_EWS_PASSWORD ({exc})"
            )
            return TransportError(self._login_refused, kind="configuration")
        if isinstance(exc, ews.RedirectError):
            return TransportError(f"{where} redirected to {exc.url}: check mail.ews.url, which "
                                  "must be the EWS address, e.g. https://mail.example.com/EWS/Exchange.asmx",
                                  kind="configuration")
        if isinstance(exc, _SETUP):
            return TransportError(f"{where} could not {doing}: {_code(exc)}: {exc}; the account "
                                  f"{self.username!r} needs full access to the mailbox "
                                  "(and Send As for its address)", kind="configuration")
        if isinstance(exc, ews.ErrorTimeoutExpired) and isinstance(exc.__context__, requests.RequestException):
            # (exchangelib reports a refused or dropped connection as ErrorTimeoutExpired)
            return TransportError(f"{where} could not be reached to {doing}: {exc.__context__}")
        if isinstance(exc, _TRANSIENT):
            return TransportError(f"{where} could not {doing} for now: {_code(exc)}: {exc}")
        if isinstance(exc, ews.ResponseMessageError | ews.SOAPError):
            # Exchange read this request and refused it: sending it again will not help.
            return TransportError(f"{where} refused to {doing}: {_code(exc)}: {exc}", permanent=True)
        if isinstance(exc, ews.EWSError | requests.RequestException | OSError):
            # No answer, a broken one, or a TLS failure: try again (once the cause is fixed).
            return TransportError(f"{where} could not be reached to {doing}: {_code(exc)}: {exc}")
        raise exc


def check_url(url: str) -> None:
    """The EWS address must be https; plain http only for a server on this machine."""
    if not url:
        raise BackofficeError("mail.ews.url is not set: give the EWS address of the Exchange "
                              "server, e.g. https://mail.example.com/EWS/Exchange.asmx")
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise BackofficeError("mail.ews.url must not hold a user name or password: set "
                              "mail.ews.username, and the password in BACKOFFICE_EWS_PASSWORD")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise BackofficeError(f"mail.ews.url {url!r} must start with https:// (e.g. "
                          "https://mail.example.com/EWS/Exchange.asmx): the password would "
                          "otherwise cross the network readable; plain http is accepted only "
                          "for a server on this machine")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _code(exc: Exception) -> str:
    return type(exc).__name__
