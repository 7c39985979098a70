"""A community's points ledger (文明积分, 先锋指数) and exchange shop: the service the CLI and the console share.

Every act is a command decided under the ledger stream's lock (yishi/services/folds.py): a balance or a stock
never goes below zero, whatever arrives at once. The ledger opens itself on first use (``LedgerOpened``). People are
named by opaque ids (``p-<12 hex>``); their names and phones live in the ``people`` table, never in the stream.
Points for taking part in a vote read only *whether* an owner has a ballot in the deliberation's streams (the
``owner_id`` of its ``BallotCast`` events, in SQL), never what it says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from activities.eventstore import EventStore, StoredEvent
from domain.errors import N_
from domain.operator import Operator
from domain.points import Ledger
from domain.points_decide import (
    Award,
    HandOver,
    HideName,
    OpenLedger,
    PointsCommand,
    PointsError,
    Redeem,
    RegisterPerson,
    decide,
)
from domain.points_events import POINTS_EVENT_TYPES, PersonKind, SourceRef, points_event_from_dict, points_stream
from yishi.services.capabilities import Capability, issue_capability
from yishi.services.folds import FoldSpec, append_decided, load, new_events

log = structlog.get_logger(__name__)
POINTS: FoldSpec[Ledger] = FoldSpec("points", POINTS_EVENT_TYPES, points_event_from_dict, Ledger, Ledger.apply,
                                    Ledger.copy)
CODE_FORMAT = b"yishi-redeem/1"


async def ledger(store: EventStore, community: str) -> Ledger:
    """The community's ledger as of now (an empty one before its first act)."""
    return await load(store, points_stream(community), POINTS)


async def act(store: EventStore, community: str, command: PointsCommand, *, key: str | None = None,
              link: str | None = None) -> list[StoredEvent]:
    """Decide ``command`` on the ledger under its lock and append the events (opening the ledger first if new)."""

    def decide_all(state: Ledger) -> list[Any]:
        events = []
        if state.community is None:
            events = decide(state, OpenLedger(at=command.at, by=command.by, community=community))
            state = state.copy()
            for event in events:
                state.apply(event)
        return new_events([*events, *decide(state, command)])

    stored = await append_decided(store, points_stream(community), POINTS, decide_all, idempotency_key=key, link=link)
    log.info("points.act", community=community, command=type(command).__name__, by=command.by.name,
             role=command.by.role, events=len(stored))
    return stored


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


# ---- people ----------------------------------------------------------------------------------------------------


async def register_person(pool: asyncpg.Pool, store: EventStore, community: str, *, name: str, kind: PersonKind,
                          by: Operator, now: datetime, phone: str | None = None, unit: str | None = None,
                          owner_id: str | None = None, person_id: str | None = None) -> str:
    """Register a person in the community's ledger; their name and phone go to ``people``, not the stream."""
    person_id = person_id or new_id("p")
    command = RegisterPerson(at=now, by=by, person_id=person_id, person_kind=kind, unit=unit, owner_id=owner_id)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO people (person_id, community, name, phone) VALUES ($1, $2, $3, $4)"
                           " ON CONFLICT (person_id) DO NOTHING", person_id, community, name, phone)
    await act(store, community, command, key=f"person:{person_id}")
    return person_id


async def people_names(pool: asyncpg.Pool, person_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``person_id -> {name, phone, display_name, community}`` (for staff pages and statements, never public)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT person_id, community, name, phone, display_name FROM people"
                                " WHERE person_id = ANY($1::text[])", person_ids)
    return {r["person_id"]: dict(r) for r in rows}


async def person_link(pool: asyncpg.Pool, store: EventStore, community: str, person_id: str, *, by: Operator,
                      secret_key: str, now: datetime) -> Capability:
    """The person's own link (``/me/<token>``): points, hours, activities, redemptions, certificate, opt-in."""
    if person_id not in (await ledger(store, community)).people:
        raise PointsError(N_("no person %(person_id)s in the ledger; register them first"), person_id=person_id)
    return await issue_capability(pool, store, kind="person", subject=points_stream(community), holder=person_id,
                                  community=community, issued_by=f"{by.role}:{by.name}", secret_key=secret_key,
                                  now=now)


async def shop_link(pool: asyncpg.Pool, store: EventStore, community: str, shop: str, *, by: Operator,
                    secret_key: str, now: datetime) -> Capability:
    """A partner shop's clerk link (``/sh/<token>``): the clerk looks a redemption code up and hands its item over,
    recorded under the shop's name (role ``clerk``, via ``link``). One live link per shop; revoked like any link."""
    return await issue_capability(pool, store, kind="shop", subject=points_stream(community), holder=shop,
                                  community=community, issued_by=f"{by.role}:{by.name}", secret_key=secret_key,
                                  now=now)


async def set_display_name(pool: asyncpg.Pool, person_id: str, display_name: str | None) -> None:
    """The name the public leaderboard shows for a person who opted in (chosen by them; None: none)."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE people SET display_name = $2 WHERE person_id = $1", person_id, display_name)


# ---- awards ----------------------------------------------------------------------------------------------------


async def award(store: EventStore, community: str, *, person_id: str, rule_id: str, by: Operator, now: datetime,
                reason: str = "", source: SourceRef | None = None, facts: dict[str, str] | None = None,
                quantity: int = 1, award_id: str | None = None) -> list[StoredEvent]:
    award_id = award_id or new_id("aw")
    command = Award(at=now, by=by, award_id=award_id, person_id=person_id, rule_id=rule_id, quantity=quantity,
                    reason=reason, source=source, facts=facts or {})
    return await act(store, community, command, key=f"award:{award_id}")


async def ballot_owners(pool: asyncpg.Pool, deliberation_id: str) -> set[str]:
    """The owners with a ballot in the deliberation (its stream and its vote rounds' boxes): who took part, read from
    ``owner_id`` alone; the choice is never selected."""
    async with pool.acquire() as conn:
        boxes = await conn.fetch("SELECT DISTINCT payload->>'box_stream' AS s FROM events WHERE stream_id = $1"
                                 " AND type = 'VoteRoundOpened'", deliberation_id)
        streams = [deliberation_id, *(r["s"] for r in boxes if r["s"])]
        rows = await conn.fetch("SELECT DISTINCT payload->>'owner_id' AS owner FROM events"
                                " WHERE stream_id = ANY($1::text[]) AND type = 'BallotCast'", streams)
    return {r["owner"] for r in rows}


async def award_vote_participation(pool: asyncpg.Pool, store: EventStore, community: str, deliberation_id: str, *,
                                   by: Operator, now: datetime) -> int:
    """Award the participation rule to every registered owner who took part in ``deliberation_id``; returns how
    many were awarded now. Refused while participation points are off (the default)."""
    state = await ledger(store, community)
    rule = state.active_rule("vote_participation")
    if not state.vote_participation or rule is None:
        raise PointsError(N_("points for taking part in a vote are off (the default), or no rule counts them"))
    took_part = await ballot_owners(pool, deliberation_id)
    source = SourceRef(kind="deliberation", ref=deliberation_id)
    given = 0
    for person_id, account in sorted(state.people.items()):
        if account.owner_id is None or account.owner_id not in took_part:
            continue
        if (rule.rule.rule_id, person_id, source.key()) in state.occasions:
            continue
        await award(store, community, person_id=person_id, rule_id=rule.rule.rule_id, by=by, now=now, source=source,
                    award_id=f"vote-{deliberation_id}-{person_id}", reason="参与投票 / took part in a vote")
        given += 1
    return given


# ---- the shop --------------------------------------------------------------------------------------------------


def redemption_code(secret_key: str, community: str, redemption_id: str) -> str:
    """The code the resident shows and the clerk scans: 256 bits derived from the secret key, so the resident's page
    can show it again; the stream keeps only its SHA-256."""
    message = b"\x00".join([CODE_FORMAT, community.encode(), redemption_id.encode()])
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Redemption:
    redemption_id: str
    code: str
    cost: int
    seq: int


async def redeem(store: EventStore, community: str, *, person_id: str, item_id: str, by: Operator, now: datetime,
                 secret_key: str, link: str | None = None, request_id: str | None = None) -> Redemption:
    """Spend points on an item; :class:`~domain.points_decide.OutOfStockError` or
    :class:`~domain.points_decide.InsufficientPointsError` when it cannot be. ``request_id`` makes a double tap
    one redemption."""
    redemption_id = request_id or new_id("rd")
    code = redemption_code(secret_key, community, redemption_id)
    command = Redeem(at=now, by=by, redemption_id=redemption_id, person_id=person_id, item_id=item_id,
                     code_sha256=code_hash(code))
    stored = await act(store, community, command, key=f"redeem:{redemption_id}", link=link)
    event = next(e for e in stored if e.type == "Redeemed")
    return Redemption(event.payload["redemption_id"], code, event.payload["cost"], event.seq)


async def hand_over(store: EventStore, community: str, code: str, *, by: Operator, now: datetime) -> dict[str, Any]:
    """The clerk scanned ``code``: hand the item over (once). Returns what was handed over."""
    state = await ledger(store, community)
    redemption_id = state.codes.get(code_hash(code))
    if redemption_id is None:
        raise PointsError(N_("no such redemption code in this community: check that it was typed in full"))
    # No idempotency key: a second scan of a code handed over is refused, so the clerk never hands out twice.
    await act(store, community, HandOver(at=now, by=by, redemption_id=redemption_id))
    return describe(state, redemption_id)


def describe(state: Ledger, redemption_id: str) -> dict[str, Any]:
    found = state.redemptions[redemption_id]
    item = state.items[found.item_id].item
    return {"redemption_id": redemption_id, "person_id": found.person_id, "item_id": found.item_id,
            "item": item.name_zh, "item_en": item.name_en, "cost": found.cost, "status": found.status,
            "at": found.at}


async def look_up(store: EventStore, community: str, code: str) -> dict[str, Any] | None:
    """What a redemption code stands for in ``community`` (None: no such code there); changes nothing."""
    state = await ledger(store, community)
    redemption_id = state.codes.get(code_hash(code))
    return None if redemption_id is None else describe(state, redemption_id)


async def leaderboard(pool: asyncpg.Pool, store: EventStore, community: str, *,
                      limit: int = 20) -> list[dict[str, Any]]:
    """The public leaderboard: people who opted in, by points earned, each under the name they chose (no id, no
    phone, no room). Nobody who has not opted in appears, nor is counted in a rank."""
    state = await ledger(store, community)
    opted = {pid: a for pid, a in state.people.items() if a.opted_in}
    names = await people_names(pool, list(opted))
    ranked = sorted(opted.items(), key=lambda item: (-item[1].earned, item[0]))[:limit]
    return [{"rank": n, "name": shown_name(names.get(pid) or {}, a.hidden_names), "earned": a.earned,
             "pioneer": a.pioneer if a.party_member else None} for n, (pid, a) in enumerate(ranked, 1)]


def name_sha256(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


async def hide_name(pool: asyncpg.Pool, store: EventStore, community: str, person_id: str, *, reason: str,
                    by: Operator, now: datetime) -> list[StoredEvent]:
    """Hide the name ``person_id`` chose for the leaderboard (moderation, as a topic's comment is hidden): recorded
    as ``LeaderboardNameHidden`` with the reason and the name's sha256; the board shows the masked name instead."""
    if person_id not in (await ledger(store, community)).people:  # the community's own ledger only
        raise PointsError(N_("no person %(person_id)s in the ledger; register them first"), person_id=person_id)
    chosen = ((await people_names(pool, [person_id])).get(person_id) or {}).get("display_name") or ""
    if not chosen:
        raise PointsError(N_("%(person_id)s chose no name for the leaderboard: the masked name shows already"),
                          person_id=person_id)
    command = HideName(at=now, by=by, person_id=person_id, name_sha256=name_sha256(chosen), reason=reason[:200])
    return await act(store, community, command)


def shown_name(person: dict[str, Any], hidden: frozenset[str] = frozenset()) -> str:
    """The name a public page shows for someone who opted in: the one they chose unless the committee hid it, else
    their surname and stars."""
    if person.get("display_name") and name_sha256(str(person["display_name"])) not in hidden:
        return str(person["display_name"])
    name = str(person.get("name") or "")
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"
