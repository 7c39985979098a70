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


async def test_cli_start_status_task(temporal_server, database_url, store, pool, monkeypatch, tmp_path) -> None:
    queue = f"cli-{uuid.uuid4().hex[:8]}"
    for name, value in (("TEMPORAL_ADDRESS", temporal_server.address), ("DATABASE_URL", database_url),
                        ("TASK_QUEUE", queue)):
        monkeypatch.setenv(f"YISHI_{name}", value)
    get_settings.cache_clear()
    roll = tmp_path / "roll.csv"
    rows = ["room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"]
    rows += [f"{r.room_id},{r.building},{r.entrance},{r.floor},{r.area_m2},{r.owner_id},{r.owner_name},{r.phone}"
             for r in estate_roll().rooms]
    roll.write_text("\n".join(rows) + "\n", encoding="utf-8")
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
