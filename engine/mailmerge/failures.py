"""Why a message could not be built, in words and as a kind the run records
(`engine.mailmerge.models.FAILURES`): a value that cannot go into a header is the contact's
data (named with the merge field it came from) or the sender's settings; a setting missing
or a template that cannot be filled in is configuration. The run and the dry run say the
same thing about the same message."""

from __future__ import annotations

from typing import Any

from engine.errors import BackofficeError, ValidationFailed
from engine.mailmerge.message import FROM_SETTINGS, breaking


class SenderMissing(BackofficeError):
    """`mail.sender` is not set: no message can be built (configuration, tried again)."""

    field = "mail.sender"
    code = "required"


def why_not_built(refused: BackofficeError, recipient) -> tuple[str, str, str]:
    """(reason, kind, field) of a message that could not be built for `recipient`: a value
    that cannot go into a header is `data` (the contact's, named with the merge field it came
    from) or `configuration` (the sender's, from the settings); a setting missing or a
    template that cannot be filled in is `configuration`. The reason goes with the contact's
    id and name (the message's row, the report)."""
    if not isinstance(refused, ValidationFailed):
        return str(refused), "configuration", refused.field
    fields = [p.field for p in refused.problems if p.field]
    if fields and all(f in FROM_SETTINGS for f in fields):
        return f"{refused}; correct mail.sender_name or mail.sender, then resume the run", "configuration", fields[0]
    merged = sorted(_breaking_fields(recipient.context))
    source = f"; it comes from the merge field {', '.join(merged)}" if merged else ""
    return (f"{refused}{source}: correct the contact, then `backoffice mail resume` sends it",
            "data", fields[0] if fields else "")


def _breaking_fields(value: Any, path: str = "") -> list[str]:
    """The merge fields (`contact.name`) whose text a header could not carry."""
    if isinstance(value, str):
        return [path] if breaking(value) else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _breaking_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return sorted({f for v in value for f in _breaking_fields(v, f"{path}[]")})
    return []
