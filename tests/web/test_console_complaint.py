"""A grid worker or committee member files a resident's complaint from the console (CSRF, role check, every
problem of the form named) or with `yishi escalate open`; the ticket runs on the real dev server."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.web.conftest import BASE_URL, SECRET
from tests.workflows.conftest import running_worker
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

QUEUE = f"web-complaint-{uuid.uuid4().hex[:8]}"
PHOTO = "楼道照片.jpg, " + "ab" * 32


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
    street = await sign_in("street_office")
    assert (await street.get("/console/escalations/new")).status_code == 403
    grid = await sign_in("grid_worker", f"网格员-{uuid.uuid4().hex[:4]}")
    assert 'id="file-complaint"' in (await grid.get("/console/escalations")).text
    page = await grid.get("/console/escalations/new", params={"d": d.id})
    assert page.status_code == 200 and f'<option value="{d.id}" selected>' in page.text
    assert "区住房和城乡建设委员会" in page.text and "幸福社区" in page.text
    form = _form(page.text)
    filled = {"resident": "o001（1-1-101 张阿姨）", "deliberation": d.id, "category": "urban_management",
              "start_level": "community", "subject": "楼道堆物堵塞消防通道", "detail": "三楼楼道堆放杂物。",
              "attachments": PHOTO}

    forged = await grid.post("/console/escalations/new", data={**form, **filled, "csrf": "0" * 32})
    assert forged.status_code == 403
    wrong = await grid.post("/console/escalations/new", data={
        **form, **filled, "subject": " ", "category": "weather", "attachments": f"{PHOTO}\n照片2.jpg"})
    assert wrong.status_code == 422
    for expected in ("请填写事项", "请选择事项类别", "附件第2行“照片2.jpg”"):
        assert expected in wrong.text, expected
    assert 'value="o001（1-1-101 张阿姨）"' in wrong.text, "what was typed is kept"
    stranger = await grid.post("/console/escalations/new", data={**form, **filled, "deliberation": "nope"})
    assert stranger.status_code == 422 and "不属于本社区" in stranger.text

    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        filed = await grid.post("/console/escalations/new", data={**form, **filled})
        assert filed.status_code == 200, filed.text
        ticket_id = re.search(r'id="filed-ticket">工单 (esc-[0-9a-f]{12})<', filed.text).group(1)
        again = await grid.post("/console/escalations/new", data={**form, **filled})  # a double tap
        assert ticket_id in again.text
        opened = await _opened(store, ticket_id)
        assert (opened["community"], opened["parent_id"], opened["initiator"], opened["initiator_kind"]) == (
            "幸福社区", d.id, "o001（1-1-101 张阿姨）", "owner")
        assert opened["category"] == "urban_management" and opened["subject"] == "楼道堆物堵塞消防通道"
        assert opened["evidence"] == [{"kind": "attachment", "stream_id": None, "seq": None, "hash": None,
                                       "name": "楼道照片.jpg", "sha256": "ab" * 32, "note": ""}]
        assert "三楼楼道堆放杂物。" in opened["detail"] and "（网格员 网格员-" in opened["detail"]
        committee = await sign_in("committee")
        ticket_page = await committee.get(f"/console/escalations/t/{ticket_id}")
        assert ticket_page.status_code == 200 and "楼道堆物堵塞消防通道" in ticket_page.text

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
