"""The command line as a client of the server (`--server URL` or BACKOFFICE_SERVER_URL, with
BACKOFFICE_TOKEN): a branch office needs the command and a token, no database access.

The server answers with the same results and refusals as the local commands (engine.api);
this module only carries them: a problem detail becomes a `RemoteRefusal` with the problem's
structured problems and the exit code it names, so `cli_support.handles_errors` prints and
exits exactly as for a local refusal. A server that cannot be reached is a refusal naming
the setting (exit 2), never a stack trace. The token is the identity: `--user` naming anyone
else is refused (`check_user`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from engine import __version__
from engine.config import Settings
from engine.errors import BackofficeError, UnusableInput
from engine.problems import Problem

if TYPE_CHECKING:
    from engine.sheets.roundtrip import FileResult

# Connecting is quick or hopeless; answering a sync of a large workbook can take minutes.
TIMEOUT = httpx.Timeout(connect=15.0, read=900.0, write=900.0, pool=15.0)
SETTING = "--server / BACKOFFICE_SERVER_URL"


class RemoteRefusal(BackofficeError):
    """The server refused (a problem detail): its message, problems and exit code."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status = status
        self.code = str(body.get("code") or "refused")
        self.exit_code = int(body.get("exit_code") or (3 if status >= 500 else 2))
        self.body = body
        self._problems = [Problem(p.get("field") or "", p.get("code") or self.code, p.get("message") or "",
                                  p.get("line")) for p in body.get("problems") or ()]
        super().__init__(str(body.get("detail") or f"the server refused the request (HTTP {status})"))

    @property
    def problems(self) -> list[Problem]:
        return self._problems or [Problem("", self.code, str(self))]


class ServerUnavailable(BackofficeError):
    """The server cannot be reached, or answers something that is not the Backoffice API."""

    code = "server_unavailable"
    field = "server_url"


LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _check_private(url: str) -> None:
    """The token goes with every request: only over HTTPS, or to this very computer (a server
    or tunnel on loopback). Plain HTTP across a network would hand it to anyone listening."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.host in LOOPBACK):
        return
    if parsed.scheme == "http":
        raise ServerUnavailable(f"{SETTING} is {url}: plain HTTP would send your token unencrypted across the "
                                f"network; use the server's https:// address (ask the administrator)")
    raise ServerUnavailable(f"{SETTING} is {url!r}, not a web address: write it as https://SERVER "
                            "(the administrator gives it)")


class Server:
    """The server named by the settings, called with the person's token."""

    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT, transport=transport,
                                   headers={"Authorization": f"Bearer {token}",
                                            "User-Agent": f"backoffice/{__version__}"})
        self._me: dict[str, Any] | None = None

    @classmethod
    def of(cls, config: Settings) -> Server:
        if config.token is None or not config.token.get_secret_value().strip():
            raise ServerUnavailable(f"the server {config.server_url} needs your API token: set BACKOFFICE_TOKEN "
                                    "(an administrator makes one with `backoffice users token create`)")
        _check_private(config.server_url)
        return cls(config.server_url, config.token.get_secret_value().strip())

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            reply = self.client.request(method, path, **options)
        except httpx.TimeoutException:
            raise ServerUnavailable(f"the server {self.url} did not answer in time ({SETTING}); whether a "
                                    "change was saved is unknown: check before trying again") from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"the server {self.url} cannot be reached ({type(exc).__name__}: {exc}); "
                                    f"check {SETTING} and the network") from None
        if reply.status_code >= 400:
            raise self._refusal(reply)
        return reply

    def _refusal(self, reply: httpx.Response) -> BackofficeError:
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            return ServerUnavailable(f"{self.url} answered HTTP {reply.status_code} without a Backoffice problem "
                                     f"detail: is {SETTING} the Backoffice server's address?")
        return RemoteRefusal(reply.status_code, body)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=_given(params)).json()

    def rows(self, path: str, params: dict[str, Any] | None = None, at_most: int | None = None) -> Any:
        """GET `path`; a list answered a page at a time is followed to its end (or `at_most`
        rows) and returned whole, as the local query returns it."""
        answer = self.get(path, params)
        if not _is_page(answer):
            return answer
        rows = list(answer["items"])
        while answer["next"] and (at_most is None or len(rows) < at_most):
            answer = self.get(path, {**(params or {}), "cursor": answer["next"]})
            rows += answer["items"]
        return rows[:at_most] if at_most is not None else rows

    def me(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self.get("/me")
        return self._me

    def check_user(self, user: str | None) -> None:
        """The token is the identity: naming anyone else (`--user`, BACKOFFICE_USER) is refused."""
        if user and user != self.me()["login"]:
            raise RemoteRefusal(403, {
                "code": "permission", "exit_code": 2, "problems": [{
                    "field": "user", "code": "permission",
                    "message": f"through the server your token is your identity: it acts for "
                               f"{self.me()['login']}, so acting as {user} (--user or BACKOFFICE_USER) is refused"}],
                "detail": f"through the server your token is your identity: it acts for {self.me()['login']}, "
                          f"so acting as {user} (--user or BACKOFFICE_USER) is refused"})

    # -- workbooks ----------------------------------------------------------------------------

    def export(self, module: str) -> tuple[bytes, dict[str, int], bool]:
        """The caller's new workbook of `module`, its rows per sheet, and whether it is private
        (holds sensitive fields: written readable by its owner only)."""
        reply = self.request("GET", f"/workbooks/{module}")
        return (reply.content, json.loads(reply.headers.get("Backoffice-Rows") or "{}"),
                reply.headers.get("Backoffice-Private") == "true")

    def round_trip(self, operation: str, path: Path, **fields: bool) -> Answer:
        """Upload `path` to `/workbooks/{operation}` and take the answer. A file the server
        refuses as unusable (hostile, unreadable, too large, not ours) is an UnusableInput
        naming `path`, as it is locally."""
        content = path.read_bytes()
        try:
            reply = self.request("POST", f"/workbooks/{operation}",
                                 files={"file": (path.name, content, "application/octet-stream")},
                                 data={k: "true" if v else "false" for k, v in fields.items()})
        except RemoteRefusal as refused:
            if refused.status == 413 or (refused.status == 422 and "reason" in refused.body):
                raise UnusableInput(path, refused.body.get("reason") or str(refused)) from None
            raise
        from engine.sheets.roundtrip import (
            FileResult,  # here: the round trip is heavy; only results need it
        )

        answer = reply.json()
        result = FileResult.from_json({**answer["result"], "file": str(path)})
        result.annotated = bool(answer.get("annotated"))
        workbook = base64.b64decode(answer["workbook"]) if answer.get("workbook") is not None else None
        return Answer(result, workbook, hashlib.sha256(content).digest())


@dataclass
class Answer:
    result: FileResult
    workbook: bytes | None        # the annotated or refreshed file; None: the file stays as it is
    sent: bytes                   # digest of the file as uploaded


def write_back(path: Path, answer: Answer, synced: bool) -> None:
    """Put the workbook the server answered in place of `path`, as the local round trip
    writes its own (engine.sheets.roundtrip: a temporary file beside, then replaced keeping
    the file's permissions). After a sync the records are saved whatever happens here: a
    file that cannot be replaced, or that was changed while the server worked on it (its
    new edits would be lost), is left as it is and the synced copy kept beside it, with the
    same warning as locally. After a validate or refresh (nothing saved) such a file is
    left as it is, and the command is refused."""
    from engine.sheets import roundtrip  # here: the round trip is heavy; only write-back needs it

    if answer.workbook is None:
        return
    changed = not path.exists() or hashlib.sha256(path.read_bytes()).digest() != answer.sent
    if changed and not synced:
        raise UnusableInput(path, "was changed while the server worked on it, so the server's answer was not "
                                  "written into it; run the command again")
    temp = roundtrip.temp_beside(path)
    try:
        temp.write_bytes(answer.workbook)
        if synced:
            kept, why = roundtrip.put_in_place(temp, path, replace=not changed,
                                               why_not=f"{path} was changed while the server synced it")
            if kept is not None:
                roundtrip.kept_beside(answer.result, path, kept, why)
        else:
            roundtrip.replace_keeping_mode(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _given(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None}


def _is_page(answer: Any) -> bool:
    return isinstance(answer, dict) and set(answer) == {"items", "next", "total"}
