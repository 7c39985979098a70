"""Meetings (议事会) in the committee console: the list, scheduling, the meeting's page and its invitation links.

The wall (tests/web/walls.py ``meeting``): a meeting is shown and acted on only by staff who may see its community
(services/console.py ``may_see_community``, the deliberations' rule); any other answers the 404 an unknown id gets.
Every act is a POST with the session's CSRF field, sent to the meeting's workflow as an update and recorded as an
event in the meeting's stream (yishi/services/meetings.py); the acts themselves: yishi/web/console_meeting_acts.py.
The parties' invitation links are issued and shown only by a POST (recorded as ``CapabilityIssued``, the page never
cached): the committee prints them and hands each party its own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from domain.meeting_events import Option, PartySpec
from domain.meeting_series import SeriesPlanned
from domain.meeting_state import Meeting
from domain.topic_events import Actor
from workflows.meeting_inputs import ItemSpec
from yishi.services.console import home_community, may_see_community
from yishi.services.meeting_links import invitation_links
from yishi.services.meeting_series import new_series_id, plan_series
from yishi.services.meetings import (
    AGENDA_STATUSES,
    AgendaIncompleteError,
    agenda_topic,
    list_meetings,
    meeting_state,
    schedule_meeting,
    scheduled_event,
)
from yishi.services.topics import list_topics
from yishi.web.render import not_found_page, page_translator, render
from yishi.web.sheets import qr_data_uri
from yishi.web.staff import Staff, require, staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
SEE = ("committee", "grid_worker", "street_office")
CLERKS = ("committee", "grid_worker", "street_office")  # domain/meeting_commands.py STAFF (the system aside)
KINDS = ("weekend_hall", "council", "seven_pm")
PARTY_KINDS = ("party_member", "residents_committee", "owner_rep", "property_company", "department")
PARTY_ROWS = 5
PICKED_TOPICS = 30  # taken topics offered on the agenda picker, newest first


def options_of(text: str) -> tuple[Option, ...]:
    """Options, one per line: ``A=东门车棚`` or just the text (lettered A, B, C …)."""
    out = []
    for n, line in enumerate(x.strip() for x in text.splitlines() if x.strip()):
        key, sep, label = line.partition("=")
        out.append(Option(id=key.strip(), text=label.strip()) if sep else Option(id=chr(ord("A") + n), text=line))
    return tuple(out)


async def agenda_topics(request: Request, staff: Staff, community: str | None) -> list[dict[str, Any]]:
    """The accepted topics an agenda can take (taken up, or decided and back for who carries it out): the
    community's, or those of every community the account may see (a street office)."""
    rows = [row for status in AGENDA_STATUSES
            for row in await list_topics(request.app.state.pool, community=community, status=status,
                                         limit=PICKED_TOPICS)]
    return [r for r in rows if may_see_community(staff.account, r["community"])][:PICKED_TOPICS]


def actor_of(staff: Staff, community: str) -> Actor:
    """The signed-in account as the meeting records who acted: name, role and account."""
    account = staff.account
    return Actor(kind=account.role, name=account.name, account=f"account:{account.id}",  # type: ignore[arg-type]
                 community=community)


async def visible_meeting(request: Request, staff: Staff, meeting_id: str) -> Meeting | Response:
    """The meeting if this account may see its community; else the 404 page an unknown id gets."""
    try:
        meeting = await meeting_state(request.app.state.pool, meeting_id)
    except DomainError:
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)
    if not may_see_community(staff.account, meeting.community):
        log.info("console.meeting_hidden", meeting_id=meeting_id, account_id=staff.account.id,
                 community=staff.account.community)
        return not_found_page(request)
    return meeting


def _page(request: Request, template: str, staff: Staff, status: int = 200, **context: Any) -> Response:
    return render(request, template, status, no_store=True, staff=staff, logout=staff.form(), form=staff.form(),
                  **context)


async def _list_page(request: Request, staff: Staff, status: int = 200, error: str | None = None,
                     fields: dict[str, str] | None = None) -> Response:
    home = home_community(staff.account)
    try:
        rows = await list_meetings(request.app.state.pool, community=home)
        topics = await agenda_topics(request, staff, home)
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_meetings.html", staff, status, rows=rows, home=home, error=error,
                 fields=fields or {}, kinds=KINDS, party_kinds=PARTY_KINDS, party_rows=range(1, PARTY_ROWS + 1),
                 topics=topics)


def _picked(form: dict[str, str]) -> list[tuple[str, tuple[Option, ...]]]:
    """The topics ticked on the scheduling form (``topic_<id>``), each with its options (``options_<id>``)."""
    return [(key.removeprefix("topic_")[:40], options_of(form.get("options_" + key.removeprefix("topic_"), "")))
            for key in form if key.startswith("topic_topic-")][:PICKED_TOPICS]


@router.get("/console/meetings")
async def meetings_page(request: Request) -> Response:
    staff = await require(request, *SEE)
    if isinstance(staff, Response):
        return staff
    return await _list_page(request, staff)


def _starts(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _parties(form: dict[str, str]) -> tuple[PartySpec, ...]:
    out = []
    for n in range(1, PARTY_ROWS + 1):
        kind, name = form.get(f"party_kind_{n}", ""), form.get(f"party_name_{n}", "").strip()
        if name and kind in PARTY_KINDS:
            out.append(PartySpec(party_id=f"p{len(out) + 1}", kind=kind, name=name[:100]))  # type: ignore[arg-type]
    return tuple(out)


@router.post("/console/meetings/new")
async def schedule(request: Request) -> Response:
    """Schedule a meeting in the account's own community (a street-office account names the community)."""
    posted = await staff_form(request, *CLERKS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    tr = page_translator(request)
    community = home_community(staff.account) or form.get("community", "").strip()[:100]
    starts = _starts(form.get("starts_at", ""))
    kind = form.get("kind", "")
    if not community or starts is None or kind not in KINDS:
        return await _list_page(request, staff, 422, tr.gettext(
            "Fill in the community, the kind and the start (e.g. 2026-05-08 19:00)."), form)
    if form.get("weekly") and _picked(form):
        return await _list_page(request, staff, 422, tr.gettext(
            "A series takes no topics: schedule it, then put the topics on one of its meetings."), form)
    by, now, settings = actor_of(staff, community), clock(request), request.app.state.settings
    try:
        picked = tuple([ItemSpec(title=(await agenda_topic(request.app.state.pool, topic_id, community)).title,
                                 topic_id=topic_id, options=options) for topic_id, options in _picked(form)])
        client = await temporal_client(request)
        if form.get("weekly"):
            until = form.get("until", "").strip()
            local = starts.astimezone(BEIJING)
            plan = SeriesPlanned(at=now, series_id=new_series_id(), community=community, by=by,
                                 title=form.get("title", "")[:200], kind=kind,  # type: ignore[arg-type]
                                 weekday=local.weekday(), time_of_day=local.strftime("%H:%M"),
                                 place=form.get("place", "")[:200], parties=_parties(form), first=local.date(),
                                 until=date.fromisoformat(until) if until else None,
                                 ahead_weeks=settings.series_ahead_weeks)
            series_id = await plan_series(client, request.app.state.pool, plan, settings=settings)
            log.info("console.series_planned", series_id=series_id, account_id=staff.account.id, community=community)
            return RedirectResponse(f"/console/meetings?series={series_id}", status_code=303)
        event = scheduled_event(community=community, title=form.get("title", "")[:200], kind=kind,  # type: ignore[arg-type]
                                starts_at=starts, place=form.get("place", "")[:200], by=by, now=now)
        meeting_id = await schedule_meeting(client, request.app.state.pool, event, settings=settings,
                                            parties=_parties(form), items=picked)
    except ValueError:
        return await _list_page(request, staff, 422, tr.gettext("Write the last date like 2026-12-31."), form)
    except AgendaIncompleteError as exc:
        return await _half_scheduled(request, staff, exc)
    except DomainError as exc:
        return await _list_page(request, staff, 422, tr.error(exc), form)
    except TEMPORAL_UNAVAILABLE:
        return unavailable(request)
    log.info("console.meeting_scheduled", meeting_id=meeting_id, account_id=staff.account.id, community=community)
    return RedirectResponse(f"/console/meetings/{meeting_id}", status_code=303)


async def _half_scheduled(request: Request, staff: Staff, exc: AgendaIncompleteError) -> Response:
    """The meeting is scheduled but a topic refused its agenda (changed since the form was filled in): the
    meeting's page, saying which topic and why, with its agenda picker to put it on again once that is settled."""
    log.warning("console.meeting_agenda_incomplete", meeting_id=exc.meeting_id, account_id=staff.account.id,
                topics=len(exc.failures))
    tr = page_translator(request)
    try:
        meeting = await meeting_state(request.app.state.pool, exc.meeting_id)
    except UNAVAILABLE:
        return unavailable(request)
    hint = tr.gettext("Once that is settled, put the topic on again with the agenda form below, or record its item "
                      "as deferred.")
    return await meeting_page(request, staff, meeting, 200, f"{tr.error(exc)}\n{hint}")


async def meeting_page(request: Request, staff: Staff, meeting: Meeting, status: int = 200,
                       error: str | None = None) -> Response:
    from yishi.web.console_meeting_acts import page_context

    try:
        context = await page_context(request, staff, meeting)
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_meeting.html", staff, status, m=meeting, error=error, now=clock(request),
                 **context)


@router.get("/console/meetings/{meeting_id}")
async def meeting_get(request: Request, meeting_id: str) -> Response:
    staff = await require(request, *SEE)
    if isinstance(staff, Response):
        return staff
    meeting = await visible_meeting(request, staff, meeting_id)
    if isinstance(meeting, Response):
        return meeting
    return await meeting_page(request, staff, meeting)


@router.post("/console/meetings/{meeting_id}/links")
async def links(request: Request, meeting_id: str) -> Response:
    """The parties' invitation links and the door's QR code, issued when missing (recorded in the meeting's stream,
    who and when; never the token), shown for printing. ``reissue``: a party whose link is replaced."""
    posted = await staff_form(request, "committee", "grid_worker")
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    meeting = await visible_meeting(request, staff, meeting_id)
    if isinstance(meeting, Response):
        return meeting
    state = request.app.state
    reissue = form.get("reissue", "").strip()[:40] or None
    base = (state.settings.public_base_url or str(request.base_url)).rstrip("/")
    try:
        issued = await invitation_links(state.pool, state.store, meeting_id, by=f"account:{staff.account.id}",
                                        secret_key=state.secret_key, now=clock(request), reissue=reissue)
    except DomainError as exc:
        return await meeting_page(request, staff, meeting, 422, page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.meeting_links", meeting_id=meeting_id, account_id=staff.account.id, links=len(issued),
             reissued=reissue)
    sheets = []
    for cap in issued:
        if reissue is not None and cap.holder != reissue:
            continue  # a replaced link: only the new one is shown, the others are printed as before
        url = cap.url(base)
        party = meeting.parties.get(cap.holder)
        sheets.append({"holder": cap.holder, "party": party, "url": url, "qr": qr_data_uri(url)})
    return _page(request, "console_meeting_links.html", staff, m=meeting, sheets=sheets, reissued=reissue)
