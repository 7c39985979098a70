"""Personal voting links and the A4 notice sheets from the committee console (what ``yishi links`` does).

Committee accounts only, each route under the community rule of yishi/web/staff.py. Every act on links is a
POST form with the session's CSRF field, recorded in the deliberation's stream before the answer is sent
(yishi/services/link_issuing.py): issuing, reissuing, and showing live links, i.e. printing the sheets (all, or
one household's after a reissue) and downloading the CSV. The one GET page counts links and shows the forms; it
never shows a token and writes nothing (scanners and previews open pages). The sheets, the CSV and the reissue
answer are never cached, and the logs name the account and the deliberation, never a token.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from domain.procedures import deliberation_of
from yishi import i18n
from yishi.services import link_runs
from yishi.services.link_issuing import BATCH, Actor, disclose_links, reissue_link
from yishi.services.links import LinkKeyChangedError, live_owners, local_base
from yishi.services.procedures import procedure_status
from yishi.services.voting import Box, NoSuchBoxError, deliberation_info, load_box
from yishi.web.downloads import csv_file
from yishi.web.middleware import own_styles_policy
from yishi.web.render import not_found_page, page_lang, page_translator, render, respond, safe_filename
from yishi.web.sheets import build_sheets, render_csv, render_sheets_html
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
LINK_STAFF = ("committee",)  # links are capabilities to vote: the committee that runs the vote hands them out
MISSING_SHOWN = 40  # owners without a link named on a page; the rest are counted
ISSUE_WAIT_S = 2.0
"""How long the issuing POST waits for its background run before it answers: a small roll's page then shows its
links at once; a big one's shows the progress (``app.state.link_wait_s`` and ``app.state.link_batch`` override
this and the batch size, for tests)."""


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
        return not_found_page(request)
    return box, info


def _in_scope(box: Box) -> list[str]:
    return sorted(box.state.electorate.owner_areas)


def _rooms(box: Box, owner_ids: list[str]) -> list[tuple[str, str]]:
    return [(owner_id, "、".join(r.room_id for r in box.rooms_of(owner_id))) for owner_id in owner_ids]


async def _voting_stage(request: Request, deliberation_id: str) -> bool:
    """Whether the procedure is in its voting stage while this box has not opened yet (between the two steps:
    the page says "preparing" and reloads itself, issue 21 item 10)."""
    try:
        current = await procedure_status(request.app.state.store, deliberation_of(deliberation_id))
    except (DomainError, *UNAVAILABLE):
        return False
    return current.get("stage") == "voting" and not current.get("outcome")


async def _links_page(request: Request, staff: Staff, deliberation_id: str, box: Box | None,
                      info: dict[str, Any] | None, status: int = 200, error: str | None = None,
                      reissued: str | None = None) -> Response:
    """The links page: owners in scope, how many have a live link, and the forms (read-only itself);
    ``reissued``: the owner whose link was just reissued, with the form that prints their new sheet."""
    context: dict[str, Any] = {"preparing": box is None and await _voting_stage(request, deliberation_id)}
    if box is not None:
        owners = _in_scope(box)
        try:
            live = await live_owners(request.app.state.pool, deliberation_id)
            run = await link_runs.run_state(request.app.state.pool, deliberation_id)
        except UNAVAILABLE:
            return unavailable(request)
        missing = [owner_id for owner_id in owners if owner_id not in live]
        context = {"owners": len(owners), "live": len(owners) - len(missing), "missing": len(missing),
                   "missing_shown": _rooms(box, missing[:MISSING_SHOWN]), "closed_at": box.closed_at(clock(request)),
                   "issuing": bool(missing) and run is not None and run.running,
                   "interrupted": bool(missing) and run is not None and run.interrupted}
    base_url, fallback = _base_url(request)
    return render(request, "console_links.html", status, no_store=True, staff=staff, logout=staff.form(),
                  deliberation_id=deliberation_id, box=box, info=info, form=staff.form(), error=error,
                  base_url=base_url, base_fallback=fallback, base_local=local_base(base_url), reissued=reissued,
                  **context)


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
    box, info = loaded
    reissued = request.query_params.get("reissued", "").strip()[:100]
    known = box is not None and reissued in box.state.electorate.owner_areas
    return await _links_page(request, staff, deliberation_id, box, info, reissued=reissued if known else None)


async def _posted(request: Request, deliberation_id: str
                  ) -> tuple[Staff, dict[str, str], Box, dict[str, Any] | None, i18n.Translator] | Response:
    """A links form posted: the member, the fields, the open box, its registry row and the page's translator; else
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
                    ) -> tuple[Box, dict[str, Any] | None, i18n.Translator] | Response:
    """The open box, its registry row and the page's translator; else the page to answer with (404, or the links
    page saying the vote has not opened)."""
    loaded = await _load(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    tr = page_translator(request)
    if box is None:
        return await _links_page(request, staff, deliberation_id, box, info, 409, tr.gettext(
            "Voting has not opened yet: each household's link and notice sheet can be issued once it opens. The "
            "matter page shows the current stage."))
    return box, info, tr


def _closed(tr: i18n.Translator, closed_at: datetime) -> str:
    return tr.gettext("Voting closed %(when)s: the links no longer vote, and none can be issued or reissued.",
                      when=tr.when(closed_at))


def _unknown_owner(tr: i18n.Translator, owner: str) -> str:
    return tr.gettext("\"%(owner)s\" is not an owner id or room in this deliberation's scope; nothing was changed. "
                      "Check the roll and type it again.", owner=owner)


def _key_changed(tr: i18n.Translator, owner: str) -> str:
    return tr.gettext("Owner %(owner)s's link was issued under another secret key (YISHI_SECRET_KEY changed), so it "
                      "cannot be shown again. Posted links still work; reissue a household's link to print it again.",
                      owner=owner)


@router.post("/console/d/{deliberation_id}/links")
async def issue(request: Request, deliberation_id: str) -> Response:
    """Issue a link to every owner in scope who has none (idempotent: existing links are kept as printed).

    The batches run in the background (yishi/services/link_runs.py), not in this request: a post while a run goes
    on starts no second one, and a post after a crash continues where it stopped. The links page shows the
    progress and reloads itself until the run is done."""
    posted = await _posted(request, deliberation_id)
    if isinstance(posted, Response):
        return posted
    staff, _form, box, info, tr = posted
    now = clock(request)
    if (closed_at := box.closed_at(now)) is not None:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 _closed(tr, closed_at))
    owners = _in_scope(box)
    state = request.app.state
    try:
        run = await link_runs.start(state.store, deliberation_id, owners, secret_key=state.secret_key, now=now,
                                    actor=_actor(staff), batch=getattr(state, "link_batch", BATCH))
        if run is not None:  # a small roll is done before the answer; a big one goes on, the page shows progress
            await asyncio.wait([run], timeout=getattr(state, "link_wait_s", ISSUE_WAIT_S))
            if run.done() and run.exception() is not None:
                raise run.exception()  # type: ignore[misc]
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.links_issued", account_id=staff.account.id, deliberation_id=deliberation_id,
             owners=len(owners), started=run is not None, done=run is not None and run.done())
    return RedirectResponse(f"/console/d/{deliberation_id}/links", status_code=303)


@router.post("/console/d/{deliberation_id}/links/reissue")
async def reissue(request: Request, deliberation_id: str) -> Response:
    """Revoke one owner's link (it stops at once) and issue the next, recorded as ``LinkReissued``.

    Answers with a redirect to the links page, which offers the form that prints that household's new sheet (a
    disclosure of its own): reloading either page never revokes the link just issued."""
    posted = await _posted(request, deliberation_id)
    if isinstance(posted, Response):
        return posted
    staff, form, box, info, tr = posted
    typed = form.get("owner_id", "").strip()[:100]
    owner_id = _owner_named(box, typed) if typed else None
    if owner_id is None:
        return await _links_page(request, staff, deliberation_id, box, info, 422,
                                 _unknown_owner(tr, typed))
    now = clock(request)
    if (closed_at := box.closed_at(now)) is not None:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 _closed(tr, closed_at))
    try:
        generation = await reissue_link(request.app.state.store, deliberation_id, owner_id,
                                        secret_key=request.app.state.secret_key, now=now, actor=_actor(staff))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.link_reissued", account_id=staff.account.id, deliberation_id=deliberation_id,
             owner_id=owner_id, generation=generation)
    return RedirectResponse(f"/console/d/{deliberation_id}/links?reissued={quote(owner_id, safe='')}",
                            status_code=303)


def _actor(staff: Staff) -> Actor:
    return Actor(staff.account.name, "console")


async def _disclosed(request: Request, deliberation_id: str, fmt: str
                     ) -> tuple[Staff, dict[str, str], Box, dict[str, Any] | None, str | None, list[str],
                                dict[str, Any]] | Response:
    """For the sheets and the CSV (POST forms): the box, the one owner asked for (field ``owner``) if any, the
    owners shown and their live links, recorded as ``LiveLinksDisclosed`` before they are returned (none issued)."""
    posted = await _posted(request, deliberation_id)
    if isinstance(posted, Response):
        return posted
    staff, form, box, info, tr = posted
    owner = form.get("owner", "").strip()[:100] or None
    owners = _in_scope(box)
    if owner is not None:
        if owner not in box.state.electorate.owner_areas:
            return await _links_page(request, staff, deliberation_id, box, info, 404,
                                     _unknown_owner(tr, owner))
        owners = [owner]
    try:
        links = await disclose_links(request.app.state.store, deliberation_id, owners,
                                     secret_key=request.app.state.secret_key, now=clock(request),
                                     actor=_actor(staff), fmt="sheet" if owner and fmt == "sheets" else fmt)
    except LinkKeyChangedError as exc:
        return await _links_page(request, staff, deliberation_id, box, info, 409,
                                 _key_changed(tr, exc.owner_id))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.links_disclosed", account_id=staff.account.id, deliberation_id=deliberation_id, format=fmt,
             households=len(links), owner_id=owner)
    return staff, form, box, info, owner, owners, {link.owner_id: link for link in links}


@router.post("/console/d/{deliberation_id}/sheets")
async def sheets(request: Request, deliberation_id: str) -> Response:
    """The A4 notice sheets of the links that exist (field ``owner``: one household's); print with the browser.

    A POST: showing the live links is recorded (``LiveLinksDisclosed``) before this page is sent."""
    found = await _disclosed(request, deliberation_id, "sheets")
    if isinstance(found, Response):
        return found
    staff, form, box, info, owner, owners, by_owner = found
    base_url, fallback = _base_url(request)
    missing = [owner_id for owner_id in owners if owner_id not in by_owner]
    english = form.get("english") == "1"
    html = render_sheets_html(
        build_sheets(box, by_owner, base_url), box, info, base_url=base_url, configured=not fallback,
        english=english, template="console_sheets.html",
        lang=page_lang(request), deliberation_id=deliberation_id,
        form=staff.form(), base_fallback=fallback, base_local=local_base(base_url), households=len(by_owner),
        missing=len(missing),
        missing_shown=_rooms(box, missing[:MISSING_SHOWN]), one_owner=owner,
        one_link=by_owner.get(owner) if owner else None,
    )
    response = respond(request, html, no_store=True)
    # The sheets are one self-contained document (the CLI writes the same to a file): allow its own inline
    # styles by their hashes, nothing else beyond the app-wide policy.
    response.headers["Content-Security-Policy"] = own_styles_policy(html)
    return response


@router.post("/console/d/{deliberation_id}/links.csv")
async def links_csv(request: Request, deliberation_id: str) -> Response:
    """``owner_id, rooms, url`` of the links that exist, UTF-8 with BOM (Excel shows the Chinese).

    A POST: the download is recorded (``LiveLinksDisclosed``) before the file is sent."""
    found = await _disclosed(request, deliberation_id, "csv")
    if isinstance(found, Response):
        return found
    _staff, _form, box, _info, _owner, _owners, by_owner = found
    base_url, _fallback = _base_url(request)
    filename = f"yishi-links-{safe_filename(deliberation_id)[:80]}.csv"
    return csv_file(render_csv(box, by_owner, base_url), filename)
