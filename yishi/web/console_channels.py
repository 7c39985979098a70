"""The committee sets up its community's notice channels in the console (what ``yishi channels`` does).

A WeCom or DingTalk group robot per building or entrance, an SMS gateway, a signed webhook, e-mail: each change is
an event of the community's channel stream (yishi/services/channels.py). A secret (a robot's key, an AccessKey)
is typed once into a password field and written to the operator's secrets file (``YISHI_SECRETS_FILE``, mode 0600,
activities/secrets.py): never to the database, an event or a log line, and never shown back: the page says only
whether the channel's secret is there. "Send a test" sends one message now through the channel and says in plain
words what went wrong, if anything.

Committee accounts only, for their own community ("own community" wall): a community-bound account always acts in
its community; any field naming another is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from activities.channel_check import send_test
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets, NoSecretsFileError, SecretsFile, store_secret
from domain.channel_config import Channel, QuietHours, SmsTemplate
from domain.errors import DomainError
from yishi.services import channels as service
from yishi.services.console import home_community, may_see_community
from yishi.web.channel_words import plain_failure
from yishi.web.render import page_translator, render
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
CHANNEL_STAFF = ("committee",)
KINDS = ("wecom", "dingtalk", "sms", "webhook", "email")
LIMIT = 300  # characters of any one field


def notice_settings(request: Request) -> NoticeSettings:
    return getattr(request.app.state, "notice_settings", None) or NoticeSettings()


def secrets_file(request: Request) -> Any:
    return getattr(request.app.state, "secrets_file", None) or SecretsFile().secrets_file


def channel_secrets(request: Request) -> ChannelSecrets:
    values = getattr(request.app.state, "secret_values", None)
    return ChannelSecrets(values, file=secrets_file(request)) if values is not None else ChannelSecrets(
        file=secrets_file(request))


def _community(staff: Staff, asked: str) -> str | None:
    """The community the page acts for: the account's own, else the one asked for (an unbound account)."""
    home = home_community(staff.account)
    community = home or asked.strip()[:100]
    return community if community and may_see_community(staff.account, community) else None


async def _page(request: Request, staff: Staff, community: str | None, status: int = 200, *, error: str = "",
                tested: dict[str, str] | None = None) -> Response:
    book = None
    if community:
        try:
            book = await service.book(request.app.state.store, request.app.state.pool, community)
        except UNAVAILABLE:
            return unavailable(request)
    secrets = channel_secrets(request)
    rows = [{"channel": c, "has_secret": bool(c.secret_ref) and secrets.has(c.kind, c.secret_ref),
             "needs_secret": c.kind in ("wecom", "dingtalk", "sms")}
            for c in (book.channels.values() if book else ()) if c.kind in KINDS]
    return render(request, "console_channels.html", status, no_store=True, staff=staff, logout=staff.form(),
                  form=staff.form(), community=community, bound=home_community(staff.account) is not None,
                  rows=rows, quiet=book.quiet if book else None, error=error, tested=tested,
                  opted_out=sorted(book.opted_out) if book else [],
                  kinds=KINDS, secrets_file=secrets_file(request) is not None)


@router.get("/console/channels")
async def channels_page(request: Request, community: str = "") -> Response:
    staff = await require(request, *CHANNEL_STAFF)
    if isinstance(staff, Response):
        return staff
    return await _page(request, staff, _community(staff, community))


def _back(community: str, **query: str) -> RedirectResponse:
    extra = "".join(f"&{k}={quote(v, safe='')}" for k, v in query.items())
    return RedirectResponse(f"/console/channels?community={quote(community, safe='')}{extra}", status_code=303)


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "").strip()[:LIMIT]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.replace("，", ",").replace(" ", ",").split(",") if part)


def channel_from_form(form: dict[str, str]) -> Channel:
    """The channel the form describes (pydantic says what is wrong with it)."""
    kind, name = _field(form, "kind"), _field(form, "name").lower()
    fields: dict[str, Any] = {"id": f"{kind}:{name}", "kind": kind, "secret_ref": name if kind != "email" else "",
                              "groups": _split(_field(form, "groups")) or ("*",),
                              "kinds": _split(_field(form, "kinds")) or ("*",)}
    if kind == "webhook":
        fields["url"] = _field(form, "url")
    if kind == "email":
        fields["to"] = _split(_field(form, "to"))
    if kind == "sms":
        params = dict(pair.split("=", 1) for pair in _split(_field(form, "template_vars")) if "=" in pair)
        fields |= {"provider": "aliyun", "sign_name": _field(form, "sign_name"),
                   "templates": {"*": SmsTemplate(code=_field(form, "template_code"), params=params)},
                   "urgent_kinds": _split(_field(form, "urgent"))}
    return Channel.model_validate(fields)


async def _posted(request: Request) -> tuple[Staff, dict[str, str], str] | Response:
    posted = await staff_form(request, *CHANNEL_STAFF)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = _community(staff, form.get("community", ""))
    if community is None:
        return await _page(request, staff, None, 422, error=page_translator(request).gettext(
            "Enter the community whose channels these are."))
    return staff, form, community


@router.post("/console/channels")
async def set_channel(request: Request) -> Response:
    """Add or replace a channel; its secret, when typed, goes to the secrets file (never shown again)."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    staff, form, community = posted
    tr = page_translator(request)
    kind = _field(form, "kind")
    if kind not in KINDS:
        return await _page(request, staff, community, 422, error=tr.gettext("Choose the kind of channel."))
    try:
        channel = channel_from_form(form)
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return await _page(request, staff, community, 422, error=tr.gettext(
            "The channel was not saved: %(detail)s. Correct the form and save again (the secret must be typed "
            "again too).", detail=detail))
    secret = form.get("secret", "").strip()[:2000]
    if secret:
        try:
            store_secret(channel.kind, channel.secret_ref, secret, secrets_file(request))
        except NoSecretsFileError:
            env = f"YISHI_SECRETS__{channel.kind.upper()}__…"
            return await _page(request, staff, community, 409, error=tr.gettext(
                "The secret cannot be kept: the operator has not set YISHI_SECRETS_FILE (a file for secrets, "
                "readable by the server only). Nothing was saved; ask the operator to set it, or to set %(env)s.",
                env=env))
        except OSError as exc:
            log.warning("console.secret_not_written", community=community, channel=channel.id, error=exc.strerror)
            return await _page(request, staff, community, 500, error=tr.gettext(
                "The secret could not be written to the secrets file (%(error)s). Nothing was saved; ask the "
                "operator to check the file.", error=exc.strerror or "?"))
    try:
        await service.set_channel(request.app.state.store, community, channel, by=staff.account.name,
                                  now=datetime.now(UTC), secrets=channel_secrets(request))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.channel_set", account_id=staff.account.id, community=community, channel=channel.id,
             secret_typed=bool(secret))
    return _back(community)


@router.post("/console/channels/remove")
async def remove_channel(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    staff, form, community = posted
    try:
        await service.remove_channel(request.app.state.store, request.app.state.pool, community,
                                     _field(form, "channel"), by=staff.account.name, now=datetime.now(UTC))
    except DomainError as exc:
        return await _page(request, staff, community, 404, error=page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.channel_removed", account_id=staff.account.id, community=community,
             channel=_field(form, "channel"))
    return _back(community)


@router.post("/console/channels/test")
async def test_channel(request: Request) -> Response:
    """Send one test message through the channel now; the page says whether it arrived, in plain words."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    staff, form, community = posted
    tr = page_translator(request)
    try:
        book = await service.book(request.app.state.store, request.app.state.pool, community)
    except UNAVAILABLE:
        return unavailable(request)
    channel = book.channels.get(_field(form, "channel"))
    if channel is None:
        return await _page(request, staff, community, 404, error=tr.gettext(
            "There is no such channel in %(community)s any more; see the list below.", community=community))
    settings = notice_settings(request)
    base = (settings.public_base_url or request.app.state.settings.public_base_url or "").rstrip("/")
    fields = {"title": tr.gettext("Test message from Yishi"),
              "body": tr.gettext("%(by)s is testing the channel %(channel)s of %(community)s. No action is needed.",
                                 by=staff.account.name, channel=channel.id, community=community),
              "link": f"{base}/receipt" if base else ""}
    sent = await send_test(channel, fields, now=datetime.now(UTC), settings=settings,
                           secrets=channel_secrets(request), phone=_field(form, "phone")[:20])
    log.info("console.channel_tested", account_id=staff.account.id, community=community, channel=channel.id,
             ok=sent.ok, error=sent.error)
    tested = {"channel": channel.id, "ok": "1" if sent.ok else "",
              "words": "" if sent.ok else plain_failure(tr, sent.error), "error": sent.error}
    return await _page(request, staff, community, 200 if sent.ok else 502, tested=tested)


@router.post("/console/channels/quiet")
async def set_quiet(request: Request) -> Response:
    """The hours (Beijing time) when no text message goes out unless its kind is urgent for the channel."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    staff, form, community = posted
    try:
        quiet = QuietHours(start=_field(form, "start")[:5], end=_field(form, "end")[:5])
    except ValidationError:
        return await _page(request, staff, community, 422, error=page_translator(request).gettext(
            "Type the quiet hours as HH:MM, e.g. 22:00 and 08:00; nothing was changed."))
    try:
        await service.set_quiet_hours(request.app.state.store, community, quiet, by=staff.account.name,
                                      now=datetime.now(UTC))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.quiet_hours_set", account_id=staff.account.id, community=community, start=quiet.start,
             end=quiet.end)
    return _back(community)


@router.post("/console/channels/opt-out")
async def opt_out(request: Request) -> Response:
    """An owner asked the committee for no text messages (``again``: asks for them again); an event either way."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    staff, form, community = posted
    owner_id = _field(form, "owner_id")[:100]
    if not owner_id:
        return await _page(request, staff, community, 422, error=page_translator(request).gettext(
            "Type the owner id as on the roll; nothing was changed."))
    try:
        await service.opt_out(request.app.state.store, community, owner_id, by=staff.account.name, via="committee",
                              now=datetime.now(UTC), out=form.get("again") != "1")
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.sms_opt_out", account_id=staff.account.id, community=community, owner_id=owner_id,
             out=form.get("again") != "1")
    return _back(community)
