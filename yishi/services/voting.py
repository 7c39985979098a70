"""Casting ballots and proxies onto a deliberation's event stream.

The domain decider decides whether a ballot is acceptable; this module keeps each stream's fold per process
and asks the decider under the stream's row lock, inside the store's group commit (the lock that orders the
stream, across processes): the fold is first brought up to the locked head, then each ballot of the group
is decided on it in turn, so a ballot racing the seal, a second ballot of an owner whose ballot is final,
or a proxy ballot racing a revocation is refused and nothing is recorded. The events this process commits
are folded in as written, never read back.

Receipt codes: ``{seq}-{HHHHH}-{HHHHH}`` where the ten ``H`` are the first ten hex digits of the stored
event's chain hash, upper case (e.g. ``42-3FA9C-07B1E``). The seq says where the ballot stands in the
stream; 40 bits of hash make a forged or mistyped code practically never match another ballot.
"""

from __future__ import annotations

import asyncio
import gc
import re
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import structlog

from activities.box import gc_paused
from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState, read_after
from domain.commands import AuthoriseProxy, CastBallot, Command, RevokeProxy
from domain.decider import BoxState, decide, evolve
from domain.errors import N_, BoxClosedError, IdempotencyConflictError
from domain.events import EVENT_TYPES, BallotCast, BoxOpened, Event, event_from_dict
from domain.link_events import LINK_EVENT_TYPES, LinkLedger, link_event_from_dict
from domain.roll import RoomEntry
from yishi.services.links import LinkHolder, RevokedLinkError, revoked_among

log = structlog.get_logger(__name__)

CODE_RE = re.compile(r"^(\d{1,9})([0-9a-f]{10})$")
_CODE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_·.。,，]+")


class VotingClosedError(BoxClosedError):
    """The box is sealed or past its deadline; ``closed_at`` says since when. Nothing was recorded."""

    def __init__(self, closed_at: datetime) -> None:
        self.closed_at = closed_at
        super().__init__(N_("voting has closed; nothing was recorded"))


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
    precedence: str | None = None
    """The rule that applied when it was recorded (:meth:`domain.tally.Tally.precedence`): online over paper
    (``online_over_paper``, ``paper_not_counted``) or the owner's own ballot over her proxy's (``owner_over_proxy``,
    ``proxy_not_counted``); None when nothing else was cast for the owner."""

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
    """``(seq, ten lower-case hex digits)`` or None if ``text`` is not a receipt code.

    Written as people copy it: with or without the dashes, with spaces, in any case, in full-width characters
    (``42-3FA9C-07B1E``, ``42 3fa9c 07b1e``, ``423FA9C07B1E``). The hex part is always ten characters, so the
    digits before it are the entry number even without a dash."""
    groups = _CODE_SEPARATORS.split(unicodedata.normalize("NFKC", text or "")[:60].lower().strip(" -"))
    if len(groups) > 3 or (len(groups) == 3 and not len(groups[1]) == len(groups[2]) == 5) or (
            len(groups) == 2 and len(groups[1]) != 10):
        return None  # where she put the dashes or spaces tells where the parts end: a missing digit is not guessed
    match = CODE_RE.match("".join(groups))
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


SETTLE_AFTER = 1_000  # events folded at once (a box's roll and its ballots, read on first use)


def settle_heap() -> None:
    """Take what the process holds now out of the cyclic collector's full passes (``gc.freeze``).

    A process serving a vote keeps each stream's fold: the roll and every ballot, hundreds of thousands of
    objects that live as long as the process. Left in the collector's oldest generation, each full pass
    walks all of them (~0.1 s with 6,000 owners, every request in flight waiting). Frozen objects are
    still freed by reference counting when dropped (the fold holds no cycles); only cyclic garbage that
    exists at this moment is kept, once per large read.
    """
    gc.freeze()


class StaleFoldError(RuntimeError):
    """The stream's fold was dropped from this process's cache while an append waited; ask again."""


class _StreamLog:
    """One deliberation's stream as this process has read it, and its fold.

    Append-only like the stream: ``events`` only grows, so every :class:`Box` handed out shares it and
    sees its first ``count`` events. The folded ``state`` handed out is never evolved again (a refresh
    evolves a snapshot), so a request keeps a consistent view while others refresh.

    It also follows the stream for the store's group commit (``activities.eventstore.StreamFollower``):
    under the stream lock it catches up to the head and makes a ``working`` snapshot on which each
    ballot of the group is decided and folded in turn; once committed, that snapshot becomes ``state``.
    """

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.lock = asyncio.Lock()
        self.arrivals = 0  # callers so far; a read covers every caller that arrived before it began
        self.covered = 0
        self.working: BoxState | None = None  # the group being written: the fold with its decided events
        self.working_seq = -1  # ``seq`` the working snapshot was made at
        self.working_events = 0  # events the group's decisions added to it
        self.revoked: set[str] = set()  # of the group's links, those revoked (checked under the lock)
        self._reset()

    def _reset(self) -> None:
        # A new list: boxes already handed out keep the old one (and their consistent view).
        self.events: list[StoredEvent] = []
        self.ballots: dict[str, list[int]] = {}  # owner -> indexes of their BallotCast in ``events``
        self.keys: dict[str, int] = {}  # idempotency key -> index of the first event appended with it
        self.rooms: dict[str, list[RoomEntry]] = {}  # owner -> rooms in the box's scope, in roll order
        self.round_box: str | None = None  # a procedure's latest vote round (its re-votes have streams of their own)
        self.links = LinkLedger()  # what staff did to the deliberation's links (domain/link_events.py)
        self.state = BoxState()

    @property
    def seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    def _continues(self, new: list[StoredEvent]) -> bool:
        return not new or not self.events or new[0].prev_hash == self.events[-1].hash

    async def refresh(self, store: EventStore, deliberation_id: str) -> None:
        """Read what was appended since. If the first new event does not chain onto the last one read
        before (a database restored from a backup behind this process's back), read the stream afresh."""
        new = [e for e in await store.read(deliberation_id, after_seq=self.seq) if e.seq > self.seq]
        # (a group commit may have folded in some of them while the read was in flight)
        if not self._continues(new):
            log.warning("box.cache_reset", deliberation_id=deliberation_id, cached_seq=self.seq)
            self._reset()
            new = await store.read(deliberation_id)
        self.extend(new)

    def extend(self, new: list[StoredEvent]) -> None:
        """Fold in ``new`` (events this log already has are skipped)."""
        if new and new[0].seq <= self.seq:
            new = [e for e in new if e.seq > self.seq]
        folded = [(stored, event_from_dict(stored.type, stored.payload)) for stored in new
                  if stored.type in EVENT_TYPES]  # other stages (objections, mediation) share the stream
        state = self.state.snapshot() if folded else self.state
        with gc_paused():
            for _stored, event in folded:
                state = evolve(state, event)
        self._index(new)
        self.state = state
        if len(new) >= SETTLE_AFTER or any(isinstance(event, BoxOpened) for _stored, event in folded):
            settle_heap()  # the roll, or a stream read on first use

    def _index(self, new: list[StoredEvent]) -> None:
        start = len(self.events)
        for index, stored in enumerate(new, start):
            if stored.idempotency_key is not None:
                self.keys.setdefault(stored.idempotency_key, index)
            if stored.type == "BallotCast":
                self.ballots.setdefault(stored.payload["owner_id"], []).append(index)
            elif stored.type == "BoxOpened":
                opened = BoxOpened(**stored.payload)
                self.rooms = {}
                for room in opened.roll:
                    if opened.scope.contains(room):
                        self.rooms.setdefault(room.owner_id, []).append(room)
            elif stored.type == "VoteRoundOpened":
                self.round_box = stored.payload["box_stream"]
            elif stored.type in LINK_EVENT_TYPES:
                self.links.apply(link_event_from_dict(stored.type, stored.payload), stored.seq)
        self.events.extend(new)

    # ---- following the stream for the group commit (activities.eventstore.StreamFollower) ----

    async def catch_up(self, conn: asyncpg.Connection, stream: StreamState, checks: list[Any]) -> None:
        # ``checks``: the token hashes of the links the group's ballots were posted through.
        self.revoked = await revoked_among(conn, checks) if checks else set()
        # No asyncio lock here: this runs holding a pooled connection inside the stream's transaction, and a
        # refresh holds the log's lock while it waits for a connection (waiting on each other could exhaust
        # the pool). Folding in is synchronous and skips what the log already has, so the two may interleave.
        if (stream.head_seq, stream.head_hash) != (self.seq, self.events[-1].hash if self.events else None):
            ahead = self.seq > stream.head_seq  # a database restored behind this process's back
            new = [e for e in await read_after(conn, self.stream_id, self.seq) if e.seq > self.seq]
            if ahead or not self._continues(new):
                log.warning("box.cache_reset", deliberation_id=self.stream_id, cached_seq=self.seq)
                self._reset()
                new = await read_after(conn, self.stream_id, 0)
            self.extend(new)
        self.working = self.state.snapshot()
        self.working_seq = self.seq
        self.working_events = 0

    def decide(self, command: Command, now: datetime, link: str | None = None) -> list[NewEvent]:
        """Under the stream lock: the events ``command`` makes on the fold so far, folded in; refused if it
        was posted through ``link`` (a token hash) and that link is revoked."""
        if self.working is None:
            raise StaleFoldError(self.stream_id)
        if link is not None and link in self.revoked:
            raise RevokedLinkError("link revoked")
        events = _decide(self.working, command, now)
        state = self.working
        for event in events:
            state = evolve(state, event)
        self.working = state
        self.working_events += len(events)
        return _new_events(events, now)

    def existing(self, keys: list[str]) -> dict[str, StoredEvent]:
        return {key: self.events[self.keys[key]] for key in keys if key in self.keys}

    def committed(self, events: list[StoredEvent]) -> None:
        working, self.working = self.working, None
        if not events:
            return
        if not self._continues([e for e in events if e.seq > self.seq]):
            self._reset()  # out of step: the next read starts afresh
            return
        if working is not None and self.working_seq == self.seq and self.working_events == len(events):
            self._index(events)  # decided here, in this order: the working fold is the fold
            self.state = working
        else:
            self.extend(events)

    def abandoned(self) -> None:
        self.working = None


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
    links: LinkLedger = field(default_factory=LinkLedger)
    """What staff did to the deliberation's personal links (its own stream's link events; for a re-vote's box,
    those of the deliberation's stream, where the links are issued). Shared with this process's log of the
    stream: it may already show acts recorded after this box was read."""
    matter: Box | None = None
    """For a re-vote's box, the deliberation's own box: its stream holds what the matter is about (the documents
    the committee attached before the first round, yishi/services/plan_documents.py)."""

    @property
    def matter_events(self) -> list[StoredEvent]:
        """The events of the deliberation's own stream (for a re-vote, not the round's)."""
        return (self.matter or self).events

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

    def last_ballot(self, owner_id: str, cast_by: str | None = None, question_id: str | None = None,
                    channel: str | None = None, proxied: bool | None = None) -> StoredEvent | None:
        """The owner's latest ballot in the stream (by seq), optionally only those cast by ``cast_by``, on
        ``question_id``, through ``channel``, or cast by a proxy (``proxied=True``) or by herself (False)."""
        for index in reversed(self._ballots.get(owner_id, ())):
            if index >= self._count:
                continue  # cast after this box was read
            stored = self._log[index]
            if question_id is not None and stored.payload.get("question_id", "main") != question_id:
                continue
            if channel is not None and stored.payload.get("channel", "online") != channel:
                continue
            by = stored.payload.get("cast_by") or owner_id
            if proxied is not None and (by != owner_id) != proxied:
                continue
            if cast_by is None or by == cast_by:
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


def _stream_log(store: EventStore, deliberation_id: str) -> _StreamLog:
    """This process's log of the stream, created (and followed for the group commit) on first use."""
    logs = _logs.get(store)  # not setdefault: that built an OrderedDict on every call (the ballot path's CPU)
    if logs is None:
        logs = _logs[store] = OrderedDict()
    log_ = logs.get(deliberation_id)
    if log_ is None:
        log_ = logs[deliberation_id] = _StreamLog(deliberation_id)
        store.follow(deliberation_id, log_)
        while len(logs) > MAX_CACHED_STREAMS:
            evicted, _ = logs.popitem(last=False)
            store.follow(evicted, None)
    logs.move_to_end(deliberation_id)
    return log_


async def load_box(store: EventStore, deliberation_id: str, *, follow_rounds: bool = False,
                   fresh: bool = True) -> Box:
    """The deliberation's box as of now: every event committed before this call is folded in.

    Streams are append-only, so this process keeps each stream it has read with its fold and reads only
    the events after the last one it has (one indexed query), instead of reading and folding the whole
    stream, roll included, on every request. Callers that arrive while a read is in flight wait for the
    next read instead of each issuing their own.

    ``fresh=False``: the fold this process has, without asking the database what others appended since,
    when it has one with an open box (the box's roll, questions and deadline never change; whatever
    decides on it is decided again under the stream lock: :func:`cast_ballot`).
    """
    log_ = _stream_log(store, deliberation_id)
    if fresh or log_.state.opened is None:
        log_.arrivals += 1
        ticket = log_.arrivals
        async with log_.lock:
            if log_.covered < ticket:  # no read began after this caller arrived: read now
                covering = log_.arrivals
                await log_.refresh(store, deliberation_id)
                log_.covered = covering
    box = Box(deliberation_id, log_.state, log_.events, len(log_.events), log_.ballots, log_.rooms,
              log_.round_box, log_.links)
    if follow_rounds and box.round_box not in (None, deliberation_id):
        # A re-vote: the owner's link names the deliberation, the ballots go to the current round's box.
        round_box = await load_box(store, box.round_box, fresh=fresh)  # type: ignore[arg-type]
        round_box.links = log_.links  # the links are the deliberation's, their events in its stream
        round_box.matter = box
        return round_box
    if box.state.opened is None:
        raise NoSuchBoxError(deliberation_id)
    return box


def open_guard(now: datetime, closes_at: datetime | None = None) -> Callable[[StreamState], None]:
    """Refuse under the stream lock once the box is sealed, or its stream takes nothing more (``accepting_until``:
    the end of paper entry, else the close), or ``closes_at`` has passed (online ballots and proxies: paper
    ballots alone are entered after the close). The later of this process's clock and the database's decides."""

    def guard(stream: StreamState) -> None:
        if stream.sealed_at is not None:
            raise VotingClosedError(stream.sealed_at)
        at = max(now, stream.now)
        if stream.accepting_until is not None and at >= stream.accepting_until:
            raise VotingClosedError(stream.accepting_until)
        if closes_at is not None and at >= closes_at:
            raise VotingClosedError(closes_at)

    return guard


def _new_events(events: list[Event], occurred_at: datetime) -> list[NewEvent]:
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=occurred_at) for e in events]


def _closed_at(state: BoxState, now: datetime) -> datetime:
    opened = state.opened
    if opened is None:
        return now
    if state.sealed is not None:
        return min(state.sealed.at, opened.closes_at)
    return opened.closes_at if now >= opened.closes_at else now


def _decide(state: BoxState, command: Command, now: datetime) -> list[Event]:
    try:
        return decide(state, command)
    except VotingClosedError:
        raise
    except BoxClosedError:
        raise VotingClosedError(_closed_at(state, now)) from None


async def append_decided(store: EventStore, stream_id: str, command: Command, now: datetime, *,
                          idempotency_key: str | None = None, link: str | None = None,
                          closes_at: datetime | None = None) -> list[StoredEvent]:
    """Decide ``command`` under the stream lock on this process's fold and append what it makes; ``link``,
    the token hash it was posted through, must not be revoked by then (:class:`RevokedLinkError`); refused from
    ``closes_at`` when given (everything but a paper ballot)."""
    for attempt in (1, 2):
        log_ = _stream_log(store, stream_id)
        try:
            return await store.append(stream_id, decide=lambda _stream, fold=log_: fold.decide(command, now, link),
                                      idempotency_key=idempotency_key, guard=open_guard(now, closes_at), check=link)
        except StaleFoldError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def cast_ballot(
    store: EventStore, deliberation_id: str, owner_id: str, choice: str, *, idempotency_key: str,
    now: datetime, channel: str = "online", cast_by: str | None = None, paper_ref: str | None = None,
    question_id: str | None = None, box: Box | None = None, entered_by: int | None = None,
    link: LinkHolder | None = None, cast_at: datetime | None = None,
) -> Receipt:
    """Cast a ballot and return its receipt once committed.

    Decided under the stream lock (see the module docstring); ``box``, the caller's view of the box, names the
    default question and the close; ``cast_at``, when a paper ballot was filled in (default ``now``); online
    ballots and proxies are refused from the close, paper ballots until the box seals (the end of paper entry);
    ``entered_by``, the committee account typing in a paper ballot; ``link``, the
    holder of the personal link it was posted through (:class:`RevokedLinkError` if revoked by the time the
    ballot is recorded: the revocation is checked in the ballot's own transaction; the ballot records the link's
    generation, so an auditor sees which ballots came through a link the committee reissued). The same
    ``idempotency_key`` again returns the first receipt and records
    nothing; :class:`FormAlreadyUsedError` if that first ballot had another choice or owner. Domain errors
    (``…Error`` of :mod:`domain.errors`) pass through; :class:`VotingClosedError` when closed.
    """
    if box is None or box.deliberation_id != deliberation_id:
        box = await load_box(store, deliberation_id, fresh=False)
    question_id = question_id or box.opened.questions[0].id  # a box of one question: that one
    command = CastBallot(owner_id=owner_id, choice=choice, cast_at=cast_at or now,  # type: ignore[arg-type]
                         channel=channel, cast_by=cast_by, paper_ref=paper_ref, idempotency_key=idempotency_key,
                         question_id=question_id, entered_by=entered_by,
                         link_generation=link.generation if link is not None else None)
    closes_at = None if channel == "paper" else box.opened.closes_at
    stored = await append_decided(store, deliberation_id, command, now, idempotency_key=idempotency_key,
                                  link=link.token_hash if link is not None else None, closes_at=closes_at)
    if not stored:  # the fold knows the key but the stream did not: never expected, never a silent success
        raise IdempotencyConflictError(N_("idempotency key %(idempotency_key)s is inconsistent; reload and vote again"),
                                       idempotency_key=idempotency_key)
    receipt = Receipt.of(stored[0])
    if (receipt.owner_id, receipt.choice, receipt.cast_by, receipt.question_id) != (owner_id, choice, cast_by,
                                                                                    question_id):
        raise FormAlreadyUsedError(receipt)
    # The fold this process has now holds the ballot (committed under the lock, or read back): which channel
    # rule applied to it, for the receipt to name.
    after = await load_box(store, deliberation_id, fresh=False)
    by_proxy = cast_by is not None and cast_by != owner_id
    receipt = replace(receipt, precedence=after.state.tally(question_id).precedence(owner_id, receipt.channel,
                                                                                     by_proxy=by_proxy))
    log.info("ballot.cast", deliberation_id=deliberation_id, seq=receipt.seq, channel=channel,
             precedence=receipt.precedence)
    return receipt


async def authorise_proxy(
    store: EventStore, deliberation_id: str, owner_id: str, proxy_owner_id: str, *, now: datetime
) -> list[StoredEvent]:
    """Record that ``owner_id`` authorises ``proxy_owner_id`` (ending any earlier authorisation)."""
    box = await load_box(store, deliberation_id, fresh=False)  # NoSuchBoxError before anything is queued
    command = AuthoriseProxy(owner_id=owner_id, proxy_owner_id=proxy_owner_id, at=now)
    return await append_decided(store, deliberation_id, command, now, closes_at=box.opened.closes_at)


async def revoke_proxy(
    store: EventStore, deliberation_id: str, owner_id: str, proxy_owner_id: str, *, now: datetime
) -> list[StoredEvent]:
    box = await load_box(store, deliberation_id, fresh=False)
    command = RevokeProxy(owner_id=owner_id, proxy_owner_id=proxy_owner_id, at=now)
    return await append_decided(store, deliberation_id, command, now, closes_at=box.opened.closes_at)


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
            " opens_at, closes_at, changeable, roll_digest, details FROM deliberations WHERE id = $1",
            deliberation_id,
        )
    if row is None:
        return None
    rows[deliberation_id] = dict(row)
    while len(rows) > MAX_CACHED_STREAMS:
        rows.popitem(last=False)
    return dict(row)
