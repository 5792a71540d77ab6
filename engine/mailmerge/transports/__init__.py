"""Transports: where a built message goes. Every transport takes the same
`email.message.EmailMessage` (headers, text and HTML bodies, attachments, a Message-ID set
by the run) and either delivers it or raises `TransportError` saying why.

    outbox   one .eml file per message with X-Unsent: 1, which Outlook opens as a draft
    smtp     smtplib, STARTTLS or SSL, with login
    ews      exchangelib, on-premises Exchange: saved to Drafts or sent
    graph    Microsoft Graph sendMail with the MIME message, app-only token

A transport is made from the settings by `make_transport`; secrets come from the
environment only (Settings' Secret fields).
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from engine.config import Settings
from engine.errors import BackofficeError


class TransportError(Exception):
    """A message was not delivered. `permanent`: sending it again will not help (a refused
    address); otherwise (a server down, a timeout) a resumed run tries it again. `kind` is the
    reason's kind the run records (engine.mailmerge.models.FAILURES): `refused` (the
    recipient's server refused it for good), `configuration` (a setting, a login, a
    permission: fixed by the office, then resumed) or `transient` (down, busy, for now)."""

    def __init__(self, reason: str, permanent: bool = False, kind: str | None = None):
        self.reason, self.permanent = reason, permanent
        self.kind = kind or ("refused" if permanent else "transient")
        super().__init__(reason)


class Transport(Protocol):
    name: str

    def send(self, message: EmailMessage) -> None:
        """Deliver one message (or raise TransportError)."""

    def close(self) -> None:
        """Let go of any connection (called once, at the end of a run)."""


def outbox_folder(settings: Settings) -> Path:
    return settings.mail.outbox_dir or Path(settings.output_dir) / "outbox"


def make_transport(settings: Settings, name: str | None = None) -> Transport:
    """The transport `name` (default: the `mail.transport` setting), configured."""
    name = name or settings.mail.transport
    # Each transport is imported when chosen: exchangelib (EWS) and msal (Graph) are slow imports.
    if name == "outbox":
        from engine.mailmerge.transports.outbox import OutboxTransport  # (all four: see above)
        return OutboxTransport(outbox_folder(settings))
    if name == "smtp":
        from engine.mailmerge.transports.smtp import SmtpTransport  # (smtplib, ssl)
        return SmtpTransport.from_settings(settings)
    if name == "ews":
        from engine.mailmerge.transports.ews import EwsTransport  # exchangelib: a slow import
        return EwsTransport.from_settings(settings)
    if name == "graph":
        from engine.mailmerge.transports.graph import GraphTransport  # msal: a slow import
        return GraphTransport.from_settings(settings)
    raise BackofficeError(f"there is no transport {name!r}; choose outbox, smtp, ews or graph")
