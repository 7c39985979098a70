"""`yishi meeting …` as an operator runs it against the embedded Temporal dev server and PostgreSQL: schedule with
parties (their links printed), a free item with three options, a position and attendance recorded by the clerk (name
and role in the stream), minutes, a deferral, a three-option vote opened from a roll file, a refused step (exit 2
with the reason in Chinese, English on request), the session closed, paper confirmations, publication, show; and a
refused feedback."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from temporalio.client import Client
from temporalio.worker import Worker

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.legal_calendar import BEIJING
from domain.meeting_events import vote_id
from tests.test_cli_exit import write_roll
from workflows.registry import WORKFLOWS
from yishi.cli import cli
from yishi.services.meetings import meeting_state
from yishi.settings import Settings, get_settings
from yishi.temporal_client import DATA_CONVERTER


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, temporal_server: Any) -> dict[str, str]:
    values = {"YISHI_DATABASE_URL": database_url, "YISHI_TEMPORAL_ADDRESS": temporal_server.address,
              "YISHI_TASK_QUEUE": f"cli-meeting-{uuid.uuid4().hex[:8]}", "YISHI_SECRET_KEY": "cli-meeting-key",
              "USER": "zhangsan"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


LOG_LINE = re.compile(r"^(\x1b\[\d+m)?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


async def run(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def out(result: Result) -> str:
    return "\n".join(line for line in result.output.splitlines() if not LOG_LINE.match(line))


async def until(check: Any, what: str) -> None:
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def test_a_meeting_from_the_shell(env: dict[str, str], pool: Any, store: EventStore, tmp_path: Path) -> None:
    settings = Settings(task_queue=env["YISHI_TASK_QUEUE"])
    client = await Client.connect(env["YISHI_TEMPORAL_ADDRESS"], data_converter=DATA_CONVERTER)
    at = (datetime.now(UTC) + timedelta(hours=1)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        made = await run("meeting", "schedule", "--community", "xfl", "--title", "周末议事厅", "--kind", "weekend_hall",
                         "--at", at, "--place", "社区议事厅", "--party", "party_member:党员代表王",
                         "--party", "property_company:安居物业", "--item", "楼道堆物")
        assert made.exit_code == 0, made.output
        lines = out(made).splitlines()
        meeting_id = lines[0]
        assert meeting_id.startswith("meeting-")
        assert {line.split(":")[0] for line in lines[1:]} == {"link p1", "link p2", "link door"}
        added = await run("meeting", "agenda-add", meeting_id, "--title", "充电桩选址", "--option", "A=东门车棚",
                          "--option", "B=3号楼北侧", "--option", "C=地下车库入口")
        assert added.exit_code == 0 and " item=2 " in out(added), added.output
        raised = await run("topic", "raise", "--community", "xfl", "--title", "南门充电桩", "--description", "三处选址")
        assert raised.exit_code == 0, raised.output
        topic_id = out(raised).splitlines()[0]
        taken = await run("topic", "take", topic_id)  # at once: the take waits for the workflow to apply the raise
        assert taken.exit_code == 0, taken.output
        with_options = await run("meeting", "agenda-add", meeting_id, "--topic", topic_id, "--option", "A=东门",
                                 "--option", "B=北侧")
        assert with_options.exit_code == 0 and " item=3 " in out(with_options), with_options.output
        topic_item = (await meeting_state(pool, meeting_id)).items["3"]
        assert (topic_item.topic_id, topic_item.option_ids()) == (topic_id, ("A", "B"))
        deferred = await run("meeting", "decide", meeting_id, "3", "defer", "--summary", "充电桩选址下次再议")
        assert deferred.exit_code == 0, deferred.output
        steps = [("position", meeting_id, "2", "--party", "p1", "--option", "A", "--text", "离住户远",
                  "--name", "王秘书", "--role", "grid_worker"),
                 ("attendance", meeting_id, "--party", "p1"), ("attendance", meeting_id, "--guest", "居民张阿姨"),
                 ("minutes", meeting_id, "1", "--text", "楼道堆物下次再议"),
                 ("decide", meeting_id, "1", "defer", "--summary", "物业未到场说明")]
        for step in steps:
            done = await run("meeting", *step)
            assert done.exit_code == 0, (step, done.output)
        refused = await run("meeting", "decide", meeting_id, "2", "vote", "--summary", "表决", "--lang", "en")
        assert refused.exit_code == 2 and "a vote needs the owners roll" in refused.output
        roll = write_roll(tmp_path / "roll.csv")
        voted = await run("meeting", "decide", meeting_id, "2", "vote", "--summary", "三处选址付诸业主表决",
                          "--question", "充电桩建在哪里", "--vote-option", "A", "--vote-option", "B",
                          "--vote-option", "C", "--roll", str(roll), "--scope", "building=3", "--voting", "P7D")
        assert voted.exit_code == 0, voted.output
        did = vote_id(meeting_id, "2")

        async def box_open() -> bool:
            return any(e.type == "BoxOpened" for e in await store.read(did))

        await until(box_open, "the box of the vote")
        opened = next(e for e in await store.read(did) if e.type == "BoxOpened")
        assert [q["id"] for q in opened.payload["questions"]] == ["option:A", "option:B", "option:C"]
        held = await run("meeting", "hold", meeting_id)
        assert held.exit_code == 0 and " held " in out(held), held.output
        version = (await meeting_state(pool, meeting_id)).minutes_version
        stale = await run("meeting", "confirm", meeting_id, "--party", "p1", "--version", str(version - 1))
        assert stale.exit_code == 2 and "请重新阅读后确认" in stale.output
        for party in ("p1", "p2"):
            done = await run("meeting", "confirm", meeting_id, "--party", party, "--version", str(version))
            assert done.exit_code == 0, done.output

        async def published() -> bool:
            return (await meeting_state(pool, meeting_id)).status == "published"

        await until(published, "published once every party confirmed")
        shown = await run("meeting", "show", meeting_id)
        assert shown.exit_code == 0
        for said in ("党员代表王", "居民张阿姨", "下次再议", "付诸表决", did, "纪要已公布"):
            assert said in out(shown), said
        listed = await run("meeting", "list", "--community", "xfl")
        assert meeting_id in out(listed)
        feedback = await run("feedback", did, "--owner", "O311", "--score", "4")
        assert feedback.exit_code == 2, feedback.output
        await client.get_workflow_handle(meeting_id).terminate("test done")
        await client.get_workflow_handle(did).terminate("test done")
    events = await store.read(meeting_id)
    position = next(e for e in events if e.type == "PositionStated")
    assert position.payload["by"] == {"kind": "grid_worker", "name": "王秘书", "account": "cli:zhangsan",
                                      "community": "xfl"}
    assert position.payload["via"] == "clerk"
    confirmations = [e.payload for e in events if e.type == "MinutesConfirmed"]
    assert [(c["party_id"], c["via"], c["by"]["name"]) for c in confirmations] == [("p1", "clerk", "zhangsan"),
                                                                                    ("p2", "clerk", "zhangsan")]


async def test_schedule_with_a_taken_topic_and_no_party(env: dict[str, str], pool: Any, store: EventStore) -> None:
    """`yishi meeting schedule --topic` puts the topic on the agenda as the meeting starts (no race with the
    workflow's first step, even with no party to wait for) and records it in the topic."""
    settings = Settings(task_queue=env["YISHI_TASK_QUEUE"])
    client = await Client.connect(env["YISHI_TEMPORAL_ADDRESS"], data_converter=DATA_CONVERTER)
    at = (datetime.now(UTC) + timedelta(hours=1)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        raised = await run("topic", "raise", "--community", "xfl", "--title", "楼道堆物", "--description", "堆满纸箱")
        topic_id = out(raised).splitlines()[0]
        taken = await run("topic", "take", topic_id)  # at once: the take waits for the workflow to apply the raise
        assert taken.exit_code == 0, (raised.output, taken.output)
        made = await run("meeting", "schedule", "--community", "xfl", "--title", "周末议事厅", "--at", at,
                         "--place", "社区议事厅", "--item", "充电桩", "--topic", topic_id)
        assert made.exit_code == 0, made.output
        meeting_id = out(made).splitlines()[0]

        async def on_agenda() -> bool:
            return len((await meeting_state(pool, meeting_id)).items) == 2

        await until(on_agenda, "the agenda")
        items = (await meeting_state(pool, meeting_id)).items
        assert [(i.item_id, i.title, i.topic_id) for i in items.values()] == [("1", "充电桩", None),
                                                                             ("2", "楼道堆物", topic_id)]
        scheduled = [e.payload for e in await store.read(topic_id) if e.type == "TopicScheduled"]
        assert [(p["meeting_id"], p["item_id"]) for p in scheduled] == [(meeting_id, "2")]
        await client.get_workflow_handle(meeting_id).terminate("test done")


async def test_invite_right_after_schedule(env: dict[str, str], pool: Any, store: EventStore) -> None:
    """`yishi meeting schedule` then `yishi meeting invite` at once: the invitation waits for the workflow to record
    the schedule instead of being refused with "no such meeting" (sent here before any worker runs: the race made
    certain)."""
    settings = Settings(task_queue=env["YISHI_TASK_QUEUE"])
    client = await Client.connect(env["YISHI_TEMPORAL_ADDRESS"], data_converter=DATA_CONVERTER)
    at = (datetime.now(UTC) + timedelta(days=1)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    made = await run("meeting", "schedule", "--community", "xfl", "--title", "民声七点办", "--kind", "seven_pm",
                     "--at", at, "--place", "社区议事厅")
    assert made.exit_code == 0, made.output
    meeting_id = out(made).splitlines()[0]
    inviting = asyncio.ensure_future(run("meeting", "invite", meeting_id, "--party", "owner_rep:业主代表赵"))
    await asyncio.sleep(0.5)
    assert not inviting.done(), "no worker yet"
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        invited = await asyncio.wait_for(inviting, 60)
        assert invited.exit_code == 0 and "没有这个议事会" not in invited.output, invited.output
        assert [p.name for p in (await meeting_state(pool, meeting_id)).parties.values()] == ["业主代表赵"]
        await client.get_workflow_handle(meeting_id).terminate("test done")
