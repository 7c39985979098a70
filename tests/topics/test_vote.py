"""A meeting puts a topic to a vote: the topic waits for that ballot box's result (a real BallotBox on the
time-skipping server), is then decided, resolved, reopened once by its proposer's 不满意 and closed when the second
feedback window ends. The history is kept for the replay test (tests/topics/test_replay.py)."""

from __future__ import annotations

from datetime import UTC, timedelta

from domain.events import Question
from domain.legal_calendar import BEIJING
from domain.roll import Scope
from domain.topic_events import TopicDecision
from tests.clock import advance_to
from tests.topics.conftest import CLERK, raised, topic_until
from tests.workflows.conftest import cast, estate_roll, running_worker, save_history, stream_types, wait_box_open
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.topic_intake import give_feedback
from yishi.services.topics import record_decision, resolve, schedule_topic, take


async def test_vote_decides_then_not_satisfied_reopens_and_the_window_closes(
        ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings, title="南门增设充电桩", description="选址三选一")
        await take(env.client, topic_id, by=CLERK)
        await schedule_topic(env.client, topic_id, meeting_id="meeting-eeeeeeeeeeee", item_id="2", by=CLERK)
        now = (await env.get_current_time()).astimezone(UTC)
        spec = DeliberationSpec(procedure="consultation", title="充电桩选址", rule_id="headcount-majority",
                                scope=Scope(), question=Question(text_zh="在南门增设充电桩", text_en="chargers"),
                                opens_at=now, closes_at=now + timedelta(days=3), community="xfl")
        vote_id, box = await start_vote(env.client, pool, estate_roll(floors=2), spec, task_queue=task_queue)
        await record_decision(env.client, topic_id, TopicDecision(
            meeting_id="meeting-eeeeeeeeeeee", item_id="2", kind="vote", summary="付诸业主表决",
            vote_deliberation_id=vote_id), by=CLERK)
        await topic_until(handle, lambda t: t.status == "voting", "waiting for the vote")
        await wait_box_open(store, vote_id)
        for owner in ("O311", "O312", "O321"):
            await cast(store, vote_id, owner, "for", now + timedelta(hours=1))
        await advance_to(env, spec.closes_at, past=timedelta(minutes=5))
        await box.result()
        state = await topic_until(handle, lambda t: t.status == "decided", "the vote's result", timeout=60)
        counted = next(e.payload for e in await store.read(topic_id) if e.type == "TopicVoteCounted")
        assert (counted["deliberation_id"], counted["approved"]) == (vote_id, True)
        assert counted["outcome"] == "main: approved"

        await resolve(env.client, topic_id, by=CLERK, resolution="充电桩已安装在南门")
        await topic_until(handle, lambda t: t.feedback_round == 1, "feedback asked")
        proposer = state.proposer.id
        await give_feedback(env.client, pool, topic_id, respondent=proposer, answer="not_satisfied",
                            comment="只装了两个", now=(await env.get_current_time()).astimezone(UTC))
        await topic_until(handle, lambda t: t.status == "taken" and t.reopens == 1, "reopened")
        await resolve(env.client, topic_id, by=CLERK, resolution="又加装了四个")
        state = await topic_until(handle, lambda t: t.feedback_round == 2, "feedback asked again")
        due = state.feedback_due
        assert due.astimezone(BEIJING).time().hour == 0, "a period in days ends at 24:00 Beijing time"
        await advance_to(env, due)
        outcome = await handle.result()
        assert outcome.status == "closed"
        types = await stream_types(store, topic_id)
        assert types.count("TopicReopened") == 1 and types.count("FeedbackRequested") == 2
        await save_history(handle, "topic_voted_deadlines_recorded")
