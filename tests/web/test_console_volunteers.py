"""The committee's volunteer and appraisal consoles on a laptop, in real Chromium: schedule an activity, record a
volunteer's check-in and check-out from the list with the times, correct the minutes (points follow); an appraisal's
result by item in words and figures. Walls over HTTP: another community's account finds nothing to act on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.legal_calendar import BEIJING
from domain.points_decide import SetRule
from domain.points_events import Rule, points_stream
from domain.volunteer_decide import FormTeam, ScheduleActivity
from domain.volunteer_events import volunteers_stream
from tests.points.appraisal_setup import close, open_and_link, scores, street_register
from tests.web.conftest import PASSWORD
from tests.web.test_browser import assert_accessible, shot
from tests.web.test_person_pages import COMMITTEE, csrf_of
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from yishi.services import appraisals, points, volunteers
from yishi.services.accounts import add_account

HOURS = Rule(rule_id="hours", name_zh="志愿服务每小时", basis="volunteer_hours", per="hour", points=10, pioneer=2)


async def a_team(pool: Any, store: Any, community: str) -> dict[str, str]:
    now = datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=HOURS))
    await volunteers.act(store, community, FormTeam(at=now, by=COMMITTEE, team_id="green", name="绿色家园志愿服务队"))
    return {name: await volunteers.enrol(pool, store, community, "green", name=name, kind="resident", by=COMMITTEE,
                                         now=now) for name in ("王芳", "赵强")}


async def signed_in_page(browser: Any, live_server: str, pool: Any, community: str) -> tuple[Any, Any, str]:
    name = f"孙委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community=community)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console")
    return context, page, name


def local(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.browser
async def test_schedule_check_in_out_and_correct_in_the_console(browser, live_server, pool, store,
                                                                artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    people = await a_team(pool, store, community)
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    context, page, name = await signed_in_page(browser, live_server, pool, community)
    try:
        await page.goto(f"{live_server}/console/volunteers")
        await page.get_by_label("活动名称").fill("清理楼道杂物")
        await page.get_by_label("地点", exact=True).fill("3号楼")
        await page.get_by_label("开始时间（北京时间）").fill(local(start))
        await page.get_by_label("结束时间（北京时间）").fill(local(start + timedelta(hours=2)))
        await page.get_by_label("名额").fill("5")
        await page.get_by_role("button", name="安排活动").click()
        await page.get_by_role("status").wait_for()
        section = page.locator("section", has=page.get_by_role("heading", name="清理楼道杂物"))
        for direction, at in (("签到", start + timedelta(minutes=5)), ("签退", start + timedelta(minutes=95))):
            checks = section.locator("form[action='/console/volunteers/check']")
            await checks.get_by_label("志愿者").select_option(label="王芳")
            await checks.get_by_label(direction, exact=True).check()
            await checks.get_by_label("时间（北京时间；不填就是现在）").fill(local(at))
            await checks.get_by_role("button", name="录入", exact=True).click()
            await page.get_by_role("status").wait_for()
            section = page.locator("section", has=page.get_by_role("heading", name="清理楼道杂物"))
        assert "90" in await section.locator("table").inner_text()
        await assert_accessible(page, "volunteer console")
        fix = section.locator("form[action='/console/volunteers/hours']")
        await fix.get_by_label("志愿者").select_option(label="王芳")
        await fix.get_by_label("总分钟数").fill("120")
        await fix.get_by_label("原因").fill("提前到场布置")
        await fix.get_by_role("button", name="记录更正").click()
        await page.get_by_role("status").wait_for()
        await shot(page, artifacts_dir, "console-volunteers-zh")
    finally:
        await context.close()
    ledger = await points.ledger(store, community)
    assert ledger.people[people["王芳"]].points == 20  # 120 minutes at 10 an hour (15 at check-out, 5 more)
    recorded = [e.payload for e in await store.read(volunteers_stream(community))
                if e.type in ("CheckedIn", "CheckedOut", "HoursRecorded")]
    assert [(e["by"]["name"], e["by"]["via"]) for e in recorded] == [(name, "console")] * 3


async def test_the_volunteer_console_keeps_to_the_accounts_community(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    home = f"幸福社区-{uuid.uuid4().hex[:6]}"
    people = await a_team(pool, store, home)
    now = datetime.now(UTC)
    await volunteers.act(store, home, ScheduleActivity(at=now, by=COMMITTEE, activity_id="a1", team_id="green",
                                                       title="清理楼道杂物", place="3号楼", starts_at=now,
                                                       ends_at=now + timedelta(hours=2), capacity=5))
    outsider = await sign_in("committee", community=f"和平社区-{uuid.uuid4().hex[:6]}")
    page = await outsider.get("/console/volunteers")
    assert page.status_code == 200 and "清理楼道杂物" not in page.text and "王芳" not in page.text
    form = csrf_of(page.text)
    before = await store.head(volunteers_stream(home))
    for path, fields in (("check", {"activity": "a1", "person": people["王芳"], "direction": "in"}),
                         ("hours", {"activity": "a1", "person": people["王芳"], "minutes": "60", "reason": "x"}),
                         ("activity", {"team": "green", "title": "越界", "place": "x", "capacity": "3",
                                       "starts_at": "2030-01-01T09:00", "ends_at": "2030-01-01T10:00"})):
        refused = await outsider.post(f"/console/volunteers/{path}", data={**form, **fields})
        assert refused.status_code == 409, (path, refused.text[-600:])
    assert await store.head(volunteers_stream(home)) == before


async def test_the_appraisal_console_shows_the_result_in_words_and_figures(sign_in, ts_env, pool, store,  # noqa: F811
                                                                          task_queue) -> None:  # noqa: F811
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, now = await open_and_link(env, pool, store, street, task_queue)
        for owner, given in (("O321", scores(5, 4, 2, 3)), ("O322", scores(4, 4, 1, 3))):
            await appraisals.rate(pool, store, tokens[owner], given, now=now)
        committee = await sign_in("committee", community="xfl")
        running = (await committee.get("/console/appraisals")).text
        assert "目前的结果" in running and "宜家物业" not in running
        await close(env, store, appraisal_id)
        page = (await committee.get("/console/appraisals")).text
        section = page[page.index("测评结束时记录的结果"):]  # the newest appraisal comes first
        # cleaning 9/2 → 90, security 4 → 80, repairs 3/2 → 30, fees 3 → 60; 25/25/30/20 → 6350/100
        assert "总分：63.50 分（满分 100，精确值 127/2 ≈ 63.50）" in section, section[:800]
        assert "9/2 ≈ 4.50" in section and "很满意" in section and "平均：一般" in section  # 127/40 → 3
        assert "11 位业主中有 2 位参加了评分" in section
        elsewhere = await sign_in("committee", community=f"和平社区-{uuid.uuid4().hex[:6]}")
        assert "安居物业" not in (await elsewhere.get("/console/appraisals")).text


async def test_a_form_that_does_not_parse_shows_the_console_again(sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    """Points and volunteer consoles: a form that does not parse is the console again (422) with what to fix, and
    nothing is recorded (the path shared by both consoles: yishi/web/console_points.py community_act)."""
    home = f"幸福社区-{uuid.uuid4().hex[:6]}"
    people = await a_team(pool, store, home)
    committee = await sign_in("committee", community=home)
    form = csrf_of((await committee.get("/console/volunteers")).text)
    before = await store.head(volunteers_stream(home))
    bad_time = await committee.post("/console/volunteers/activity", data={
        **form, "team": "green", "title": "清理楼道杂物", "place": "3号楼", "capacity": "5",
        "starts_at": "明天上午", "ends_at": "2030-01-01T10:00"})
    assert bad_time.status_code == 422 and "时间按表格格式填" in bad_time.text
    assert await store.head(volunteers_stream(home)) == before
    ledger = await store.head(points_stream(home))
    bad_quantity = await committee.post("/console/points/award", data={
        **csrf_of((await committee.get("/console/points")).text), "person": people["王芳"], "rule": "hours",
        "quantity": "三次", "reason": "清理楼道"})
    assert bad_quantity.status_code == 422 and "积分要填整数" in bad_quantity.text
    assert await store.head(points_stream(home)) == ledger
