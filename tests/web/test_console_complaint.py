"""A grid worker or committee member files a resident's complaint from the console (CSRF, role check, every
problem of the form named) or with `yishi escalate open`; the ticket runs on the real dev server."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.escalation.conftest import ticket_until
from tests.web.conftest import BASE_URL, SECRET
from tests.workflows.conftest import running_worker
from yishi.services.escalations import complainant, contact_digest
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

QUEUE = f"web-complaint-{uuid.uuid4().hex[:8]}"
PHOTO = "楼道照片.jpg, " + "ab" * 32  # the CLI's attachment line
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE)


def _form(html: str) -> dict[str, str]:
    block = re.search(r'<form method="post" action="/console/escalations/new"[^>]*>(.*?)</form>', html, re.S)
    assert block is not None, html[:500]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block.group(1)))


async def _opened(store, ticket_id: str, patience: float = 20) -> dict:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        events = await store.read(ticket_id)
        if events:
            assert [e.type for e in events].count("EscalationOpened") == 1
            return events[0].payload
        if loop.time() > deadline:
            raise AssertionError(f"ticket {ticket_id} has no events after {patience}s")
        await asyncio.sleep(0.1)


async def _cli(args: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    """`yishi …` in a thread (it runs its own event loop), with the settings read from ``env``."""
    from click.testing import CliRunner

    from yishi.cli import cli
    from yishi.settings import get_settings

    get_settings.cache_clear()
    try:
        return await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    finally:
        get_settings.cache_clear()


async def test_console_form_files_a_ticket_once(temporal_server, app, sign_in, store, pool,
                                                open_deliberation) -> None:
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    d = await open_deliberation(2)
    auditor = await sign_in("auditor", community=None)
    assert (await auditor.get("/console/escalations/new")).status_code == 403
    grid = await sign_in("grid_worker", f"网格员-{uuid.uuid4().hex[:4]}")
    assert 'id="file-complaint"' in (await grid.get("/console/escalations")).text
    page = await grid.get("/console/escalations/new", params={"d": d.id})
    assert page.status_code == 200 and f'<option value="{d.id}" selected>' in page.text
    assert "区住房和城乡建设委员会" in page.text and "幸福社区" in page.text
    form = _form(page.text)
    filled = {"resident": "o001（1-1-101 张阿姨）", "deliberation": d.id, "category": "urban_management",
              "start_level": "community", "subject": "楼道堆物堵塞消防通道", "detail": "三楼楼道堆放杂物。",
              "room": "1-1-101", "phone": "13800000000"}
    photo = {"files": ("楼道照片.png", PNG, "image/png")}

    forged = await grid.post("/console/escalations/new", data={**form, **filled, "csrf": "0" * 32})
    assert forged.status_code == 403
    wrong = await grid.post("/console/escalations/new", data={**form, **filled, "subject": " ", "category": "weather"})
    assert wrong.status_code == 422
    for expected in ("请填写事项", "请选择事项类别"):
        assert expected in wrong.text, expected
    not_a_photo = await grid.post("/console/escalations/new", data={**form, **filled},
                                  files={"files": ("照片2.jpg", b"MZ\x90\x00 not a photo", "image/jpeg")})
    assert not_a_photo.status_code == 422 and "文件 照片2.jpg 不是照片（JPEG、PNG、WebP）或 PDF" in not_a_photo.text
    assert 'value="o001（1-1-101 张阿姨）"' in wrong.text, "what was typed is kept"
    stranger = await grid.post("/console/escalations/new", data={**form, **filled, "deliberation": "nope"})
    assert stranger.status_code == 422 and "不属于本社区" in stranger.text

    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        filed = await grid.post("/console/escalations/new", data={**form, **filled}, files=photo)
        assert filed.status_code == 200, filed.text
        ticket_id = re.search(r'id="filed-ticket">工单 (esc-[0-9a-f]{12})<', filed.text).group(1)
        again = await grid.post("/console/escalations/new", data={**form, **filled}, files=photo)  # a double tap
        assert ticket_id in again.text
        opened = await _opened(store, ticket_id)
        assert (opened["community"], opened["parent_id"], opened["initiator"], opened["initiator_kind"]) == (
            "幸福社区", d.id, "o001（1-1-101 张阿姨）", "owner")
        assert opened["category"] == "urban_management" and opened["subject"] == "楼道堆物堵塞消防通道"
        sha = hashlib.sha256(PNG).hexdigest()
        assert opened["evidence"] == [{"kind": "attachment", "stream_id": None, "seq": None, "hash": None,
                                       "name": "楼道照片.png", "sha256": sha, "note": ""}]
        assert "13800000000" not in str([e.payload for e in await store.read(ticket_id)]), "no phone in the stream"
        # Who complained is kept outside the stream, the stream keeping its digest (the audit holds one to the other).
        assert await complainant(pool, ticket_id) == {"name": "o001（1-1-101 张阿姨）", "room": "1-1-101",
                                                      "phone": "13800000000"}
        assert opened["complainant_digest"] == contact_digest(await complainant(pool, ticket_id))
        assert "三楼楼道堆放杂物。" in opened["detail"] and "（网格员 网格员-" in opened["detail"]
        committee = await sign_in("committee")
        await ticket_until(temporal.get_workflow_handle(ticket_id), lambda t: t.current is not None, "assigned")
        ticket_page = await committee.get(f"/console/escalations/t/{ticket_id}")
        assert ticket_page.status_code == 200 and "楼道堆物堵塞消防通道" in ticket_page.text
        # The owning office (the community committee here) sees who complained and the photo; no one else does.
        assert re.search(r'id="complainant">o001（1-1-101 张阿姨） · 房号 1-1-101 · 电话 13800000000', ticket_page.text)
        link = f"/console/escalations/file/{sha}?ticket={ticket_id}"
        assert link in ticket_page.text
        shown = await committee.get(link)
        assert shown.status_code == 200 and shown.content == PNG and shown.headers["content-type"] == "image/png"
        auditor_page = (await auditor.get(f"/console/escalations/t/{ticket_id}")).text
        assert "13800000000" not in auditor_page and 'id="complainant"' not in auditor_page
        street = await sign_in("street_office")
        assert (await street.get(link)).status_code == 404, "an office that may not see the ticket"
        assert (await committee.get(f"/console/escalations/file/{'cd' * 32}?ticket={ticket_id}")).status_code == 404

        env = {"YISHI_DATABASE_URL": app.state.settings.database_url, "YISHI_TASK_QUEUE": QUEUE,
               "YISHI_TEMPORAL_ADDRESS": temporal_server.address}
        base = ["escalate", "open", "--community", "幸福社区", "--resident", "o002", "--category", "housing",
                "--subject", "电梯停运", "--filed-by", "值班员"]
        refused = await _cli([*base, "--attachment", "坏的附件"], env)
        assert refused.exit_code == 2 and "附件第1行“坏的附件”" in refused.stderr
        done = await _cli([*base, "--attachment", PHOTO], env)
        assert done.exit_code == 0, done.output
        cli_ticket = done.stdout.strip()
        from_cli = await _opened(store, cli_ticket)
        assert from_cli["initiator"] == "o002" and "cli 值班员" in from_cli["detail"]
        for tid in (ticket_id, cli_ticket):
            await temporal.get_workflow_handle(tid).terminate("test done")


@pytest.mark.browser
async def test_street_office_takes_a_call_and_handles_it_in_chromium(temporal_server, app, browser, live_server,
                                                                     store, pool, artifacts_dir, tmp_path) -> None:
    """A street-office clerk on a laptop: signs in to the inbox, files a phone call with a photo, sees who called
    on the ticket, the history in plain words, acknowledges, finds the transfer targets by name, and reads the
    rates with no rating yet. No code, no ISO time, no sha256 typed."""
    from tests.web.conftest import PASSWORD
    from tests.web.test_browser import assert_accessible, shot
    from tests.web.test_console_community import _register
    from tests.web.test_resident_phone import too_small
    from yishi.services.accounts import add_account

    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    community = f"和平社区-{uuid.uuid4().hex[:4]}"
    await _register(pool, community, "和平社区的议题")
    name = f"街道值班员-{uuid.uuid4().hex[:4]}"
    await add_account(pool, name, "street_office", PASSWORD)
    photo = tmp_path / "路灯.png"
    photo.write_bytes(PNG)
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    try:
        async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
            await page.goto(f"{live_server}/login")
            await page.get_by_label("账号").fill(name)
            await page.get_by_label("密码").fill(PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_url("**/console/escalations")
            await page.goto(f"{live_server}/console/escalations/new")
            await page.get_by_label("社区", exact=True).select_option(community)
            await page.get_by_label("反映人（业主编号，或姓名和房号）").fill("王大爷")
            await page.get_by_label("房号（可不填）").fill("5-1-302")
            await page.get_by_label("电话（可不填）").fill("13900001111")
            category = page.get_by_label("事项类别（决定最终承办的区职能部门）")
            await category.select_option(label="区城市管理委员会（城管）")
            await page.get_by_label("事项", exact=True).fill("小区门口路灯不亮")
            await page.get_by_label("情况说明").fill("东门路灯已坏两周，夜间老人出行不便。")
            await page.get_by_label("照片或扫描件（可不传）").set_input_files(str(photo))
            width = await page.locator("#detail").evaluate("e => e.getBoundingClientRect().width")
            assert width > 500, f"the text area is {width}px wide"
            await shot(page, artifacts_dir, "street-complaint-zh")
            await assert_accessible(page, "complaint form (street office)")
            await page.get_by_role("button", name="立案").click()
            await page.locator("#filed-ticket").click()
            while "已签收" not in await page.content() and not await page.get_by_role("button", name="签收").count():
                await asyncio.sleep(0.3)
                await page.reload()
            assert "王大爷 · 房号 5-1-302 · 电话 13900001111" in await page.locator("#complainant").inner_text()
            assert await page.get_by_role("link", name="路灯.png").count() == 1
            await page.get_by_role("button", name="签收").click()
            await page.locator('#ticket-status[data-status="acknowledged"]').wait_for()
            history = await page.locator("ol.history").inner_text()
            assert "立案：小区门口路灯不亮" in history and "街道办事处已签收" in history and "北京时间" in history
            assert "LevelAssigned" not in history and "T0" not in history
            options = await page.locator('select[name="to_org"] option').all_inner_texts()
            assert "区城市管理委员会（城管）" in options and "dept:urban" not in options
            await shot(page, artifacts_dir, "street-ticket-zh")
            await assert_accessible(page, "ticket page (street office)")
            small = await too_small(page)
            assert not small, "under 44 px on the ticket page:\n" + "\n".join(map(str, small))
            tid = page.url.rsplit("/", 1)[-1]
            await page.goto(f"{live_server}/console/escalations/rates")
            rates = await page.content()
            assert "暂无评价" in rates and "—%" not in rates
            await page.get_by_label("开始日期").wait_for()
            await shot(page, artifacts_dir, "street-rates-zh")
            await temporal.get_workflow_handle(tid).terminate("test done")
    finally:
        await context.close()
