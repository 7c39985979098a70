"""The public 公示 page (issue 18): no account, no personal data; the notices to every household and, after the
close, the result in exactly the lines of the one summary (the printed sheet's and `yishi status`'s), the head hash
with its QR code and the two plain lines on checking it. A notice to some owners only (a reminder to non-voters)
is not shown. In real Chromium on a phone: axe clean, screenshot in the test artifacts."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from activities.stages import to_new
from domain.result_summary import summary_lines
from domain.stage_events import NoticePublished
from tests.web.conftest import BASE_URL
from tests.web.test_browser import PHONE, assert_accessible, shot
from yishi.services.results import summaries
from yishi.services.voting import cast_ballot


async def sealed_vote(store, open_deliberation, seal):  # type: ignore[no-untyped-def]
    d = await open_deliberation(7, rule_id="cc278-special")
    now = datetime.now(UTC)
    for n, owner in enumerate(d.owners[:6]):
        await cast_ballot(store, d.id, owner, ("for", "for", "against", "for", "abstain", "for")[n],
                          idempotency_key=f"pub-{n}", now=now)
    await seal(d.id)
    await store.append(d.id, to_new([
        NoticePublished(at=now, notice_id="announcement-1", kind="announcement", title_zh="关于加装电梯的公告",
                        title_en="Elevator notice", body_zh="方案已公示，欢迎查阅。", body_en="The plan is posted."),
        NoticePublished(at=now, notice_id="reminder-1", kind="reminder", title_zh="投票提醒", title_en="Reminder",
                        body_zh="您尚未投票。", body_en="You have not voted.", recipients=(d.owners[6],))]))
    return d


async def test_the_public_page_shows_the_one_summary_and_nothing_personal(app, store, open_deliberation,
                                                                          seal) -> None:
    d = await sealed_vote(store, open_deliberation, seal)
    (summary,) = await summaries(store, d.id)
    assert summary.sealed and summary.head is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as anyone:
        for lang in ("zh", "en"):
            page = await anyone.get(f"/p/{d.id}?lang={lang}")
            assert page.status_code == 200, page.text[-800:]
            text = html.unescape(page.text)
            for line in summary_lines(summary, lang):
                assert line in text, (lang, line)
            assert summary.head.hash in text and "data:image/png;base64," in text
            assert ("关于加装电梯的公告" if lang == "zh" else "Elevator notice") in text
            assert "您尚未投票" not in text and "You have not voted" not in text, "a reminder to some owners"
            for room in d.roll.rooms:
                assert room.owner_id not in text and room.room_id not in text, room.room_id
                assert (room.owner_name or "\0") not in text and (room.phone or "\0") not in text
        assert (await anyone.get(f"/p/nope-{uuid.uuid4().hex[:8]}")).status_code == 404
        assert (await anyone.post(f"/p/{d.id}")).status_code == 405, "a page: nothing to post"


@pytest.mark.browser
async def test_the_public_page_on_a_phone(browser, live_server, store, open_deliberation, seal,
                                          artifacts_dir) -> None:
    d = await sealed_vote(store, open_deliberation, seal)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/p/{d.id}")
        await page.locator("section.result").wait_for()
        assert "记录链终点" in await page.locator("section.result").inner_text()
        await shot(page, artifacts_dir, "public-page-phone-zh")
        await assert_accessible(page, "public page")
    finally:
        await context.close()


async def test_the_console_shows_the_same_lines(sign_in, store, open_deliberation, seal) -> None:
    d = await sealed_vote(store, open_deliberation, seal)
    (summary,) = await summaries(store, d.id)
    auditor = await sign_in("auditor", community=None)
    for lang in ("zh", "en"):
        page = await auditor.get(f"/console/d/{d.id}?lang={lang}")
        assert page.status_code == 200 and 'id="published-figures"' in page.text, page.text[-800:]
        text = html.unescape(page.text)
        for line in summary_lines(summary, lang):
            assert line in text, (lang, line)
        assert f'href="/p/{d.id}"' in page.text
