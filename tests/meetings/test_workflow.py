"""A meeting end to end on the time-skipping server with the real activities and PostgreSQL: positions through the
parties' links, the reminder, attendance (own link, door, clerk), minutes, a three-option vote opened as the
existing ballot box and counted, the session closed, confirmations through links with one party missing at the
window's end, publication; and the refusals a party or clerk can act on."""

from __future__ import annotations

from datetime import UTC

import pytest

from activities.meetings import load_meeting
from domain.meeting_events import MeetingDecision, vote_id
from domain.roll import Scope
from domain.stage_events import NoticePublished
from tests.meetings.conftest import CLERK, advance, links, meeting_until, scheduled
from tests.texts import en, zh
from tests.workflows.conftest import cast, estate_roll, running_worker, save_history, stream_types, wait_box_open
from yishi.services.meeting_links import confirm_by_link, position_by_link, sign_by_link
from yishi.services.meetings import (
    MeetingRefusedError,
    VoteRequest,
    cancel,
    decide_item,
    hold,
    record_minutes,
    sign_attendance,
)

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


async def test_positions_vote_confirmations_and_publication(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        meeting_id, handle, starts = await scheduled(env, pool, settings)
        now = (await env.get_current_time()).astimezone(UTC)
        tokens = await links(pool, store, meeting_id, now)
        assert set(tokens) == {"p1", "p2", "p3", "door"}
        await position_by_link(env.client, pool, tokens["p1"], meeting_id, item_id="1", option="A", text="离住户远")
        await position_by_link(env.client, pool, tokens["p2"], meeting_id, item_id="1", option="B",
                               text="北侧电容够，施工快")
        with pytest.raises(MeetingRefusedError) as refused:
            await position_by_link(env.client, pool, tokens["p1"], meeting_id, item_id="1", option="D", text="")
        assert "“D”不在其中" in zh(refused.value)
        with pytest.raises(MeetingRefusedError) as refused:
            await sign_by_link(env.client, pool, tokens["p1"], meeting_id)
        assert "two hours before" in en(refused.value), "no sign-in two days ahead"

        await env.sleep(starts - now)  # the meeting starts (the reminder went out a day before)
        await sign_by_link(env.client, pool, tokens["p1"], meeting_id)
        await sign_by_link(env.client, pool, tokens["door"], meeting_id, party_id="p2")
        await sign_by_link(env.client, pool, tokens["door"], meeting_id, name="居民张阿姨")
        await sign_attendance(env.client, meeting_id, party_id="p3", name="", by=CLERK)
        await record_minutes(env.client, meeting_id, "1", "三处选址各有利弊，物业说明了北侧电容", by=CLERK)
        vote = MeetingDecision(kind="vote", summary="三处选址付诸业主表决")
        await decide_item(env.client, pool, meeting_id, "1", vote, by=CLERK, roll=estate_roll(), settings=settings,
                          vote=VoteRequest(question="充电桩建在哪里", options=("A", "B", "C"),
                                           scope=Scope(building="3"), voting="P2D", paper_entry="PT0S"))
        did = vote_id(meeting_id, "1")
        await wait_box_open(store, did)
        at = await env.get_current_time()
        for i, owner in enumerate(OWNERS):
            await cast(store, did, owner, "for" if i < 8 else "against", at, question="option:A")
            await cast(store, did, owner, "for" if i < 5 else "against", at, question="option:B")
            await cast(store, did, owner, "for" if i < 3 else "against", at, question="option:C")
        receipt = await hold(env.client, pool, meeting_id, by=CLERK)
        assert receipt.status == "held"
        version = (await meeting_until(handle, lambda m: m.status == "held", "held")).minutes_version
        await confirm_by_link(env.client, pool, tokens["p1"], meeting_id, minutes_version=version)
        await confirm_by_link(env.client, pool, tokens["p2"], meeting_id, minutes_version=version)
        with pytest.raises(MeetingRefusedError):
            await confirm_by_link(env.client, pool, tokens["door"], meeting_id, minutes_version=version)
        # p3 never confirms: published when the window ends; the vote closes meanwhile
        await advance(env, handle, lambda m: m.status == "published" and m.items["1"].vote is not None, "published")
        result = await handle.result()
        await save_history(handle, "meeting")
    assert (result.status, result.unconfirmed) == ("published", ("p3",))
    meeting, _, _ = await load_meeting(store, meeting_id)
    item = meeting.items["1"]
    assert {p: (s.option, s.via) for p, s in item.positions.items()} == {"p1": ("A", "link"), "p2": ("B", "link")}
    assert {a.attendee_id: a.via for a in meeting.attendees.values()} == {"p1": "link", "p2": "door",
                                                                          "guest-1": "door", "p3": "clerk"}
    assert item.vote is not None and (item.vote.winner, item.vote.reason) == ("A", "winner")
    assert item.vote.outcomes == {"option:A": "approved", "option:B": "rejected", "option:C": "rejected"}
    types = await stream_types(store, meeting_id)
    assert types.index("ItemVoteCounted") > types.index("MeetingHeld")
    assert types.count("MinutesConfirmed") == 2
    notices = [NoticePublished(**e.payload) for e in await store.read(meeting_id) if e.type == "NoticePublished"]
    assert [n.kind for n in notices] == ["meeting", "reminder", "minutes", "reminder", "minutes_published"]
    assert notices[1].recipients == ("p1", "p2", "p3") and notices[3].recipients == ("p3",)
    published = next(e for e in await store.read(meeting_id) if e.type == "MinutesPublished")
    assert (notices[-1].head_seq, notices[-1].head_hash) == (published.seq, published.hash)
    assert "业主代表赵" in notices[-1].body_zh, "the party that did not confirm is named"
    assert "ResultRecorded" in await stream_types(store, did), "the box's own stream was counted"
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT procedure, community FROM deliberations WHERE id = $1", did)
    assert (row["procedure"], row["community"]) == ("meeting_vote", "xfl")


async def test_cancelled_before_it_starts(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        meeting_id, handle, _ = await scheduled(env, pool, settings, in_days=5)
        with pytest.raises(MeetingRefusedError) as refused:
            await cancel(env.client, meeting_id, reason=" ", by=CLERK)
        assert "取消理由" in zh(refused.value)
        await cancel(env.client, meeting_id, reason="台风预警，改期", by=CLERK)
        result = await handle.result()
    assert result.status == "cancelled"
    kinds = [e.payload["kind"] for e in await store.read(meeting_id) if e.type == "NoticePublished"]
    assert kinds == ["meeting", "meeting_cancelled"]
