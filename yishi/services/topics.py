"""Topics for the console, the CLI and the meetings: the committee's actions and the contract with meetings.

Staff actions go to the topic's workflow as updates (validated there, decided again on the stream); what the lists
read is the ``topics`` projection, rebuilt from the topic streams on every append (:func:`rebuild_topics` redoes it
from scratch). Residents' acts (raise, support, comment, feedback) are in :mod:`yishi.services.topic_intake`.

The contract with meetings (yishi/services/meetings.py calls these and never appends to a topic stream):
:func:`schedule_topic`, :func:`record_decision` and :func:`topic_summary`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore
from activities.topics import load_topic, project_topic
from domain.errors import N_, DomainError
from domain.topic_events import Actor, TopicDecision, TopicSummary
from domain.topic_state import Topic
from domain.topics import TopicError, summary
from workflows.topic_inputs import (
    AbsorbInput,
    ActorNote,
    DecisionInput,
    MergeInput,
    MilestoneInput,
    ScheduleInput,
    TopicReceipt,
)
from yishi.i18n.errors import refusal
from yishi.services.figures import topic_figures

__all__ = ["Actor", "TopicDecision", "TopicSummary", "TopicRefusedError", "schedule_topic", "record_decision",
           "topic_summary", "take", "decline", "merge", "resolve", "complete_milestone", "topic_state",
           "list_topics", "waiting_for", "topic_figures", "rebuild_topics"]


class TopicRefusedError(DomainError):
    """The topic's workflow (or the domain) refused the action; its text says why and what to do (shown in the
    reader's language: ``translator(lang).error(exc)``)."""


async def update(client: Client, topic_id: str, name: str, arg: BaseModel,
                 update_id: str | None = None) -> TopicReceipt:
    """Run one update on the topic's workflow; a refusal raises :class:`TopicRefusedError` with its text."""
    handle = client.get_workflow_handle(topic_id)
    try:
        return await handle.execute_update(name, arg, id=update_id, result_type=TopicReceipt)
    except WorkflowUpdateFailedError as exc:
        raise TopicRefusedError(refusal(exc.cause or exc)) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise TopicRefusedError(N_("topic %(topic)s does not exist or has ended"), topic=topic_id) from None


# ---- the contract with meetings --------------------------------------------------------------------------


async def schedule_topic(client: Client, topic_id: str, *, meeting_id: str, item_id: str, by: Actor) -> None:
    """The topic is on a meeting's agenda (``TopicScheduled``); refused unless the topic is taken. Idempotent."""
    await update(client, topic_id, "schedule", ScheduleInput(by=by, meeting_id=meeting_id, item_id=item_id),
                 update_id=f"schedule:{meeting_id}:{item_id}")


async def record_decision(client: Client, topic_id: str, decision: TopicDecision, *, by: Actor) -> None:
    """A meeting's decision on the topic (``TopicDecided``): consensus with an owner and a deadline opens a
    follow-up with milestone timers; ``vote`` waits for that deliberation's result; ``escalated`` follows the ticket;
    ``deferred`` puts it back to "taken" for the next agenda. Idempotent for the same decision."""
    # The update id names the decision's content: the same decision sent twice runs once; a corrected one is
    # decided on its own (and refused by the domain if the topic has moved on).
    content = hashlib.sha256(decision.model_dump_json().encode()).hexdigest()[:16]
    await update(client, topic_id, "decide", DecisionInput(by=by, decision=decision),
                 update_id=f"decide:{decision.meeting_id}:{decision.item_id}:{content}")


async def topic_summary(pool: asyncpg.Pool, topic_id: str) -> TopicSummary:
    """An agenda's view of the topic (no proposer name, phone or room), from its stream."""
    topic, _, _ = await load_topic(EventStore(pool), topic_id)
    if not topic.topic_id:
        raise TopicError(N_("no topic %(topic)s; check the topic id"), topic=topic_id)
    return summary(topic)


# ---- the committee's actions -----------------------------------------------------------------------------


async def take(client: Client, topic_id: str, *, by: Actor, note: str = "") -> TopicReceipt:
    return await update(client, topic_id, "take", ActorNote(by=by, text=note))


async def decline(client: Client, topic_id: str, *, by: Actor, reason: str) -> TopicReceipt:
    return await update(client, topic_id, "decline", ActorNote(by=by, text=reason))


async def resolve(client: Client, topic_id: str, *, by: Actor, resolution: str) -> TopicReceipt:
    return await update(client, topic_id, "resolve", ActorNote(by=by, text=resolution))


async def complete_milestone(client: Client, topic_id: str, *, by: Actor, follow_up_id: str, index: int,
                             note: str = "") -> TopicReceipt:
    return await update(client, topic_id, "complete_milestone",
                        MilestoneInput(by=by, follow_up_id=follow_up_id, index=index, note=note))


async def merge(client: Client, pool: asyncpg.Pool, source: str, into: str, *, by: Actor,
                note: str = "") -> TopicReceipt:
    """Merge the duplicate ``source`` into ``into``: its proposer and supporters support ``into`` from now on.

    Both steps are idempotent, so a merge interrupted between them is finished by running it again."""
    store = EventStore(pool)
    target, _, _ = await load_topic(store, into)
    dup, _, _ = await load_topic(store, source)
    if not target.topic_id or not dup.topic_id:
        missing = into if not target.topic_id else source
        raise TopicRefusedError(N_("no topic %(topic)s; check the topic id"), topic=missing)
    if target.community != dup.community:
        raise TopicRefusedError(N_("the topics belong to different communities (%(one)s, %(other)s): they cannot be "
                                   "merged"), one=dup.community, other=target.community)
    if target.finished or target.status == "resolved":
        raise TopicRefusedError(N_("topic %(topic)s has ended; merge into a topic still open"), topic=into)
    await update(client, source, "merge", MergeInput(by=by, into=into, note=note), update_id=f"merge:{into}")
    carried, _, _ = await load_topic(store, source)
    supporters = tuple(dict.fromkeys(x for x in (dup.proposer_id, *carried.supporters) if x))
    return await update(client, into, "absorb", AbsorbInput(by=by, from_topic=source, supporters=supporters),
                        update_id=f"absorb:{source}")


# ---- reading ---------------------------------------------------------------------------------------------


async def topic_state(pool: asyncpg.Pool, topic_id: str) -> Topic:
    """The whole topic folded from its stream (supporters and comments included: for staff, not public)."""
    topic, _, _ = await load_topic(EventStore(pool), topic_id)
    if not topic.topic_id:
        raise TopicError(N_("no topic %(topic)s; check the topic id"), topic=topic_id)
    return topic


async def list_topics(pool: asyncpg.Pool, community: str | None = None, status: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
    """Topics from the read model, newest first; a community's or all, one status or all."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic_id, community, building, title, status, source, raiser_kind, supporters, comments,"
            " take_up_org, take_up_due, overdue, merged_into, raised_at, updated_at FROM topics"
            " WHERE ($1::text IS NULL OR community = $1) AND ($2::text IS NULL OR status = $2)"
            " ORDER BY raised_at DESC LIMIT $3", community, status, limit)
    return [dict(r) for r in rows]


async def waiting_for(pool: asyncpg.Pool, org: str) -> list[dict[str, Any]]:
    """Topics an organisation must take up (the committee's, or the street office's after a missed deadline),
    earliest deadline first, the overdue ones marked."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic_id, community, building, title, status, supporters, take_up_org, take_up_due, overdue,"
            " raised_at FROM topics WHERE take_up_org = $1 ORDER BY take_up_due, raised_at", org)
    return [dict(r) for r in rows]


async def rebuild_topics(pool: asyncpg.Pool) -> int:
    """Rebuild every topic's row from its stream (after a restore, or a change to the projection)."""
    store = EventStore(pool)
    async with pool.acquire() as conn:
        ids = [r["stream_id"] for r in await conn.fetch(
            "SELECT stream_id FROM events WHERE seq = 1 AND type = 'TopicRaised' ORDER BY stream_id")]
        await conn.execute("DELETE FROM topics")
    for topic_id in ids:
        await project_topic(store, pool, topic_id)
    return len(ids)
