"""A quarterly appraisal run end to end in real Chromium, each role in its own browser: the street office sets the
items and weights (laptop), the committee opens the appraisal with the owners roll and downloads the owners' links
(laptop), two owners rate on a phone, the committee closes it early, the street office works out and publishes its
red/black list and finds the company on the black list, with its CSV; ``audit verify`` is green, and red after one
rating is altered in the database. Screenshots into test-artifacts/, axe clean on every page."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.points.appraisal_setup import BAD, street_register
from tests.web.conftest import PASSWORD
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_console_start import TEMPLATE_CSV, settings, temporal  # noqa: F401
from tests.workflows.conftest import running_worker
from workflows.appraisal import AppraisalOutcome
from yishi.services import companies
from yishi.services.accounts import add_account
from yishi.services.audit import read_rows, verify
from yishi.web.console_companies import this_quarter

LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


async def signed_in(browser: Any, live_server: str, pool: Any, role: str, **where: str) -> tuple[Any, Any]:
    name = f"{role}-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, role, PASSWORD, **where)
    context = await browser.new_context(**LAPTOP, accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console**")
    return context, page


@pytest.mark.browser
async def test_a_quarterly_appraisal_from_opening_to_the_black_list(browser, live_server, temporal, settings,  # noqa: F811
                                                                    pool, store, artifacts_dir, tmp_path) -> None:
    env = WorkflowEnvironment.from_client(temporal)  # the real server: the committee closes it, no time to skip
    async with running_worker(env, store, pool, settings.task_queue):
        street = await street_register(store, datetime.now(UTC))  # the register: companies and estates (CLI)
        office_ctx, office = await signed_in(browser, live_server, pool, "street_office", organisation=street)
        try:
            await office.goto(f"{live_server}/console/companies")
            await office.get_by_label("测评项目，每行一个：编号:名称:权重").fill(
                "cleaning:保洁:25\nsecurity:秩序维护:25\nrepairs:维修:30\nfees:收费公开:20")
            await office.get_by_role("button", name="保存测评项目").click()
            await office.wait_for_url("**/console/companies#items")
            await assert_accessible(office, "street office: items")
        finally:
            await office_ctx.close()

        ctx, committee = await signed_in(browser, live_server, pool, "committee", community="xfl")
        try:
            await committee.goto(f"{live_server}/console/appraisals")
            await committee.get_by_label("小区及其物业公司").select_option(value=f"{street}::幸福里")
            await committee.get_by_label("业主评分的天数").fill("14")
            roll = tmp_path / "名册.csv"
            roll.write_bytes(TEMPLATE_CSV)
            await committee.get_by_label("业主名册文件（CSV 或 XLSX）").set_input_files(str(roll))
            await shot(committee, artifacts_dir, "appraisal-open-zh")
            await assert_accessible(committee, "committee: open an appraisal")
            await committee.get_by_role("button", name="开始测评").click()
            await committee.get_by_role("button", name="下载业主专属链接（CSV）").first.wait_for()
            [appraisal_id] = (await companies.register(store, street)).appraisals
            ours = committee.locator(f'[id="{appraisal_id}"]')  # other tests' appraisals of 'xfl' are listed too
            async with committee.expect_download() as info:
                await ours.get_by_role("button", name="下载业主专属链接（CSV）").click()
            await (await info.value).save_as(tmp_path / "links.csv")
            rows = list(csv.reader(io.StringIO((tmp_path / "links.csv").read_text(encoding="utf-8-sig"))))
            assert rows[0] == ["名册上的业主编号", "专属链接"]
            links = {owner: url.rsplit("/v/", 1)[1] for owner, url in rows[1:]}  # the token of each link
            assert set(links) == {"O-001", "O-002", "DEV"}
            await assert_accessible(committee, "committee: the appraisal open")
            await shot(committee, artifacts_dir, "appraisal-opened-zh")

            for owner, given in (("O-001", ("1 · 很不满意", "2 · 不满意", "1 · 很不满意", "2 · 不满意")),
                                 ("O-002", ("2 · 不满意", "3 · 一般", "2 · 不满意", "1 · 很不满意"))):
                phone_ctx = await browser.new_context(**PHONE)
                phone = await phone_ctx.new_page()
                try:
                    await phone.goto(f"{live_server}/v/{links[owner]}")
                    await phone.get_by_role("heading", level=1, name="给物业公司打分").wait_for()
                    for item, score in zip(("保洁", "秩序维护", "维修", "收费公开"), given, strict=True):
                        await phone.get_by_role("group", name=item).get_by_label(score).check()
                    await phone.get_by_role("button", name="提交评分").click()
                    await phone.get_by_text("您的评价已记录").wait_for()
                    await assert_accessible(phone, f"owner {owner}: rated")
                    await shot(phone, artifacts_dir, f"appraisal-rated-{owner}-zh")
                finally:
                    await phone_ctx.close()

            await committee.goto(f"{live_server}/console/appraisals")
            await committee.locator(f'[id="{appraisal_id}"]').get_by_role("button", name="立即结束测评").click()
            await committee.wait_for_url(f"**/console/appraisals#{appraisal_id}")
            outcome = await env.client.get_workflow_handle(appraisal_id, result_type=AppraisalOutcome).result()
            assert outcome.raters == 2
            await committee.goto(f"{live_server}/console/appraisals")
            await committee.locator(f'[id="{appraisal_id}"]').get_by_text("测评结束时记录的结果").wait_for()
            await assert_accessible(committee, "committee: the result")
            await shot(committee, artifacts_dir, "appraisal-closed-zh")
        finally:
            await ctx.close()

        office_ctx, office = await signed_in(browser, live_server, pool, "street_office", organisation=street)
        try:
            await office.goto(f"{live_server}/console/companies")
            await office.get_by_role("button", name=f"计算并公布 {this_quarter(datetime.now(UTC))} 的名单").click()
            await office.wait_for_url("**/console/companies?period=*")
            row = office.locator("tr", has_text=BAD)
            assert "黑榜" in await row.first.inner_text()
            await assert_accessible(office, "street office: the red/black list")
            await shot(office, artifacts_dir, "red-black-list-zh")
        finally:
            await office_ctx.close()

    report = await verify(appraisal_id, pool=pool, client=env.client)
    assert report.ok, [c for c in report.checks if not c.ok]
    rating = next(r for r in await read_rows(pool, appraisal_id) if r["type"] == "RatingGiven")
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        try:
            await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{scores,cleaning}', '5')"
                               " WHERE stream_id = $1 AND seq = $2", appraisal_id, rating["seq"])
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    report = await verify(appraisal_id, pool=pool, client=env.client)
    assert not report.ok and ("chain", rating["seq"]) in [(c.name, c.seq) for c in report.checks if not c.ok]
