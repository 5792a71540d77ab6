"""Building one message, once, whatever carries it: the standard `email` package, an HTML and
a plain-text body, and the letter attached (.docx or PDF).

Headers are checked before anything is built: a name, address or subject holding a line
break is refused (it would let the text inject headers of its own), never cleaned up
silently. Bodies come already rendered (HTML escaped by the template's autoescape).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from engine.errors import ValidationFailed

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = DOCX


@dataclass(frozen=True)
class Outgoing:
    """Everything one message needs; `message_id` is fixed before sending (the run stores it
    first, so a resumed run knows what it already handed over)."""

    sender: str
    sender_name: str
    to: str
    to_name: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    message_id: str = ""


def header_problems(outgoing: Outgoing) -> list[str]:
    """Line breaks (or other control characters) in anything that becomes a header."""
    problems = []
    for what, value in (("sender", outgoing.sender), ("sender name", outgoing.sender_name),
                        ("recipient", outgoing.to), ("recipient name", outgoing.to_name),
                        ("subject", outgoing.subject), ("message id", outgoing.message_id)):
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            problems.append(f"the {what} {value!r} holds a line break or control character; "
                            "correct it (nothing was sent)")
    for attachment in outgoing.attachments:
        if any(ord(c) < 32 or c in '"\\/' for c in attachment.filename):
            problems.append(f"the attachment name {attachment.filename!r} is not a plain file name")
    return problems


def build_message(outgoing: Outgoing) -> EmailMessage:
    """The MIME message: text (and HTML) alternatives, the attachments, a Message-ID."""
    problems = header_problems(outgoing)
    if problems:
        raise ValidationFailed(problems)
    message = EmailMessage(policy=SMTP)
    try:
        message["From"] = Address(outgoing.sender_name, addr_spec=outgoing.sender)
        message["To"] = Address(outgoing.to_name, addr_spec=outgoing.to)
    except (ValueError, IndexError) as exc:
        raise ValidationFailed([f"{outgoing.to!r} or {outgoing.sender!r} is not an e-mail address ({exc})"]) from None
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    if outgoing.message_id:
        message["Message-ID"] = outgoing.message_id
    message.set_content(outgoing.text)
    if outgoing.html is not None:
        message.add_alternative(outgoing.html, subtype="html")
    for attachment in outgoing.attachments:
        main, sub = attachment.mime_type.split("/", 1)
        message.add_attachment(attachment.content, maintype=main, subtype=sub, filename=attachment.filename)
    return message
