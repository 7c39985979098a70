"""The community's public page on a phone, in real Chromium: the points rules and the recorded appraisal results, with
no personal data (no name, id, room or anyone's rating); a running appraisal's result is not shown; an unknown
community is the 404 page."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from domain.points_decide import SetRule
from tests.points.appraisal_setup import close, open_and_link, scores, street_register
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_person_pages import COMMITTEE, MEETING
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from yishi.services import appraisals, points

pytestmark = pytest.mark.browser


async def test_public_rules_and_results_without_personal_data(browser, live_server, client, ts_env, pool,  # noqa: F811
                                                              store, task_queue, artifacts_dir) -> None:  # noqa: F811
    env, community = ts_env, "xfl"  # the estate's community in appraisal_setup
    now = datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=MEETING))
    await points.register_person(pool, store, community, name="张建国", kind="resident", by=COMMITTEE, now=now)
    async with running_worker(env, store, pool, task_queue):
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, opened_at = await open_and_link(env, pool, store, street, task_queue)
        await appraisals.rate(pool, store, tokens["O321"], scores(5, 4, 2, 3), now=opened_at)
        path = f"/c/{quote(community)}/points"
        running = (await client.get(path)).text
        assert "参加议事会" in running
        await close(env, store, appraisal_id)
        closed = (await client.get(path)).text
        cards = 'class="card appraisal"'
        assert closed.count(cards) == running.count(cards) + 1, "shown once recorded, not while running"
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}{path}")
        await page.get_by_role("heading", level=1).wait_for()
        text = await page.locator("main").inner_text()
        assert "参加议事会" in text and "安居物业" in text and "91350200776049653A" in text
        assert "11 位业主中有 1 位参加了评分" in text
        for private in ("张建国", "O321", "p-", "3-2-"):
            assert private not in await page.content(), private
        await shot(page, artifacts_dir, "public-points-zh")
        await assert_accessible(page, "public points and appraisals")
    finally:
        await context.close()
    assert (await client.get("/c/nowhere-community/points")).status_code == 404
