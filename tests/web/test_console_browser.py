"""The console additions in real Chromium: the community filter, paper entry with the clerk in the list, and the
complaint form are usable and pass an axe check (no serious or critical violation), in Chinese and English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.box import BoxActivities, SealInput
from domain.legal_calendar import BEIJING
from tests.web.conftest import PASSWORD
from tests.web.test_browser import assert_accessible, shot
from tests.web.test_console_community import _register
from tests.web.test_resident_phone import too_small
from yishi.services.accounts import add_account
from yishi.services.voting import load_box

pytestmark = pytest.mark.browser


async def opening_day(store, deliberation_id: str) -> str:  # type: ignore[no-untyped-def]
    """The day (Beijing time) the box opened: a sheet dated then was filled in during the vote."""
    return (await load_box(store, deliberation_id)).opened.opens_at.astimezone(BEIJING).date().isoformat()


async def test_filter_paper_clerk_and_complaint_form(browser, live_server, pool, store, open_deliberation,
                                                     artifacts_dir) -> None:
    d = await open_deliberation(4)
    room = d.roll.rooms[1].room_id
    await _register(pool, "幸福社区", "小区充电桩议题")
    await add_account(pool, "孙委员", "committee", PASSWORD, community="幸福社区")
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill("孙委员")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("heading", name="表决事项").wait_for()
        await page.get_by_label("社区").select_option("default")
        await page.get_by_role("button", name="筛选").click()
        await page.wait_for_url("**/console?community=default")
        await shot(page, artifacts_dir, "console-list-filter-zh")
        await assert_accessible(page, "console list with the community filter")

        await page.goto(f"{live_server}/console/d/{d.id}/paper")
        await page.get_by_label("业主房号").fill("9-9-999")  # a room not on the roll: refused, nothing typed lost
        await page.get_by_text("反对", exact=True).click()
        await page.get_by_label("填写日期").fill(await opening_day(store, d.id))
        await page.get_by_label("扫描件编号").fill("纸票-B-01")
        await page.get_by_role("button", name="录入").click()
        await page.locator("#paper-error").wait_for()
        assert await page.get_by_label("扫描件编号").input_value() == "纸票-B-01"
        assert await page.get_by_label("业主房号").input_value() == "9-9-999"
        assert await page.get_by_label("填写日期").input_value() == await opening_day(store, d.id)
        assert await page.get_by_role("radio", name="反对").is_checked()
        small = await too_small(page)
        assert not small, "under 44 px on the paper entry page:\n" + "\n".join(map(str, small))
        await page.get_by_label("业主房号").fill(room)
        await page.get_by_role("button", name="录入").click()
        await page.get_by_text("纸质选票已录入").wait_for()
        await page.goto(f"{live_server}/console/d/{d.id}")
        row = page.locator("tr.paper-row")
        assert "孙委员" in await row.inner_text()
        await assert_accessible(page, "progress with the paper list")

        await page.goto(f"{live_server}/console/escalations/new?d={d.id}&lang=en")
        await page.get_by_label("Resident (owner id, or name and room)").fill("o001")
        await shot(page, artifacts_dir, "console-complaint-en")
        await assert_accessible(page, "complaint form (en)")
    finally:
        await context.close()


async def test_paper_entry_after_the_close_and_after_the_seal(app, browser, live_server, pool, store,
                                                             open_deliberation, artifacts_dir) -> None:
    d = await open_deliberation(4, paper_entry="PT2H")
    box = await load_box(store, d.id)
    closes, until = box.opened.closes_at, box.opened.seals_at
    app.state.clock = lambda: closes + timedelta(minutes=20)  # the live server's clock too
    await add_account(pool, "李委员", "committee", PASSWORD, community="幸福社区")
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill("李委员")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("heading", name="表决事项").wait_for()
        await page.goto(f"{live_server}/console/d/{d.id}/paper")
        await page.get_by_text("业委会可录入至").wait_for()
        await page.get_by_label("业主房号").fill(d.roll.rooms[0].room_id)
        await page.get_by_text("同意", exact=True).click()
        await page.get_by_label("填写日期").fill(await opening_day(store, d.id))
        await page.get_by_label("扫描件编号").fill("纸票-C-01")
        await page.get_by_role("button", name="录入").click()
        await page.get_by_text("纸质选票已录入").wait_for()
        await shot(page, artifacts_dir, "console-paper-after-close-zh")
        await assert_accessible(page, "paper entry after the close")
        await BoxActivities(store, pool).seal_box(SealInput(deliberation_id=d.id, at=until))
        await page.goto(f"{live_server}/console/d/{d.id}/paper")
        await page.get_by_text("纸质选票录入已于").wait_for()
        assert await page.get_by_label("填写日期").count() == 0, "no form once sealed"
        await assert_accessible(page, "paper entry after the seal")
    finally:
        await context.close()
    sealed = await load_box(store, d.id)
    assert sealed.state.recorded.results["main"].in_favour.owners == 1
