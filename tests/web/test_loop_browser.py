"""Issue 16's "Done means" as one run in real Chromium, every step through a page: a resident raises a topic from the
community's QR intake link (phone), the committee takes it up and schedules a meeting with it on the agenda, ticked
from the accepted topics with three options (laptop); two parties state positions through their invitation links
(phones); attendance and minutes; a three-option vote decided from the console opens the ballot box, owners vote
through their /v/ links, the box is closed and its result reaches the meeting and the topic; the next meeting puts
the decided topic back on its agenda for who carries it out, with a milestone (the follow-up); the committee marks it
done; the proposer answers through the tracking link; the public pages show it. axe on every role's pages.

Only the end of the voting period is not a page: the box is closed early with its ``withdraw`` signal, as the
ballot-box tests do (tests/workflows/test_ballot_box_seal.py), instead of waiting for the day's end."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.legal_calendar import BEIJING
from tests.web.conftest import BASE_URL, PASSWORD, SECRET
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_topic_pages import jpeg
from tests.workflows.conftest import running_worker, stream_types
from yishi.services.accounts import add_account
from yishi.services.audit import verify
from yishi.services.meetings import meeting_state
from yishi.services.topics import topic_state
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

pytestmark = pytest.mark.browser
HOME = "幸福社区"  # open_deliberation's community: its owners roll is the one the vote uses
QUEUE = f"loop-web-{uuid.uuid4().hex[:8]}"
LAPTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}
TITLE = "南门增设电动车充电桩"
SITES = "A=东门车棚\nB=3号楼北侧\nC=地下车库入口"


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE, intake_effort_bits=(4, 8))


@pytest.fixture
async def worker(app, store, pool, temporal_server) -> AsyncIterator[Client]:  # type: ignore[no-untyped-def]
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        yield temporal


async def until(read: Any, check: Any, what: str, tries: int = 300) -> Any:
    """Poll ``read()`` until ``check`` holds (the workflows act on their own); never a fixed sleep past a deadline."""
    for _ in range(tries):
        state = await read()
        if check(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {getattr(state, 'status', state)}")


async def sign_in(page: Any, live: str, name: str) -> None:
    await page.goto(f"{live}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console")


async def schedule(page: Any, live: str, title: str, *, options: str = "", parties: tuple[tuple[str, str], ...] = ()
                   ) -> str:
    """The scheduling form with the topic ticked from the accepted topics; the meeting's id."""
    await page.goto(f"{live}/console/meetings")
    starts = (datetime.now(UTC) + timedelta(hours=1)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    await page.get_by_label("名称", exact=True).fill(title)
    await page.get_by_label("类型", exact=True).select_option("weekend_hall")
    await page.get_by_label("开始时间（北京时间").fill(starts)
    await page.get_by_label("地点", exact=True).fill("社区议事厅")
    for n, (kind, name) in enumerate(parties, start=1):
        await page.get_by_label(f"参会方 {n}：类别").select_option(kind)
        await page.get_by_label(f"参会方 {n}：名称").fill(name)
    picked = page.locator("div.agenda-topic", has_text=TITLE)
    await picked.locator("input[type=checkbox]").check()
    if options:
        await picked.locator("textarea").fill(options)
    await assert_accessible(page, "the scheduling form with the agenda picker")
    await page.get_by_role("button", name="安排", exact=True).click()
    await page.locator("#meeting-status, p.alert").first.wait_for()
    assert "/console/meetings/meeting-" in page.url, await page.locator("p.alert").inner_text()
    return page.url.rsplit("/", 1)[1].split("#")[0]


async def test_the_whole_loop_in_the_browser(browser, live_server, worker, pool, store, open_deliberation,  # noqa: PLR0915
                                             artifacts_dir, tmp_path: Path) -> None:
    d = await open_deliberation(6, community=HOME)
    await add_account(pool, "郑主任", "committee", PASSWORD, community=HOME)
    laptop = await browser.new_context(**LAPTOP)
    resident_ctx, *party_ctx = [await browser.new_context(**PHONE) for _ in range(3)]
    owners_ctx = await browser.new_context(**PHONE)
    console, resident = await laptop.new_page(), await resident_ctx.new_page()
    photo = tmp_path / "南门.jpg"
    photo.write_bytes(jpeg())
    started: list[str] = []
    try:
        # -- the resident raises the topic from the poster's QR link --------------------------------------------
        await sign_in(console, live_server, "郑主任")
        await console.get_by_role("link", name="议题", exact=True).click()
        await console.get_by_role("button", name="打印海报").click()
        intake = (await console.locator("#poster-url").inner_text()).strip()
        await resident.goto(live_server + urlsplit(intake).path)
        await resident.get_by_label("什么事？（标题）").fill(TITLE)
        await resident.get_by_label("说说详情").fill("电动车在楼道充电太危险，希望在小区里装充电桩")
        await resident.get_by_role("button", name="下一步").click()
        await resident.locator("#none-similar").wait_for()
        await resident.get_by_label("照片（可不传）").set_input_files(str(photo))
        await assert_accessible(resident, "intake")
        await resident.get_by_role("button", name="提交议题").click()
        await resident.locator("#raised").wait_for()
        tracking = resident.url.split("?")[0]
        await assert_accessible(resident, "tracking page")

        # -- the committee takes it up ---------------------------------------------------------------------------
        await console.goto(f"{live_server}/console/topics")
        await console.get_by_role("link", name=TITLE).click()
        topic_id = console.url.rsplit("/", 1)[1].split("?")[0]
        await console.get_by_role("button", name="领题").click()
        await console.get_by_text("社区已领题").wait_for()
        await assert_accessible(console, "the console's topic page")

        # -- a meeting with the topic on its agenda (three sites) and two parties --------------------------------
        meeting_id = await schedule(console, live_server, "周末议事厅：充电桩选址", options=SITES,
                                    parties=(("party_member", "党员代表王"), ("property_company", "安居物业")))
        started.append(meeting_id)
        m = await until(lambda: meeting_state(pool, meeting_id), lambda m: len(m.parties) == 2 and m.items,
                        "the invitations and the agenda")
        item = m.items["1"]
        assert (item.topic_id, item.title, item.option_ids()) == (topic_id, TITLE, ("A", "B", "C"))
        assert (await topic_state(pool, topic_id)).status == "scheduled"
        await console.goto(f"{live_server}/console/meetings/{meeting_id}")
        await console.locator("article.item[data-item='1']").wait_for()
        await shot(console, artifacts_dir, "loop-meeting-console-zh")
        await assert_accessible(console, "the meeting's page")

        await console.get_by_role("button", name="打印邀请链接").click()
        await console.locator("section.invitation").first.wait_for()
        urls = {await s.get_attribute("data-holder"): await s.locator("a.invitation-url").get_attribute("href")
                for s in await console.locator("section.invitation").all()}
        assert set(urls) == {"p1", "p2", "door"}, urls
        for ctx, (party, option) in zip(party_ctx, (("p1", "B"), ("p2", "A")), strict=True):
            mobile = await ctx.new_page()
            await mobile.goto(urls[party].replace(BASE_URL, live_server))
            first = mobile.locator("article.item[data-item='1']")
            await first.locator(f"input[type=radio][value={option}]").check()
            await first.get_by_label("您的意见").fill(f"{party} 主张 {option}")
            await first.get_by_role("button", name="提交我的意见").click()
            await mobile.locator("#party-done").wait_for()
            await assert_accessible(mobile, f"party {party}'s invitation page")
            if party == "p1":
                await mobile.get_by_role("button", name="签到").click()
                await mobile.get_by_text("您已签到").wait_for()
                await shot(mobile, artifacts_dir, "loop-party-phone-zh")

        # -- at the meeting: attendance, minutes, the vote decided from the console ------------------------------
        await console.goto(f"{live_server}/console/meetings/{meeting_id}")
        await console.locator("#att-party").select_option("p2")
        await console.locator("#attendance-form").get_by_role("button", name="签到").click()
        await console.locator("tr.party[data-party='p2']").get_by_text("✓").wait_for()
        first = console.locator("article.item[data-item='1']")
        await first.get_by_label("本议项的会议纪要").fill("党员代表主张B，物业主张A；三处选址交业主表决。")
        await first.get_by_role("button", name="保存纪要").click()
        await first.locator("p.minutes").wait_for()
        form = console.locator("article.item[data-item='1'] form.decide-form")
        await form.locator("input[name=kind][value=vote]").check()
        await form.get_by_label("决定内容").fill("三处选址交业主表决")
        await form.get_by_label("表决事项").fill("充电桩建在哪里？")
        assert await form.get_by_label("付诸表决的方案").input_value() == "A,B,C"
        await form.get_by_label("业主名册").select_option(d.id)
        await form.get_by_role("button", name="记录决定").click()
        await console.locator("p.decision[data-kind='vote'], #meeting-error").first.wait_for()
        assert not await console.locator("#meeting-error").count(), await console.locator("#meeting-error").inner_text()
        vote_id = (await console.locator("p.decision a", has_text="表决").get_attribute("href")).rsplit("/", 1)[1]
        await console.get_by_role("button", name="结束会议").click()
        await console.locator("#meeting-status[data-status='held']").wait_for()
        await until(lambda: topic_state(pool, topic_id), lambda t: t.status == "voting", "the topic put to the vote")

        # -- the owners vote through their links -----------------------------------------------------------------
        await console.goto(f"{live_server}/console/d/{vote_id}/links")
        await console.get_by_role("button", name="生成投票链接").click()
        await console.get_by_role("button", name="打印通知单（A4，按单元，含二维码）").click()
        await console.wait_for_load_state()
        ballots = sorted(set(re.findall(re.escape(BASE_URL) + r"/v/[A-Za-z0-9_\-]+", await console.content())))
        assert len(ballots) == 6, ballots
        voter = await owners_ctx.new_page()
        for n, url in enumerate(ballots):
            option = "A" if n == 0 else "B"
            await voter.goto(url.replace(BASE_URL, live_server))
            ballot = voter.locator("form.ballot", has=voter.locator(f"input[name=question][value='option:{option}']"))
            await ballot.locator("input[type=radio][value=for]").check()
            if n == 0:
                await shot(voter, artifacts_dir, "loop-ballot-phone-zh")
                await assert_accessible(voter, "an owner's three-option ballot")
            await ballot.get_by_role("button", name="提交投票").click()
            await voter.get_by_text("投票已记录").first.wait_for()
        await worker.get_workflow_handle(vote_id).signal("withdraw", "测试：提前结束表决")  # the period's end
        m = await until(lambda: meeting_state(pool, meeting_id), lambda m: m.items["1"].vote is not None,
                        "the vote counted in the meeting")
        assert (m.items["1"].vote.winner, m.items["1"].vote.reason) == ("B", "winner")
        await until(lambda: topic_state(pool, topic_id), lambda t: t.status == "decided", "the topic decided")
        await console.goto(f"{live_server}/console/meetings/{meeting_id}")
        await console.locator("p.vote-result").wait_for()
        for ctx, party in zip(party_ctx, ("p1", "p2"), strict=True):
            mobile = ctx.pages[0]
            await mobile.goto(urls[party].replace(BASE_URL, live_server))
            await mobile.get_by_role("button", name="我确认会议纪要").click()
            await mobile.locator("#party-done").wait_for()
        await until(lambda: meeting_state(pool, meeting_id), lambda m: m.status == "published", "minutes published")

        # -- the next meeting: who builds it, by when, with a milestone (the follow-up) --------------------------
        follow_id = await schedule(console, live_server, "周末议事厅：充电桩实施")
        started.append(follow_id)
        await until(lambda: meeting_state(pool, follow_id), lambda m: m.items, "the agenda")
        await console.goto(f"{live_server}/console/meetings/{follow_id}")
        due = (datetime.now(UTC) + timedelta(days=30)).astimezone(BEIJING).date()
        form = console.locator("article.item[data-item='1'] form.decide-form")
        await form.locator("input[name=kind][value=consensus]").check()
        await form.get_by_label("决定内容").fill("按表决结果在3号楼北侧安装充电桩")
        await form.get_by_label("负责人").fill("安居物业")
        await form.get_by_label("完成期限").fill(due.isoformat())
        await form.get_by_label("实施节点").fill(f"设备进场={(due - timedelta(days=10)).isoformat()}")
        await form.get_by_role("button", name="记录决定").click()
        await console.locator("p.decision[data-kind='consensus'], #meeting-error").first.wait_for()
        assert not await console.locator("#meeting-error").count(), await console.locator("#meeting-error").inner_text()
        t = await until(lambda: topic_state(pool, topic_id), lambda t: t.status == "following_up", "the follow-up")
        assert [(f.owner, f.names) for f in t.follow_ups] == [("安居物业", ("设备进场",))]

        # -- done; the proposer answers; the public page shows it ------------------------------------------------
        await console.goto(f"{live_server}/console/topics/{topic_id}")
        await console.locator("#resolve-text").fill("充电桩已在3号楼北侧安装并通电")
        await console.locator("#resolve-form").get_by_role("button").click()
        await until(lambda: topic_state(pool, topic_id), lambda t: t.status == "resolved" and t.feedback_due,
                    "feedback asked")
        await resident.goto(tracking)
        await resident.locator("#feedback").wait_for()
        await assert_accessible(resident, "tracking page asking for feedback")
        await resident.get_by_label("满意", exact=True).check()
        await resident.locator("#f-text").fill("装得很快，谢谢")
        await resident.get_by_role("button", name="提交评价").click()
        await resident.get_by_text("已记录，谢谢。").wait_for()
        assert "返回投票页" not in await resident.inner_text("main"), "a topic's page, not a ballot's"
        await resident.get_by_role("link", name="返回议题").click()
        await resident.locator("#topic-status").wait_for()
        assert not await resident.locator("#feedback").count(), "answered: no form any more"
        await shot(resident, artifacts_dir, "loop-tracking-feedback-zh")
        await assert_accessible(resident, "tracking page after the feedback")

        public = await resident_ctx.new_page()
        await public.goto(f"{live_server}/p/{HOME}/topics")
        await public.get_by_text(TITLE).first.wait_for()
        await shot(public, artifacts_dir, "loop-public-topics-zh")
        await assert_accessible(public, "the public topics page")
        await public.goto(f"{live_server}/meetings/{meeting_id}")
        await public.locator("#published").wait_for()
        text = await public.inner_text("main")
        assert "三处选址交业主表决" in text and "党员代表王" not in text
        await assert_accessible(public, "the residents' meeting page")
    finally:
        for context in (laptop, resident_ctx, *party_ctx, owners_ctx):
            await context.close()
        for workflow_id in started:
            try:
                await worker.get_workflow_handle(workflow_id).terminate("test done")
            except Exception:  # noqa: BLE001 - already ended
                pass
    types = await stream_types(store, topic_id)
    for expected in ("TopicRaised", "TopicTaken", "TopicScheduled", "TopicVoteCounted", "FollowUpOpened",
                     "TopicResolved", "FeedbackGiven"):
        assert expected in types, (expected, types)
    await audited(pool, store, worker, meeting_id, topic_id, vote_id)


async def audited(pool: Any, store: Any, client: Client, meeting_id: str, topic_id: str, vote_id: str) -> None:
    """``yishi audit verify``'s service function on the loop's streams: green; red once one minute's text is altered
    in the database (what a superuser can do: the append-only trigger switched off), naming that event."""
    for subject in (meeting_id, topic_id):
        report = await verify(subject, pool=pool, client=client)
        assert report.ok, (subject, report.failures)
    checks = (await verify(meeting_id, pool=pool, client=client)).to_json()["checks"]
    assert any(c["name"] == "meeting" and c["subject"] == meeting_id and c["ok"] for c in checks)
    assert any(c["name"] == "recount" and c["subject"] == vote_id and c["ok"] for c in checks), "the vote recounted"
    checks = (await verify(topic_id, pool=pool, client=client)).to_json()["checks"]
    assert any(c["name"] == "topic" and c["subject"] == topic_id and c["ok"] for c in checks)
    seq = next(e.seq for e in await store.read(meeting_id) if e.type == "MinutesRecorded")
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        try:
            await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{text}', '\"各方一致同意A\"')"
                               " WHERE stream_id = $1 AND seq = $2", meeting_id, seq)
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    report = await verify(meeting_id, pool=pool, client=client)
    assert not report.ok
    chain = next(c for c in report.to_json()["checks"] if c["name"] == "chain" and c["subject"] == meeting_id)
    assert (chain["ok"], chain["seq"]) == (False, seq), chain
