"""A property-company vote through the owners' links on the real dev server: several questions on one ballot
page (dismiss; each candidate), each submitted on its own with its own receipt, then a tie and a re-vote whose
box has a stream of its own, reached through the same personal links; the console per question."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.roll import Scope
from tests.web.conftest import BASE_URL, SECRET, form_fields, give_links
from tests.workflows.conftest import complete, estate_roll, running_worker, stream_types, wait_for
from yishi.services.procedures import StartRequest, start_procedure
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

OWNERS = ["O311", "O312", "O321", "O322"]
PERIODS = {"notice": "PT1S", "voting": "PT8S", "remind_before": "PT2S", "checkpoint": "PT2S",
           "result_posting": "PT1H", "paper_entry": "PT0S"}  # sealed at the close, as these tests expect


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address)


def question_forms(html: str) -> dict[str, dict[str, str]]:
    """The hidden fields of each ballot form on the page, by question id."""
    forms = {}
    for body in re.findall(r'<form method="post" action="/v/[^"]*" class="ballot">(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
        forms[fields["question"]] = fields
    return forms


async def ballot_with(client: httpx.AsyncClient, path: str, questions: set[str], patience: float = 40) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        text = (await client.get(path)).text
        if set(question_forms(text)) == questions:
            return text
        if loop.time() > deadline:
            raise AssertionError(f"no ballot with {questions}: {sorted(question_forms(text))}")
        await asyncio.sleep(0.3)


async def vote(client: httpx.AsyncClient, path: str, page: str, choices: dict[str, str]) -> list[str]:
    forms, codes = question_forms(page), []
    for question, choice in choices.items():
        response = await client.post(path, data={**forms[question], "choice": choice})
        assert response.status_code == 200, response.text
        codes.append(re.search(r'id="receipt-code">([^<]+)<', response.text).group(1))  # type: ignore[union-attr]
    return codes


async def test_property_vote_several_questions_and_revote_through_links(temporal_server, app, client, sign_in,
                                                                        store, pool) -> None:
    app.state.limits.per_token.limit = app.state.limits.per_address.limit = 10_000  # this test polls pages
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    queue = f"web-multi-{uuid.uuid4().hex[:8]}"
    request = StartRequest(procedure="property", title="更换物业", scope=Scope(), periods=PERIODS,
                           options={"candidates": [{"id": "A", "name": "安居物业"}, {"id": "B", "name": "百合物业"}],
                                    "current_company": "旧物业"})
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, queue):
        did, handle = await start_procedure(temporal, pool, estate_roll(floors=2), request, task_queue=queue)
        links = await give_links(store, did, OWNERS)
        path = {link.owner_id: f"/v/{link.token}" for link in links}
        await complete(handle, "review", "committee", "accepted")

        # Round 1: three questions on one page; A and B each get 3 of 4 owners: a tie.
        first = {"dismiss", "candidate:A", "candidate:B"}
        for n, owner in enumerate(OWNERS):
            page = await ballot_with(client, path[owner], first)
            assert "本次共 3 项表决" in page
            codes = await vote(client, path[owner], page, {"dismiss": "for", "candidate:A": "for" if n < 3 else
                                                            "against", "candidate:B": "for" if n > 0 else "against"})
            assert len(set(codes)) == 3, "a receipt per question"
        page = (await client.get(path["O311"])).text
        assert "本次共 3 项表决" in page and page.count("您已投票") == 3, "each question shows the owner's ballot"
        committee = await sign_in("committee")
        for q in ("dismiss", "candidate:B"):
            assert (await committee.get(f"/console/d/{did}?q={q}")).status_code == 200
        non_voters = await committee.get(f"/console/d/{did}/non-voters")
        assert non_voters.status_code == 200 and "3-2-101" not in non_voters.text
        paper = await committee.get(f"/console/d/{did}/paper")
        assert 'name="question"' in paper.text
        form = form_fields(paper.text, "/paper")
        wrong = await committee.post(f"/console/d/{did}/paper", data={
            "nonce": form["nonce"], "csrf": form["csrf"], "room": "3-2-101", "choice": "for", "paper_ref": "S-1",
            "question": "candidate:Z"})
        assert wrong.status_code == 422

        # Round 2 (re-vote between the tied candidates): the same links lead to the new round's box.
        second = {"candidate:A", "candidate:B"}
        for n, owner in enumerate(OWNERS):
            page = await ballot_with(client, path[owner], second, patience=60)
            await vote(client, path[owner], page, {"candidate:A": "for", "candidate:B": "for" if n == 0 else "against"})
        state = await wait_for(handle, lambda s: "winner" in s.extra, "the winner", timeout=60)
        await handle.terminate("test done")
    assert state.extra["winner"] == "A"
    revote = [e for e in await store.read(f"{did}~r2") if e.type == "BallotCast"]
    assert sorted({e.payload["question_id"] for e in revote}) == ["candidate:A", "candidate:B"] and len(revote) == 8
    assert (await stream_types(store, did)).count("BallotCast") == 12
