"""Staff sign-in: the session cookie, role checks, console CSRF tokens bound to the session, and the community
rule on every staff route with a ``{deliberation_id}`` in its path."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from yishi.services.accounts import Account, authenticate, end_session, session_account, session_binding, start_session
from yishi.services.console import may_see_deliberation
from yishi.web.render import message_page, render
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, client_address, form_csrf, new_nonce, sign, unsign
from yishi.web.voter import UNAVAILABLE, clock, too_many, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
SESSION_COOKIE = "yishi_session"
PRE_COOKIE = "yishi_pre"  # binds the sign-in form's CSRF token before there is a session
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
    """``staff`` unless the route's deliberation belongs to a community the account may not see
    (services/console.py ``may_see_deliberation``, the rule the console list filters by).

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
    return message_page(request, 404, "not_found_title")


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
    if not account.can(*roles):
        return message_page(request, 403, "forbidden_title", body_key="forbidden_body")
    return Staff(account, session_id, secret)


async def upload_refusal(request: Request, roles: tuple[str, ...]) -> Response | None:
    """For a post to an upload path, from its headers alone (``request`` has no body to read): the answer for anyone
    but signed-in staff of ``roles`` (the sign-in page, 403) and for a browser's cross-site post (403), or None to
    go on. The route checks the session again and the CSRF field in the form (yishi/web/bodylimit.py)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return message_page(request, 403, "form_invalid_title", body_key="form_invalid_body")
    staff = await _signed_in(request, *roles)
    return staff if isinstance(staff, Response) else None


async def staff_form(request: Request, *roles: str) -> tuple[Staff, dict[str, str]] | Response:
    """A staff form being posted: the signed-in member (one of ``roles``) and the fields, once the CSRF field
    matches their session; else the page to answer with (login, 403, and the 404 of :func:`within_community`,
    checked after the CSRF field so that a forged post learns nothing of which deliberations exist)."""
    staff = await _signed_in(request, *roles)
    if isinstance(staff, Response):
        return staff
    form = await read_form(request)
    if form is None or not staff.csrf_ok(form):
        return message_page(request, 403, "form_invalid_title", body_key="form_invalid_body")
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
        return message_page(request, 403, "form_invalid_title", body_key="form_invalid_body")
    name = form.get("name", "")[:100]
    if not state.limits.logins.hit(client_address(request)) or not state.limits.logins.hit(f"name:{name}"):
        return too_many(request)
    try:
        account = await authenticate(state.pool, name, form.get("password", ""))
        if account is None:
            return _login_page(request, 401, "login_failed")
        session_id = await start_session(state.pool, account, clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    response = RedirectResponse("/console", status_code=303)
    _cookie(response, request, SESSION_COOKIE, sign(state.secret_key, session_id), 12 * 3600)
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
