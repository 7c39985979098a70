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

import re
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
from domain.events import EVENT_TYPES, BallotCast, Event, event_from_dict
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

    @property
    def code(self) -> str:
        return receipt_code(self.seq, self.hash)

    @classmethod
    def of(cls, stored: StoredEvent) -> Receipt:
        ballot = BallotCast(**stored.payload)
        return cls(stored.stream_id, stored.seq, stored.hash, ballot.owner_id, ballot.choice, ballot.channel,
                   ballot.cast_by, ballot.cast_at, stored.recorded_at)


def receipt_code(seq: int, digest: str) -> str:
    head = digest[:10].upper()
    return f"{seq}-{head[:5]}-{head[5:]}"


def parse_receipt_code(text: str) -> tuple[int, str] | None:
    """``(seq, ten lower-case hex digits)`` or None if ``text`` is not a receipt code."""
    match = CODE_RE.match(text or "")
    if match is None:
        return None
    return int(match.group(1)), (match.group(2) + match.group(3)).lower()


@dataclass
class Box:
    """The folded stream of one deliberation, with the stored events it came from."""

    deliberation_id: str
    state: BoxState
    events: list[StoredEvent]

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
        scope = self.opened.scope
        return [r for r in self.opened.roll if r.owner_id == owner_id and scope.contains(r)]

    def area_of(self, owner_id: str) -> Decimal:
        return self.state.electorate.owner_areas.get(owner_id, Decimal(0))

    def last_ballot(self, owner_id: str, cast_by: str | None = None) -> StoredEvent | None:
        """The owner's latest ballot in the stream (by seq), optionally only those cast by ``cast_by``."""
        for stored in reversed(self.events):
            if stored.type == "BallotCast" and stored.payload["owner_id"] == owner_id:
                if cast_by is None or (stored.payload.get("cast_by") or owner_id) == cast_by:
                    return stored
        return None


async def load_box(store: EventStore, deliberation_id: str) -> Box:
    """Read and fold the whole stream. The one place to swap for a projection when streams grow."""
    events = await store.read(deliberation_id)
    state = BoxState()
    for stored in events:
        if stored.type in EVENT_TYPES:  # other stages (objections, mediation) share the stream
            state = evolve(state, event_from_dict(stored.type, stored.payload))
    if state.opened is None:
        raise NoSuchBoxError(deliberation_id)
    return Box(deliberation_id, state, events)


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
) -> Receipt:
    """Cast a ballot and return its receipt once committed.

    The same ``idempotency_key`` again returns the first receipt and records nothing;
    :class:`FormAlreadyUsedError` if that first ballot had another choice or owner. Domain errors
    (``…Error`` of :mod:`domain.errors`) pass through; :class:`VotingClosedError` when closed.
    """
    box = await load_box(store, deliberation_id)
    command = CastBallot(owner_id=owner_id, choice=choice, cast_at=now, channel=channel,  # type: ignore[arg-type]
                         cast_by=cast_by, paper_ref=paper_ref, idempotency_key=idempotency_key)
    try:
        events: list[Event] = _decide(box, command, now)
    except IdempotencyConflictError:
        events = []  # the key is in the stream already: the store hands back that first ballot
    if not events:
        events = [BallotCast(**command.model_dump())]
    stored = await store.append(deliberation_id, _new_events(events, now),
                                idempotency_key=idempotency_key, guard=open_guard(now))
    receipt = Receipt.of(stored[0])
    if (receipt.owner_id, receipt.choice, receipt.cast_by) != (owner_id, choice, cast_by):
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


async def deliberation_info(pool: Any, deliberation_id: str) -> dict[str, Any] | None:
    """The registry row (title, notice and question texts), or None if the registry does not list it."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, title, procedure, rule_id, notice_zh, notice_en, question_zh, question_en,"
            " opens_at, closes_at, changeable, roll_digest FROM deliberations WHERE id = $1",
            deliberation_id,
        )
    return dict(row) if row else None
