"""Scheduling a meeting from the console with topics on its agenda when one of them changes between the check and
the start (another clerk resolved it meanwhile): the meeting exists, so the answer is its page — saying which topic
is not on the agenda and why, with the agenda picker — not a 422 on the scheduling form. The other topic is on."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from pydantic import SecretStr

from domain.legal_calendar import BEIJING
from tests.meetings.conftest import scheduled
from tests.topics.conftest import CLERK, raised
from tests.workflows.conftest import running_worker, stream_types, task_queue, ts_env  # noqa: F401 - fixtures
from workflows.meeting_inputs import ItemInput
from yishi.services.meetings import list_meetings, update
from yishi.services.topics import resolve, take
from yishi.settings import Settings
from yishi.web import console_meetings


@pytest.fixture
def settings(database_url: str, task_queue: str) -> Settings:  # noqa: F811
    return Settings(database_url=database_url, secret_key=SecretStr("topics-test-key"), task_queue=task_queue)


async def test_a_topic_resolved_meanwhile_lands_on_the_meeting_page(  # noqa: F811
        app, sign_in, ts_env, store, pool, task_queue, settings, monkeypatch) -> None:  # noqa: F811
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        gone, _, _ = await raised(env, pool, settings, title="南门路灯坏了", description="晚上很黑")
        kept, kept_handle, _ = await raised(env, pool, settings, title="北门积水", description="下雨就淹")
        for topic_id in (gone, kept):
            await take(env.client, topic_id, by=CLERK)
        committee = await sign_in("committee", community="xfl")
        page = (await committee.get("/console/meetings")).text
        assert f'name="topic_{gone}"' in page and f'name="topic_{kept}"' in page
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page[page.index('id="schedule-form"'):]))

        checked = console_meetings.agenda_topic

        async def checked_then_resolved(pool, topic_id, community, **kw):  # type: ignore[no-untyped-def]
            summary = await checked(pool, topic_id, community, **kw)
            if topic_id == gone:  # another clerk resolves it between the check and the meeting's start
                await resolve(env.client, gone, by=CLERK, resolution="物业已修好路灯")
            return summary

        monkeypatch.setattr(console_meetings, "agenda_topic", checked_then_resolved)
        title = f"周末议事厅 {uuid.uuid4().hex[:6]}"
        starts = ((await env.get_current_time()).astimezone(BEIJING) + timedelta(days=3)).strftime("%Y-%m-%d 19:00")
        done = await committee.post("/console/meetings/new", data={
            **keys, "title": title, "kind": "weekend_hall", "starts_at": starts, "place": "社区议事厅",
            f"topic_{gone}": "1", f"topic_{kept}": "1"})
        assert done.status_code == 200, done.text[-800:]
        (row,) = [r for r in await list_meetings(pool, community="xfl") if r["title"] == title]
        meeting_id = row["meeting_id"]
        error = re.search(r'id="meeting-error">([^<]*)<', done.text).group(1)  # type: ignore[union-attr]
        assert meeting_id in error and gone in error and "南门路灯坏了" in error and "没能列入议程" in error, error
        assert "已办结" in error, f"the topic's own reason: {error}"
        assert "重新列入" in error
        assert 'id="topic-form"' in done.text, "the agenda picker, to try again"
        assert "TopicScheduled" not in await stream_types(store, gone)
        assert "TopicScheduled" in await stream_types(store, kept), "the other topic is on the agenda"
        english = await committee.get(f"/console/meetings/{meeting_id}?lang=en")
        assert english.status_code == 200
        await kept_handle.terminate("test done")
        await env.client.get_workflow_handle(meeting_id).terminate("test done")
        await env.client.get_workflow_handle(gone).terminate("test done")


async def test_an_interrupted_topic_is_offered_again_and_put_on(app, sign_in, ts_env, store, pool,  # noqa: F811
                                                                settings) -> None:
    """Half a step: the meeting lists the topic's item (the update went through) but the topic never recorded it
    (the step stopped there). The picker offers the topic again, and adding it records ``TopicScheduled`` on the
    same item — no second item."""
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, settings.task_queue):
        topic_id, topic_handle, _ = await raised(env, pool, settings, title="北门积水", description="下雨就淹")
        await take(env.client, topic_id, by=CLERK)
        meeting_id, handle, _ = await scheduled(env, pool, settings)
        await update(env.client, meeting_id, "add_item", ItemInput(by=CLERK, title="北门积水", topic_id=topic_id))
        committee = await sign_in("committee", community="xfl")
        page = (await committee.get(f"/console/meetings/{meeting_id}")).text
        form = page[page.index('id="topic-form"'):]
        form = form[:form.index("</form>")]
        assert f'value="{topic_id}"' in form, "offered again: the topic has not recorded this meeting"
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', form))
        done = await committee.post(f"/console/meetings/{meeting_id}/act",
                                    data={**keys, "action": "topic", "topic_id": topic_id, "options": ""})
        assert done.status_code == 303, done.text[-800:]
        scheduled_on = next(e.payload for e in await store.read(topic_id) if e.type == "TopicScheduled")
        assert (scheduled_on["meeting_id"], scheduled_on["item_id"]) == (meeting_id, "2")
        assert (await stream_types(store, meeting_id)).count("AgendaItemAdded") == 2, "the same item, not a third"
        page = (await committee.get(f"/console/meetings/{meeting_id}")).text
        form = page[page.index('id="topic-form"'):]
        assert f'value="{topic_id}"' not in form[:form.index("</form>")], "on the agenda now: not offered"
        await handle.terminate("test done")
        await topic_handle.terminate("test done")
