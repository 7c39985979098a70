"""Group robots (WeCom, DingTalk) against local servers speaking their documented protocol: the right building's
group gets the notice in markdown with the deadline and the public link; the rate limit is waited for, never a
failure; the set-up is events in the community's stream and the key stays in the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.dispatcher import NoticeDispatcher
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets
from domain.channel_config import Channel, stream_id
from tests.channels.conftest import BASE
from tests.channels.servers import Behaviour, http_server
from yishi.services.channels import board, set_channel

KEY3, KEY4 = "key-of-building-3-0123456789", "key-of-building-4-0123456789"
SECRETS = ChannelSecrets({"YISHI_SECRETS__WECOM__BLDG_3": KEY3, "YISHI_SECRETS__WECOM__BLDG_4": KEY4,
                          "YISHI_SECRETS__DINGTALK__GRID": "dt-token:SECsigning"})


async def robots(stage, now: datetime) -> None:  # type: ignore[no-untyped-def]
    for name, groups in (("bldg-3", ("3",)), ("bldg-4", ("4-2",))):
        warnings = await set_channel(stage.store, stage.community, Channel(
            id=f"wecom:{name}", kind="wecom", secret_ref=name, groups=groups), by="王主任", now=now, secrets=SECRETS)
        assert warnings == []


async def test_each_building_group_gets_its_notice_and_the_key_is_never_stored(stage, pool) -> None:
    now = datetime.now(UTC)
    await robots(stage, now)
    config = await stage.store.read(stream_id(stage.community))
    assert [e.type for e in config] == ["ChannelSet", "ChannelSet"] and config[0].payload["by"] == "王主任"
    assert KEY3 not in repr([e.payload for e in config]), "secrets by reference only"
    with http_server(Behaviour(keys={KEY3: "", KEY4: ""})) as server:
        settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send")
        from domain.roll import Scope

        await stage.queue("wecom:bldg-3", settings=settings, scope=Scope(building="3"))
        await stage.queue("wecom:bldg-4", settings=settings, scope=Scope(building="3"))  # not its building
        dispatcher = NoticeDispatcher(stage.store, pool, settings, SECRETS, public_base_url=BASE,
                                      only=stage.deliberation_id)
        assert await dispatcher.run_once() == 1
        await dispatcher.aclose()
    (got,) = server.received
    assert got.query == {"key": KEY3}
    content = got.json()["markdown"]["content"]
    assert content.startswith("## 关于3号楼加装电梯的公告") and "2026-05-21 00:00" in content
    assert f"({BASE}/p/{stage.deliberation_id})" in content
    delivered = await stage.events("NoticeDelivered")
    assert [(e.payload["channel"], e.payload["group"], e.payload["recipients"]) for e in delivered] == [
        ("wecom:bldg-3", "3", 12)]
    queued = await stage.events("NoticeQueued")
    assert [e.payload["groups"] for e in queued] == [{"3": 12}, {}]
    assert KEY3 not in repr([e.payload for e in await stage.events()])


async def test_a_robot_over_its_limit_waits_and_is_never_shown_as_failed(stage, pool) -> None:
    now = datetime.now(UTC)
    await robots(stage, now)
    behaviour = Behaviour(keys={KEY3: "", KEY4: ""}, per_minute=2)  # the server allows two a minute
    with http_server(behaviour) as server:
        settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send", robot_per_minute=3)
        dispatcher = NoticeDispatcher(stage.store, pool, settings, SECRETS, public_base_url=BASE,
                                      only=stage.deliberation_id)
        for _ in range(4):
            await stage.queue("wecom:bldg-3", settings=settings)
        now = datetime.now(UTC)
        await dispatcher.run_once(now)
        states = sorted(r.state for r in await board(pool, stage.deliberation_id))
        # three tokens: two sent, the third answered 45009 (the server's own limit), the fourth waits for a token
        assert states == ["queued", "queued", "sent", "sent"], states
        failed = await stage.events("NoticeDeliveryFailed")
        assert len(failed) == 1 and "45009" in failed[0].payload["error"] and not failed[0].payload["final"]
        assert failed[0].payload["retry_at"]
        behaviour.sent_at.clear()  # a minute later at the server
        await dispatcher.run_once(now + timedelta(seconds=61))
        await dispatcher.aclose()
    rows = await board(pool, stage.deliberation_id)
    assert [r.state for r in rows] == ["sent"] * 4 and all(r.attempts <= 1 for r in rows)
    assert len(server.received) == 5


async def test_dingtalk_robot_signs_its_requests(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, Channel(id="dingtalk:grid", kind="dingtalk", secret_ref="grid"),
                      by="网格员", now=now, secrets=SECRETS)
    with http_server(Behaviour(keys={"dt-token": "SECsigning"})) as server:
        settings = NoticeSettings(dingtalk_url=f"{server.url}/robot/send")
        await stage.queue("dingtalk:grid", settings=settings, kind="meeting", title="业主大会会议通知")
        dispatcher = NoticeDispatcher(stage.store, pool, settings, SECRETS, public_base_url=BASE,
                                      only=stage.deliberation_id)
        await dispatcher.run_once()
        await dispatcher.aclose()
    (got,) = server.received
    assert got.json()["markdown"]["title"] == "业主大会会议通知" and got.query["sign"]
    assert [e.payload["group"] for e in await stage.events("NoticeDelivered")] == ["*"]
