"""Meeting activities: decide and append a command on a meeting's stream (with the read model), read a meeting,
append a series' events, register the ballot box a meeting opens, and read a box's count.

Every append carries an idempotency key chosen by the workflow (one per step), so a retried activity finds its own
events. A command is decided again on the stream as read and appended only if the head is still the one read (else
read again): invitation links are issued beside the workflow (``CapabilityIssued`` by the service), and the
domain's checks hold on the stream as it is, not as the workflow last saw it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from domain.capability_events import CAPABILITY_EVENT_TYPES, capability_event_from_dict
from domain.errors import N_
from domain.meeting_commands import MeetingCommand, MeetingError
from domain.meeting_events import MEETING_EVENT_TYPES, MeetingEvent, meeting_event_from_dict
from domain.meeting_series import SERIES_EVENT_TYPES, Series, SeriesEvent, series_event_from_dict
from domain.meeting_series import fold as fold_series
from domain.meeting_state import Meeting, evolve, fold
from domain.meetings import decide
from domain.roll import Scope
from domain.stage_events import NoticePublished
from yishi.i18n import bilingual

log = structlog.get_logger(__name__)
HEAD_ATTEMPTS = 20


class MeetingAppend(BaseModel):
    model_config = ConfigDict(frozen=True)
    meeting_id: str
    key: str
    command: MeetingCommand


class MeetingApplied(BaseModel):
    """The meeting after the command and where the stream's head stands."""

    meeting: Meeting
    seq: int
    hash: str
    types: tuple[str, ...] = ()


class MeetingQuery(BaseModel):
    model_config = ConfigDict(frozen=True)
    meeting_id: str


class SeriesAppend(BaseModel):
    model_config = ConfigDict(frozen=True)
    series_id: str
    key: str
    events: tuple[SeriesEvent, ...]


class VoteRegistration(BaseModel):
    """The listing row of a ballot box a meeting opens (the stream is the box's record)."""

    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    meeting_id: str
    community: str
    title: str
    question: str
    rule_id: str
    scope: Scope
    roll_digest: str
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    changeable: bool = True


def to_new(events: Sequence[BaseModel]) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at)  # type: ignore[attr-defined]
            for e in events]


def meeting_events(stored: Sequence[StoredEvent]) -> list[object]:
    """The events the fold reads: the meeting's, its invitation links', and its notices."""
    out: list[object] = []
    for e in stored:
        if e.type in MEETING_EVENT_TYPES:
            out.append(meeting_event_from_dict(e.type, e.payload))
        elif e.type in CAPABILITY_EVENT_TYPES:
            out.append(capability_event_from_dict(e.type, e.payload))
        elif e.type == "NoticePublished":
            out.append(NoticePublished(**e.payload))
    return out


async def load_meeting(store: EventStore, meeting_id: str) -> tuple[Meeting, int, str]:
    """The folded meeting and the stream's head ``(seq, hash)`` (an empty meeting when there is no stream)."""
    stored = await store.read(meeting_id)
    head = (stored[-1].seq, stored[-1].hash) if stored else (0, "0" * 64)
    return fold(meeting_events(stored)), head[0], head[1]


async def load_series(store: EventStore, series_id: str) -> Series:
    stored = await store.read(series_id)
    return fold_series([series_event_from_dict(e.type, e.payload) for e in stored if e.type in SERIES_EVENT_TYPES])


class _HeadMoved(Exception):
    """The stream grew between reading it and taking its lock: read it again."""


async def apply_command(store: EventStore, meeting_id: str, command: MeetingCommand,
                        key: str | None) -> tuple[Meeting, list[StoredEvent]]:
    """Decide ``command`` on the stream as it is and append the events (none when it changes nothing).

    Raises :class:`MeetingError` when the domain refuses it. An append whose key is in the stream already returns
    the first one's events (a retry after a lost answer) and decides nothing again."""
    for _ in range(HEAD_ATTEMPTS):
        stored = await store.read(meeting_id)
        meeting = fold(meeting_events(stored))
        if key is not None and (mine := [e for e in stored if e.idempotency_key == key]):
            return meeting, mine
        events: list[MeetingEvent] = decide(meeting, command)
        if not events:
            return meeting, []
        seen = stored[-1].seq if stored else 0

        def guard(state: StreamState, seen: int = seen) -> None:
            if state.head_seq != seen:
                raise _HeadMoved

        try:
            written = await store.append(meeting_id, to_new(events), idempotency_key=key, guard=guard)
        except _HeadMoved:
            continue
        for event in events:
            meeting = evolve(meeting, event)
        return meeting, written
    raise ApplicationError(f"meeting {meeting_id}: the stream kept moving; try again", type="HeadMoved")


async def project_meeting(pool: asyncpg.Pool, meeting: Meeting, seq: int) -> None:
    """The meeting's row of the ``meetings`` read model (only ever forward)."""
    if not meeting.meeting_id:
        return
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO meetings (meeting_id, community, series_id, deliberation_id, title, kind, starts_at, place,"
            " status, items, parties, attendees, minutes_version, confirm_until, last_seq, state)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) ON CONFLICT (meeting_id) DO UPDATE SET"
            " status = EXCLUDED.status, items = EXCLUDED.items, parties = EXCLUDED.parties,"
            " attendees = EXCLUDED.attendees, minutes_version = EXCLUDED.minutes_version,"
            " confirm_until = EXCLUDED.confirm_until, last_seq = EXCLUDED.last_seq, state = EXCLUDED.state"
            " WHERE meetings.last_seq < EXCLUDED.last_seq",
            meeting.meeting_id, meeting.community, meeting.series_id, meeting.deliberation_id, meeting.title,
            meeting.kind, meeting.starts_at, meeting.place, meeting.status, len(meeting.items), len(meeting.parties),
            len(meeting.attendees), meeting.minutes_version, meeting.confirm_until, seq,
            json.loads(meeting.model_dump_json()))


async def project_series(pool: asyncpg.Pool, series_id: str, series: Series, seq: int) -> None:
    if series.plan is None:
        return
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO meeting_series (series_id, community, title, plan, ended, last_seq) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (series_id) DO UPDATE SET ended = EXCLUDED.ended, last_seq = EXCLUDED.last_seq"
            " WHERE meeting_series.last_seq < EXCLUDED.last_seq",
            series_id, series.plan.community, series.plan.title, series.plan.model_dump(mode="json"), series.ended,
            seq)


class MeetingActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    @activity.defn(name="apply_meeting_command")
    async def apply_meeting_command(self, params: MeetingAppend) -> MeetingApplied:
        try:
            meeting, written = await apply_command(self._store, params.meeting_id, params.command, params.key)
        except MeetingError as exc:
            raise ApplicationError(str(exc), exc.text.wire(), type="MeetingError", non_retryable=True) from None
        seq, digest = await self._store.head(params.meeting_id)
        if written:
            await project_meeting(self._pool, meeting, seq)
            log.info("meeting.appended", meeting_id=params.meeting_id, key=params.key, seq=written[0].seq,
                     types=[e.type for e in written])
        return MeetingApplied(meeting=meeting, seq=written[0].seq if written else seq,
                              hash=written[0].hash if written else digest, types=tuple(e.type for e in written))

    @activity.defn(name="read_meeting")
    async def read_meeting(self, query: MeetingQuery) -> MeetingApplied:
        meeting, seq, digest = await load_meeting(self._store, query.meeting_id)
        return MeetingApplied(meeting=meeting, seq=seq, hash=digest)

    @activity.defn(name="append_series_events")
    async def append_series_events(self, params: SeriesAppend) -> int:
        """Append a series' events under the workflow's key; the stream's head seq after it."""
        await self._store.append(params.series_id, to_new(params.events), idempotency_key=params.key)
        series = await load_series(self._store, params.series_id)
        seq, _ = await self._store.head(params.series_id)
        await project_series(self._pool, params.series_id, series, seq)
        log.info("series.appended", series_id=params.series_id, key=params.key,
                 types=[e.type for e in params.events])
        return seq

    @activity.defn(name="register_meeting_vote")
    async def register_meeting_vote(self, r: VoteRegistration) -> None:
        """List the box a meeting opens among the deliberations (links, console, audit find it there)."""
        notice = bilingual(N_("Put to the vote by meeting %(meeting)s"), meeting=r.meeting_id)
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO deliberations (id, procedure, title, rule_id, scope, roll_digest, opens_at, closes_at,"
                " changeable, question_zh, question_en, notice_zh, notice_en, workflow_id, previous_id, community)"
                " VALUES ($1,'meeting_vote',$2,$3,$4,$5,$6,$7,$8,$9,$9,$10,$11,$1,NULL,$12)"
                " ON CONFLICT (id) DO NOTHING",
                r.deliberation_id, r.title, r.rule_id, json.loads(r.scope.model_dump_json()), r.roll_digest,
                r.opens_at, r.closes_at, r.changeable, r.question, *notice, r.community)
        log.info("meeting.vote_registered", meeting_id=r.meeting_id, deliberation_id=r.deliberation_id)

