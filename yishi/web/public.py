"""Public pages: the receipt check (a GET form: looking a code up changes nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from yishi.services.receipts import check_receipt
from yishi.web.render import render
from yishi.web.security import client_address
from yishi.web.voter import UNAVAILABLE, too_many, unavailable

router = APIRouter()


@router.get("/receipt")
async def receipt_check(request: Request, code: str = "") -> Response:
    code = code.strip()[:40]
    if not code:
        return render(request, "receipt_check.html", code="", checks=None, error=None)
    state = request.app.state
    address = client_address(request)
    if not state.limits.per_address.hit(address) or state.limits.failures.blocked(address):
        return too_many(request)
    try:
        checks = await check_receipt(state.pool, state.store, code)
    except ValueError:
        state.limits.failures.hit(address)
        return render(request, "receipt_check.html", 422, code=code, checks=None, error="rc_bad")
    except UNAVAILABLE:
        return unavailable(request)
    if not checks:
        state.limits.failures.hit(address)
        return render(request, "receipt_check.html", 404, code=code, checks=None, error="rc_none")
    return render(request, "receipt_check.html", code=code, checks=checks, error=None)
