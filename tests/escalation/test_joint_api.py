"""A joint ticket through the departments' JSON API and the console (issue 19): each department called in reads the
ticket with its parts and who complained, reports in and resolves its own part with its token; a department that
owns no part gets the 404 of an unknown ticket, on the API and on the console's ticket page; the called-in
department's console inbox lists the joint ticket."""

from __future__ import annotations

import uuid

from tests.escalation.conftest import ticket, ticket_until
from tests.workflows.conftest import running_worker
from workflows.escalation_joint import Whistle
from yishi.services.escalations import (
    TicketRequest,
    issue_org_token,
    keep_complainant,
    open_ticket,
    register_org,
    whistle,
)


async def test_parts_over_the_api_and_who_sees_the_complainant(ts_env, store, pool, task_queue, app, client,
                                                                sign_in) -> None:
    app.state.temporal = ts_env.client
    suffix = uuid.uuid4().hex[:6]
    market, urban, planning = f"dept:market-{suffix}", f"dept:urban-{suffix}", f"dept:planning-{suffix}"
    tokens = {}
    for org in (market, urban, planning):
        await register_org(pool, org, role="department")
        tokens[org] = {"Authorization": f"Bearer {await issue_org_token(pool, org)}"}
    tid = f"esc-api-{suffix}"
    digest = await keep_complainant(pool, tid, {"name": "王先生", "phone": "13700000000", "room": "8-2-301"})
    async with running_worker(ts_env, store, pool, task_queue):
        _, handle = await open_ticket(ts_env.client, TicketRequest(
            community="幸福社区", category="market_regulation", subject="商铺油烟", initiator="O-8",
            initiator_kind="owner", start_level="street", complainant_digest=digest), task_queue=task_queue,
            ticket_id=tid)
        await ticket_until(handle, lambda t: t.current is not None, "with the street office")
        await whistle(ts_env.client, tid, Whistle(role="street_office", actor="王", org="street",
                                                  departments=(market, urban), text="综合执法"))
        state = (await client.get(f"/api/v1/escalations/{tid}/state", headers=tokens[market])).json()
        assert [(p["part"], p["owner"]) for p in state["parts"]] == [(1, market), (2, urban)]
        assert state["complainant"] == {"name": "王先生", "phone": "13700000000", "room": "8-2-301"}
        assert (await client.get(f"/api/v1/escalations/{tid}/state", headers=tokens[planning])).status_code == 404
        refused = await client.post(f"/api/v1/escalations/{tid}/parts/1", headers=tokens[urban],
                                    json={"action": "report_in", "actor": "城管"})
        assert refused.status_code == 409 and market in refused.json()["message_en"]
        done = await client.post(f"/api/v1/escalations/{tid}/parts/1", headers=tokens[market],
                                 json={"action": "report_in", "actor": "市场所"})
        assert done.status_code == 200, done.text
        assert (await ticket(handle)).joint.part(1).current.reported_at is not None
        outsider = await client.post(f"/api/v1/escalations/{tid}/parts/2", headers=tokens[planning],
                                     json={"action": "report_in", "actor": "规划"})
        assert outsider.status_code == 404, "an organisation with no part is told nothing"

        department = await sign_in("department", organisation=urban)
        inbox = await department.get("/console/escalations")
        assert inbox.status_code == 200 and tid in inbox.text
        assert (await department.get(f"/console/escalations/t/{tid}")).status_code == 200
        stranger = await sign_in("department", organisation=planning)
        assert (await stranger.get(f"/console/escalations/t/{tid}")).status_code == 404
        await handle.terminate("test done")
