"""Issue 19 in real Chromium: a street office builds a community's grids in the console (every change an event of
the structure stream with who and when), then blows the whistle on a ticket to three departments at once; each
department sees its part in its inbox and reports in and resolves it on the ticket page; the ticket resolves
when the last part is done."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.escalation.conftest import ticket_until
from tests.web.conftest import BASE_URL, PASSWORD, SECRET
from tests.web.test_browser import assert_accessible, shot
from tests.workflows.conftest import running_worker
from yishi.services import structure
from yishi.services.accounts import add_account
from yishi.services.escalations import TicketRequest, open_ticket
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

pytestmark = pytest.mark.browser
QUEUE = f"web-grid-{uuid.uuid4().hex[:8]}"
DEPARTMENTS = (("dept:housing", "区住房和城乡建设委员会（房管）"), ("dept:urban", "区城市管理委员会（城管）"),
               ("dept:market", "区市场监督管理局"))


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE)


async def _sign_in(context, live_server: str, name: str):  # type: ignore[no-untyped-def]
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console**")
    return page


async def test_street_office_builds_the_grids_in_the_console(browser, live_server, pool, store,
                                                             artifacts_dir) -> None:
    community = f"xfl{uuid.uuid4().hex[:6]}"
    name = f"街道-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "street_office", PASSWORD, community=None)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = await _sign_in(context, live_server, name)
        await page.goto(f"{live_server}/console/structure?community={community}")
        await page.locator("#define-community").get_by_label("社区名称").fill("幸福里社区")
        await page.locator("#define-community").get_by_label("街道", exact=True).fill("jc")
        await page.get_by_role("button", name="建立社区").click()
        await page.locator("#define-grid").get_by_label("网格编号（如 JC-03-07）").fill("XFL-01")
        await page.locator("#define-grid").get_by_label("网格名称").fill("幸福里一网格")
        await page.get_by_role("button", name="保存网格").click()
        await page.locator('tr[data-grid="XFL-01"]').wait_for()
        building = page.locator("#assign-building")
        await building.get_by_label("楼栋", exact=True).fill("12")
        await building.get_by_label("网格", exact=True).select_option("XFL-01")
        await building.get_by_label("地址").fill("幸福路12号楼")
        await page.get_by_role("button", name="保存楼栋").click()
        worker = page.locator("#assign-worker")
        await worker.get_by_label("网格", exact=True).select_option("XFL-01")
        await worker.get_by_label("人员（账号名）").fill("王网格")
        await page.get_by_role("button", name="指定", exact=True).click()
        party = page.locator("#party-org")
        await party.get_by_label("编号（如 branch:JC-03-07）").fill("branch:XFL-01")
        await page.locator("#p-name").fill("幸福里一网格党支部")
        await party.get_by_label("网格", exact=True).select_option("XFL-01")
        await page.get_by_role("button", name="保存党组织").click()
        row = page.locator('tr[data-grid="XFL-01"]')
        await row.get_by_text("幸福里一网格党支部").wait_for()
        text = await row.inner_text()
        assert "12" in text and "王网格" in text and "网格党支部" in text, text
        # A refusal says what to do, on the page, and records nothing.
        await page.locator("#define-grid").get_by_label("网格编号（如 JC-03-07）").fill("XFL_02")
        await page.evaluate("document.getElementById('g-code').removeAttribute('pattern')")
        await page.get_by_role("button", name="保存网格").click()
        await page.get_by_role("alert").get_by_text("网格编号“XFL_02”无效").wait_for()
        await shot(page, artifacts_dir, "console-structure-zh")
        await assert_accessible(page, "the structure console")
        # The ladder: the street level acknowledges within 8 hours from now on (a new version).
        await page.locator('input[name="ack-street"]').fill("PT8H")
        await page.get_by_role("button", name="保存为阶梯新版本").click()
        await page.get_by_role("heading", name="吹哨升级阶梯（第 1 版）").wait_for()
        # The same street's other community from a grid file, uploaded.
        imported = f"{community}b"
        data = ("社区,社区名称,网格编号,网格名称,楼栋,网格员\r\n"
                f"{imported},和平里社区,HPL-01,和平里一网格,1,赵网格\r\n{imported},和平里社区,HPL-01,和平里一网格,2,赵网格\r\n")
        await page.locator("#i-street").fill("jc")
        await page.locator("#i-file").set_input_files(files=[{"name": "网格表.csv", "mimeType": "text/csv",
                                                              "buffer": data.encode()}])
        await page.get_by_role("button", name="导入", exact=True).click()
        await page.locator("#imported").wait_for()
        await assert_accessible(page, "the structure console after an import")
    finally:
        await context.close()
    grids = [e.payload["code"] for e in await store.read(f"structure-{imported}") if e.type == "GridDefined"]
    assert grids == ["HPL-01"]
    events = await store.read(f"structure-{community}")
    assert [e.type for e in events] == ["CommunityDefined", "GridDefined", "BuildingAssigned", "WorkerAssigned",
                                        "PartyOrgDefined", "LadderVersioned"]
    assert {e.payload["by"] for e in events} == {f"street_office {name}"}


async def test_whistle_to_three_departments_from_the_ticket_page(browser, live_server, app, pool, store,
                                                                  temporal_server, artifacts_dir) -> None:
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    mark = uuid.uuid4().hex[:4]
    street = f"街道科长-{mark}"
    await add_account(pool, street, "street_office", PASSWORD, community=None, organisation="street")
    for org, label in DEPARTMENTS:  # an account's name is a person's or an office's, never the organisation's id
        await add_account(pool, f"{label}值班员-{mark}", "department", PASSWORD, community=None, organisation=org)
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        tid, handle = await open_ticket(temporal, TicketRequest(community="幸福社区", category="housing",
                                                                subject="小区违建与占道经营", initiator="业委会",
                                                                start_level="street"), task_queue=QUEUE)
        await ticket_until(handle, lambda t: t.current is not None, "the ticket's first assignment")
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        try:
            page = await _sign_in(context, live_server, street)
            await page.goto(f"{live_server}/console/escalations/t/{tid}")
            form = page.locator("#whistle-form")
            await form.wait_for()
            for _, label in DEPARTMENTS:
                await form.get_by_label(label).check()
            await form.get_by_label("召集事由").fill("违建与占道经营，需住建、城管、市场监管联合执法")
            await form.get_by_role("button", name="吹哨").click()
            await page.locator("#parts tr[data-part]").nth(2).wait_for()
            await shot(page, artifacts_dir, "console-whistle-zh")
            parts = await page.locator("#parts").inner_text()
            assert "dept:" not in parts and DEPARTMENTS[0][1] in parts, parts  # departments by name, not by id
            await assert_accessible(page, "the ticket page with its parts")
            for done, (_, label) in enumerate(DEPARTMENTS):
                own = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                dept = await _sign_in(own, live_server, f"{label}值班员-{mark}")
                rows = await dept.goto(f"{live_server}/console/escalations")
                assert rows is not None and rows.ok
                # Its inbox lists its part of the joint ticket.
                await dept.locator(".joint-part").first.wait_for()
                assert "dept:" not in await dept.locator("main").inner_text(), "the inbox names its organisation"
                await dept.get_by_text("小区违建与占道经营").first.click()
                await dept.locator('form.part-action[data-action="report_in"]').get_by_role("button").click()
                resolve = dept.locator('form.part-action[data-action="resolve_part"]')
                await resolve.get_by_label("意见 / 理由 / 补充内容").fill(f"{label}已依法处理")
                await resolve.get_by_role("button").click()
                await dept.locator('#parts tr[data-status="done"]').nth(done).wait_for()
                await own.close()
            await page.reload()
            await page.locator('#ticket-status[data-status="resolved"]').wait_for()
            # The plain history tells the whistle and each part in words, the departments by name.
            history = await page.locator("ol.history").inner_text()
            assert "吹哨" in history and "违建与占道经营，需住建" in history, history
            assert "第 1 部分" in history and DEPARTMENTS[0][1] in history, history
            assert "已记录：WhistleBlown" not in history and "已记录：Part" not in history, history
            # 考核评价: each department received its part and answered it in time.
            await page.goto(f"{live_server}/console/escalations/appraisal?dimension=department")
            table = await page.locator("#appraisal").inner_text()
            for org, label in DEPARTMENTS:  # by name, not by id
                assert label in table and org not in table, table
            await shot(page, artifacts_dir, "console-appraisal-zh")
            await assert_accessible(page, "the appraisal page")
        finally:
            await context.close()
    events = await store.read(tid)
    types = [e.type for e in events]
    assert types.count("PartOpened") == 3 and types.count("PartReported") == 3 and types.count("PartResolved") == 3
    assert "Resolved" in types, types


async def test_a_report_on_a_room_goes_to_its_grid_worker(browser, live_server, app, pool, store, temporal_server,
                                                          open_deliberation, artifacts_dir) -> None:
    """A grid worker on the rounds reports a problem at a room of the next grid (网格员上报), naming only the room:
    the room's building is found on the community's roll, the building's grid in the structure, and the ticket is
    in that grid's worker's inbox (and not in the reporter's, whose grid it is not)."""
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    community = f"grid{uuid.uuid4().hex[:6]}"
    d = await open_deliberation(4, community=community)
    room = d.roll.rooms[0]
    mark = uuid.uuid4().hex[:4]
    worker, other = f"王网格-{mark}", f"李网格-{mark}"
    at, by = datetime.now(UTC) - timedelta(days=1), "cli test"
    for change in (structure.community(community, "幸福里", "jc", at, by), structure.grid("G-01", "一网格", at, by),
                   structure.grid("G-02", "二网格", at, by),
                   structure.building(room.building, "", "G-01", at, by), structure.building("99", "", "G-02", at, by),
                   structure.worker("G-01", "grid_worker", worker, at, by),
                   structure.worker("G-02", "grid_worker", other, at, by)):
        await structure.change(store, pool, community, change)
    for name in (worker, other):
        await add_account(pool, name, "grid_worker", PASSWORD, community=community)
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        try:
            page = await _sign_in(context, live_server, other)
            await page.goto(f"{live_server}/console/escalations/new")
            await page.get_by_label("来源渠道").select_option(label="网格员上报")
            await page.get_by_label("反映人").fill(f"张阿姨（{room.room_id}）")
            await page.get_by_label("房号（根据业主名册找到楼栋）").fill(room.room_id)
            await page.get_by_label("事项", exact=True).fill("楼道灯不亮")
            await page.get_by_role("button", name="立案").click()
            filed = page.locator("#filed-ticket")
            await filed.wait_for()
            await shot(page, artifacts_dir, "console-complaint-room-zh")
            await assert_accessible(page, "the complaint form with a room")
        finally:
            await context.close()
        for name, sees in ((worker, True), (other, False)):
            own = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            try:
                inbox = await _sign_in(own, live_server, name)
                await inbox.goto(f"{live_server}/console/escalations")
                if sees:
                    await inbox.get_by_text("楼道灯不亮").wait_for()
                else:
                    assert "楼道灯不亮" not in await inbox.content()
            finally:
                await own.close()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT org, grid, channel FROM escalations WHERE community = $1", community)
    assert (row["org"], row["grid"], row["channel"]) == (f"grid:{community}:G-01", "G-01", "grid_report"), dict(row)
