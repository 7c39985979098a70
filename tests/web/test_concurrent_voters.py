"""200 residents vote at once, each through their own link."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

from domain.chain import verify_chain
from yishi.services.voting import load_box, parse_receipt_code
from yishi.web.security import SlidingWindow


async def test_200_concurrent_voters(app, client, pool, store, open_deliberation, fields) -> None:
    d = await open_deliberation(200)
    # One test client is one address; real voters come from many.
    app.state.limits.per_address = SlidingWindow(10_000, 60)
    choices = {owner: ("for", "against", "abstain")[i % 3] for i, owner in enumerate(d.owners)}

    async def vote(owner: str) -> str:
        form = fields((await client.get(d.path(owner))).text)
        response = await client.post(form["_action"], data={**form, "choice": choices[owner]})
        assert response.status_code == 200, response.text[:500]
        return re.search(r'id="receipt-code">([^<]+)<', response.text).group(1)  # type: ignore[union-attr]

    codes = await asyncio.gather(*(vote(owner) for owner in d.owners))

    events = await store.read(d.id)
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], d.id)
    by_seq = {e.seq: e for e in events}
    for owner, code in zip(d.owners, codes, strict=True):
        seq, prefix = parse_receipt_code(code)  # type: ignore[misc]
        event = by_seq[seq]
        assert event.type == "BallotCast" and event.hash.startswith(prefix)
        assert event.payload["owner_id"] == owner and event.payload["choice"] == choices[owner]
    cast = Counter(e.payload["owner_id"] for e in events if e.type == "BallotCast")
    assert set(cast) == set(d.owners) and max(cast.values()) == 1, "no owner may be counted twice"
    result = (await load_box(store, d.id)).state.tally().result()
    assert result.participating.owners == 200
    assert result.in_favour.owners == sum(1 for c in choices.values() if c == "for")
    async with pool.acquire() as conn:
        transactions = await conn.fetchval(
            "SELECT count(DISTINCT tx::text) FROM events WHERE stream_id = $1 AND type = 'BallotCast'", d.id)
    assert transactions < 200, "ballots should share group commits"
