"""Building one message, once, whatever carries it: the standard `email` package, an HTML and
a plain-text body, and the letter attached (.docx or PDF).

Headers are checked before anything is built: a name, address or subject holding a line
break is refused (it would let the text inject headers of its own), never cleaned up
silently. A line break is any character the `email` package (or a mail program) may read as
one: CR and LF, the other control characters (C0, DEL, C1 such as NEL), and Unicode's LINE
SEPARATOR and PARAGRAPH SEPARATOR (U+2028, U+2029). Each refusal is a problem naming the
header (`to_name`, `subject`, ...), so the run records which field of which contact it was.
Bodies come already rendered (HTML escaped by the template's autoescape).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from engine.errors import ValidationFailed
from engine.problems import Problem

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


# Each header value of an outgoing message: (its field in Outgoing, the header in words).
HEADERS = (("sender", "sender"), ("sender_name", "sender name"), ("to", "recipient"),
           ("to_name", "recipient name"), ("subject", "subject"), ("message_id", "message id"))
# Fields that come from the settings, not from the recipient's data.
FROM_SETTINGS = ("sender", "sender_name")


def breaking(value: str) -> str | None:
    """The first character of `value` that a header must never carry (a line break or other
    control character, U+2028 and U+2029 included), in words; None if there is none."""
    for c in value:
        if unicodedata.category(c) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(c):04X} {unicodedata.name(c, 'CONTROL CHARACTER')}"
    return None


def visible(value: str) -> str:
    """`value` with every character `breaking` would name shown as its code (`\\u2028`), for
    a message to a person: a name holding a line break must not break the line it is shown on."""
    return "".join(f"\\u{ord(c):04x}" if breaking(c) else c for c in value)


def header_problems(outgoing: Outgoing) -> list[Problem]:
    """Line breaks (or other control characters) in anything that becomes a header, each a
    problem with the Outgoing field as its field and code `line_break`."""
    problems = []
    for name, what in HEADERS:
        value = getattr(outgoing, name)
        found = breaking(value)
        if found:
            problems.append(Problem(name, "line_break", f"the {what} {value!r} holds a line break or control "
                                                        f"character ({found}); correct it (nothing was sent)"))
    for attachment in outgoing.attachments:
        if any(ord(c) < 32 or c in '"\\/' for c in attachment.filename):
            problems.append(Problem("attachment", "invalid",
                                    f"the attachment name {attachment.filename!r} is not a plain file name"))
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
    try:   # (header_problems refused what the `email` package would; this is its own word)
        message["Subject"] = outgoing.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        if outgoing.message_id:
            message["Message-ID"] = outgoing.message_id
    except ValueError as exc:
        raise ValidationFailed([Problem("subject", "line_break", f"a header cannot be written: {exc}")]) from None
    message.set_content(outgoing.text)
    if outgoing.html is not None:
        message.add_alternative(outgoing.html, subtype="html")
    for attachment in outgoing.attachments:
        main, sub = attachment.mime_type.split("/", 1)
        message.add_attachment(attachment.content, maintype=main, subtype=sub, filename=attachment.filename)
    return message
