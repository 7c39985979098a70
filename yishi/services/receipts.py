"""Receipt check: is the ballot with this code in the stream, and under the published final head?

Read-only. The page deliberately shows neither the choice nor whether the owner later changed the
ballot: a receipt must not let anyone (a vote buyer, a pushy relative) verify how, or whether still,
someone voted — the freedom to change one's ballot until the deadline protects against that.

The published final head is the ``ResultRecorded`` event that the seal appends together with
``BoxSealed`` (``activities.box.seal_box`` returns it for the result notice): the seal closes the box
under the stream lock, so every counted ballot precedes it. Once sealed, the chain from seq 1 to that
head is recomputed with :func:`domain.chain.verify_chain`; the ballot is "under the final head" when its
seq is below the head's and the recomputed head equals the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from activities.eventstore import EventStore
from domain.chain import ChainBreak, verify_chain
from yishi.services.voting import parse_receipt_code


@dataclass(frozen=True)
class ReceiptCheck:
    deliberation_id: str
    seq: int
    hash: str
    recorded_at: datetime
    sealed: bool = False
    final_seq: int | None = None
    final_hash: str | None = None
    under_final: bool | None = None
    chain_error: str | None = None


async def find_ballots(pool: asyncpg.Pool, code: str) -> list[asyncpg.Record]:
    parsed = parse_receipt_code(code)
    if parsed is None:
        raise ValueError("not a receipt code")
    seq, prefix = parsed
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT stream_id, seq, hash, recorded_at FROM events"
            " WHERE seq = $1 AND hash LIKE $2 AND type = 'BallotCast' ORDER BY position",
            seq, prefix + "%",
        )


async def _seal(pool: asyncpg.Pool, stream_id: str) -> asyncpg.Record | None:
    """The published final head: the first ``ResultRecorded`` (else ``BoxSealed``) of the stream."""
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT seq, hash FROM events WHERE stream_id = $1 AND type IN ('ResultRecorded', 'BoxSealed')"
            " ORDER BY (type = 'ResultRecorded') DESC, seq LIMIT 1",
            stream_id,
        )


async def check_receipt(pool: asyncpg.Pool, store: EventStore, code: str) -> list[ReceiptCheck]:
    """Every ballot matching ``code`` (normally one; none for an unknown code).

    Raises ``ValueError`` when ``code`` is not shaped like a receipt code.
    """
    checks = []
    for row in await find_ballots(pool, code):
        check = ReceiptCheck(row["stream_id"], row["seq"], row["hash"], row["recorded_at"])
        seal = await _seal(pool, row["stream_id"])
        if seal is not None:
            check = await _against_seal(store, check, seal["seq"], seal["hash"])
        checks.append(check)
    return checks


async def _against_seal(store: EventStore, check: ReceiptCheck, seal_seq: int, seal_hash: str) -> ReceiptCheck:
    events = await store.read(check.deliberation_id, limit=seal_seq)
    error = None
    try:
        head = verify_chain((e.envelope() | {"hash": e.hash} for e in events), check.deliberation_id)
        if head != (seal_seq, seal_hash):
            error = f"head {head[0]} does not match the seal at {seal_seq}"
    except ChainBreak as exc:
        error = str(exc)
    return ReceiptCheck(
        check.deliberation_id, check.seq, check.hash, check.recorded_at, sealed=True, final_seq=seal_seq,
        final_hash=seal_hash, under_final=error is None and check.seq < seal_seq, chain_error=error,
    )
