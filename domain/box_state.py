"""State of a ballot box, and ``evolve``/``fold`` (the read half of the decider in :mod:`domain.decider`).

Ownership: the state carries an incremental :class:`~domain.tally.Tally` so that folding N ballots costs
O(N), not O(N²). ``evolve`` therefore advances that tally in place and returns a new state sharing it; the
state it was given becomes stale and refuses further use with :class:`StaleStateError` (a cheap version
check, so misuse fails loudly instead of reading a moved tally). Keep an independent copy with
``state.snapshot()`` when an old state must stay usable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.ballots import ProxyBook
from domain.errors import N_, BoxNotOpenError, RollDigestMismatchError, StaleStateError
from domain.events import (
    BallotCast,
    BoxOpened,
    BoxSealed,
    Event,
    ProxyAuthorised,
    ProxyRevoked,
    ResultRecorded,
)
from domain.roll import Electorate, checked_digest, checked_select
from domain.rules import get_rule
from domain.tally import Tally, TallySettings
from domain.tally_result import TallyResult


class _Ledger:
    """Mutable accumulators of one box, shared by the successive states of a fold."""

    def __init__(self, electorate: Electorate, tallies: dict[str, Tally], book: ProxyBook) -> None:
        self.electorate = electorate
        self.tallies = tallies
        self.book = book
        self.idempotency: dict[str, BallotCast] = {}
        self.version = 0

    def copy(self) -> _Ledger:
        book = self.book.copy()
        tallies = {}
        for qid, running in self.tallies.items():
            tallies[qid] = running.copy()
            tallies[qid].proxies = book
        other = _Ledger(self.electorate, tallies, book)
        other.idempotency = dict(self.idempotency)
        other.version = self.version
        return other


class BoxState(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    status: Literal["new", "open", "sealed"] = "new"
    opened: BoxOpened | None = None
    sealed: BoxSealed | None = None
    recorded: ResultRecorded | None = None
    version: int = 0
    ledger: _Ledger | None = Field(default=None, repr=False, exclude=True)

    def _live(self) -> _Ledger:
        if self.ledger is None:
            raise BoxNotOpenError(N_("the ballot box is not open yet; open it first"))
        if self.ledger.version != self.version:
            raise StaleStateError(
                N_("this state was superseded by a later evolve; use the state it returned"),
            )
        return self.ledger

    @property
    def electorate(self) -> Electorate:
        return self._live().electorate

    def tally(self, question_id: str = "main") -> Tally:
        return self._live().tallies[question_id]

    def results(self) -> dict[str, TallyResult]:
        return {qid: running.result() for qid, running in self._live().tallies.items()}

    def snapshot(self) -> BoxState:
        """An independent copy that later ``evolve`` calls on this state will not affect."""
        return self if self.ledger is None else self.model_copy(update={"ledger": self._live().copy()})


# ---- evolve / fold ------------------------------------------------------------------------------------


def _opened_ledger(event: BoxOpened) -> _Ledger:
    # The recorded entries are validated already; digest and select them as they are (no ``Roll`` rebuilt),
    # once per process for a roll decoded before (domain.roll, "recorded rolls").
    digest = checked_digest(event.roll)
    if digest != event.roll_digest:
        # The recorded rows no longer hash to the recorded digest: the stream was altered.
        raise RollDigestMismatchError(
            N_("the roll in BoxOpened does not match its digest (%(roll_digest)s…); the stream may have been altered: "
                    "stop and investigate"), roll_digest=event.roll_digest[:12],
        )
    electorate = checked_select(event.roll, event.scope, digest)
    settings = TallySettings(proxy_limit=event.proxy_limit, deem_silent=event.deem_silent,
                             deem_over_half=event.deem_over_half)
    book = ProxyBook(event.proxy_limit)
    rule = get_rule(event.rule_id)
    tallies = {q.id: Tally(electorate, rule, settings, book) for q in event.questions}
    return _Ledger(electorate, tallies, book)


def _advance(state: BoxState, ledger: _Ledger, **update: object) -> BoxState:
    ledger.version += 1
    return state.model_copy(update={**update, "version": ledger.version, "ledger": ledger})


def evolve(state: BoxState, event: Event) -> BoxState:
    """Apply one event. Events are facts: nothing is re-checked here (``decide`` did that)."""
    match event:
        case BoxOpened():
            return BoxState(status="open", opened=event, ledger=_opened_ledger(event))
        case BallotCast() | ProxyAuthorised() | ProxyRevoked():
            ledger = state._live()
            _apply(ledger, event)
            return _advance(state, ledger)
        case BoxSealed():
            return state.model_copy(update={"status": "sealed", "sealed": event})
        case ResultRecorded():
            return state.model_copy(update={"recorded": event})
    raise TypeError(f"not a ballot-box event: {event!r}")


def _apply(ledger: _Ledger, event: BallotCast | ProxyAuthorised | ProxyRevoked) -> None:
    """Advance the ledger by one ballot or proxy event (the state's version is the caller's)."""
    if type(event) is BallotCast:
        if event.idempotency_key is not None:
            ledger.idempotency[event.idempotency_key] = event
        # The validated event carries every field of a ``Ballot`` (domain.ballots.BallotLike): counted as is.
        ledger.tallies[event.question_id].add(event)
    elif isinstance(event, ProxyAuthorised):
        ledger.book.authorise(event.owner_id, event.proxy_owner_id, event.at)
    elif isinstance(event, ProxyRevoked):
        ledger.book.revoke(event.owner_id, event.proxy_owner_id, event.at)
    else:
        raise TypeError(f"not a ballot or proxy event: {event!r}")


_LEDGER_EVENTS = (BallotCast, ProxyAuthorised, ProxyRevoked)


def fold(events: Iterable[Event], state: BoxState | None = None) -> BoxState:
    """The state after ``events`` (from the initial state unless ``state`` is given).

    The same as ``evolve`` event by event, without a new state per ballot: a run of ballot and proxy
    events advances the shared ledger, and one state is made when the run ends.
    """
    state = state if state is not None else BoxState()
    ledger: _Ledger | None = None  # set while a run of ledger events is not yet reflected in ``state``
    for event in events:
        if isinstance(event, _LEDGER_EVENTS):
            if ledger is None:
                ledger = state._live()
            _apply(ledger, event)
            ledger.version += 1
            continue
        if ledger is not None:
            state, ledger = state.model_copy(update={"version": ledger.version, "ledger": ledger}), None
        state = evolve(state, event)
    if ledger is not None:
        state = state.model_copy(update={"version": ledger.version, "ledger": ledger})
    return state
