"""A missed take-up deadline on the console, on the time-skipping server: the list marks the topic, the topic page
says the deadline was missed and where the topic went (the street office), the street office sees it in its list,
and the committee can still take it up, recorded as late — which the proposer reads on the tracking page."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from tests.clock import advance_to
from tests.topics.conftest import COMMUNITY, raised, topic_until
from tests.web.conftest import BASE_URL, SECRET, form_fields
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from yishi.settings import Settings


@pytest.fixture
def settings(database_url: str, task_queue: str) -> Settings:  # noqa: F811
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    task_queue=task_queue)


async def test_a_missed_take_up_deadline_is_visible_and_a_late_take_is_recorded(ts_env, app, store, pool,  # noqa: F811
                                                                                task_queue, settings, sign_in,  # noqa: F811
                                                                                client) -> None:
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, result = await raised(env, pool, settings, title="小区东门路灯不亮",
                                                description="一到晚上就黑")
        first = (await topic_until(handle, lambda t: t.take_up is not None, "assigned")).take_up
        committee = await sign_in("committee", community=COMMUNITY)
        listed = (await committee.get("/console/topics")).text
        row = re.search(rf'<tr class="topic-row">.*?{topic_id}.*?</tr>', listed, re.S).group(0)
        assert "已超期" not in row
        await advance_to(env, first.due_at)
        await topic_until(handle, lambda t: t.take_up.level_key == "street", "the street office's turn")

        row = re.search(rf'<tr class="topic-row">.*?{topic_id}.*?</tr>',
                        (await committee.get("/console/topics")).text, re.S).group(0)
        assert "已超期" in row, row
        page = (await committee.get(f"/console/topics/{topic_id}")).text
        assert 'id="missed"' in page and "社区党委未按时领题，已上报街道办事处" in page, page[-1500:]
        street = await sign_in("street_office", community=None)
        assert topic_id in (await street.get("/console/topics")).text, "the street office sees it"

        take = form_fields(page, "/act")
        done = await committee.post(take.pop("_action"), data=take)
        assert done.status_code == 303, done.text[-600:]
        await topic_until(handle, lambda t: t.status == "taken", "taken")
        html = (await client.get(f"/tt/{result.tracking.token}")).text
        assert "社区已领题（超过了期限）" in html and "社区党委未按时领题" in html
        await handle.terminate("test done")
