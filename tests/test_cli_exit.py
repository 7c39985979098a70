"""CLI commands that talk to Temporal exit with their own exit code, every time.

The Temporal SDK's native threads used to outlive the interpreter's teardown: now and then a command that had done
its work died of SIGABRT ("PyGILState_Release") or SIGSEGV, and a script took a completed action for a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.errors import DomainError
from tests.workflows.conftest import estate_roll
from workflows.registry import WORKFLOWS
from yishi.services.procedures import procedure_status
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER


async def yishi(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "yishi.cli", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_roll(path: Path) -> Path:
    rows = ["room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"]
    rows += [f"{r.room_id},{r.building},{r.entrance},{r.floor},{r.area_m2},{r.owner_id},{r.owner_name},{r.phone}"
             for r in estate_roll().rooms]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def open_task(store: EventStore, did: str) -> str:
    for _ in range(300):
        try:
            tasks = (await procedure_status(store, did))["open_tasks"]
        except DomainError:  # the workflow has not written its first event yet
            tasks = []
        if tasks:
            return tasks[0]["task_id"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{did} opened no task")


async def task_runs(runs: int, temporal_server, database_url, store, pool, tmp_path) -> None:  # noqa: ANN001
    """``yishi task`` ``runs`` times in a row: done once (exit 0), then refused (exit 2); never a signal."""
    queue = f"exit-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env |= {"YISHI_TEMPORAL_ADDRESS": temporal_server.address, "YISHI_DATABASE_URL": database_url,
            "YISHI_TASK_QUEUE": queue, "YISHI_DATA_DIR": str(tmp_path), "YISHI_LOG_JSON": "true"}
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, Settings(task_queue=queue))):
        code, out, err = await yishi(env, "start", "elevator", "--roll", str(write_roll(tmp_path / "roll.csv")),
                                     "--scope", "building=3,entrance=2", "--period", "voting=PT1H")
        assert code == 0, err
        did = next(line for line in out.splitlines() if re.fullmatch(r"elevator-[0-9a-f]{12}", line))
        task_id = await open_task(store, did)
        codes: Counter[int] = Counter()
        for run in range(runs):
            code, out, err = await yishi(env, "task", did, task_id, "--role", "committee", "--outcome", "feasible")
            codes[code] += 1
            if run == 0:
                assert code == 0 and f"{task_id} done" in out, (code, out, err)
            else:
                assert code == 2 and task_id in err, (run, code, out, err[-2000:])
        assert codes == Counter({0: 1, 2: runs - 1}), codes
        await client.get_workflow_handle(did).terminate("test done")


async def test_task_command_exits_with_its_own_code(temporal_server, database_url, store, pool, tmp_path) -> None:
    await task_runs(10, temporal_server, database_url, store, pool, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 200 runs took 27 min on a busy 2-core machine (load 10-17)
async def test_task_command_exits_with_its_own_code_200_times(temporal_server, database_url, store, pool,
                                                               tmp_path) -> None:
    await task_runs(200, temporal_server, database_url, store, pool, tmp_path)
