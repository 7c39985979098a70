"""What every scenario gets: the stack, connections to its backends, a notice gateway, the report."""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import httpx
from temporalio.client import Client

from activities.escalation import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_body
from activities.eventstore import EventStore
from domain.roll import Roll, Room
from yishi.check.report import Report
from yishi.check.stack import FaultStack

T = TypeVar("T")


class NoticeGateway:
    """A stand-in SMS/WeChat gateway and a stand-in organisation system, served by the suite.

    ``/notices`` is the community's notice webhook (deliberation notices carry ``deliberation_id``, escalation
    notices ``ticket_id``); ``/org`` is the webhook of the organisations a ticket is assigned to (signed with
    ``secret``, HMAC-SHA256). Every request is counted by stream and ``Idempotency-Key`` (the notice id, or
    ``webhook:<n>:<org>``), so anything sent twice shows up as a count of 2."""

    def __init__(self, secret: str = "") -> None:
        self.received: Counter[str] = Counter()
        self.org_received: Counter[str] = Counter()
        self.bad_signatures: list[str] = []
        self.secret = secret
        self.port = 0
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notices"

    @property
    def org_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/org"

    async def start(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def receive(request: Request) -> JSONResponse:
            body = await request.json()
            stream = body.get("deliberation_id") or body.get("ticket_id")
            self.received[f"{stream}:{request.headers.get('idempotency-key', '?')}"] += 1
            return JSONResponse({"ok": True})

        async def receive_org(request: Request) -> JSONResponse:
            raw = await request.body()
            body = json.loads(raw)
            key = f"{body['ticket_id']}:{request.headers.get('idempotency-key', '?')}"
            stamp = request.headers.get(TIMESTAMP_HEADER, "")
            if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), sign_body(self.secret, stamp, raw)):
                self.bad_signatures.append(key)
                return JSONResponse({"error": "bad signature"}, status_code=401)
            self.org_received[key] += 1
            return JSONResponse({"ok": True})

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        app = Starlette(routes=[Route("/notices", receive, methods=["POST"]),
                                Route("/org", receive_org, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                     access_log=False, lifespan="off"))
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def sent_twice(self, stream: str) -> list[str]:
        """Notices and organisation webhooks of ``stream`` (a deliberation or a ticket) received more than once."""
        return [k for counter in (self.received, self.org_received)
                for k, n in counter.items() if k.startswith(stream + ":") and n > 1]

    def count(self, stream: str) -> int:
        """Notices of ``stream`` received (organisation webhooks not included)."""
        return sum(n for k, n in self.received.items() if k.startswith(stream + ":"))

    def org_count(self, ticket_id: str) -> int:
        return sum(n for k, n in self.org_received.items() if k.startswith(ticket_id + ":"))


@dataclass
class Run:
    stack: FaultStack
    pool: asyncpg.Pool
    store: EventStore
    client: Client
    http: httpx.AsyncClient
    gateway: NoticeGateway
    report: Report
    long: bool = False
    log: Callable[[str], None] = print
    community: str = "faults"
    shared: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.now(UTC)


async def poll(check: Callable[[], Awaitable[T | None]], what: str, timeout: float) -> T:  # noqa: ASYNC109
    """Ask ``check`` until it returns something truthy, or fail naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            value = await check()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            value = None  # a backend coming back: ask again
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


def estate(owners: int, *, building: str = "3", entrance: str = "2", prefix: str = "F") -> Roll:
    """``owners`` owners, one flat each, two flats a floor, in one entrance."""
    rooms = [Room(room_id=f"{building}-{entrance}-{1000 + n}", building=building,
                  entrance=entrance, floor=str(n // 2 + 1), area_m2=Decimal("70.25") + n % 30,
                  owner_id=f"{prefix}{n:05d}", owner_name=f"业主{n}", phone=f"139{n:08d}")
             for n in range(owners)]
    return Roll(rooms=tuple(rooms), source="faults")
