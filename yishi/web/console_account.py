"""My account: change the password, see where the account is signed in and end the other sign-ins; and the
auditor's account log (the ``accounts`` stream with its chain checked).

Every staff role has the first page: a lost phone or a shared computer must not keep a console session for the
rest of its lifetime. What is done here is recorded in the ``accounts`` stream (yishi/services/account_admin.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from yishi.i18n import N_
from yishi.services.account_admin import (
    WrongPasswordError,
    accounts_log,
    change_password,
    end_other_sessions,
    live_sessions,
)
from yishi.services.accounts import MIN_PASSWORD, session_binding
from yishi.web.console import ALL_STAFF
from yishi.web.render import form_invalid_page
from yishi.web.staff import Staff, require, staff_form, staff_page
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
AUDITORS = ("auditor",)
TOO_SHORT = N_("The new password needs at least %(min)s characters; nothing was changed.")
WRONG = N_("The current password is not right; nothing was changed.")
CHANGED = N_("Password changed; %(ended)s sign-ins on other devices were ended.")
EVENT_NAMES = ("AccountCreated", "AccountDisabled", "AccountEnabled", "PasswordReset", "PasswordChanged",
               "SessionsEnded")


async def _account_page(request: Request, staff: Staff, status: int = 200, error: str | None = None,
                        done: str | None = None, ended: int = 0) -> Response:
    try:
        sessions = await live_sessions(request.app.state.pool, staff.account.id, clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    return staff_page(request, "console_account.html", staff, status, sessions=sessions, error=error, done=done,
                 ended=ended, this=session_binding(staff.session_id), min_password=MIN_PASSWORD,
                 forms={name: staff.form() for name in ("password", "end_others")},
                 end_forms={s.binding: staff.form() for s in sessions})


@router.get("/console/account")
async def account(request: Request) -> Response:
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    return await _account_page(request, staff)


@router.post("/console/account/password")
async def password(request: Request) -> Response:
    posted = await staff_form(request, *ALL_STAFF)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    new = form.get("new", "")
    if new != form.get("repeat", ""):
        return await _account_page(request, staff, 422, error=N_("The two new passwords differ; nothing was changed."))
    if len(new) < MIN_PASSWORD:
        return await _account_page(request, staff, 422, error=TOO_SHORT)
    try:
        ended = await change_password(request.app.state.pool, staff.account, staff.session_id,
                                      form.get("current", ""), new, now=clock(request))
    except WrongPasswordError:
        return await _account_page(request, staff, 403, error=WRONG)
    except UNAVAILABLE:
        return unavailable(request)
    if staff.account.must_change:  # the temporary password is gone: the console is open again
        return RedirectResponse("/console", status_code=303)
    return await _account_page(request, staff, done=CHANGED, ended=ended)


@router.post("/console/account/sessions/end")
async def end_sessions(request: Request) -> Response:
    posted = await staff_form(request, *ALL_STAFF)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    only = form.get("session") or None
    if only is not None and len(only) != 64:
        return form_invalid_page(request, 422, back_url="/console/account", back_label=N_("Back to my account"))
    try:
        ended = await end_other_sessions(request.app.state.pool, staff.account, staff.session_id,
                                         now=clock(request), only=only)
    except UNAVAILABLE:
        return unavailable(request)
    return await _account_page(request, staff, done=N_("%(ended)s sign-ins ended."), ended=ended)


@router.get("/console/accounts/log")
async def log_page(request: Request) -> Response:
    staff = await require(request, *AUDITORS)
    if isinstance(staff, Response):
        return staff
    try:
        events, broken = await accounts_log(request.app.state.pool)
    except UNAVAILABLE:
        return unavailable(request)
    return staff_page(request, "console_accounts_log.html", staff, events=events, broken=broken, known=EVENT_NAMES)
