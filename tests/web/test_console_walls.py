"""The community rule on every console page and form that takes a deliberation id, and on the rates page.

A committee or grid-worker account of another community gets the very page an unknown id gets (404, zh-CN
first, English with ``?lang=en``): it cannot tell a hidden deliberation from one that does not exist. Its own
community's deliberations and the street office's view are unchanged."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.roll import Scope
from tests.escalation.seed import AS_OF, seed
from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_matters import page_until
from tests.workflows.conftest import estate_roll, running_worker, stream_types
from yishi.services.capabilities import intake_subject
from yishi.services.procedures import StartRequest, start_procedure
from yishi.services.topic_intake import Proposer, TopicForm, raise_topic
from yishi.services.topic_links import intake_link
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

HOME = "幸福社区"  # sign_in's default community
KNOWN_ROUTES = {
    ("GET", "/console/d/{deliberation_id}"), ("GET", "/console/d/{deliberation_id}/non-voters"),
    ("GET", "/console/d/{deliberation_id}/paper"), ("POST", "/console/d/{deliberation_id}/paper"),
    ("GET", "/console/d/{deliberation_id}/matter"), ("POST", "/console/d/{deliberation_id}/tasks/{task_id}"),
}


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address)


def other_community() -> str:
    return f"和平社区-{uuid.uuid4().hex[:6]}"


def console_form(html: str) -> dict[str, str]:
    """The nonce and CSRF field of any console form on the page (they are bound to the session, not the form)."""
    pair = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html))
    assert set(pair) == {"nonce", "csrf"}, html[-800:]
    return pair


def same_as_unknown(hidden: httpx.Response, unknown: httpx.Response, hidden_id: str, unknown_id: str) -> None:
    """The hidden deliberation's answer is the unknown id's, byte for byte once the ids are swapped."""
    assert hidden.status_code == unknown.status_code == 404, (hidden.status_code, unknown.status_code)
    assert hidden.text.replace(hidden_id, "ID") == unknown.text.replace(unknown_id, "ID")


def staff_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every console route with a deliberation id in its path, as the app's generated OpenAPI paths list them
    (public FastAPI API; a route added with ``include_in_schema=False`` would not be seen)."""
    return {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
            if path.startswith("/console") and "{deliberation_id}" in path for method in operations}


async def hidden_like_unknown(app, outsider: httpx.AsyncClient, opened) -> None:  # type: ignore[no-untyped-def]
    """Every console route with a deliberation id (as listed by the app, so a new one is checked too) answers
    ``outsider`` for ``opened`` exactly as for an id that does not exist; posts record nothing."""
    routes = staff_routes(app)
    assert KNOWN_ROUTES <= routes, routes
    unknown_id = f"web-{uuid.uuid4().hex[:12]}"
    fields = {**console_form((await outsider.get("/console")).text), "room": opened.roll.rooms[0].room_id,
              "paper_ref": "P-1", "choice": "for", "outcome": "feasible"}
    for method, template in sorted(routes):
        def path(deliberation_id: str, template: str = template) -> str:
            return re.sub(r"\{[^}]+\}", "feasibility-1", template.replace("{deliberation_id}", deliberation_id))

        data = fields if method == "POST" else None
        hidden = await outsider.request(method, path(opened.id), data=data)
        same_as_unknown(hidden, await outsider.request(method, path(unknown_id), data=data), opened.id, unknown_id)
        assert "页面不存在" in hidden.text, (method, template)  # zh-CN first
        if method == "POST":  # a forged post learns nothing either: refused the same way for both ids
            forged = {**fields, "csrf": "0" * 32}
            bad = await outsider.request(method, path(opened.id), data=forged)
            assert bad.status_code == (await outsider.request(method, path(unknown_id), data=forged)).status_code
    english = await outsider.get(f"/console/d/{opened.id}", params={"lang": "en"})
    assert english.status_code == 404 and "Page not found" in english.text


async def test_ballot_pages_hidden_from_another_community_open_to_its_own_and_the_street(
        app, sign_in, open_deliberation, store) -> None:  # type: ignore[no-untyped-def]
    opened = await open_deliberation(4, community=HOME)
    outsider = await sign_in("committee", community=other_community())
    await hidden_like_unknown(app, outsider, opened)
    assert "BallotCast" not in await stream_types(store, opened.id), "the hidden paper-ballot form recorded nothing"

    committee = await sign_in("committee")
    for suffix in ("", "/non-voters", "/paper"):
        page = await committee.get(f"/console/d/{opened.id}{suffix}")
        assert page.status_code == 200 and opened.id in page.text, suffix
    form = console_form((await committee.get(f"/console/d/{opened.id}/paper")).text)
    entered = await committee.post(f"/console/d/{opened.id}/paper", data={
        **form, "room": opened.roll.rooms[0].room_id, "paper_ref": "P-1", "choice": "for", **opened.sheet})
    assert entered.status_code == 200 and 'id="receipt-code"' in entered.text, entered.text[-800:]
    assert "BallotCast" in await stream_types(store, opened.id)
    # The street office sees every community's progress (non-voters and paper entry are not its pages by role).
    street = await sign_in("street_office")
    elsewhere = await open_deliberation(2, community=other_community())
    for deliberation_id in (opened.id, elsewhere.id):
        assert (await street.get(f"/console/d/{deliberation_id}")).status_code == 200


async def test_procedure_page_and_its_task_form_keep_to_the_community(temporal_server, sign_in, store,
                                                                      pool) -> None:
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"walls-{uuid.uuid4().hex[:8]}"
    request = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                           community=HOME)
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, queue):
        did, handle = await start_procedure(temporal, pool, estate_roll(), request, task_queue=queue)
        try:
            committee = await sign_in("committee")
            page = await page_until(committee, f"/console/d/{did}/matter", "/tasks/", "the feasibility task form")
            task_path = re.search(r'action="(/console/d/[^"?]+/tasks/[^"?]+)', page).group(1)  # type: ignore[union-attr]

            outsider = await sign_in("committee", community=other_community())
            for path in (f"/console/d/{did}/matter", f"/console/d/{did}"):
                hidden = await outsider.get(path)
                assert hidden.status_code == 404 and "页面不存在" in hidden.text and "电梯" not in hidden.text, path
            form = console_form((await outsider.get("/console")).text)
            refused = await outsider.post(task_path, data={**form, "outcome": "feasible"})
            assert refused.status_code == 404 and "页面不存在" in refused.text
            assert "TaskCompleted" not in await stream_types(store, did), "the hidden task form did nothing"

            street = await sign_in("street_office")
            seen = await street.get(f"/console/d/{did}/matter")
            assert seen.status_code == 200 and "/tasks/" in seen.text
            done = await committee.post(task_path, data={**console_form(page), "outcome": "feasible"})
            assert done.status_code == 303, done.text[-800:]
            assert (await committee.get(done.headers["location"])).status_code == 200
            assert "TaskCompleted" in await stream_types(store, did)
        finally:
            await handle.terminate("test done")


def total_assigned(html: str) -> int:
    match = re.search(r"<tbody>\s*<tr><th scope=\"row\">[^<]*</th><td>(\d+)</td>", html)
    assert match is not None, html[-1500:]
    return int(match.group(1))


async def test_rates_count_a_committees_own_community_only(app, sign_in, store, pool) -> None:
    mine, theirs = other_community(), other_community()
    for community in (mine, theirs):  # 8 assignments each in March 2026 (tests/escalation/test_rates.py)
        await seed(store, pool, community)
    app.state.clock = lambda: AS_OF
    march = {"from": "2026-03-01", "to": "2026-03-31"}
    own = await (await sign_in("committee", community=mine)).get("/console/escalations/rates", params=march)
    assert own.status_code == 200 and total_assigned(own.text) == 8 and f"本账号属于 {mine}" in own.text
    assert theirs not in own.text
    other = await sign_in("committee", community=theirs)
    asked = await other.get("/console/escalations/rates", params={**march, "community": mine, "lang": "en"})
    assert asked.status_code == 200 and total_assigned(asked.text) == 8, "its own tickets, not the ones asked for"
    assert f"may not see {mine}'s tickets" in asked.text and f'<option value="{mine}"' not in asked.text
    street = await sign_in("street_office")
    everything = await street.get("/console/escalations/rates", params=march)
    assert everything.status_code == 200 and total_assigned(everything.text) >= 16
    assert f'<option value="{mine}">' in everything.text and f'<option value="{theirs}">' in everything.text
    filtered = await street.get("/console/escalations/rates", params={**march, "community": mine})
    assert total_assigned(filtered.text) == 8 and f'<option value="{mine}" selected>' in filtered.text


async def test_streams_no_registry_places_are_hidden_from_a_community_bound_account(
        app, sign_in, store, pool, settings, temporal_server) -> None:  # type: ignore[no-untyped-def]
    """Issue 17: a topic stream and a community's intake-link stream are no deliberation and no meeting. The audit
    page and its export took any id with events; the wall let a community-bound account through for an id neither
    registry lists. A committee of another community now gets the unknown id's 404 on every console GET with a
    deliberation id; an auditor, bound to no community, still audits them."""
    theirs = f"community-a-{uuid.uuid4().hex[:6]}"  # ASCII: the ids appear in the paths as they are
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"walls-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, queue):
        raised = await raise_topic(temporal, pool, TopicForm(community=theirs, title="3号楼楼道堆物",
                                                             description="纸箱堆到二楼"),
                                   Proposer(source="intake", kind="resident"),
                                   settings=settings.model_copy(update={"task_queue": queue}), now=now)
        try:
            await intake_link(pool, store, theirs, None, by="test", secret_key=SECRET, now=now)
            streams = (raised.topic_id, intake_subject(theirs))
            for stream in streams:
                assert await stream_types(store, stream), stream
            outsider = await sign_in("committee", community=other_community())
            reads = sorted(path for method, path in staff_routes(app) if method == "GET")
            assert {"/console/d/{deliberation_id}/audit", "/console/d/{deliberation_id}/audit/export.zip"} <= set(
                reads)
            unknown_id = f"topic-{uuid.uuid4().hex[:12]}"
            shown = []
            for stream in streams:
                for template in reads:
                    def path(deliberation_id: str, template: str = template) -> str:
                        return re.sub(r"\{[^}]+\}", "n-1", template.replace("{deliberation_id}", deliberation_id))

                    hidden = await outsider.get(path(stream))
                    if hidden.status_code != 404:
                        shown.append((path(stream), hidden.status_code, hidden.headers.get("content-type")))
                        continue
                    same_as_unknown(hidden, await outsider.get(path(unknown_id)), stream, unknown_id)
            assert not shown, "\n".join(map(str, shown))
            auditor = await sign_in("auditor", community=None)
            for stream in streams:
                page = await auditor.get(f"/console/d/{stream}/audit")
                assert page.status_code == 200 and stream in page.text, stream
        finally:
            await temporal.get_workflow_handle(raised.topic_id).terminate("test done")
