"""Personal voting links and the A4 notice sheets from the committee console (what ``yishi links`` does).

Committee accounts only, each route under the community rule of yishi/web/staff.py. Pages a GET shows never
issue a link (scanners and previews open pages): the sheets and the CSV show the links that exist, their tokens
derived again from the stored rows (:func:`yishi.services.links.live_links`); issuing and reissuing are POST
forms with the session's CSRF field. The sheets, the CSV and the reissue answer carry capabilities: never cached,
and the logs name the account and the deliberation, never a token.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from yishi import i18n
from yishi.services.links import LinkKeyChangedError, issue_links, live_links, live_owners, reissue_link
from yishi.services.voting import Box, NoSuchBoxError, deliberation_info, load_box
from yishi.web.middleware import SECURITY_HEADERS
from yishi.web.render import message_page, page_lang, render, respond, safe_filename
from yishi.web.sheets import build_sheets, render_csv, render_sheets_html
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
LINK_STAFF = ("committee",)  # links are capabilities to vote: the committee that runs the vote hands them out
MISSING_SHOWN = 40  # owners without a link named on a page; the rest are counted
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def _base_url(request: Request) -> tuple[str, bool]:
    """The links' base URL: ``YISHI_PUBLIC_BASE_URL`` as the CLI uses it, else this request's own address (the CLI
    refuses without the setting; here the committee opened the console at an address, so it is a usable guess,
    and the page says so). Returns (base URL, whether it is the fallback)."""
    configured = request.app.state.settings.public_base_url
    if configured:
        return configured.rstrip("/"), False
    return str(request.base_url).rstrip("/"), True


async def _load(request: Request, deliberation_id: str) -> tuple[Box | None, dict[str, Any] | None] | Response:
    """The box (None: a procedure before its vote) and the registry row; else the page to answer with."""
    state = request.app.state
    try:
        info = await deliberation_info(state.pool, deliberation_id)
        try:
            box: Box | None = await load_box(state.store, deliberation_id)
        except NoSuchBoxError:
            box = None
    except UNAVAILABLE:
        return unavailable(request)
    if box is None and info is None:
        return message_page(request, 404, "not_found_title")
    return box, info


def _in_scope(box: Box) -> list[str]:
    return sorted(box.state.electorate.owner_areas)


def _rooms(box: Box, owner_ids: list[str]) -> list[tuple[str, str]]:
    return [(owner_id, "、".join(r.room_id for r in box.rooms_of(owner_id))) for owner_id in owner_ids]


async def _links_page(request: Request, staff: Staff, deliberation_id: str, box: Box | None,
                      info: dict[str, Any] | None, status: int = 200, error: str | None = None) -> Response:
    """The links page: owners in scope, how many have a live link, and the forms (read-only itself)."""
    context: dict[str, Any] = {}
    if box is not None:
        owners = _in_scope(box)
        try:
            live = await live_owners(request.app.state.pool, deliberation_id)
        except UNAVAILABLE:
            return unavailable(request)
        missing = [owner_id for owner_id in owners if owner_id not in live]
        context = {"owners": len(owners), "live": len(owners) - len(missing), "missing": len(missing),
                   "missing_shown": _rooms(box, missing[:MISSING_SHOWN]), "closed_at": box.closed_at(clock(request))}
    base_url, fallback = _base_url(request)
    return render(request, "console_links.html", status, no_store=True, staff=staff, logout=staff.form(),
                  deliberation_id=deliberation_id, box=box, info=info, form=staff.form(), error=error,
                  base_url=base_url, base_fallback=fallback, **context)


def _owner_named(box: Box, typed: str) -> str | None:
    """The owner an entry names: an owner id of the roll in scope, or one of their rooms (``3-2-1101``)."""
    owners = box.state.electorate.owner_areas
    if typed in owners:
        return typed
    room = next((r for r in box.opened.roll if r.room_id.upper() == typed.upper()), None)
    return room.owner_id if room is not None and room.owner_id in owners else None


@router.get("/console/d/{deliberation_id}/links")
async def links_page(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *LINK_STAFF)
    if isinstance(staff, Response):
        return staff
    loaded = await _load(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    return await _links_page(request, staff, deliberation_id, *loaded)


async def _posted(request: Request, deliberation_id: str
                  ) -> tuple[Staff, dict[str, str], Box, dict[str, Any] | None, i18n.Lang] | Response:
    """A links form posted: the member, the fields, the open box, its registry row and the page language; else
    the page to answer with (login, 403, 404, or the links page saying the vote has not opened)."""
    posted = await staff_form(request, *LINK_STAFF)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    opened = await _open_box(request, staff, deliberation_id)
    if isinstance(opened, Response):
        return opened
    return staff, form, *opened


async def _open_box(request: Request, staff: Staff, deliberation_id: str
                    ) -> tuple[Box, dict[str, Any] | None, i18n.Lang] | Response:
    """The open box, its registry row and the page language; else the page to answer with (404, or the links
    page saying the vote has not opened)."""
    loaded = await _load(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    lang = page_lang(request)
    if box is None:
        return await _links_page(request, staff, deliberation_id, box, info, 409, i18n.t("links_not_open", lang))
    return box, info, lang


@router.post("/console/d/{deliberation_id}/links")
async def issue(request: Request, deliberation_id: str) -> Response:
    """Issue a link to every owner in scope who has none (idempotent: existing links are kept as printed)."""
    posted = await _posted(request, deliberation_id)
    if isinstance(posted, Response):
        return posted
    staff, _form, box, info, lang = posted
    now = clock(request)
    if (closed_at := box.closed_at(now)) is not None:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 i18n.t("links_closed", lang, when=i18n.when(closed_at, lang)))
    owners = _in_scope(box)
    try:
        issued = await issue_links(request.app.state.pool, deliberation_id, owners,
                                   secret_key=request.app.state.secret_key, now=now)
    except LinkKeyChangedError as exc:  # the new owners' links were issued; the old ones cannot be shown again
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 i18n.t("links_key_changed", lang, owner=exc.owner_id))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.links_issued", account_id=staff.account.id, deliberation_id=deliberation_id,
             owners=len(owners), live=len(issued))
    return RedirectResponse(f"/console/d/{deliberation_id}/links", status_code=303)


@router.post("/console/d/{deliberation_id}/links/reissue")
async def reissue(request: Request, deliberation_id: str) -> Response:
    """Revoke one owner's link (it stops at once) and issue the next; then show that household's sheet.

    Answers with a redirect to the one-household sheet (which derives the new link from its row): reloading
    that page or going back to it shows the same link and never revokes the one just printed."""
    posted = await _posted(request, deliberation_id)
    if isinstance(posted, Response):
        return posted
    staff, form, box, info, lang = posted
    typed = form.get("owner_id", "").strip()[:100]
    owner_id = _owner_named(box, typed) if typed else None
    if owner_id is None:
        return await _links_page(request, staff, deliberation_id, box, info, 422,
                                 i18n.t("links_unknown_owner", lang, owner=typed))
    now = clock(request)
    if (closed_at := box.closed_at(now)) is not None:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 i18n.t("links_closed", lang, when=i18n.when(closed_at, lang)))
    try:
        link = await reissue_link(request.app.state.pool, deliberation_id, owner_id,
                                  secret_key=request.app.state.secret_key, now=now, by=staff.account.name)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.link_reissued", account_id=staff.account.id, deliberation_id=deliberation_id,
             owner_id=owner_id, generation=link.generation)
    return RedirectResponse(f"/console/d/{deliberation_id}/sheets?owner={quote(owner_id, safe='')}", status_code=303)


async def _existing(request: Request, staff: Staff, deliberation_id: str,
                    owner: str | None) -> tuple[Box, dict[str, Any] | None, list[str], dict[str, Any]] | Response:
    """For the sheets and the CSV: the box, the owners asked for, and their live links (none issued here)."""
    opened = await _open_box(request, staff, deliberation_id)
    if isinstance(opened, Response):
        return opened
    box, info, lang = opened
    owners = _in_scope(box)
    if owner is not None:
        if owner not in box.state.electorate.owner_areas:
            return await _links_page(request, staff, deliberation_id, box, info, 404,
                                     i18n.t("links_unknown_owner", lang, owner=owner))
        owners = [owner]
    try:
        links = await live_links(request.app.state.pool, deliberation_id, owners,
                                 secret_key=request.app.state.secret_key)
    except LinkKeyChangedError as exc:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 i18n.t("links_key_changed", lang, owner=exc.owner_id))
    except UNAVAILABLE:
        return unavailable(request)
    return box, info, owners, {link.owner_id: link for link in links}


def _sheets_query(owner: str | None, english: bool) -> str:
    """The sheets page's query string with or without the English text (the same household, if one)."""
    return urlencode({**({"owner": owner} if owner else {}), **({"english": "1"} if english else {})})


def _style_hashes(html: str) -> str:
    return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
                    for style in _STYLE.findall(html))


@router.get("/console/d/{deliberation_id}/sheets")
async def sheets(request: Request, deliberation_id: str) -> Response:
    """The A4 notice sheets of the links that exist (``?owner=`` one household's); print with the browser."""
    staff = await require(request, *LINK_STAFF)
    if isinstance(staff, Response):
        return staff
    owner = request.query_params.get("owner", "").strip()[:100] or None
    found = await _existing(request, staff, deliberation_id, owner)
    if isinstance(found, Response):
        return found
    box, info, owners, by_owner = found
    base_url, fallback = _base_url(request)
    lang = page_lang(request)
    missing = [owner_id for owner_id in owners if owner_id not in by_owner]
    english = request.query_params.get("english") == "1"
    html = render_sheets_html(
        build_sheets(box, by_owner, base_url), box, info, base_url=base_url, configured=not fallback,
        english=english, template="console_sheets.html",
        t=lambda key, **fields: i18n.t(key, lang, **fields), lang=lang, deliberation_id=deliberation_id,
        toggle_english=_sheets_query(owner, not english), base_fallback=fallback, households=len(by_owner),
        missing=len(missing),
        missing_shown=_rooms(box, missing[:MISSING_SHOWN]), one_owner=owner,
        one_link=by_owner.get(owner) if owner else None,
    )
    log.info("console.sheets_printed", account_id=staff.account.id, deliberation_id=deliberation_id,
             households=len(by_owner), missing=len(missing), owner_id=owner)
    response = respond(request, html, no_store=True)
    # The sheets are one self-contained document (the CLI writes the same to a file): allow its own inline
    # styles by their hashes, nothing else beyond the app-wide policy.
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'self' {_style_hashes(html)}")
    response.headers["Content-Security-Policy"] = policy
    return response


@router.get("/console/d/{deliberation_id}/links.csv")
async def links_csv(request: Request, deliberation_id: str) -> Response:
    """``owner_id, rooms, url`` of the links that exist, UTF-8 with BOM (Excel shows the Chinese)."""
    staff = await require(request, *LINK_STAFF)
    if isinstance(staff, Response):
        return staff
    found = await _existing(request, staff, deliberation_id, None)
    if isinstance(found, Response):
        return found
    box, _info, _owners, by_owner = found
    base_url, _fallback = _base_url(request)
    log.info("console.links_exported", account_id=staff.account.id, deliberation_id=deliberation_id,
             links=len(by_owner))
    filename = f"yishi-links-{safe_filename(deliberation_id)[:80]}.csv"
    return Response(render_csv(box, by_owner, base_url).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
