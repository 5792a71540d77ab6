"""The one check of an e-mail address, shared by contacts, staff and user accounts (a kernel
rule: no database, no module)."""

from __future__ import annotations

import re

# The WHATWG "valid e-mail address" (what browsers accept): plain ASCII addresses are checked
# with this fast pattern; anything else goes to email-validator, which knows the full rules.
_PLAIN_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)


def check_email(value: str | None) -> str | None:
    """The problem with an e-mail address, or None if it is acceptable."""
    if not value:
        return None
    if value.isascii() and _PLAIN_EMAIL.fullmatch(value) and ".." not in value and ".@" not in value \
            and not value.startswith("."):
        return None
    from email_validator import (  # here: a slow import, rarely needed
        EmailNotValidError,
        validate_email,
    )

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{value!r} is not a valid e-mail address ({exc})"
    return None
