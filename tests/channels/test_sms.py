"""Text messages through Alibaba Cloud SMS (SendSms, RPC signature v1) against a local gateway that recomputes the
signature: approved templates with fields, per-owner phones from the roll, opt-outs, quiet hours, personal links
in reminders (recorded as shown), throttling waited for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from activities.dispatcher import NoticeDispatcher
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets
from activities.senders import rpc_signature
from domain.channel_config import Channel, SmsTemplate
from domain.legal_calendar import BEIJING
from domain.notice_messages import quiet_until
from tests.channels.conftest import BASE
from tests.channels.servers import Behaviour, http_server
from yishi.services.channels import board, opt_out, set_channel
from yishi.services.link_issuing import Actor, issue_links

KEY_ID, KEY_SECRET = "LTAI5tTestKeyId", "test-access-key-secret"
SECRETS = ChannelSecrets({"YISHI_SECRETS__SMS__MAIN": f"{KEY_ID}:{KEY_SECRET}"})
LINK_SECRET = "test-secret-key-for-sms-links-0123456789"
SMS = Channel(id="sms:aliyun", kind="sms", provider="aliyun", secret_ref="main", sign_name="幸福社区",
              groups=("3",), templates={"*": SmsTemplate(code="SMS_460001", params={
                  "title": "title", "deadline": "deadline", "url": "link"})})


def test_the_signature_is_the_documented_example() -> None:
    # The worked example of Alibaba Cloud's "Signature mechanism" page (RPC, HMAC-SHA1, AccessKeySecret testsecret).
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert rpc_signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_quiet_hours_end_at_eight_beijing_time() -> None:
    from domain.channel_config import QuietHours

    late = datetime(2026, 5, 6, 23, 30, tzinfo=BEIJING)
    assert quiet_until(late, QuietHours()) == datetime(2026, 5, 7, 8, 0, tzinfo=BEIJING)
    assert quiet_until(late.replace(hour=7, minute=59), QuietHours()) == datetime(2026, 5, 6, 8, 0, tzinfo=BEIJING)
    assert quiet_until(late.replace(hour=8, minute=0), QuietHours()) is None
    assert quiet_until(late.replace(hour=21, minute=59), QuietHours()) is None


def next_beijing(hour: int) -> datetime:
    """The next ``hour``:00 Beijing time after now (deliveries are due from the moment they are queued)."""
    at = datetime.now(UTC).astimezone(BEIJING).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > datetime.now(UTC) else at + timedelta(days=1)


def sms_settings(server) -> NoticeSettings:  # type: ignore[no-untyped-def]
    return NoticeSettings(aliyun_sms_url=f"{server.url}/")


async def test_owners_get_one_message_each_not_at_night_not_after_opting_out(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, SMS, by="王主任", now=now, secrets=SECRETS)
    await opt_out(stage.store, stage.community, "O311", by="O311", via="owner", now=now)
    night = next_beijing(23)
    with http_server(Behaviour(keys={KEY_ID: KEY_SECRET})) as server:
        settings = sms_settings(server)
        await stage.queue("sms:aliyun", settings=settings)
        dispatcher = NoticeDispatcher(stage.store, pool, settings, SECRETS, public_base_url=BASE,
                                      only=stage.deliberation_id)
        await dispatcher.run_once(night)
        assert server.received == [], "no text message at 23:00"
        (held,) = await stage.events("NoticeHeld")
        assert held.payload["until"] == (night + timedelta(hours=9)).astimezone(UTC).isoformat().replace("+00:00", "Z")
        assert await dispatcher.run_once(night + timedelta(hours=8)) == 0, "still quiet at 07:00"
        assert await dispatcher.run_once(night + timedelta(hours=9, minutes=1)) == 1
        await dispatcher.aclose()
    (got,) = server.received
    form = dict(__import__("urllib.parse").parse.parse_qsl(got.body.decode()))
    phones = form["PhoneNumbers"].split(",")
    assert len(phones) == 11 and "13800003110" not in phones, "building 3 less the owner who opted out"
    assert (form["SignName"], form["TemplateCode"]) == ("幸福社区", "SMS_460001")
    assert json.loads(form["TemplateParam"]) == {"title": "关于3号楼加装电梯的公告", "deadline": "2026-05-21 00:00",
                                                 "url": f"{BASE}/p/{stage.deliberation_id}"}
    delivered = await stage.events("NoticeDelivered", "NoticeDeliveryFailed")
    assert [e.type for e in delivered] == ["NoticeDelivered"], [e.payload for e in delivered]
    (delivered,) = delivered
    assert delivered.payload["recipients"] == 11 and delivered.payload["reference"]
    async with pool.acquire() as conn:
        skipped = await conn.fetch("SELECT owner_id, error FROM notice_recipients WHERE deliberation_id = $1"
                                   " AND state = 'skipped'", stage.deliberation_id)
    assert [(r["owner_id"], r["error"]) for r in skipped] == [("O311", "opted out")]


async def test_reminders_carry_each_owners_personal_link_recorded_as_shown(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, SMS.model_copy(update={"urgent_kinds": ("reminder",)}),
                      by="王主任", now=now, secrets=SECRETS)
    await issue_links(stage.store, stage.deliberation_id, ["O321", "O322"], secret_key=LINK_SECRET, now=now,
                      actor=Actor("test", "system"))
    behaviour = Behaviour(keys={KEY_ID: KEY_SECRET})
    with http_server(behaviour) as server:
        settings = sms_settings(server)
        await stage.queue("sms:aliyun", kind="reminder", recipients=("O321", "O322"), settings=settings)
        dispatcher = NoticeDispatcher(stage.store, pool, settings, SECRETS, public_base_url=BASE,
                                      secret_key=LINK_SECRET, only=stage.deliberation_id)
        behaviour.forced.append((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码分钟级流控",
                                       "RequestId": "A1"}))
        night = next_beijing(23)  # urgent for this channel: sent in quiet hours too
        await dispatcher.run_once(night)
        (throttled,) = await stage.events("NoticeDeliveryFailed")
        assert "isv.BUSINESS_LIMIT_CONTROL" in throttled.payload["error"] and not throttled.payload["final"]
        assert [r.state for r in await board(pool, stage.deliberation_id)] == ["queued"]
        await dispatcher.run_once(night + timedelta(seconds=61))
        await dispatcher.aclose()
    forms = [dict(__import__("urllib.parse").parse.parse_qsl(r.body.decode())) for r in server.received]
    sent = [(f["PhoneNumbers"], json.loads(f["TemplateParam"])["url"]) for f in forms[1:]]
    assert [p for p, _ in sent] == ["13800003210", "13800003220"] and all("/v/" in url for _, url in sent)
    assert sent[0][1] != sent[1][1], "each owner their own link"
    disclosed = await stage.events("LiveLinksDisclosed")
    assert disclosed and disclosed[-1].payload["format"] == "sms" and "O321" in disclosed[-1].payload["owners"]
    assert [r.state for r in await board(pool, stage.deliberation_id)] == ["sent"]


async def test_a_wrong_key_is_a_failure_with_the_gateways_reason(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, SMS, by="王主任", now=now, secrets=SECRETS)
    wrong = ChannelSecrets({"YISHI_SECRETS__SMS__MAIN": f"{KEY_ID}:not-the-secret"})
    with http_server(Behaviour(keys={KEY_ID: KEY_SECRET})) as server:
        settings = sms_settings(server)
        await stage.queue("sms:aliyun", kind="urgent", settings=settings)
        dispatcher = NoticeDispatcher(stage.store, pool, settings, wrong, only=stage.deliberation_id)
        await dispatcher.run_once(next_beijing(10))
        await dispatcher.aclose()
    (failed,) = await stage.events("NoticeDeliveryFailed")
    assert "SignatureDoesNotMatch" in failed.payload["error"] and "not-the-secret" not in failed.payload["error"]
