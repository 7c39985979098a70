"""Starting a deliberation from the committee console, on the real dev server and PostgreSQL: the form's fields reach
the workflow, a bad roll or scope answers the form again naming the row, only the committee may start, the same
form posted twice starts one deliberation, and the roll upload has its own body cap."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.roll_parse import roll_template
from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_matters import page_until
from tests.workflows.conftest import running_worker
from yishi.cli.roll import template_xlsx
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER
from yishi.web.bodylimit import MAX_BODY_BYTES, ROLL_UPLOAD_BYTES
from yishi.web.console_start import deliberation_id_for

TEMPLATE_CSV = roll_template("zh").encode("utf-8-sig")  # rooms 3-2-101/102/201 (O-001, O-002), 5-1-101 (DEV)


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=f"web-start-{uuid.uuid4().hex[:8]}",
                    proxy_limit=3)


@pytest.fixture
async def temporal(temporal_server) -> Client:  # type: ignore[no-untyped-def]
    return await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)


def form_keys(html: str) -> dict[str, str]:
    match = re.search(r'<form method="post" action="/console/new"[^>]*>(.*?)</form>', html, re.S)
    assert match, html[-600:]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(1)))


async def new_form(client: httpx.AsyncClient, procedure: str = "elevator") -> dict[str, str]:
    page = await client.get(f"/console/new?procedure={procedure}")
    assert page.status_code == 200, page.text[:400]
    keys = form_keys(page.text)
    assert keys["procedure"] == procedure
    return keys


async def post(client: httpx.AsyncClient, fields: dict[str, str], roll: bytes | None = TEMPLATE_CSV,
               filename: str = "名册.csv") -> httpx.Response:
    files = {"roll": (filename, roll or b"", "application/octet-stream")}
    return await client.post("/console/new", data=fields, files=files)


async def workflow_input(temporal: Client, deliberation_id: str) -> dict[str, Any]:
    history = await temporal.get_workflow_handle(deliberation_id).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    return json.loads(payload.data)


async def workflow_exists(temporal: Client, deliberation_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(deliberation_id).describe()
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return False
    return True


async def registered(pool, title: str) -> int:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM deliberations WHERE title = $1", title)


def started_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:800]
    match = re.fullmatch(r"/console/d/([a-z]+-[0-9a-f]{12})/matter\?started=1", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def test_committee_starts_an_elevator_once_and_lands_on_its_page(app, sign_in, temporal, store, pool,
                                                                      settings) -> None:
    committee = await sign_in("committee")
    listing = await committee.get("/console")
    assert 'href="/console/new"' in listing.text
    form = await committee.get("/console/new")
    assert form.status_code == 200 and "幸福社区" in form.text and "/console/roll-template.csv" in form.text
    assert 'enctype="multipart/form-data"' in form.text and 'name="period_voting_unit"' in form.text
    title = f"3栋2单元加装电梯-{uuid.uuid4().hex[:6]}"
    fields = {**form_keys(form.text), "title": title, "building": "3", "entrance": "2", "period_voting_n": "10",
              "period_voting_unit": "days", "period_publicity_n": "10", "period_publicity_unit": "wd",
              "proxy_limit": "2", "deem_silent": "on", "cost_total": "480000.50",
              "community": "别的社区"}  # a community-bound account cannot choose another community
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, settings.task_queue):
        first = await post(committee, fields)
        did = started_id(first)
        assert did.startswith("elevator-")
        given = await workflow_input(temporal, did)
        assert (given["title"], given["scope"]["building"], given["scope"]["entrance"]) == (title, "3", "2")
        assert (given["periods"]["voting"], given["periods"]["publicity"], given["periods"]["feasibility"]) == (
            "P10D", "10wd", "10wd")
        assert (given["proxy_limit"], given["deem_silent"], given["deem_over_half"]) == (2, True, False)
        assert (given["community"], Decimal(given["cost_total"]), given["initiator_role"]) == (
            "幸福社区", Decimal("480000.50"), "committee")
        # The same form again (a double tap, a reload of the answer): the same page, one deliberation.
        again = await post(committee, fields)
        assert started_id(again) == did
        assert await registered(pool, title) == 1
        page = await page_until(committee, f"/console/d/{did}/matter?started=1", 'id="tasks-h"',
                                "the matter page of the new one")
        assert title in page
        # Landed from the start form: the page asks for the plan now (its stream exists only now), near the top, and
        # leads to the documents section's form.
        assert 'id="attach-now"' in page and "现在请添加方案和费用分摊表" in page and 'name="document"' in page
        assert page.index('id="attach-now"') < page.index('id="tasks-h"') < page.index('id="documents"')
        assert '<a href="#documents">去添加文件' in page
        assert 'id="attach-now"' not in (await committee.get(f"/console/d/{did}/matter")).text
    async with pool.acquire() as conn:
        community, details = await conn.fetchrow("SELECT community, details FROM deliberations WHERE id = $1", did)
    assert community == "幸福社区"
    assert Decimal(details["cost_total"]) == Decimal("480000.50") and details["by_area"] is True  # for the ballot
    await temporal.get_workflow_handle(did).terminate("test done")


async def test_property_from_xlsx_and_consultation_issue(sign_in, temporal, pool) -> None:
    community = f"新社区-{uuid.uuid4().hex[:6]}"
    committee = await sign_in("committee", community=None)  # an account of no community chooses one
    page = await committee.get("/console/new?procedure=property")
    assert 'name="community"' in page.text and 'name="candidates"' in page.text
    fields = {**form_keys(page.text), "title": "", "community": community, "current_company": "旧物业公司",
              "candidates": "A 安居物业\r\n\r\nB-2 宜家物业服务有限公司\r\n", "proxy_limit": "3"}
    did = started_id(await post(committee, fields, template_xlsx(roll_template("zh")), "名册.xlsx"))
    given = await workflow_input(temporal, did)
    assert given["candidates"] == [{"id": "A", "name": "安居物业", "credit_code": None},
                                   {"id": "B-2", "name": "宜家物业服务有限公司", "credit_code": None}]
    assert (given["current_company"], given["title"], given["community"]) == ("旧物业公司", "更换物业", community)
    assert given["scope"] == {"building": None, "entrance": None, "rooms": None}  # the whole estate
    assert given["initiator_role"] == "owners_committee"

    issue = "小区东门电动车充电棚选址：建议设在东门内侧绿地旁。"
    fields = {**(await new_form(committee, "consultation")), "title": "充电棚选址", "community": community,
              "building": "5", "issue": issue, "proxy_limit": "3", "period_voting": "P5D"}
    cid = started_id(await post(committee, fields))
    given = await workflow_input(temporal, cid)
    assert (given["issue"], given["scope"]["building"], given["periods"]["voting"]) == (issue, "5", "P5D")
    for wid in (did, cid):
        await temporal.get_workflow_handle(wid).terminate("test done")


async def bad_roll_or_scope_answers_the_form_again(committee: httpx.AsyncClient, temporal: Client, pool) -> None:  # type: ignore[no-untyped-def]
    title = f"坏名册-{uuid.uuid4().hex[:6]}"
    keys = await new_form(committee)
    fields = {**keys, "title": title, "building": "3", "entrance": "2", "proxy_limit": "3", "period_voting_n": "9",
              "period_voting_unit": "days", "cost_total": "500000"}
    bad = TEMPLATE_CSV.replace(b"100.1234", b"abc")  # row 3: the area is not a number
    refused = await post(committee, fields, bad, "bad.csv")
    assert refused.status_code == 422
    assert "bad.csv 第3行" in refused.text and "未发起" in refused.text
    assert f'value="{title}"' in refused.text and 'value="9"' in refused.text and 'value="500000"' in refused.text
    assert await registered(pool, title) == 0
    account_id = await _account_id(pool, committee)
    assert not await workflow_exists(temporal, deliberation_id_for(SECRET, "elevator", account_id, keys["nonce"]))

    refused = await post(committee, {**fields, "building": "9"})  # no building 9 on the roll
    assert refused.status_code == 422 and "9" in refused.text and 'role="alert"' in refused.text
    refused = await post(committee, {**fields, "period_voting_n": "15天", "cost_total": "1.234",
                                     "deem_over_half": "on", "entrance": "", "building": ""}, None)
    assert refused.status_code == 422
    for said in ("投票期：“15天”不是 0 到 3660 之间的整数", "工程总造价“1.234”无效", "请选择业主名册文件",
                 "deem_silent"):
        assert said in refused.text, said
    english = await committee.post("/console/new?lang=en", data={**fields, "building": "", "entrance": "2"},
                                   files={"roll": ("r.csv", TEMPLATE_CSV, "text/csv")})
    assert english.status_code == 422 and "An entrance needs its building" in english.text
    await committee.get("/console/new?lang=zh")  # the language choice is remembered: back to Chinese
    assert await registered(pool, title) == 0


async def _account_id(pool, client: httpx.AsyncClient) -> int:  # type: ignore[no-untyped-def]
    page = (await client.get("/console")).text
    name = re.search(r'\(<span translate="no">(committee-[0-9a-f]{6})</span>\)', page).group(1)  # type: ignore[union-attr]
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT id FROM accounts WHERE name = $1", name)


async def test_only_the_committee_may_start_and_the_csrf_field_is_checked(client, sign_in, pool) -> None:
    for role in ("grid_worker", "street_office", "auditor"):
        other = await sign_in(role)
        assert (await other.get("/console/new")).status_code == 403
        assert 'href="/console/new"' not in (await other.get("/console")).text
        assert (await post(other, {"procedure": "elevator"})).status_code == 403
    assert (await client.get("/console/new")).headers["location"] == "/login"
    anonymous = await post(client, {"procedure": "elevator"})
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    committee = await sign_in("committee")
    title = f"伪造-{uuid.uuid4().hex[:6]}"
    keys = await new_form(committee)
    fields = {"procedure": "elevator", "title": title, "building": "3", "proxy_limit": "3"}
    assert (await post(committee, fields)).status_code == 403
    assert (await post(committee, {**fields, "nonce": keys["nonce"], "csrf": "0" * 32})).status_code == 403
    assert (await post(committee, {**keys, **fields, "procedure": "ballot"})).status_code == 403
    urlencoded = await committee.post("/console/new", data={**keys, **fields})  # no file: the form again
    assert urlencoded.status_code == 422 and "请选择业主名册文件" in urlencoded.text
    assert await registered(pool, title) == 0


async def test_bad_rolls_the_roll_upload_body_cap_and_temporal_away(app, client, sign_in, temporal,
                                                                      pool) -> None:
    committee = await sign_in("committee")
    await bad_roll_or_scope_answers_the_form_again(committee, temporal, pool)

    rows = "".join(f"9-1-{n:04d},9,1,{n % 30 + 1},88.5,OW{n:04d},业主{n},1390000{n:04d}\r\n" for n in range(3000))
    big = TEMPLATE_CSV + rows.encode()
    assert len(big) > 2 * MAX_BODY_BYTES
    fields = {**(await new_form(committee)), "title": "大名册", "building": "9", "entrance": "1", "proxy_limit": "3"}
    did = started_id(await post(committee, fields, big, "big.csv"))
    assert (await workflow_input(temporal, did))["scope"]["building"] == "9"
    await temporal.get_workflow_handle(did).terminate("test done")

    huge = await post(committee, {**(await new_form(committee)), "title": "过大"}, b"x" * (ROLL_UPLOAD_BYTES + 1))
    assert huge.status_code == 413 and "提交内容过大" in huge.text
    assert await registered(pool, "过大") == 0
    # Temporal away: the "try again" page, nothing registered.
    app.state.settings = app.state.settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    app.state.temporal = None
    fields = {**(await new_form(committee)), "title": "不可用", "building": "3", "proxy_limit": "3"}
    away = await post(committee, fields)
    assert away.status_code == 503 and away.headers["Retry-After"] and await registered(pool, "不可用") == 0
    # Every other path keeps the app-wide cap.
    for path in ("/login", "/console/d/anything/paper", "/console/newer"):
        refused = await client.post(path, data={"pad": "x" * (MAX_BODY_BYTES + 1)})
        assert refused.status_code == 413, path


@pytest.mark.browser
async def test_start_form_in_chromium(browser, live_server, app, pool, store, temporal, settings, artifacts_dir,
                                      tmp_path) -> None:
    from tests.web.conftest import PASSWORD
    from tests.web.test_browser import assert_accessible, shot
    from yishi.services.accounts import add_account

    name = f"周委员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "committee", PASSWORD, community="幸福社区")
    roll = tmp_path / "名册.csv"
    roll.write_bytes(TEMPLATE_CSV)
    title = f"3栋2单元加装电梯（浏览器）-{uuid.uuid4().hex[:4]}"
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")  # a laptop
    page = await context.new_page()
    try:
        async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, settings.task_queue):
            await page.goto(f"{live_server}/login")
            await page.get_by_label("账号").fill(name)
            await page.get_by_label("密码").fill(PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.get_by_role("link", name="发起表决事项").click()
            await page.get_by_role("heading", name="发起表决事项").wait_for()
            await page.get_by_label("标题（公告和选票上显示）").fill(title)
            await page.get_by_label("楼栋").fill("3")
            await page.get_by_label("单元（可不填）").fill("2")
            await page.get_by_label("业主名册文件（CSV 或 XLSX）").set_input_files(str(roll))
            # Periods as days, working days or a date; the date each ends on follows the fields (periods.js).
            ends = page.locator("#period_voting_ends")
            assert "最后一天是" in await ends.inner_text()
            before = await ends.inner_text()
            await page.get_by_role("textbox", name="投票期", exact=True).fill("10")
            await page.get_by_label("投票期的计算方式").select_option(label="个工作日")
            await page.wait_for_function("(before) => document.getElementById('period_voting_ends').textContent "
                                         "!== before", arg=before)
            live = await ends.inner_text()
            assert "最后一天是" in live and live != before
            await shot(page, artifacts_dir, "console-start-zh")
            await assert_accessible(page, "start form")
            # The "check the dates" step: the same dates from the server, the fields kept, nothing started.
            await page.get_by_role("button", name="核对截止日期").click()
            await page.locator("#periods-checked").wait_for()
            assert await ends.inner_text() == live
            assert await page.get_by_role("textbox", name="投票期", exact=True).input_value() == "10"
            assert await page.get_by_label("标题（公告和选票上显示）").input_value() == title
            await page.get_by_label("业主名册文件（CSV 或 XLSX）").set_input_files(str(roll))
            await page.get_by_role("button", name="发起", exact=True).click()
            await page.wait_for_url("**/console/d/elevator-*/matter?started=1")
            # "Starting" / "preparing" reload by themselves until the first task is there: no reload here.
            await page.get_by_role("heading", name="加装电梯可行性审查（社区/街道）").wait_for(timeout=60_000)
            assert title in await page.content()
            await shot(page, artifacts_dir, "console-start-landed-zh")
            await page.locator("#attach-now").get_by_role("link").click()  # "now attach the plan": to the form
            await page.wait_for_url("**#documents")
            await shot(page, artifacts_dir, "console-start-attach-now-zh")
            did = page.url.rsplit("/", 2)[-2]
            assert (await workflow_input(temporal, did))["periods"]["voting"] == "10wd"
            await temporal.get_workflow_handle(did).terminate("test done")
    finally:
        await context.close()
