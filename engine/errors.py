"""Errors the engine raises on purpose, each with a message an office worker can act on.

Each carries the exit code the CLI uses: 1 for data problems and conflicts (nothing was
applied), 2 for unusable input or a refused request, 3 is left for the unexpected.
"""

from __future__ import annotations


class BackofficeError(Exception):
    """Base of every expected failure; `str(err)` is the message shown to the user."""

    exit_code = 2


class NotFound(BackofficeError):
    """A record asked for by id or key does not exist."""


class StaleRecordError(BackofficeError):
    """An update was based on an old version of a record that someone else has changed."""

    exit_code = 1

    def __init__(self, record: str, expected: int | None, actual: int | None):
        self.record, self.expected, self.actual = record, expected, actual
        now = f" (it is at version {actual}, you had version {expected})" if actual else ""
        super().__init__(
            f"{record} was changed by someone else since you loaded it{now}; "
            "nothing was saved: reload it and make your change again."
        )


class ValidationFailed(BackofficeError):
    """One or more business rules failed; `problems` lists every one of them."""

    exit_code = 1

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class UnknownUser(BackofficeError):
    """The acting user is not in the users table."""


class PermissionDenied(BackofficeError):
    """The acting user's roles do not allow the action."""


class SchemaMismatch(BackofficeError):
    """The database schema and the code disagree (newer, older or not ours)."""


class UnusableInput(BackofficeError):
    """A file that cannot be used at all: unreadable, hostile, or not one of our workbooks.

    Nothing is read from it and nothing is written anywhere; exit code 2.
    """

    def __init__(self, path: object, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")
