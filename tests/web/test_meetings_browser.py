"""A meeting (议事会) done in real Chromium, every step in the browser: the committee schedules it on a laptop with a
three-option item and two invited parties, prints their invitation links; each party states its position through
its own link on a phone; attendance (one through its link, one by the clerk), the minutes and a three-option vote
decided from the console; the session closed, both parties confirm the minutes through their links, and the
residents' page shows the published minutes. axe finds no serious violation on any of the pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from domain.legal_calendar import BEIJING
from tests.web.conftest import BASE_URL, PASSWORD, SECRET
from tests.web.test_browser import assert_accessible, shot
from tests.workflows.conftest import running_worker
from yishi.services.accounts import add_account
from yishi.services.meetings import meeting_state
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

pytestmark = pytest.mark.browser
HOME = "幸福社区"
QUEUE = f"meet-web-{uuid.uuid4().hex[:8]}"
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True, "has_touch": True}


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE)


@pytest.fixture
async def worker(app, store, pool, temporal_server) -> AsyncIterator[Client]:  # type: ignore[no-untyped-def]
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        yield temporal


async def until(pool: Any, meeting_id: str, check: Any, what: str) -> Any:
    import asyncio

    for _ in range(200):
        m = await meeting_state(pool, meeting_id)
        if check(m):
            return m
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {m.status}")


async def sign_in(page: Any, live: str, name: str) -> None:
    await page.goto(f"{live}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console")


async def test_a_meeting_from_schedule_to_published_minutes(browser, live_server, worker, pool, store: EventStore,
                                                             open_deliberation, artifacts_dir) -> None:
    d = await open_deliberation(6, community=HOME)  # its owners roll is the one the vote uses
    await add_account(pool, "周主任", "committee", PASSWORD, community=HOME)
    laptop = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    phones = [await browser.new_context(**PHONE) for _ in range(2)]
    page = await laptop.new_page()
    meeting_id = ""
    try:
        await sign_in(page, live_server, "周主任")
        await page.get_by_role("link", name="议事会").click()
        await page.get_by_role("heading", name="安排议事会").wait_for()
        starts = (datetime.now(UTC) + timedelta(hours=1)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        await page.get_by_label("名称", exact=True).fill("周末议事厅：充电桩")
        await page.get_by_label("类型", exact=True).select_option("weekend_hall")
        await page.get_by_label("开始时间（北京时间").fill(starts)
        await page.get_by_label("地点", exact=True).fill("社区议事厅")
        await page.get_by_label("参会方 1：类别").select_option("party_member")
        await page.get_by_label("参会方 1：名称").fill("党员代表王")
        await page.get_by_label("参会方 2：类别").select_option("property_company")
        await page.get_by_label("参会方 2：名称").fill("安居物业")
        await assert_accessible(page, "meetings list with the schedule form")
        await page.get_by_role("button", name="安排", exact=True).click()
        await page.wait_for_url("**/console/meetings/meeting-*")
        meeting_id = page.url.rsplit("/", 1)[1].split("#")[0]
        await until(pool, meeting_id, lambda m: len(m.parties) == 2, "the invitations")

        await page.get_by_label("增加议项：名称").fill("充电桩选址")
        await page.get_by_label("备选方案，每行一个").fill("A=东门车棚\nB=3号楼北侧\nC=地下车库入口")
        await page.get_by_role("button", name="增加议项").click()
        await page.locator("article.item[data-item='1']").wait_for()
        await page.get_by_label("增加议项：名称").fill("楼道堆物清理")
        await page.get_by_role("button", name="增加议项").click()
        await page.locator("article.item[data-item='2']").wait_for()
        await assert_accessible(page, "the meeting's page")
        await shot(page, artifacts_dir, "meeting-console-zh")

        await page.get_by_role("button", name="打印邀请链接").click()
        await page.get_by_role("heading", name="邀请链接", exact=False).first.wait_for()
        urls = {await s.get_attribute("data-holder"): await s.locator("a.invitation-url").get_attribute("href")
                for s in await page.locator("section.invitation").all()}
        assert set(urls) == {"p1", "p2", "door"}, urls
        assert all(u.startswith(BASE_URL + "/m/") for u in urls.values())
        await assert_accessible(page, "the invitation links")

        for phone, (party, option) in zip(phones, (("p1", "B"), ("p2", "A")), strict=True):
            mobile = await phone.new_page()
            await mobile.goto(urls[party].replace(BASE_URL, live_server))
            item = mobile.locator("article.item[data-item='1']")
            await item.locator(f"input[type=radio][value={option}]").check()
            await item.get_by_label("您的意见").fill(f"{party} 支持 {option}")
            await item.get_by_role("button", name="提交我的意见").click()
            await mobile.locator("#party-done").wait_for()
            if party == "p1":
                await mobile.get_by_role("button", name="签到").click()
                await mobile.get_by_text("您已签到").wait_for()
                await assert_accessible(mobile, "a party's invitation page")
                await shot(mobile, artifacts_dir, "meeting-party-phone-zh")
        m = await meeting_state(pool, meeting_id)
        assert {p: (pos.option, pos.via) for p, pos in m.items["1"].positions.items()} == {
            "p1": ("B", "link"), "p2": ("A", "link")}

        await page.goto(f"{live_server}/console/meetings/{meeting_id}")
        await page.locator("#att-party").select_option("p2")
        await page.locator("#attendance-form").get_by_role("button", name="签到").click()
        await page.locator("tr.party[data-party='p2']").get_by_text("✓").wait_for()
        first = page.locator("article.item[data-item='1']")
        await first.get_by_label("本议项的会议纪要").fill("各方意见：党员代表支持B，物业支持A；同意交业主表决。")
        await first.get_by_role("button", name="保存纪要").click()
        await first.locator("p.minutes").wait_for()
        second = page.locator("article.item[data-item='2']")
        form = second.locator("form.decide-form")
        await form.locator("input[name=kind][value=consensus]").check()
        await form.get_by_label("决定内容").fill("物业两周内清理楼道堆物")
        await form.get_by_label("负责人").fill("安居物业")
        due = (datetime.now(UTC) + timedelta(days=14)).astimezone(BEIJING).date()
        await form.get_by_label("完成期限").fill(due.isoformat())
        await form.get_by_label("实施节点").fill(f"张贴通知={(due - timedelta(days=7)).isoformat()}\n清理完毕={due}")
        await form.get_by_role("button", name="记录决定").click()
        await page.locator("article.item[data-item='2'] p.decision[data-kind='consensus'], #meeting-error").first \
            .wait_for()
        assert not await page.locator("#meeting-error").count(), await page.locator("#meeting-error").inner_text()
        form = page.locator("article.item[data-item='1'] form.decide-form")
        await form.locator("input[name=kind][value=vote]").check()
        await form.get_by_label("决定内容").fill("三个选址交业主表决")
        await form.get_by_label("表决事项").fill("充电桩建在哪里？")
        assert await form.get_by_label("付诸表决的方案").input_value() == "A,B,C"
        await form.get_by_label("业主名册").select_option(d.id)
        await form.get_by_role("button", name="记录决定").click()
        await page.locator("p.decision[data-kind='vote'], #meeting-error").first.wait_for()
        assert not await page.locator("#meeting-error").count(), await page.locator("#meeting-error").inner_text()
        await page.get_by_role("button", name="结束会议").click()
        await page.locator("#meeting-status[data-status='held']").wait_for()
        m = await until(pool, meeting_id, lambda m: m.status == "held", "the session closed")
        assert m.items["1"].decision.options == ("A", "B", "C") and m.items["1"].decision.deliberation_id
        agreed = m.items["2"].decision
        assert (agreed.kind, agreed.owner, agreed.due) == ("consensus", "安居物业", due)
        assert [(ms.name, ms.due) for ms in agreed.milestones] == [("张贴通知", due - timedelta(days=7)),
                                                                   ("清理完毕", due)]

        for phone, party in zip(phones, ("p1", "p2"), strict=True):
            mobile = phone.pages[0]
            await mobile.goto(urls[party].replace(BASE_URL, live_server))
            await mobile.get_by_role("button", name="我确认会议纪要").click()
            await mobile.locator("#party-done").wait_for()
        m = await until(pool, meeting_id, lambda m: m.status == "published", "the minutes published")
        public = await phones[0].new_page()
        await public.goto(f"{live_server}/meetings/{meeting_id}")
        await public.locator("#published").wait_for()
        text = await public.inner_text("main")
        assert "同意交业主表决" in text and "物业两周内清理楼道堆物" in text
        assert "党员代表王" not in text and "安居物业" not in text, "no party's name on the residents' page"
        await assert_accessible(public, "the residents' meeting page")
        await shot(public, artifacts_dir, "meeting-public-phone-zh")
    finally:
        for context in (laptop, *phones):
            await context.close()
        if meeting_id:
            try:
                await worker.get_workflow_handle(meeting_id).terminate("test done")
            except Exception:  # noqa: BLE001 - already ended
                pass
