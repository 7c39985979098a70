"""The committee closes its appraisal before the window ends, from the console: the workflow closes it and records
the result of the ratings given (``AppraisalClosed`` with reason ``committee`` and the member's name, before the
deadline), the read model and the page follow; another community's committee gets the unknown page and nothing
closes; a second close is refused. The history recorded with the early close replays (tests/histories)."""

from __future__ import annotations

from typing import Any

from tests.points.appraisal_setup import open_and_link, scores, street_register
from tests.web.test_appraisal_page import csrf_of
from tests.workflows.conftest import running_worker, save_history, task_queue, ts_env  # noqa: F401
from workflows.appraisal import AppraisalOutcome
from yishi.services import appraisals
from yishi.services.appraisal_rows import row_of


async def test_the_committee_closes_an_appraisal_early(app, sign_in, ts_env, pool, store,  # noqa: F811
                                                       task_queue) -> None:  # noqa: F811
    env: Any = ts_env
    async with running_worker(env, store, pool, task_queue):
        app.state.temporal = env.client
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, now = await open_and_link(env, pool, store, street, task_queue)
        for owner, given in (("O321", scores(5, 4, 2, 3)), ("O322", scores(4, 4, 1, 3))):
            await appraisals.rate(pool, store, tokens[owner], given, now=now)
        path = f"/console/appraisals/{appraisal_id}/close"

        outsider = await sign_in("committee", community="别的社区")
        theirs = await outsider.get("/console/appraisals")
        refused = await outsider.post(path, data=csrf_of(theirs.text))
        assert refused.status_code == 404 and "页面不存在" in refused.text
        committee = await sign_in("committee", community="xfl")
        page = await committee.get("/console/appraisals")
        assert "立即结束测评" in page.text
        done = await committee.post(path, data=csrf_of(page.text))
        assert done.status_code == 303, done.text[-800:]
        handle = env.client.get_workflow_handle(appraisal_id, result_type=AppraisalOutcome)
        outcome = await handle.result()
        assert outcome.raters == 2
        state = await appraisals.appraisal(store, appraisal_id)
        assert state.closed is not None and state.opened is not None and state.recorded is not None
        assert (state.closed.reason, state.closed.by.role, state.closed.by.via) == ("committee", "committee",
                                                                                      "console")
        assert state.closed.at < state.opened.closes_at and state.reminders == 0
        assert (await row_of(pool, appraisal_id))["status"] == "closed"  # type: ignore[index]
        shown = (await committee.get("/console/appraisals")).text
        assert "提前结束" in shown and "测评结束时记录的结果" in shown
        again = await committee.post(path, data=csrf_of(shown))
        assert again.status_code == 409 and "已经结束" in again.text
        await save_history(handle, "appraisal_closed_early")
