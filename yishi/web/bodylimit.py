"""A cap on request bodies, before any route reads them: a form or JSON body over the cap is answered 413
with a page (or JSON under /api) that says what to do, and is never buffered whole.

One cap for the whole app, and a larger one for the few paths that take an upload (:data:`PATH_LIMITS`,
matched exactly: such a path has no parameters)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

MAX_BODY_BYTES = 64 * 1024
# A refused body is read and dropped up to this much, so that the client, still sending, gets the page and
# not a reset connection; beyond it the connection is closed.
DRAIN_BYTES = 8 * 1024 * 1024
WITH_BODY = {"POST", "PUT", "PATCH"}
ROLL_UPLOAD_BYTES = 8 * 1024 * 1024
PATH_LIMITS: dict[str, int] = {
    "/console/new": ROLL_UPLOAD_BYTES,  # the owners roll of a large estate (yishi/web/console_start.py)
}


class BodyLimit:
    """Pure ASGI middleware: refuse by ``Content-Length``; a chunked body is read up to the cap, then replayed."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES, paths: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.paths = PATH_LIMITS if paths is None else paths

    def limit_for(self, scope: dict[str, Any]) -> int:
        return self.paths.get(scope.get("path", ""), self.limit)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                return await self._refuse(scope, receive, send)
            return await self.app(scope, receive, send)
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                if not message.get("more_body"):
                    size = DRAIN_BYTES + 1  # all read already: nothing left to drain
                return await self._refuse(scope, receive, send, size)
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any, drained: int = 0) -> None:
        length = dict(scope["headers"]).get(b"content-length", b"")
        if not (length.isdigit() and int(length) > DRAIN_BYTES):
            while drained <= DRAIN_BYTES:
                message = await receive()
                drained += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        request = Request(scope, receive)
        if request.url.path.startswith("/api/"):
            from yishi.web.api import fail

            kib = self.limit_for(scope) // 1024
            response: Any = fail(413, "too_large", "请求内容过大，未记录任何内容",
                                 f"the request body is larger than {kib} KiB; nothing was recorded")
        else:
            from yishi.web.render import message_page

            response = message_page(request, 413, "too_large_title", body_key="too_large_body")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def install_body_limit(app: FastAPI, limit: int = MAX_BODY_BYTES, paths: dict[str, int] | None = None) -> None:
    app.add_middleware(BodyLimit, limit=limit, paths=paths)
