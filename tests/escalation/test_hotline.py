"""接诉即办 intake (issue 19): a 12345 system creates a ticket through the signed JSON API, the same case twice gives
one ticket, the address finds the grid, and a local receiver (loopback only) gets the signed callbacks of the
response, the resolution and the rating, the first one after a failed attempt (retried)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import uvicorn
from pydantic import SecretStr
from temporalio.worker import Worker

from activities.registry import build_activities
from tests.escalation.conftest import ticket_until
from tests.web.conftest import SECRET
from workflows.escalation import TicketAction
from workflows.registry import WORKFLOWS
from yishi.services import structure
from yishi.services.escalations import act
from yishi.services.hotline import register_hotline
from yishi.settings import Settings


@asynccontextmanager
async def worker(env, store, pool, task_queue: str) -> AsyncIterator[None]:  # noqa: ANN001
    """The real activities with the app's secret key (the hotline's signing secret is derived from it)."""
    settings = Settings(task_queue=task_queue, secret_key=SecretStr(SECRET))
    async with Worker(env.client, task_queue=task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        yield


class Receiver:
    """The hotline's callback endpoint on 127.0.0.1: checks every signature, fails the first request (503)."""

    def __init__(self, secret: str) -> None:
        self.secret, self.got, self.attempts, self.bad = secret, [], 0, []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - a bare ASGI app
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        mac = hmac.new(self.secret.encode(), headers["x-yishi-timestamp"].encode() + b"." + body,
                       hashlib.sha256).hexdigest()
        self.attempts += 1
        if not hmac.compare_digest(f"sha256={mac}", headers["x-yishi-signature"]):
            self.bad.append(body)
            status = 401
        elif self.attempts == 1:
            status = 503
        else:
            self.got.append(json.loads(body))
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def serve(app) -> AsyncIterator[str]:  # noqa: ANN001
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}/callback"
    server.should_exit = True
    await task


def signed(secret: str, doc: dict, *, at: float | None = None, token: str) -> dict:
    body = json.dumps(doc, ensure_ascii=False).encode()
    stamp = str(int(at if at is not None else time.time()))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"content": body, "headers": {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                         "X-Yishi-Timestamp": stamp, "X-Yishi-Signature": f"sha256={mac}"}}


async def until(check, what: str, timeout: float = 30) -> None:  # noqa: ANN001, ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_case_sent_twice_gives_one_ticket_and_signed_callbacks(ts_env, store, pool, task_queue, app,
                                                                       client) -> None:
    app.state.temporal = ts_env.client
    app.state.settings = app.state.settings.model_copy(update={"task_queue": task_queue})
    community = f"hl{uuid.uuid4().hex[:6]}"
    grid_csv = ("社区,网格编号,楼栋,地址,网格员\r\n"
                f"{community},HL-01,3,幸福路3号楼{community},赵网格\r\n{community},HL-02,4,幸福路4号楼{community},孙网格\r\n")
    await structure.import_grids(store, pool, grid_csv.encode(), "g.csv", street="jc", by="cli t",
                                 at=datetime.now(UTC) - timedelta(days=1))
    org = f"hotline:{community}"
    receiver = Receiver("")
    async with serve(receiver) as url, worker(ts_env, store, pool, task_queue):
        token, secret = await register_hotline(pool, org, secret_key=SECRET, callback_url=url)
        receiver.secret = secret
        case = {"source": "12345", "case_number": f"C{community}", "category": "urban_management",
                "subject": "楼道堆放杂物", "detail": "3号楼2单元楼道堆满纸箱",
                "address": f"东城区幸福路3号楼{community}2单元301",
                "caller_name": "市民张女士", "caller_phone": "13900000000"}
        first = await client.post("/api/v1/hotline/cases", **signed(secret, case, token=token))
        assert first.status_code == 201, first.text
        again = await client.post("/api/v1/hotline/cases", **signed(secret, case, token=token))
        assert again.status_code == 200 and again.json()["ticket_id"] == first.json()["ticket_id"]
        tid = first.json()["ticket_id"]
        assert first.json()["community"] == community
        changed = await client.post("/api/v1/hotline/cases", **signed(secret, {**case, "subject": "别的"}, token=token))
        assert changed.status_code == 409 and changed.json()["error"] == "case_reused"
        stale = await client.post("/api/v1/hotline/cases", **signed(secret, case, token=token, at=time.time() - 600))
        forged = await client.post("/api/v1/hotline/cases", **signed("0" * 64, case, token=token))
        unknown = await client.post("/api/v1/hotline/cases", **signed(secret, case, token="x" * 43))
        assert [r.status_code for r in (stale, forged, unknown)] == [401, 401, 401]
        assert stale.json()["error"] == "bad_timestamp" and forged.json()["error"] == "bad_signature"

        handle = ts_env.client.get_workflow_handle(tid)
        state = await ticket_until(handle, lambda t: t.current is not None, "routed")
        assert (state.current.org, state.routed_by, state.channel) == (f"grid:{community}:HL-01", "address",
                                                                       "hotline")
        assert (state.source, state.case_number, state.initiator_kind) == ("12345", case["case_number"], "hotline")
        assert "13900000000" not in json.dumps([e.payload for e in await store.read(tid)]), "not in the stream"
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM hotline_cases WHERE ticket_id = $1", tid) == 1
        assert [e.type for e in await store.read(tid)].count("EscalationOpened") == 1

        grid = {"role": "grid_worker", "actor": "赵网格", "org": f"grid:{community}:HL-01"}
        await act(ts_env.client, tid, "acknowledge", TicketAction(**grid))
        await until(lambda: [d["event"] for d in receiver.got] == ["ticket.response"], "the response callback")
        await act(ts_env.client, tid, "resolve", TicketAction(**grid, outcome="resolved", text="已清理楼道"))
        await until(lambda: len(receiver.got) == 2, "the resolution callback")
        status = await client.get(f"/api/v1/hotline/cases/12345/{case['case_number']}",
                                  headers={"Authorization": f"Bearer {token}"})
        assert status.status_code == 200 and status.json()["status"] == "resolved"
        assert status.json()["resolution"] == "已清理楼道" and status.json()["grid"] == "HL-01"
        rated = await client.post(f"/api/v1/hotline/cases/12345/{case['case_number']}/rating",
                                  **signed(secret, {"answer": "satisfied", "comment": "满意"}, token=token))
        assert rated.status_code == 200 and rated.json()["status"] == "closed", rated.text
        await until(lambda: len(receiver.got) == 3, "the rating callback")
    assert [d["event"] for d in receiver.got] == ["ticket.response", "ticket.resolution", "ticket.rating"]
    assert receiver.got[2]["rating"] == "satisfied" and receiver.got[1]["resolution"] == "已清理楼道"
    assert receiver.bad == [] and receiver.attempts == 4, "the first attempt failed and was retried once"
    delivered = [e.payload for e in await store.read(tid) if e.type == "NoticeDelivered"
                 and e.payload["channel"] == "hotline-callback"]
    assert [d["notice_id"].split("-")[0] for d in delivered] == ["response", "resolution", "rating"]
