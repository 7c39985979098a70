"""The wall every route of the web app keeps (issue 17 item 1), and helpers to attack them.

:data:`ACTION_ROUTES` lists every route that is not a GET with the rule it keeps, :data:`READ_ROUTES` every GET
route (pages change nothing; the follow-up link is no longer issued by a GET). ``tests/web/test_action_walls.py``
fails when the app has a route that is not listed here, and attacks every walled action."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.routing import Mount

WALLS = {
    "deliberation": "the deliberation's community: yishi/web/staff.py within_community on {deliberation_id}, "
                    "the rule of the deliberation's console pages",
    "ticket": "the ticket page's rule: yishi/web/inbox.py visible_ticket (services/escalations.py may_see), then "
              "the workflow's validator (domain/escalation_auth.py)",
    "organisation": "the organisation API's rule: services/escalations.py org_may_see, as the read route, then "
                    "the workflow's validator",
    "own community": "acts in the account's own community only: a community-bound account cannot name another "
                     "community or another community's deliberation",
    "capability": "the personal link: the token is the credential (a resident's, never shown to staff)",
    "session": "the signed-in account's own session",
    "role": "an account of the roles named in the route (no community: the log of every account, for auditors)",
    "public": "no account; nothing of a community is changed or shown beyond what is public",
    "hotline": "a 12345 system's bearer token (role hotline) and its HMAC signature over the body; a case is seen "
               "only by the hotline that sent it (yishi/web/hotline_api.py)",
    "topic": "the topic's community: yishi/web/console_topics.py visible_topic (services/console.py "
             "may_see_community), then the topic workflow's check of the actor (domain/topic_checks.py by_staff)",
    "intake": "a community's intake link (the poster's QR code): the token is the credential, for that community "
              "only; raising is throttled (services/intake_limit.py), the body bounded before it is read",
    "own street": "a street office acts on the register of the street it acts for only (yishi/web/console_companies.py "
                  "street_of: services/escalations.py account_org); a form names a period, never a street",
    "meeting": "the meeting's community: yishi/web/console_meetings.py visible_meeting (services/console.py "
               "may_see_community), then the meeting workflow's check of the actor (domain/meeting_checks.py staff)",
}

ACTION_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/console/d/{deliberation_id}/paper"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/paper/settings"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/links"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/links/reissue"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/sheets"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/links.csv"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/tasks/{task_id}"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/feedback"): "deliberation",
    ("POST", "/console/d/{deliberation_id}/deliveries/retry"): "deliberation",
    ("POST", "/console/escalations/t/{ticket_id:path}/act"): "ticket",
    ("POST", "/console/escalations/t/{ticket_id:path}/slip"): "ticket",
    ("POST", "/console/escalations/t/{ticket_id:path}/whistle"): "ticket",
    ("POST", "/console/escalations/t/{ticket_id:path}/parts/{part}"): "ticket",
    ("POST", "/console/structure/{community}"): "own community",
    ("POST", "/console/structure/import"): "role",
    ("POST", "/console/structure/{community}/ladder"): "own community",
    ("POST", "/api/v1/escalations/{ticket_id:path}/actions"): "organisation",
    ("POST", "/api/v1/escalations/{ticket_id:path}/parts/{part}"): "organisation",
    ("POST", "/api/v1/hotline/cases"): "hotline",
    ("POST", "/api/v1/hotline/cases/{source}/{case_number}/rating"): "hotline",
    ("POST", "/console/escalations/new"): "own community",
    ("POST", "/console/new"): "own community",
    ("POST", "/console/channels"): "own community",
    ("POST", "/console/postings"): "deliberation",
    ("POST", "/console/documents"): "deliberation",
    ("POST", "/console/channels/remove"): "own community",
    ("POST", "/console/channels/test"): "own community",
    ("POST", "/console/channels/quiet"): "own community",
    ("POST", "/console/channels/opt-out"): "own community",
    ("POST", "/console/points/award"): "own community",
    ("POST", "/console/companies/publish"): "own street",
    ("POST", "/console/appraisals/open"): "own community",
    ("POST", "/console/appraisals/{appraisal_id}/close"): "own community",
    ("POST", "/console/appraisals/{appraisal_id}/links"): "own community",
    ("POST", "/console/companies/items"): "own street",
    ("POST", "/console/companies/company"): "own street",
    ("POST", "/console/companies/estate"): "own street",
    ("POST", "/console/companies/ticket"): "own street",
    ("POST", "/console/points/deduct"): "own community",
    ("POST", "/console/points/rule"): "own community",
    ("POST", "/console/points/leaderboard/hide"): "own community",
    ("POST", "/console/points/vote-participation"): "own community",
    ("POST", "/console/points/shop-link"): "own community",
    ("POST", "/console/points/shop-link/revoke"): "own community",
    ("POST", "/console/volunteers/revoke"): "own community",
    ("POST", "/console/volunteers/activity"): "own community",
    ("POST", "/console/volunteers/check"): "own community",
    ("POST", "/console/volunteers/hours"): "own community",
    ("POST", "/console/volunteers/poster"): "own community",
    ("POST", "/console/volunteers/qr"): "own community",
    ("POST", "/v/{token}"): "capability",
    ("POST", "/v/{token}/proxy"): "capability",
    ("POST", "/v/{token}/proxy/revoke"): "capability",
    ("POST", "/v/{token}/share"): "capability",
    ("POST", "/v/{token}/objection"): "capability",
    ("POST", "/v/{token}/sms"): "capability",
    ("POST", "/f/{token}"): "capability",
    ("POST", "/me/{token}/signup"): "capability",
    ("POST", "/me/{token}/redeem"): "capability",
    ("POST", "/me/{token}/leaderboard"): "capability",
    ("POST", "/ck/{token}"): "capability",
    ("POST", "/sh/{token}"): "capability",
    ("POST", "/vt/{token}"): "capability",
    ("POST", "/v/{token}/appraisal"): "capability",
    ("POST", "/api/v1/ballots"): "capability",
    ("POST", "/v/{token}/topic"): "capability",
    ("POST", "/v/{token}/topic/join"): "capability",
    ("POST", "/t/{token}"): "intake",
    ("POST", "/t/{token}/join"): "intake",
    ("POST", "/tt/{token}/comment"): "capability",
    ("POST", "/tt/{token}/feedback"): "capability",
    ("POST", "/console/topics/{topic_id}/act"): "topic",
    ("POST", "/console/topics/poster"): "own community",
    ("POST", "/console/topics/new"): "own community",
    ("POST", "/console/meetings/new"): "own community",
    ("POST", "/console/meetings/{meeting_id}/act"): "meeting",
    ("POST", "/console/meetings/{meeting_id}/links"): "meeting",
    ("POST", "/m/{token}"): "capability",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "session",
    ("POST", "/console/account/password"): "session",
    ("POST", "/console/account/sessions/end"): "session",
}

READ_ROUTES: dict[str, str] = {
    "/console/d/{deliberation_id}": "deliberation",
    "/console/d/{deliberation_id}/non-voters": "deliberation",
    "/console/d/{deliberation_id}/paper": "deliberation",
    "/console/d/{deliberation_id}/matter": "deliberation",
    "/console/d/{deliberation_id}/links": "deliberation",
    "/console/d/{deliberation_id}/audit": "deliberation",
    "/console/d/{deliberation_id}/audit/export.zip": "deliberation",
    "/console/d/{deliberation_id}/deliveries": "deliberation",
    "/console/d/{deliberation_id}/postings": "deliberation",
    "/console/d/{deliberation_id}/notices/{notice_id}/sheet": "deliberation",
    "/console/escalations/t/{ticket_id:path}": "ticket",
    "/console/escalations/file/{sha256}": "ticket",
    "/console/d/{deliberation_id}/documents/{sha256}": "deliberation",
    "/v/{token}/documents/{sha256}": "capability",
    "/api/v1/escalations/{ticket_id:path}/state": "organisation",
    "/api/v1/hotline/cases/{source}/{case_number}": "hotline",
    "/console": "own community",
    "/console/escalations": "own community",
    "/console/escalations/rates": "own community",
    "/console/escalations/appraisal": "own community",
    "/console/escalations/new": "own community",
    "/console/structure": "own community",
    "/console/new": "own community",
    "/console/new/periods": "role",
    "/console/channels": "own community",
    "/console/points": "own community",
    "/console/points/statement": "own community",
    "/console/points/statement.csv": "own community",
    "/console/points/statement.xlsx": "own community",
    "/console/volunteers": "own community",
    "/console/appraisals": "own community",
    "/console/companies": "own street",
    "/console/companies/list.csv": "own street",
    "/console/account": "session",
    "/console/accounts/log": "role",
    "/console/roll-template.csv": "public",
    "/v/{token}": "capability",
    "/v/{token}/matter": "capability",
    "/f/{token}": "capability",
    "/v/{token}/topic": "capability",
    "/t/{token}": "intake",
    "/tt/{token}": "capability",
    "/console/topics": "own community",
    "/console/topics/{topic_id}": "topic",
    "/console/topics/{topic_id}/photos/{index}": "topic",
    "/console/topics/figures": "own community",
    "/console/topics/figures.csv": "own community",
    "/console/topics/figures.xlsx": "own community",
    "/console/topics/new": "own community",
    "/p/{community}/topics": "public",
    "/console/meetings": "own community",
    "/console/meetings/{meeting_id}": "meeting",
    "/m/{token}": "capability",
    "/meetings/{meeting_id}": "public",
    "/login": "public",
    "/receipt": "public",
    "/p/{deliberation_id}": "public",
    "/me/{token}": "capability",
    "/me/{token}/certificate": "capability",
    "/ck/{token}": "capability",
    "/sh/{token}": "capability",
    "/sh/r/{code}": "capability",
    "/vt/{token}": "capability",
    "/c/{community}/points": "public",
    "/api/v1/receipts/{code}": "public",
    "/api/v1/deliberations/{deliberation_id}": "public",
    "/api/openapi.json": "public",
    "/healthz": "public",
    "/": "public",
}
WALLED = ("deliberation", "ticket", "organisation", "own community", "topic", "meeting", "own street")


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, HEAD aside, walking included routers (FastAPI keeps them
    as branches since 0.165; older versions flatten them into ``app.routes``). Static files are left out."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
            elif isinstance(route, Mount):
                continue
            else:
                for method in getattr(route, "methods", None) or {"ANY"}:
                    if method != "HEAD":
                        yield method, prefix + route.path

    return set(walk(list(app.routes), ""))


def other_community() -> str:
    return f"和平社区-{uuid.uuid4().hex[:6]}"


async def written(store: Any, pool: Any, stream_id: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What a refused action must not change: the stream's facts (every event but the notices, which the
    workflows deliver on their own after each step) and the links issued for it."""
    facts = [(e.seq, e.type, e.hash) for e in await store.read(stream_id) if not e.type.startswith("Notice")]
    async with pool.acquire() as conn:
        links = await conn.fetch("SELECT owner_id, generation, revoked_at FROM links WHERE deliberation_id = $1"
                                 " ORDER BY owner_id, generation", stream_id)
    return facts, [tuple(r) for r in links]


def hidden(response: httpx.Response, what: str) -> None:
    """The page an unknown id gets: 404, zh-CN first."""
    assert response.status_code == 404 and "页面不存在" in response.text, (what, response.status_code,
                                                                         response.text[-600:])
