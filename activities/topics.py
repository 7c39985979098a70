"""Topic activities: decide and append a command on a topic's stream (with the projection the lists read), read
a topic, the community's take-up levels, and how a deliberation the topic waits for came out.

Every append carries an idempotency key chosen by the caller (the workflow: one per step), so a retried
activity finds its own events. The command is decided on the stream as read and appended only if the head is
still the one read (else read again): residents' supports, comments and feedback are appended by the web tier
beside the workflow, and the domain's checks hold on the stream as it is, not as the workflow last saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from domain.escalation import Ladder, default_ladder
from domain.topic_commands import TakeUpLevel, TopicCommand, TopicError
from domain.topic_events import TOPIC_EVENT_TYPES, TopicEvent, topic_event_from_dict
from domain.topics import Topic, decide, evolve, fold

log = structlog.get_logger(__name__)
HEAD_ATTEMPTS = 20
OUTCOME_TYPES = ("VoteCounted", "ResultRecorded", "ProcedureClosed")


class TopicAppend(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic_id: str
    key: str
    command: TopicCommand


class TopicApplied(BaseModel):
    """The topic after the command (slim: no supporters or comments) and where the stream's head stands."""

    topic: Topic
    seq: int
    hash: str
    types: tuple[str, ...] = ()


class TopicQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic_id: str


class CommunityQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    community: str


class OutcomeQuery(BaseModel):
    """``until``: ``count`` for a vote (its first count, or the procedure's close), ``close`` for a procedure."""

    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    until: Literal["count", "close"] = "close"


class DeliberationOutcome(BaseModel):
    deliberation_id: str
    status: str
    outcome: str
    note: str = ""
    approved: bool | None = None


class StillRunningError(ApplicationError):
    """Not ended yet: retried until it has (benign: logged at DEBUG, not as a warning with a traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="StillRunning", category=ApplicationErrorCategory.BENIGN)


def to_new(events: Sequence[TopicEvent]) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at) for e in events]


def topic_events(stored: Sequence[StoredEvent]) -> list[TopicEvent]:
    return [topic_event_from_dict(e.type, e.payload) for e in stored if e.type in TOPIC_EVENT_TYPES]


async def load_topic(store: EventStore, topic_id: str) -> tuple[Topic, int, str]:
    """The folded topic and the stream's head ``(seq, hash)`` (an empty topic when there is no stream)."""
    stored = await store.read(topic_id)
    head = (stored[-1].seq, stored[-1].hash) if stored else (0, "0" * 64)
    return fold(topic_events(stored)), head[0], head[1]


class _HeadMoved(Exception):
    """The stream grew between reading it and taking its lock: read it again."""


async def apply_command(store: EventStore, topic_id: str, command: TopicCommand,
                        key: str | None) -> tuple[Topic, list[StoredEvent]]:
    """Decide ``command`` on the stream as it is and append the events (none when it changes nothing).

    Raises :class:`TopicError` when the domain refuses it. An append whose key is in the stream already returns
    the first one's events (a retry after a lost answer) and decides nothing again."""
    for _ in range(HEAD_ATTEMPTS):
        stored = await store.read(topic_id)
        if key is not None and (mine := [e for e in stored if e.idempotency_key == key]):
            return fold(topic_events(stored)), mine
        topic = fold(topic_events(stored))
        events = decide(topic, command)
        if not events:
            return topic, []
        seen = stored[-1].seq if stored else 0

        def guard(state: StreamState, seen: int = seen) -> None:
            if state.head_seq != seen:
                raise _HeadMoved

        try:
            written = await store.append(topic_id, to_new(events), idempotency_key=key, guard=guard)
        except _HeadMoved:
            continue
        for event in events:
            topic = evolve(topic, event)
        return topic, written
    raise RuntimeError(f"topic {topic_id}: the stream kept growing while appending; try again")


async def project_topic(store: EventStore, pool: asyncpg.Pool, topic_id: str) -> Topic | None:
    """Rebuild the topic's row of the ``topics`` read model from its stream (only ever forward)."""
    topic, seq, _ = await load_topic(store, topic_id)
    if not topic.topic_id:
        return None
    waiting = topic.status == "raised" and topic.take_up is not None
    overdue = bool(topic.take_up_missed) or any(any(f.missed[i] and not f.done[i] for i in range(len(f.done)))
                                                for f in topic.follow_ups)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO topics (topic_id, community, building, title, description, status, source, raiser_kind,"
            " supporters, comments, take_up_org, take_up_due, overdue, merged_into, raised_at, updated_at, last_seq,"
            " state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)"
            " ON CONFLICT (topic_id) DO UPDATE SET status = EXCLUDED.status, supporters = EXCLUDED.supporters,"
            " comments = EXCLUDED.comments, take_up_org = EXCLUDED.take_up_org, take_up_due = EXCLUDED.take_up_due,"
            " overdue = EXCLUDED.overdue, merged_into = EXCLUDED.merged_into, updated_at = EXCLUDED.updated_at,"
            " last_seq = EXCLUDED.last_seq, state = EXCLUDED.state WHERE topics.last_seq < EXCLUDED.last_seq",
            topic.topic_id, topic.community, topic.building, topic.title, topic.description, topic.status,
            topic.source, topic.proposer.kind if topic.proposer else "", topic.supporter_count,
            sum(1 for c in topic.comments if c.hidden_reason is None),
            topic.take_up.org if waiting and topic.take_up else None,
            topic.take_up.due_at if waiting and topic.take_up else None, overdue, topic.merged_into,
            topic.raised_at, topic.updated_at, seq, topic.slim().model_dump(mode="json"))
    return topic


def take_up_levels(ladder: Ladder) -> tuple[TakeUpLevel, ...]:
    """The ladder's levels from the committee's upwards, without the district departments (a topic has no
    category): by default the community party committee, then the street office."""
    levels = [lv for lv in ladder.levels if lv.key != "department"]
    start = next((i for i, lv in enumerate(levels) if lv.key == "community"),
                 next((i for i, lv in enumerate(levels) if "committee" in lv.roles), 0))
    return tuple(TakeUpLevel(key=lv.key, org=lv.org, roles=lv.roles, name_zh=lv.name_zh, name_en=lv.name_en)
                 for lv in levels[start:])


def outcome_of(deliberation_id: str, stored: Sequence[StoredEvent],
               until: str = "close") -> DeliberationOutcome | None:
    """How a deliberation came out, from its stream: the procedure's close, or (``until="count"``) the first vote
    counted before it (a procedure's ``VoteCounted``, a plain box's ``ResultRecorded``); None while not there."""
    for e in stored:
        p = e.payload
        if until == "close" and e.type != "ProcedureClosed":
            continue
        if e.type == "VoteCounted":
            outcomes = "; ".join(f"{q}: {o}" for q, o in sorted(p.get("outcomes", {}).items()))
            return DeliberationOutcome(deliberation_id=deliberation_id, status="counted", outcome=outcomes,
                                       approved=p.get("approved"))
        if e.type == "ResultRecorded":
            results = p.get("results", {})
            outcomes = "; ".join(f"{q}: {r.get('outcome')}" for q, r in sorted(results.items()))
            main = results.get("main") if len(results) == 1 else None
            return DeliberationOutcome(deliberation_id=deliberation_id, status="counted", outcome=outcomes,
                                       approved=main.get("approved") if main else None)
        if e.type == "ProcedureClosed":
            return DeliberationOutcome(deliberation_id=deliberation_id, status="closed", outcome=p.get("outcome", ""),
                                       note=p.get("note", ""))
    return None


class TopicActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    @activity.defn(name="apply_topic_command")
    async def apply_topic_command(self, params: TopicAppend) -> TopicApplied:
        try:
            topic, written = await apply_command(self._store, params.topic_id, params.command, params.key)
        except TopicError as exc:
            raise ApplicationError(str(exc), exc.text.wire(), type="TopicError", non_retryable=True) from None
        if written:
            await project_topic(self._store, self._pool, params.topic_id)
            log.info("topic.appended", topic_id=params.topic_id, key=params.key, seq=written[0].seq,
                     types=[e.type for e in written])
        seq, digest = await self._store.head(params.topic_id)
        return TopicApplied(topic=topic.slim(), seq=written[0].seq if written else seq,
                            hash=written[0].hash if written else digest, types=tuple(e.type for e in written))

    @activity.defn(name="read_topic")
    async def read_topic(self, query: TopicQuery) -> TopicApplied:
        topic, seq, digest = await load_topic(self._store, query.topic_id)
        return TopicApplied(topic=topic.slim(), seq=seq, hash=digest)

    @activity.defn(name="topic_take_up_levels")
    async def topic_take_up_levels(self, query: CommunityQuery) -> tuple[TakeUpLevel, ...]:
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval("SELECT ladder FROM escalation_ladders WHERE community = $1", query.community)
        return take_up_levels(Ladder.model_validate(raw) if raw else default_ladder(query.community))

    @activity.defn(name="deliberation_outcome")
    async def deliberation_outcome(self, query: OutcomeQuery) -> DeliberationOutcome:
        """How the deliberation came out; fails (and is retried) until it has (see :func:`outcome_of`)."""
        stored = await self._store.read_types(query.deliberation_id, OUTCOME_TYPES)
        found = outcome_of(query.deliberation_id, stored, query.until)
        if found is None:
            raise StillRunningError(f"deliberation {query.deliberation_id} has no result yet; waiting for it")
        return found
