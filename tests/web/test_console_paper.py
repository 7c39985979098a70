"""Paper ballots record the committee clerk who typed them in; only committee accounts may enter them; paper
ballots recorded before the clerk was recorded still fold, recount and show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from yishi.services.audit import read_rows, timeline_of
from yishi.services.audit_checks import check_chain, recount
from yishi.services.voting import cast_ballot, load_box


async def _account_id(pool, name: str) -> int:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT id FROM accounts WHERE name = $1", name)


async def _paper_events(store, deliberation_id: str) -> list:  # type: ignore[no-untyped-def]
    box = await load_box(store, deliberation_id)
    return [e for e in box.events if e.type == "BallotCast" and e.payload["channel"] == "paper"]


async def test_only_committee_accounts_enter_paper_ballots(sign_in, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    room = d.roll.rooms[0].room_id
    committee = await sign_in("committee")
    form = fields((await committee.get(f"/console/d/{d.id}/paper")).text, "/paper")
    others = {role: await sign_in(role) for role in ("grid_worker", "street_office")}  # auditors: test_console.py
    for role, other in others.items():
        assert (await other.get(f"/console/d/{d.id}/paper")).status_code == 403, role
        refused = await other.post(form["_action"], data={**form, "room": room, "choice": "for", "paper_ref": role})
        assert refused.status_code == 403 and "没有权限" in refused.text, role
    grid = others["grid_worker"]
    progress = (await grid.get(f"/console/d/{d.id}")).text
    assert f"/console/d/{d.id}/non-voters" in progress and f"/console/d/{d.id}/paper" not in progress
    assert f"/console/d/{d.id}/paper" in (await committee.get(f"/console/d/{d.id}")).text
    assert await _paper_events(store, d.id) == []


async def test_the_clerk_is_recorded_shown_and_audited(sign_in, pool, store, open_deliberation, fields,
                                                       seal) -> None:
    d = await open_deliberation(4)
    rooms = {r.owner_id: r.room_id for r in d.roll.rooms}
    clerk_a, clerk_b = await sign_in("committee", "王录入"), await sign_in("committee", "赵复核")
    id_a = await _account_id(pool, "王录入")
    form_a = fields((await clerk_a.get(f"/console/d/{d.id}/paper")).text, "/paper")
    sheet = {"room": rooms["o001"], "choice": "against", "paper_ref": "纸票-0007"}
    first = await clerk_a.post(form_a["_action"], data={**form_a, **sheet})
    assert first.status_code == 200 and "纸质选票已录入" in first.text
    code = re.search(r'id="receipt-code">([^<]+)<', first.text).group(1)
    # The same sheet typed in again by another clerk: recorded once, under the first clerk, same receipt.
    form_b = fields((await clerk_b.get(f"/console/d/{d.id}/paper")).text, "/paper")
    again = await clerk_b.post(form_b["_action"], data={**form_b, **sheet})
    assert again.status_code == 200 and code in again.text
    # A paper ballot as it was stored before clerks were recorded (no entered_by key at all).
    await cast_ballot(store, d.id, "o002", "for", idempotency_key="legacy-sheet", now=datetime.now(UTC),
                      channel="paper", paper_ref="旧纸票-1")
    paper = await _paper_events(store, d.id)
    assert [e.payload.get("entered_by") for e in paper] == [id_a, None]
    assert "entered_by" not in paper[1].payload

    page = (await clerk_b.get(f"/console/d/{d.id}")).text
    rows = re.findall(r'<tr class="paper-row">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    assert "王录入" in rows[0] and f"#{id_a}" in rows[0] and "纸票-0007" in rows[0]
    assert "未记录（早期录入）" in rows[1] and rooms["o002"] in rows[1]
    english = (await clerk_b.get(f"/console/d/{d.id}?lang=en")).text
    assert "Entered by" in english and "not recorded (entered before clerks were recorded)" in english

    await seal(d.id)
    stream = await read_rows(pool, d.id)
    assert check_chain(d.id, stream).ok
    counted = recount(stream)
    assert counted.error is None
    box = await load_box(store, d.id)
    assert counted.results == {q: r.to_json() for q, r in box.state.results().items()}
    assert box.state.tally().counted_choice("o001") == "against" and box.state.tally().counted_choice("o002") == "for"
    actors = [(e.actor, e.role) for e in timeline_of(stream) if e.type == "BallotCast"]
    assert actors == [(f"account:{id_a}", "committee clerk entering the paper ballot of o001"),
                      ("o002", "paper ballot entered by the committee")]
