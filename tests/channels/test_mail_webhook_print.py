"""E-mail through a real SMTP server with STARTTLS, the signed generic webhook, failures that retry and then show
as failed with a retry button, and printed notices: what to post where, and the posting with its photo's hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from activities.dispatcher import NoticeDispatcher
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets
from domain.channel_config import Channel
from domain.roll import Scope
from tests.channels.conftest import BASE
from tests.channels.servers import Behaviour, http_server, smtp_server
from yishi.services.channels import ChannelError, board, get_blob, record_posting, retry, set_channel, to_post

HOOK_SECRET = "hook-signing-secret"
SECRETS = ChannelSecrets({"YISHI_SECRETS__WEBHOOK__GATEWAY": HOOK_SECRET})


async def test_email_to_staff_through_starttls(stage, pool, tmp_path) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, Channel(id="email:staff", kind="email",
                                                            to=("committee@example.cn", "grid@example.cn")),
                      by="王主任", now=now)
    with smtp_server(tmp_path, "yishi", "smtp-pass") as (port, messages, cert):
        settings = NoticeSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_user="yishi", smtp_password="smtp-pass",
                                  smtp_ca_file=cert, smtp_from="notices@example.cn")
        await stage.queue("email:staff", settings=settings)
        wrong = settings.model_copy(update={"smtp_ca_file": None})  # the system's CAs do not know this server
        await stage.queue("email:staff", settings=settings)
        await NoticeDispatcher(stage.store, pool, wrong, only=stage.deliberation_id, public_base_url=BASE).run_once()
        failed = await stage.events("NoticeDeliveryFailed")
        assert len(failed) == 2 and all("CERTIFICATE_VERIFY_FAILED" in e.payload["error"] for e in failed), \
            [e.payload for e in failed]
        later = datetime.now(UTC) + timedelta(minutes=2)
        await NoticeDispatcher(stage.store, pool, settings, only=stage.deliberation_id,
                               public_base_url=BASE).run_once(later)
    assert len(messages) == 2
    envelope = messages[0]
    assert envelope.rcpt_tos == ["committee@example.cn", "grid@example.cn"]
    text = envelope.content.decode()
    assert "Subject: =?utf-8?" in text and f"{BASE}/p/{stage.deliberation_id}" in text
    assert [e.payload["recipients"] for e in await stage.events("NoticeDelivered")] == [2, 2]


async def test_the_signed_webhook_gets_the_owners_phones(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, Channel(id="webhook:gateway", kind="webhook", secret_ref="gateway",
                                                            url="", groups=("4",)), by="王主任", now=now,
                      secrets=SECRETS)
    with http_server(Behaviour(keys={"gateway": HOOK_SECRET})) as server:
        settings = NoticeSettings(webhook_url=f"{server.url}/hook")
        await stage.queue("webhook:gateway", settings=settings)
        await NoticeDispatcher(stage.store, pool, settings, SECRETS, only=stage.deliberation_id).run_once()
        bad = ChannelSecrets({"YISHI_SECRETS__WEBHOOK__GATEWAY": "another"})
        await stage.queue("webhook:gateway", settings=settings)
        await NoticeDispatcher(stage.store, pool, settings, bad, only=stage.deliberation_id).run_once()
    body = server.received[0].json()
    assert len(body["recipients"]) == 12 and body["recipients"][0] == {"owner_id": "O411", "phone": "13800004110"}
    assert body["notice"]["title"] == "关于3号楼加装电梯的公告"
    (failed,) = await stage.events("NoticeDeliveryFailed")
    assert failed.payload["error"] == "HTTP 401"


async def test_a_channel_that_keeps_failing_is_shown_failed_and_retried_from_the_board(stage, pool) -> None:
    now = datetime.now(UTC)
    await set_channel(stage.store, stage.community, Channel(id="webhook:down", kind="webhook",
                                                            url="http://127.0.0.1:9/hook"), by="王主任", now=now)
    settings = NoticeSettings(max_attempts=2)
    notice = await stage.queue("webhook:down", settings=settings)
    dispatcher = NoticeDispatcher(stage.store, pool, settings, only=stage.deliberation_id)
    at = datetime.now(UTC)
    await dispatcher.run_once(at)
    assert await dispatcher.run_once(at + timedelta(seconds=30)) == 0, "the next attempt waits a minute"
    await dispatcher.run_once(at + timedelta(minutes=2))
    (row,) = await board(pool, stage.deliberation_id)
    assert (row.state, row.attempts) == ("failed", 2) and "ConnectError" in row.error
    failures = [(e.payload["attempt"], e.payload["final"]) for e in await stage.events("NoticeDeliveryFailed")]
    assert failures == [(1, False), (2, True)]
    await retry(stage.store, pool, stage.deliberation_id, notice.notice_id, "webhook:down", "*", by="王主任",
                now=datetime.now(UTC))
    (row,) = await board(pool, stage.deliberation_id)
    assert (row.state, row.attempts) == ("queued", 0)
    (asked,) = await stage.events("NoticeRetryRequested")
    assert asked.payload["by"] == "王主任"
    with pytest.raises(ChannelError):
        await retry(stage.store, pool, stage.deliberation_id, notice.notice_id, "webhook:down", "*", by="王主任",
                    now=datetime.now(UTC))


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


async def test_printed_notices_per_entrance_and_their_posting_with_a_photo(stage, pool) -> None:
    notice = await stage.queue("print", kind="result", title="表决结果公示")
    await stage.queue("print", kind="reminder", recipients=("O421",), scope=Scope(building="4"))
    rows = await to_post(pool, stage.deliberation_id)
    assert sorted((r.notice_kind, r.group, r.recipients, r.state) for r in rows) == [
        ("reminder", "4-2", 1, "to_post"), ("result", "3-2", 12, "to_post"), ("result", "4-2", 12, "to_post")]
    posted_at = datetime.now(UTC) - timedelta(hours=1)
    event = await record_posting(stage.store, pool, stage.deliberation_id, notice.notice_id, "3-2", by="网格员李",
                                 posted_at=posted_at, photo=PNG, media_type="image/png", now=datetime.now(UTC))
    assert event.photo_sha256 == hashlib.sha256(PNG).hexdigest()
    assert await get_blob(pool, event.photo_sha256) == ("image/png", PNG)
    (recorded,) = await stage.events("NoticePosted")
    assert recorded.payload["photo_sha256"] == event.photo_sha256 and recorded.payload["by"] == "网格员李"
    states = {(r.notice_kind, r.group): r.state for r in await to_post(pool, stage.deliberation_id)}
    assert states[("result", "3-2")] == "posted" and states[("result", "4-2")] == "to_post"
    with pytest.raises(ChannelError, match="photo"):
        await record_posting(stage.store, pool, stage.deliberation_id, notice.notice_id, "4-2", by="网格员李",
                             posted_at=posted_at, photo=b"not an image", media_type="text/plain",
                             now=datetime.now(UTC))
    with pytest.raises(ChannelError, match="not to be posted"):
        await record_posting(stage.store, pool, stage.deliberation_id, notice.notice_id, "9-9", by="网格员李",
                             posted_at=posted_at, photo=PNG, media_type="image/png", now=datetime.now(UTC))
    assert await NoticeDispatcher(stage.store, pool, only=stage.deliberation_id).run_once() == 0, \
        "printed notices are posted by people, not sent"
