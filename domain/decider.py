"""The ballot box as a functional event-sourced decider.

``decide(state, command) -> list[event]`` checks a command against the state and returns the events to
append (``[]`` when a retried command changes nothing); it raises a ``…Error`` saying what to do otherwise.
``evolve(state, event) -> state`` applies one event; ``fold(events)`` rebuilds the state from a stream
(both in :mod:`domain.box_state`, re-exported here). The workflow, the web tier and the auditor all fold
the same stream with this code.

Timing: an online or paper ballot must have been cast in ``[opens_at, closes_at)`` (a paper ballot's
``cast_at`` is when the owner filled it in); paper ballots may be entered after ``closes_at`` until the box is
sealed, which at its deadline happens at ``paper_entry_until`` (when the box has one; else at ``closes_at``).
Sealing with reason ``deadline`` needs ``at >= seals_at``; any other reason (e.g. ``withdrawn``) seals early.
The clock is the caller's: the web tier refuses online ballots from ``closes_at`` and paper entry from
``paper_entry_until`` under the stream lock.
"""

from __future__ import annotations

from datetime import datetime

from domain.ballots import Ballot, ProxyBook
from domain.box_state import BoxState, evolve, fold
from domain.commands import AuthoriseProxy, CastBallot, Command, OpenBox, RevokeProxy, SealBox
from domain.errors import (
    N_,
    BallotNotChangeableError,
    BoxAlreadyOpenError,
    BoxClosedError,
    BoxNotOpenError,
    BoxStillOpenError,
    IdempotencyConflictError,
    InvalidChoiceError,
    NotInScopeError,
    NotOnRollError,
    PaperBallotDateError,
    ProxyLimitError,
    ProxyNotAuthorisedError,
    UnknownQuestionError,
    VotingNotStartedError,
)
from domain.events import BallotCast, BoxOpened, BoxSealed, Event, ProxyAuthorised, ProxyRevoked, ResultRecorded
from domain.legal_calendar import BEIJING
from domain.roll import Electorate
from domain.rules import get_rule
from domain.tally import Tally, check_deeming

__all__ = [
    "BoxState",
    "decide",
    "evolve",
    "fold",
    "open_box",
    "cast_ballot",
    "authorise_proxy",
    "revoke_proxy",
    "seal_box",
]


def _when(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def decide(state: BoxState, command: Command) -> list[Event]:
    """The events ``command`` produces in ``state``; raises a ``…Error`` when it is refused."""
    match command:
        case OpenBox():
            return open_box(state, command)
        case CastBallot():
            return cast_ballot(state, command)
        case AuthoriseProxy():
            return authorise_proxy(state, command)
        case RevokeProxy():
            return revoke_proxy(state, command)
        case SealBox():
            return seal_box(state, command)
    raise TypeError(f"not a ballot-box command: {command!r}")


def open_box(state: BoxState, cmd: OpenBox) -> list[Event]:
    if state.status != "new":
        raise BoxAlreadyOpenError(N_("the ballot box is already open; open it only once"))
    get_rule(cmd.rule_id)
    check_deeming(cmd.deem_silent, cmd.deem_over_half)
    cmd.roll.select(cmd.scope)
    if cmd.closes_at <= cmd.opens_at:
        raise BoxNotOpenError(N_("closes_at must be after opens_at"))
    if cmd.paper_entry_until is not None and cmd.paper_entry_until < cmd.closes_at:
        raise BoxNotOpenError(N_("paper_entry_until must not be before closes_at"))
    ids = [q.id for q in cmd.questions]
    if not ids or len(set(ids)) != len(ids):
        raise UnknownQuestionError(N_("give at least one question, ids unique"))
    return [
        BoxOpened(
            deliberation_id=cmd.deliberation_id,
            questions=cmd.questions,
            rule_id=cmd.rule_id,
            scope=cmd.scope,
            roll_digest=cmd.roll.digest(),
            roll=cmd.roll.entries(),
            roll_ref=cmd.roll_ref or cmd.roll.source,
            opens_at=cmd.opens_at,
            closes_at=cmd.closes_at,
            ballots_changeable=cmd.ballots_changeable,
            proxy_limit=cmd.proxy_limit,
            deem_silent=cmd.deem_silent,
            deem_over_half=cmd.deem_over_half,
            paper_entry_until=cmd.paper_entry_until,
            closes_fallback_years=cmd.closes_fallback_years,
        )
    ]


def _require_open(state: BoxState) -> BoxOpened:
    if state.status == "sealed" and state.sealed is not None:
        raise BoxClosedError(
            N_("the box was sealed at %(at)s"), at=_when(state.sealed.at),
        )
    if state.opened is None:
        raise BoxNotOpenError(N_("the ballot box is not open yet; open it first"))
    return state.opened


def _require_voter(electorate: Electorate, owner_id: str) -> None:
    if owner_id not in electorate.roll_owner_ids:
        raise NotOnRollError(
            N_("owner %(owner_id)s is not on the roll frozen for this vote; ask the committee to check the title"),
            owner_id=owner_id,
        )
    if owner_id not in electorate.owner_areas:
        raise NotInScopeError(
            N_("owner %(owner_id)s holds no room in this vote's scope and does not vote in it"), owner_id=owner_id,
        )


def _check_window(opened: BoxOpened, cast_at: datetime, channel: str) -> None:
    if channel == "paper" and not opened.opens_at <= cast_at < opened.closes_at:
        raise PaperBallotDateError(
            N_("the paper ballot was filled in at %(cast_at)s, outside the voting period (%(opens_at)s until "
                    "%(closes_at)s): it cannot count; check the date on the sheet"),
            cast_at=_when(cast_at), opens_at=_when(opened.opens_at), closes_at=_when(opened.closes_at),
        )
    if cast_at < opened.opens_at:
        raise VotingNotStartedError(
            N_("voting opens at %(opens_at)s"), opens_at=_when(opened.opens_at)
        )
    if cast_at >= opened.closes_at:
        raise BoxClosedError(
            N_("voting closed at %(closes_at)s; contact the committee if you object"),
            closes_at=_when(opened.closes_at),
        )


def cast_ballot(state: BoxState, cmd: CastBallot) -> list[Event]:
    opened = _require_open(state)
    ledger = state._live()
    if cmd.idempotency_key is not None and cmd.idempotency_key in ledger.idempotency:
        return _replay(ledger.idempotency[cmd.idempotency_key], cmd)
    question = next((q for q in opened.questions if q.id == cmd.question_id), None)
    if question is None:
        raise UnknownQuestionError(N_("no question %(question_id)s in this vote"), question_id=cmd.question_id)
    if cmd.choice not in question.options:
        raise InvalidChoiceError(N_("'%(choice)s' is not an option of question %(id)s"),
                                 choice=cmd.choice, id=question.id)
    _check_window(opened, cmd.cast_at, cmd.channel)
    _require_voter(ledger.electorate, cmd.owner_id)
    if not opened.ballots_changeable:
        _check_final(ledger.tallies[question.id], cmd)
    event = BallotCast(**cmd.model_dump())
    _check_proxy(ledger.book, event)
    return [event]


def _check_final(running: Tally, cmd: CastBallot) -> None:
    """Ballots cannot be changed: refuse only a ballot that would replace one of the same channel that counts.

    RULES.md: "A paper ballot counts only when the same owner has no online ballot; an owner's last online
    ballot counts" (Shenzhen 深建规〔2020〕14号). So an online ballot after a paper one is accepted and counts
    (online prevails, it changes no online ballot); a paper ballot after an online one is recorded and does not
    count; a second online ballot, or a second paper sheet while no online ballot exists, would change the
    counted ballot and is refused.
    """
    owner = cmd.owner_id
    if cmd.channel == "online" and running.has_online_ballot(owner):
        raise BallotNotChangeableError(
            N_("owner %(owner)s has voted online; ballots are final in this vote"), owner=owner,
        )
    if cmd.channel == "paper" and running.has_paper_ballot(owner) and not running.has_online_ballot(owner):
        raise BallotNotChangeableError(
            N_("a paper ballot of owner %(owner)s is already entered and ballots are final in this vote; if it was "
                    "entered wrongly, the committee must check the original sheet"), owner=owner,
        )


def _replay(previous: BallotCast, cmd: CastBallot) -> list[Event]:
    if BallotCast(**cmd.model_dump()) == previous:
        return []
    raise IdempotencyConflictError(
        N_("idempotency key %(idempotency_key)s was used for a different ballot; use a new key"),
        idempotency_key=cmd.idempotency_key,
    )


def _check_proxy(book: ProxyBook, event: BallotCast) -> None:
    reason = book.check_ballot(Ballot(**event.model_dump(exclude={"type", "idempotency_key"})))
    if reason == "proxy-limit":
        raise ProxyLimitError(
            N_("proxy %(cast_by)s is over the limit; the owner should vote in person"), cast_by=event.cast_by,
        )
    if reason is not None:
        raise ProxyNotAuthorisedError(
            N_("%(cast_by)s held no authorisation from owner %(owner_id)s at that time; record one first or let the "
                    "owner vote"), cast_by=event.cast_by, owner_id=event.owner_id,
        )


def authorise_proxy(state: BoxState, cmd: AuthoriseProxy) -> list[Event]:
    _require_open(state)
    ledger = state._live()
    _require_voter(ledger.electorate, cmd.owner_id)
    if cmd.proxy_owner_id not in ledger.electorate.roll_owner_ids:
        raise NotOnRollError(
            N_("proxy %(proxy_owner_id)s is not on the roll; a proxy must be an owner"),
            proxy_owner_id=cmd.proxy_owner_id,
        )
    current = ledger.book.active_proxy(cmd.owner_id, cmd.at)
    if current == cmd.proxy_owner_id:
        return []
    ledger.book.check_authorise(cmd.owner_id, cmd.proxy_owner_id, cmd.at)
    events: list[Event] = []
    if current is not None:
        events.append(ProxyRevoked(owner_id=cmd.owner_id, proxy_owner_id=current, at=cmd.at, reason="replaced"))
    events.append(ProxyAuthorised(owner_id=cmd.owner_id, proxy_owner_id=cmd.proxy_owner_id, at=cmd.at))
    return events


def revoke_proxy(state: BoxState, cmd: RevokeProxy) -> list[Event]:
    _require_open(state)
    if state._live().book.active_proxy(cmd.owner_id, cmd.at) != cmd.proxy_owner_id:
        raise ProxyNotAuthorisedError(
            N_("owner %(owner_id)s has no authorisation of %(proxy_owner_id)s in force to revoke"),
            owner_id=cmd.owner_id, proxy_owner_id=cmd.proxy_owner_id,
        )
    return [ProxyRevoked(owner_id=cmd.owner_id, proxy_owner_id=cmd.proxy_owner_id, at=cmd.at)]


def seal_box(state: BoxState, cmd: SealBox) -> list[Event]:
    opened = _require_open(state)
    if cmd.reason == "deadline" and cmd.at < opened.seals_at:
        if opened.seals_at == opened.closes_at:
            raise BoxStillOpenError(
                N_("voting runs until %(closes_at)s"), closes_at=_when(opened.closes_at),
            )
        raise BoxStillOpenError(
            N_("paper ballots are entered until %(seals_at)s; seal then"), seals_at=_when(opened.seals_at),
        )
    return [BoxSealed(at=cmd.at, reason=cmd.reason), ResultRecorded(at=cmd.at, results=state.results())]
