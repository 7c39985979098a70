"""Staff never see an owner's follow-up link (issue 17 item 7).

Found by an outside test: the ticket page showed a committee member the owner's ``/f/<token>`` link, and the
committee answered the satisfaction follow-up itself. Now no staff page shows a capability link, opening the
ticket page issues nothing, and the link reaches the owner by the resolution's notice to the SMS gateway or by a
printed slip, whose printing is a fact in the ticket's stream (who, when) and whose link is on paper only."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from activities.escalation import EscalationActivities, TicketNotice, _new, project_ticket
from activities.escalation_links import FollowUpLinks
from domain import escalation as esc
from domain.escalation import EscalationOpened, Resolved, default_ladder
from domain.stage_events import NoticePublished
from tests.escalation.dues import first_dues
from tests.web.conftest import BASE_URL, SECRET, form_fields
from workflows.escalation import FIRST_KEY
from yishi.services.links import resolve_link

HOME = "幸福社区"  # the community tests/web's sign_in gives its accounts
TOKEN = re.compile(r"/[fv]/[A-Za-z0-9_-]{43}")
NOW = datetime.now(UTC)


async def resolved_ticket(store, pool, community: str = HOME, kind: str = "owner") -> str:  # type: ignore[no-untyped-def]
    """An owner's ticket resolved by the street office, recorded and projected (no workflow needed)."""
    tid = f"esc-{uuid.uuid4().hex[:12]}"
    opened = EscalationOpened(at=NOW - timedelta(hours=2), ticket_id=tid, parent_id=None, community=community,
                              category="housing", subject="楼道堆物", detail="", initiator="O311",
                              initiator_kind=kind, levels=default_ladder(community).for_category("housing"),  # type: ignore[arg-type]
                              outcomes=("resolved",))
    events = [*esc.open_ticket(opened, "street", first_dues(opened, "street")),
              Resolved(at=NOW - timedelta(hours=1), org="street", by="王科长", outcome="resolved", resolution="已清理")]
    await store.append(tid, _new(events), idempotency_key=FIRST_KEY)
    await project_ticket(store, pool, tid)
    return tid


async def links_of(pool, tid: str) -> int:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM links WHERE deliberation_id = $1", tid)


async def test_no_staff_page_shows_or_issues_the_owners_link(store, pool, app, sign_in) -> None:
    tid = await resolved_ticket(store, pool)
    staff = {"committee": await sign_in("committee"), "grid_worker": await sign_in("grid_worker"),
             "street_office": await sign_in("street_office"),
             "department": await sign_in("department", community=None, organisation="dept:housing"),
             "auditor": await sign_in("auditor", community=None)}
    for role, client in staff.items():
        for path in (f"/console/escalations/t/{tid}", "/console/escalations", "/console"):
            page = await client.get(path)
            assert page.status_code in (200, 404), (role, path, page.status_code)
            assert "/f/" not in page.text and not TOKEN.search(page.text), (role, path, "a capability link shown")
    assert (await staff["committee"].get(f"/console/escalations/t/{tid}")).status_code == 200
    assert await links_of(pool, tid) == 0, "opening the ticket page issues no link (a GET changes nothing)"


async def test_the_printed_slip_is_recorded_and_shows_the_link_on_paper_only(store, pool, app, sign_in) -> None:
    tid = await resolved_ticket(store, pool)
    name = f"委员-{uuid.uuid4().hex[:6]}"
    committee = await sign_in("committee", name)
    page = await committee.get(f"/console/escalations/t/{tid}")
    form = form_fields(page.text, "/slip")
    action = form.pop("_action")
    assert action == f"/console/escalations/t/{tid}/slip"
    street = await sign_in("street_office")
    assert (await street.post(action, data=form)).status_code == 403, "the street office hands out no slip"
    printed = await committee.post(action, data=form)
    assert printed.status_code == 200 and printed.headers["cache-control"] == "no-store"
    again = await committee.post(action, data=form)  # the same form twice (a double click): one printing
    assert again.status_code == 200
    screen, _, paper = printed.text.partition('<section class="print-only')
    assert not TOKEN.search(screen), "the screen part of the print view shows no link"
    url = re.search(r'<p class="slip-url">([^<]+)</p>', paper).group(1)  # type: ignore[union-attr]
    assert url.startswith(f"{BASE_URL}/f/") and "/static/print.js" in printed.text
    assert f'<a class="lang" href="/console/escalations/t/{tid}?lang=en"' in printed.text, "the switch GETs the ticket"
    holder = await resolve_link(pool, url.rsplit("/", 1)[1])
    assert (holder.deliberation_id, holder.owner_id) == (tid, "O311")
    slips = [e for e in await store.read(tid) if e.type == "FollowUpSlipPrinted"]
    assert len(slips) == 1, "recorded once"
    assert {k: slips[0].payload[k] for k in ("by", "role", "generation", "status")} == {
        "by": f"committee {name}", "role": "committee", "generation": 1, "status": "resolved"}
    assert url.rsplit("/", 1)[1] not in json.dumps([e.payload for e in await store.read(tid)]), "no token in the chain"
    auditor = await sign_in("auditor", community=None)
    history = (await auditor.get(f"/console/escalations/t/{tid}")).text
    assert "FollowUpSlipPrinted" in history and f"{name}打印了业主回访单" in history and not TOKEN.search(history)
    # The owner answers through the printed link, without any session.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as owner:
        answer = await owner.get(url.removeprefix(BASE_URL))
        assert answer.status_code == 200 and "已清理" in answer.text


async def test_no_slip_for_another_community_or_a_committees_ticket(store, pool, app, sign_in) -> None:
    elsewhere = await resolved_ticket(store, pool, community=f"和平社区-{uuid.uuid4().hex[:6]}")
    own_committee_ticket = await resolved_ticket(store, pool, kind="committee")
    committee = await sign_in("committee")
    form = form_fields((await committee.get(f"/console/escalations/t/{own_committee_ticket}")).text, "/act")
    form.pop("_action")
    refused = await committee.post(f"/console/escalations/t/{elsewhere}/slip", data=form)
    assert refused.status_code == 404 and await links_of(pool, elsewhere) == 0
    page = await committee.get(f"/console/escalations/t/{own_committee_ticket}")
    assert "/slip" not in page.text, "a committee's own ticket is answered in the console, not by a link"
    refused = await committee.post(f"/console/escalations/t/{own_committee_ticket}/slip", data=form)
    assert refused.status_code == 409 and await links_of(pool, own_committee_ticket) == 0


async def test_the_resolution_notice_takes_the_link_to_the_owner_alone(store, pool) -> None:
    tid = await resolved_ticket(store, pool, community=f"notice-{uuid.uuid4().hex[:6]}")
    community = (await store.read(tid))[0].payload["community"]
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)",
                           community, ["print", "webhook", "log"], "http://gateway.test/notices")
    posted: list[dict] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(202)

    activities = EscalationActivities(store, pool, transport=httpx.MockTransport(gateway),
                                      links=FollowUpLinks(pool, SECRET, "https://yishi.example.cn"))
    for kind in ("escalation_resolved", "escalation_escalated"):
        notice = NoticePublished(at=NOW, notice_id=f"{kind}-9", kind=kind, title_zh="工单已答复", title_en="Resolved",
                                 body_zh="已清理", body_en="cleared", recipients=("O311", f"committee:{community}"))
        assert await activities.notify_escalation(TicketNotice(ticket_id=tid, community=community, notice=notice)) == 3
    resolved, escalated = posted
    owner, committee = resolved["recipients"]
    assert owner["id"] == "O311" and owner["follow_up_url"].startswith("https://yishi.example.cn/f/")
    assert "follow_up_url" not in committee and all("follow_up_url" not in r for r in escalated["recipients"])
    token = owner["follow_up_url"].rsplit("/", 1)[1]
    assert (await resolve_link(pool, token)).owner_id == "O311"
    assert token not in json.dumps([e.payload for e in await store.read(tid)]), "the stream holds no token"
    unconfigured = EscalationActivities(store, pool, transport=httpx.MockTransport(gateway))
    notice = NoticePublished(at=NOW, notice_id="escalation_resolved-10", kind="escalation_resolved", title_zh="t",
                             title_en="t", body_zh="b", body_en="b", recipients=("O311",))
    await unconfigured.notify_escalation(TicketNotice(ticket_id=tid, community=community, notice=notice))
    assert posted[-1]["recipients"] == [{"id": "O311"}], "no secret key in the worker: no link, the slip instead"
