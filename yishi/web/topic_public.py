"""A community's public topic page (no names, no phone numbers, no rooms, no descriptions: titles, buildings,
statuses, supporter counts and the monthly figures with their chart). The console's figures page and its CSV and
XLSX exports are in yishi/web/console_figures.py.

The public page is a GET that changes nothing; a community with no topic answers 404, so the page does not repeat
whatever is typed in its address.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from yishi.services.topics import list_topics, topic_figures
from yishi.web.figures_chart import chart
from yishi.web.render import not_found_page, render
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
PUBLIC_STATUSES = ("raised", "taken", "scheduled", "decided", "voting", "following_up", "routed", "resolved",
                   "closed", "declined")


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
                  figures=figures, chart=chart(figures), total=len(shown))
