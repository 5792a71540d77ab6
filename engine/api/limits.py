"""The size of a request, bounded before it is read: a body larger than the setting
`server.max_request_bytes` is refused with 413 as soon as it is seen to be, whether it says
its length or not."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from engine.api.problems import problem_reply


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
        seen, started, refused = 0, False, False

        async def counted() -> dict[str, Any]:
            # Past the limit the caller is answered 413 here, and the application is told the
            # client left (a framework would turn an exception into its own 400).
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:
                return              # the 413 has been sent: nothing of the application's follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, sending)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        reply = problem_reply(413, "too_large", f"the request is larger than this server accepts "
                              f"({self.max_bytes:,} bytes: setting server.max_request_bytes)", Request(scope))
        await reply(scope, receive, send)
