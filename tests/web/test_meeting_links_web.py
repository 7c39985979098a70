"""A party's invitation page over HTTP: unknown tokens from one address are slowed down (429) without ever locking
out a valid link behind the same address; a form without the link's CSRF field writes nothing; markup typed by a
party is shown as text, never as markup; the residents' page names no party."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, timedelta

import pytest
from pydantic import SecretStr

from domain.legal_calendar import BEIJING
from tests.meetings.conftest import PARTIES, SECRET, links, meeting_until, scheduled
from tests.workflows.conftest import running_worker, stream_types, task_queue, ts_env  # noqa: F401 - fixtures
from yishi.services.meetings import list_meetings
from yishi.settings import Settings


@pytest.fixture
def settings(database_url: str, task_queue: str) -> Settings:  # noqa: F811
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), task_queue=task_queue)


async def test_party_page_throttles_guesses_not_the_party(app, client, ts_env, store, pool, task_queue,  # noqa: F811
                                                          settings) -> None:
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        meeting_id, handle, _ = await scheduled(env, pool, settings)
        tokens = await links(pool, store, meeting_id, (await env.get_current_time()).astimezone(UTC))
        statuses = [(await client.get(f"/m/guess{n:04d}")).status_code for n in range(40)]
        assert statuses[0] == 403 and statuses[-1] == 429, statuses
        page = await client.get(f"/m/{tokens['p1']}")
        assert page.status_code == 200 and "充电桩选址" in page.text, "the party's own link is served"

        before = await stream_types(store, meeting_id)
        forged = await client.post(f"/m/{tokens['p1']}", data={"action": "position", "meeting_id": meeting_id,
                                                               "item_id": "1", "option": "A", "text": "x"})
        assert forged.status_code == 403 and await stream_types(store, meeting_id) == before

        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page.text))
        markup = "<script>alert(1)</script><b>粗体</b>"
        done = await client.post(f"/m/{tokens['p1']}", data={**keys, "action": "position", "meeting_id": meeting_id,
                                                             "item_id": "1", "option": "A", "text": markup})
        assert done.status_code == 303, done.text[-600:]
        await meeting_until(handle, lambda m: "p1" in m.items["1"].positions, "the position")
        shown = (await client.get(f"/m/{tokens['p1']}")).text
        assert "<script>alert(1)</script>" not in shown and "&lt;script&gt;" in shown

        english = await client.get(f"/m/{tokens['p1']}?lang=en")
        assert english.status_code == 200 and "Send my position" in english.text  # codes shown as labels (raw_codes)
        public = (await client.get(f"/meetings/{meeting_id}")).text
        assert "充电桩选址" in public and not any(p.name in public for p in PARTIES)
        assert (await client.get("/meetings/meeting-000000000000")).status_code == 404
        await handle.terminate("test done")


async def test_a_weekly_series_from_the_console(app, sign_in, ts_env, store, pool, task_queue) -> None:  # noqa: F811
    """每周五晚七点: the schedule form with "every week" plans a series in the account's own community; its workflow
    schedules the Fridays ahead, each with the parties of the form."""
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        committee = await sign_in("committee", community="幸福社区")
        page = (await committee.get("/console/meetings")).text
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page[page.index('id="schedule-form"'):]))
        now = (await env.get_current_time()).astimezone(BEIJING)
        friday = (now + timedelta(days=(4 - now.weekday()) % 7 or 7)).date()
        with_topic = await committee.post("/console/meetings/new", data={
            **keys, "title": "民声七点办", "kind": "seven_pm", "starts_at": f"{friday} 19:00", "place": "社区议事厅",
            "weekly": "1", "topic_topic-000000000000": "1"})
        assert with_topic.status_code == 422 and "系列会议不能直接带议题" in with_topic.text, with_topic.text[-600:]
        page = with_topic.text
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page[page.index('id="schedule-form"'):]))
        done = await committee.post("/console/meetings/new", data={
            **keys, "title": "民声七点办", "kind": "seven_pm", "starts_at": f"{friday} 19:00", "place": "社区议事厅",
            "weekly": "1", "party_kind_1": "residents_committee", "party_name_1": "社居委", "community": "别的社区"})
        assert done.status_code == 303 and "series=series-" in done.headers["location"], done.text[-600:]
        series_id = done.headers["location"].split("series=")[1]
        for _ in range(100):
            rows = await list_meetings(pool, series_id=series_id)
            if len(rows) >= 2 and all(r["parties"] for r in rows):
                break
            await asyncio.sleep(0.1)
        starts = sorted(r["starts_at"].astimezone(BEIJING) for r in rows)
        assert len(starts) >= 2 and all(s.weekday() == 4 and s.strftime("%H:%M") == "19:00" for s in starts), starts
        assert {r["community"] for r in rows} == {"幸福社区"}, "the account's own community, not the one named"
        assert starts[0].date() == friday
        listed = await committee.get("/console/meetings?lang=en")
        assert listed.status_code == 200 and "Seven O'Clock" in listed.text.replace("&#39;", "'")
        occurrence = await committee.get(f"/console/meetings/{rows[0]['meeting_id']}?lang=en")
        assert occurrence.status_code == 200 and "Print the invitation links" in occurrence.text
        await env.client.get_workflow_handle(series_id).terminate("test done")


async def test_a_lost_party_link_is_replaced_from_the_meeting_page(app, sign_in, ts_env, store, pool, task_queue,  # noqa: F811
                                                                   settings) -> None:
    """The meeting page's "replace the link" form: the party's old link stops working at once, the new one is shown
    (only it: the other parties' links are not reprinted), and the chain records the revocation and the new issue."""
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        meeting_id, handle, _ = await scheduled(env, pool, settings)
        old = await links(pool, store, meeting_id, (await env.get_current_time()).astimezone(UTC))
        committee = await sign_in("committee", community="xfl")
        page = (await committee.get(f"/console/meetings/{meeting_id}")).text
        assert 'id="reissue-form"' in page and old["p1"] not in page, "the page shows no token"
        form = page[page.index('id="reissue-form"'):]
        keys = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', form[:form.index("</form>")]))
        before = await stream_types(store, meeting_id)
        shown = await committee.post(f"/console/meetings/{meeting_id}/links", data={**keys, "reissue": "p1"})
        assert shown.status_code == 200 and 'id="link-replaced"' in shown.text, shown.text[-600:]
        holders = re.findall(r'class="card sheet invitation" data-holder="([^"]+)"', shown.text)
        assert holders == ["p1"], holders
        new = re.search(r'class="invitation-url" href="[^"]*/m/([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
        assert new != old["p1"]
        assert (await committee.get(f"/m/{old['p1']}")).status_code in (403, 410), "the lost link no longer works"
        assert (await committee.get(f"/m/{new}")).status_code == 200
        assert (await committee.get(f"/m/{old['p2']}")).status_code == 200, "the other parties' links still work"
        after = await stream_types(store, meeting_id)
        assert after[:len(before)] == before
        assert after[len(before):] == ["CapabilityRevoked", "CapabilityIssued"], after[len(before):]
        await handle.terminate("test done")
