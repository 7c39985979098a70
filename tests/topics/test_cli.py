"""`yishi topic …` as an operator runs it against the embedded Temporal dev server and PostgreSQL: raise for a
resident (recorded as the grid worker who typed it), list, show, take (name and role recorded), hide a comment, a
refused decline (exit 2 with the reason in Chinese, English on request), merge, intake link."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from activities.eventstore import EventStore
from activities.registry import build_activities
from workflows.registry import WORKFLOWS
from yishi.cli import cli
from yishi.services.topic_intake import post_comment
from yishi.services.topics import topic_state
from yishi.settings import Settings, get_settings
from yishi.temporal_client import DATA_CONVERTER


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, temporal_server: Any) -> dict[str, str]:
    values = {"YISHI_DATABASE_URL": database_url, "YISHI_TEMPORAL_ADDRESS": temporal_server.address,
              "YISHI_TASK_QUEUE": f"cli-topic-{uuid.uuid4().hex[:8]}", "YISHI_SECRET_KEY": "cli-topic-key",
              "USER": "zhangsan"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


LOG_LINE = re.compile(r"^(\x1b\[\d+m)?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


async def run(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, ["topic", *args])


def out(result: Result) -> str:
    """What the command printed, without the log lines of the worker running in this process."""
    return "\n".join(line for line in result.output.splitlines() if not LOG_LINE.match(line))


async def until_taken_up(pool: Any, topic_id: str) -> None:
    for _ in range(200):
        if (await topic_state(pool, topic_id)).take_up is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no take-up deadline")


async def test_topic_cli(env: dict[str, str], temporal_server: Any, pool: Any, store: EventStore) -> None:
    for attempt in range(50):  # the dev server may still be starting its frontend
        try:
            client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
            break
        except RuntimeError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)
    settings = Settings(task_queue=env["YISHI_TASK_QUEUE"], secret_key=SecretStr(env["YISHI_SECRET_KEY"]))
    community = f"cli{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        raised = await run("raise", "--community", community, "--title", "南门路灯坏了", "--description", "晚上很黑",
                           "--building", "2号楼", "--phone", "13700001111", "--name", "网格员小王")
        assert raised.exit_code == 0, raised.output
        topic_id = out(raised).splitlines()[0]
        assert topic_id.startswith("topic-") and "跟踪链接：http" in out(raised)
        await until_taken_up(pool, topic_id)
        dup = await run("raise", "--community", community, "--title", "南门路灯不亮", "--description", "很黑",
                        "--as", "party_member")
        assert dup.exit_code == 0 and f"相似议题：{topic_id}" in dup.output, dup.output
        dup_id = out(dup).splitlines()[0]
        state = await topic_state(pool, topic_id)
        assert (state.source, state.proposer.kind, state.proposer.account) == ("console", "grid_worker", "网格员小王")

        listed = await run("list", "--community", community, "--json")
        assert {r["topic_id"] for r in json.loads(out(listed))} == {topic_id, dup_id}
        taken = await run("take", topic_id, "--name", "李书记", "--note", "周五议事会讨论")
        assert taken.exit_code == 0 and f"{topic_id} taken" in taken.output, taken.output
        event = next(e for e in await store.read(topic_id) if e.type == "TopicTaken")
        assert event.payload["by"] == {"kind": "committee", "name": "李书记", "account": "cli:zhangsan",
                                       "community": community}

        refused = await run("decline", topic_id, "--reason", "不属于社区事务")
        assert refused.exit_code == 2 and "已领题" in refused.output and "Traceback" not in refused.output
        english = await run("decline", topic_id, "--reason", "x", "--lang", "en")
        assert english.exit_code == 2 and "you cannot decline it" in english.output

        comment = await post_comment(pool, topic_id, author="owner:O1", author_kind="owner", text="隔壁电话1390000",
                                     now=datetime.now(UTC))
        hidden = await run("hide-comment", topic_id, comment, "--reason", "含个人电话")
        assert hidden.exit_code == 0, hidden.output
        shown = await run("show", topic_id)
        assert "［已隐藏：含个人电话］" in shown.output and "13700001111" not in shown.output

        merged = await run("merge", dup_id, topic_id)
        assert merged.exit_code == 0, merged.output
        assert (await topic_state(pool, topic_id)).merged_from == (dup_id,)

        link = await run("intake-link", "--community", community, "--building", "2号楼")
        assert link.exit_code == 0 and "/t/" in link.output
        assert out(await run("intake-link", "--community", community, "--building", "2号楼")) == out(link)
        async with pool.acquire() as conn:
            before = await conn.fetch("SELECT topic_id, status, supporters FROM topics WHERE community = $1"
                                      " ORDER BY topic_id", community)
        rebuilt = await run("rebuild")
        assert rebuilt.exit_code == 0 and "rebuilt" in out(rebuilt)
        async with pool.acquire() as conn:
            after = await conn.fetch("SELECT topic_id, status, supporters FROM topics WHERE community = $1"
                                     " ORDER BY topic_id", community)
        assert [dict(r) for r in after] == [dict(r) for r in before], "the read model is rebuilt from the streams"
        await client.get_workflow_handle(topic_id).terminate("test done")


async def test_take_right_after_raise(env: dict[str, str], temporal_server: Any, pool: Any, store: EventStore) -> None:
    """`yishi topic raise` then `yishi topic take` at once: the take waits for the raise instead of being refused
    with "no such topic". The first take is sent before any worker runs (the race made certain); the second pair
    runs with the worker, as an operator types them."""
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    settings = Settings(task_queue=env["YISHI_TASK_QUEUE"], secret_key=SecretStr(env["YISHI_SECRET_KEY"]))
    community = f"cli{uuid.uuid4().hex[:6]}"
    raised = await run("raise", "--community", community, "--title", "北门积水", "--description", "下雨就淹")
    assert raised.exit_code == 0, raised.output
    topic_id = out(raised).splitlines()[0]
    taking = asyncio.ensure_future(run("take", topic_id, "--name", "李书记"))
    await asyncio.sleep(0.5)
    assert not taking.done(), "no worker yet"
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        taken = await asyncio.wait_for(taking, 60)
        assert taken.exit_code == 0 and f"{topic_id} taken" in taken.output, taken.output
        again = await run("raise", "--community", community, "--title", "南门积水", "--description", "也淹")
        other = out(again).splitlines()[0]
        refused = await run("decline", other, "--reason", "")
        assert refused.exit_code == 2 and "没有这个议题" not in refused.output, refused.output
        declined = await run("decline", other, "--reason", "已并入北门积水一并处理")
        assert declined.exit_code == 0, declined.output
        await client.get_workflow_handle(topic_id).terminate("test done")
