"""`yishi start|status|task` against the embedded dev server and PostgreSQL, with a worker running."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

from click.testing import CliRunner
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import build_activities
from tests.workflows.conftest import estate_roll
from workflows.registry import WORKFLOWS
from yishi.cli.deliberation import start, status, task
from yishi.settings import Settings, get_settings
from yishi.temporal_client import DATA_CONVERTER


async def invoke(command, *args: str):  # noqa: ANN001, ANN201
    return await asyncio.to_thread(CliRunner().invoke, command, list(args))


def document(output: str) -> dict:
    """The JSON document in the output (the worker runs in this process and its log lines land there too)."""
    start = 0 if output.startswith("{") else output.index("\n{\n") + 1
    return json.loads(output[start:output.index("\n}", start) + 2])


async def poll_status(did: str, check, what: str) -> dict:  # noqa: ANN001
    for _ in range(200):
        result = await invoke(status, did, "--json")
        if result.exit_code == 0 and check(document(result.output)):
            return document(result.output)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: {result.output}")


def cli_env(monkeypatch, temporal_server, database_url, tmp_path, **settings: str):  # noqa: ANN001, ANN201
    """Point the CLI's settings at the test servers (plus ``settings`` as YISHI_* variables); the roll file."""
    queue = f"cli-{uuid.uuid4().hex[:8]}"
    for name, value in (("TEMPORAL_ADDRESS", temporal_server.address), ("DATABASE_URL", database_url),
                        ("TASK_QUEUE", queue), *settings.items()):
        monkeypatch.setenv(f"YISHI_{name.upper()}", value)
    get_settings.cache_clear()
    roll = tmp_path / "roll.csv"
    rows = ["room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"]
    rows += [f"{r.room_id},{r.building},{r.entrance},{r.floor},{r.area_m2},{r.owner_id},{r.owner_name},{r.phone}"
             for r in estate_roll().rooms]
    roll.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return queue, roll


async def test_cli_start_status_task(temporal_server, database_url, store, pool, monkeypatch, tmp_path) -> None:
    queue, roll = cli_env(monkeypatch, temporal_server, database_url, tmp_path)
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    try:
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS,
                          activities=build_activities(store, pool, Settings(task_queue=queue))):
            bad = await invoke(start, "elevator", "--roll", str(roll), "--scope", "building=3,entrance=2",
                               "--period", "voting=P1M")
            assert bad.exit_code == 2 and "P365D" in bad.output
            started = await invoke(start, "elevator", "--roll", str(roll), "--scope", "building=3,entrance=2",
                                   "--period", "voting=PT1H", "--period", "remind_before=PT10M",
                                   "--period", "checkpoint=PT10M", "--title", "3栋2单元加装电梯")
            assert started.exit_code == 0, started.output
            did = next(line for line in started.output.splitlines() if re.fullmatch(r"elevator-[0-9a-f]{12}", line))
            state = await poll_status(did, lambda s: s["open_tasks"], "feasibility task")
            task_id = state["open_tasks"][0]["task_id"]
            refused = await invoke(task, did, task_id, "--role", "owner", "--outcome", "feasible")
            assert refused.exit_code == 2 and "无权办理" in refused.output and "may not complete" in refused.output
            done = await invoke(task, did, task_id, "--role", "committee", "--outcome", "feasible")
            assert done.exit_code == 0 and "seq=" in done.output, done.output
            state = await poll_status(did, lambda s: s["stage"] == "voting" and s["tally"], "voting with a tally")
            assert state["tally"]["eligible"]["owners"] == 12 and state["tally"]["rule"] == "cc278-special"
            text = await invoke(status, did, "--lang", "en")
            assert "stage: voting" in text.output and "Outcome" in text.output
            await client.get_workflow_handle(did).terminate("test done")
    finally:
        get_settings.cache_clear()


async def test_cli_start_takes_the_operators_counting_settings(temporal_server, database_url, pool, monkeypatch,
                                                                tmp_path) -> None:
    _, roll = cli_env(monkeypatch, temporal_server, database_url, tmp_path, proxy_limit="2", deem_silent="true")
    args = ("elevator", "--roll", str(roll), "--scope", "building=3,entrance=2")
    try:
        title = f"拒绝-{uuid.uuid4().hex[:8]}"
        refused = await invoke(start, *args, "--title", title, "--option", "deem_silent=false",
                               "--option", "deem_over_half=true")
        assert refused.exit_code == 2 and "请先开启 deem_silent" in refused.output, refused.output
        async with pool.acquire() as conn:  # refused before the registry or a workflow
            assert await conn.fetchval("SELECT count(*) FROM deliberations WHERE title = $1", title) == 0
        started = await invoke(start, *args, "--title", "设置默认值", "--option", "deem_over_half=true")
        assert started.exit_code == 0, started.output
        did = next(line for line in started.output.splitlines() if re.fullmatch(r"elevator-[0-9a-f]{12}", line))
        client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
        handle = client.get_workflow_handle(did)
        history = await handle.fetch_history()
        payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        given = json.loads(payload.data)
        assert (given["proxy_limit"], given["deem_silent"], given["deem_over_half"]) == (2, True, True)
        await handle.terminate("test done")
    finally:
        get_settings.cache_clear()
