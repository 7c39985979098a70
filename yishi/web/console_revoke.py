"""Revoking a printed link from the console (issue 20): a partner shop's clerk link on /console/points, a volunteer
team's sign-up poster and an activity's check-in QR code on /console/volunteers. The link stops at once; the act is a
``CapabilityRevoked`` event of the subject's stream with who and why (what auditors read), and printing again issues
the next generation (yishi/services/capabilities.py).

The wall is the account's own community (as yishi/web/console_points.py): the subject is its own ledger or roster,
never read from the form, so a holder of another community has no live link here and nothing is revoked elsewhere.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.points_events import points_stream
from domain.volunteer_events import volunteers_stream
from yishi.i18n import N_
from yishi.services.capabilities import revoke_capability
from yishi.web import console_points, console_volunteers
from yishi.web.console_points import ROLES, no_community
from yishi.web.render import page_translator
from yishi.web.staff import staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()


async def _revoke(request: Request, page: Any, kinds: dict[str, str], subject_of: Any) -> Response:
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = staff.account.community
    if community is None:
        return no_community(request)
    tr = page_translator(request)
    kind = form.get("kind", "shop") if len(kinds) > 1 else next(iter(kinds))
    holder, reason = form.get(kinds.get(kind, ""), "")[:64], " ".join(form.get("reason", "").split())[:200]
    if kind not in kinds or not holder:
        return await page.console_page(request, staff, 422, error=tr.gettext(N_("Choose the link to revoke.")))
    if not reason:
        return await page.console_page(request, staff, 422, error=tr.gettext(N_(
            "Write why the link is revoked (at most 200 characters): it is recorded for the auditors.")))
    try:
        revoked = await revoke_capability(request.app.state.pool, request.app.state.store, kind=kind,  # type: ignore
                                          subject=subject_of(community), holder=holder, reason=reason,
                                          by=f"{staff.account.role}:{staff.account.name}", now=clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    if not revoked:
        return await page.console_page(request, staff, 409, error=tr.gettext(N_(
            "That link is not in use any more (it was revoked already, or never printed); nothing was changed.")))
    log.info("console.link_revoked", community=community, kind=kind, account_id=staff.account.id)
    return RedirectResponse(f"{page.PAGE}?done=1", status_code=303)


@router.post("/console/points/shop-link/revoke")
async def revoke_shop_link(request: Request) -> Response:
    """Revoke a partner shop's clerk link (a clerk left, a phone was lost); printing again gives a new one."""
    return await _revoke(request, console_points, {"shop": "shop"}, points_stream)


@router.post("/console/volunteers/revoke")
async def revoke_volunteer_link(request: Request) -> Response:
    """Revoke a team's sign-up poster (``kind=team``) or an activity's check-in QR code (``kind=checkin``)."""
    return await _revoke(request, console_volunteers, {"team": "team", "checkin": "activity"}, volunteers_stream)
