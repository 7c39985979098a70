"""Notice channels: each delivery is an event; a failing channel is retried, reported, never dropped."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notices import ChannelQuery, Delivery, NoticeActivities, NoticeSettings
from domain.roll import Scope
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticePublished, stage_event_from_dict
from tests.workflows.conftest import complete, estate_roll, running_worker, stage_is, wait_for
from yishi.services.deliberations import store_roll
from yishi.services.procedures import StartRequest, procedure_status, start_procedure

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def delivery(stream: str, digest: str, channel: str, recipients: tuple[str, ...] | None = None) -> Delivery:
    notice = NoticePublished(at=NOW, notice_id=f"n-{uuid.uuid4().hex[:6]}", kind="reminder", title_zh="提醒",
                             title_en="Reminder", body_zh="请投票", body_en="Please vote", recipients=recipients)
    return Delivery(deliberation_id=stream, community="default", roll_digest=digest, scope=Scope(building="3"),
                    channel=channel, notice=notice)


async def stage_events(store, stream: str) -> list:  # noqa: ANN001
    return [stage_event_from_dict(e.type, e.payload) for e in await store.read(stream)]


async def test_webhook_failure_is_recorded_then_retried_delivery_once(store, pool, stream_id) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) == 1 else 200)

    settings = NoticeSettings(channels=("print", "webhook"), webhook_url="http://gateway.test/sms",
                              webhook_token=SecretStr("s3cret"))
    notices = NoticeActivities(store, pool, settings, transport=httpx.MockTransport(handler))
    digest = await store_roll(pool, estate_roll())
    params = delivery(stream_id, digest, "webhook", recipients=("O311", "O312"))
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError, match="503"):
        await env.run(notices.deliver_notice, params)
    env.info = dataclasses.replace(env.info, attempt=2)
    delivered = await env.run(notices.deliver_notice, params)
    again = await env.run(notices.deliver_notice, params)
    assert delivered == again and len(calls) == 2, "a delivery already recorded is not sent twice"
    assert delivered.recipients == 2 and calls[1].headers["authorization"] == "Bearer s3cret"
    body = httpx.Response(200, content=calls[1].content).json()
    assert [r["phone"] for r in body["recipients"]] == ["1380000311", "1380000312"]
    events = await stage_events(store, stream_id)
    assert [type(e) for e in events] == [NoticeDeliveryFailed, NoticeDelivered]
    assert events[0].attempt == 1 and not events[0].final and "503" in events[0].error


async def test_print_email_and_channels_per_community(store, pool, stream_id, monkeypatch) -> None:
    sent = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: int) -> None:
            sent.append((host, port))

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def starttls(self) -> None:
            pass

        def login(self, user: str, password: str) -> None:
            sent.append((user, password))

        def send_message(self, message) -> None:  # noqa: ANN001
            sent.append(message)

    monkeypatch.setattr("activities.notices.smtplib.SMTP", FakeSMTP)
    community = f"c-{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO notice_channels (community, channels, email_to) VALUES ($1, $2, $3)",
                           community, ["email", "log"], ["committee@example.cn"])
    settings = NoticeSettings(smtp_host="smtp.test", smtp_user="yishi", smtp_password=SecretStr("pw"))
    notices = NoticeActivities(store, pool, settings)
    env = ActivityEnvironment()
    assert await env.run(notices.notice_channels, ChannelQuery(community=community)) == ("print", "email", "log")
    assert await env.run(notices.notice_channels, ChannelQuery(community="nowhere")) == ("print", "log")
    digest = await store_roll(pool, estate_roll())
    printed = await env.run(notices.deliver_notice, delivery(stream_id, digest, "print"))
    assert printed.recipients == 12 and printed.reference == "to-print"
    mailed = await env.run(notices.deliver_notice, delivery(stream_id, digest, "email").model_copy(
        update={"community": community}))
    assert mailed.recipients == 1 and sent[0] == ("smtp.test", 587) and sent[1] == ("yishi", "pw")
    assert sent[2]["To"] == "committee@example.cn" and "提醒" in sent[2]["Subject"]


async def test_workflow_reports_a_channel_that_keeps_failing(ts_env, store, pool, task_queue) -> None:
    community = f"c-{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:  # port 9 refuses connections: the gateway is down
        await conn.execute("INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)",
                           community, ["print", "webhook"], "http://127.0.0.1:9/sms")
    req = StartRequest(procedure="elevator", title="加装电梯", scope=Scope(building="3", entrance="2"),
                       community=community, periods={"voting": "PT1H", "remind_before": "PT10M",
                                                         "paper_entry": "PT0S"})
    async with running_worker(ts_env, store, pool, task_queue):
        did, handle = await start_procedure(ts_env.client, pool, estate_roll(), req, task_queue=task_queue,
                                            notice_attempts=2)
        await complete(handle, "feasibility", "committee", "feasible")
        await wait_for(handle, stage_is("voting"), "voting after the notice", timeout=30)
        status = await procedure_status(store, did)
        await handle.terminate("test done")  # its ballot box child goes with it (parent close policy)
    assert status["notices_failed"] and status["notices_failed"][0]["channel"] == "webhook"
    failures = [e for e in await stage_events_of(store, did) if e.type == "NoticeDeliveryFailed"]
    assert [(e.attempt, e.final) for e in failures] == [(1, False), (2, False), (2, True)]
    delivered = [e.channel for e in await stage_events_of(store, did) if e.type == "NoticeDelivered"]
    assert delivered == ["print"], "the printed sheet went out regardless"


async def stage_events_of(store, stream: str) -> list:  # noqa: ANN001
    from domain.stage_events import STAGE_EVENT_TYPES

    return [stage_event_from_dict(e.type, e.payload) for e in await store.read(stream) if e.type in STAGE_EVENT_TYPES]
