"""The community's public page ``/c/{community}/points``: the points rules in force and the recorded results of its
appraisals of the property company. No personal data: no name, no id, no room, no rating of anyone; an appraisal's
result appears only once its workflow recorded it at the close (a running result could sway those still rating)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from yishi.i18n.points import exact, score_digits
from yishi.services import points
from yishi.web.console_appraisals import community_appraisals
from yishi.web.render import not_found_page, render
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()


@router.get("/c/{community}/points")
async def public_points(request: Request, community: str) -> Response:
    community = community[:100]
    try:
        ledger = await points.ledger(request.app.state.store, community)
        board = await points.leaderboard(request.app.state.pool, request.app.state.store, community)
        results = [a for a in await community_appraisals(request, community) if a["recorded"]]
    except UNAVAILABLE:
        return unavailable(request)
    rules = [r for r in ledger.rules.values() if not r.retired]
    if ledger.community is None and not results:
        return not_found_page(request)
    return render(request, "public_points.html", community=community, rules=rules, appraisals=results, board=board,
                  vote_participation=ledger.vote_participation, exact=exact, score_digits=score_digits)
