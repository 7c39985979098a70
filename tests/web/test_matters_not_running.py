"""An act on a deliberation whose workflow is not running — a plain ballot that never had one, a procedure that
has ended — on the real dev server: a 404 page that says the matter is not running (zh-CN first, English with
``?lang=en``), never the 503 "try again", which is kept for Temporal being away (test_matters_offline.py)."""

from __future__ import annotations

import re
import uuid

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from domain.roll import Scope
from tests.web.conftest import BASE_URL, SECRET, give_links
from tests.workflows.conftest import estate_roll
from yishi.services.links import token_hash
from yishi.services.procedures import StartRequest, start_procedure
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER
from yishi.web.security import form_csrf


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address)


def signed(token: str, purpose: str, **extra: str) -> dict[str, str]:
    nonce = uuid.uuid4().hex
    return {"nonce": nonce, "csrf": form_csrf(SECRET, purpose, token_hash(token), nonce), **extra}


def says_not_running(response, deliberation_id: str, words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 404, response.text
    assert words in response.text and deliberation_id in response.text
    assert "Retry-After" not in response.headers


async def test_owner_acts_on_a_ballot_without_a_workflow(open_deliberation, client) -> None:  # type: ignore[no-untyped-def]
    opened = await open_deliberation(2)
    owner = opened.owners[0]
    token, path = opened.tokens[owner], opened.path(owner)
    says_not_running(await client.post(f"{path}/share", data=signed(token, "share")), opened.id, "事项不在办理中")
    objection = signed(token, "objection", text="遮挡采光")
    says_not_running(await client.post(f"{path}/objection", data=objection), opened.id, "本次操作未记录")
    english = await client.post(f"{path}/share?lang=en", data=signed(token, "share"))
    says_not_running(english, opened.id, "This matter is not running")


async def test_acts_on_an_ended_procedure(temporal_server, client, sign_in, pool, store) -> None:  # type: ignore[no-untyped-def]
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    request = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"))
    did, handle = await start_procedure(temporal, pool, estate_roll(), request, task_queue=f"none-{uuid.uuid4().hex}")
    await handle.terminate("test: the procedure has ended")
    link = (await give_links(store, did, ["O361"], secret_key=SECRET))[0]
    response = await client.post(f"/v/{link.token}/share", data=signed(link.token, "share"))
    says_not_running(response, did, "事项不在办理中")
    committee = await sign_in("committee")
    page = await committee.get("/console")  # the stream is empty (no run): the matter page is a 404 itself
    form = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page.text))  # any console form's pair
    assert page.status_code == 200 and form, (page.status_code, page.text[-1500:])
    task = await committee.post(f"/console/d/{did}/tasks/feasibility-1", data={**form, "outcome": "feasible"})
    says_not_running(task, did, "事项不在办理中")
