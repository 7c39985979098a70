"""Folds of the community ledgers (points, volunteers, a street's register, an appraisal) kept by each process, and
deciding a command on one under the stream's lock, as yishi/services/voting.py does for ballots.

The stream's one head is what keeps a balance or a stock from going below zero: the store serializes appends to
a stream with a row lock and writes concurrent ones together (group commit, activities/eventstore.py). Each
process keeps a fold of every ledger stream it serves and registers it as the stream's follower: under the lock
the fold is first brought up to the locked head (reading only what other processes appended since), then each
command of the group is decided in turn on a working copy and folded into it, so of 200 redemptions of the last 10
items exactly 10 are accepted, whichever process each came through. After the commit the working copy becomes the
fold; nothing this process wrote is read back. A command posted through a capability link (``link``, its token
hash) is refused when the link was revoked by then: the revocation is looked up in the same transaction.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import structlog

from activities.eventstore import EventStore, NewEvent, StoredEvent, StreamState, read_after
from yishi.services.links import RevokedLinkError

log = structlog.get_logger(__name__)
S = TypeVar("S")
MAX_CACHED = 256


@dataclass(frozen=True)
class FoldSpec(Generic[S]):
    """How to fold one kind of stream: its event types (others, e.g. capability events, are skipped), how to read
    one, the empty state, how to apply an event in place, and how to copy a state."""

    name: str
    types: frozenset[str]
    parse: Callable[[str, dict[str, Any]], Any]
    initial: Callable[[], S]
    apply: Callable[[S, Any], None]
    copy: Callable[[S], S]


class StaleFoldError(RuntimeError):
    """The fold was dropped from this process's cache while an append waited; ask again."""


class Folded(Generic[S]):
    """One stream as this process has read it: its fold, its head and its idempotency keys.

    A state handed out is never changed afterwards (new events are applied to a copy), so a request keeps a
    consistent view while others append."""

    def __init__(self, stream_id: str, spec: FoldSpec[S]) -> None:
        self.stream_id = stream_id
        self.spec = spec
        self.lock = asyncio.Lock()
        self._reset()
        self.working: S | None = None
        self.working_seq = -1
        self.working_events = 0
        self.revoked: set[str] = set()

    def _reset(self) -> None:
        self.state: S = self.spec.initial()
        self.seq = 0
        self.head_hash: str | None = None
        self.keys: dict[str, StoredEvent] = {}

    def extend(self, new: Sequence[StoredEvent]) -> None:
        new = [e for e in new if e.seq > self.seq]
        if not new:
            return
        if self.head_hash is not None and new[0].prev_hash != self.head_hash:
            log.warning("fold.reset", stream_id=self.stream_id, cached_seq=self.seq)
            raise _OutOfStep
        state = self.spec.copy(self.state)
        for stored in new:
            if stored.type in self.spec.types:
                self.spec.apply(state, self.spec.parse(stored.type, stored.payload))
        self._index(new)
        self.state = state

    def _index(self, new: Sequence[StoredEvent]) -> None:
        for stored in new:
            if stored.idempotency_key is not None:
                self.keys.setdefault(stored.idempotency_key, stored)
        self.seq, self.head_hash = new[-1].seq, new[-1].hash

    async def refresh(self, store: EventStore) -> None:
        new = await store.read(self.stream_id, after_seq=self.seq)
        try:
            self.extend(new)
        except _OutOfStep:  # a database restored behind this process's back: read it afresh
            self._reset()
            self.extend(await store.read(self.stream_id))

    # ---- the store's follower (activities.eventstore.StreamFollower) ----

    async def catch_up(self, conn: asyncpg.Connection, stream: StreamState, checks: list[Any]) -> None:
        self.revoked = await _revoked(conn, checks) if checks else set()
        if (stream.head_seq, stream.head_hash) != (self.seq, self.head_hash or "0" * 64):
            try:
                if self.seq > stream.head_seq:
                    raise _OutOfStep
                self.extend(await read_after(conn, self.stream_id, self.seq))
            except _OutOfStep:
                self._reset()
                self.extend(await read_after(conn, self.stream_id, 0))
        self.working = self.spec.copy(self.state)
        self.working_seq = self.seq
        self.working_events = 0

    def decide(self, decide: Callable[[S], Sequence[NewEvent]], link: str | None) -> list[NewEvent]:
        """Under the lock: the events ``decide`` makes on the working fold, folded into it."""
        if self.working is None:
            raise StaleFoldError(self.stream_id)
        if link is not None and link in self.revoked:
            raise RevokedLinkError("link revoked")
        events = list(decide(self.working))
        for event in events:
            if event.type in self.spec.types:
                self.spec.apply(self.working, self.spec.parse(event.type, event.payload))
        self.working_events += len(events)
        return events

    def existing(self, keys: list[str]) -> dict[str, StoredEvent]:
        return {key: self.keys[key] for key in keys if key in self.keys}

    def committed(self, events: list[StoredEvent]) -> None:
        working, self.working = self.working, None
        if not events:
            return
        if working is not None and self.working_seq == self.seq and self.working_events == len(events) \
                and events[0].prev_hash == (self.head_hash or "0" * 64):
            self._index(events)  # decided here, in this order: the working fold is the fold
            self.state = working
            return
        try:
            self.extend(events)  # the group held other appends too (a capability link issued): fold them in
        except _OutOfStep:
            self._reset()  # the next read starts afresh

    def abandoned(self) -> None:
        self.working = None


class _OutOfStep(Exception):
    pass


async def _revoked(conn: asyncpg.Connection, hashes: list[Any]) -> set[str]:
    """Of these token hashes, those revoked: capability links (people, posters, shops) or personal voting links."""
    wanted = list(dict.fromkeys(str(h) for h in hashes))
    rows = await conn.fetch(
        "SELECT token_hash FROM capability_links WHERE token_hash = ANY($1::text[]) AND revoked_at IS NOT NULL"
        " UNION SELECT token_hash FROM links WHERE token_hash = ANY($1::text[]) AND revoked_at IS NOT NULL", wanted)
    return {r["token_hash"] for r in rows}


_folds: weakref.WeakKeyDictionary[EventStore, OrderedDict[str, Folded[Any]]] = weakref.WeakKeyDictionary()


def followed(store: EventStore, stream_id: str, spec: FoldSpec[S]) -> Folded[S]:
    """This process's fold of ``stream_id``, created (and followed for the group commit) on first use."""
    folds = _folds.setdefault(store, OrderedDict())
    found = folds.get(stream_id)
    if found is None or found.spec is not spec:
        found = folds[stream_id] = Folded(stream_id, spec)
        while len(folds) > MAX_CACHED:
            evicted, _ = folds.popitem(last=False)
            store.follow(evicted, None)
    # Always (a dict assignment): another reader of the same stream id (a ballot box's fold, opened by a page that
    # takes any personal link) may have become its follower since, and a fold that is not followed cannot decide.
    store.follow(stream_id, found)
    folds.move_to_end(stream_id)
    return found


async def load(store: EventStore, stream_id: str, spec: FoldSpec[S]) -> S:
    """The fold of ``stream_id`` with every event committed before this call (read since the last time)."""
    fold = followed(store, stream_id, spec)
    async with fold.lock:
        await fold.refresh(store)
    return fold.state


async def append_decided(store: EventStore, stream_id: str, spec: FoldSpec[S],
                         decide: Callable[[S], Sequence[NewEvent]], *, idempotency_key: str | None = None,
                         link: str | None = None) -> list[StoredEvent]:
    """Decide under the stream's lock on this process's fold and append what ``decide`` returns (``[]``: nothing).

    ``decide`` gets the fold at the locked head (with the group's earlier decisions folded in) and must not change
    it; it raises to refuse. The same ``idempotency_key`` again returns the first append's first event and decides
    nothing. ``link``: the token hash the command came through (:class:`RevokedLinkError` once revoked)."""
    for attempt in (1, 2):
        fold = followed(store, stream_id, spec)
        try:
            return await store.append(stream_id, decide=lambda _stream, f=fold: f.decide(decide, link),
                                      idempotency_key=idempotency_key, check=link)
        except StaleFoldError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def new_events(events: Sequence[Any]) -> list[NewEvent]:
    """Domain events (each with ``type`` and ``at``) as the store's :class:`NewEvent`."""
    return [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=e.at) for e in events]
