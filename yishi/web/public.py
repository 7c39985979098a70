"""Public pages: the receipt check (a GET form: looking a code up changes nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from yishi.i18n import N_
from yishi.services.receipts import check_receipt
from yishi.services.voting import parse_receipt_code
from yishi.web.render import render
from yishi.web.security import client_address, receipt_key
from yishi.web.voter import UNAVAILABLE, too_many, unavailable

router = APIRouter()

BAD_CODE = N_("That is not a receipt code; it looks like 42-3FA9C-07B1E.")
NO_SUCH_CODE = N_("No ballot has this code. Check it; if it is right, contact the committee.")


@router.get("/receipt")
async def receipt_check(request: Request, code: str = "") -> Response:
    code = code.strip()[:40]
    if not code:
        return render(request, "receipt_check.html", code="", checks=None, error=None)
    state = request.app.state
    parsed = parse_receipt_code(code)
    if parsed is None:  # not shaped like a code: nothing was guessed, nothing looked up
        return render(request, "receipt_check.html", 422, code=code, checks=None, error=BAD_CODE)
    # Limited by what is asked (one code), and looked up before any limit of the address: a valid code answers
    # however many mistyped ones its address (a carrier NAT, the reverse proxy) sent before.
    if not state.limits.per_token.hit(receipt_key(parsed)):
        return too_many(request)
    try:
        checks = await check_receipt(state.pool, state.store, code)
    except UNAVAILABLE:
        return unavailable(request)
    if not checks:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        return render(request, "receipt_check.html", 404, code=code, checks=None, error=NO_SUCH_CODE)
    return render(request, "receipt_check.html", code=code, checks=checks, error=None)
