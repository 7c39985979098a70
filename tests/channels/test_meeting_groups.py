"""A meeting's notice reaches the community's building groups (issue 18): the real meeting workflow on the
time-skipping server queues it on the WeCom robot, the dispatcher posts it to a local server speaking WeCom's
protocol, with the time, the place, the agenda's titles and the public meeting page, never the invited parties'
names; the meeting does not wait for it, and the outcome is in the meeting's stream and on its delivery board."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, timedelta

import pytest

from activities.dispatcher import NoticeDispatcher
from activities.eventstore import EventStore
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets
from domain.channel_config import Channel
from domain.meeting_commands import when
from domain.meeting_events import PartySpec
from domain.topic_events import Actor
from tests.channels.conftest import BASE
from tests.channels.servers import Behaviour, http_server
from tests.workflows.conftest import running_worker
from workflows.meeting import ItemSpec
from yishi.services.channels import board, set_channel
from yishi.services.meetings import schedule_meeting, scheduled_event
from yishi.settings import Settings

KEY = "key-of-building-3-meetings-0123456789"
SECRETS = ChannelSecrets({"YISHI_SECRETS__WECOM__BLDG_3": KEY})
PARTIES = (PartySpec(party_id="p1", kind="party_member", name="党员代表王"),
           PartySpec(party_id="p2", kind="property_company", name="安居物业"))


async def queued(store: EventStore, meeting_id: str, timeout: float = 20) -> list:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = [e for e in await store.read(meeting_id) if e.type in ("NoticeQueued", "NoticeDelivered")]
        if any(e.type == "NoticeQueued" for e in found) and len(found) >= 3:  # wecom queued; print, e-mail recorded
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the meeting's notice was not queued: {[e.type for e in await store.read(meeting_id)]}")


async def test_the_meeting_notice_reaches_the_building_group(ts_env, store, pool, task_queue, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("YISHI_NOTICE_PUBLIC_BASE_URL", BASE)
    community = f"c-{uuid.uuid4().hex[:8]}"
    clerk = Actor(kind="committee", name="李书记", account="li", community=community)
    now = (await ts_env.get_current_time()).astimezone(UTC)
    await set_channel(store, community, Channel(id="wecom:bldg-3", kind="wecom", secret_ref="bldg-3", groups=("3",)),
                      by="李书记", now=now, secrets=SECRETS)
    await set_channel(store, community, Channel(id="email:staff", kind="email", to=("office@example.cn",)),
                      by="李书记", now=now, secrets=SECRETS)
    starts = now + timedelta(days=3)
    event = scheduled_event(community=community, title="充电桩议事会", kind="weekend_hall", starts_at=starts,
                            place="社区议事厅", by=clerk, now=now, meeting_id=f"meeting-{uuid.uuid4().hex[:12]}")
    settings = Settings(task_queue=task_queue)
    with http_server(Behaviour(keys={KEY: ""})) as server:
        async with running_worker(ts_env, store, pool, task_queue):
            meeting_id = await schedule_meeting(ts_env.client, pool, event, settings=settings, parties=PARTIES,
                                                items=(ItemSpec(title="充电桩选址"), ItemSpec(title="停车收费")))
            recorded = await queued(store, meeting_id)
        # The worker is gone: the meeting went on without waiting for the group; the dispatcher sends it now.
        assert [e.payload["channel"] for e in recorded if e.type == "NoticeQueued"] == ["wecom:bldg-3"]
        by_channel = {e.payload["channel"]: e.payload for e in recorded if e.type == "NoticeDelivered"}
        assert by_channel["print"]["reference"] == "to-print"
        assert by_channel["email:staff"]["reference"].startswith("not sent"), "parties are reached by their links"
        notice_settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send", public_base_url=BASE)
        dispatcher = NoticeDispatcher(store, pool, notice_settings, SECRETS, only=meeting_id)
        assert await dispatcher.run_once() == 1
        await dispatcher.aclose()
    (got,) = server.received
    assert got.query == {"key": KEY}
    content = got.json()["markdown"]["content"]
    assert content.startswith("## ") and "充电桩议事会" in content.splitlines()[0]
    assert when(starts) in content and "社区议事厅" in content
    assert "1. 充电桩选址" in content and "2. 停车收费" in content
    assert f"({BASE}/meetings/{meeting_id})" in content and "查看公示与进度" not in content
    assert "党员代表王" not in content and "安居物业" not in content, "no party's name in a building group"
    delivered = [e.payload for e in await store.read(meeting_id) if e.type == "NoticeDelivered"
                 and e.payload.get("group")]
    assert [(d["channel"], d["group"]) for d in delivered] == [("wecom:bldg-3", "3")]
    rows = await board(pool, meeting_id)
    assert [(r.notice_kind, r.channel, r.group, r.state) for r in rows] == [("meeting", "wecom:bldg-3", "3", "sent")]


@pytest.mark.parametrize("kind", ["reminder"])
async def test_notices_to_the_parties_stay_off_the_groups(kind, store, pool) -> None:  # type: ignore[no-untyped-def]
    """A reminder names the parties as its recipients: it is not posted in a building group."""
    from datetime import datetime

    from temporalio.testing import ActivityEnvironment

    from activities.notices import Delivery, NoticeActivities
    from activities.stages import to_new
    from domain.roll import Scope
    from domain.stage_events import NoticePublished

    community = f"c-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    await set_channel(store, community, Channel(id="wecom:bldg-3", kind="wecom", secret_ref="bldg-3", groups=("3",)),
                      by="李书记", now=now, secrets=SECRETS)
    meeting_id = f"meeting-{uuid.uuid4().hex[:12]}"
    notice = NoticePublished(at=now, notice_id=f"{kind}-2", kind=kind, title_zh="会议提醒", title_en="Reminder",
                             body_zh="明天开会", body_en="Tomorrow", recipients=("p1", "p2"))
    await store.append(meeting_id, to_new([notice]))
    delivery = Delivery(deliberation_id=meeting_id, community=community, roll_digest="", scope=Scope(),
                        channel="wecom:bldg-3", notice=notice)
    answered = await ActivityEnvironment().run(NoticeActivities(store, pool).deliver_notice, delivery)
    assert answered.reference.startswith("not sent") and await board(pool, meeting_id) == []
