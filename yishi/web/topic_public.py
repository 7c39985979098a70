"""A community's public topic page (no names, no phone numbers, no rooms, no descriptions: titles, buildings,
statuses, supporter counts and the monthly figures), and the CSV of the monthly figures for the street office and
the committee (one row per community and month).

The public page is a GET that changes nothing; a community with no topic answers 404, so the page does not repeat
whatever is typed in its address. The CSV follows the console list's wall: a community-bound account gets its own
community's rows, the street office every community's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from domain.numbers import percent
from domain.topic_figures import MonthFigures
from yishi.services.console import home_community
from yishi.services.csvsafe import write_csv
from yishi.services.topics import list_topics, topic_figures
from yishi.web.render import not_found_page, render
from yishi.web.staff import require
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
PUBLIC_STATUSES = ("raised", "taken", "scheduled", "decided", "voting", "following_up", "routed", "resolved",
                   "closed", "declined")
CSV_ROLES = ("committee", "street_office", "auditor")
CSV_HEADER = ("community", "month", "raised", "taken", "decided", "resolved", "closed", "declined", "satisfied",
              "basically_satisfied", "not_satisfied", "satisfaction_rate")


def public_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the public may see of each topic: never who raised it, their phone, their room or the description."""
    return [{"title": r["title"], "building": r["building"], "status": r["status"], "supporters": r["supporters"],
             "raised_at": r["raised_at"]} for r in rows if r["status"] in PUBLIC_STATUSES]


@router.get("/p/{community}/topics")
async def community_topics(request: Request, community: str) -> Response:
    pool = request.app.state.pool
    try:
        rows = await list_topics(pool, community=community[:80], limit=500)
        figures = await topic_figures(pool, [community[:80]]) if rows else []
    except UNAVAILABLE:
        return unavailable(request)
    if not rows:
        return not_found_page(request)
    shown = public_rows(rows)
    groups = [(status, [r for r in shown if r["status"] == status]) for status in PUBLIC_STATUSES]
    return render(request, "topic_public.html", community=community, groups=[g for g in groups if g[1]],
                  figures=figures, total=len(shown))


def _rate(month: MonthFigures) -> str:
    rate = month.satisfaction_rate
    return "" if rate is None else percent(rate)


@router.get("/console/topics/figures.csv")
async def figures_csv(request: Request) -> Response:
    staff = await require(request, *CSV_ROLES)
    if isinstance(staff, Response):
        return staff
    home = home_community(staff.account)
    pool = request.app.state.pool
    try:
        async with pool.acquire() as conn:
            communities = [r["community"] for r in await conn.fetch(
                "SELECT DISTINCT community FROM topics WHERE ($1::text IS NULL OR community = $1) ORDER BY community",
                home)]
        rows = []
        for community in communities:
            for m in await topic_figures(pool, [community]):
                rows.append([community, m.month, m.raised, m.taken, m.decided, m.resolved, m.closed, m.declined,
                             m.answers["satisfied"], m.answers["basically_satisfied"], m.answers["not_satisfied"],
                             _rate(m)])
    except UNAVAILABLE:
        return unavailable(request)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(write_csv(CSV_HEADER, rows).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="yishi-topic-figures-{stamp}.csv"',
                             "Cache-Control": "no-store"})
