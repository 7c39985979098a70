"""The topic loop in real Chromium: the committee prints the intake poster (laptop), a resident on a phone scans it,
raises a topic with a photo and gets the tracking page, the committee takes it up (领题), and the resident sees it
taken. Every page axe-checked (no serious or critical violation), screenshots under ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_topic_pages import jpeg, settings, worker  # noqa: F401 - fixtures used here
from tests.workflows.conftest import stream_types

pytestmark = pytest.mark.browser
LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}

COMMUNITY = "明月社区"  # its own: no open topic of another test reads like this one


async def test_resident_raises_committee_takes_resident_sees_it(browser, live_server, pool, store, worker,  # noqa: F811
                                                                 artifacts_dir, tmp_path: Path) -> None:
    from yishi.services.accounts import add_account

    await add_account(pool, "王主任", "committee", PASSWORD, community=COMMUNITY)
    staff = await browser.new_context(**LAPTOP)
    phone = await browser.new_context(**PHONE)
    console, resident = await staff.new_page(), await phone.new_page()
    photo = tmp_path / "楼道.jpg"
    photo.write_bytes(jpeg())
    try:
        await console.goto(f"{live_server}/login")
        await console.get_by_label("账号").fill("王主任")
        await console.get_by_label("密码").fill(PASSWORD)
        await console.get_by_role("button", name="登录").click()
        await console.get_by_role("link", name="议题", exact=True).click()
        await assert_accessible(console, "console topics")
        await console.get_by_role("button", name="打印海报").click()
        url = (await console.locator("#poster-url").inner_text()).strip()
        await shot(console, artifacts_dir, "topic-poster-zh")
        await assert_accessible(console, "intake poster")

        await resident.goto(live_server + urlsplit(url).path)
        await resident.get_by_role("heading", level=1).wait_for()
        await assert_accessible(resident, "intake step 1")
        await resident.get_by_label("什么事？（标题）").fill("5号楼楼道灯坏了一个月")
        await resident.get_by_label("说说详情").fill("晚上下楼看不见，老人摔过一跤")
        await resident.get_by_role("button", name="下一步").click()
        await resident.locator("#none-similar").wait_for()
        await resident.get_by_label("电话（可不填）").fill("13912345678")
        await resident.get_by_label("照片（可不传）").set_input_files(str(photo))
        await shot(resident, artifacts_dir, "topic-intake-zh")
        await assert_accessible(resident, "intake step 2")
        await resident.get_by_role("button", name="提交议题").click()
        await resident.locator("#raised").wait_for()
        tracking = resident.url.split("?")[0]
        await shot(resident, artifacts_dir, "topic-tracking-raised-zh")
        await assert_accessible(resident, "tracking page")

        await console.goto(f"{live_server}/console/topics")
        await console.get_by_role("link", name="5号楼楼道灯坏了一个月").click()
        await console.get_by_label("备注（可不填）").first.fill("周五议事会讨论")
        await shot(console, artifacts_dir, "console-topic-zh")
        await assert_accessible(console, "console topic page")
        await console.get_by_role("button", name="领题").click()
        await console.get_by_text("社区已领题").wait_for()
        assert tracking.rsplit("/", 1)[-1] not in await console.content(), "staff never see the resident's link"
        await console.goto(f"{live_server}/console/topics/new")
        await assert_accessible(console, "console: raise a topic")

        await resident.goto(tracking)
        await resident.get_by_text("社区已领题").wait_for()
        assert "周五议事会讨论" in await resident.content()
        assert "13912345678" not in await resident.content()
        await shot(resident, artifacts_dir, "topic-tracking-taken-zh")
        await assert_accessible(resident, "tracking page, taken")
        await resident.goto(tracking + "?lang=en")
        await resident.get_by_text("The committee took it up").wait_for()
        await assert_accessible(resident, "tracking page, English")
        await resident.goto(f"{live_server}/p/{COMMUNITY}/topics")
        await resident.get_by_text("5号楼楼道灯坏了一个月").wait_for()
        assert "13912345678" not in await resident.content()
        await shot(resident, artifacts_dir, "topic-public-zh")
        await assert_accessible(resident, "public topic page")
    finally:
        await staff.close()
        await phone.close()
    async with pool.acquire() as conn:
        topic_id = await conn.fetchval("SELECT topic_id FROM topics WHERE title = '5号楼楼道灯坏了一个月'")
    types = await stream_types(store, topic_id)
    assert types[0] == "TopicRaised" and "TopicTaken" in types


async def test_the_phone_does_the_proof_of_effort_when_the_address_is_busy(browser, live_server, app, pool, store,
                                                                            worker, artifacts_dir) -> None:  # noqa: F811
    from tests.web.test_topic_pages import poster

    app.state.settings = app.state.settings.model_copy(update={"intake_per_address": (1, 3600)})
    token = await poster(pool, store, "繁星社区")
    phone = await browser.new_context(**PHONE)
    page = await phone.new_page()
    try:
        for title in ("北门路灯不亮", "南门垃圾没人收"):
            await page.goto(f"{live_server}/t/{token}?title={title}&description=好几天了")
            await page.get_by_role("button", name="提交议题").click()
            await page.wait_for_load_state()
        assert "/t/" in page.url and await page.locator('input[name="challenge"]').count() == 1, page.url
        await shot(page, artifacts_dir, "topic-intake-effort-zh")
        await assert_accessible(page, "intake with the proof of effort")
        send = page.get_by_role("button", name="提交议题")
        await send.click(timeout=20_000)  # enabled once the script found the nonce
        await page.locator("#raised").wait_for()
        assert "南门垃圾没人收" in await page.content()
    finally:
        await phone.close()
