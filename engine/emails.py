"""The one check of an e-mail address, shared by contacts, staff and user accounts (a kernel
rule: no database, no module)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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
    texts = list(filter(None, values))
    try:    # one per line (none holds a line break): what is found in the whole is in one of them
        joined = "\n".join(texts)
        plain = joined.count("\n") == len(texts) - 1 and joined.isascii() and ".." not in joined \
            and ".@" not in joined and not joined.startswith(".") and "\n." not in joined \
            and _PLAIN_EMAILS.fullmatch(joined) is not None
    except TypeError:
        plain = False    # a value that is not text: each is looked at
    if plain or not texts:
        return []
    return [at for at, value in enumerate(values) if value and not (value.__class__ is str and _plain(value))]


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
