"""A resident on a phone, in real Chromium: open the link, vote, get a receipt, change the vote, check it.

Run in Chinese and in English, with screenshots kept under ``test-artifacts/`` and an axe accessibility
check of every page (no serious or critical violation allowed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe

from yishi.services.voting import load_box

pytestmark = pytest.mark.browser

# A phone inside WeChat: small screen, touch, WeChat's user agent.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 13; V2244A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F30) NetType/WIFI Language/zh_CN",
    "locale": "zh-CN",
}

TEXT = {
    "zh": {"for": "同意", "against": "反对", "submit": "提交投票", "recorded": "投票已记录", "back": "返回投票页",
           "check": "查询", "found": "这张选票在投票记录中", "rule": "之前改票，以最后一次为准"},
    "en": {"for": "For", "against": "Against", "submit": "Cast my ballot", "recorded": "Your ballot is recorded",
           "back": "Back to the ballot", "check": "Check", "found": "This ballot is in the record",
           "rule": "the last one counts"},
}


async def assert_accessible(page, name: str) -> None:  # type: ignore[no-untyped-def]
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(f"{v['id']}: {v['help']}" for v in bad)


async def shot(page, artifacts: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_vote_change_and_check_receipt(browser, live_server, store, open_deliberation, artifacts_dir,
                                             lang) -> None:
    d = await open_deliberation(6)
    words = TEXT[lang]
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        suffix = "?lang=en" if lang == "en" else ""
        await page.goto(f"{live_server}{d.path('o004')}{suffix}")
        await page.get_by_role("heading", level=1).wait_for()
        await shot(page, artifacts_dir, f"ballot-{lang}")
        await assert_accessible(page, f"ballot page ({lang})")

        await page.get_by_label(words["for"], exact=True).check()
        await page.get_by_role("button", name=words["submit"]).click()
        await page.get_by_text(words["recorded"]).first.wait_for()
        first_code = (await page.locator("#receipt-code").inner_text()).strip()
        assert words["rule"] in await page.content()
        await shot(page, artifacts_dir, f"receipt-{lang}")
        await assert_accessible(page, f"receipt page ({lang})")

        await page.get_by_role("link", name=words["back"]).click()
        await page.get_by_label(words["against"], exact=True).check()
        await page.get_by_role("button", name=words["submit"]).click()
        await page.get_by_text(words["recorded"]).first.wait_for()
        second_code = (await page.locator("#receipt-code").inner_text()).strip()
        assert second_code != first_code
        await shot(page, artifacts_dir, f"receipt-changed-{lang}")

        await page.goto(f"{live_server}/receipt{suffix}")
        await page.get_by_role("textbox").fill(second_code)
        await page.get_by_role("button", name=words["check"]).click()
        await page.get_by_text(words["found"]).wait_for()
        assert (await page.locator("#rc-seq").text_content() or "").strip() == second_code.split("-")[0]  # folded
        await shot(page, artifacts_dir, f"receipt-check-{lang}")
        await assert_accessible(page, f"receipt check ({lang})")
    finally:
        await context.close()
    box = await load_box(store, d.id)
    assert box.state.tally().counted_choice("o004") == "against"


async def test_closed_and_invalid_link_pages_are_accessible(browser, live_server, open_deliberation, seal,
                                                            artifacts_dir) -> None:
    d = await open_deliberation(2)
    await seal(d.id)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        response = await page.goto(f"{live_server}{d.path('o000')}")
        assert response is not None and response.status == 200  # her page after the close (test_after_close.py)
        await shot(page, artifacts_dir, "closed-zh")
        await assert_accessible(page, "closed page")
        response = await page.goto(f"{live_server}/v/{'x' * 43}?lang=en")
        assert response is not None and response.status == 403
        await shot(page, artifacts_dir, "invalid-link-en")
        await assert_accessible(page, "invalid link page")
    finally:
        await context.close()


async def test_console_sign_in_progress_and_non_voters(browser, live_server, pool, store, open_deliberation,
                                                       artifacts_dir) -> None:
    from datetime import UTC, datetime

    from yishi.services.accounts import add_account
    from yishi.services.voting import cast_ballot

    d = await open_deliberation(12)
    for n, owner in enumerate(d.owners[:7]):
        await cast_ballot(store, d.id, owner, ("for", "for", "against")[n % 3], idempotency_key=f"b{n}",
                          now=datetime.now(UTC))
    await add_account(pool, "张委员", "committee", "correct horse battery")
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await assert_accessible(page, "sign-in page")
        await page.get_by_label("账号").fill("张委员")
        await page.get_by_label("密码").fill("correct horse battery")
        await page.get_by_role("button", name="登录").click()
        await page.locator(f'a[href="/console/d/{d.id}"]').click()
        await page.get_by_text("已投 7/12 户").first.wait_for()
        await shot(page, artifacts_dir, "console-progress-zh")
        await assert_accessible(page, "console progress")
        await page.get_by_role("link", name="未投票业主").click()
        assert await page.locator("tr.non-voter").count() == 5
        await shot(page, artifacts_dir, "console-non-voters-zh")
        await assert_accessible(page, "non-voters")
        await page.goto(f"{live_server}/console/d/{d.id}/paper?lang=en")
        await assert_accessible(page, "paper entry")
    finally:
        await context.close()
