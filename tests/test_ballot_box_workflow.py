"""The ballot-box workflow on the time-skipping server with the real activities and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from activities.box import load_box
from activities.eventstore import EventStore, NewEvent
from domain.chain import verify_chain
from domain.commands import CastBallot
from domain.decider import decide
from domain.events import Question
from domain.roll import Roll, Room, Scope
from worker import build_worker
from workflows.ballot_box import BoxResult
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.settings import Settings


def entrance_roll() -> Roll:
    rooms = [Room(room_id=f"3-2-{f}0{u}", building="3", entrance="2", floor=str(f), area_m2=Decimal("88.50"),
                  owner_id=f"O{f}{u}", owner_name=f"业主{f}{u}") for f in range(1, 7) for u in (1, 2)]
    return Roll(rooms=tuple(rooms), source="test")


async def cast(store: EventStore, deliberation_id: str, owner: str, choice: str, at: datetime) -> None:
    state, _ = await load_box(store, deliberation_id)
    events = decide(state, CastBallot(owner_id=owner, choice=choice, cast_at=at))
    await store.append(deliberation_id, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=at)
                                         for e in events])


async def test_box_opens_witnesses_seals_and_tallies(time_skipping_env, store: EventStore, pool) -> None:
    env = time_skipping_env
    settings = Settings(task_queue=f"tq-{uuid.uuid4().hex[:8]}")
    now = await env.get_current_time()  # the server's clock, which --clock may have moved
    spec = DeliberationSpec(
        procedure="elevator", title="3栋2单元加装电梯", rule_id="cc278-special",
        scope=Scope(building="3", entrance="2"),
        question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"),
        opens_at=now, closes_at=now + timedelta(days=15),
    )
    async with await build_worker(env.client, settings, store, pool):
        deliberation_id, handle = await start_vote(env.client, pool, entrance_roll(), spec,
                                                   task_queue=settings.task_queue,
                                                   checkpoint_every=timedelta(days=1))
        # Time skips only while we wait on a result, so the box stays open while ballots arrive.
        for _ in range(200):
            state, _ = await load_box(store, deliberation_id)
            if state.status == "open":
                break
            await asyncio.sleep(0.05)
        voters = [f"O{f}{u}" for f in range(1, 7) for u in (1, 2)][:10]
        for owner in voters[:8]:
            await cast(store, deliberation_id, owner, "for", now + timedelta(minutes=1))
        for owner in voters[8:]:
            await cast(store, deliberation_id, owner, "against", now + timedelta(minutes=1))
        result: BoxResult = await handle.result()
    assert result.outcome.outcome == "approved", result.outcome.results
    main = result.outcome.results["main"]
    assert main["participating"]["owners"] == 10 and main["in_favour"]["owners"] == 8
    assert len(result.checkpoints) >= 15, "one checkpoint a day over 15 days, plus open and seal"
    events = await store.read(deliberation_id)
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], deliberation_id)
    assert (result.outcome.head.seq, result.outcome.head.hash) == (events[-1].seq, events[-1].hash)
    assert [e.type for e in events][-2:] == ["BoxSealed", "ResultRecorded"]
    seqs = [c.seq for c in result.checkpoints]
    assert seqs == sorted(seqs), "checkpoints go forward"
