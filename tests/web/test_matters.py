"""A procedure through the web on the real dev server: the committee completes a task in the console, owners
confirm their cost share and object through their personal links after the vote, double taps act once."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.notices import load_book
from domain.result_summary import summary_lines
from domain.roll import Scope
from tests.web.conftest import BASE_URL, SECRET, form_fields, give_links
from tests.workflows.conftest import cast, estate_roll, running_worker, stream_types, wait_box_open
from yishi.services.procedures import StartRequest, start_procedure
from yishi.services.results import summaries
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]
PERIODS = {"voting": "PT6S", "remind_before": "PT2S", "checkpoint": "PT2S", "share_confirmation": "PT90S",
           "publicity": "PT90S", "mediation": "PT90S", "paper_entry": "PT0S"}


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address)


async def page_until(client: httpx.AsyncClient, path: str, marker: str, what: str, patience: float = 40) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        response = await client.get(path)
        if marker in response.text:
            return response.text
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {response.status_code} {response.text[:400]}")
        await asyncio.sleep(0.3)


async def test_console_task_share_and_objection_through_links(temporal_server, app, client, sign_in, store,
                                                              pool) -> None:
    app.state.limits.per_token.limit = app.state.limits.per_address.limit = 10_000  # this test polls pages
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"web-matter-{uuid.uuid4().hex[:8]}"
    request = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                           periods=PERIODS)
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, queue):
        did, handle = await start_procedure(temporal, pool, estate_roll(), request, task_queue=queue)
        links = await give_links(store, did, OWNERS)
        path = {link.owner_id: f"/v/{link.token}" for link in links}

        # Before the vote the link shows the matter (feasibility), the console shows the task to do.
        text = await page_until(client, path["O361"], "可行性审查", "the feasibility stage on the owner's page")
        assert "/share" not in text and "/objection" not in text
        auditor = await sign_in("auditor")
        assert (await auditor.get(f"/console/d/{did}")).headers["location"] == f"/console/d/{did}/matter"
        audit_page = (await auditor.get(f"/console/d/{did}/matter")).text
        assert "可行性" in audit_page and "<form method=\"post\" action=\"/console/d/" not in audit_page
        committee = await sign_in("committee")
        page = await page_until(committee, f"/console/d/{did}/matter", "/tasks/", "the feasibility task form")
        form = form_fields(page, "")
        task_path = re.search(r'action="(/console/d/[^"?]+/tasks/[^"?]+)', page).group(1)  # type: ignore[union-attr]
        refused = await committee.post(task_path, data={"nonce": form["nonce"], "csrf": form["csrf"],
                                                        "outcome": "not_feasible"})
        assert refused.status_code == 409 and "理由" in refused.text, "a refusal of the workflow is shown"
        forged = await committee.post(task_path, data={"nonce": form["nonce"], "csrf": "0" * 32,
                                                       "outcome": "feasible"})
        assert forged.status_code == 403
        done = await committee.post(task_path, data={"nonce": form["nonce"], "csrf": form["csrf"],
                                                     "outcome": "feasible"})
        assert done.status_code == 303, done.text
        assert "TaskCompleted" in await stream_types(store, did)

        # The vote: every owner for (straight into the stream, as the web tier does).
        await wait_box_open(store, did, patience=30)
        for owner in OWNERS:
            await cast(store, did, owner, "for", datetime.now(UTC))

        # After the seal the same link shows the owner's share with a confirm button.
        text = await page_until(client, path["O361"], "/share", "the share form", patience=60)
        assert "表决结果：通过" in text and "应分摊" in text
        (summary,) = await summaries(store, did)  # the published figures, in the public page's lines
        for line in summary_lines(summary, "zh"):
            assert line in html.unescape(text), line
        assert f'href="/p/{did}"' in text
        # The owner asks for no text messages through the link (and for them again): the community's channel stream.
        for again, expected in (False, True), (True, False):
            sms = form_fields((await client.get(f"{path['O361']}/matter")).text, "/sms")
            asked = await client.post(f"{path['O361']}/sms", data={k: v for k, v in sms.items() if k != "_action"})
            assert asked.status_code == 200 and ("again" in sms) is again, asked.text[-600:]
            assert ("O361" in (await load_book(store, pool, "default")).opted_out) is expected
        share = form_fields(text, "/share")
        fields = {"nonce": share["nonce"], "csrf": share["csrf"]}
        first = await client.post(f"{path['O361']}/share", data=fields)
        again = await client.post(f"{path['O361']}/share", data=fields)  # a double tap
        assert first.status_code == 200 and "已确认" in first.text, first.text
        assert again.status_code == 200, again.text
        assert (await client.post(f"{path['O352']}/share", data=fields)).status_code == 403, "CSRF is per link"
        text = (await client.get(path["O361"])).text
        assert "您已确认分摊金额" in text and "/share" not in text
        types = await stream_types(store, did)
        assert types.count("ShareConfirmed") == 1

        for owner in (o for o in OWNERS if o != "O361"):
            text = await page_until(client, path[owner], "/share", f"{owner}'s share form")
            share = form_fields(text, "/share")
            response = await client.post(f"{path[owner]}/share", data={"nonce": share["nonce"],
                                                                          "csrf": share["csrf"]})
            assert response.status_code == 200, response.text
        # 公示: the link now offers an objection; an empty one is refused, a double tap files one.
        text = await page_until(client, path["O351"], "/objection", "the objection form", patience=60)
        objection = form_fields(text, "/objection")
        empty = await client.post(f"{path['O351']}/objection", data={**_hidden(objection), "text": "  "})
        assert empty.status_code == 422 and "请写明异议内容" in empty.text
        body = {**_hidden(objection), "text": "<script>alert(1)</script>遮挡采光"}
        filed = await client.post(f"{path['O351']}/objection", data=body)
        filed_again = await client.post(f"{path['O351']}/objection", data=body)
        assert filed.status_code == 200 and "异议已登记" in filed.text, filed.text
        assert filed_again.status_code == 200
        mine = (await client.get(f"{path['O351']}/matter?lang=en")).text
        assert "Objections you filed" in mine and "&lt;script&gt;" in mine and "<script>alert" not in mine
        assert (await stream_types(store, did)).count("ObjectionFiled") == 1
        await handle.terminate("test done")


def _hidden(form: dict[str, str]) -> dict[str, str]:
    return {"nonce": form["nonce"], "csrf": form["csrf"]}

