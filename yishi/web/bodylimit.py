"""Request bodies are bounded before any route reads them: in size, in who may send a large one, and in time.

- A form or JSON body over the cap is answered 413 with a page (or JSON under /api) that says what to do, and is
  never buffered whole. One cap for the whole app, and a larger one for the few paths that take an upload
  (:data:`UPLOADS`, matched exactly: such a path has no parameters).
- An upload path is for signed-in staff of the roles it names: the session is checked from the request's headers
  before a byte of the body is read, and anyone else gets the answer the route would give (303 to the sign-in page,
  or 403) with the connection closed. So an outsider cannot make the server hold a large body. A browser's
  cross-site post to it (``Sec-Fetch-Site: cross-site``) can only be a forged form and is refused the same way.
- A body that stalls is answered 408 and the connection closed: no bytes for ``idle`` seconds, or the body not
  complete ``total`` seconds after the request's headers (yishi/settings.py, ``YISHI_BODY_*_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import FastAPI, Request

from domain.errors import N_, Text

log = structlog.get_logger(__name__)
MAX_BODY_BYTES = 64 * 1024
# A refused body is read and dropped up to this much, so that the client, still sending, gets the page and
# not a reset connection; beyond it the connection is closed.
DRAIN_BYTES = 8 * 1024 * 1024
WITH_BODY = {"POST", "PUT", "PATCH"}
ROLL_UPLOAD_BYTES = 16 * 1024 * 1024  # a roll of 200,000 rooms (the row cap) is about 15 MB as CSV
ATTACHMENTS_UPLOAD_BYTES = 21 * 1024 * 1024
PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024 + 64 * 1024  # a phone's photo of the posted sheet, and the form's fields
DOCUMENT_UPLOAD_BYTES = 5 * 1024 * 1024 + 64 * 1024
IDLE_SECONDS = 15.0
TOTAL_SECONDS = 120.0  # 16 MiB in two minutes: a slow mobile uplink of about 1 Mbit/s


@dataclass(frozen=True)
class Upload:
    limit: int
    roles: tuple[str, ...]
    """Who may send it: signed-in staff with one of these roles (checked before the body is read)."""


UPLOADS: dict[str, Upload] = {
    "/console/new": Upload(ROLL_UPLOAD_BYTES, ("committee",)),  # the owners roll (yishi/web/console_start.py)
    # the owners roll of an appraisal of the property company (yishi/web/console_appraisal_open.py)
    "/console/appraisals/open": Upload(ROLL_UPLOAD_BYTES, ("committee",)),
    "/console/structure/import": Upload(ROLL_UPLOAD_BYTES, ("street_office",)),  # a grid file (structure_import.py)
    # a complaint with up to 4 photos or scans of 5 MB (yishi/web/console_complaint.py, services/attachments.py)
    "/console/escalations/new": Upload(ATTACHMENTS_UPLOAD_BYTES, ("committee", "grid_worker", "street_office")),
    # the photo of a posted notice (yishi/web/console_postings.py; services/channels.py MAX_PHOTO, and the form)
    "/console/postings": Upload(PHOTO_UPLOAD_BYTES, ("committee", "grid_worker")),
    # the matter's plan or cost table, a PDF or photo of 5 MB (yishi/web/plan_documents.py, services/attachments.py)
    "/console/documents": Upload(DOCUMENT_UPLOAD_BYTES, ("committee",)),
}
PATH_LIMITS: dict[str, int] = {path: upload.limit for path, upload in UPLOADS.items()}
INTAKE_PATH = re.compile(r"^/t/[A-Za-z0-9_-]{43}$")
"""A resident's topic with photos through a community's intake link (yishi/web/topic_pages.py): no account, so the
link itself is checked (a live intake link, one indexed lookup) before a byte of the body is read."""


OWNER_TOPIC_PATH = re.compile(r"^/v/[A-Za-z0-9_-]{20,64}/topic$")
"""An owner's topic with photos through the personal voting link (yishi/web/topic_owner.py): the link is checked
(a live voting link) before a byte of the body is read, as the intake link's."""


def intake_limit(scope: dict[str, Any]) -> int:
    """The photos a topic may carry (``YISHI_TOPIC_PHOTO_MAX_COUNT`` × ``..._MAX_BYTES``) and the form's fields."""
    settings = scope["app"].state.settings
    return settings.topic_photo_max_count * settings.topic_photo_max_bytes + MAX_BODY_BYTES * 4


class BodyTimeout(Exception):
    """The client stopped sending its body, or sent it too slowly."""


class _Deadline:
    """``receive`` with a deadline for each part of the body and for the whole of it (none once it is complete:
    a route may wait on ``receive`` for the client's disconnect)."""

    def __init__(self, receive: Any, idle: float, total: float) -> None:
        self.raw = receive
        self.idle = idle
        self.loop = asyncio.get_running_loop()
        self.until = self.loop.time() + total
        self.complete = False

    async def receive(self) -> dict[str, Any]:
        if self.complete:
            return await self.raw()
        wait = min(self.idle, self.until - self.loop.time())
        if wait <= 0:
            raise BodyTimeout
        try:
            async with asyncio.timeout(wait):
                message = await self.raw()
        except TimeoutError:
            raise BodyTimeout from None
        if message["type"] != "http.request" or not message.get("more_body"):
            self.complete = True
        return message


class BodyLimit:
    """Pure ASGI middleware: refuse by ``Content-Length``; a chunked body is read up to the cap, then replayed."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES, uploads: dict[str, Upload] | None = None,
                 idle: float = IDLE_SECONDS, total: float = TOTAL_SECONDS) -> None:
        self.app = app
        self.limit = limit
        self.uploads = UPLOADS if uploads is None else uploads
        self.idle = idle
        self.total = total

    def limit_for(self, scope: dict[str, Any]) -> int:
        upload = self.uploads.get(scope.get("path", ""))
        path = scope.get("path", "")
        if upload is None and (INTAKE_PATH.match(path) or OWNER_TOPIC_PATH.match(path)) and "app" in scope:
            return intake_limit(scope)
        return self.limit if upload is None else upload.limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            return await self.app(scope, receive, send)
        upload = self.uploads.get(scope.get("path", ""))
        if upload is not None and upload.roles:
            from yishi.web.staff import upload_refusal

            refusal = await upload_refusal(Request(scope), upload.roles)
            if refusal is not None:  # not a byte of the body read
                log.info("web.upload_refused", path=scope.get("path"), status=refusal.status_code)
                return await _closing(refusal, scope, receive, send)
        if upload is None and INTAKE_PATH.match(scope.get("path", "")):
            from yishi.web.topic_pages import intake_upload_refusal

            refusal = await intake_upload_refusal(Request(scope))
            if refusal is not None:
                log.info("web.upload_refused", path="/t/…", status=refusal.status_code)
                return await _closing(refusal, scope, receive, send)
        if upload is None and OWNER_TOPIC_PATH.match(scope.get("path", "")):
            from yishi.web.topic_owner import owner_upload_refusal

            refusal = await owner_upload_refusal(Request(scope))
            if refusal is not None:
                log.info("web.upload_refused", path="/v/…/topic", status=refusal.status_code)
                return await _closing(refusal, scope, receive, send)
        started: list[int] = []

        async def send_marked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.append(message["status"])
            await send(message)

        try:
            await self._bounded(scope, _Deadline(receive, self.idle, self.total).receive, send_marked)
        except BodyTimeout:
            if started:
                raise
            log.info("web.body_timeout", path=scope.get("path"), idle_s=self.idle, total_s=self.total)
            await self._timed_out(scope, receive, send)

    async def _bounded(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
            try:
                while drained <= DRAIN_BYTES:
                    message = await receive()
                    drained += len(message.get("body", b""))
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
            except BodyTimeout:  # a client that stopped sending gets the 413 all the same
                pass
        request = Request(scope, receive)
        if request.url.path.startswith("/api/"):
            from yishi.web.api import fail

            kib = self.limit_for(scope) // 1024
            response: Any = fail(413, "too_large", Text(
                N_("the request body is larger than %(kib)s KiB; nothing was recorded"), kib=kib))
        else:
            from yishi.web.render import message_page

            response = message_page(request, 413, N_("Too much data"), N_(
                "What was sent is larger than allowed; nothing was recorded. Go back to the page and submit again."))
        await _closing(response, scope, receive, send)

    async def _timed_out(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope)
        if request.url.path.startswith("/api/"):
            from yishi.web.api import fail

            response: Any = fail(408, "body_timeout", Text(
                N_("the request body did not arrive in time; nothing was recorded")))
        else:
            from yishi.web.render import message_page

            response = message_page(request, 408, N_("Sending took too long"), N_(
                "What was being sent stopped arriving; nothing was recorded. Check the connection, go back to the page "
                "and submit again."))
        await _closing(response, scope, receive, send)


async def _closing(response: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Send ``response`` and close the connection after it (the rest of the body, if any, is never read)."""
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def install_body_limit(app: FastAPI, limit: int = MAX_BODY_BYTES, uploads: dict[str, Upload] | None = None,
                       idle: float = IDLE_SECONDS, total: float = TOTAL_SECONDS) -> None:
    app.add_middleware(BodyLimit, limit=limit, uploads=uploads, idle=idle, total=total)
