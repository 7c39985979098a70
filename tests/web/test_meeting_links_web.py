"""A party's invitation page over HTTP: unknown tokens from one address are slowed down (429) without ever locking
out a valid link behind the same address; a form without the link's CSRF field writes nothing; markup typed by a
party is shown as text, never as markup; the residents' page names no party."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from pydantic import SecretStr

from tests.meetings.conftest import PARTIES, SECRET, links, meeting_until, scheduled
from tests.workflows.conftest import running_worker, stream_types, task_queue, ts_env  # noqa: F401 - fixtures
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

        public = (await client.get(f"/meetings/{meeting_id}")).text
        assert "充电桩选址" in public and not any(p.name in public for p in PARTIES)
        assert (await client.get("/meetings/meeting-000000000000")).status_code == 404
        await handle.terminate("test done")
