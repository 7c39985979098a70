"""Casting ballots and proxies onto a deliberation's event stream.

The domain decider decides whether a ballot is acceptable; this module folds the stream, asks the decider,
and appends what it returns with the store's group commit. The box-closed check is made twice: by the
decider on the folded state, and by a guard that runs under the stream's row lock at commit time (the
lock that orders the stream), so a ballot racing the seal is refused and nothing is recorded.

Receipt codes: ``{seq}-{HHHHH}-{HHHHH}`` where the ten ``H`` are the first ten hex digits of the stored
event's chain hash, upper case (e.g. ``42-3FA9C-07B1E``). The seq says where the ballot stands in the
stream; 40 bits of hash make a forged or mistyped code practically never match another ballot.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState
from domain.commands import AuthoriseProxy, CastBallot, Command, RevokeProxy
from domain.decider import BoxState, decide, evolve
from domain.errors import BoxClosedError, IdempotencyConflictError
from domain.events import EVENT_TYPES, BallotCast, BoxOpened, Event, event_from_dict
from domain.roll import RoomEntry

log = structlog.get_logger(__name__)

CODE_RE = re.compile(r"^\s*(\d{1,9})\s*-\s*([0-9A-F]{5})\s*-?\s*([0-9A-F]{5})\s*$", re.IGNORECASE)


class VotingClosedError(BoxClosedError):
    """The box is sealed or past its deadline; ``closed_at`` says since when. Nothing was recorded."""

    def __init__(self, closed_at: datetime) -> None:
        self.closed_at = closed_at
        super().__init__("投票已截止，本次未记录任何内容", "voting has closed; nothing was recorded")


class NoSuchBoxError(LookupError):
    """The deliberation has no open or sealed ballot box (its stream has no ``BoxOpened``)."""


class FormAlreadyUsedError(Exception):
    """This form (its nonce) already cast a different ballot; load the page again to vote anew."""

    def __init__(self, receipt: Receipt) -> None:
        self.receipt = receipt
        super().__init__("form already used")


@dataclass(frozen=True)
class Receipt:
    """A committed ballot as the voter sees it; built only from the stored event."""

    deliberation_id: str
    seq: int
    hash: str
    owner_id: str
    choice: str
    channel: str
    cast_by: str | None
    cast_at: datetime
    recorded_at: datetime
    question_id: str = "main"

    @property
    def code(self) -> str:
        return receipt_code(self.seq, self.hash)

    @classmethod
    def of(cls, stored: StoredEvent) -> Receipt:
        ballot = BallotCast(**stored.payload)
        return cls(stored.stream_id, stored.seq, stored.hash, ballot.owner_id, ballot.choice, ballot.channel,
                   ballot.cast_by, ballot.cast_at, stored.recorded_at, ballot.question_id)


def receipt_code(seq: int, digest: str) -> str:
    head = digest[:10].upper()
    return f"{seq}-{head[:5]}-{head[5:]}"


def parse_receipt_code(text: str) -> tuple[int, str] | None:
    """``(seq, ten lower-case hex digits)`` or None if ``text`` is not a receipt code."""
    match = CODE_RE.match(text or "")
    if match is None:
        return None
    return int(match.group(1)), (match.group(2) + match.group(3)).lower()


class _StreamLog:
    """One deliberation's stream as this process has read it, and its fold.

    Append-only like the stream: ``events`` only grows, so every :class:`Box` handed out shares it and
    sees its first ``count`` events. The folded ``state`` handed out is never evolved again (a refresh
    evolves a snapshot), so a request keeps a consistent view while others refresh.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.arrivals = 0  # callers so far; a read covers every caller that arrived before it began
        self.covered = 0
        self._reset()

    def _reset(self) -> None:
        # A new list: boxes already handed out keep the old one (and their consistent view).
        self.events: list[StoredEvent] = []
        self.ballots: dict[str, list[int]] = {}  # owner -> indexes of their BallotCast in ``events``
        self.rooms: dict[str, list[RoomEntry]] = {}  # owner -> rooms in the box's scope, in roll order
        self.round_box: str | None = None  # a procedure's latest vote round (its re-votes have streams of their own)
        self.state = BoxState()

    @property
    def seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    async def refresh(self, store: EventStore, deliberation_id: str) -> None:
        """Read what was appended since. If the first new event does not chain onto the last one read
        before (a database restored from a backup behind this process's back), read the stream afresh."""
        new = await store.read(deliberation_id, after_seq=self.seq)
        if new and self.events and new[0].prev_hash != self.events[-1].hash:
            log.warning("box.cache_reset", deliberation_id=deliberation_id, cached_seq=self.seq)
            self._reset()
            new = await store.read(deliberation_id)
        self.extend(new)

    def extend(self, new: list[StoredEvent]) -> None:
        start = len(self.events)
        for stored in new:
            if stored.type == "VoteRoundOpened":
                self.round_box = stored.payload["box_stream"]
        folded = [(start + i, stored, event_from_dict(stored.type, stored.payload)) for i, stored in enumerate(new)
                  if stored.type in EVENT_TYPES]  # other stages (objections, mediation) share the stream
        state = self.state.snapshot() if folded else self.state
        for index, _stored, event in folded:
            state = evolve(state, event)
            if isinstance(event, BallotCast):
                self.ballots.setdefault(event.owner_id, []).append(index)
            elif isinstance(event, BoxOpened):
                self.rooms = {}
                for room in event.roll:
                    if event.scope.contains(room):
                        self.rooms.setdefault(room.owner_id, []).append(room)
        self.events.extend(new)
        self.state = state


@dataclass(eq=False)
class Box:
    """The folded stream of one deliberation, with the stored events it came from."""

    deliberation_id: str
    state: BoxState
    _log: list[StoredEvent]  # shared and append-only: this box sees its first ``_count`` events
    _count: int
    _ballots: dict[str, list[int]]
    _rooms: dict[str, list[RoomEntry]]
    _round_box: str | None = None

    @property
    def events(self) -> list[StoredEvent]:
        return self._log[: self._count]

    @property
    def opened(self) -> Any:
        assert self.state.opened is not None
        return self.state.opened

    def closed_at(self, now: datetime) -> datetime | None:
        """When voting closed (seal or deadline), or None while it is open at ``now``."""
        if self.state.sealed is not None:
            return min(self.state.sealed.at, self.opened.closes_at)
        return self.opened.closes_at if now >= self.opened.closes_at else None

    def rooms_of(self, owner_id: str) -> list[RoomEntry]:
        return list(self._rooms.get(owner_id, ()))

    def area_of(self, owner_id: str) -> Decimal:
        return self.state.electorate.owner_areas.get(owner_id, Decimal(0))

    def last_ballot(self, owner_id: str, cast_by: str | None = None, question_id: str | None = None
                    ) -> StoredEvent | None:
        """The owner's latest ballot in the stream (by seq), optionally only those cast by ``cast_by`` or on
        ``question_id``."""
        for index in reversed(self._ballots.get(owner_id, ())):
            if index >= self._count:
                continue  # cast after this box was read
            stored = self._log[index]
            if question_id is not None and stored.payload.get("question_id", "main") != question_id:
                continue
            if cast_by is None or (stored.payload.get("cast_by") or owner_id) == cast_by:
                return stored
        return None

    def question(self, question_id: str | None) -> Any:
        """The box's question ``question_id`` (its first when None), or None if it has no such question."""
        questions = self.opened.questions
        if question_id is None:
            return questions[0]
        return next((q for q in questions if q.id == question_id), None)

    @property
    def round_box(self) -> str | None:
        """The box stream of the procedure's latest vote round, as announced in this stream (VoteRoundOpened)."""
        return self._round_box


_logs: weakref.WeakKeyDictionary[EventStore, OrderedDict[str, _StreamLog]] = weakref.WeakKeyDictionary()
MAX_CACHED_STREAMS = 256


async def load_box(store: EventStore, deliberation_id: str, *, follow_rounds: bool = False) -> Box:
    """The deliberation's box as of now: every event committed before this call is folded in.

    Streams are append-only, so this process keeps each stream it has read with its fold and reads only
    the events after the last one it has (one indexed query), instead of reading and folding the whole
    stream, roll included, on every request. Callers that arrive while a read is in flight wait for the
    next read instead of each issuing their own.
    """
    logs = _logs.setdefault(store, OrderedDict())
    log_ = logs.get(deliberation_id)
    if log_ is None:
        log_ = logs[deliberation_id] = _StreamLog()
        while len(logs) > MAX_CACHED_STREAMS:
            logs.popitem(last=False)
    logs.move_to_end(deliberation_id)
    log_.arrivals += 1
    ticket = log_.arrivals
    async with log_.lock:
        if log_.covered < ticket:  # no read began after this caller arrived: read now
            covering = log_.arrivals
            await log_.refresh(store, deliberation_id)
            log_.covered = covering
        box = Box(deliberation_id, log_.state, log_.events, len(log_.events), log_.ballots, log_.rooms,
                  log_.round_box)
    if follow_rounds and box.round_box not in (None, deliberation_id):
        # A re-vote: the owner's link names the deliberation, the ballots go to the current round's box.
        return await load_box(store, box.round_box)  # type: ignore[arg-type]
    if box.state.opened is None:
        raise NoSuchBoxError(deliberation_id)
    return box


def open_guard(now: datetime) -> Callable[[StreamState], None]:
    """Refuse under the stream lock once the box is sealed or its deadline has passed."""

    def guard(stream: StreamState) -> None:
        if stream.sealed_at is not None:
            raise VotingClosedError(stream.sealed_at)
        if stream.accepting_until is not None and max(now, stream.now) >= stream.accepting_until:
            raise VotingClosedError(stream.accepting_until)

    return guard


def _new_events(events: list[Event], occurred_at: datetime) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=occurred_at) for e in events]


def _decide(box: Box, command: Command, now: datetime) -> list[Event]:
    try:
        return decide(box.state, command)
    except VotingClosedError:
        raise
    except BoxClosedError:
        raise VotingClosedError(box.closed_at(now) or now) from None


async def cast_ballot(
    store: EventStore, deliberation_id: str, owner_id: str, choice: str, *, idempotency_key: str,
    now: datetime, channel: str = "online", cast_by: str | None = None, paper_ref: str | None = None,
    question_id: str | None = None,
) -> Receipt:
    """Cast a ballot and return its receipt once committed.

    The same ``idempotency_key`` again returns the first receipt and records nothing;
    :class:`FormAlreadyUsedError` if that first ballot had another choice or owner. Domain errors
    (``…Error`` of :mod:`domain.errors`) pass through; :class:`VotingClosedError` when closed.
    """
    box = await load_box(store, deliberation_id)
    question_id = question_id or box.opened.questions[0].id  # a box of one question: that one
    command = CastBallot(owner_id=owner_id, choice=choice, cast_at=now, channel=channel,  # type: ignore[arg-type]
                         cast_by=cast_by, paper_ref=paper_ref, idempotency_key=idempotency_key,
                         question_id=question_id)
    try:
        events: list[Event] = _decide(box, command, now)
    except IdempotencyConflictError:
        events = []  # the key is in the stream already: the store hands back that first ballot
    if not events:
        events = [BallotCast(**command.model_dump())]
    stored = await store.append(deliberation_id, _new_events(events, now),
                                idempotency_key=idempotency_key, guard=open_guard(now))
    receipt = Receipt.of(stored[0])
    if (receipt.owner_id, receipt.choice, receipt.cast_by, receipt.question_id) != (owner_id, choice, cast_by,
                                                                                    question_id):
        raise FormAlreadyUsedError(receipt)
    log.info("ballot.cast", deliberation_id=deliberation_id, seq=receipt.seq, channel=channel)
    return receipt


async def authorise_proxy(
    store: EventStore, deliberation_id: str, owner_id: str, proxy_owner_id: str, *, now: datetime
) -> list[StoredEvent]:
    """Record that ``owner_id`` authorises ``proxy_owner_id`` (ending any earlier authorisation)."""
    box = await load_box(store, deliberation_id)
    events = _decide(box, AuthoriseProxy(owner_id=owner_id, proxy_owner_id=proxy_owner_id, at=now), now)
    if not events:
        return []
    return await store.append(deliberation_id, _new_events(events, now), guard=open_guard(now))


async def revoke_proxy(
    store: EventStore, deliberation_id: str, owner_id: str, proxy_owner_id: str, *, now: datetime
) -> list[StoredEvent]:
    box = await load_box(store, deliberation_id)
    events = _decide(box, RevokeProxy(owner_id=owner_id, proxy_owner_id=proxy_owner_id, at=now), now)
    return await store.append(deliberation_id, _new_events(events, now), guard=open_guard(now))


# Per pool (asyncpg pools take no weak references: the pool is kept beside its rows, so its id is not reused).
_registry: OrderedDict[int, tuple[Any, OrderedDict[str, dict[str, Any]]]] = OrderedDict()


async def deliberation_info(pool: Any, deliberation_id: str) -> dict[str, Any] | None:
    """The registry row (title, notice and question texts), or None if the registry does not list it.

    A registry row is written once and never updated, so each process keeps the rows it has read (a copy is
    handed out); an id not found yet is asked again next time, as it may be registered meanwhile.
    """
    _, rows = _registry.setdefault(id(pool), (pool, OrderedDict()))
    _registry.move_to_end(id(pool))
    while len(_registry) > 8:
        _registry.popitem(last=False)
    found = rows.get(deliberation_id)
    if found is not None:
        rows.move_to_end(deliberation_id)
        return dict(found)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, title, procedure, rule_id, notice_zh, notice_en, question_zh, question_en,"
            " opens_at, closes_at, changeable, roll_digest FROM deliberations WHERE id = $1",
            deliberation_id,
        )
    if row is None:
        return None
    rows[deliberation_id] = dict(row)
    while len(rows) > MAX_CACHED_STREAMS:
        rows.popitem(last=False)
    return dict(row)
