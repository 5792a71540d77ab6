"""The outbox: one .eml file per message, marked `X-Unsent: 1` so Outlook opens it as a draft
to check and send. The default transport: nothing leaves the building by accident."""

from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from engine.mailmerge.transports import TransportError


class OutboxTransport:
    name = "outbox"

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def holds(self, message_id: str) -> bool:
        """Whether the draft of this Message-ID is in the outbox already (a resumed run asks)."""
        return (self.folder / f"{_file_name(message_id)}.eml").exists()

    def send(self, message: EmailMessage) -> None:
        """Write the draft as `<Message-ID's local part>.eml`; the same message written twice
        is the same file, not two drafts."""
        name = _file_name(message["Message-ID"] or "")
        data = message.as_bytes(policy=SMTP)
        if message["X-Unsent"] is None:   # headers come first: one more line marks it a draft
            data = b"X-Unsent: 1\r\n" + data
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".", suffix=".eml", dir=self.folder)
            with os.fdopen(handle, "wb") as fh:
                fh.write(data)
            os.replace(temp, self.folder / f"{name}.eml")
        except OSError as exc:
            raise TransportError(f"cannot write to the outbox {self.folder}: {exc.strerror}") from exc

    def close(self) -> None:
        pass


def _file_name(message_id: str) -> str:
    """The draft's file name: the Message-ID's part before the @."""
    name = message_id.strip().strip("<>").split("@")[0]
    if not name or any(c in name for c in "/\\:") or name.startswith("."):
        raise TransportError(f"message id {message_id!r} cannot name a file", permanent=True)
    return name
