"""Notice channels in the workflow: notices are queued per channel (never awaited), every outcome is an event; a
failing channel is retried, reported, never dropped (the channels themselves: tests/channels/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.dispatcher import NoticeDispatcher
from activities.notices import ChannelQuery, Delivery, NoticeActivities, NoticeSettings
from activities.stages import to_new
from domain.channel_config import Channel
from domain.roll import Scope
from domain.stage_events import NoticeDelivered, NoticePublished, stage_event_from_dict
from tests.workflows.conftest import complete, estate_roll, running_worker, stage_is, wait_for
from yishi.services.channels import set_channel
from yishi.services.deliberations import store_roll
from yishi.services.procedures import StartRequest, procedure_status, start_procedure

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def delivery(stream: str, digest: str, channel: str, recipients: tuple[str, ...] | None = None) -> Delivery:
    notice = NoticePublished(at=NOW, notice_id=f"n-{uuid.uuid4().hex[:6]}", kind="reminder", title_zh="提醒",
                             title_en="Reminder", body_zh="请投票", body_en="Please vote", recipients=recipients)
    return Delivery(deliberation_id=stream, community="default", roll_digest=digest, scope=Scope(building="3"),
                    channel=channel, notice=notice)


async def test_a_delivery_recorded_before_queuing_is_answered_not_sent_again(store, pool, stream_id) -> None:
    """A notice delivered by the code before issue 18 (one NoticeDelivered per channel, key notice:ID:CHANNEL),
    whose activity is retried after the upgrade, is answered from the stream: nothing is queued twice."""
    digest = await store_roll(pool, estate_roll())
    params = delivery(stream_id, digest, "print")
    old = NoticeDelivered(at=NOW, notice_id=params.notice.notice_id, channel="print", recipients=12,
                          reference="to-print")
    await store.append(stream_id, to_new([old]), idempotency_key=f"notice:{params.notice.notice_id}:print")
    answered = await ActivityEnvironment().run(NoticeActivities(store, pool).deliver_notice, params)
    assert answered == old
    assert [e.type for e in await store.read(stream_id)] == ["NoticeDelivered"]


async def test_channels_per_community_from_its_stream_else_the_issue_5_table(store, pool) -> None:
    community = f"c-{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO notice_channels (community, channels, email_to) VALUES ($1, $2, $3)",
                           community, ["email", "log"], ["committee@example.cn"])
    notices = NoticeActivities(store, pool, NoticeSettings())
    env = ActivityEnvironment()
    assert await env.run(notices.notice_channels, ChannelQuery(community=community)) == ("print", "email", "log")
    assert await env.run(notices.notice_channels, ChannelQuery(community="nowhere")) == ("print", "log")
    await set_channel(store, community, Channel(id="wecom:bldg-3", kind="wecom", secret_ref="bldg-3", groups=("3",)),
                      by="王主任", now=NOW)
    assert await env.run(notices.notice_channels, ChannelQuery(community=community)) == ("print", "wecom:bldg-3"), \
        "once the committee sets channels up, its stream is the set-up"


async def test_workflow_reports_a_channel_that_keeps_failing(ts_env, store, pool, task_queue) -> None:
    """The procedure goes on while a gateway is down (its notices are queued, not awaited); the dispatcher's
    failures are recorded, and the last one shows on the status."""
    community = f"c-{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:  # port 9 refuses connections: the gateway is down
        await conn.execute("INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)",
                           community, ["print", "webhook"], "http://127.0.0.1:9/sms")
    req = StartRequest(procedure="elevator", title="加装电梯", scope=Scope(building="3", entrance="2"),
                       community=community, periods={"voting": "PT1H", "remind_before": "PT10M",
                                                         "paper_entry": "PT0S"})
    async with running_worker(ts_env, store, pool, task_queue):
        did, handle = await start_procedure(ts_env.client, pool, estate_roll(), req, task_queue=task_queue)
        await complete(handle, "feasibility", "committee", "feasible")
        await wait_for(handle, stage_is("voting"), "voting after the notice", timeout=30)
        dispatcher = NoticeDispatcher(store, pool, NoticeSettings(max_attempts=2), only=did)
        await dispatcher.run_once()
        await dispatcher.run_once(datetime.now(UTC) + timedelta(minutes=2))
        await dispatcher.aclose()
        status = await procedure_status(store, did)
        await handle.terminate("test done")  # its ballot box child goes with it (parent close policy)
    assert status["notices_failed"] and status["notices_failed"][0]["channel"] == "webhook"
    assert status["deliveries"] == {"to_post": 1, "failed": 1}, status["deliveries"]
    failures = [e for e in await stage_events_of(store, did) if e.type == "NoticeDeliveryFailed"]
    assert [(e.attempt, e.final) for e in failures] == [(1, False), (2, True)]
    queued = {e.channel: e.groups for e in await stage_events_of(store, did) if e.type == "NoticeQueued"}
    assert queued == {"print": {"3-2": 12}, "webhook": {"*": 12}}, "the printed sheet is to be posted regardless"


async def stage_events_of(store, stream: str) -> list:  # noqa: ANN001
    from domain.stage_events import STAGE_EVENT_TYPES

    return [stage_event_from_dict(e.type, e.payload) for e in await store.read(stream) if e.type in STAGE_EVENT_TYPES]
