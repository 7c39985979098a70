"""An owner rates the property company on a phone, in real Chromium, through their personal link (no account): one
rating per owner (O311 holds two rooms and has one link, one rating; a second rating refused), the window's close
shown, the recorded result by item after the workflow closes it; the rating's walls over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from domain.appraisal_events import RatingGiven
from tests.points.appraisal_setup import close, open_and_link, street_register
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from yishi.services import appraisals
from yishi.services.link_issuing import Actor, revoke_link


def csrf_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html)[:2])


async def ratings(store: Any, appraisal_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in await store.read(appraisal_id) if e.type == RatingGiven.model_fields["type"].default]


@pytest.mark.browser
async def test_an_owner_rates_once_on_a_phone_and_sees_the_result(browser, live_server, app, ts_env, pool,  # noqa: F811
                                                                  store, task_queue, artifacts_dir) -> None:  # noqa: F811
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, opened_at = await open_and_link(env, pool, store, street, task_queue)
        app.state.clock = lambda: opened_at + timedelta(minutes=5)  # the pages' clock: the appraisal's own
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        try:
            await page.goto(f"{live_server}/v/{tokens['O311']}")
            await page.get_by_role("heading", level=1, name="给物业公司打分").wait_for()
            assert "91350200776049653A" in await page.content() and "安居物业" in await page.content()
            await shot(page, artifacts_dir, "appraisal-ballot-zh")
            await assert_accessible(page, "appraisal ballot")
            for item, score in (("保洁", "2 · 不满意"), ("秩序维护", "3 · 一般"), ("维修", "1 · 很不满意")):
                await page.get_by_role("group", name=item).get_by_label(score).check()
            await page.get_by_role("group", name="收费公开").get_by_label("4 · 满意").check()
            await page.get_by_role("button", name="提交评分").click()
            await page.get_by_text("您的评价已记录").wait_for()
            await assert_accessible(page, "rating recorded")
            await page.goto(f"{live_server}/v/{tokens['O311']}")
            await page.locator("#rated").wait_for()
            assert await page.get_by_role("button", name="提交评分").count() == 0, "no second ballot"
            await shot(page, artifacts_dir, "appraisal-rated-zh")
        finally:
            await context.close()
        given = await ratings(store, appraisal_id)
        assert [(g["owner_id"], g["scores"]) for g in given] == [
            ("O311", {"cleaning": 2, "security": 3, "repairs": 1, "fees": 4})]
        await close(env, store, appraisal_id)
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        try:
            await page.goto(f"{live_server}/v/{tokens['O321']}")
            await page.locator("#appraisal-score").wait_for()
            text = await page.locator("main").inner_text()
            # cleaning 2, security 3, repairs 1, fees 4 → 40, 60, 20, 80 weighted 25/25/30/20 → 4700/100 = 47
            assert "总分：47.00 分" in text and "测评已于" in text and "11 位业主中有 1 位参加了评分" in text, text
            await shot(page, artifacts_dir, "appraisal-result-zh")
            await assert_accessible(page, "appraisal result")
        finally:
            await context.close()


async def test_the_rating_walls(app, client, ts_env, pool, store, task_queue) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, now = await open_and_link(env, pool, store, street, task_queue)
        app.state.clock = lambda: now + timedelta(minutes=5)
        full = {"item-cleaning": "5", "item-security": "5", "item-repairs": "5", "item-fees": "5"}
        mine = csrf_of((await client.get(f"/v/{tokens['O321']}")).text)
        theirs = csrf_of((await client.get(f"/v/{tokens['O322']}")).text)
        assert (await client.post(f"/v/{tokens['O321']}/appraisal", data=full)).status_code == 403
        assert (await client.post(f"/v/{tokens['O321']}/appraisal", data={**theirs, **full})).status_code == 403
        partial = await client.post(f"/v/{tokens['O321']}/appraisal", data={**mine, "item-cleaning": "5"})
        assert partial.status_code == 409 and "秩序维护" in partial.text, partial.text[-600:]
        out_of_scale = await client.post(f"/v/{tokens['O321']}/appraisal", data={**mine, **full, "item-fees": "9"})
        assert out_of_scale.status_code == 409, out_of_scale.text[-600:]
        assert await ratings(store, appraisal_id) == []
        done = await client.post(f"/v/{tokens['O321']}/appraisal", data={**mine, **full})
        assert done.status_code == 200 and "您的评价已记录" in done.text, done.text[-600:]
        second = await client.post(f"/v/{tokens['O321']}/appraisal",
                                   data={**mine, **full, "item-fees": "1", "nonce": theirs["nonce"]})
        assert second.status_code == 403  # a nonce from another link's page
        again = csrf_of((await client.get(f"/v/{tokens['O321']}")).text)
        assert again == {}, "no ballot once rated"
        await revoke_link(store, appraisal_id, "O331", now=now, actor=Actor(by="李书记", via="cli"), reason="链接外泄")
        revoked = await client.post(f"/v/{tokens['O331']}/appraisal", data={**mine, **full})
        assert revoked.status_code == 410
        assert [g["owner_id"] for g in await ratings(store, appraisal_id)] == ["O321"]
        assert appraisals.result_of(await appraisals.appraisal(store, appraisal_id)).raters == 1  # type: ignore[union-attr]
