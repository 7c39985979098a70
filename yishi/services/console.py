"""What the committee console shows: double-majority progress per building and entrance, the owners who
have not voted (for door-to-door visits), and the paper ballots.

Each group is counted by the domain itself: the group's owners form an electorate and
:func:`domain.tally.tally` counts the stream's ballots and proxies against the deliberation's rule. The
per-group figures tell where to canvass; only the whole scope's result decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import asyncpg
import structlog

from activities.eventstore import EventStore
from domain.ballots import Ballot, ProxyRecord
from domain.box_state import settings_of
from domain.procedures import deliberation_of
from domain.roll import Roll, RoomEntry, Scope
from domain.rules import Threshold, get_rule
from domain.tally import tally
from domain.tally_result import TallyResult
from yishi.services.accounts import Account
from yishi.services.voting import Box, FormAlreadyUsedError, Receipt, cast_ballot

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Bar:
    """One ratio against its threshold (``threshold`` None: shown for information)."""

    name_zh: str
    name_en: str
    ratio: Fraction | None
    threshold: Threshold | None
    met: bool | None


@dataclass
class GroupProgress:
    building: str | None
    entrance: str | None
    result: TallyResult
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Progress:
    rule_id: str
    rule_name_zh: str
    rule_name_en: str
    overall: GroupProgress
    buildings: list[GroupProgress]
    entrances: list[GroupProgress]


def _bars(result: TallyResult) -> list[Bar]:
    bars = [Bar(c.name_zh, c.name_en, c.ratio, c.threshold, c.met) for c in result.conditions]
    if not any(c.stage == "quorum" for c in result.conditions):
        ratios = result.ratios
        bars[:0] = [Bar("参与表决面积占比", "participation by area", ratios.participation_area, None, None),
                    Bar("参与表决人数占比", "participation by headcount", ratios.participation_owners, None, None)]
    return bars


def _inputs(box: Box, question_id: str) -> tuple[list[Ballot], list[ProxyRecord]]:
    ballots, proxies = [], []
    for stored in box.events:
        payload = stored.payload
        if stored.type == "BallotCast" and payload.get("question_id", "main") == question_id:
            ballots.append(Ballot(**{k: v for k, v in payload.items() if k not in ("type", "idempotency_key")}))
        elif stored.type in ("ProxyAuthorised", "ProxyRevoked"):
            kind = "authorise" if stored.type == "ProxyAuthorised" else "revoke"
            proxies.append(ProxyRecord(kind=kind, owner_id=payload["owner_id"],
                                       proxy_owner_id=payload["proxy_owner_id"], at=payload["at"]))
    return ballots, proxies


def _key(text: str | None) -> tuple[int, int | str]:
    text = text or ""
    return (0, int(text)) if text.isdigit() else (1, text)


def progress(box: Box, question_id: str | None = None) -> Progress:
    """Progress on one question of the box (its first by default), overall and per building and entrance."""
    opened = box.opened
    question_id = question_id or opened.questions[0].id
    rule = get_rule(opened.rule_id)
    settings = settings_of(opened)
    ballots, proxies = _inputs(box, question_id)
    in_scope = Roll.from_entries([r for r in opened.roll if opened.scope.contains(r)])

    def group(building: str, entrance: str | None) -> GroupProgress:
        electorate = in_scope.select(Scope(building=building, entrance=entrance))
        result = tally(electorate, rule, ballots, proxies=proxies, settings=settings)
        return GroupProgress(building, entrance, result, _bars(result))

    buildings = sorted({r.building for r in in_scope.rooms}, key=_key)
    entrances = sorted({(r.building, r.entrance) for r in in_scope.rooms}, key=lambda p: (_key(p[0]), _key(p[1])))
    overall = box.state.tally(question_id).result()
    return Progress(
        rule.id, rule.name_zh, rule.name_en, GroupProgress(None, None, overall, _bars(overall)),
        [group(b, None) for b in buildings], [group(b, e) for b, e in entrances],
    )


@dataclass(frozen=True)
class Household:
    owner_id: str
    rooms: list[RoomEntry]
    name: str
    phone: str
    proxy_rooms: str | None = None


async def contacts(pool: asyncpg.Pool, digest: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        found = await conn.fetchval("SELECT contacts FROM rolls WHERE digest = $1", digest)
    return found or {}


def non_voters(box: Box, contact_book: dict[str, Any]) -> list[Household]:
    """Owners in scope with no counted ballot on some question of the box (they have a vote left to cast), in
    building/entrance/room order, with name and phone."""
    tallies = [box.state.tally(q.id) for q in box.opened.questions]
    missing = [o for o in box.state.electorate.owner_areas if any(t.counted_choice(o) is None for t in tallies)]
    households = []
    for owner_id in missing:
        person = contact_book.get(owner_id) or {}
        households.append(Household(owner_id, box.rooms_of(owner_id), person.get("name") or "",
                                    person.get("phone") or ""))
    return sorted(households, key=lambda h: [(_key(r.building), _key(r.entrance), r.room_id) for r in h.rooms])


@dataclass(frozen=True)
class PaperEntry:
    owner_id: str
    rooms: list[RoomEntry]
    choice: str
    paper_ref: str | None
    seq: int
    counted: bool  # False when the owner also voted online: online prevails
    question_id: str = "main"
    entered_by: int | None = None  # the clerk's account id; None for sheets entered before clerks were recorded
    clerk: str = ""  # that account's name, when known


def paper_ballots(box: Box, clerks: dict[int, str] | None = None) -> list[PaperEntry]:
    """The paper ballots of the box in stream order; ``clerks`` names the accounts that entered them."""
    entries = []
    for stored in box.events:
        if stored.type == "BallotCast" and stored.payload.get("channel") == "paper":
            owner, question = stored.payload["owner_id"], stored.payload.get("question_id", "main")
            clerk_id = stored.payload.get("entered_by")
            entries.append(PaperEntry(owner, box.rooms_of(owner), stored.payload["choice"],
                                      stored.payload.get("paper_ref"), stored.seq,
                                      _paper_counts(box, question, owner), question,
                                      clerk_id, (clerks or {}).get(clerk_id, "") if clerk_id is not None else ""))
    return entries


def _paper_counts(box: Box, question: str, owner: str) -> bool:
    """Whether the ballot that counts for ``owner`` is a paper one (no online ballot prevails over it)."""
    counted = box.state.tally(question).counted_ballot(owner)
    return counted is not None and counted[0] == "paper"


def paper_clerk_ids(box: Box) -> set[int]:
    return {e.payload["entered_by"] for e in box.events
            if e.type == "BallotCast" and e.payload.get("entered_by") is not None}


async def enter_paper_ballot(store: EventStore, deliberation_id: str, owner_id: str, choice: str, *,
                             paper_ref: str | None, clerk_id: int, idempotency_key: str, now: datetime,
                             question_id: str, filled_at: datetime | None = None) -> Receipt:
    """Record a paper ballot typed in by the committee account ``clerk_id``; its receipt once committed.

    :func:`yishi.services.voting.cast_ballot` with ``channel="paper"``, the clerk in the event (``entered_by``)
    and, as ``cast_at``, ``filled_at``: when the owner filled it in (before the close; entered until the seal).
    The same sheet entered again (same ``idempotency_key``), by any clerk, returns the first receipt and records
    nothing; :class:`FormAlreadyUsedError` if that sheet was entered with another choice.
    """
    receipt = await cast_ballot(store, deliberation_id, owner_id, choice, idempotency_key=idempotency_key, now=now,
                                channel="paper", paper_ref=paper_ref, question_id=question_id, entered_by=clerk_id,
                                cast_at=filled_at)
    if receipt.channel != "paper":
        raise FormAlreadyUsedError(receipt)
    log.info("ballot.paper_entered", deliberation_id=deliberation_id, seq=receipt.seq, entered_by=clerk_id)
    return receipt


UNASSIGNED = "default"
"""The community of deliberations started without one (a single-community installation): shown to everyone."""
COMMUNITY_BOUND_ROLES = ("committee", "grid_worker")


def home_community(account: Account) -> str | None:
    """The one community a committee or grid-worker account works for (``yishi user add --community``), or
    None when the account may see every community (street office, department, auditor, or no community set).
    Escalation tickets follow the same rule (services/escalations.py ``may_see``)."""
    if account.role in COMMUNITY_BOUND_ROLES and account.community:
        return account.community
    return None


def may_see_community(account: Account, community: str) -> bool:
    home = home_community(account)
    return home is None or community in (home, UNASSIGNED)


async def list_deliberations(pool: asyncpg.Pool, *, community: str | None = None,
                             home: str | None = None) -> list[dict[str, Any]]:
    """The latest 200 deliberations, each with its community; ``community`` keeps one community's only.

    ``home`` (a community-bound account's community) keeps that community's and the unassigned ones, the
    home community's first.
    """
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT d.id, d.title, d.procedure, d.closes_at, d.community, s.sealed_at FROM deliberations d"
            " LEFT JOIN streams s ON s.stream_id = d.id"
            " WHERE ($1::text IS NULL OR d.community = $1) AND ($2::text IS NULL OR d.community IN ($2, $3))"
            " ORDER BY ($2::text IS NOT NULL AND d.community = $2) DESC, d.created_at DESC LIMIT 200",
            community, home, UNASSIGNED,
        )
    from yishi.services.procedures import WORKFLOW_TYPES

    return [{**r, "matter": r["procedure"] in WORKFLOW_TYPES} for r in rows]


async def list_communities(pool: asyncpg.Pool, *, home: str | None = None) -> list[tuple[str, int]]:
    """(community, number of deliberations) for the filter; for a community-bound account its own (first) and
    the unassigned one only."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT community, count(*) AS n FROM deliberations"
            " WHERE ($1::text IS NULL OR community IN ($1, $2)) GROUP BY community"
            " ORDER BY (community = $1) DESC NULLS LAST, community", home, UNASSIGNED,
        )
    return [(row["community"], row["n"]) for row in rows]


async def deliberation_community(pool: asyncpg.Pool, deliberation_id: str) -> str | None:
    """The deliberation's community, or None when the registry does not list it (a bare stream)."""
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT community FROM deliberations WHERE id = $1", deliberation_id)


async def console_stream_community(pool: asyncpg.Pool, stream_id: str) -> str | None:
    """The community of a stream the console shows under ``/console/d/{id}``, by the registry that lists it: a
    deliberation's (and its re-vote boxes', ``…~r2``) by ``deliberations``, a meeting's (its notices' delivery
    board) by ``meetings``. None for any other id: a topic, a ticket, a ledger, a capability or structure stream
    (they have pages and walls of their own), or an id nothing lists."""
    async with pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT community FROM deliberations WHERE id = $1"
            " UNION ALL SELECT community FROM meetings WHERE meeting_id = $2 LIMIT 1",
            deliberation_of(stream_id), stream_id)


async def may_see_deliberation(pool: asyncpg.Pool, account: Account, deliberation_id: str) -> bool:
    """The community rule (:func:`may_see_community`) for one ``/console/d/{id}`` stream, denying by default.

    An account bound to no community (street office, department, auditor) passes without asking the database;
    its role decides. A community-bound account (committee, grid worker) sees the stream only when
    :func:`console_stream_community` places it in its own community or the unassigned one: a stream whose
    community cannot be established (a topic, a ticket, a ledger, an intake-link stream, an unknown id) is
    hidden from it, and the page answers the 404 an unknown id gets (issue 17).
    """
    if home_community(account) is None:
        return True
    community = await console_stream_community(pool, deliberation_id)
    return community is not None and may_see_community(account, community)
