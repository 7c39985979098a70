"""The ticket page's link to where the ticket came from (yishi/web/ticket_parent.py): a topic's, a meeting's or a
deliberation's own page, shown exactly when the viewer may open that page (its roles and its community rule), never
the deliberation page for a topic or a meeting (a dead link before)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from activities.escalation import _new, project_ticket
from domain import escalation as esc
from domain.escalation import EscalationOpened, default_ladder
from tests.escalation.dues import first_dues
from tests.topics.test_figures import meeting, topic
from workflows.escalation import FIRST_KEY
from yishi.services.console import UNASSIGNED

HOME = "幸福社区"  # sign_in's community
LINK = re.compile(r'<a href="([^"]+)" id="ticket-parent">')
PATHS = {"topic": "/console/topics/", "meeting": "/console/meetings/", "deliberation": "/console/d/"}


async def ticket_under(store, pool, parent_id: str) -> str:  # type: ignore[no-untyped-def]
    """A ticket of the unassigned community (every committee account may open it) filed under ``parent_id``."""
    opened = EscalationOpened(at=datetime.now(UTC), ticket_id=f"esc-{uuid.uuid4().hex[:10]}", parent_id=parent_id,
                              community=UNASSIGNED, category="housing", subject="楼道堆物", detail="",
                              initiator="committee", initiator_kind="committee",
                              levels=default_ladder(UNASSIGNED).for_category("housing"), outcomes=("resolved",))
    events = esc.open_ticket(opened, "street", first_dues(opened, "street"))
    await store.append(opened.ticket_id, _new(events), idempotency_key=FIRST_KEY)
    await project_ticket(store, pool, opened.ticket_id)
    return opened.ticket_id


@pytest.mark.parametrize("kind", ["topic", "meeting", "deliberation"])
async def test_link_to_the_parent_page_exactly_when_it_opens(kind, store, pool, app, sign_in,
                                                            open_deliberation) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    if kind == "topic":
        parent = await topic(store, pool, HOME, now - timedelta(days=1), "p:a")
    elif kind == "meeting":
        parent = await meeting(store, pool, HOME, now + timedelta(days=3), held=False)
    else:
        parent = (await open_deliberation(community=HOME, links=False)).id
    page = f"/console/escalations/t/{await ticket_under(store, pool, parent)}"
    viewers = {"home committee": await sign_in("committee"),
               "other committee": await sign_in("committee", community=f"c-{uuid.uuid4().hex[:6]}"),
               "auditor": await sign_in("auditor", community=None)}
    shown: dict[str, bool] = {}
    for who, client in viewers.items():
        response = await client.get(page)
        assert response.status_code == 200, who
        link = LINK.search(response.text)
        target = (await client.get(PATHS[kind] + parent)).status_code
        if link is not None:
            assert link.group(1) == PATHS[kind] + parent, (who, "the parent's own page")
            assert target == 200, (who, "a link the viewer can follow")
        else:
            assert 'id="ticket-parent"' in response.text, (who, "the kind named, without a link")
            assert parent not in response.text, (who, "neither the id nor a link")
            assert target == 404 if who == "other committee" else target in (403, 404), who
        shown[who] = link is not None
    # the meeting pages are the community's staff's and the street office's, not an auditor's
    assert shown == {"home committee": True, "other committee": False, "auditor": kind != "meeting"}
