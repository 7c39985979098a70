"""The committee's view of its community's appraisals of the property company: each appraisal's company (by its
统一社会信用代码), estate, period, window and status, and its result by item in words and figures (the exact
fraction beside the two-decimal reading; the running result until the workflow records it at the close).

Under the account's own community: the ``appraisals`` read model (yishi/services/appraisal_rows.py) lists the
community's appraisals, each then folded from its own stream. A committee account also gets the form to open one
(yishi/web/console_appraisal_open.py); the workflow closes it at the end of its window.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request, Response

from yishi.i18n.points import exact, score_digits
from yishi.services import appraisals, companies
from yishi.services.appraisal_rows import community_rows
from yishi.web.console_companies import this_quarter
from yishi.web.console_points import ROLES, no_community
from yishi.web.render import render
from yishi.web.staff import Staff, require
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
SHOWN = 20
OPENERS = ("committee",)


def nearest_rating(mean: Fraction | None) -> str | None:
    """The scale's word nearest to a mean (halves up): only for reading; the figures are exact beside it."""
    return None if mean is None else str(int(mean + Fraction(1, 2)))


async def community_appraisals(request: Request, community: str) -> list[dict[str, Any]]:
    state = request.app.state
    shown = []
    for row in await community_rows(state.pool, community, SHOWN):
        found = await appraisals.appraisal(state.store, row["appraisal_id"])
        if found.opened is None:
            continue
        result = appraisals.result_of(found)
        closed = found.closed is not None
        items = {i.item_id: i for i in found.opened.items}
        shown.append({"opened": found.opened, "closed": closed, "recorded": found.recorded is not None,
                      "status": "closed" if closed else "open", "result": result, "by_id": items,
                      "reminders": found.reminders, "closed_event": found.closed,
                      "words": {r.item_id: nearest_rating(r.mean) for r in result.items} if result else {},
                      "overall": nearest_rating(result.score / 20 if result and result.score is not None else None)})
    return shown


@router.get("/console/appraisals")
async def appraisals_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    return await page(request, staff)


async def page(request: Request, staff: Staff, status: int = 200, *, values: dict[str, str] | None = None,
               errors: list[str] | None = None) -> Response:
    """The page; with the committee's form to open an appraisal (``values`` and ``errors`` of a refused one)."""
    community = staff.account.community
    if community is None:
        return no_community(request)
    state = request.app.state
    try:
        shown = await community_appraisals(request, community)
        estates = await companies.community_estates(state.pool, state.store, community)
    except UNAVAILABLE:
        return unavailable(request)
    now = clock(request)
    days = re.fullmatch(r"P(\d+)D", state.settings.appraisal_window)
    values = values or {"period": this_quarter(now), "window_days": days.group(1) if days else "14"}
    return render(request, "console_appraisals.html", status, no_store=True, switch_path="/console/appraisals",
                  staff=staff, logout=staff.form(), form=staff.form(), community=community, appraisals=shown,
                  exact=exact, score_digits=score_digits, now=now, estates=estates, values=values,
                  errors=errors or [], can_open=staff.account.role in OPENERS)
