"""Who complained is on the ticket page for the offices that own (or owned) a part of the ticket, and for no one
else who may see the ticket (issue 19: "every office that owns a part of a ticket sees the complainant")."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.escalation.conftest import ticket_until
from tests.web.conftest import BASE_URL, SECRET
from tests.workflows.conftest import running_worker
from workflows.escalation_joint import Whistle
from yishi.services.escalations import TicketRequest, keep_complainant, open_ticket, whistle
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

QUEUE = f"web-complainant-{uuid.uuid4().hex[:8]}"
PHONE = "13700000000"


@pytest.fixture
def settings(database_url: str, temporal_server) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                    temporal_address=temporal_server.address, task_queue=QUEUE)


async def test_the_offices_that_own_a_part_see_who_complained(app, sign_in, store, pool, temporal_server) -> None:
    temporal = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    app.state.temporal = temporal
    async with running_worker(WorkflowEnvironment.from_client(temporal), store, pool, QUEUE):
        tid = f"esc-{uuid.uuid4().hex[:12]}"
        digest = await keep_complainant(pool, tid, {"name": "王先生", "phone": PHONE, "room": "8-2-301"})
        _, handle = await open_ticket(temporal, TicketRequest(community="幸福社区", category="housing",
                                                              subject="楼顶漏水", initiator="O311",
                                                              initiator_kind="owner", start_level="street",
                                                              complainant_digest=digest),
                                      task_queue=QUEUE, ticket_id=tid)
        await ticket_until(handle, lambda t: t.current is not None, "the ticket's first assignment")
        await whistle(temporal, tid, Whistle(role="street_office", actor="王科长", org="street",
                                             departments=("dept:housing",), text="联合处置"))
        await ticket_until(handle, lambda t: bool(t.joint.parts), "the part")
        page = f"/console/escalations/t/{tid}"
        for role, org, sees in (("street_office", "street", True), ("department", "dept:housing", True),
                                ("committee", None, False)):
            client = await sign_in(role, community="幸福社区" if role == "committee" else None, organisation=org)
            html = (await client.get(page)).text
            assert "楼顶漏水" in html, (role, html[-400:])
            assert (PHONE in html) is sees and ('id="complainant"' in html) is sees, role
        # No other office: an auditor (who may read every ticket), a department the whistle did not call in, the
        # community's grid worker; whether or not the ticket page opens for them, the complainant is not on it.
        for role, org, community in (("auditor", None, None), ("department", "dept:urban", None),
                                     ("grid_worker", None, "幸福社区")):
            client = await sign_in(role, community=community, organisation=org)
            response = await client.get(page)
            assert response.status_code in (200, 404), (role, response.status_code)
            assert PHONE not in response.text and 'id="complainant"' not in response.text, role
            assert "王先生" not in response.text and "8-2-301" not in response.text, role
