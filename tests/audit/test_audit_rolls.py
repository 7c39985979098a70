"""`audit verify` reads a frozen roll from the ``rolls`` table only when the database does not find it equal to
the roll its ``BoxOpened`` records; the roll check's verdicts are those of reading it (real PostgreSQL)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from activities.eventstore import EventStore, NewEvent
from yishi.services.audit import frozen_rolls, read_rows, rolls_to_check
from yishi.services.audit_checks import check_roll

ENTRIES = [{"room_id": f"1-1-{n}", "building": "1", "entrance": "1", "floor": "1", "area_m2": f"{80 + n}.5",
            "owner_id": f"O{n}"} for n in range(5)]


async def opened_stream(pool: Any, store: EventStore, recorded: list[dict[str, str]],
                        frozen: list[dict[str, str]] | None) -> tuple[str, str]:
    """A stream whose only event is a ``BoxOpened`` recording ``recorded`` under a fresh digest, and that
    digest's row in the rolls table holding ``frozen`` (none when None)."""
    digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    if frozen is not None:
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO rolls (digest, entries, contacts) VALUES ($1, $2, '{}')", digest, frozen)
    stream = f"rolls-{uuid.uuid4().hex[:8]}"
    await store.append(stream, [NewEvent(type="BoxOpened", payload={"roll_digest": digest, "roll": recorded},
                                         occurred_at=datetime.now(UTC))])
    return stream, digest


async def test_an_equal_frozen_roll_is_not_read_again(pool: Any, store: EventStore) -> None:
    stream, digest = await opened_stream(pool, store, ENTRIES, [dict(e) for e in ENTRIES])
    rows = {stream: await read_rows(pool, stream)}
    given = await rolls_to_check(pool, rows)
    assert given[digest] is rows[stream][0]["payload"]["roll"]  # the recorded rows, not a second read
    assert given[digest] == (await frozen_rolls(pool, [digest]))[digest]


async def test_a_different_or_missing_frozen_roll_is_read_and_judged_as_before(pool: Any, store: EventStore) -> None:
    changed = [dict(ENTRIES[0], area_m2="999.5"), *ENTRIES[1:]]
    stream, digest = await opened_stream(pool, store, ENTRIES, changed)
    missing_stream, missing = await opened_stream(pool, store, ENTRIES, None)
    rows = {stream: await read_rows(pool, stream), missing_stream: await read_rows(pool, missing_stream)}
    given = await rolls_to_check(pool, rows)
    assert given == {digest: changed}
    read = await frozen_rolls(pool, [digest, missing])
    for name, stream_rows in rows.items():
        assert check_roll(name, stream_rows, given) == check_roll(name, stream_rows, read)
