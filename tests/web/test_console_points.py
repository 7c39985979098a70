"""The committee's points console on a laptop, in real Chromium: the published rules, an award under a rule, a
refusal that names the rule, a correction recorded under the member's name (an event of the ledger, on the person's
own page too); the console's wall over HTTP (another community's account cannot reach this ledger)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.points_decide import SetRule
from domain.points_events import Rule, points_stream
from tests.web.conftest import PASSWORD
from tests.web.test_browser import assert_accessible, shot
from tests.web.test_person_pages import COMMITTEE, MEETING
from yishi.services import points, volunteers
from yishi.services.accounts import add_account

DUTY = Rule(rule_id="duty", name_zh="党员中心户值守", basis="party_duty", points=8, pioneer=3,
            conditions={"duty": "楼栋值守"})


async def ledger_with_people(pool, store, community: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    for rule in (MEETING, DUTY):
        await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=rule))
    return {name: await points.register_person(pool, store, community, name=name, kind=kind, by=COMMITTEE, now=now)
            for name, kind in (("张建国", "party_member"), ("李红", "resident"))}


@pytest.mark.browser
async def test_award_refusal_and_correction_in_the_console(browser, live_server, pool, store,
                                                           artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    community, name = f"幸福社区-{uuid.uuid4().hex[:6]}", f"孙委员-{uuid.uuid4().hex[:4]}"
    people = await ledger_with_people(pool, store, community)
    await add_account(pool, name, "committee", PASSWORD, community=community)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/login")
        await page.get_by_label("账号").fill(name)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.goto(f"{live_server}/console/points")
        await page.get_by_role("heading", name="已公布的积分规则").wait_for()
        assert "党员中心户值守" in await page.content()
        await assert_accessible(page, "points console")

        award = page.locator("form[action='/console/points/award']")
        await award.get_by_label("姓名").select_option(label="张建国")
        await award.get_by_label("积分规则").select_option(label="参加议事会")
        await award.get_by_label("原因").fill("11月议事会签到")
        await award.get_by_role("button", name="发放积分").click()
        await page.get_by_role("status").wait_for()

        # A rule with a condition the award does not state: refused, the rule named.
        award = page.locator("form[action='/console/points/award']")
        await award.get_by_label("姓名").select_option(label="张建国")
        await award.get_by_label("积分规则").select_option(label="党员中心户值守")
        await award.get_by_label("原因").fill("值守")
        await award.get_by_role("button", name="发放积分").click()
        refusal = await page.locator("#points-error").inner_text()
        assert "duty" in refusal and "按规则" in refusal, refusal
        await shot(page, artifacts_dir, "console-points-refused-zh")

        fix = page.locator("form[action='/console/points/deduct']")
        await fix.get_by_label("姓名").select_option(label="张建国")
        await fix.get_by_label("扣回积分").fill("2")
        await fix.get_by_label("原因").fill("重复签到，更正")
        await fix.get_by_role("button", name="记录更正").click()
        await page.get_by_role("status").wait_for()
        recent = await page.locator("#recent").inner_text()
        assert "重复签到，更正" in recent and f"{name}（居委会/业委会）" in recent, recent
        await shot(page, artifacts_dir, "console-points-zh")
        await assert_accessible(page, "points console after a correction")
    finally:
        await context.close()
    ledger = await points.ledger(store, community)
    assert ledger.people[people["张建国"]].points == 3
    events = [e.payload for e in await store.read(points_stream(community)) if e.type == "PointsDeducted"]
    assert [(e["points"], e["reason"], e["by"]["name"], e["by"]["via"]) for e in events] == [
        (2, "重复签到，更正", name, "console")]
    summary = await volunteers.person_summary(pool, store, community, people["张建国"])
    assert summary.points == 3


async def test_the_points_console_keeps_to_the_accounts_community(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    home, elsewhere = f"幸福社区-{uuid.uuid4().hex[:6]}", f"和平社区-{uuid.uuid4().hex[:6]}"
    people = await ledger_with_people(pool, store, home)
    outsider = await sign_in("committee", community=elsewhere)
    page = await outsider.get("/console/points")
    assert page.status_code == 200 and "张建国" not in page.text
    before = await store.head(points_stream(home))
    from tests.web.test_person_pages import csrf_of

    form = csrf_of(page.text)
    refused = await outsider.post("/console/points/award", data={**form, "person": people["张建国"],
                                                                 "rule": "meeting", "reason": "x"})
    assert refused.status_code == 409 and "张建国" not in refused.text, refused.text[-600:]
    assert await store.head(points_stream(home)) == before
    nobody = await sign_in("committee", community=None)
    assert (await nobody.get("/console/points")).status_code == 403
    anon_form = (await sign_in("committee", community=home))
    mine = csrf_of((await anon_form.get("/console/points")).text)
    assert (await anon_form.post("/console/points/deduct", data={"person": people["李红"], "points": "1",
                                                                 "reason": "x"})).status_code == 403
    done = await anon_form.post("/console/points/award", data={**mine, "person": people["李红"], "rule": "meeting",
                                                               "reason": "议事会"})
    assert done.status_code == 303
    assert (await points.ledger(store, home)).people[people["李红"]].points == 5
