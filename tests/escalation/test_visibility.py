"""Who may open a ticket: the committee clause is the console's community rule (services/console.py
``may_see_community``), so the ticket pages, the console and the rates agree on what a committee account sees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from activities.escalation import _new, project_ticket
from domain import escalation as esc
from domain.escalation import EscalationOpened, default_ladder
from tests.escalation.dues import first_dues
from workflows.escalation import FIRST_KEY
from yishi.services.accounts import Account
from yishi.services.console import UNASSIGNED, may_see_community
from yishi.services.escalations import may_see

AT = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
COMMUNITY = "幸福社区"  # the community tests/web's sign_in gives its accounts


def ticket_of(community: str, start_level: str = "street") -> tuple[list[esc.EscalationEvent], esc.Ticket]:
    opened = EscalationOpened(at=AT, ticket_id=f"esc-{uuid.uuid4().hex[:10]}", parent_id=None, community=community,
                              category="housing", subject="楼道堆物", detail="", initiator="committee",
                              initiator_kind="committee", levels=default_ladder(community).for_category("housing"),
                              outcomes=("resolved",))
    events = esc.open_ticket(opened, start_level, first_dues(opened, start_level))
    return events, esc.fold(events)


@pytest.mark.parametrize(("account", "sees"), [
    (Account(1, "a", "committee", "xfl"), {"xfl", UNASSIGNED}),
    (Account(2, "b", "committee", None), {"xfl", "hpl", UNASSIGNED}),
    (Account(3, "c", "auditor", "xfl"), {"xfl", "hpl", UNASSIGNED}),
    (Account(4, "d", "grid_worker", "xfl"), set()),  # through its organisation only (the ticket is at the street)
    (Account(5, "e", "department", None, "dept:housing"), set()),
    (Account(6, "f", "street_office", None), {"xfl", "hpl", UNASSIGNED}),  # the owner: the ticket is at `street`
], ids=["committee-xfl", "committee-anywhere", "auditor", "grid-worker", "department", "street-office"])
def test_ticket_rule(account: Account, sees: set[str]) -> None:
    for community in ("xfl", "hpl", UNASSIGNED):
        _, ticket = ticket_of(community)
        assert may_see(account, ticket) == (community in sees), community
        if account.role == "committee":
            assert may_see(account, ticket) == may_see_community(account, community), "the console's rule"


async def tickets_of_three_communities(store, pool) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A recorded and projected ticket of the sign-in's community, of the unassigned one and of another: their ids."""
    ids = {}
    for community in (COMMUNITY, UNASSIGNED, f"c-{uuid.uuid4().hex[:6]}"):
        events, ticket = ticket_of(community)
        await store.append(ticket.ticket_id, _new(events), idempotency_key=FIRST_KEY)
        await project_ticket(store, pool, ticket.ticket_id)
        ids[community] = ticket.ticket_id
    return ids


async def test_ticket_pages_follow_the_console_rule(store, pool, app, sign_in) -> None:
    pages = {c: f"/console/escalations/t/{t}" for c, t in (await tickets_of_three_communities(store, pool)).items()}
    bound, anywhere = await sign_in("committee"), await sign_in("committee", community=None)
    assert {c: (await bound.get(p)).status_code for c, p in pages.items()} == dict(
        zip(pages, (200, 200, 404), strict=True))
    assert {(await anywhere.get(p)).status_code for p in pages.values()} == {200}


async def test_committee_ticket_list_shows_what_it_may_open(store, pool, app, sign_in) -> None:
    ids = await tickets_of_three_communities(store, pool)
    bound, anywhere = await sign_in("committee"), await sign_in("committee", community=None)
    listed = (await bound.get("/console/escalations")).text
    assert [ids[c] in listed for c in ids] == [True, True, False], "its own community and the unassigned one"
    listed = (await anywhere.get("/console/escalations")).text
    assert all(ticket_id in listed for ticket_id in ids.values()), "a committee without a community: every one"
