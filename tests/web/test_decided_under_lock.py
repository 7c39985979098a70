"""Ballots are decided under the stream lock, on a fold each process keeps current without reading back.

Each ``EventStore`` below stands for one web process (its own group commit and its own per-process fold),
all on the session's real PostgreSQL: what one process appends, the other learns only under the lock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from activities.eventstore import EventStore
from domain.errors import BallotNotChangeableError, ProxyNotAuthorisedError
from tests.web.conftest import reissue_and_show
from yishi.services.voting import (
    VotingClosedError,
    _stream_log,
    authorise_proxy,
    cast_ballot,
    load_box,
    revoke_proxy,
)


class CountingStore(EventStore):
    """The real store, counting the reads it is asked for (nothing else changes)."""

    reads = 0

    async def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().read(*args, **kwargs)


async def _ballots(store: EventStore, deliberation_id: str) -> list[dict]:
    return [e.payload for e in await store.read(deliberation_id) if e.type == "BallotCast"]


async def test_a_final_ballot_cannot_be_cast_twice_by_racing_processes(pool, open_deliberation) -> None:
    d = await open_deliberation(4, changeable=False)
    first, second = EventStore(pool), EventStore(pool)
    for process in (first, second):  # both folds are warm and show no ballot of o000
        assert (await load_box(process, d.id)).last_ballot("o000") is None
    now = datetime.now(UTC)
    attempts = [
        cast_ballot(first, d.id, "o000", "for", idempotency_key="tab-1", now=now),
        cast_ballot(second, d.id, "o000", "against", idempotency_key="tab-2", now=now),
        cast_ballot(first, d.id, "o000", "abstain", idempotency_key="tab-3", now=now),
        cast_ballot(second, d.id, "o001", "for", idempotency_key="other-owner", now=now),
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    receipts = [r for r in results[:3] if not isinstance(r, BaseException)]
    refused = [r for r in results[:3] if isinstance(r, BallotNotChangeableError)]
    assert len(receipts) == 1 and len(refused) == 2, results
    assert not isinstance(results[3], BaseException), results[3]
    recorded = await _ballots(first, d.id)
    assert sorted(b["owner_id"] for b in recorded) == ["o000", "o001"]
    assert [b["choice"] for b in recorded if b["owner_id"] == "o000"] == [receipts[0].choice]


async def test_a_seal_by_another_process_refuses_a_ballot_decided_on_a_stale_fold(
        pool, open_deliberation, seal) -> None:
    d = await open_deliberation(3)
    web = EventStore(pool)
    box = await load_box(web, d.id)
    await seal(d.id)  # the worker's seal, through another store: this process's fold still shows it open
    stale = await load_box(web, d.id, fresh=False)
    assert stale.state.sealed is None
    with pytest.raises(VotingClosedError):
        await cast_ballot(web, d.id, "o000", "for", idempotency_key="late", now=datetime.now(UTC), box=box)
    assert await _ballots(web, d.id) == []
    assert (await load_box(web, d.id, fresh=False)).state.sealed is not None  # learnt under the lock


async def test_a_process_never_reads_back_its_own_ballots_and_its_fold_matches_a_fresh_one(
        pool, open_deliberation) -> None:
    d = await open_deliberation(40)
    mine, other = CountingStore(pool), EventStore(pool)
    await load_box(mine, d.id)
    await load_box(other, d.id)
    reads_before = mine.reads
    now = datetime.now(UTC)
    choices = ("for", "against", "abstain")
    await asyncio.gather(*(
        cast_ballot(mine if n % 4 else other, d.id, owner, choices[n % 3], idempotency_key=f"k-{n}", now=now)
        for n, owner in enumerate(d.owners)
    ))
    assert mine.reads == reads_before  # the group commit caught up under the lock instead
    cached = await load_box(mine, d.id, fresh=False)
    assert all(cached.last_ballot(owner) for n, owner in enumerate(d.owners) if n % 4)  # its own, unread
    fresh = await load_box(EventStore(pool), d.id)
    refreshed = await load_box(mine, d.id)  # the other process's last groups, read now
    assert refreshed.state.tally("main").result() == fresh.state.tally("main").result()
    assert refreshed.state.tally("main").votes() == fresh.state.tally("main").votes()
    assert [e.hash for e in refreshed.events] == [e.hash for e in fresh.events]
    assert sum(1 for e in refreshed.events if e.type == "BallotCast") == len(d.owners)


async def test_a_proxy_ballot_racing_the_revocation_is_decided_in_stream_order(pool, open_deliberation) -> None:
    d = await open_deliberation(3)
    owner_side, proxy_side = EventStore(pool), EventStore(pool)
    now = datetime.now(UTC)
    await authorise_proxy(owner_side, d.id, "o000", "o001", now=now)
    await load_box(proxy_side, d.id)  # the proxy's process has seen the authorisation
    await revoke_proxy(owner_side, d.id, "o000", "o001", now=now)
    # The proxy's fold still shows the authorisation; under the lock the revocation is known.
    with pytest.raises(ProxyNotAuthorisedError):
        await cast_ballot(proxy_side, d.id, "o000", "for", idempotency_key="by-proxy", now=datetime.now(UTC),
                          cast_by="o001")
    assert await _ballots(owner_side, d.id) == []


async def test_a_link_revoked_after_the_page_was_shown_records_nothing(app, client, pool, store, open_deliberation,
                                                                        fields) -> None:
    """The POST names its holder from this process's live links; the revocation is checked under the lock."""
    d = await open_deliberation(2)
    form = fields((await client.get(d.path("o000"))).text)  # this process has now seen the link live
    await reissue_and_show(store, d.id, "o000", secret_key=app.state.secret_key, by="王委员")
    posted = await client.post(form["_action"], data={**form, "choice": "for"})
    assert posted.status_code == 410 and "receipt-code" not in posted.text
    api = await client.post("/api/v1/ballots", json={"token": d.tokens["o000"], "choice": "for",
                                                     "submission_id": "after-revocation"})
    assert api.status_code == 410 and api.json()["error"] == "link_revoked"
    assert await _ballots(store, d.id) == []
    other = fields((await client.get(d.path("o001"))).text)  # the other owner's ballot is unaffected
    assert (await client.post(other["_action"], data={**other, "choice": "for"})).status_code == 200


class HeldReads(EventStore):
    """The real store; a read can be held after the database answered, until the test lets it return."""

    def __init__(self, pool) -> None:  # type: ignore[no-untyped-def]
        super().__init__(pool)
        self.hold: asyncio.Event | None = None
        self.answered = asyncio.Event()
        self.reads = 0

    async def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.reads += 1
        rows = await super().read(*args, **kwargs)
        if self.hold is not None:
            self.answered.set()
            await self.hold.wait()
        return rows


async def test_a_refresh_overtaken_by_a_group_commit_keeps_the_fold(pool, open_deliberation) -> None:
    """A page's refresh has its answer from the database; before it folds it in, a group commit of this
    process hands the fold the same event (``committed``, which takes no lock). The refresh must skip what
    the fold has, not take it for a broken chain and read the whole stream again."""
    d = await open_deliberation(3)
    web = HeldReads(pool)
    await load_box(web, d.id)
    other = EventStore(pool)
    await cast_ballot(other, d.id, "o001", "for", idempotency_key="elsewhere", now=datetime.now(UTC))
    ballot = (await other.read(d.id))[-1]
    web.hold, web.reads = asyncio.Event(), 0
    page = asyncio.create_task(load_box(web, d.id))  # its read answers with the ballot, then waits
    await asyncio.wait_for(web.answered.wait(), 10)
    _stream_log(web, d.id).committed([ballot])  # as the group commit that wrote it would
    web.hold.set()
    box = await asyncio.wait_for(page, 10)
    assert web.reads == 1  # no second, whole-stream read
    assert [e.seq for e in box.events] == [e.seq for e in await other.read(d.id)]
    assert box.last_ballot("o001") is not None
