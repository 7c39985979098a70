"""Printed notices from the console (issue 18): the result notice queued on ``print`` the way the workflow queues it
(the real activity) is listed per entrance, printed as A4 sheets with the public page's QR code and the same
figures as the summary (red warning under a loopback public address), and its posting recorded with a photo whose
type is read from its bytes and whose size is bounded; the photo is kept by its SHA-256 in the stream. Then in
real Chromium on a phone (a clerk at the entrance), axe clean, screenshots of the sheet and the list."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.notices import Delivery, NoticeActivities, NoticeSettings
from activities.stages import to_new
from domain.result_summary import summary_lines
from domain.roll import Scope
from domain.stage_events import NoticePublished
from tests.web.conftest import BASE_URL, PASSWORD
from tests.web.test_action_walls import PNG
from tests.web.test_browser import PHONE, assert_accessible, shot
from yishi.services.accounts import add_account
from yishi.services.deliberations import store_roll
from yishi.services.results import summaries
from yishi.services.voting import cast_ballot


async def result_to_post(store, pool, open_deliberation, seal):  # type: ignore[no-untyped-def]
    """A sealed vote of 6 owners (two entrances) and its result notice queued on print."""
    d = await open_deliberation(6)
    now = datetime.now(UTC)
    for n, owner in enumerate(d.owners[:5]):
        await cast_ballot(store, d.id, owner, ("for", "for", "against", "for", "abstain")[n],
                          idempotency_key=f"p-{n}", now=now)
    await seal(d.id)
    notice = NoticePublished(at=now, notice_id=f"result-{uuid.uuid4().hex[:4]}", kind="result",
                             title_zh="表决结果公示", title_en="Result", body_zh="表决已结束，结果如下。",
                             body_en="The vote has closed.")
    await store.append(d.id, to_new([notice]))
    delivery = Delivery(deliberation_id=d.id, community="default", roll_digest=await store_roll(pool, d.roll),
                        scope=Scope(), channel="print", notice=notice)
    await ActivityEnvironment().run(NoticeActivities(store, pool, NoticeSettings(), public_base_url=BASE_URL)
                                    .deliver_notice, delivery)
    return d, notice


async def test_print_the_sheet_and_record_the_posting(app, sign_in, store, pool, open_deliberation, seal) -> None:
    d, notice = await result_to_post(store, pool, open_deliberation, seal)
    grid = await sign_in("grid_worker", community=None)
    page = await grid.get(f"/console/d/{d.id}/postings")
    groups = re.findall(r'class="posting posting-to_post" data-group="([^"]+)"', page.text)
    assert page.status_code == 200 and len(groups) >= 2 and "待张贴" in page.text, page.text[-800:]

    sheet = await grid.get(f"/console/d/{d.id}/notices/{notice.notice_id}/sheet")
    assert sheet.status_code == 200 and sheet.text.count('class="sheet"') == len(groups)
    assert f"{BASE_URL}/p/{d.id}" in sheet.text and "data:image/png;base64," in sheet.text
    assert "data-warning=" not in sheet.text
    (summary,) = await summaries(store, d.id)
    for line in summary_lines(summary, "zh"):
        assert line in html.unescape(sheet.text), line
    app.state.settings = app.state.settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})
    local = await grid.get(f"/console/d/{d.id}/notices/{notice.notice_id}/sheet")
    assert 'data-warning="local"' in local.text and "请勿张贴" in local.text

    form = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page.text))
    fields = {**form, "deliberation": d.id, "notice": notice.notice_id, "group": groups[0]}
    not_photo = {"photo": ("sheet.png", b"not a photo", "image/png")}
    text = await grid.post("/console/postings", data=fields, files=not_photo)
    big = b"\xff\xd8\xff\xe0" + b"0" * (10 * 1024 * 1024)
    too_big = await grid.post("/console/postings", data=fields, files={"photo": ("sheet.jpg", big, "image/jpeg")})
    assert text.status_code == too_big.status_code == 422 and "请上传张贴后的照片" in text.text
    assert not [e for e in await store.read(d.id) if e.type == "NoticePosted"], "nothing recorded"

    done = await grid.post("/console/postings", data=fields, files={"photo": ("sheet.png", PNG, "image/png")})
    assert done.status_code == 303, done.text[-800:]
    (posted,) = [e.payload for e in await store.read(d.id) if e.type == "NoticePosted"]
    assert posted["photo_sha256"] == hashlib.sha256(PNG).hexdigest() and posted["group"] == groups[0]
    assert posted["media_type"] == "image/png" and posted["by"].startswith("grid_worker-")
    after = (await grid.get(f"/console/d/{d.id}/postings")).text
    assert f'class="posting posting-posted" data-group="{groups[0]}"' in after and posted["photo_sha256"][:16] in after


@pytest.mark.browser
async def test_a_clerk_prints_and_records_on_a_phone(app, browser, live_server, store, pool, open_deliberation, seal,
                                                     artifacts_dir, tmp_path) -> None:
    d, notice = await result_to_post(store, pool, open_deliberation, seal)
    name = f"网格员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "grid_worker", PASSWORD, community=None)
    photo = tmp_path / "posted.png"
    photo.write_bytes(PNG)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    refused: list[str] = []  # a style the policy blocks is reported on the console
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url("**/console**")
        await page.goto(f"{live_server}/console/d/{d.id}/notices/{notice.notice_id}/sheet")
        await page.locator("section.sheet").first.wait_for()
        width = await page.locator(".public img").first.evaluate("img => getComputedStyle(img).width")
        assert abs(float(width.removesuffix("px")) - 40 / 25.4 * 96) < 1, width  # the sheet's own CSS: 40 mm
        assert refused == [], refused
        await shot(page, artifacts_dir, "notice-sheet-result-zh")
        await assert_accessible(page, "printed result sheet")
        await page.goto(f"{live_server}/console/d/{d.id}/postings")
        await page.locator("input[type=file]").first.set_input_files(str(photo))
        await page.get_by_role("button", name="登记张贴").first.click()
        await page.locator("li.posting-posted").first.wait_for()
        await shot(page, artifacts_dir, "console-postings-phone-zh")
        await assert_accessible(page, "postings list after a posting")
    finally:
        await context.close()
