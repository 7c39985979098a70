"""The committee sets up notice channels in the console (issue 18): a WeCom robot's key typed once goes to the
secrets file (0600), never to the page, an event or the database; "send a test" reaches a local server speaking
WeCom's protocol; a wrong key is said in plain words; the delivery board shows a failure in plain words and sends
it again. Then the same in real Chromium (laptop, zh-CN), axe clean, screenshots in the test artifacts."""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path

import httpx
import pytest

from activities.notices import NoticeSettings
from tests.channels.servers import Behaviour, http_server
from tests.web.conftest import PASSWORD
from tests.web.test_browser import assert_accessible, shot
from yishi.services.accounts import add_account

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


async def pair(client: httpx.AsyncClient, community: str) -> dict[str, str]:
    html = (await client.get(f"/console/channels?community={community}")).text
    return dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html))


async def stream_text(store, community: str) -> str:  # type: ignore[no-untyped-def]
    return json.dumps([e.payload for e in await store.read(f"channels:{community}")], ensure_ascii=False)


async def test_a_robot_set_up_tested_and_its_key_never_shown(app, sign_in, store, pool, tmp_path: Path) -> None:
    community = f"c-{uuid.uuid4().hex[:6]}"
    secrets = tmp_path / "secrets.json"
    app.state.secrets_file = secrets
    with http_server(Behaviour(keys={KEY: ""})) as server:
        app.state.notice_settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send")
        committee = await sign_in("committee", community=community)
        fields = {**await pair(committee, community), "kind": "wecom", "name": "bldg-3", "groups": "3",
                  "secret": KEY}
        saved = await committee.post("/console/channels", data=fields)
        assert saved.status_code == 303, saved.text[-800:]
        assert json.loads(secrets.read_text()) == {"wecom": {"bldg-3": KEY}}
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        page = (await committee.get("/console/channels")).text
        assert "wecom:bldg-3" in page and "已保存（不显示）" in page and KEY not in page
        assert KEY not in await stream_text(store, community)
        async with pool.acquire() as conn:
            assert not await conn.fetchval("SELECT count(*) FROM events WHERE payload::text LIKE $1", f"%{KEY}%")

        tested = await committee.post("/console/channels/test",
                                      data={**await pair(committee, community), "channel": "wecom:bldg-3"})
        assert tested.status_code == 200 and "测试消息已通过" in tested.text, tested.text[-800:]
        (got,) = server.received
        assert got.query["key"] == KEY and "测试" in got.json()["markdown"]["content"]
        assert KEY not in tested.text

        # A wrong key: the robot answers 93000, the page says what to do in plain words.
        wrong = {**await pair(committee, community), "kind": "wecom", "name": "bldg-4", "groups": "4",
                 "secret": "not-the-key"}
        assert (await committee.post("/console/channels", data=wrong)).status_code == 303
        failed = await committee.post("/console/channels/test",
                                      data={**await pair(committee, community), "channel": "wecom:bldg-4"})
        assert failed.status_code == 502 and "服务拒绝了密钥" in failed.text and "not-the-key" not in failed.text

        # Removed: it is gone from the list (the secrets file keeps the key; the operator's file).
        removed = await committee.post("/console/channels/remove",
                                       data={**await pair(committee, community), "channel": "wecom:bldg-4"})
        assert removed.status_code == 303 and "wecom:bldg-4" not in (await committee.get("/console/channels")).text


async def test_no_secrets_file_no_secret_kept(app, sign_in, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("YISHI_SECRETS_FILE", raising=False)
    app.state.secrets_file = None
    community = f"c-{uuid.uuid4().hex[:6]}"
    committee = await sign_in("committee", community=community)
    fields = {**await pair(committee, community), "kind": "wecom", "name": "bldg-3", "secret": KEY}
    refused = await committee.post("/console/channels", data=fields)
    assert refused.status_code == 409 and "YISHI_SECRETS_FILE" in refused.text and KEY not in refused.text
    assert await store.read(f"channels:{community}") == [], "nothing saved"


async def test_the_board_says_a_failure_plainly_and_sends_it_again(app, sign_in, pool, store,
                                                                   open_deliberation) -> None:
    d = await open_deliberation(2)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " attempts, next_at, last_error, fields, community, roll_digest) VALUES"
            " ($1, 'announcement-1', 'wecom:bldg-3', '3', 'wecom', 'announcement', 'failed', 6, now(),"
            " 'errcode 93000: invalid webhook url', '{}'::jsonb, 'default', '-'),"
            " ($1, 'announcement-1', 'print', '3-1', 'print', 'announcement', 'to_post', 0, now(), '', '{}'::jsonb,"
            " 'default', '-')", d.id)
    committee = await sign_in("committee", community=None)
    board = await committee.get(f"/console/d/{d.id}/deliveries")
    assert board.status_code == 200 and "1 条投递失败" in board.text, board.text[-800:]
    assert "服务拒绝了密钥" in board.text and "待张贴" in board.text and "重新发送" in board.text
    assert f'href="/console/d/{d.id}/postings"' in board.text
    form = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', board.text))
    again = await committee.post(f"/console/d/{d.id}/deliveries/retry",
                                 data={**form, "notice": "announcement-1", "channel": "wecom:bldg-3", "group": "3"})
    assert again.status_code == 303
    assert "等待发送" in (await committee.get(f"/console/d/{d.id}/deliveries")).text
    (asked,) = [e for e in await store.read(d.id) if e.type == "NoticeRetryRequested"]
    assert asked.payload["channel"] == "wecom:bldg-3"


@pytest.mark.browser
async def test_setting_up_a_robot_in_the_browser(app, browser, live_server, pool, store, tmp_path: Path,
                                                 artifacts_dir) -> None:
    community = f"c-{uuid.uuid4().hex[:6]}"
    name = f"周委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community=community)
    app.state.secrets_file = tmp_path / "secrets.json"
    with http_server(Behaviour(keys={KEY: ""})) as server:
        app.state.notice_settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send")
        context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
        page = await context.new_page()
        try:
            await page.goto(f"{live_server}/login")
            await page.get_by_label("账号").fill(name)
            await page.get_by_label("密码").fill(PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.get_by_role("link", name="通知渠道").click()
            await page.get_by_role("heading", name="添加或修改渠道").wait_for()
            await assert_accessible(page, "channels page, empty")
            await page.get_by_label("类型", exact=True).select_option("wecom")
            await page.get_by_label("渠道名称", exact=True).fill("bldg-3")
            await page.get_by_label("覆盖的楼栋或单元").fill("3")
            await page.get_by_label("密钥", exact=False).first.fill(KEY)
            await page.get_by_role("button", name="保存渠道").click()
            await page.locator("tr.channel[data-channel='wecom:bldg-3']").wait_for()
            assert KEY not in await page.content()
            await page.get_by_role("button", name="发送测试消息").click()
            await page.locator("#channel-tested").wait_for()
            assert "测试消息已通过" in await page.locator("#channel-tested").inner_text()
            assert len(server.received) == 1
            await shot(page, artifacts_dir, "console-channels-zh")
            await assert_accessible(page, "channels page with a robot tested")
        finally:
            await context.close()


async def test_a_meetings_board_shows_its_group_notice_within_its_community(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    """A meeting's notice goes to the building groups (activities/meeting_notices.py): its delivery board is the
    deliberations' board, under the meeting's community, with a way back to the meeting."""
    from tests.web.test_console_walls import console_form, other_community

    meeting_id = f"meeting-{uuid.uuid4().hex[:12]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO meetings (meeting_id, community, title, kind, starts_at, place, status, items, parties,"
            " attendees, minutes_version, last_seq, state) VALUES ($1, '幸福社区', '充电桩议事会', 'weekend_hall',"
            " now(), '社区议事厅', 'scheduled', 1, 2, 0, 0, 1, '{}'::jsonb)", meeting_id)
        await conn.execute(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " attempts, next_at, last_error, fields, community, roll_digest) VALUES ($1, 'meeting-1',"
            " 'wecom:bldg-3', '3', 'wecom', 'meeting', 'failed', 6, now(), 'errcode 93000: invalid webhook url',"
            " '{}'::jsonb, '幸福社区', '')", meeting_id)
    path = f"/console/d/{meeting_id}/deliveries"
    outsider = await sign_in("committee", community=other_community())
    hidden = await outsider.get(path)
    assert hidden.status_code == 404 and "充电桩议事会" not in hidden.text
    refused = await outsider.post(path + "/retry", data={**console_form((await outsider.get("/console")).text),
                                                          "notice": "meeting-1", "channel": "wecom:bldg-3",
                                                          "group": "3"})
    assert refused.status_code == 404
    committee = await sign_in("committee")
    shown = await committee.get(path)
    assert shown.status_code == 200 and "充电桩议事会 · " in shown.text and "会议通知" in shown.text
    assert "1 条投递失败" in shown.text and f'href="/console/meetings/{meeting_id}"' in shown.text
    assert "/postings" not in shown.text, "a meeting has no printed sheets per entrance on this board"
    again = await committee.post(path + "/retry", data={**console_form(shown.text), "notice": "meeting-1",
                                                        "channel": "wecom:bldg-3", "group": "3"})
    assert again.status_code == 303 and "等待发送" in (await committee.get(path)).text
    assert [e.type for e in await store.read(meeting_id)] == ["NoticeRetryRequested"]
