"""Staff sign-in: the session cookie, role checks, console CSRF tokens bound to the session, and the community
rule on every staff route with a ``{deliberation_id}`` in its path."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from yishi.i18n import N_
from yishi.services.accounts import (
    Account,
    check_password,
    end_session,
    find_login,
    session_account,
    session_binding,
    start_session,
)
from yishi.services.console import may_see_deliberation
from yishi.web.render import form_invalid_page, message_page, not_found_page, render
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, client_address, form_csrf, new_nonce, sign, unsign
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
SESSION_COOKIE = "yishi_session"
PRE_COOKIE = "yishi_pre"  # binds the sign-in form's CSRF token before there is a session
MUST_CHANGE_PATHS = ("/console/account", "/console/account/password", "/logout")
DELIBERATION_PARAM = "deliberation_id"  # the path parameter whose deliberation the community rule guards


@dataclass
class Staff:
    account: Account
    session_id: str
    secret_key: str

    def form(self) -> dict[str, str]:
        nonce = new_nonce()
        return {"nonce": nonce, "csrf": form_csrf(self.secret_key, "console", session_binding(self.session_id),
                                                  nonce)}

    def csrf_ok(self, form: dict[str, str]) -> bool:
        return check_csrf(self.secret_key, "console", session_binding(self.session_id), form.get("nonce", ""),
                          form.get("csrf", ""))


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


async def require(request: Request, *roles: str) -> Staff | Response:
    """The signed-in staff member if their role is one of ``roles``; else the page to answer with.

    On a route with a ``{deliberation_id}`` path parameter, also the community rule (:func:`within_community`).
    """
    staff = await _signed_in(request, *roles)
    if isinstance(staff, Response):
        return staff
    return await within_community(request, staff)


async def within_community(request: Request, staff: Staff) -> Staff | Response:
    """``staff`` unless the route's stream is one the account may not see (services/console.py
    ``may_see_deliberation``, the rule the console list filters by): for a community-bound account, only a
    deliberation (or re-vote box) or meeting of its own community or the unassigned one; any other id is hidden.

    A hidden deliberation answers the 404 page an unknown id gets, never a 403: a committee member of one
    community cannot learn which deliberations another community has. Routes without the parameter pass.
    """
    deliberation_id = request.path_params.get(DELIBERATION_PARAM)
    if deliberation_id is None:
        return staff
    try:
        visible = await may_see_deliberation(request.app.state.pool, staff.account, deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    if visible:
        return staff
    log.info("console.deliberation_hidden", deliberation_id=deliberation_id, account_id=staff.account.id,
             community=staff.account.community, path=request.url.path)
    return not_found_page(request)


async def _signed_in(request: Request, *roles: str) -> Staff | Response:
    secret = request.app.state.secret_key
    session_id = unsign(secret, request.cookies.get(SESSION_COOKIE))
    account = None
    if session_id:
        try:
            account = await session_account(request.app.state.pool, session_id, clock(request))
        except UNAVAILABLE:
            return unavailable(request)
    if account is None or session_id is None:
        return RedirectResponse("/login", status_code=303)
    if account.must_change and request.url.path not in MUST_CHANGE_PATHS:
        return RedirectResponse("/console/account", status_code=303)  # an operator's password: choose one first
    if not account.can(*roles):
        return message_page(request, 403, N_("Not allowed"), text=N_("Your account's role may not see or do this."))
    return Staff(account, session_id, secret)


async def upload_refusal(request: Request, roles: tuple[str, ...]) -> Response | None:
    """For a post to an upload path, from its headers alone (``request`` has no body to read): the answer for anyone
    but signed-in staff of ``roles`` (the sign-in page, 403) and for a browser's cross-site post (403), or None to
    go on. The route checks the session again and the CSRF field in the form (yishi/web/bodylimit.py)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return form_invalid_page(request, 403)
    staff = await _signed_in(request, *roles)
    return staff if isinstance(staff, Response) else None


def staff_page(request: Request, template: str, staff: Staff, status: int = 200, **context: Any) -> Response:
    """A console page for a signed-in member: never cached, with their sign-out form."""
    return render(request, template, status, no_store=True, staff=staff, logout=staff.form(), **context)


async def upload_chunks(upload: UploadFile, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """An uploaded file read ``size`` bytes at a time (the parsers stop at their limits without reading it all)."""
    while chunk := await upload.read(size):
        yield chunk


async def staff_form(request: Request, *roles: str, max_fields: int = 20) -> tuple[Staff, dict[str, str]] | Response:
    """A staff form being posted: the signed-in member (one of ``roles``) and the fields, once the CSRF field
    matches their session; else the page to answer with (login, 403, and the 404 of :func:`within_community`,
    checked after the CSRF field so that a forged post learns nothing of which deliberations exist)."""
    staff = await _signed_in(request, *roles)
    if isinstance(staff, Response):
        return staff
    form = await read_form(request, max_fields)
    if form is None or not staff.csrf_ok(form):
        return form_invalid_page(request, 403)
    walled = await within_community(request, staff)
    if isinstance(walled, Response):
        return walled
    return staff, form


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    secret = request.app.state.secret_key
    pre = unsign(secret, request.cookies.get(PRE_COOKIE)) or new_nonce()
    nonce = new_nonce()
    response = render(request, "login.html", status, no_store=True, error=error, nonce=nonce,
                      csrf=form_csrf(secret, "login", pre, nonce))
    _cookie(response, request, PRE_COOKIE, sign(secret, pre), 3600)
    return response


def _login_wait(request: Request, wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    response = message_page(request, 429, N_("Too many requests"), N_(
        "Too many failed sign-ins: try again in %(seconds)s seconds. This is a slow-down, not a lock; if you forgot "
        "the password, ask the operator to reset it (`yishi user reset-password`)."), seconds=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response


def landing(account: Account) -> str:
    """Where a sign-in lands: a street office or department works from its escalation inbox, the others from the
    deliberation list."""
    return "/console/escalations" if account.role in ("street_office", "department") else "/console"


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    state = request.app.state
    form = await read_form(request)
    pre = unsign(state.secret_key, request.cookies.get(PRE_COOKIE))
    if form is None or pre is None or not check_csrf(state.secret_key, "login", pre, form.get("nonce", ""),
                                                     form.get("csrf", "")):
        return form_invalid_page(request, 403)
    name = form.get("name", "")[:100]
    address = client_address(request)
    try:
        candidate = await find_login(state.pool, name)
        # Slowed down by what is guessed (this account from this address) and by who guesses (this address),
        # never locked: the real user's own address has its own count (yishi/web/throttle.py).
        wait = state.limits.logins.wait(candidate.key, address)
        logged = candidate.key if candidate.row else "unknown"  # never the typed name: it may be a password
        if wait > 0:
            log.info("login.throttled", account=logged, address=address, wait_s=round(wait, 1))
            return _login_wait(request, wait)
        account = await check_password(state.pool, candidate, form.get("password", ""))
        if account is None:
            state.limits.logins.failed(candidate.key, address)
            log.info("login.failed", account=logged, address=address)
            return _login_page(request, 401, N_("Wrong name or password, or the account is disabled."))
        state.limits.logins.succeeded(candidate.key, address)
        ttl = timedelta(hours=state.settings.session_hours)
        session_id = await start_session(state.pool, account, clock(request), ttl=ttl, address=address,
                                         user_agent=request.headers.get("user-agent"))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("login.ok", account_id=account.id, address=address)
    response = RedirectResponse("/console/account" if account.must_change else landing(account), status_code=303)
    _cookie(response, request, SESSION_COOKIE, sign(state.secret_key, session_id), int(ttl.total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    posted = await staff_form(request, "committee", "grid_worker", "street_office", "department", "auditor")
    if isinstance(posted, Response):
        return posted
    staff, _form = posted
    await end_session(request.app.state.pool, staff.session_id, clock(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
