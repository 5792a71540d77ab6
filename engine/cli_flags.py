"""Root-level flags of the `backoffice` command (`backoffice --database-url ... COMMAND`): set
by the root callback, read by `engine.cli_support`. A module of its own, so the root of the
command line needs nothing heavy to hold them."""

from __future__ import annotations


class _Flags:
    database_url: str | None = None
    server_url: str | None = None


flags = _Flags()
