"""A page that reloads itself while work runs in the background (templates/_auto_reload.html, static/reload.js;
issue 21): it reloads by itself, a button pauses that and resumes it (WCAG 2.2.1, which a meta refresh fails:
axe's meta-refresh), and without JavaScript a plain link reloads it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.web.test_plan_documents import before_the_vote


async def test_the_starting_page_waits_without_a_meta_refresh(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    d = await before_the_vote(pool, store, started=False)  # registered, the worker has not written its stream yet
    committee = await sign_in("committee")
    page = (await committee.get(f"/console/d/{d}/matter?started=1")).text
    assert "事项正在启动" in page and 'data-reload-every="3"' in page and "http-equiv" not in page, page[-1500:]
    assert f'href="/console/d/{d}/matter?started=1" data-reload-link>刷新</a>' in page
    assert ">暂停自动刷新</button>" in page and 'src="/static/reload.js"' in page


@pytest.mark.browser
async def test_in_chromium_the_preparing_page_reloads_until_paused_and_again_when_resumed(
        browser, live_server, pool, store, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import PASSWORD
    from tests.web.test_browser import assert_accessible, shot
    from yishi.services.accounts import add_account

    d = await before_the_vote(pool, store, ready=False)  # "preparing" (matters.SETTLING from the stage's entry)
    name = f"钱委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community="幸福社区")
    laptop = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await laptop.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url("**/console")
        await page.goto(f"{live_server}/console/d/{d}/matter")
        await page.locator("#matter-preparing").wait_for()
        await page.get_by_role("button", name="暂停自动刷新").wait_for()
        assert not await page.get_by_role("link", name="刷新", exact=True).is_visible(), "the script hides the link"
        every = int(await page.locator("[data-reload-every]").get_attribute("data-reload-every")) * 1000

        await page.evaluate("() => { window.kept = 'before'; }")  # a reload forgets it
        await page.wait_for_function("() => window.kept === undefined", timeout=every + 5_000)  # reloaded by itself
        await page.locator("#matter-preparing").wait_for()

        await page.get_by_role("button", name="暂停自动刷新").click()
        await page.evaluate("() => { window.kept = 'paused'; }")
        resume = page.get_by_role("button", name="继续自动刷新")
        assert await resume.is_visible()
        await page.wait_for_timeout(2 * every + 1_000)  # two of the page's own intervals: no reload in them
        assert await page.evaluate("() => window.kept") == "paused"
        await assert_accessible(page, "matter page, reloading paused")
        await shot(page, artifacts_dir, "console-matter-preparing-paused-zh")

        async with page.expect_navigation():
            await resume.click()
        assert await page.evaluate("() => window.kept") is None
        await page.get_by_role("button", name="暂停自动刷新").wait_for()  # reloading again

        # Without JavaScript: no button, a plain link to the same page.
        plain = await browser.new_context(java_script_enabled=False, storage_state=await laptop.storage_state(),
                                          viewport={"width": 1280, "height": 800}, locale="zh-CN")
        try:
            still = await plain.new_page()
            await still.goto(f"{live_server}/console/d/{d}/matter")
            link = still.get_by_role("link", name="刷新", exact=True)
            assert await link.get_attribute("href") == f"/console/d/{d}/matter"
            assert await still.get_by_role("button", name="暂停自动刷新").count() == 0
        finally:
            await plain.close()
    finally:
        await laptop.close()
