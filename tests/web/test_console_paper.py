"""Paper ballots record the committee clerk who typed them in; only committee accounts may enter them; paper
ballots recorded before the clerk was recorded still fold, recount and show. A paper ballot carries the date
(and time) the owner filled it in, before the close, and is entered until the box seals at the end of the
paper-entry window; after the seal a clear refusal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from activities.box import BoxActivities, SealInput
from domain.legal_calendar import BEIJING
from yishi.i18n import translator
from yishi.services.audit import read_rows, timeline_of
from yishi.services.audit_checks import check_chain, recount
from yishi.services.console import enter_paper_ballot
from yishi.services.voting import VotingClosedError, cast_ballot, load_box


async def filled(store, deliberation_id: str,  # type: ignore[no-untyped-def]
                 after: timedelta = timedelta(minutes=1)) -> dict[str, str]:
    """The date and time fields of a sheet filled in ``after`` the box opened (Beijing time)."""
    local = ((await load_box(store, deliberation_id)).opened.opens_at + after).astimezone(BEIJING)
    return {"filled_date": local.date().isoformat(), "filled_time": local.strftime("%H:%M")}


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
    sheet = {"room": rooms["o001"], "choice": "against", "paper_ref": "纸票-0007", **await filled(store, d.id)}
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


async def test_entered_after_the_close_until_the_seal_then_refused(app, sign_in, pool, store, open_deliberation,
                                                                   fields) -> None:
    d = await open_deliberation(4, minutes=60, paper_entry="PT2H")
    box = await load_box(store, d.id)
    closes, until = box.opened.closes_at, box.opened.seals_at
    assert until == closes + timedelta(hours=2)
    rooms = {r.owner_id: r.room_id for r in d.roll.rooms}
    app.state.clock = lambda: closes + timedelta(minutes=30)  # after the close, before the seal
    committee = await sign_in("committee", "钱录入")
    page = (await committee.get(f"/console/d/{d.id}/paper")).text
    assert f"可录入至 {translator('zh').when(until)}" in page and 'name="filled_date"' in page
    assert f"the committee enters them until {translator('en').when(until)}" in (
        await committee.get(f"/console/d/{d.id}/paper?lang=en")).text
    form = fields((await committee.get(f"/console/d/{d.id}/paper?lang=zh")).text, "/paper")

    sheet = {"room": rooms["o001"], "choice": "for", "paper_ref": "纸票-0101", **await filled(store, d.id)}
    entered = await committee.post(form["_action"], data={**form, **sheet})
    assert entered.status_code == 200 and "纸质选票已录入" in entered.text, entered.text
    (ballot,) = [e for e in (await load_box(store, d.id)).events if e.type == "BallotCast"]
    assert datetime.fromisoformat(ballot.payload["cast_at"]).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") == \
        f"{sheet['filled_date']} {sheet['filled_time']}"
    assert ballot.payload["channel"] == "paper" and ballot.payload["entered_by"] is not None

    # A date only: the start of that day, or the opening when the vote opened later that day.
    date_only = {"room": rooms["o002"], "choice": "against", "paper_ref": "纸票-0102",
                 "filled_date": sheet["filled_date"]}
    assert (await committee.post(form["_action"], data={**form, **date_only})).status_code == 200

    late = await filled(store, d.id, after=closes - box.opened.opens_at + timedelta(minutes=1))
    after_close = await committee.post(form["_action"], data={**form, "room": rooms["o000"], "choice": "for",
                                                              "paper_ref": "纸票-0103", **late})
    assert after_close.status_code == 422 and "不在投票期间" in after_close.text
    no_date = await committee.post(form["_action"], data={**form, "room": rooms["o000"], "choice": "for",
                                                          "paper_ref": "纸票-0104"})
    assert no_date.status_code == 422 and "请填写业主填写选票的日期" in no_date.text

    # The window is over but the workflow has not sealed yet: refused all the same.
    app.state.clock = lambda: until + timedelta(seconds=1)
    over = (await committee.get(f"/console/d/{d.id}/paper")).text
    assert f"纸质选票录入已于 {translator('zh').when(until)} 结束" in over and 'name="filled_date"' not in over
    refused = await committee.post(form["_action"], data={**form, "room": rooms["o000"], "choice": "for",
                                                          "paper_ref": "纸票-0105", **await filled(store, d.id)})
    assert refused.status_code == 410 and "纸质选票录入已结束" in refused.text

    # Sealed at its deadline: refused on the page and under the stream lock, whatever the clerk's clock says.
    await BoxActivities(store, pool).seal_box(SealInput(deliberation_id=d.id, at=until))
    app.state.clock = lambda: closes + timedelta(minutes=45)
    after_seal = await committee.post(form["_action"], data={**form, "room": rooms["o000"], "choice": "for",
                                                             "paper_ref": "纸票-0106", **await filled(store, d.id)})
    assert after_seal.status_code == 410 and "纸质选票录入已结束" in after_seal.text
    with pytest.raises(VotingClosedError):
        await enter_paper_ballot(store, d.id, "o000", "for", paper_ref="纸票-0107", clerk_id=1,
                                 idempotency_key="paper-late", now=closes + timedelta(minutes=45),
                                 question_id="main", filled_at=closes - timedelta(minutes=5))

    sealed = await load_box(store, d.id)
    assert [e.payload["paper_ref"] for e in sealed.events if e.type == "BallotCast"] == ["纸票-0101", "纸票-0102"]
    assert sealed.state.recorded.results["main"].participating.owners == 2
    stream = await read_rows(pool, d.id)
    assert check_chain(d.id, stream).ok
    counted = recount(stream)
    assert counted.error is None and counted.results == {q: r.to_json() for q, r in sealed.state.results().items()}


async def test_online_ballots_are_refused_from_the_close(app, store, open_deliberation, fields, client) -> None:
    d = await open_deliberation(2, paper_entry="PT2H")
    form = fields((await client.get(d.path("o000"))).text)
    app.state.clock = lambda: d.closes_at
    closed = await client.post(form["_action"], data={**form, "choice": "for"})
    assert closed.status_code == 410 and "投票已截止" in closed.text
    assert [e for e in await store.read(d.id) if e.type == "BallotCast"] == []
