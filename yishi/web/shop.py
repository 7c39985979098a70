"""The partner shop's clerk page ``/sh/<token>`` (积分兑换超市): look a redemption code up, hand the item over.

Why a capability link and not an account: as the check-in code (yishi/web/checkin.py), the clerk of a partner shop is
usually no member of the committee's staff and the job is one thing on one phone at the counter. The committee issues
the shop its own link (``shop`` capability, subject ``points-<community>``, holder the shop's name; revoked like any
link: a lost phone, a shop that leaves), so every hand-over is recorded under the shop's name (role ``clerk``, via
``link``) and the wall is the link's community: a code of another community is "no such code" here.

Opening the shop's link on the counter phone leaves it in an HttpOnly cookie sent to ``/sh`` only; the QR code on the
resident's page is the address ``/sh/r/<code>``, so scanning it with that phone (WeChat's scanner) opens the code's
page; typing the code into the form does the same. The page shows the item and the person's name masked (surname and
stars) and one button; GET changes nothing; the hand-over is a POST with a CSRF field bound to the shop's link and is
decided under the ledger's lock (a code handed over already is refused: never twice).
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from domain.operator import Operator
from yishi.i18n import N_
from yishi.services import points
from yishi.services.capabilities import resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.web.person import load_capability
from yishi.web.render import (
    form_invalid_page,
    link_revoked_page,
    message_page,
    page_lang,
    page_translator,
    render,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
SHOP = frozenset({"shop"})
PURPOSE = "shop-hand-over"
SHOP_COOKIE = "yishi_shop"
CODE_MAX = 64


def clean_code(text: str | None) -> str:
    return "".join((text or "").split())[:CODE_MAX]


@router.get("/sh/{token}")
async def shop_page(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, SHOP)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    code = clean_code(request.query_params.get("code"))
    found, masked = None, ""
    try:
        if code:
            found = await points.look_up(state.store, holder.community, code)
            if found is not None:
                names = await points.people_names(state.pool, [found["person_id"]])
                masked = points.shown_name({"name": (names.get(found["person_id"]) or {}).get("name", "")})
    except UNAVAILABLE:
        return unavailable(request)
    nonce = new_nonce()
    page = render(request, "shop.html", no_store=True, token=token, shop=holder.holder, code=code, found=found,
                  masked=masked, nonce=nonce, csrf=form_csrf(state.secret_key, PURPOSE, holder.token_hash, nonce))
    page.set_cookie(SHOP_COOKIE, token, max_age=400 * 86400, httponly=True, samesite="lax", path="/sh",
                    secure=request.url.scheme == "https")
    return page


@router.get("/sh/r/{code}")
async def scanned(request: Request, code: str) -> Response:
    """The resident's QR code, scanned with the counter phone: its shop link (the cookie) opens the code's page."""
    mine = request.cookies.get(SHOP_COOKIE, "")
    try:
        shop = await resolve_capability(request.app.state.pool, mine, SHOP) if mine else None
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except LinkError:
        shop = None
    except UNAVAILABLE:
        return unavailable(request)
    if shop is None:
        return message_page(request, 200, N_("This is a redemption code"), N_(
            "Show it to the clerk of the points shop. Clerks: open the shop's own link on this phone once, then "
            "scan the code again."))
    return RedirectResponse(f"/sh/{mine}?code={clean_code(code)}", status_code=303)


@router.post("/sh/{token}")
async def hand_over(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, SHOP)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    form = await read_form(request)
    code = clean_code((form or {}).get("code"))
    back = f"/sh/{token}"
    if form is None or not check_csrf(state.secret_key, PURPOSE, holder.token_hash, form.get("nonce", ""),
                                      form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    by = Operator(name=holder.holder[:100], role="clerk", via="link")
    try:
        done = await points.hand_over(state.store, holder.community, code, by=by, now=clock(request))
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=back)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("shop.handed_over", community=holder.community, item_id=done["item_id"])
    return message_page(request, 200, N_("Handed over"), N_(
        "Give '%(item)s' to the resident now. It is recorded; the code cannot be used again."),
        item=done["item_en"] if page_lang(request) == "en" and done["item_en"] else done["item"], back_url=back)
