"""Every action keeps the wall of the page that shows it (issue 17 item 1), on the real dev server and PostgreSQL.

Found by an outside test: a committee account of community A posted ``provide_info``, then ``follow_up`` with
``satisfied``, to ``/console/escalations/t/{id}/act`` for a ticket of community B: the route checked the session
and the CSRF field but not the ticket page's rule, and the workflow only the role. Now every action route is
listed with its wall (tests/web/walls.py; a route added without being listed fails here), and each walled
action is attacked by a staff account of another community (and of a wrong organisation): it answers the
404 an unknown id gets and writes nothing, while the same action by the right account is done."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.secrets import env_name
from domain.channel_config import Channel, QuietHours
from domain.legal_calendar import BEIJING
from domain.points_events import points_stream
from domain.roll import Scope
from tests.channels.servers import Behaviour, http_server
from tests.escalation.conftest import ticket_until
from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_console_start import new_form, post, started_id
from tests.web.test_matters import page_until
from tests.web.test_person_pages import COMMITTEE
from tests.web.walls import (
    ACTION_ROUTES,
    READ_ROUTES,
    WALLED,
    WALLS,
    app_routes,
    hidden,
    other_community,
    written,
)
from tests.workflows.conftest import estate_roll, running_worker, stream_types
from workflows.escalation import TicketAction
from workflows.escalation_joint import Whistle
from yishi.services import points, volunteers
from yishi.services.channels import book as channel_book
from yishi.services.channels import remove_channel, set_channel, set_quiet_hours
from yishi.services.escalations import TicketRequest, act, issue_org_token, open_ticket, register_org, whistle
from yishi.services.meetings import meeting_state
from yishi.services.procedures import StartRequest, start_procedure
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

HOME = "幸福社区"  # sign_in's default community
QUEUE = f"walls-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE)


@dataclass
class World:
    app: Any
    sign_in: Callable[..., Awaitable[httpx.AsyncClient]]
    open: Callable[..., Awaitable[Any]]
    store: Any
    pool: Any
    temporal: Client

    async def form(self, client: httpx.AsyncClient) -> dict[str, str]:
        """The session's CSRF pair, from any console page (they are bound to the session, not to a form)."""
        html = (await client.get("/console")).text
        pair = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html))
        assert set(pair) == {"nonce", "csrf"}, html[-600:]
        return pair

    async def refused(self, client: httpx.AsyncClient, path: str, data: dict[str, str], stream_id: str,
                      what: str) -> None:
        before = await written(self.store, self.pool, stream_id)
        hidden(await client.post(path, data={**await self.form(client), **data}), what)
        assert await written(self.store, self.pool, stream_id) == before, f"{what}: something was written"

    async def ticket(self, **fields: Any) -> str:
        request = TicketRequest(**{"community": HOME, "category": "housing", "subject": "楼道堆物",
                                   "initiator": "业委会", "start_level": "street", **fields})
        tid, handle = await open_ticket(self.temporal, request, task_queue=QUEUE)
        await ticket_until(handle, lambda t: t.current is not None, "the ticket's first assignment")
        return tid


@pytest.fixture
async def world(app, sign_in, open_deliberation, store, pool, temporal_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        yield World(app, sign_in, open_deliberation, store, pool, temporal)


# ---- the deliberation's wall ---------------------------------------------------------------------------------


async def paper(w: World) -> None:
    d = await w.open(4, community=HOME)
    fields = {"room": d.roll.rooms[0].room_id, "paper_ref": "P-1", "choice": "for", **d.sheet}
    path = f"/console/d/{d.id}/paper"
    await w.refused(await w.sign_in("committee", community=other_community()), path, fields, d.id, "paper")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 200 and 'id="receipt-code"' in done.text, done.text[-600:]
    assert "BallotCast" in await stream_types(w.store, d.id)


async def paper_settings(w: World) -> None:
    """The scan-reference setting of the deliberation's community: another community's committee cannot change it."""
    from yishi.services.community_settings import community_settings

    community = other_community()  # a community of its own: the setting is per community
    d = await w.open(2, community=community)
    path = f"/console/d/{d.id}/paper/settings"
    outsider = await w.sign_in("committee", community=other_community())
    hidden(await outsider.post(path, data={**await w.form(outsider), "paper_ref": "optional"}), "paper settings")
    assert (await community_settings(w.pool, community)).paper_ref_required, "unchanged"
    committee = await w.sign_in("committee", community=community)
    done = await committee.post(path, data={**await w.form(committee), "paper_ref": "optional"})
    assert done.status_code == 303, done.text[-600:]
    assert not (await community_settings(w.pool, community)).paper_ref_required


async def links(w: World) -> None:
    d = await w.open(4, community=HOME, links=False)
    path = f"/console/d/{d.id}/links"
    await w.refused(await w.sign_in("committee", community=other_community()), path, {}, d.id, "issue links")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data=await w.form(committee))
    assert done.status_code == 303, done.text[-600:]
    assert len((await written(w.store, w.pool, d.id))[1]) == 4, "every owner has a link now"


async def reissue(w: World) -> None:
    d = await w.open(4, community=HOME)
    path, owner = f"/console/d/{d.id}/links/reissue", {"owner_id": d.owners[0]}
    await w.refused(await w.sign_in("committee", community=other_community()), path, owner, d.id, "reissue")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **owner})
    assert done.status_code == 303, done.text[-600:]
    assert (d.owners[0], 2, None) in (await written(w.store, w.pool, d.id))[1], "the next generation"


async def disclosure(w: World, what: str) -> None:
    """The live links printed (sheets) or downloaded (CSV): refused across the wall, recorded when allowed."""
    d = await w.open(4, community=HOME)
    path = f"/console/d/{d.id}/{what}"
    await w.refused(await w.sign_in("committee", community=other_community()), path, {}, d.id, what)
    committee = await w.sign_in("committee")
    done = await committee.post(path, data=await w.form(committee))
    assert done.status_code == 200 and "/v/" in done.text, done.text[-600:]
    assert "LiveLinksDisclosed" in await stream_types(w.store, d.id)


async def sheets(w: World) -> None:
    await disclosure(w, "sheets")


async def links_csv(w: World) -> None:
    await disclosure(w, "links.csv")


async def task(w: World) -> None:
    request = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                           community=HOME)
    did, handle = await start_procedure(w.temporal, w.pool, estate_roll(), request, task_queue=QUEUE)
    try:
        committee = await w.sign_in("committee")
        page = await page_until(committee, f"/console/d/{did}/matter", "/tasks/", "the feasibility task form")
        path = re.search(r'action="(/console/d/[^"?]+/tasks/[^"?]+)', page).group(1)  # type: ignore[union-attr]
        for role in ("committee", "grid_worker"):
            outsider = await w.sign_in(role, community=other_community())
            await w.refused(outsider, path, {"outcome": "feasible"}, did, f"task by a {role} of elsewhere")
        done = await committee.post(path, data={**await w.form(committee), "outcome": "feasible"})
        assert done.status_code == 303, done.text[-600:]
        assert "TaskCompleted" in await stream_types(w.store, did)
    finally:
        await handle.terminate("test done")


async def feedback(w: World) -> None:
    """A resident's paper feedback typed in: across the wall the 404 and nothing written; the right committee passes
    the wall and reaches the workflow, which refuses it before the feedback stage (and writes nothing either)."""
    request = StartRequest(procedure="consultation", title="充电桩选址", scope=Scope(), community=HOME,
                           options={"issue": "充电桩建在哪里"})
    did, handle = await start_procedure(w.temporal, w.pool, estate_roll(), request, task_queue=QUEUE)
    try:
        committee = await w.sign_in("committee")
        await page_until(committee, f"/console/d/{did}/matter", "/tasks/", "the acceptance task")
        path, fields = f"/console/d/{did}/feedback", {"owner_id": "O311", "score": "4"}
        for role in ("committee", "grid_worker"):
            outsider = await w.sign_in(role, community=other_community())
            await w.refused(outsider, path, fields, did, f"feedback by a {role} of elsewhere")
        before = await written(w.store, w.pool, did)
        answered = await committee.post(path, data={**await w.form(committee), **fields})
        assert answered.status_code == 409 and "feedback" in answered.text, answered.text[-600:]
        assert await written(w.store, w.pool, did) == before
    finally:
        await handle.terminate("test done")


# ---- the ticket's wall ---------------------------------------------------------------------------------------


async def ticket_act(w: World) -> None:
    """The reported attack, step by step: committee A answers committee B's ticket, then rates it."""
    tid = await w.ticket()
    path = f"/console/escalations/t/{tid}/act"
    for role, org in (("street_office", "street:别的街道"), ("department", "dept:urban")):
        other = await w.sign_in(role, community=None, organisation=org)
        await w.refused(other, path, {"action": "acknowledge"}, tid, f"acknowledge by {org}")
    street, outsider = await w.sign_in("street_office"), await w.sign_in("committee", community=other_community())
    asked = await street.post(path, data={**await w.form(street), "action": "request_info", "text": "请补充照片"})
    assert asked.status_code == 303, asked.text[-600:]
    await w.refused(outsider, path, {"action": "provide_info", "text": "没有照片"}, tid, "provide_info")
    # A committee of no community sees every ticket (the console's rule) but acts for committee:default: the
    # workflow's validator refuses it, and nothing is written.
    anywhere = await w.sign_in("committee", community=None)
    before = await written(w.store, w.pool, tid)
    refused = await anywhere.post(path, data={**await w.form(anywhere), "action": "provide_info", "text": "x"})
    assert refused.status_code == 409 and "只有发起方（“社区党委" in refused.text, refused.text[-600:]  # by name
    assert await written(w.store, w.pool, tid) == before
    name = f"委员-{uuid.uuid4().hex[:6]}"
    committee = await w.sign_in("committee", name)
    for client, action, extra in ((committee, "provide_info", {"text": "照片已补充"}),
                                  (street, "resolve", {"outcome": "resolved", "text": "已清理楼道"})):
        done = await client.post(path, data={**await w.form(client), "action": action, **extra})
        assert done.status_code == 303, (action, done.text[-600:])
    await w.refused(outsider, path, {"action": "follow_up", "outcome": "satisfied"}, tid, "follow_up")
    done = await committee.post(path, data={**await w.form(committee), "action": "follow_up", "outcome": "satisfied"})
    assert done.status_code == 303, done.text[-600:]
    events = await w.store.read(tid)
    answered = [e.payload["by"] for e in events if e.type in ("InfoProvided", "FollowUpAnswered")]
    assert answered == [name, name] and "Closed" in [e.type for e in events], answered


async def slip(w: World) -> None:
    tid = await w.ticket(initiator="O311", initiator_kind="owner")
    await act(w.temporal, tid, "resolve", TicketAction(role="street_office", actor="王科长", org="street",
                                                       outcome="resolved", text="已清理楼道"))
    path = f"/console/escalations/t/{tid}/slip"
    for role in ("committee", "grid_worker"):
        await w.refused(await w.sign_in(role, community=other_community()), path, {}, tid, f"slip by a {role}")
    committee = await w.sign_in("committee")
    printed = await committee.post(path, data=await w.form(committee))
    assert printed.status_code == 200 and "/f/" in printed.text, printed.text[-600:]
    slips = [e.payload for e in await w.store.read(tid) if e.type == "FollowUpSlipPrinted"]
    assert len(slips) == 1 and slips[0]["by"].startswith("committee committee-"), slips


async def console_whistle(w: World) -> None:
    """吹哨 from the ticket page: a street office of another street is told what an unknown ticket would tell it; a
    department may not blow the whistle at all; the ticket's street office calls two departments in at once."""
    tid = await w.ticket()
    path = f"/console/escalations/t/{tid}/whistle"
    fields = {"dept-1": "dept:market", "dept-2": "dept:urban", "text": "综合执法"}
    other = await w.sign_in("street_office", community=None, organisation="street:别的街道")
    await w.refused(other, path, fields, tid, "a whistle by another street")
    before = await written(w.store, w.pool, tid)
    dept = await w.sign_in("department", community=None, organisation="dept:urban")
    assert (await dept.post(path, data={**await w.form(dept), **fields})).status_code == 403
    assert await written(w.store, w.pool, tid) == before
    name = f"科长-{uuid.uuid4().hex[:6]}"
    street = await w.sign_in("street_office", name, community=None)
    done = await street.post(path, data={**await w.form(street), **fields})
    assert done.status_code == 303, done.text[-600:]
    events = await w.store.read(tid)
    assert [e.payload["by"] for e in events if e.type == "WhistleBlown"] == [name]
    assert [e.payload["org"] for e in events if e.type == "PartOpened"] == ["dept:market", "dept:urban"]


async def console_part(w: World) -> None:
    """A part's report-in from the ticket page: only the department that owns the part."""
    tid = await w.ticket()
    await whistle(w.temporal, tid, Whistle(role="street_office", actor="王科长", org="street",
                                           departments=("dept:market",), text="综合执法"))
    path = f"/console/escalations/t/{tid}/parts/1"
    other = await w.sign_in("department", community=None, organisation="dept:urban")
    await w.refused(other, path, {"action": "report_in"}, tid, "a report-in by another department")
    name = f"经办人-{uuid.uuid4().hex[:6]}"
    owner = await w.sign_in("department", name, community=None, organisation="dept:market")
    done = await owner.post(path, data={**await w.form(owner), "action": "report_in"})
    assert done.status_code == 303, done.text[-600:]
    reported = [e.payload for e in await w.store.read(tid) if e.type == "PartReported"]
    assert [(r["org"], r["by"]) for r in reported] == [("dept:market", name)]


# ---- the organisation API's wall -----------------------------------------------------------------------------


async def api_action(w: World) -> None:
    mark = uuid.uuid4().hex[:6]
    owner, other = f"dept:housing-{mark}", f"dept:urban-{mark}"
    tokens = {}
    for org in (owner, other):
        await register_org(w.pool, org, role="department")
        tokens[org] = {"Authorization": f"Bearer {await issue_org_token(w.pool, org)}"}
    community = f"api-{mark}"
    async with w.pool.acquire() as conn:
        await conn.execute("INSERT INTO escalation_ladders (community, ladder) VALUES ($1, $2)", community, {
            "levels": [{"key": "department", "org": "", "name_zh": "区部门", "name_en": "Dept",
                        "roles": ["department"]}],
            "departments": {"housing": {"org": owner, "name_zh": "区住建委", "name_en": "Housing"}}})
    tid = await w.ticket(community=community, start_level=None)
    unknown = f"esc-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url=BASE_URL) as client:
        body = {"action": "acknowledge", "actor": "城管科"}
        before = await written(w.store, w.pool, tid)
        refused = await client.post(f"/api/v1/escalations/{tid}/actions", json=body, headers=tokens[other])
        nobody = await client.post(f"/api/v1/escalations/{unknown}/actions", json=body, headers=tokens[other])
        assert refused.status_code == nobody.status_code == 404, refused.text
        assert refused.text.replace(tid, "ID") == nobody.text.replace(unknown, "ID"), "as if there were no ticket"
        assert await written(w.store, w.pool, tid) == before
        assert (await client.get(f"/api/v1/escalations/{tid}/state", headers=tokens[other])).status_code == 404
        done = await client.post(f"/api/v1/escalations/{tid}/actions", json={**body, "actor": "房管科"},
                                 headers=tokens[owner])
        assert done.status_code == 200 and done.json()["status"] == "acknowledged", done.text


async def api_part(w: World) -> None:
    """A joint ticket's part (吹哨报到): only the department that owns it reports in; any other organisation is told
    what an unknown ticket would tell it, and nothing reaches the workflow."""
    mark = uuid.uuid4().hex[:6]
    owner, other = f"dept:market-{mark}", f"dept:urban-{mark}"
    tokens = {}
    for org in (owner, other):
        await register_org(w.pool, org, role="department")
        tokens[org] = {"Authorization": f"Bearer {await issue_org_token(w.pool, org)}"}
    tid = await w.ticket()
    await whistle(w.temporal, tid, Whistle(role="street_office", actor="王科长", org="street", departments=(owner,),
                                           text="综合执法"))
    unknown = f"esc-{uuid.uuid4().hex[:12]}"
    body = {"action": "report_in", "actor": "经办人"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url=BASE_URL) as client:
        before = await written(w.store, w.pool, tid)
        refused = await client.post(f"/api/v1/escalations/{tid}/parts/1", json=body, headers=tokens[other])
        nobody = await client.post(f"/api/v1/escalations/{unknown}/parts/1", json=body, headers=tokens[other])
        assert refused.status_code == nobody.status_code == 404, refused.text
        assert refused.text.replace(tid, "ID") == nobody.text.replace(unknown, "ID"), "as if there were no ticket"
        assert await written(w.store, w.pool, tid) == before
        done = await client.post(f"/api/v1/escalations/{tid}/parts/1", json=body, headers=tokens[owner])
        assert done.status_code == 200, done.text


# ---- the account's own community -----------------------------------------------------------------------------


async def complaint(w: World) -> None:
    d = await w.open(2, community=HOME)
    fields = {"resident": "o001", "deliberation": d.id, "category": "housing", "subject": "楼道堆物"}
    path = "/console/escalations/new"
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        refused = await outsider.post(path, data={**await w.form(outsider), **fields})
        assert refused.status_code == 422 and "不属于本社区" in refused.text, refused.text[-600:]
    grid = await w.sign_in("grid_worker")
    filed = await grid.post(path, data={**await w.form(grid), **fields})
    assert filed.status_code == 200, filed.text[-600:]
    tid = re.search(r'id="filed-ticket">工单 (esc-[0-9a-f]{12})<', filed.text).group(1)  # type: ignore[union-attr]
    await ticket_until(w.temporal.get_workflow_handle(tid), lambda t: t.current is not None, "the filed ticket")
    async with w.pool.acquire() as conn:
        filed_under = await conn.fetch("SELECT ticket_id, community FROM escalations WHERE parent_id = $1", d.id)
    assert [tuple(r) for r in filed_under] == [(tid, HOME)], "the outsiders opened nothing under it"


async def structure_change(w: World) -> None:
    """A community's structure: a committee of another community is told what an unknown page would tell it and
    writes nothing; the community's own committee defines a grid, recorded with its name."""
    community = f"网格社区-{uuid.uuid4().hex[:6]}"
    path = f"/console/structure/{community}"
    street = await w.sign_in("street_office", community=None)
    defined = await street.post(path, data={**await w.form(street), "op": "community", "name": "网格社区",
                                            "street": "jc"})
    assert defined.status_code == 303, defined.text[-600:]
    outsider = await w.sign_in("committee", community=other_community())
    await w.refused(outsider, path, {"op": "grid", "code": "WG-01", "name": "一网格"}, f"structure-{community}",
                    "a grid defined by another community's committee")
    name = f"委员-{uuid.uuid4().hex[:6]}"
    own = await w.sign_in("committee", name, community=community)
    done = await own.post(path, data={**await w.form(own), "op": "grid", "code": "WG-01", "name": "一网格"})
    assert done.status_code == 303, done.text[-600:]
    grids = [e.payload for e in await w.store.read(f"structure-{community}") if e.type == "GridDefined"]
    assert [(g["code"], g["by"]) for g in grids] == [("WG-01", f"committee {name}")]


async def ladder_change(w: World) -> None:
    """The ladder: a committee of another community is refused as if the page did not exist, and writes nothing;
    the community's committee records a new version with its name."""
    community = f"阶梯社区-{uuid.uuid4().hex[:6]}"
    street = await w.sign_in("street_office", community=None)
    defined = await street.post(f"/console/structure/{community}", data={
        **await w.form(street), "op": "community", "name": "阶梯社区", "street": "jc"})
    assert defined.status_code == 303, defined.text[-600:]
    path = f"/console/structure/{community}/ladder"
    outsider = await w.sign_in("committee", community=other_community())
    await w.refused(outsider, path, {"ack-street": "PT8H"}, f"structure-{community}", "another community's ladder")
    name = f"委员-{uuid.uuid4().hex[:6]}"
    own = await w.sign_in("committee", name, community=community)
    bad = await own.post(path, data={**await w.form(own), "ack-street": "soon"})
    assert bad.status_code == 422 and "soon" in bad.text, bad.text[-600:]
    done = await own.post(path, data={**await w.form(own), "ack-street": "PT8H", "category": "housing",
                                      "level": "street", "resolve": "3wd"})
    assert done.status_code == 303, done.text[-600:]
    versions = [e.payload for e in await w.store.read(f"structure-{community}") if e.type == "LadderVersioned"]
    assert [v["by"] for v in versions] == [f"committee {name}"]
    ladder = versions[0]["ladder"]
    assert next(lv["ack"] for lv in ladder["levels"] if lv["key"] == "street") == "PT8H"
    assert ladder["deadlines"]["housing"]["street"]["resolve"] == "3wd"


async def start(w: World) -> None:
    started = {}
    for community in (other_community(), HOME):
        committee = await w.sign_in("committee", community=community)
        title = f"加装电梯-{uuid.uuid4().hex[:6]}"
        # A community-bound account naming another community starts in its own.
        fields = {**await new_form(committee), "title": title, "building": "3", "entrance": "2", "proxy_limit": "2",
                  "cost_total": "480000", "community": HOME}
        did = started_id(await post(committee, fields))
        started[community] = did
        async with w.pool.acquire() as conn:
            registered = await conn.fetchval("SELECT community FROM deliberations WHERE id = $1", did)
        assert registered == community, (community, registered)
    for did in started.values():
        await w.temporal.get_workflow_handle(did).terminate("test done")


# ---- topics -------------------------------------------------------------------------------------------------


async def topic_act(w: World) -> None:
    from datetime import UTC, datetime

    from tests.topics.conftest import topic_until
    from workflows.topic_inputs import TopicResult
    from yishi.services.topic_intake import Proposer, TopicForm, raise_topic

    raised = await raise_topic(w.temporal, w.pool, TopicForm(community=HOME, title="楼道灯坏了", description="三单元"),
                               Proposer(source="intake", kind="resident"), settings=w.app.state.settings,
                               now=datetime.now(UTC))
    tid = raised.topic_id
    handle = w.temporal.get_workflow_handle(tid, result_type=TopicResult)
    await topic_until(handle, lambda t: t.take_up is not None, "the take-up deadline")
    path = f"/console/topics/{tid}/act"
    for intruder in (await w.sign_in("committee", community=other_community()),
                     await w.sign_in("grid_worker")):  # a grid worker reads topics but does not take them up
        response = await intruder.post(path, data={**await w.form(intruder), "action": "take"})
        assert response.status_code in (403, 404), response.text[-600:]
        assert "TopicTaken" not in await stream_types(w.store, tid)
    await w.refused(await w.sign_in("committee", community=other_community()), path,
                    {"action": "decline", "text": "不归我们管"}, tid, "decline a topic")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), "action": "take"})
    assert done.status_code == 303, done.text[-600:]
    assert "TopicTaken" in await stream_types(w.store, tid)


async def topic_poster(w: World) -> None:
    from yishi.services.capabilities import intake_subject

    intruder = await w.sign_in("committee", community=other_community())
    before = await stream_types(w.store, intake_subject(HOME))
    response = await intruder.post("/console/topics/poster", data={**await w.form(intruder), "community": HOME})
    assert response.status_code == 200 and HOME not in response.text, "the poster is the account's own community's"
    assert await stream_types(w.store, intake_subject(HOME)) == before, "nothing issued for another community"
    committee = await w.sign_in("committee")
    done = await committee.post("/console/topics/poster", data=await w.form(committee))
    assert done.status_code == 200 and 'id="poster-url"' in done.text, done.text[-600:]
    assert "CapabilityIssued" in await stream_types(w.store, intake_subject(HOME))


async def topic_new(w: World) -> None:
    title = f"楼下快递柜占道-{uuid.uuid4().hex[:4]}"
    fields = {"community": HOME, "title": title, "description": "挡住了消防通道", "kind": "party_member",
              "name": "党员老李"}
    intruder = await w.sign_in("grid_worker", community=other_community())
    response = await intruder.post("/console/topics/new", data={**await w.form(intruder), **fields})
    assert response.status_code == 303, response.text[-600:]
    async with w.pool.acquire() as conn:
        rows = await conn.fetch("SELECT community FROM topics WHERE title = $1", title)
    assert [r["community"] for r in rows] != [HOME] and len(rows) == 1, "raised in the account's own community"
    grid = await w.sign_in("grid_worker")
    done = await grid.post("/console/topics/new", data={**await w.form(grid), **fields})
    assert done.status_code == 303, done.text[-600:]
    topic_id = done.headers["location"].rsplit("/", 1)[-1]
    raised = (await w.store.read(topic_id))[0].payload
    assert raised["community"] == HOME and raised["source"] == "console"
    assert raised["raised_by"]["kind"] == "party_member" and raised["raised_by"]["id"] == "party_member:党员老李"
    assert raised["raised_by"]["account"].startswith("grid_worker-"), "the account that typed it is recorded"
# ---- the meeting's wall -----------------------------------------------------------------------------------------


async def scheduled_meeting(w: World, client: httpx.AsyncClient, community: str = HOME) -> str:
    """A meeting scheduled from the console by ``client`` (with one invited party), its invitation recorded."""
    starts = (datetime.now(UTC) + timedelta(days=2)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    done = await client.post("/console/meetings/new", data={
        **await w.form(client), "title": "周末议事厅", "kind": "weekend_hall", "starts_at": starts, "place": "议事厅",
        "party_kind_1": "property_company", "party_name_1": "安居物业", "community": community})
    assert done.status_code == 303, done.text[-600:]
    meeting_id = done.headers["location"].rsplit("/", 1)[1]
    for _ in range(100):
        if "PartyInvited" in await stream_types(w.store, meeting_id):
            return meeting_id
        await asyncio.sleep(0.1)
    raise AssertionError("the meeting's workflow did not invite the party")


async def meeting_new(w: World) -> None:
    """A community-bound account naming another community schedules in its own; ticking (forging) another
    community's topic onto the agenda is refused before anything is scheduled, the topic untouched."""
    for community in (other_community(), HOME):
        committee = await w.sign_in("committee", community=community)
        meeting_id = await scheduled_meeting(w, committee, community=HOME)
        assert (await meeting_state(w.pool, meeting_id)).community == community
        await w.temporal.get_workflow_handle(meeting_id).terminate("test done")
    from tests.topics.conftest import RESIDENT
    from yishi.services.topic_intake import TopicForm, raise_topic

    theirs = await raise_topic(w.temporal, w.pool, TopicForm(community=other_community(), title="别处的议题",
                                                             description="不属于本社区"),
                               RESIDENT, settings=w.app.state.settings, now=datetime.now(UTC),
                               topic_id=f"topic-{uuid.uuid4().hex[:12]}")
    committee = await w.sign_in("committee")
    before = await stream_types(w.store, theirs.topic_id)
    starts = (datetime.now(UTC) + timedelta(days=2)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    async with w.pool.acquire() as conn:
        meetings = await conn.fetchval("SELECT count(*) FROM meetings")
    forged = await committee.post("/console/meetings/new", data={
        **await w.form(committee), "title": "周末议事厅", "kind": "weekend_hall", "starts_at": starts,
        "place": "议事厅", f"topic_{theirs.topic_id}": "1"})
    assert forged.status_code == 422 and "别处的议题" not in forged.text, forged.text[-600:]
    async with w.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM meetings") == meetings, "nothing scheduled"
    assert await stream_types(w.store, theirs.topic_id) == before
    await w.temporal.get_workflow_handle(theirs.topic_id).terminate("test done")


async def meeting_act(w: World) -> None:
    committee = await w.sign_in("committee")
    meeting_id = await scheduled_meeting(w, committee)
    path, item = f"/console/meetings/{meeting_id}/act", {"action": "item", "title": "楼道堆物"}
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        hidden(await outsider.get(f"/console/meetings/{meeting_id}"), f"the meeting's page for a {role} of elsewhere")
        await w.refused(outsider, path, item, meeting_id, f"agenda item by a {role} of elsewhere")
    board = f"/console/d/{meeting_id}/deliveries"  # the meeting's notices on the deliberations' board
    hidden(await (await w.sign_in("committee", community=other_community())).get(board), "a meeting's board")
    assert f'href="{board}"' in (await committee.get(f"/console/meetings/{meeting_id}")).text
    assert (await committee.get(board)).status_code == 200
    done = await committee.post(path, data={**await w.form(committee), **item})
    assert done.status_code == 303, done.text[-600:]
    assert "AgendaItemAdded" in await stream_types(w.store, meeting_id)
    await w.temporal.get_workflow_handle(meeting_id).terminate("test done")


async def meeting_links(w: World) -> None:
    committee = await w.sign_in("committee")
    meeting_id = await scheduled_meeting(w, committee)
    path = f"/console/meetings/{meeting_id}/links"
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        await w.refused(outsider, path, {}, meeting_id, f"invitation links by a {role} of elsewhere")
    done = await committee.post(path, data=await w.form(committee))
    assert done.status_code == 200 and "/m/" in done.text, done.text[-600:]
    assert "CapabilityIssued" in await stream_types(w.store, meeting_id)
    await w.temporal.get_workflow_handle(meeting_id).terminate("test done")
# ---- notice channels (the community's own) and the delivery board (the deliberation's) -------------------------


async def channel_set(w: World) -> None:
    """A committee of another community naming this one sets the channel in its own community, never here."""
    other, name = other_community(), f"b{uuid.uuid4().hex[:6]}"
    fields = {"community": HOME, "kind": "webhook", "name": name, "url": "http://127.0.0.1:9/hook"}
    for community in (other, HOME):
        committee = await w.sign_in("committee", community=community)
        done = await committee.post("/console/channels", data={**await w.form(committee), **fields})
        assert done.status_code == 303, done.text[-600:]
        assert f"webhook:{name}" in (await channel_book(w.store, w.pool, community)).channels, community
        if community == other:
            assert f"webhook:{name}" not in (await channel_book(w.store, w.pool, HOME)).channels
    await remove_channel(w.store, w.pool, HOME, f"webhook:{name}", by="test", now=datetime.now(UTC))


async def channel_remove(w: World) -> None:
    name = f"webhook:r{uuid.uuid4().hex[:6]}"
    await set_channel(w.store, HOME, Channel(id=name, kind="webhook", url="http://127.0.0.1:9/hook"), by="test",
                      now=datetime.now(UTC))
    stream = f"channels:{HOME}"
    outsider = await w.sign_in("committee", community=other_community())
    before = await written(w.store, w.pool, stream)
    refused = await outsider.post("/console/channels/remove",
                                  data={**await w.form(outsider), "community": HOME, "channel": name})
    assert refused.status_code == 404, refused.text[-600:]
    assert await written(w.store, w.pool, stream) == before, "nothing removed here"
    committee = await w.sign_in("committee")
    done = await committee.post("/console/channels/remove", data={**await w.form(committee), "channel": name})
    assert done.status_code == 303, done.text[-600:]
    assert name not in (await channel_book(w.store, w.pool, HOME)).channels


async def channel_test(w: World) -> None:
    """"Send a test" by another community's committee sends nothing through this community's channel."""
    ref = f"t{uuid.uuid4().hex[:6]}"
    with http_server(Behaviour(keys={ref: "s3cret"})) as server:
        await set_channel(w.store, HOME, Channel(id=f"webhook:{ref}", kind="webhook", secret_ref=ref,
                                                 url=f"{server.url}/hook"), by="test", now=datetime.now(UTC))
        w.app.state.secret_values = {env_name("webhook", ref): "s3cret"}
        try:
            fields = {"community": HOME, "channel": f"webhook:{ref}"}
            outsider = await w.sign_in("committee", community=other_community())
            refused = await outsider.post("/console/channels/test", data={**await w.form(outsider), **fields})
            assert refused.status_code == 404 and not server.received, refused.text[-600:]
            committee = await w.sign_in("committee")
            done = await committee.post("/console/channels/test", data={**await w.form(committee), **fields})
            assert done.status_code == 200 and 'id="channel-tested"' in done.text, done.text[-600:]
            assert [r.json()["test"] for r in server.received] == [True]
        finally:
            del w.app.state.secret_values
            await remove_channel(w.store, w.pool, HOME, f"webhook:{ref}", by="test", now=datetime.now(UTC))


async def own_community_only(w: World, path: str, fields: dict[str, str], changed) -> None:  # type: ignore[no-untyped-def]
    """Posted by another community's committee naming this one: its own community changes, this one does not."""
    other = other_community()
    before = await written(w.store, w.pool, f"channels:{HOME}")
    outsider = await w.sign_in("committee", community=other)
    done = await outsider.post(path, data={**await w.form(outsider), "community": HOME, **fields})
    assert done.status_code == 303 and changed(await channel_book(w.store, w.pool, other)), done.text[-600:]
    assert await written(w.store, w.pool, f"channels:{HOME}") == before, "nothing written here"
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303 and changed(await channel_book(w.store, w.pool, HOME)), done.text[-600:]


async def quiet_hours(w: World) -> None:
    await own_community_only(w, "/console/channels/quiet", {"start": "21:30", "end": "07:30"},
                             lambda book: (book.quiet.start, book.quiet.end) == ("21:30", "07:30"))
    await set_quiet_hours(w.store, HOME, QuietHours(), by="test", now=datetime.now(UTC))


async def sms_opt_out(w: World) -> None:
    owner = f"O{uuid.uuid4().hex[:6]}"
    await own_community_only(w, "/console/channels/opt-out", {"owner_id": owner},
                             lambda book: owner in book.opted_out)


async def delivery_retry(w: World) -> None:
    d = await w.open(2, community=HOME)
    async with w.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " attempts, next_at, last_error, fields, community, roll_digest) VALUES ($1, 'announcement-1',"
            " 'webhook:gw', '*', 'webhook', 'announcement', 'failed', 6, now(), 'HTTP 503', '{}'::jsonb, $2, '-')",
            d.id, HOME)
    path, fields = f"/console/d/{d.id}/deliveries/retry", {"notice": "announcement-1", "channel": "webhook:gw",
                                                           "group": "*"}
    await w.refused(await w.sign_in("committee", community=other_community()), path, fields, d.id, "retry")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303, done.text[-600:]
    async with w.pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM notice_deliveries WHERE deliberation_id = $1", d.id)
    assert state == "queued" and "NoticeRetryRequested" in await stream_types(w.store, d.id)


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


async def posting(w: World) -> None:
    """A posting names its deliberation in the form (an upload path has no parameters): the same wall."""
    d = await w.open(2, community=HOME)
    async with w.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " next_at, fields, community, roll_digest) VALUES ($1, 'announcement-1', 'print', '1-1', 'print',"
            " 'announcement', 'to_post', now(), '{}'::jsonb, $2, '-')", d.id, HOME)
    fields = {"deliberation": d.id, "notice": "announcement-1", "group": "1-1"}
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        await w.refused(outsider, "/console/postings", fields, d.id, f"posting by a {role} of elsewhere")
    grid = await w.sign_in("grid_worker")
    done = await grid.post("/console/postings", data={**await w.form(grid), **fields},
                           files={"photo": ("sheet.png", PNG, "image/png")})
    assert done.status_code == 303, done.text[-600:]
    assert "NoticePosted" in await stream_types(w.store, d.id)
async def document_upload(w: World) -> None:
    """An upload of the matter's plan names its deliberation in the form (an upload path has no parameters): the
    deliberation's wall, before the file is looked at."""
    from tests.web.test_plan_documents import PDF, before_the_vote

    d = await before_the_vote(w.pool, w.store, HOME)
    fields = {"deliberation": d, "kind": "plan"}
    outsider = await w.sign_in("committee", community=other_community())
    before = await written(w.store, w.pool, d)
    hidden(await outsider.post("/console/documents", data={**await w.form(outsider), **fields},
                               files={"document": ("plan.pdf", PDF, "application/pdf")}), "a plan from elsewhere")
    assert await written(w.store, w.pool, d) == before, "a plan from elsewhere: something was written"
    committee = await w.sign_in("committee")
    done = await committee.post("/console/documents", data={**await w.form(committee), **fields},
                                files={"document": ("plan.pdf", PDF, "application/pdf")})
    assert done.status_code == 303, done.text[-600:]
    assert "DocumentAttached" in await stream_types(w.store, d)


async def points_act(w: World, action: str) -> None:
    """An award or a correction posted by another community's account names a person of HOME: refused as no person
    of its own ledger, HOME's ledger unchanged; HOME's committee does it."""
    from tests.web.test_console_points import ledger_with_people

    people = await ledger_with_people(w.pool, w.store, HOME)
    fields = {"person": people["李红"], "rule": "meeting", "points": "1", "reason": "越界"}
    if action == "deduct":
        await points.award(w.store, HOME, person_id=people["李红"], rule_id="meeting", by=COMMITTEE, now=utcnow())
    path, stream = f"/console/points/{action}", points_stream(HOME)
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post(path, data={**await w.form(outsider), **fields})
        assert refused.status_code == 409 and people["李红"] in refused.text, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"{action} by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303, done.text[-600:]
    assert (await points.ledger(w.store, HOME)).people[people["李红"]].points == (5 if action == "award" else 4)


async def companies_publish(w: World) -> None:
    """A street office of another street posts a list for the period: it is worked out in its own street's register,
    never in HOME's street's; a committee account is not let in; HOME's street office publishes its own."""
    from domain.company_events import register_stream
    from tests.points.appraisal_setup import street_register
    from yishi.services import companies

    street = await street_register(w.store, utcnow())
    stream, fields = register_stream(street), {"period": "2026Q1"}
    committee = await w.sign_in("committee")
    before = await written(w.store, w.pool, stream)
    refused = await committee.post("/console/companies/publish", data={**await w.form(committee), **fields})
    assert refused.status_code == 403 and await written(w.store, w.pool, stream) == before
    elsewhere = f"s{uuid.uuid4().hex[:8]}"
    outsider = await w.sign_in("street_office", organisation=elsewhere)
    aside = await outsider.post("/console/companies/publish", data={**await w.form(outsider), **fields,
                                                                   "street": street})
    assert aside.status_code == 303 and await written(w.store, w.pool, stream) == before
    assert [p.period for p in (await companies.register(w.store, elsewhere)).lists] == ["2026Q1"]
    office = await w.sign_in("street_office", organisation=street)
    done = await office.post("/console/companies/publish", data={**await w.form(office), **fields})
    assert done.status_code == 303 and len((await companies.register(w.store, street)).lists) == 1


async def companies_items(w: World) -> None:
    """Items posted by another street's office are set in its own register, never in HOME's street's; a committee
    account is not let in; HOME's street office sets its own."""
    from domain.company_events import register_stream
    from tests.points.appraisal_setup import street_register
    from yishi.services import companies

    street = await street_register(w.store, utcnow())
    stream, fields = register_stream(street), {"items": "cleaning:保洁:50\nfees:收费公开:50", "owner_weight": "area"}
    committee = await w.sign_in("committee")
    before = await written(w.store, w.pool, stream)
    refused = await committee.post("/console/companies/items", data={**await w.form(committee), **fields})
    assert refused.status_code == 403 and await written(w.store, w.pool, stream) == before
    elsewhere = f"s{uuid.uuid4().hex[:8]}"
    outsider = await w.sign_in("street_office", organisation=elsewhere)
    aside = await outsider.post("/console/companies/items", data={**await w.form(outsider), **fields,
                                                                 "street": street})
    assert aside.status_code == 303 and await written(w.store, w.pool, stream) == before
    assert len((await companies.register(w.store, elsewhere)).items) == 2
    office = await w.sign_in("street_office", organisation=street)
    done = await office.post("/console/companies/items", data={**await w.form(office), **fields})
    assert done.status_code == 303
    assert (await companies.register(w.store, street)).owner_weight == "area"


async def companies_register(w: World, path: str, fields: dict[str, str]) -> None:
    """A company, an estate or a ticket posted by another street's office (even naming HOME's street in the form)
    changes its own register at most, never HOME's street's; a committee account is not let in; HOME's street
    office does it."""
    from domain.company_events import register_stream
    from tests.points.appraisal_setup import street_register

    street = await street_register(w.store, utcnow())
    stream = register_stream(street)
    committee = await w.sign_in("committee")
    before = await written(w.store, w.pool, stream)
    refused = await committee.post(path, data={**await w.form(committee), **fields})
    assert refused.status_code == 403 and await written(w.store, w.pool, stream) == before
    outsider = await w.sign_in("street_office", organisation=f"s{uuid.uuid4().hex[:8]}")
    aside = await outsider.post(path, data={**await w.form(outsider), **fields, "street": street})
    assert aside.status_code in (303, 422) and await written(w.store, w.pool, stream) == before, path
    office = await w.sign_in("street_office", organisation=street)
    done = await office.post(path, data={**await w.form(office), **fields})
    assert done.status_code == 303, done.text[-600:]
    assert len((await written(w.store, w.pool, stream))[0]) > len(before[0])


async def companies_company(w: World) -> None:
    await companies_register(w, "/console/companies/company", {"credit_code": "91110000600037341L",
                                                               "name": "新城物业"})


async def companies_estate(w: World) -> None:
    from tests.points.appraisal_setup import GOOD
    await companies_register(w, "/console/companies/estate", {"estate": "和美园", "community": HOME,
                                                              "credit_code": GOOD, "since": "2024-03-01"})


async def companies_ticket(w: World) -> None:
    from domain.escalation import EscalationOpened
    from tests.points.appraisal_setup import BAD
    from yishi.services.folds import new_events

    ticket_id = f"esc-{uuid.uuid4().hex[:12]}"
    await w.store.append(ticket_id, new_events([EscalationOpened(
        at=utcnow(), ticket_id=ticket_id, parent_id=None, community="xfl", category="housing", subject="电梯停运",
        detail="3号楼", initiator="O321", initiator_kind="owner", levels=(), outcomes=("resolved",))]))
    await companies_register(w, "/console/companies/ticket", {"ticket_id": ticket_id, "credit_code": BAD})


async def appraisal_open(w: World) -> None:
    """A committee of another community names HOME's estate: refused as not one of its estates, nothing scheduled
    in the street's register; HOME's committee opens it."""
    from domain.company_decide import AssignEstate
    from domain.company_events import register_stream
    from tests.points.appraisal_setup import BAD, STREET_OFFICE, street_register
    from tests.web.test_console_start import TEMPLATE_CSV
    from yishi.services import companies

    street = await street_register(w.store, utcnow())
    await companies.act(w.store, street, AssignEstate(at=utcnow(), by=STREET_OFFICE, estate="和美园", community=HOME,
                                                      credit_code=BAD, since=utcnow().date()))
    fields = {"estate": f"{street}::和美园", "period": "2026Q1", "window_days": "14"}
    files = {"roll": ("名册.csv", TEMPLATE_CSV, "text/csv")}
    stream = register_stream(street)
    outsider = await w.sign_in("committee", community=other_community())
    before = await written(w.store, w.pool, stream)
    refused = await outsider.post("/console/appraisals/open", data={**await w.form(outsider), **fields}, files=files)
    assert refused.status_code == 422 and "请选择本社区的小区" in refused.text, refused.text[-600:]
    assert await written(w.store, w.pool, stream) == before
    committee = await w.sign_in("committee")
    done = await committee.post("/console/appraisals/open", data={**await w.form(committee), **fields}, files=files)
    assert done.status_code == 303, done.text[-600:]
    [scheduled] = (await companies.register(w.store, street)).appraisals.values()
    assert scheduled.community == HOME
    await w.temporal.get_workflow_handle(scheduled.appraisal_id).terminate("test done")


async def home_appraisal(w: World) -> str:
    """An appraisal of an estate of HOME, opened (its workflow started, no worker)."""
    from domain.company_decide import AssignEstate
    from tests.points.appraisal_setup import BAD, STREET_OFFICE, estate_roll, street_register
    from yishi.services import appraisals, companies

    street = await street_register(w.store, utcnow())
    await companies.act(w.store, street, AssignEstate(at=utcnow(), by=STREET_OFFICE, estate="和美园", community=HOME,
                                                      credit_code=BAD, since=utcnow().date()))
    req = appraisals.AppraisalRequest(street=street, estate="和美园", period="2026Q1", by=STREET_OFFICE)
    return await appraisals.open_appraisal(w.temporal, w.pool, w.store, estate_roll(), req, task_queue=QUEUE,
                                           now=utcnow())


async def appraisal_links(w: World) -> None:
    """A committee of another community asks for the links of HOME's appraisal: the unknown page, no link issued
    or disclosed; HOME's committee gets the CSV, recorded."""
    appraisal_id = await home_appraisal(w)
    path = f"/console/appraisals/{appraisal_id}/links"
    outsider = await w.sign_in("committee", community=other_community())
    await w.refused(outsider, path, {}, appraisal_id, "the links of another community's appraisal")
    committee = await w.sign_in("committee")
    done = await committee.post(path, data=await w.form(committee))
    assert done.status_code == 200 and done.headers["content-type"].startswith("text/csv"), done.text[-600:]
    assert len(done.text.strip().splitlines()) == 1 + 11 and "/v/" in done.text  # 11 owners
    assert "LiveLinksDisclosed" in [e.type for e in await w.store.read(appraisal_id)]
    await w.temporal.get_workflow_handle(appraisal_id).terminate("test done")


async def appraisal_close(w: World) -> None:
    """A committee of another community closes HOME's appraisal: the unknown page, the stream unchanged and the
    workflow not signalled; HOME's committee closes it (the signal reaches the workflow)."""
    appraisal_id = await home_appraisal(w)
    path = f"/console/appraisals/{appraisal_id}/close"
    outsider = await w.sign_in("committee", community=other_community())
    await w.refused(outsider, path, {}, appraisal_id, "an appraisal of another community closed")

    async def signals() -> int:
        history = await w.temporal.get_workflow_handle(appraisal_id).fetch_history()
        return sum(1 for e in history.events if e.HasField("workflow_execution_signaled_event_attributes"))

    assert await signals() == 0
    committee = await w.sign_in("committee")
    done = await committee.post(path, data=await w.form(committee))
    assert done.status_code == 303, done.text[-600:]
    assert await signals() == 1
    await w.temporal.get_workflow_handle(appraisal_id).terminate("test done")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def points_award(w: World) -> None:
    await points_act(w, "award")


async def points_deduct(w: World) -> None:
    await points_act(w, "deduct")


async def volunteers_act(w: World, action: str) -> None:
    """A volunteer act by another community's account names HOME's activity, person and team: refused as unknown in
    its own roster, HOME's roster unchanged; HOME's committee does it."""
    from domain.volunteer_decide import ScheduleActivity, SignUp
    from domain.volunteer_events import volunteers_stream
    from tests.web.test_console_volunteers import a_team

    people = await a_team(w.pool, w.store, HOME)
    now, activity = utcnow(), f"a-{uuid.uuid4().hex[:6]}"
    await volunteers.act(w.store, HOME, ScheduleActivity(at=now, by=COMMITTEE, activity_id=activity,
                                                         team_id="green", title="清理楼道杂物", place="3号楼",
                                                         starts_at=now, ends_at=now + timedelta(hours=2), capacity=50))
    await volunteers.act(w.store, HOME, SignUp(at=now, by=COMMITTEE, activity_id=activity, person_id=people["王芳"],
                                               via="coordinator"))
    fields = {"activity": activity, "person": people["王芳"], "direction": "in", "minutes": "60", "reason": "越界",
              "team": "green", "title": "越界", "place": "x", "capacity": "3", "starts_at": "2030-01-01T09:00",
              "ends_at": "2030-01-01T10:00"}
    path, stream = f"/console/volunteers/{action}", volunteers_stream(HOME)
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post(path, data={**await w.form(outsider), **fields})
        assert refused.status_code == 409, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"{action} by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303, re.findall(r'role="alert"[^<]*', done.text)
    assert len((await written(w.store, w.pool, stream))[0]) > len(before[0])


async def volunteers_activity(w: World) -> None:
    await volunteers_act(w, "activity")


async def volunteers_check(w: World) -> None:
    await volunteers_act(w, "check")


async def volunteers_hours(w: World) -> None:
    await volunteers_act(w, "hours")


async def points_setting(w: World, path: str, fields: dict[str, str]) -> None:
    """A rule, the vote-participation switch or a shop's link posted by another community's account (even naming
    HOME in the form) acts on its own community's ledger only: HOME's stream unchanged; HOME's committee does it."""
    stream = points_stream(HOME)
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        response = await outsider.post(path, data={**await w.form(outsider), **fields, "community": HOME})
        assert response.status_code in (200, 303), response.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"{path} by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    before = await written(w.store, w.pool, stream)
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code in (200, 303), done.text[-600:]
    assert len((await written(w.store, w.pool, stream))[0]) > len(before[0])


async def points_hide_name(w: World) -> None:
    """Hiding a leaderboard name posted by another community's account (naming HOME's person, even HOME in the form)
    is refused as no person of its own ledger, HOME's ledger unchanged; HOME's committee hides it."""
    from domain.points_decide import SetOptIn
    from tests.web.test_console_points import ledger_with_people

    person = (await ledger_with_people(w.pool, w.store, HOME))["张建国"]
    await points.act(w.store, HOME, SetOptIn(at=utcnow(), by=COMMITTEE, person_id=person, opted_in=True))
    await points.set_display_name(w.pool, person, f"名字-{uuid.uuid4().hex[:6]}")
    path, stream = "/console/points/leaderboard/hide", points_stream(HOME)
    fields = {"person": person, "reason": "不文明"}
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post(path, data={**await w.form(outsider), **fields, "community": HOME})
        assert refused.status_code == 409 and person in refused.text, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"hiding a name by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303, done.text[-600:]
    assert (await points.ledger(w.store, HOME)).people[person].hidden_names


async def points_rule(w: World) -> None:
    await points_setting(w, "/console/points/rule", {"rule_id": f"r{uuid.uuid4().hex[:6]}", "name_zh": "楼道清洁",
                                                     "basis": "other", "per": "occasion", "points": "2"})


async def points_vote_participation(w: World) -> None:
    await points_setting(w, "/console/points/vote-participation", {"enabled": "on"})


async def points_shop_link(w: World) -> None:
    await points_setting(w, "/console/points/shop-link", {"shop": f"超市-{uuid.uuid4().hex[:6]}"})


async def link_revoke(w: World, path: str, stream: str, fields: dict[str, str]) -> None:
    """Another community's account (committee or grid worker) revokes HOME's printed link by its holder: not a live
    link of its own community, nothing revoked in HOME's stream and the link still works; HOME's committee revokes
    it (recorded with who and why)."""
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post(path, data={**await w.form(outsider), **fields, "community": HOME})
        assert refused.status_code == 409, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"{path} by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post(path, data={**await w.form(committee), **fields})
    assert done.status_code == 303, done.text[-600:]
    assert "CapabilityRevoked" in await stream_types(w.store, stream)


async def points_shop_revoke(w: World) -> None:
    shop = f"超市-{uuid.uuid4().hex[:6]}"
    await points.shop_link(w.pool, w.store, HOME, shop, by=COMMITTEE, secret_key=SECRET, now=utcnow())
    await link_revoke(w, "/console/points/shop-link/revoke", points_stream(HOME), {"shop": shop, "reason": "退出"})


async def volunteers_revoke(w: World) -> None:
    from domain.volunteer_events import volunteers_stream
    from tests.web.test_console_volunteers import a_team

    await a_team(w.pool, w.store, HOME)
    await volunteers.poster_link(w.pool, w.store, HOME, "green", by=COMMITTEE, secret_key=SECRET, now=utcnow())
    await link_revoke(w, "/console/volunteers/revoke", volunteers_stream(HOME),
                      {"kind": "team", "team": "green", "reason": "海报被撕"})


async def volunteers_qr(w: World) -> None:
    """Another community's account asks for HOME's activity's check-in code: no such activity in its own roster, no
    link issued in HOME's stream; HOME's committee prints it."""
    from domain.volunteer_decide import ScheduleActivity
    from domain.volunteer_events import volunteers_stream
    from tests.web.test_console_volunteers import a_team

    await a_team(w.pool, w.store, HOME)
    now, activity = utcnow(), f"a-{uuid.uuid4().hex[:6]}"
    await volunteers.act(w.store, HOME, ScheduleActivity(at=now, by=COMMITTEE, activity_id=activity,
                                                         team_id="green", title="清理楼道杂物", place="3号楼",
                                                         starts_at=now, ends_at=now + timedelta(hours=2), capacity=5))
    stream = volunteers_stream(HOME)
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post("/console/volunteers/qr", data={**await w.form(outsider), "activity": activity})
        assert refused.status_code == 409, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"check-in code by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post("/console/volunteers/qr", data={**await w.form(committee), "activity": activity})
    assert done.status_code == 200 and 'id="qr-url"' in done.text, done.text[-600:]
    assert "CapabilityIssued" in await stream_types(w.store, stream)


async def volunteers_poster(w: World) -> None:
    """Another community's account asks for HOME's team's poster: no such team in its own roster, no link issued in
    HOME's stream; HOME's committee prints it."""
    from domain.volunteer_events import volunteers_stream
    from tests.web.test_console_volunteers import a_team

    await a_team(w.pool, w.store, HOME)
    stream = volunteers_stream(HOME)
    for role in ("committee", "grid_worker"):
        outsider = await w.sign_in(role, community=other_community())
        before = await written(w.store, w.pool, stream)
        refused = await outsider.post("/console/volunteers/poster", data={**await w.form(outsider), "team": "green"})
        assert refused.status_code == 409, refused.text[-600:]
        assert await written(w.store, w.pool, stream) == before, f"poster by a {role} of elsewhere"
    committee = await w.sign_in("committee")
    done = await committee.post("/console/volunteers/poster", data={**await w.form(committee), "team": "green"})
    assert done.status_code == 200 and 'id="poster-url"' in done.text, done.text[-600:]
    assert "CapabilityIssued" in await stream_types(w.store, stream)


SCENARIOS: dict[tuple[str, str], Callable[[World], Awaitable[None]]] = {
    ("POST", "/console/meetings/new"): meeting_new,
    ("POST", "/console/meetings/{meeting_id}/act"): meeting_act,
    ("POST", "/console/meetings/{meeting_id}/links"): meeting_links,
    ("POST", "/console/d/{deliberation_id}/paper"): paper,
    ("POST", "/console/d/{deliberation_id}/paper/settings"): paper_settings,
    ("POST", "/console/d/{deliberation_id}/links"): links,
    ("POST", "/console/d/{deliberation_id}/links/reissue"): reissue,
    ("POST", "/console/d/{deliberation_id}/sheets"): sheets,
    ("POST", "/console/d/{deliberation_id}/links.csv"): links_csv,
    ("POST", "/console/d/{deliberation_id}/tasks/{task_id}"): task,
    ("POST", "/console/d/{deliberation_id}/feedback"): feedback,
    ("POST", "/console/escalations/t/{ticket_id:path}/act"): ticket_act,
    ("POST", "/console/escalations/t/{ticket_id:path}/slip"): slip,
    ("POST", "/console/escalations/t/{ticket_id:path}/whistle"): console_whistle,
    ("POST", "/console/escalations/t/{ticket_id:path}/parts/{part}"): console_part,
    ("POST", "/console/structure/{community}"): structure_change,
    ("POST", "/console/structure/{community}/ladder"): ladder_change,
    ("POST", "/api/v1/escalations/{ticket_id:path}/actions"): api_action,
    ("POST", "/api/v1/escalations/{ticket_id:path}/parts/{part}"): api_part,
    ("POST", "/console/escalations/new"): complaint,
    ("POST", "/console/new"): start,
    ("POST", "/console/topics/{topic_id}/act"): topic_act,
    ("POST", "/console/topics/poster"): topic_poster,
    ("POST", "/console/topics/new"): topic_new,
    ("POST", "/console/channels"): channel_set,
    ("POST", "/console/channels/remove"): channel_remove,
    ("POST", "/console/channels/test"): channel_test,
    ("POST", "/console/channels/quiet"): quiet_hours,
    ("POST", "/console/channels/opt-out"): sms_opt_out,
    ("POST", "/console/postings"): posting,
    ("POST", "/console/documents"): document_upload,
    ("POST", "/console/d/{deliberation_id}/deliveries/retry"): delivery_retry,
    ("POST", "/console/points/award"): points_award,
    ("POST", "/console/points/deduct"): points_deduct,
    ("POST", "/console/points/rule"): points_rule,
    ("POST", "/console/points/leaderboard/hide"): points_hide_name,
    ("POST", "/console/points/vote-participation"): points_vote_participation,
    ("POST", "/console/points/shop-link"): points_shop_link,
    ("POST", "/console/points/shop-link/revoke"): points_shop_revoke,
    ("POST", "/console/volunteers/revoke"): volunteers_revoke,
    ("POST", "/console/volunteers/activity"): volunteers_activity,
    ("POST", "/console/volunteers/check"): volunteers_check,
    ("POST", "/console/volunteers/hours"): volunteers_hours,
    ("POST", "/console/volunteers/poster"): volunteers_poster,
    ("POST", "/console/volunteers/qr"): volunteers_qr,
    ("POST", "/console/companies/publish"): companies_publish,
    ("POST", "/console/appraisals/open"): appraisal_open,
    ("POST", "/console/appraisals/{appraisal_id}/links"): appraisal_links,
    ("POST", "/console/appraisals/{appraisal_id}/close"): appraisal_close,
    ("POST", "/console/companies/items"): companies_items,
    ("POST", "/console/companies/company"): companies_company,
    ("POST", "/console/companies/estate"): companies_estate,
    ("POST", "/console/companies/ticket"): companies_ticket,
}


def test_every_route_is_listed_with_its_wall(app) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(app)
    actions = {r for r in routes if r[0] != "GET"}
    reads = {path for method, path in routes if method == "GET"}
    assert actions - set(ACTION_ROUTES) == set(), "a new action route: list it with its wall in tests/web/walls.py"
    assert reads - set(READ_ROUTES) == set(), "a new page: list it in tests/web/walls.py once it changes nothing"
    assert set(ACTION_ROUTES) - actions == set() and set(READ_ROUTES) - reads == set(), "listed but gone"
    assert set(ACTION_ROUTES.values()) | set(READ_ROUTES.values()) <= set(WALLS)
    walled = {route for route, wall in ACTION_ROUTES.items() if wall in WALLED}
    assert walled == set(SCENARIOS), "every walled action is attacked below"
    for (_, path), wall in [*ACTION_ROUTES.items(), *((("GET", p), w) for p, w in READ_ROUTES.items())]:
        if path.startswith("/console/d/"):
            assert wall == "deliberation" and "{deliberation_id}" in path, path  # staff.within_community


@pytest.mark.parametrize("route", sorted(SCENARIOS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_an_action_across_the_wall_is_refused_and_the_right_account_does_it(world: World,
                                                                                    route: tuple[str, str]) -> None:
    await SCENARIOS[route](world)
