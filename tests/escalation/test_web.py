"""The inbox in the web app: a street-office user signs in, sees the ticket with its deadlines, acknowledges
and resolves it by POST forms with CSRF; the owner rates it through a personal link; an organisation's
system acts through the JSON API with its bearer token; the rates page draws its chart."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.escalation.conftest import ticket_until
from tests.escalation.seed import AS_OF, seed
from tests.web.conftest import BASE_URL, form_fields
from tests.workflows.conftest import running_worker, stream_types
from yishi.services.escalations import TicketRequest, issue_org_token, open_ticket, register_org

COMMUNITY = "幸福社区"  # the community tests/web's sign_in gives its accounts


def action_form(html: str, action: str) -> dict[str, str]:
    for match in re.finditer(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(2)))
        if fields.get("action") == action:
            return {**fields, "_action": match.group(1)}
    raise AssertionError(f"no {action} form on the page")


async def test_inbox_acknowledge_resolve_and_follow_up(ts_env, store, pool, task_queue, app, sign_in) -> None:
    env = ts_env
    app.state.temporal = env.client
    async with running_worker(env, store, pool, task_queue):
        tid, handle = await open_ticket(env.client, TicketRequest(
            community=COMMUNITY, category="housing", subject="旧物业拒不撤场", initiator="O311",
            initiator_kind="owner", start_level="street"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.current is not None, "assigned")
        street = await sign_in("street_office")
        inbox = await street.get("/console/escalations")
        assert inbox.status_code == 200 and tid in inbox.text and "旧物业拒不撤场" in inbox.text
        page = await street.get(f"/console/escalations/t/{tid}")
        form = action_form(page.text, "acknowledge")
        forged = await street.post(form["_action"], data={**form, "csrf": "0" * 32})
        assert forged.status_code == 403 and "Acknowledged" not in await stream_types(store, tid)
        done = await street.post(form.pop("_action"), data=form)
        assert done.status_code == 303
        page = await street.get(done.headers["location"])
        assert '<dd id="ticket-status" data-status="acknowledged">已签收</dd>' in page.text
        acknowledged = next(e for e in await store.read(tid) if e.type == "Acknowledged")
        assert acknowledged.payload["org"] == "street" and acknowledged.payload["by"].startswith("street_office-")
        form = action_form(page.text, "resolve")
        refused = await street.post(form.pop("_action"), data={**form, "outcome": "resolved", "text": ""})
        assert refused.status_code == 409 and "书面办理意见" in refused.text
        form = action_form(refused.text, "resolve")
        done = await street.post(form.pop("_action"), data={**form, "outcome": "resolved", "text": "限期撤场"})
        assert done.status_code == 303
        other = await sign_in("department")  # no organisation: sees nothing of it
        assert (await other.get(f"/console/escalations/t/{tid}")).status_code == 404
        committee = await sign_in("committee")
        page = await committee.get(f"/console/escalations/t/{tid}")
        assert "/f/" not in page.text, "staff never see the owner's link: they print it on a slip"
        slip = form_fields(page.text, "/slip")
        printed = await committee.post(slip.pop("_action"), data=slip)
        link = re.search(r'<p class="slip-url">(http[^<]+/f/[\w-]+)</p>', printed.text).group(1)
        path = link.removeprefix(BASE_URL)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as owner:  # the owner, no session
            answer_page = await owner.get(path)
            assert answer_page.status_code == 200 and "限期撤场" in answer_page.text
            assert "FollowUpAnswered" not in await stream_types(store, tid), "GET changes nothing"
            fields = form_fields(answer_page.text, path)
            fields.pop("_action")
            thanks = await owner.post(path, data={**fields, "answer": "satisfied"})
            assert thanks.status_code == 200
        result = await handle.result()
    assert result.status == "closed"
    answered = next(e for e in await store.read(tid) if e.type == "FollowUpAnswered")
    assert answered.payload["by"] == "O311" and answered.payload["answer"] == "satisfied"


async def test_api_actions_with_an_organisation_token(ts_env, store, pool, task_queue, app) -> None:
    env = ts_env
    app.state.temporal = env.client
    mark = uuid.uuid4().hex[:4]
    org, community = f"dept:housing-{mark}", f"web-{mark}"  # a community's name, not the department's id
    await register_org(pool, org, role="department", name_zh="区住建委")
    token = await issue_org_token(pool, org)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO escalation_ladders (community, ladder) VALUES ($1, $2)", community, {
            "levels": [{"key": "department", "org": "", "name_zh": "区部门", "name_en": "Dept",
                        "roles": ["department"]}],
            "departments": {"housing": {"org": org, "name_zh": "区住建委", "name_en": "Housing"}}})
    transport = httpx.ASGITransport(app=app)
    async with running_worker(env, store, pool, task_queue), httpx.AsyncClient(
            transport=transport, base_url=BASE_URL) as client:
        tid, handle = await open_ticket(env.client, TicketRequest(community=community, category="housing", subject="漏",
                                                                  initiator="committee"), task_queue=task_queue)
        await ticket_until(handle, lambda t: t.owner == org, "assigned to the department")
        url = f"/api/v1/escalations/{tid}/actions"
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.post(url, json={"action": "acknowledge", "actor": "x"})).status_code == 401
        wrong = await client.post(url, json={"action": "acknowledge", "actor": "x"},
                                  headers={"Authorization": "Bearer " + "A" * 43})
        assert wrong.status_code == 401
        ok = await client.post(url, json={"action": "acknowledge", "actor": "房管科张三"}, headers=auth)
        assert ok.status_code == 200 and ok.json()["status"] == "acknowledged", ok.text
        refused = await client.post(url, json={"action": "resolve", "actor": "张三", "outcome": "resolved"},
                                    headers=auth)
        assert refused.status_code == 409 and "write the resolution" in refused.json()["message_en"]
        state = await client.get(f"/api/v1/escalations/{tid}/state", headers=auth)
        assert state.status_code == 200 and state.json()["owner"] == org
        assert state.json()["assignments"][0]["acknowledged_at"] is not None
        await handle.terminate("test done")


async def test_rates_page_draws_the_chart(store, pool, app, sign_in) -> None:
    community = f"page-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    app.state.clock = lambda: AS_OF
    committee = await sign_in("committee", community=community)  # a committee counts its own community's only
    page = await committee.get("/console/escalations/rates?from=2026-03-01&to=2026-03-31&lang=en")
    assert page.status_code == 200
    # Every seeded copy has the same ratios (see test_rates.py): street response 4/5, department 1/2.
    assert "80.0% (4/5)" in page.text and "50.0% (1/2)" in page.text
    assert page.text.count("<svg") >= 3 * 3 and '<rect class="bar-met" x="0" y="4" width="240"' in page.text
    bad = await committee.get("/console/escalations/rates?from=2026-04-01&to=2026-03-01")
    assert bad.status_code == 422
