"""Ballot-box activities: the workflow's only way to touch the deliberation's stream.

Every activity is idempotent (a retry, or a worker killed after the commit but before Temporal heard of
it, runs it again): each folds the stream and decides with the domain code, and its append carries a
fixed idempotency key, so a second run finds its own events instead of writing new ones.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from domain.commands import OpenBox, SealBox
from domain.decider import BoxState, decide, fold
from domain.events import EVENT_TYPES, Event, Question, event_from_dict, event_from_json
from domain.roll import Roll, RoomEntry, Scope
from domain.tally_result import TallyResult

log = structlog.get_logger(__name__)


class StreamRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str


class Checkpoint(BaseModel):
    """The stream head as the workflow saw it; kept in the Temporal history as a witness."""

    model_config = ConfigDict(frozen=True)
    seq: int
    hash: str


class OpenBoxInput(BaseModel):
    """What the workflow knows; the frozen roll itself is loaded by digest (payloads stay small)."""

    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    roll_digest: str
    scope: Scope
    rule_id: str
    questions: tuple[Question, ...]
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    ballots_changeable: bool = True
    proxy_limit: int = 3
    deem_silent: bool = False
    deem_over_half: bool = False
    paper_entry_until: AwareDatetime | None = None
    """Paper ballots are entered until then and the box seals then; None (inputs recorded before the window
    existed): at ``closes_at``."""
    closes_fallback_years: tuple[int, ...] = ()
    """The years ``closes_at`` was counted on weekends only (recorded on ``BoxOpened``, shown on the ballot)."""


class SealInput(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    at: AwareDatetime
    reason: str = "deadline"


class SealOutcome(BaseModel):
    """The final head (published in the result notice) and the tally of every question.

    ``outcome``/``approved``: the main question by the ballots cast; ``effective_outcome``/``effective_approved``:
    by the tally that decides under the rules (the deemed one when silent-owner deeming applied; None in outcomes
    recorded before they existed). Each question's full result, both tallies included, is in ``results``."""

    model_config = ConfigDict(frozen=True)
    head: Checkpoint
    results: dict[str, dict[str, Any]]
    outcome: str
    approved: bool
    effective_outcome: str | None = None
    effective_approved: bool | None = None

    def decided(self) -> dict[str, TallyResult]:
        """Each question's deciding tally (:meth:`domain.tally_result.TallyResult.decided`)."""
        return {q: TallyResult.model_validate(r).decided() for q, r in self.results.items()}

    def main(self) -> TallyResult:
        """The main question's deciding tally (the box's first question when it has no ``main``)."""
        decided = self.decided()
        return decided.get("main") or next(iter(decided.values()))


def decode(events: list[StoredEvent]) -> list[Event]:
    """The ballot-box events of a stream (other stage events are skipped)."""
    return [event_from_dict(e.type, e.payload) for e in events if e.type in EVENT_TYPES]


async def load_box(store: EventStore, deliberation_id: str) -> tuple[BoxState, int]:
    """Fold the deliberation's stream; return the state and the seq it reflects.

    The stream is read in batches of ``(seq, type, payload)`` and folded as it comes: no stored-event
    model per row and never the whole stream in memory (a box of 100,000 owners has 100,000 ballots).
    """
    state, seq = BoxState(), 0
    with gc_paused():
        async for rows in store.batches(deliberation_id):
            state = fold((event_from_json(k, text) for _, k, text in rows if k in EVENT_TYPES), state)
            seq = rows[-1][0]
    return state, seq


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection inside: a fold allocates a few objects per ballot, none of
    them cyclic, and with 100,000 ballots the collector's passes over the growing heap cost about a third of
    the fold. Collection resumes (if it was on) when the block ends; nested and interleaved uses are safe
    (only the outermost that found it on turns it back on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _expect_head(seq: int):  # noqa: ANN202 - a store guard
    def guard(state: StreamState) -> None:
        if state.head_seq != seq:
            # A ballot landed between our fold and the lock: retry with a fresh fold.
            raise ApplicationError(f"stream moved from seq {seq} to {state.head_seq}; refolding", type="StreamMoved")

    return guard


def _to_new(events: list[Event], at: datetime) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=at) for e in events]


class BoxActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    async def _roll(self, digest: str) -> Roll:
        async with self._pool.acquire() as conn:
            entries = await conn.fetchval("SELECT entries FROM rolls WHERE digest = $1", digest)
        if entries is None:
            raise ApplicationError(f"roll {digest} is not stored", non_retryable=True)
        return Roll.from_entries([RoomEntry(**e) for e in entries])

    @activity.defn(name="open_box")
    async def open_box(self, params: OpenBoxInput) -> Checkpoint:
        state, seq = await load_box(self._store, params.deliberation_id)
        if state.status != "new":
            head_seq, head_hash = await self._store.head(params.deliberation_id)
            return Checkpoint(seq=head_seq, hash=head_hash)
        command = OpenBox(roll=await self._roll(params.roll_digest), **params.model_dump(exclude={"roll_digest"}))
        events = decide(state, command)
        stored = await self._store.append(
            params.deliberation_id, _to_new(events, params.opens_at), idempotency_key="box:open",
            guard=_expect_head(seq), updates={"accepting_until": params.paper_entry_until or params.closes_at},
        )
        log.info("box.opened", deliberation_id=params.deliberation_id, seq=stored[-1].seq)
        return Checkpoint(seq=stored[-1].seq, hash=stored[-1].hash)

    @activity.defn(name="record_checkpoint")
    async def record_checkpoint(self, ref: StreamRef) -> Checkpoint:
        """Read the stream head; the result lands in the workflow's history."""
        seq, digest = await self._store.head(ref.deliberation_id)
        return Checkpoint(seq=seq, hash=digest)

    @activity.defn(name="seal_box")
    async def seal_box(self, params: SealInput) -> SealOutcome:
        """Seal and record the result in one append, under the lock that refuses later ballots."""
        state, seq = await load_box(self._store, params.deliberation_id)
        if state.status == "new":
            raise ApplicationError("the ballot box was never opened", non_retryable=True)
        head: StoredEvent | None = None
        if state.status == "open":
            events = decide(state, SealBox(at=params.at, reason=params.reason))
            stored = await self._store.append(
                params.deliberation_id, _to_new(events, params.at), idempotency_key="box:seal",
                guard=_expect_head(seq), updates={"sealed_at": params.at},
            )
            if [e.type for e in stored] == [e.type for e in events] and stored[0].seq == seq + 1:
                # Our own append, right after the head we folded: fold just these two events on.
                state, head = fold(events, state), stored[-1]
            else:  # an earlier attempt's seal came back (idempotency key): fold the stream as it stands
                state, seq = await load_box(self._store, params.deliberation_id)
        assert state.recorded is not None
        if head is None:
            head = (await self._store.read_types(params.deliberation_id, ["ResultRecorded"]))[-1]
        results = {qid: r.to_json() for qid, r in state.recorded.results.items()}
        main = state.recorded.results.get("main") or next(iter(state.recorded.results.values()))
        return SealOutcome(head=Checkpoint(seq=head.seq, hash=head.hash), results=results,
                           outcome=main.outcome, approved=main.approved, effective_outcome=main.effective_outcome,
                           effective_approved=main.decided().approved)

    @activity.defn(name="list_non_voters")
    async def list_non_voters(self, ref: StreamRef) -> list[str]:
        state, _ = await load_box(self._store, ref.deliberation_id)
        if state.status == "new":
            return []
        # Owners with a question left to vote on (a box may ask several: dismiss, then each candidate).
        tallies = [state.tally(q.id) for q in state.opened.questions]
        return sorted(o for o in state.electorate.owner_areas if any(t.counted_choice(o) is None for t in tallies))
