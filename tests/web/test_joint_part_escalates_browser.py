"""Issue 19 in real Chromium on the time-skipping server: a street-office clerk (laptop) blows the whistle from the
ticket page on three departments; two report in from their inbox and the ticket page; the third misses its
report-in deadline and its part alone moves to the supervisor of the ladder: the ticket page shows that part now
with the supervisor and the other two still with their departments. The wait is the part's own deadline, read
from the workflow (never a guessed timer)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.joint import JointSpec
from tests.escalation.conftest import ticket_until
from tests.web.conftest import PASSWORD
from tests.web.test_browser import assert_accessible, shot
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from yishi.services.accounts import add_account
from yishi.services.escalations import TicketRequest, open_ticket

pytestmark = pytest.mark.browser
LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
DEPARTMENTS = (("dept:housing", "区住房和城乡建设委员会（房管）"), ("dept:urban", "区城市管理委员会（城管）"),
               ("dept:market", "区市场监督管理局"))
SUBJECT = "小区违建与占道经营（联合执法）"


async def _sign_in(context, live_server: str, name: str):  # type: ignore[no-untyped-def]
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console**")
    return page


async def _now_with(page, part: int) -> str:  # type: ignore[no-untyped-def]
    """The "now with" cell of a part's row on the ticket page."""
    return (await page.locator(f'#parts tr[data-part="{part}"] td').nth(1).inner_text()).strip()


async def test_one_department_misses_its_report_in_and_its_part_escalates_alone(  # noqa: PLR0915
        browser, live_server, app, ts_env, pool, store, task_queue, artifacts_dir) -> None:  # noqa: F811
    env = ts_env
    app.state.temporal = env.client
    mark = uuid.uuid4().hex[:4]
    clerk = f"街道科员-{mark}"
    await add_account(pool, clerk, "street_office", PASSWORD, community=None, organisation="street")
    for org, _ in DEPARTMENTS:
        await add_account(pool, f"{org}-{mark}", "department", PASSWORD, community=None, organisation=org)
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, TicketRequest(community="幸福社区", category="housing",
                                                                  subject=SUBJECT, initiator="业委会",
                                                                  start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "the ticket's first assignment")
        context = await browser.new_context(**LAPTOP)
        try:
            page = await _sign_in(context, live_server, clerk)
            await page.goto(f"{live_server}/console/escalations/t/{tid}")
            form = page.locator("#whistle-form")
            for _, label in DEPARTMENTS:
                await form.get_by_label(label).check()
            await form.get_by_label("召集事由").fill("违建与占道经营，需住建、城管、市场监管联合执法")
            await form.get_by_role("button", name="吹哨").click()
            await page.locator("#parts tr[data-part]").nth(2).wait_for()
            for done, (org, _) in enumerate(DEPARTMENTS[:2]):
                own = await browser.new_context(**LAPTOP)
                try:
                    dept = await _sign_in(own, live_server, f"{org}-{mark}")
                    await dept.goto(f"{live_server}/console/escalations")
                    await dept.locator(".joint-part").first.wait_for()
                    await dept.get_by_text(SUBJECT).first.click()
                    await dept.locator('form.part-action[data-action="report_in"]').get_by_role("button").click()
                    await dept.locator(f'#parts tr[data-part="{done + 1}"]').get_by_text("✓").first.wait_for()
                finally:
                    await own.close()
            state = await ticket_until(handle, lambda t: sum(p.current.reported_at is not None
                                                             for p in t.joint.parts) == 2, "two parts reported in")
            late = state.joint.parts[2]
            assert (late.department, late.current.reported_at) == ("dept:market", None)
            # The third department's report-in deadline, as the workflow set it, passes (and nothing else does).
            now = await env.get_current_time()
            assert late.current.report_due > now, "the deadline is still ahead when the others reported in"
            assert min(p.current.resolve_due for p in state.joint.parts) > late.current.report_due + timedelta(
                minutes=1), "no resolve deadline falls inside the wait"
            await env.sleep(late.current.report_due - now + timedelta(minutes=1))
            after = await ticket_until(handle, lambda t: len(t.joint.parts[2].turns) == 2,
                                       "the late part moves to the supervisor")
            assert [len(p.turns) for p in after.joint.parts] == [1, 1, 2], "only the late part escalated"
            assert after.joint.parts[2].current.org == JointSpec().supervisor
            await page.reload()
            await page.locator('#parts tr[data-part="3"]').wait_for()
            assert await _now_with(page, 3) == JointSpec().supervisor_zh, "the late part is with the supervisor"
            for part, (_, name) in enumerate(DEPARTMENTS[:2], start=1):
                assert await _now_with(page, part) == name, f"part {part} stays with its department"
            history = await page.locator("ol.history").inner_text()
            assert JointSpec().supervisor_zh in history and DEPARTMENTS[2][1] in history, history
            await shot(page, artifacts_dir, "console-part-escalated-zh")
            await assert_accessible(page, "the ticket page with an escalated part")
        finally:
            await context.close()
        await handle.terminate("test done")
    types = [e.type for e in await store.read(tid)]
    assert types.count("PartReported") == 2 and types.count("PartDeadlineMissed") == 1, types
    assert types.count("PartEscalated") == 1, types
