"""The one check of an e-mail address, shared by contacts, staff and user accounts (a kernel
rule: no database, no module)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.limits import narrowed

# The WHATWG "valid e-mail address" (what browsers accept): plain ASCII addresses are checked
# with this fast pattern; anything else goes to email-validator, which knows the full rules.
_ADDRESS = (r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
            r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+")
_PLAIN_EMAIL = re.compile(_ADDRESS)
_PLAIN_EMAILS = re.compile(f"{_ADDRESS}(?:\n{_ADDRESS})*")    # one a line (no line break in one)


def _plain(value: str) -> bool:
    """A plain ASCII address the fast pattern accepts (most are): valid."""
    return bool(value.isascii() and _PLAIN_EMAIL.fullmatch(value) and ".." not in value and ".@" not in value
                and not value.startswith("."))


def doubtful_emails(values: Sequence[Any]) -> list[int]:
    """The positions in `values` (a column's, None where empty) of the addresses `check_email`
    may refuse: every one, perhaps a few more. A column of plain addresses (a sheet's, nearly
    always) is found so as a whole, without a call per address."""
    return narrowed(values, _plain_addresses, lambda value: value and not (value.__class__ is str and _plain(value)))


def _plain_addresses(values: Sequence[Any]) -> bool | None:
    """Whether the addresses (None where empty) are all plain, looked at as one text of one
    address a line (no line break in one): what is found in it is found in one of them.
    None: one is not text."""
    texts = list(filter(None, values))
    try:
        joined = "\n".join(texts)
    except TypeError:
        return None
    return not texts or (joined.count("\n") == len(texts) - 1 and joined.isascii() and ".." not in joined
                         and ".@" not in joined and not joined.startswith(".") and "\n." not in joined
                         and _PLAIN_EMAILS.fullmatch(joined) is not None)


def check_email(value: str | None) -> str | None:
    """The problem with an e-mail address, or None if it is acceptable."""
    if not value or _plain(value):
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
