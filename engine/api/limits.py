"""The size of a request, bounded before it is read: a body larger than the setting
`server.max_request_bytes` is refused with 413 as soon as it is seen to be, whether it says
its length or not."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from engine.api.problems import problem_reply


class _TooLarge(Exception):
    pass


class LimitRequestSize:
    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        reply = problem_reply(413, "too_large", f"the request is larger than this server accepts "
                              f"({self.max_bytes:,} bytes: setting server.max_request_bytes)", Request(scope))
        await reply(scope, receive, send)
