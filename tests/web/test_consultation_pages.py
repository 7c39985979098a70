"""The consultation on the committee's procedure page (issue 16): its position tasks are no dead end ("your role
cannot act") but lead to the meeting's page, where the parties' links and the clerk act; and a resident's paper
feedback is typed in from the page during the feedback stage, recorded with who typed it in."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from pydantic import SecretStr

from domain.meeting_events import MeetingDecision
from domain.stage_events import stage_event_from_dict
from domain.topic_events import Actor
from tests.meetings.conftest import links
from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_matters import page_until
from tests.workflows.conftest import (  # noqa: F401 - fixtures
    advance_until,
    cast,
    complete,
    estate_roll,
    running_worker,
    stage_is,
    task_queue,
    ts_env,
    wait_box_open,
    wait_for,
)
from tests.workflows.test_consultation import OWNERS, request
from yishi.services.meeting_links import position_by_link
from yishi.services.meetings import decide_item, hold, record_minutes
from yishi.services.procedures import start_procedure
from yishi.settings import Settings

CLERK = Actor(kind="committee", name="李书记", account="li", community="xfl")


@pytest.fixture
def settings(database_url: str, task_queue: str) -> Settings:  # noqa: F811
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    task_queue=task_queue)


async def test_positions_lead_to_the_meeting_and_feedback_is_typed_in(app, sign_in, ts_env, store, pool,  # noqa: F811
                                                                      task_queue) -> None:  # noqa: F811
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_procedure(env.client, pool, estate_roll(), request(notice="PT48H"),
                                            task_queue=task_queue)
        committee = await sign_in("committee", name="吴主任", community="xfl")
        await complete(handle, "acceptance", "committee", "accepted")
        state = await wait_for(handle, stage_is("positions", "position"), "positions")
        await wait_for(handle, lambda s: sum(t.kind == "position" for t in s.tasks.values()) == 4, "four tasks")
        page = await page_until(committee, f"/console/d/{did}/matter", "task-4", "the four position tasks")
        page = await page_until(committee, f"/console/d/{did}/matter", f'/console/meetings/{state.meeting_id}"',
                                "the meeting convened")
        assert "不能办理" not in page and "cannot act" not in page, page[-1500:]
        assert page.count(f'href="/console/meetings/{state.meeting_id}"') >= 4, "each party's task, and the page"
        meeting_page = await page_until(committee, f"/console/meetings/{state.meeting_id}", "data-item=\"1\"",
                                        "the meeting's page with the issue on its agenda")
        assert "小区充电桩" in meeting_page and "电动车充电难" in meeting_page

        tokens = await links(pool, store, state.meeting_id, (await env.get_current_time()).astimezone(UTC))
        await position_by_link(env.client, pool, tokens["party_member"], state.meeting_id, item_id="1", option="A",
                               text="同意")
        await advance_until(env, handle, stage_is("meeting"), "the meeting", step=timedelta(hours=12))
        await record_minutes(env.client, state.meeting_id, "1", "付诸业主表决", by=CLERK)
        await decide_item(env.client, pool, state.meeting_id, "1", MeetingDecision(
            kind="vote", summary="两个方案付诸业主表决", question="充电桩方案", options=("A", "B")), by=CLERK)
        await hold(env.client, pool, state.meeting_id, by=CLERK)
        await wait_for(handle, stage_is("voting"), "voting")
        await wait_box_open(store, did)
        at = await env.get_current_time()
        for i, owner in enumerate(OWNERS):
            await cast(store, did, owner, "for" if i < 8 else "against", at, question="option:A")
            await cast(store, did, owner, "against", at, question="option:B")
        await advance_until(env, handle, stage_is("implementation", "milestone"), "implementation")
        await wait_for(handle, lambda s: sum(t.kind == "milestone" for t in s.tasks.values()) == 2, "milestones")
        await complete(handle, "milestone", "committee", "done", note="已选址")
        await complete(handle, "milestone", "committee", "done", note="已安装")
        await wait_for(handle, stage_is("feedback"), "feedback")

        page = (await committee.get(f"/console/d/{did}/matter")).text
        assert 'id="feedback-form"' in page, page[-1500:]
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"',
                               page[page.index('id="feedback-form"'):]))
        bad = await committee.post(f"/console/d/{did}/feedback", data={**keys, "owner_id": "O321", "score": "9"})
        assert bad.status_code == 422 and "1 到 5 分" in bad.text, bad.text[-800:]
        done = await committee.post(f"/console/d/{did}/feedback", data={
            **keys, "owner_id": "O321", "score": "4", "comment": "纸质评价表"})
        assert done.status_code == 303, done.text[-800:]
        await handle.terminate("test done")
    events = [stage_event_from_dict(e.type, e.payload) for e in await store.read(did) if e.type == "FeedbackRecorded"]
    assert [(e.owner_id, e.score, e.comment) for e in events] == [("O321", 4, "纸质评价表")], events
    assert events[0].recorded_by.startswith("吴主任（") and events[0].recorded_by.endswith("）"), "who typed it in"
