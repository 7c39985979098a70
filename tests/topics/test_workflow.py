"""The Topic workflow on the time-skipping server with the real activities and PostgreSQL: take within the deadline,
a missed take-up deadline moves up the ladder, decline with a reason, merge carries supporters, routing to the
ladder opens a ticket whose closing resolves the topic, a missed milestone is flagged, the proposer's 不满意
reopens once and the next round closes."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from domain.legal_calendar import BEIJING
from domain.roll import Scope
from domain.topic_events import Actor, Milestone, TopicDecision
from tests.clock import advance_to
from tests.escalation.conftest import ticket_until
from tests.texts import en, zh
from tests.topics.conftest import CLERK, raised, topic_until
from tests.workflows.conftest import complete, estate_roll, running_worker, save_history, stream_types
from workflows.escalation import TicketAction
from yishi.services import escalations
from yishi.services.capabilities import resolve_capability
from yishi.services.complaints import ComplaintError
from yishi.services.procedures import StartRequest
from yishi.services.topic_intake import give_feedback, support_topic
from yishi.services.topic_links import feedback_with_link
from yishi.services.topic_routes import route_to_ladder, route_to_procedure
from yishi.services.topics import (
    TopicRefusedError,
    complete_milestone,
    decline,
    list_topics,
    merge,
    record_decision,
    resolve,
    schedule_topic,
    take,
    topic_state,
    waiting_for,
)

STREET = Actor(kind="street_office", name="街道王科长", account="wang", community="")


async def now_utc(env) -> object:
    return (await env.get_current_time()).astimezone(UTC)


async def test_take_within_the_deadline(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings)
        state = await topic_until(handle, lambda t: t.take_up is not None, "assigned")
        assert (state.take_up.level_key, state.take_up.org) == ("community", "committee:xfl")
        await advance_to(env, state.take_up.due_at - timedelta(hours=1), past=timedelta(0))
        receipt = await take(env.client, topic_id, by=CLERK, note="列入本周五议事会")
        assert receipt.status == "taken"
        await advance_to(env, state.take_up.due_at, past=timedelta(days=1))
        state = await topic_until(handle, lambda t: t.status == "taken", "taken")
        types = await stream_types(store, topic_id)
        assert "TakeUpDeadlineMissed" not in types and types.count("TopicTaken") == 1
        (row,) = [r for r in await list_topics(pool, "xfl") if r["topic_id"] == topic_id]
        assert (row["status"], row["overdue"], row["take_up_org"]) == ("taken", False, None)
        await handle.terminate("test done")


@pytest.mark.weekdays
async def test_missed_take_up_deadline_escalates_to_the_street(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings)
        first = (await topic_until(handle, lambda t: t.take_up is not None, "assigned")).take_up
        day = first.due_at.astimezone(BEIJING)
        assert (day.hour, day.minute) == (0, 0), "a period in working days ends at 24:00 Beijing time"
        await advance_to(env, first.due_at)
        state = await topic_until(handle, lambda t: t.take_up.level_key == "street", "the street office's turn")
        assert state.take_up_missed == ("community",) and state.take_up.reason == "escalated"
        (row,) = [r for r in await list_topics(pool, "xfl") if r["topic_id"] == topic_id]
        assert (row["overdue"], row["take_up_org"]) == (True, "street"), "visible as overdue, and with whom"
        assert topic_id in [r["topic_id"] for r in await waiting_for(pool, "street")], "in the street's list"
        assert topic_id not in [r["topic_id"] for r in await waiting_for(pool, "committee:xfl")]
        with pytest.raises(TopicRefusedError):
            await take(env.client, topic_id, by=Actor(kind="grid_worker", name="网格员小张", community="xfl"))
        await advance_to(env, state.take_up.due_at)
        state = await topic_until(handle, lambda t: t.take_up_missed == ("community", "street"), "the top level")
        assert state.take_up.level_key == "street", "nowhere above: it stays with the street office, overdue"
        receipt = await take(env.client, topic_id, by=STREET)
        assert receipt.status == "taken"
        taken = next(e for e in await store.read(topic_id) if e.type == "TopicTaken")
        assert taken.payload["late"] is True
        await handle.terminate("test done")


async def test_decline_with_a_reason_the_proposer_sees(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, result = await raised(env, pool, settings)
        with pytest.raises(TopicRefusedError) as refused:
            await decline(env.client, topic_id, by=CLERK, reason="")
        assert "提出人会看到" in zh(refused.value)
        await decline(env.client, topic_id, by=CLERK, reason="属于业主之间的民事纠纷，建议申请人民调解")
        outcome = await handle.result()
    assert (outcome.status, outcome.outcome) == ("declined", "属于业主之间的民事纠纷，建议申请人民调解")
    holder = await resolve_capability(pool, result.tracking.token)
    assert (holder.kind, holder.subject) == ("tracking", topic_id)
    seen = await topic_state(pool, holder.subject)
    assert seen.declined_reason == "属于业主之间的民事纠纷，建议申请人民调解", "what the tracking page shows"


async def test_merge_carries_supporters(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    key = settings.secret_key.get_secret_value()
    async with running_worker(env, store, pool, task_queue):
        target, target_handle, _ = await raised(env, pool, settings)
        dup, dup_handle, _ = await raised(env, pool, settings, title="三号楼电梯又坏了", phone="13812345678")
        now = await now_utc(env)
        await support_topic(pool, dup, supporter="owner:O311", kind="owner", secret_key=key, now=now)
        await support_topic(pool, target, supporter="owner:O311", kind="owner", secret_key=key, now=now)
        await support_topic(pool, dup, supporter="owner:O412", kind="owner", secret_key=key, now=now)
        await merge(env.client, pool, dup, target, by=CLERK, note="同一问题")
        await merge(env.client, pool, dup, target, by=CLERK, note="同一问题")  # run again: nothing more
        assert (await dup_handle.result()).outcome == target
        state = await topic_state(pool, target)
        proposer = (await topic_state(pool, dup)).proposer_id
        assert proposer.startswith("phone:") and state.supporters == ("owner:O311", proposer, "owner:O412")
        assert state.supporter_count == 3 and state.merged_from == (dup,)
        landed, _ = await support_topic(pool, dup, supporter="owner:O513", kind="owner", secret_key=key, now=now)
        assert landed == target, "support through the duplicate lands on the topic it was merged into"
        assert (await topic_state(pool, target)).supporter_count == 4
        await target_handle.terminate("test done")


async def test_route_to_the_ladder_opens_a_ticket_whose_closing_resolves_the_topic(
        ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings, title="餐馆油烟渗入楼道")
        await take(env.client, topic_id, by=CLERK)
        with pytest.raises(ComplaintError) as refused:  # every problem of the ticket's request, as a complaint's
            await route_to_ladder(env.client, pool, topic_id, category="cooking", by=CLERK)
        assert "事项类别" in zh(refused.value)
        ticket_id, receipt = await route_to_ladder(env.client, pool, topic_id, category="urban_management",
                                                   start_level="street", by=CLERK, note="社区协调无果")
        assert ticket_id == f"{topic_id}/esc-1" and receipt.status == "routed"
        street = {"role": "street_office", "actor": "王科长", "org": "street"}
        await ticket_until(env.client.get_workflow_handle(ticket_id), lambda t: t.current is not None,
                           "the ticket's first level")
        opened = next(e for e in await store.read(ticket_id) if e.type == "EscalationOpened")
        assert (opened.payload["parent_id"], opened.payload["subject"]) == (topic_id, "餐馆油烟渗入楼道")
        await escalations.act(env.client, ticket_id, "resolve", TicketAction(**street, outcome="resolved",
                                                                             text="已责令餐馆加装净化器"))
        await escalations.act(env.client, ticket_id, "follow_up", TicketAction(
            role="committee", actor="李书记", org="committee:xfl", outcome="satisfied"))
        state = await topic_until(handle, lambda t: t.status == "resolved", "resolved by the ticket")
        assert state.resolution == "已责令餐馆加装净化器" and state.feedback_round == 1
        assert [t for t in await stream_types(store, topic_id) if t.startswith("Topic") or t == "FeedbackRequested"
                ][-3:] == ["TopicRouted", "TopicResolved", "FeedbackRequested"]
        await give_feedback(env.client, pool, topic_id, respondent=state.proposer.id, answer="satisfied",
                            now=await now_utc(env))
        assert (await handle.result()).status == "closed", "the only respondent answered: closed"
        await save_history(handle, "topic_routed_deadlines_recorded")


async def test_consensus_milestone_missed_is_flagged_then_done_resolves(
        ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings)
        await take(env.client, topic_id, by=CLERK)
        await schedule_topic(env.client, topic_id, meeting_id="meeting-dddddddddddd", item_id="1", by=CLERK)
        today = (await env.get_current_time()).astimezone(BEIJING).date()
        await record_decision(env.client, topic_id, TopicDecision(
            meeting_id="meeting-dddddddddddd", item_id="1", kind="consensus", summary="物业更换电梯主板",
            owner="物业公司", milestones=(Milestone(name="采购主板", due=today + timedelta(days=2)),
                                        Milestone(name="更换并验收", due=today + timedelta(days=10)))), by=CLERK)
        state = await topic_until(handle, lambda t: t.status == "following_up", "following up")
        first_due = state.follow_ups[0].due_at[0]
        await advance_to(env, first_due - timedelta(minutes=1), past=timedelta(0))
        assert not (await topic_until(handle, lambda t: True, "state")).follow_ups[0].missed[0], "not before"
        await advance_to(env, first_due)
        state = await topic_until(handle, lambda t: t.follow_ups[0].missed[0], "the first milestone flagged")
        assert state.follow_ups[0].missed == (True, False)
        (row,) = [r for r in await list_topics(pool, "xfl") if r["topic_id"] == topic_id]
        assert row["overdue"] is True
        await complete_milestone(env.client, topic_id, by=CLERK, follow_up_id="meeting-dddddddddddd:1", index=0,
                                 note="主板已到货")
        receipt = await complete_milestone(env.client, topic_id, by=CLERK, follow_up_id="meeting-dddddddddddd:1",
                                           index=1)
        assert receipt.status == "resolved"
        done = [e.payload for e in await store.read(topic_id) if e.type == "MilestoneDone"]
        assert [d["late"] for d in done] == [True, False]
        await handle.terminate("test done")


async def test_not_satisfied_reopens_once_then_closes(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    key = settings.secret_key.get_secret_value()
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, result = await raised(env, pool, settings)
        proposer = (await resolve_capability(pool, result.tracking.token)).holder
        await support_topic(pool, topic_id, supporter="owner:O311", kind="owner", secret_key=key,
                            now=await now_utc(env))
        await take(env.client, topic_id, by=CLERK)
        await resolve(env.client, topic_id, by=CLERK, resolution="已联系维保单位检修")
        await topic_until(handle, lambda t: t.feedback_round == 1, "feedback asked")
        with pytest.raises(TopicRefusedError) as refused:
            await give_feedback(env.client, pool, topic_id, respondent="owner:O999", answer="satisfied",
                                now=await now_utc(env))
        assert "评价名单" in zh(refused.value) and "not asked" in en(refused.value)
        await feedback_with_link(env.client, pool, result.tracking.token, answer="not_satisfied",
                                 comment="第二天又停了", now=await now_utc(env))
        state = await topic_until(handle, lambda t: t.status == "taken", "reopened")
        assert state.reopens == 1 and state.take_up is not None
        await resolve(env.client, topic_id, by=CLERK, resolution="更换了控制柜")
        state = await topic_until(handle, lambda t: t.feedback_round == 2, "feedback asked again")
        await give_feedback(env.client, pool, topic_id, respondent=proposer, answer="not_satisfied",
                            now=await now_utc(env))
        assert (await topic_state(pool, topic_id)).status == "resolved", "not reopened a second time"
        await advance_to(env, state.feedback_due)
        outcome = await handle.result()
    assert outcome.status == "closed"
    closed = next(e for e in await store.read(topic_id) if e.type == "TopicClosed")
    assert closed.payload["note"] == "satisfied=0; basically_satisfied=0; not_satisfied=1; asked=2"
    assert (await stream_types(store, topic_id)).count("TopicReopened") == 1


async def test_route_to_a_procedure_follows_it_to_its_close(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings, title="小区议事规则修订")
        await take(env.client, topic_id, by=CLERK)
        request = StartRequest(procedure="consultation", title="议事规则修订", scope=Scope(), community="other",
                               options={"issue": "修订议事规则"})
        deliberation_id, receipt = await route_to_procedure(env.client, pool, topic_id, estate_roll(floors=2),
                                                            request, by=CLERK, task_queue=task_queue)
        assert receipt.status == "routed"
        async with pool.acquire() as conn:
            community = await conn.fetchval("SELECT community FROM deliberations WHERE id = $1", deliberation_id)
        assert community == "xfl", "the procedure belongs to the topic's community"
        procedure = env.client.get_workflow_handle(deliberation_id)
        await complete(procedure, "acceptance", "committee", "declined", note="须先召开业主大会")
        state = await topic_until(handle, lambda t: t.status == "resolved", "resolved by the procedure's close")
        assert state.resolution == "declined: 须先召开业主大会"
        routed = next(e.payload for e in await store.read(topic_id) if e.type == "TopicRouted")
        assert (routed["target"], routed["deliberation_id"]) == ("procedure", deliberation_id)
        await handle.terminate("test done")
